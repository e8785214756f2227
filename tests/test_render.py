"""The placeholder renderer and image intake, exercised with the real bundled ffmpeg and real decodes.

Videos are checked by decoding them (``probe`` and raw frame hashes), never by trusting the encoder.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import imageio_ffmpeg
import pytest
from PIL import Image, ImageDraw

from videomock.contracts import Catalog
from videomock.contracts.images import ImageError, ImageInput, parse_image
from videomock.contracts.marks import mark_geometry
from videomock.contracts.media import MediaError, ffmpeg_executable, probe
from videomock.media.damage import Damage
from videomock.media.images import fetch_image
from videomock.media.render import RenderError, VideoSpec, render

# --- helpers ------------------------------------------------------------------------------------------------

def model_cases() -> list[tuple[str, int, int, int, int]]:
    """Each model at its default size and fps and its shortest duration."""
    return [(spec.id, spec.defaults["width"], spec.defaults["height"], spec.defaults["fps"], min(spec.durations))
            for spec in Catalog.load().values()]


def picture(width: int, height: int, fmt: str = "PNG", **save: object) -> bytes:
    """A test image with structure (gradient, shapes) so scaling and panning are visible."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 4):
        draw.rectangle([0, y, width, y + 3], fill=(255 * y // height, 90, 255 - 255 * y // height))
    for i in range(12):
        x, y, r = (i * 97) % width, (i * 61) % height, 20 + (i * 13) % 60
        draw.ellipse([x - r, y - r, x + r, y + r], fill=((i * 40) % 256, (i * 90) % 256, (i * 150) % 256))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def frame_hashes(path: Path, width: int, height: int) -> list[str]:
    """Decode every frame to raw grey and hash it above the frame counter's patch (which changes every
    frame), failing on any decoder warning."""
    result = subprocess.run([ffmpeg_executable(), "-v", "warning", "-nostdin", "-i", str(path),
                             "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True)
    assert result.stderr == b"", result.stderr.decode()
    size, above = width * height, width * mark_geometry(width, height).y
    return [hashlib.md5(result.stdout[i:i + above]).hexdigest() for i in range(0, len(result.stdout), size)]


def first_frame_rgb(path: Path) -> Image.Image:
    result = subprocess.run([ffmpeg_executable(), "-v", "error", "-nostdin", "-i", str(path), "-frames:v", "1",
                             "-f", "image2pipe", "-vcodec", "png", "-"], capture_output=True, check=True)
    return Image.open(io.BytesIO(result.stdout)).convert("RGB")


def spec(**changes: object) -> VideoSpec:
    """A small, fast spec; tests override what they examine."""
    fields: dict = {"model": "kling-v2-5-turbo", "prompt": "a corgi surfing", "width": 320, "height": 240,
                    "fps": 24, "duration": 1, "seed": 7}
    return VideoSpec(**{**fields, **changes})


def rendered(tmp_path: Path, video: VideoSpec, name: str = "out.mp4") -> Path:
    out = tmp_path / name
    render(video, out)
    return out


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


# --- every catalog model, both kinds --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["text", "image"])
@pytest.mark.parametrize(("model", "width", "height", "fps", "duration"), model_cases())
def test_each_model_renders_exactly_what_was_asked(tmp_path: Path, kind: str, model: str, width: int, height: int,
                                                   fps: int, duration: int) -> None:
    video = VideoSpec(model=model, prompt="a lighthouse in a storm", width=width, height=height, fps=fps,
                      duration=duration, seed=123, image=picture(900, 600) if kind == "image" else None)
    info = probe(rendered(tmp_path, video))
    assert (info.width, info.height, info.fps) == (width, height, fps)
    assert info.frame_count == fps * duration
    assert info.duration == pytest.approx(duration, abs=0.01)
    assert (info.codec, info.pix_fmt, info.faststart) == ("h264", "yuv420p", True)
    assert info.profile in ("Constrained Baseline", "Baseline", "Main", "High")


def test_an_image_whose_scaled_side_fits_exactly_renders(tmp_path: Path) -> None:
    """300x372 to 1080x1920 (plus the pan margin): the fitting side's crop box came out at -1e-14 and
    Pillow refused it, failing the task. Found by Schemathesis through the image-reference strategy."""
    info = probe(rendered(tmp_path, spec(width=1080, height=1920, duration=1, image=picture(300, 372))))
    assert (info.width, info.height) == (1080, 1920)


# --- what the frames show -------------------------------------------------------------------------------------

def test_picture_changes_exactly_when_the_elapsed_seconds_do(tmp_path: Path) -> None:
    hashes = frame_hashes(rendered(tmp_path, spec(fps=24, duration=3)), 320, 240)
    seconds = [hashes[i:i + 24] for i in range(0, 72, 24)]
    assert len(hashes) == 72
    assert all(len(set(second)) == 1 for second in seconds)
    assert len({second[0] for second in seconds}) == 3


def test_image_to_video_pans(tmp_path: Path) -> None:
    hashes = frame_hashes(rendered(tmp_path, spec(fps=30, duration=2, image=picture(800, 600))), 320, 240)
    assert len(hashes) == 60
    assert len(set(hashes)) > 10          # it moves, several times a second
    assert hashes[0] != hashes[-1]


def test_background_colour_comes_from_the_seed(tmp_path: Path) -> None:
    def background(seed: int, name: str) -> tuple[int, int, int]:
        return first_frame_rgb(rendered(tmp_path, spec(seed=seed), name)).getpixel((315, 120))

    first, again, other = background(1, "a.mp4"), background(1, "b.mp4"), background(2, "c.mp4")
    assert first == again
    assert sum(abs(a - b) for a, b in zip(first, other)) > 30
    assert 20 < max(first) < 235          # a colour, not black or white


def test_image_url_only_renders_a_generated_frame(tmp_path: Path) -> None:
    with_url = rendered(tmp_path, spec(prompt="", image_url="https://example.com/cat.png?size=%{pts}"), "url.mp4")
    without = rendered(tmp_path, spec(prompt=""), "plain.mp4")
    info = probe(with_url)
    assert (info.frame_count, info.width, info.height) == (24, 320, 240)
    assert with_url.read_bytes() != without.read_bytes()   # the URL is drawn


# --- user text is data, never syntax --------------------------------------------------------------------------

NASTY_PROMPTS = {
    "quotes": "it's a \"quoted\" 'thing'",
    "colons": "a:b=c:d text='x':fontsize=400",
    "backslashes": "C:\\path\\to\\n \\' \\\\",
    "expansions": "%{pts} %{eif:1:d} %{localtime} %%",
    "newlines": "line one\nline two\r\nline three\ttab\x00nul\x1b[31m",
    "emoji": "🎬🐶🏄‍♂️ surfing 👍🏽",
    "rtl": "שלום עולם مرحبا بالعالم mixed with English",
    "filter_syntax": "[in]; [out], null; drawbox=c=red",
    "lone_surrogate": "bad \ud800 surrogate",
    "long": "word " * 1000,
}


@pytest.mark.parametrize("prompt", NASTY_PROMPTS.values(), ids=NASTY_PROMPTS.keys())
def test_nasty_prompts_render(tmp_path: Path, prompt: str) -> None:
    info = probe(rendered(tmp_path, spec(prompt=prompt, model=f"model:{prompt[:20]}")))
    assert (info.frame_count, info.width, info.height) == (24, 320, 240)


@pytest.mark.parametrize(("template", "expanded"), [("%{eif:1:d}", "1"), ("%{pts}", "0.000000")])
def test_prompt_expansions_stay_literal(tmp_path: Path, template: str, expanded: str) -> None:
    """If drawtext expanded the prompt, both would draw the same text and produce the same bytes."""
    literal = rendered(tmp_path, spec(prompt=template), "literal.mp4")
    plain = rendered(tmp_path, spec(prompt=expanded), "plain.mp4")
    assert literal.read_bytes() != plain.read_bytes()


def test_nasty_image_url_renders(tmp_path: Path) -> None:
    url = "https://example.com/a'b\":c\\d/%{pts}/" + "x" * 3000 + "?q=[0];,"
    assert probe(rendered(tmp_path, spec(image_url=url))).frame_count == 24


# --- determinism and caching ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["text", "image"])
def test_same_spec_gives_identical_bytes(tmp_path: Path, kind: str) -> None:
    video = spec(duration=2, image=picture(640, 480) if kind == "image" else None)
    first, second = rendered(tmp_path, video, "1.mp4"), rendered(tmp_path, video, "2.mp4")
    assert first.read_bytes() == second.read_bytes()
    assert rendered(tmp_path, spec(duration=2, seed=8), "3.mp4").read_bytes() != first.read_bytes()


def test_concurrent_renders_are_identical(tmp_path: Path) -> None:
    video = spec(duration=2)
    outputs = [tmp_path / f"{i}.mp4" for i in range(4)]
    threads = [threading.Thread(target=render, args=(video, out)) for out in outputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({out.read_bytes() for out in outputs}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(out.name for out in outputs)


def test_cache_key_covers_every_input() -> None:
    base = spec()
    key = base.cache_key()
    assert key == spec().cache_key() and len(key) == 64
    variants = [spec(model="veo_3_1"), spec(prompt="other"), spec(width=640), spec(height=480), spec(fps=30),
                spec(duration=2), spec(seed=8), spec(image=b"png-bytes"), spec(image_url="https://example.com/a.png"),
                spec(audio=True), spec(damage=Damage("bad_frame")), spec(damage=Damage("duration_mismatch", 1))]
    assert len({key, *(v.cache_key() for v in variants)}) == len(variants) + 1
    assert spec(damage=Damage("wrong_content_type", "binary/octet-stream")).cache_key() == key   # same bytes
    assert spec(image=b"a").cache_key() != spec(image=b"b").cache_key()


def test_spec_rejects_what_ffmpeg_cannot_render() -> None:
    for bad in ({"width": 321}, {"height": 0}, {"fps": 0}, {"duration": 0}, {"seed": -1}, {"seed": 2**32}):
        with pytest.raises(ValueError):
            spec(**bad)
    with pytest.raises(ValueError, match="not both"):
        spec(image=b"x", image_url="https://example.com/a.png")


# --- failures -------------------------------------------------------------------------------------------------

def test_bogus_ffmpeg_path_raises_render_error_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(RenderError, match="nonexistent"):
        render(spec(), out, ffmpeg=str(tmp_path / "nonexistent-ffmpeg"))
    assert list(tmp_path.iterdir()) == []


def test_failed_render_keeps_the_previous_file(tmp_path: Path) -> None:
    out = rendered(tmp_path, spec())
    before = out.read_bytes()
    with pytest.raises(RenderError):
        render(spec(seed=99), out, ffmpeg=str(tmp_path / "nonexistent-ffmpeg"))
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_undecodable_image_raises_render_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="could not be decoded"):
        render(spec(image=b"not an image"), tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []


def test_probe_reports_ffmpeg_stderr_for_a_non_video(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(MediaError, match="junk.mp4"):
        probe(junk)


def test_ffmpeg_executable_prefers_the_configured_path() -> None:
    assert ffmpeg_executable("/usr/local/bin/ffmpeg") == "/usr/local/bin/ffmpeg"
    assert ffmpeg_executable() == imageio_ffmpeg.get_ffmpeg_exe()


# --- image intake ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "mime", "expected"), [("PNG", "image/png", "PNG"), ("JPEG", "image/jpeg", "JPEG"),
                                                       ("WEBP", "image/webp", "WEBP")])
def test_data_uri_and_raw_base64_are_accepted(fmt: str, mime: str, expected: str) -> None:
    data = picture(640, 400, fmt)
    from_uri = parse_image(data_uri(data, mime))
    from_base64 = parse_image(base64.b64encode(data).decode())
    assert from_uri == from_base64 == ImageInput(data=data, url=None, format=expected, width=640, height=400)


def test_camera_multi_picture_jpeg_counts_as_jpeg() -> None:
    data = picture(640, 400, "MPO", save_all=True, append_images=[Image.new("RGB", (640, 400))])
    assert parse_image(data_uri(data, "image/jpeg")).format == "JPEG"


def test_base64_variants_are_tolerated() -> None:
    data = picture(400, 400)
    wrapped = "\n".join(base64.b64encode(data).decode()[i:i + 76] for i in range(0, 10_000_000, 76))
    assert parse_image(wrapped).data == data
    assert parse_image(base64.urlsafe_b64encode(data).decode().rstrip("=")).data == data
    assert parse_image("  " + data_uri(data).replace("data:image/png", "DATA:Image/PNG") + "\n").data == data


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "http://images.example.com:8080/a?b=c"])
def test_urls_are_kept_not_fetched(url: str) -> None:
    assert parse_image(url) == ImageInput(data=None, url=url, format=None, width=None, height=None)


def truncated_png() -> bytes:
    data = picture(640, 400)
    return data[: len(data) // 2]


def huge_png_header(width: int, height: int) -> bytes:
    """A valid little PNG whose header claims a huge canvas: a decompression bomb in miniature."""
    data = bytearray(picture(400, 400))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


REJECTED = {
    "too_small": (picture(200, 900), "image is 200x900; each side must be at least 300 px"),
    "bad_aspect": (picture(1000, 300), r"image is 1000x300 \(aspect ratio 3.33:1\); the aspect ratio must be between 1:2.5 and 2.5:1"),
    "not_an_image": (b"hello, this is plain text, not pixels", "not a PNG, JPEG or WebP image"),
    "gif": (picture(400, 400, "GIF"), "format GIF is not supported; use PNG, JPEG or WebP"),
    "truncated_png": (truncated_png(), "damaged or truncated PNG"),
    "bomb_over_pillow_limit": (huge_png_header(60_000, 60_000), "too large in pixels; at most 50 megapixels"),
    "bomb_over_our_cap": (huge_png_header(9_000, 8_000), "image is 9000x8000; at most 50 megapixels"),
}


@pytest.mark.parametrize(("data", "message"), REJECTED.values(), ids=REJECTED.keys())
def test_bad_images_are_rejected_with_a_helpful_message(data: bytes, message: str) -> None:
    for value in (data_uri(data), base64.b64encode(data).decode()):
        with pytest.raises(ImageError, match=message):
            parse_image(value)


def test_images_over_10_mb_are_rejected() -> None:
    noise = Image.frombytes("RGB", (2000, 2000), bytes(range(256)) * (2000 * 2000 * 3 // 256) + b"\0" * 64)
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=0)
    assert out.tell() > 10 * 1024 * 1024
    with pytest.raises(ImageError, match=r"image is 11\.\d MB; at most 10 MB allowed"):
        parse_image(data_uri(out.getvalue()))


@pytest.mark.parametrize(("value", "message"), [
    ("", "image is empty"),
    ("   ", "image is empty"),
    ("ftp://example.com/cat.png", "scheme 'ftp' is not supported; use an http\\(s\\) URL"),
    ("file:///etc/passwd", "scheme 'file' is not supported"),
    ("https:///no-host.png", "no host"),
    ("http://[::1/cat.png", "malformed \\(Invalid IPv6 URL\\)"),
    ("%%% not base64 %%%", "neither an http\\(s\\) URL nor valid base64"),
    ("data:text/plain;base64,aGVsbG8=", "type 'text/plain'; use image/png"),
    ("data:image/png,rawbytes", "must be base64-encoded"),
    ("data:image/png;base64", "malformed"),
])
def test_other_values_are_rejected(value: str, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        parse_image(value)


# --- opt-in URL fetching, against a local server ----------------------------------------------------------------

class _ImageServer(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.5)
        status, headers, body = self.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.path != "/unsized":  # without a length, only the streamed byte count can stop a big body
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except ConnectionError:  # the fetcher hung up on purpose (byte cap, time limit)
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    png = picture(640, 400)
    _ImageServer.routes = {
        "/cat.png": (200, {"Content-Type": "image/png"}, png),
        "/slow": (200, {}, png),
        "/unsized": (200, {}, png),
        "/moved": (302, {"Location": "http://elsewhere.example/cat.png"}, b""),
        "/tiny.png": (200, {}, picture(100, 100)),
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ImageServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def fetch(url: str, **options: object) -> ImageInput:
    return fetch_image(url, **{"allow_hosts": ["127.0.0.1"], "allow_private_networks": ["127.0.0.1/32"],
                               "max_bytes": 10 * 1024 * 1024, "timeout": 5.0, **options})


def test_fetch_validates_like_an_inline_image(image_server: str) -> None:
    image = fetch(f"{image_server}/cat.png")
    assert (image.format, image.width, image.height, image.url) == ("PNG", 640, 400, f"{image_server}/cat.png")
    with pytest.raises(ImageError, match="each side must be at least 300 px"):
        fetch(f"{image_server}/tiny.png")


@pytest.mark.parametrize(("path", "options", "message"), [
    ("/cat.png", {"allow_hosts": ["localhost", "*.0.0.1"]}, "host '127.0.0.1' is not allowed"),
    ("/cat.png", {"max_bytes": 1000}, r"image is [\d,]+ bytes; at most 1,000 bytes allowed"),
    ("/unsized", {"max_bytes": 1000}, r"image is at least [\d,]+ bytes; at most 1,000 bytes allowed"),
    ("/missing.png", {}, "could not be fetched from an allowed host within 5 s"),
    ("/moved", {}, "could not be fetched .*redirects are not followed"),
    ("/slow", {"timeout": 0.3}, "could not be fetched from an allowed host within 0.3 s"),
])
def test_fetch_refusals(image_server: str, path: str, options: dict, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        fetch(f"{image_server}{path}", **options)


def test_fetch_refuses_other_schemes() -> None:
    with pytest.raises(ImageError, match="scheme 'ftp'"):
        fetch("ftp://127.0.0.1/cat.png")
