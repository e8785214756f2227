"""What a delivered video is, read from the file itself: geometry, rate, frames, duration, codec, layout,
its soundtrack, and whether every frame decodes.

The contract promises an H.264 MP4 of exactly the requested size, rate and length; these facts are how the
fake's own tests, ``videomock verify`` and recordings of the real provider check that promise. They are read
with ffmpeg from the imageio-ffmpeg wheel (the wheel has no ffprobe), so no system package is needed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import ffmpeg as ffmpeg_cmd
import imageio_ffmpeg

#: An ffmpeg run that takes longer than this is stuck, not slow.
FFMPEG_TIMEOUT_SECONDS = 300.0
#: What a completed video's download serves, by ``variant`` (the OpenAI Videos API's names), and as what: the
#: MP4, its middle frame and a grid of its frames.
VARIANT_MEDIA_TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}


class MediaError(Exception):
    """ffmpeg could not read (or make) a video; the message says which step failed and ends with its stderr."""


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: str            # as ffmpeg names the layout: mono, stereo, 5.1, ...
    #: Seconds of sound the track decodes to (after the container's edit list trims the encoder's padding).
    duration: float


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    frame_count: int
    duration: float
    codec: str
    pix_fmt: str
    profile: str | None
    faststart: bool
    #: The first audio stream, None when the file has none.
    audio: AudioInfo | None = None
    #: What the decoder reported while decoding the video (damaged frames it concealed); empty for a clean file.
    decode_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Luma:
    """One decoded picture's luma plane, ``width`` bytes a row (what :mod:`videomock.contracts.marks` reads)."""

    width: int
    height: int
    data: bytes


def ffmpeg_executable(configured: str | None = None) -> str:
    """The configured ffmpeg (a system build chosen in config) if any, else the one in the imageio-ffmpeg
    wheel, so a plain ``pip install`` works with no system packages."""
    return configured or imageio_ffmpeg.get_ffmpeg_exe()


#: Decoder messages that mean a frame was damaged (concealed, or dropped), as opposed to notes about the file.
_DECODE_ERROR = re.compile(rb"^\[(?:h264|hevc|vp9|av1|libdav1d)[^\]]*\] (.*(?:error|concealing|[Ii]nvalid|"
                           rb"corrupt|out of range|decode_slice).*)$", re.MULTILINE)


def probe(path: str | os.PathLike[str], *, ffmpeg: str | None = None, audio: bool = True) -> VideoInfo:
    """Decode every frame of the first video stream (counting decoded frames is what proves a file plays)
    and report its geometry, rate, frame count, duration, codec, pixel format, profile, whether moov
    precedes mdat (faststart), the errors the decoder reported on the way, and the first audio stream with
    the duration it decodes to (decoding it whole is a second ffmpeg run: with ``audio`` False, for a caller
    that needs only the picture, ``audio`` is None without a look). Raises MediaError if ffmpeg cannot read
    the file at all (no index, not a video, empty)."""
    path = Path(path)
    exe = ffmpeg_executable(ffmpeg)
    stream = ffmpeg_cmd.input(f"file:{path.resolve()}")["v:0"]
    cmd = ffmpeg_cmd.output(stream, "-", format="null", fps_mode="passthrough", progress="pipe:1")
    args = cmd.global_args("-hide_banner", "-nostdin", "-nostats")
    result = run_ffmpeg(ffmpeg_cmd.compile(args, cmd=exe), step=f"decoding {path.name}")
    header = result.stderr.decode("utf-8", "replace")
    stream_line = re.search(
        r"Stream #\d+:\d+.*?: Video: (?P<codec>\w+)(?: \((?P<profile>[^)]*)\))?.*?, "
        r"(?P<pix_fmt>\w+)(?:\([^)]*\))?, (?P<w>\d+)x(?P<h>\d+).*?(?P<fps>[\d.]+) fps", header)
    duration = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", header)
    frames = re.findall(rb"^frame=(\d+)", result.stdout, re.MULTILINE)
    if not (stream_line and duration and frames):
        raise MediaError(f"could not read the video stream of {path.name}:\n{stderr_tail(result.stderr)}")
    hours, minutes, seconds = duration.groups()
    return VideoInfo(
        width=int(stream_line["w"]), height=int(stream_line["h"]), fps=Fraction(stream_line["fps"]),
        frame_count=int(frames[-1]), duration=int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        codec=stream_line["codec"], pix_fmt=stream_line["pix_fmt"], profile=stream_line["profile"],
        faststart=moov_before_mdat(path), audio=_audio(path, header, exe) if audio else None,
        decode_errors=tuple(line.decode("utf-8", "replace") for line in _DECODE_ERROR.findall(result.stderr)),
    )


def _audio(path: Path, header: str, exe: str) -> AudioInfo | None:
    """The first audio stream, decoded whole: how long it plays is what its samples say, after the edit
    list, which is what a header's duration may not."""
    line = re.search(r"Stream #\d+:\d+.*?: Audio: (?P<codec>\w+).*?, (?P<rate>\d+) Hz, (?P<channels>[^,]+),", header)
    if line is None:
        return None
    cmd = ffmpeg_cmd.output(ffmpeg_cmd.input(f"file:{path.resolve()}")["a:0"], "-", format="null", progress="pipe:1")
    result = run_ffmpeg(ffmpeg_cmd.compile(cmd.global_args("-hide_banner", "-nostdin", "-nostats", "-v", "error"),
                                           cmd=exe), step=f"decoding the audio of {path.name}")
    decoded = re.findall(rb"^out_time_us=(\d+)", result.stdout, re.MULTILINE)
    return AudioInfo(codec=line["codec"], sample_rate=int(line["rate"]), channels=line["channels"].strip(),
                     duration=int(decoded[-1]) / 1e6 if decoded else 0.0)


def read_luma(path: str | os.PathLike[str], frame: int = 0, *, ffmpeg: str | None = None) -> Luma:
    """The luma plane of frame ``frame`` (counted from 0) of a video, or of an image (WebP, JPEG, PNG),
    decoded by ffmpeg. Raises MediaError when there is no such frame."""
    path = Path(path)
    picture = ffmpeg_cmd.input(f"file:{path.resolve()}")["v:0"].filter("select", f"eq(n,{frame})")
    cmd = ffmpeg_cmd.output(picture, "-", format="image2pipe", vcodec="pgm", pix_fmt="gray", **{"frames:v": 1})
    args = cmd.global_args("-hide_banner", "-nostdin", "-v", "error")
    data = run_ffmpeg(ffmpeg_cmd.compile(args, cmd=ffmpeg_executable(ffmpeg)), step=f"reading frame {frame} of {path.name}").stdout
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    if header is None:
        raise MediaError(f"{path.name} has no frame {frame}")
    width, height = int(header[1]), int(header[2])
    return Luma(width, height, data[header.end():header.end() + width * height])


def moov_before_mdat(path: Path) -> bool:
    """Walk the top-level MP4 boxes: a browser can start playing before the download ends only if the
    index (moov) comes before the media data (mdat)."""
    with open(path, "rb") as fh:
        for kind, _ in _boxes(fh):
            if kind in (b"moov", b"mdat"):
                return kind == b"moov"
    return False


def top_level_boxes(path: str | os.PathLike[str]) -> list[tuple[bytes, int, int]]:
    """The MP4's top-level boxes as (type, payload offset, payload size), as far as the file goes (a cut
    file's last box runs past its end)."""
    with open(path, "rb") as fh:
        return [(kind, fh.tell(), size) for kind, size in _boxes(fh)]


def container_seconds(path: str | os.PathLike[str]) -> float:
    """The duration the MP4's movie header (moov/mvhd) gives: what a player shows as the file's length, read
    without decoding anything (a provider that reports a video's length, as Kling does, reports this).
    Raises MediaError when the file has no movie header."""
    with open(path, "rb") as fh:
        for kind, size in _boxes(fh):
            if kind != b"moov":
                continue
            for inner, inner_size in _boxes(fh, size):
                if inner == b"mvhd" and inner_size >= 32:
                    box = fh.read(inner_size)
                    if box[0] == 1:   # version 1: 64-bit times and duration
                        timescale, duration = int.from_bytes(box[20:24], "big"), int.from_bytes(box[24:32], "big")
                    else:
                        timescale, duration = int.from_bytes(box[12:16], "big"), int.from_bytes(box[16:20], "big")
                    if timescale:
                        return duration / timescale
    raise MediaError(f"{Path(path).name} has no MP4 movie header (moov/mvhd) giving its duration")


def _boxes(fh: BinaryIO, length: int | None = None) -> Iterator[tuple[bytes, int]]:
    """The MP4 boxes from ``fh``'s position on (to ``length`` bytes, or the end of the file): each box's type
    and payload size, with ``fh`` at the payload's start. Whatever of the payload the caller leaves unread is
    skipped."""
    end = None if length is None else fh.tell() + length
    while end is None or fh.tell() + 8 <= end:
        header = fh.read(8)
        if len(header) < 8:
            return
        size, kind = int.from_bytes(header[:4], "big"), header[4:]
        if size == 1:
            size = int.from_bytes(fh.read(8), "big") - 8
        elif size == 0:   # the box runs to the end of the file: nothing follows it
            yield kind, (end if end is not None else os.fstat(fh.fileno()).st_size) - fh.tell()
            return
        payload = fh.tell()
        size -= 8
        if size < 0:
            return
        yield kind, size
        fh.seek(payload + size)


# --- what is wrong with a delivered file -------------------------------------------------------------------------

#: What the contract says a video download is served as.
VIDEO_MEDIA_TYPE = VARIANT_MEDIA_TYPES["video"]


@dataclass(frozen=True)
class MediaProblem:
    """One way a delivered file is not the video its task describes. ``kind`` names it for programs, with the
    names of the fake's ``corrupt_media`` faults where one makes it (``zero_bytes``, ``wrong_content_type``,
    ``no_moov``, ``wrong_codec``, ``bad_frame``, ``duration_mismatch``), and ``undecodable``, ``size``,
    ``fps`` and ``audio`` otherwise; ``message`` says it for people."""

    kind: str
    message: str


def delivery_problems(size: int, content_type: str | None) -> list[MediaProblem]:
    """What the answer itself gets wrong, before the file is read: no bytes at all, or a type other than
    ``video/mp4`` (storage buckets serve uploads without one as ``application/octet-stream``, and players
    and ``<video>`` elements then refuse them)."""
    problems = []
    if size == 0:
        problems.append(MediaProblem("zero_bytes", "the video is empty (0 bytes, though the answer was a success)"))
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if content_type is not None and media_type != VIDEO_MEDIA_TYPE:
        problems.append(MediaProblem("wrong_content_type",
                                     f"the video was served as {content_type!r}, not {VIDEO_MEDIA_TYPE}"))
    return problems


def file_problems(path: str | os.PathLike[str], *, expected: Mapping[str, Any] | None = None,
                  audio: bool | None = None, tolerance: float = 0.2, ffmpeg: str | None = None) -> list[MediaProblem]:
    """What the file gets wrong, read by decoding it whole: no index, not H.264, frames that decode with
    errors, and any of ``expected``'s ``width``, ``height``, ``fps`` and ``duration`` (seconds, within
    ``tolerance``) it does not match; ``audio`` True or False says whether a soundtrack must be there (it must
    then last as long as the video)."""
    path = Path(path)
    if os.path.getsize(path) == 0:
        return delivery_problems(0, None)
    kinds = [kind for kind, _, _ in top_level_boxes(path)]
    if b"mdat" in kinds and b"moov" not in kinds:
        return [MediaProblem("no_moov", "the file has media data but no index (moov box): it was cut short before "
                                        "the index an encoder writes last without faststart, and nothing can play it")]
    try:
        info = probe(path, ffmpeg=ffmpeg)
    except MediaError as exc:
        return [MediaProblem("undecodable", f"the file does not decode as a video: {exc}")]
    problems = []
    if info.codec != "h264":
        problems.append(MediaProblem("wrong_codec", f"the video is {info.codec}, not H.264"))
    if info.decode_errors:
        problems.append(MediaProblem("bad_frame", f"frames decode with errors ({len(info.decode_errors)} decoder "
                                                  f"messages; the first: {info.decode_errors[0]})"))
    # A gateway's metadata may hold anything; only numbers are facts to hold the file to.
    expected = {k: v for k, v in (expected or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    fps = int(info.fps) if info.fps.denominator == 1 else float(info.fps)
    for kind, name, measured in (("size", "width", info.width), ("size", "height", info.height), ("fps", "fps", fps)):
        if name in expected and expected[name] != measured:
            problems.append(MediaProblem(kind, f"the video's {name} is {measured}, expected {expected[name]}"))
    if "duration" in expected and abs(info.duration - float(expected["duration"])) > tolerance:
        off = info.duration - float(expected["duration"])
        problems.append(MediaProblem("duration_mismatch", f"the video plays {info.duration:g} s, {abs(off):g} s "
                                     f"{'longer' if off > 0 else 'shorter'} than expected ({expected['duration']} s)"))
    if audio is True and info.audio is None:
        problems.append(MediaProblem("audio", "the video has no audio stream, and its model produces sound"))
    elif audio is False and info.audio is not None:
        problems.append(MediaProblem("audio", f"the video has an audio stream ({info.audio.codec}), and its model "
                                              "produces no sound"))
    if audio is not None and info.audio is not None and abs(info.audio.duration - info.duration) > tolerance:
        problems.append(MediaProblem("audio", f"the soundtrack plays {info.audio.duration:g} s, the video "
                                              f"{info.duration:g} s"))
    return problems


# --- running ffmpeg ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimeLimit:
    """Wall-clock seconds shared by the ffmpeg runs of one job (a render runs two at once), counted from
    when the first starts, so that the limit bounds ffmpeg's work and not whatever the job waited for first."""

    seconds: float
    ends: float   # on the time.monotonic() clock

    @classmethod
    def starting_now(cls, seconds: float) -> TimeLimit:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())


def start_ffmpeg(cmd: list[str], cwd: Path, *, error: type[Exception] = MediaError) -> subprocess.Popen[bytes]:
    """ffmpeg in a process group of its own, so that stopping it also stops anything it started (a wrapper
    script's real ffmpeg, which would otherwise keep running and hold the pipes open)."""
    try:
        return subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, process_group=0)
    except OSError as exc:
        raise error(f"cannot run ffmpeg {cmd[0]!r}: {exc}") from None


def stop_ffmpeg(process: subprocess.Popen[bytes]) -> None:
    """Kill a run that has not been reaped (its pid is still its own) with its process group, reap it and
    close its pipes. Its output is not read: a child that escaped the group could hold them open for ever."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            if hasattr(os, "killpg"):
                os.killpg(process.pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows has no process groups to kill
                process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def finish_ffmpeg(process: subprocess.Popen[bytes], stdin: bytes | None, *, step: str,
                  error: type[Exception] = MediaError, limit: TimeLimit | None = None) -> subprocess.CompletedProcess[bytes]:
    """Feed ``stdin``, wait, and raise ``error`` naming ``step`` if ffmpeg failed, or ran past ``limit``
    (default: FFMPEG_TIMEOUT_SECONDS from now), in which case it is stopped. It is also stopped if the wait
    is interrupted (Ctrl-C no longer reaches it: it has a process group of its own)."""
    limit = limit if limit is not None else TimeLimit.starting_now(FFMPEG_TIMEOUT_SECONDS)
    try:
        stdout, stderr = process.communicate(stdin, timeout=limit.remaining())
    except subprocess.TimeoutExpired:
        stop_ffmpeg(process)
        raise error(f"ffmpeg was stopped after running for {limit.seconds:g} s while {step}") from None
    except BaseException:
        stop_ffmpeg(process)
        raise
    if process.returncode != 0:
        raise error(f"ffmpeg failed while {step} (exit status {process.returncode}):\n{stderr_tail(stderr)}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run_ffmpeg(cmd: list[str], *, step: str, cwd: Path | None = None, stdin: bytes | None = None,
               error: type[Exception] = MediaError, limit: TimeLimit | None = None) -> subprocess.CompletedProcess[bytes]:
    process = start_ffmpeg(cmd, cwd or Path.cwd(), error=error)
    return finish_ffmpeg(process, stdin, step=step, error=error, limit=limit)


def stderr_tail(stderr: bytes, lines: int = 15) -> str:
    text = stderr.decode("utf-8", "replace").strip() or "(ffmpeg printed nothing)"
    return "\n".join(text.splitlines()[-lines:])
