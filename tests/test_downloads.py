"""Downloading the placeholder: HTTP semantics, the cache, render failures, image-to-video end to end,
and the render CLI. Videos are decoded with the bundled ffmpeg, never trusted."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, send_file
from PIL import Image

from tests.conftest import Fake
from tests.test_server import assert_error
from videomock import create_app
from videomock.contracts.media import probe
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

BODY = {"model": "veo_3_1", "prompt": "downloads", "duration": 4}


def completed_url(fake: Fake, body: dict[str, Any] = BODY) -> str:
    task_id = fake.submit(body).json()["task_id"]
    fake.backend.advance(3600)
    task = fake.poll(task_id).json()
    assert task["status"] == "completed", task
    return task["url"]


def png_data_uri(width: int, height: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


# --- HTTP semantics -------------------------------------------------------------------------------------------

def test_content_length_etag_and_conditional_get(fake: Fake) -> None:
    url = completed_url(fake)
    full = fake.session().get(url, timeout=10)
    assert full.status_code == 200
    assert int(full.headers["Content-Length"]) == len(full.content)
    assert full.headers["Accept-Ranges"] == "bytes"
    etag = full.headers["ETag"]
    again = fake.session().get(url, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("header, expect", [
    ("bytes=0-99", lambda data: data[:100]),
    ("bytes=100-", lambda data: data[100:]),
    ("bytes=-50", lambda data: data[-50:]),
])
def test_range_requests(fake: Fake, header: str, expect: Any) -> None:
    url = completed_url(fake)
    data = fake.session().get(url, timeout=10).content
    part = fake.session().get(url, headers={"Range": header}, timeout=10)
    assert part.status_code == 206
    assert part.content == expect(data)
    assert part.headers["Content-Range"].endswith(f"/{len(data)}")


def test_unsatisfiable_range_is_a_json_416(fake: Fake) -> None:
    url = completed_url(fake)
    response = fake.session().get(url, headers={"Range": "bytes=99999999-"}, timeout=10)
    assert_error(response, 416)
    assert response.headers["Content-Range"].startswith("bytes */")


def test_if_match_is_a_precondition_a_json_412_refuses_before_any_range_is_served(fake: Fake) -> None:
    url = completed_url(fake)
    etag = fake.session().head(url, timeout=10).headers["ETag"]
    stale = fake.session().get(url, headers={"If-Match": '"an-older-video"'}, timeout=10)
    assert "If-Match" in assert_error(stale, 412, code="precondition_failed")["message"]
    assert_error(fake.session().get(url, headers={"If-Match": '"an-older-video"', "Range": "bytes=0-9"}, timeout=10),
                 412, code="precondition_failed")
    for current in (etag, "*", f'"an-older-video", {etag}'):
        assert fake.session().get(url, headers={"If-Match": current}, timeout=10).status_code == 200
        part = fake.session().get(url, headers={"If-Match": current, "Range": "bytes=0-9"}, timeout=10)
        assert part.status_code == 206 and len(part.content) == 10


def test_head_has_headers_and_no_body(fake: Fake) -> None:
    url = completed_url(fake)
    head = fake.session().head(url, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Type"] == "video/mp4" and int(head.headers["Content-Length"]) > 0


def test_downloaded_video_is_what_was_asked(fake: Fake, tmp_path: Path) -> None:
    body = {"model": "kling-v2-5-turbo", "prompt": "probe me", "width": 720, "height": 1280, "fps": 24, "duration": 5}
    path = tmp_path / "v.mp4"
    path.write_bytes(fake.session().get(completed_url(fake, body), timeout=10).content)
    info = probe(path)
    assert (info.width, info.height, info.fps, info.frame_count) == (720, 1280, 24, 120)
    assert (info.codec, info.pix_fmt, info.faststart) == ("h264", "yuv420p", True)


# --- the cache -----------------------------------------------------------------------------------------------------

def test_identical_requests_share_one_file(fake: Fake) -> None:
    completed_url(fake), completed_url(fake)
    completed_url(fake, BODY | {"seed": 5}), completed_url(fake, BODY | {"seed": 5})
    generated_a, generated_b, fixed_a, fixed_b = fake.backend.store.tasks()
    assert generated_a.video_key != generated_b.video_key  # each generated seed is a different video
    assert fixed_a.video_key == fixed_b.video_key and fixed_a.id != fixed_b.id
    assert fake.backend.videos.path(fixed_a.video_key).is_file()


def test_evicted_videos_are_rendered_again_on_demand(tmp_path: Path) -> None:
    library = VideoLibrary(tmp_path / "videos", max_bytes=600_000)
    app = create_app({"clock": {"mode": "instant"}}, videos=library)
    with LiveServer(app) as server:
        fake = Fake(server.url, app.extensions["videomock"])
        urls, contents = [], []
        for seed in (1, 2, 3):
            task_id = fake.submit(BODY | {"seed": seed}).json()["task_id"]
            urls.append(fake.poll(task_id).json()["url"])
            contents.append(fake.session().get(urls[-1], timeout=30).content)
        assert sum(p.stat().st_size for p in (tmp_path / "videos").glob("*.mp4")) <= 600_000
        assert not library.has(fake.backend.store.tasks()[0].video_key)
        assert fake.session().get(urls[0], timeout=30).content == contents[0]
    library.close()


def test_a_relative_cache_dir_means_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As in ``videomock serve --cache-dir videos``: not resolved against Flask's root path when sent."""
    monkeypatch.chdir(tmp_path)
    library = VideoLibrary(Path("videos"), max_bytes=1 << 30)
    app = create_app({"clock": {"mode": "instant"}}, videos=library)
    with LiveServer(app) as server:
        fake = Fake(server.url, app.extensions["videomock"])
        video = fake.session().get(fake.poll(fake.submit(BODY).json()["task_id"]).json()["url"], timeout=30)
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        assert [p.name for p in (tmp_path / "videos").glob("*.mp4")] == [f"{fake.backend.store.tasks()[0].video_key}.mp4"]
    library.close()


def test_a_render_failure_fails_the_task_not_the_request(tmp_path: Path) -> None:
    library = VideoLibrary(tmp_path / "videos", max_bytes=1 << 30, ffmpeg=str(tmp_path / "no-such-ffmpeg"))
    app = create_app({"clock": {"mode": "instant"}}, videos=library)
    with LiveServer(app) as server:
        fake = Fake(server.url, app.extensions["videomock"])
        task_id = fake.submit(BODY).json()["task_id"]
        task = fake.poll(task_id).json()
        assert task["status"] == "failed"
        assert task["error"]["code"] == 5010 and "rendering the video failed" in task["error"]["message"]
        assert_error(fake.session().get(f"{server.url}/v1/videos/{task_id}/content", timeout=10), 400)
    library.close()


# --- image-to-video through the API ----------------------------------------------------------------------------------

def test_inline_image_becomes_the_video(fake: Fake, tmp_path: Path) -> None:
    body = {"model": "kling-v2-5-turbo", "image": png_data_uri(640, 480), "duration": 5}
    path = tmp_path / "i2v.mp4"
    path.write_bytes(fake.session().get(completed_url(fake, body), timeout=30).content)
    assert probe(path).frame_count == 150
    journal_body = fake.backend.store.journal()[0]["request_body"]
    assert journal_body["image"].startswith("<image: ")


@pytest.mark.parametrize("image, words", [
    (png_data_uri(200, 200), "at least 300"),
    (png_data_uri(1000, 300), "aspect ratio"),
    ("data:image/png;base64,bm90IGFuIGltYWdl", "not a PNG"),
    ("ftp://example.com/a.png", "http"),
])
def test_bad_images_are_400s_naming_image(fake: Fake, image: str, words: str) -> None:
    error = assert_error(fake.submit({"model": "veo_3_1", "image": image}), 400, param="image", code="invalid_image")
    assert words in error["message"]


def test_image_urls_are_not_fetched_by_default(fake: Fake) -> None:
    url = completed_url(fake, {"model": "veo_3_1", "image": "http://203.0.113.9/never-fetched.png"})
    assert fake.session().get(url, timeout=30).content[4:8] == b"ftyp"
    assert fake.backend.store.tasks()[0].params["image"] == {"url": "http://203.0.113.9/never-fetched.png"}


@pytest.fixture
def image_host() -> Iterator[str]:
    app = Flask("image-host")
    png = io.BytesIO()
    Image.new("RGB", (500, 400), (250, 200, 0)).save(png, "PNG")

    @app.get("/cat.png")
    def cat() -> Any:
        return send_file(io.BytesIO(png.getvalue()), mimetype="image/png")

    with LiveServer(app) as server:
        yield server.url


def test_fetching_is_opt_in_and_limited_to_allowed_hosts(tmp_path: Path, image_host: str, video_library: VideoLibrary) -> None:
    config = {"clock": {"mode": "instant"}, "video": {"image_fetch": {"enabled": True, "allow_hosts": ["127.0.0.1"],
                                                                        "allow_private_networks": ["127.0.0.1/32"]}}}
    app = create_app(config, videos=video_library)
    with LiveServer(app) as server:
        fake = Fake(server.url, app.extensions["videomock"])
        assert completed_url(fake, {"model": "veo_3_1", "image": f"{image_host}/cat.png"})
        params = fake.backend.store.tasks()[0].params["image"]
        assert (params["format"], params["width"], params["height"]) == ("PNG", 500, 400)
        refused = fake.submit({"model": "veo_3_1", "image": image_host.replace("127.0.0.1", "localhost") + "/cat.png"})
        assert "localhost" in assert_error(refused, 400, param="image")["message"]


# --- the render CLI ------------------------------------------------------------------------------------------------

def test_render_cli_writes_exactly_the_requested_video(tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    result = subprocess.run([sys.executable, "-m", "videomock", "render", "--model", "veo_3_1", "--prompt", "cli",
                             "--width", "720", "--height", "1280", "--duration", "4", "--out", str(out)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (720, 1280, 96)
    assert info.audio is not None and info.audio.duration == pytest.approx(4, abs=0.001)   # veo_3_1 has sound
    assert result.stdout.strip().endswith("aac mono 4 s")


def test_render_cli_refuses_what_the_catalog_refuses(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "videomock", "render", "--model", "veo_3_1", "--fps", "30",
                             "--out", str(tmp_path / "x.mp4")], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "fps 30 is not supported by veo_3_1; allowed: 24" in result.stderr
    assert not (tmp_path / "x.mp4").exists()


def render_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "videomock", "render", *args], capture_output=True, text=True, timeout=60)


def test_render_cli_animates_an_image_file_exactly_as_the_server_does(fake: Fake, tmp_path: Path) -> None:
    still = tmp_path / "still"  # no extension: the image's type is read from its bytes
    still.write_bytes(base64.b64decode(png_data_uri(640, 480).partition(",")[2]))
    result = render_cli("--model", "kling-v2-5-turbo", "--image", str(still), "--out", str(tmp_path / "cli.mp4"))
    assert result.returncode == 0, result.stderr
    info = probe(tmp_path / "cli.mp4")
    assert (info.width, info.height, info.frame_count) == (1280, 720, 150)
    served = fake.session().get(completed_url(fake, {"model": "kling-v2-5-turbo", "image": png_data_uri(640, 480), "seed": 0}), timeout=30)
    assert served.content == (tmp_path / "cli.mp4").read_bytes()


def test_render_cli_refuses_an_image_the_server_refuses(tmp_path: Path) -> None:
    (tmp_path / "tiny.png").write_bytes(base64.b64decode(png_data_uri(200, 200).partition(",")[2]))
    result = render_cli("--model", "kling-v2-5-turbo", "--image", str(tmp_path / "tiny.png"), "--out", str(tmp_path / "x.mp4"))
    assert (result.returncode, result.stderr) == (1, "Error: image is 200x200; each side must be at least 300 px\n")
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("where, words", [
    ("missing/x.mp4", "directory {tmp}/missing does not exist"),
    ("a-file/x.mp4", "{tmp}/a-file is not a directory"),
])
def test_render_cli_explains_an_output_it_cannot_write(tmp_path: Path, where: str, words: str) -> None:
    (tmp_path / "a-file").write_text("")
    result = render_cli("--model", "veo_3_1", "--out", str(tmp_path / where))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1] == f"Error: Invalid value for '--out': {words.format(tmp=tmp_path)}"
