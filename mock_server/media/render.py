"""Placeholder MP4s: exactly the requested size, rate and length, fast enough that nobody waits.

Why the pipeline looks like this
--------------------------------
A placeholder holds few distinct pictures: text-to-video changes only when the elapsed-time label does
(whole seconds, ``t=00:03 / 00:05``), and image-to-video pans in at most 10 steps a second. Yet x264
``ultrafast`` spends ~1.5-2 ms per 720p frame (~3.5 ms at 1080p) even on frames identical to the previous
one, which alone blows the 100 ms budget. So:

1. one ffmpeg run draws and encodes only the distinct pictures (x264 ``ultrafast``, Constrained Baseline:
   CAVLC, no B-frames), an IDR at the start of every second and P frames between; for a model that produces
   sound, the same run encodes the soundtrack (:mod:`videomock.media.audio`) beside them;
2. Python writes every frame between those pictures (:mod:`videomock.media.h264`): a copy of the previous
   picture but for the frame counter in the corner (:mod:`videomock.media.marks`), whose changed macroblocks
   it writes uncompressed. x264's own P slices get their fixed-width ``frame_num`` rewritten to make room;
3. a second ffmpeg run stream-copies that elementary stream (and the soundtrack) into MP4 (``+faststart``).
   It is started before step 1 so that its start-up overlaps the encode: it reads the soundtrack file only
   once the pictures reach its standard input, and they are sent when step 1 has finished.

This is the "encode a second once, extend it by stream copy" idea taken to its end: the copies cost next to
nothing, the frame count is exact by construction, the GOP is a fixed 1 s, there is no concat step, and
there are two ffmpeg processes per render. Rejected after measuring (720p, 5 s): full ``ultrafast`` encode
~0.23 s; per-frame pan ~0.35-0.45 s; per-frame ``zoompan``-style scaling ~0.43 s; encoding every frame for
the counter alone, ~0.25 s. The pictures x264 encodes get the counter's patch from ffmpeg (an overlay of the
same pixels), since their frames need it too.

Image-to-video: Pillow scales and crops the image once (cover) to a canvas slightly larger than the frame;
ffmpeg converts it to yuv420p once, loops it and pans with an animated ``crop`` (a pointer offset, no
per-frame scaling).

User text never enters filter syntax
------------------------------------
Prompt, model and URL are cleaned (control characters and line breaks become spaces, unencodable code points
are replaced), wrapped in Python, written to files and drawn with ``drawtext=textfile=...:expansion=none``.
The filter graph therefore only ever contains our own numbers, colours and file names, and ``%{...}`` in a
prompt stays literal. This was chosen over drawing an overlay with Pillow because ffmpeg's statically
linked HarfBuzz/FriBiDi shape Arabic and order RTL text the same on every machine (Pillow's layout depends on
a system libraqm), and because no pixels have to be piped between processes. drawtext draws with one font
and has no fallback, so the bundled font is one merge of Noto fonts covering Latin, Greek, Cyrillic, Arabic,
Hebrew, the CJK characters of the national standards, symbols and monochrome emoji, and each text is drawn
with the smallest bundled font that has it (:mod:`videomock.media.fonts`: loading the big one costs ~10 ms
a drawtext). A character no font has shows as its box; it never fails a job.

Determinism: single-threaded x264 and filters, ``+bitexact`` muxing and AAC, no metadata, and the x264
version SEI is dropped, so one VideoSpec gives byte-identical files on a machine.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import os
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg as ffmpeg_cmd
from PIL import Image, ImageFont, ImageOps

from videomock.contracts.marks import mark_geometry
from videomock.contracts.media import (
    FFMPEG_TIMEOUT_SECONDS,
    TimeLimit,
    ffmpeg_executable,
    finish_ffmpeg,
    run_ffmpeg,
    start_ffmpeg,
    stop_ffmpeg,
)
from videomock.core.hashing import content_hash
from videomock.media.audio import AUDIO_FILE, soundtrack
from videomock.media.damage import Damage
from videomock.media.errors import RenderError
from videomock.media.fonts import MONO_FONT, font_for
from videomock.media.h264 import START_CODE, SequenceParams, nal_units
from videomock.media.marks import FrameMarks

__all__ = ["RenderError", "VideoSpec", "render"]

RENDERER_VERSION = "2"



_PAN_FRACTION = 0.06           # the image-to-video canvas is this much larger than the frame, per side
_SCAN_CHARS = 600              # more user text than fits on screen; bounds the wrapping work
_PROMPT_LINES = 4
_URL_LINES = 2


@dataclass(frozen=True)
class VideoSpec:
    model: str
    prompt: str
    width: int
    height: int
    fps: int
    duration: int
    seed: int
    image: bytes | None = None
    image_url: str | None = None
    #: A soundtrack (the model produces sound, as the catalog says).
    audio: bool = False
    #: Damage a corrupt_media fault asks for; the file is broken accordingly.
    damage: Damage | None = None

    def __post_init__(self) -> None:
        """Reject specs ffmpeg would choke on, so a bad caller fails loudly before any process runs."""
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError(f"size must be even and at least 16x16, got {self.width}x{self.height}")
        if not 1 <= self.fps <= 120:
            raise ValueError(f"fps must be 1..120, got {self.fps}")
        if not 1 <= self.duration <= 3600:
            raise ValueError(f"duration must be 1..3600 s, got {self.duration}")
        if not 0 <= self.seed <= 0xFFFFFFFF:
            raise ValueError(f"seed must be 0..4294967295, got {self.seed}")
        if self.image is not None and self.image_url is not None:
            raise ValueError("give image or image_url, not both")

    def cache_key(self) -> str:
        """Everything that shapes the bytes, and nothing else (no task id), so identical requests share a file
        and a file with sound, or a damaged one, is never served for one without."""
        fields = {
            "renderer": RENDERER_VERSION, "model": self.model, "prompt": self.prompt,
            "width": self.width, "height": self.height, "fps": self.fps, "duration": self.duration,
            "seed": self.seed, "image_url": self.image_url,
            "image_sha256": hashlib.sha256(self.image).hexdigest() if self.image is not None else None,
            "audio": self.audio,
        }
        damage = self.damage.key() if self.damage is not None else None
        if damage is not None:
            fields["damage"] = damage
        return content_hash(fields)

    @property
    def file_duration(self) -> int:
        """How long the file is: what was asked, unless damage says otherwise."""
        return self.damage.file_duration(self.duration) if self.damage is not None else self.duration


def render(spec: VideoSpec, out_path: Path, *, ffmpeg: str | None = None,
           timeout: float = FFMPEG_TIMEOUT_SECONDS) -> None:
    """Render ``spec`` to ``out_path``, atomically: everything happens in a private temporary directory
    beside ``out_path`` and the finished file is moved in with os.replace, so readers never see a partial
    file and a failed render leaves any previous file untouched. Safe to run concurrently from threads and
    processes. Raises RenderError when ffmpeg fails, or runs longer than ``timeout`` seconds (counted from
    the start of its first process; ffmpeg is then killed)."""
    out_path = Path(out_path)
    exe = ffmpeg_executable(ffmpeg)
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=f".{out_path.name}.") as tmp:
        work = Path(tmp)
        if spec.image is not None:
            limit = _render_image_video(spec, exe, work, timeout)
        else:
            limit = _render_text_video(spec, exe, work, timeout)
        if spec.damage is not None:
            spec.damage.finish(work / "video.mp4", exe, limit)
        os.replace(work / "video.mp4", out_path)


# --- one pipeline for both kinds: encode the distinct pictures, synthesise the repeats ------------------------

@dataclass(frozen=True)
class _Pictures:
    """What x264 is given: ``per_second`` distinct pictures per second, each held for ``hold`` frames."""
    fps: int
    duration: int
    per_second: int

    @property
    def hold(self) -> int:
        return self.fps // self.per_second

    @property
    def count(self) -> int:
        return self.duration * self.per_second


def _render_text_video(spec: VideoSpec, exe: str, work: Path, timeout: float) -> TimeLimit:
    """The picture changes only when the elapsed-seconds label does: one IDR per second."""
    pictures = _Pictures(spec.fps, spec.file_duration, per_second=1)
    layout = _Layout.for_spec(spec, body=_text_body(spec))
    layout.write_files(work)
    canvas = ffmpeg_cmd.input(f"color=c={_background_hex(spec.seed)}:s={spec.width}x{spec.height}:r={spec.fps}",
                              f="lavfi")
    return _encode(spec, layout.draw(canvas, seconds="n"), pictures, exe, work, timeout)


def _render_image_video(spec: VideoSpec, exe: str, work: Path, timeout: float) -> TimeLimit:
    """A stepped diagonal pan over the cover-scaled image, a few steps per second. Smooth per-frame motion
    would make x264 encode every frame (~2 ms each at 720p even when little moves), over the time budget."""
    assert spec.image is not None
    pictures = _Pictures(spec.fps, spec.file_duration, per_second=_pan_steps_per_second(spec.fps))
    pan_x, pan_y = (2 * round(side * _PAN_FRACTION / 2) for side in (spec.width, spec.height))
    image, described = _cover(spec.image, spec.width + pan_x, spec.height + pan_y, _background_rgb(spec.seed))
    body = [(f"image-to-video from {described}", 1), *(_text_body(spec) if spec.prompt else [])]
    layout = _Layout.for_spec(spec, body=body)
    layout.write_files(work)
    x0, y0 = pan_x * (spec.seed & 1), pan_y * (spec.seed >> 1 & 1)  # the seed picks the starting corner
    x1, y1 = pan_x - x0, pan_y - y0                                 # and the pan ends in the opposite one
    last = max(pictures.count - 1, 1)
    source = ffmpeg_cmd.input("pipe:0", format="rawvideo", pix_fmt="rgb24", s=f"{image.width}x{image.height}",
                              framerate=spec.fps)
    moving = (source.filter("format", "yuv420p")           # convert once, then loop the converted frame
              .filter("loop", loop=pictures.count - 1, size=1)
              .filter("setpts", "N")
              .filter("crop", w=spec.width, h=spec.height,   # a pointer offset, rounded to even for 4:2:0
                      x=f"{x0}+({x1 - x0})*n/{last}", y=f"{y0}+({y1 - y0})*n/{last}"))
    return _encode(spec, layout.draw(moving, seconds=f"trunc(n/{pictures.per_second})"), pictures, exe, work, timeout,
            stdin=image.tobytes())


def _pan_steps_per_second(fps: int) -> int:
    """At most 10 pan steps a second, and a whole number of frames per step so every second starts one."""
    return fps // next(hold for hold in range(1, fps + 1) if fps % hold == 0 and fps // hold <= 10)


_MARKS_FILE = "marks.yuv"


def _encode(spec: VideoSpec, picture_stream: ffmpeg_cmd.nodes.FilterableStream, pictures: _Pictures, exe: str,
            work: Path, timeout: float, stdin: bytes | None = None) -> TimeLimit:
    """Encode the distinct pictures (an IDR at the start of every second, P frames between) with the
    counter's patch drawn on each, and the soundtrack if any; write the frames between the pictures; and
    stream-copy everything into work/video.mp4. The muxer starts first so its start-up overlaps the encode.
    Returns the time limit, counted from the muxer's start, that covers both processes (and any damage done
    to the file after them)."""
    marks = FrameMarks(spec.width, spec.height, spec.fps, pictures.fps * pictures.duration)
    (work / _MARKS_FILE).write_bytes(b"".join(marks.picture(n * pictures.hold) for n in range(pictures.count)))
    patches = ffmpeg_cmd.input(_MARKS_FILE, format="rawvideo", pix_fmt="yuv420p", s=f"{marks.width}x{marks.height}",
                               framerate=pictures.fps)
    marked = picture_stream.filter("format", "yuv420p").overlay(patches, x=marks.geometry.x, y=marks.geometry.y)
    encode = ffmpeg_cmd.output(
        marked, "pipe:1", format="h264", vcodec="libx264", preset="ultrafast",
        **{"profile:v": "baseline", "threads": 1, "frames:v": pictures.count, "g": pictures.fps,
           "force_key_frames": f"expr:eq(mod(n,{pictures.per_second}),0)", "forced-idr": 1, "flags:v": "+bitexact"})
    video = ffmpeg_cmd.input("pipe:0", format="h264", framerate=pictures.fps, probesize=32, analyzeduration=0)
    faststart = spec.damage is None or spec.damage.faststart
    if spec.audio:
        encode = ffmpeg_cmd.merge_outputs(encode, soundtrack(spec.seed, pictures.duration))
        mux = ffmpeg_cmd.output(video, ffmpeg_cmd.input(AUDIO_FILE), "video.mp4", format="mp4", c="copy",
                                **_mp4_options(pictures.fps, faststart))
    else:
        mux = ffmpeg_cmd.output(video, "video.mp4", format="mp4", vcodec="copy", **_mp4_options(pictures.fps, faststart))
    limit = TimeLimit.starting_now(timeout)
    muxer = start_ffmpeg(_compile(mux, exe), work, error=RenderError)
    try:
        encoded = run_ffmpeg(_compile(encode, exe), step="encoding", cwd=work, stdin=stdin, error=RenderError,
                             limit=limit).stdout
        stream, key_frames = _hold_pictures(encoded, pictures, marks)
        if spec.damage is not None:
            stream = spec.damage.garble(stream, key_frames, spec.seed)
        finish_ffmpeg(muxer, stream, step="muxing MP4", error=RenderError, limit=limit)
    finally:
        stop_ffmpeg(muxer)
    return limit


def _text_body(spec: VideoSpec) -> list[tuple[str, int]]:
    """Body lines as (text, max wrapped lines): the prompt excerpt, then the unfetched URL if any."""
    prompt = _clean(spec.prompt)
    body = [(f"\u201c{prompt}\u201d" if prompt else "(no prompt)", _PROMPT_LINES)]
    if spec.image_url is not None:
        body += [("image_url (not fetched):", 1), (_clean(spec.image_url), _URL_LINES)]
    return body


def _hold_pictures(encoded: bytes, pictures: _Pictures, marks: FrameMarks) -> tuple[bytes, list[tuple[int, int]]]:
    """Follow every encoded picture with hold-1 frames that copy it but for the counter's changed macroblocks,
    renumbering x264's P slices to make room, and drop the SEI that carries x264's version string.
    frame_num counts frames since the IDR. Returns the stream and where each IDR NAL is in it."""
    nals = nal_units(encoded)
    types = [nal[0] & 0x1F for nal in nals]
    slices = [kind for kind in types if kind in (1, 5)]
    if len(slices) != pictures.count or slices[:1] != [5] or not set(types) <= {1, 5, 6, 7, 8}:
        raise RenderError(f"encoder produced an unexpected stream: NAL types {sorted(set(types))}, "
                          f"{len(slices)} pictures for {pictures.count}")
    params = SequenceParams.parse(nals[types.index(7)], nals[types.index(8)])
    out = io.BytesIO()
    key_frames = []
    position = frame = 0
    for nal, kind in zip(nals, types):
        if kind in (7, 8):
            out.write(START_CODE + nal)
        elif kind in (1, 5):
            position = 0 if kind == 5 else position + pictures.hold
            start = out.tell()
            out.write(START_CODE + (nal if kind == 5 else params.renumber(nal, position)))
            if kind == 5:
                key_frames.append((start, out.tell()))
            shown = marks.keys(frame)   # ffmpeg drew this frame's patch on the picture
            for held in range(position + 1, position + pictures.hold):
                frame += 1
                keys = marks.keys(frame)
                out.write(params.frame(held, marks.changed(shown, keys, params.width_mbs)))
                shown = keys
            frame += 1
    return out.getvalue(), key_frames


def _cover(data: bytes, width: int, height: int, background: tuple[int, int, int]) -> tuple[Image.Image, str]:
    """Scale and centre-crop to exactly width x height (CSS 'cover'), honouring EXIF orientation and
    flattening transparency onto the seed colour; also returns a short description of the source."""
    try:
        with Image.open(io.BytesIO(data)) as original:
            described = f"{original.format} {original.width}x{original.height}"
            original.draft("RGB", (max(width, height),) * 2)  # JPEG: decode smaller, still enough if rotated
            image = ImageOps.exif_transpose(original)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                flat = Image.new("RGBA", image.size, background + (255,))
                image = Image.alpha_composite(flat, image.convert("RGBA"))
            image = image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise RenderError(f"the input image could not be decoded: {exc}") from None
    scale = max(width / image.width, height / image.height)
    box_w, box_h = min(image.width, width / scale), min(image.height, height / scale)
    # On the side that fits exactly, width / scale can exceed the image by a rounding error, and Pillow
    # refuses a box that starts at -1e-14 ("box offset can't be negative"); hence the min() above.
    left, top = (image.width - box_w) / 2, (image.height - box_h) / 2
    resized = image.resize((width, height), Image.Resampling.BICUBIC,
                           box=(left, top, left + box_w, top + box_h), reducing_gap=2.0)
    return resized, described


# --- text overlay ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Layout:
    """Pre-wrapped label text and its geometry. Sizes scale with the short side so 720p and 1080p, portrait
    and landscape, look alike. Text is wrapped here, not by ffmpeg, so long prompts and URLs stay on screen."""
    margin: int
    border: int
    title_size: int
    body_size: int
    timer_size: int
    title: str
    details: tuple[str, ...]
    total: str
    #: Pixels kept clear under the timer's box: its margin, or the counter's patch and a gap.
    below_timer: int
    #: The title's font (monospaced for an ASCII model id, as catalog ids are) and the details'.
    title_font: Path
    details_font: Path

    @classmethod
    def for_spec(cls, spec: VideoSpec, body: Sequence[tuple[str, int]]) -> _Layout:
        """The picture describes the file it is in, so a file damaged to another length says that length."""
        unit = min(spec.width, spec.height) / 720
        margin, title_size, body_size = round(40 * unit), round(44 * unit), round(28 * unit)
        border = max(2, round(body_size * 0.3))
        room = spec.width - 2 * margin - 2 * border
        kind = "text-to-video" if spec.image is None and spec.image_url is None else "image-to-video"
        info = " \u00b7 ".join((f"seed {spec.seed}", f"{spec.width}x{spec.height}", f"{spec.fps} fps",
                                f"{spec.file_duration} s", kind))
        texts = ((info, 2), *body)
        details_font = font_for("".join(text for text, _ in texts))
        details = [line for text, max_lines in texts for line in _wrap(text, body_size, room, max_lines, details_font)]
        title = _clean(spec.model) or "(no model)"
        title_font = MONO_FONT if title.isascii() else font_for(title)
        return cls(
            margin=margin, border=border, title_size=title_size, body_size=body_size,
            # The timer's 15 monospaced characters (0.6 em each) fit between the margins of a portrait frame too.
            timer_size=min(round(84 * unit), (spec.width - 2 * margin) * 10 // 95),
            title=_wrap(title, title_size, room, 1, title_font)[0], details=tuple(details),
            total=_clock(spec.file_duration),
            below_timer=max(margin, spec.height - mark_geometry(spec.width, spec.height).y + 2 * border),
            title_font=title_font, details_font=details_font,
        )

    def write_files(self, work: Path) -> None:
        """drawtext reads these with expansion=none: user text never becomes filter or expansion syntax."""
        (work / "title.txt").write_text(self.title, encoding="utf-8")
        (work / "details.txt").write_text("\n".join(self.details), encoding="utf-8")

    def draw(self, stream: ffmpeg_cmd.nodes.FilterableStream, *, seconds: str) -> ffmpeg_cmd.nodes.FilterableStream:
        """Labels on top of ``stream``; ``seconds`` is the expression of the elapsed whole seconds at picture n.
        The timer is the only expanded text, and its format string is ours."""
        details_y = self.margin + round(self.title_size * 1.5)
        stream = _drawtext(stream, self.title_font, self.title_size, self.margin, self.margin, textfile="title.txt",
                           expansion="none", boxborderw=self.border)
        stream = _drawtext(stream, self.details_font, self.body_size, self.margin, details_y, textfile="details.txt",
                           expansion="none", boxborderw=self.border, line_spacing=round(self.body_size * 0.35))
        timer = f"t=%{{eif:trunc(({seconds})/60):d:2}}:%{{eif:mod({seconds},60):d:2}} / {self.total}"
        return _drawtext(stream, MONO_FONT, self.timer_size, "(w-tw)/2", f"h-th-{self.below_timer}", text=timer,
                         boxborderw=self.border)


def _drawtext(stream: ffmpeg_cmd.nodes.FilterableStream, font: Path, size: int, x: int | str, y: int | str,
              **text: str | int) -> ffmpeg_cmd.nodes.FilterableStream:
    """White text on a translucent box, legible on any seed colour and on any image."""
    return stream.filter("drawtext", fontfile=str(font), fontsize=size, fontcolor="white", x=x, y=y, box=1,
                         boxcolor="black@0.45", **text)


def _clock(seconds: int) -> str:
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _clean(text: str) -> str:
    """One line of drawable text: unencodable code points (lone surrogates) become '?', control and
    line/paragraph separators become spaces, runs of whitespace collapse. Only the start is kept: the rest
    could not be shown anyway."""
    text = text[:_SCAN_CHARS].encode("utf-8", "replace").decode("utf-8")
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return " ".join(text.split())


_font_lock = threading.Lock()


@functools.lru_cache(maxsize=16)
def _font(size: int, path: Path) -> ImageFont.FreeTypeFont:
    """Pillow only measures text here (ffmpeg draws it); the basic layout keeps widths machine-independent."""
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def _wrap(text: str, size: int, room: int, max_lines: int, font_file: Path) -> list[str]:
    """Greedy word wrap to ``room`` pixels, breaking inside words too long for a line (URLs, CJK), and
    ending with an ellipsis when the text does not fit in ``max_lines``."""
    with _font_lock:
        font = _font(size, font_file)

        def fits(candidate: str) -> bool:
            return font.getlength(candidate) <= room

        lines: list[str] = []
        line = ""
        for word in text.split(" "):
            candidate = f"{line} {word}" if line else word
            if fits(candidate):
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            while not fits(line) and len(lines) < max_lines:
                cut = _longest_fitting_prefix(line, fits)
                lines.append(line[:cut])
                line = line[cut:]
            if len(lines) >= max_lines:
                break
        lines.append(line)
        if len(lines) <= max_lines:
            return lines
        last = lines[max_lines - 1]
        while last and not fits(last + "\u2026"):
            last = last[:-1]
        return lines[:max_lines - 1] + [last.rstrip() + "\u2026"]


def _longest_fitting_prefix(text: str, fits: Callable[[str], bool]) -> int:
    """Binary search (width grows with length); at least one character, so wrapping always progresses."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(text[:middle]) else (low, middle - 1)
    return low


def _background_rgb(seed: int) -> tuple[int, int, int]:
    """A dark, saturated colour whose hue is scattered by the seed, so neighbouring seeds look different."""
    hue = (seed * 2654435761 % 2**32) / 2**32
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.6, 0.45)
    return round(red * 255), round(green * 255), round(blue * 255)


def _background_hex(seed: int) -> str:
    return "0x{:02X}{:02X}{:02X}".format(*_background_rgb(seed))


# --- running ffmpeg ---------------------------------------------------------------------------------------------

def _mp4_options(fps: int, faststart: bool) -> dict[str, str | int]:
    """Browser-friendly, reproducible MP4: moov first (unless damage wants it last), no metadata, no muxer
    version or creation time."""
    return {**({"movflags": "+faststart"} if faststart else {}), "map_metadata": -1, "fflags": "+bitexact",
            "video_track_timescale": fps * 512}


def _compile(node: ffmpeg_cmd.nodes.OutputStream, exe: str) -> list[str]:
    args = node.global_args("-hide_banner", "-loglevel", "error", "-filter_complex_threads", "1")
    return ffmpeg_cmd.compile(args, cmd=exe, overwrite_output=True)
