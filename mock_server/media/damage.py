"""Broken placeholder files, on purpose: the damage real downloads arrive with, so clients can be tested on it.

A ``corrupt_media`` fault gives its task a :class:`Damage`; the task still reports the video it was asked for,
while the file is broken in one of these ways:

- ``no_moov``: an MP4 written with its index (moov) at the end, as encoders do without faststart, and cut
  before it, as an interrupted upload is: the media data is there, nothing can find it;
- ``zero_bytes``: an empty file (served with 200);
- ``wrong_content_type``: the file is fine, but served as ``application/octet-stream`` or
  ``binary/octet-stream``, as storage buckets do when an upload did not set a type;
- ``duration_mismatch``: a whole, valid video ``seconds`` longer or shorter than the task says;
- ``bad_frame``: the key frame in the middle is garbled, so its whole second (a group of pictures) decodes
  with errors, while the container and frame count stay intact;
- ``wrong_codec``: the same video in HEVC or VP9, where H.264 is expected.

Damage is part of the video's cache key, so damaged and intact files never mix.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videomock.contracts.media import TimeLimit, run_ffmpeg, top_level_boxes
from videomock.media.errors import RenderError

KINDS = ("no_moov", "zero_bytes", "wrong_content_type", "duration_mismatch", "bad_frame", "wrong_codec")
#: Encoder arguments of each wrong codec: fast, single-threaded (so deterministic), in an MP4 as players tag them.
_ENCODERS = {
    "hevc": ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=none:pools=none:frame-threads=1",
             "-tag:v", "hvc1"],
    "vp9": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-threads", "1", "-row-mt", "0",
            "-b:v", "1M"],
}


@dataclass(frozen=True)
class Damage:
    """One kind of damage and its parameter (None for the kinds that have none)."""

    kind: str
    value: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown damage {self.kind!r}; known: {', '.join(KINDS)}")

    @classmethod
    def from_plan(cls, plan: Mapping[str, Any] | None) -> Damage | None:
        """The damage a task's plan records (``{"kind", "value"}``), if any."""
        return cls(plan["kind"], plan.get("value")) if plan else None

    @property
    def shapes_file(self) -> bool:
        """A wrong content type is the server's answer, not the file's."""
        return self.kind != "wrong_content_type"

    @property
    def content_type(self) -> str | None:
        return str(self.value) if self.kind == "wrong_content_type" else None

    def file_duration(self, asked: int) -> int:
        """The length the file is rendered at: the asked one, or off by ``seconds`` (keeping one at least)."""
        return max(1, asked + int(self.value)) if self.kind == "duration_mismatch" else asked

    @property
    def faststart(self) -> bool:
        return self.kind != "no_moov"

    def key(self) -> dict[str, Any] | None:
        """What the damage adds to a video's cache key: nothing when the bytes stay as they are."""
        return {"kind": self.kind, "value": self.value} if self.shapes_file else None

    def garble(self, stream: bytes, key_frames: list[tuple[int, int]], seed: int) -> bytes:
        """``bad_frame``: overwrite the middle of the middle key frame's slice data (``key_frames`` are the
        (start, end) offsets of each IDR NAL in the Annex B ``stream``) with seeded bytes. No byte is zero,
        so no start code appears and the stream's framing survives; the headers before it are kept."""
        if self.kind != "bad_frame":
            return stream
        start, end = key_frames[len(key_frames) // 2]
        first, last = start + (end - start) // 4, start + 3 * (end - start) // 4
        noise = random.Random(seed).randbytes(last - first).replace(b"\x00", b"\x5a")
        return stream[:first] + noise + stream[last:]

    def finish(self, video: Path, exe: str, limit: TimeLimit) -> None:
        """Damage the rendered file in place, for the kinds that act on the finished MP4."""
        if self.kind == "zero_bytes":
            video.write_bytes(b"")
        elif self.kind == "no_moov":
            moov = next(payload for kind, payload, _ in top_level_boxes(video) if kind == b"moov") - 8   # its header
            with open(video, "r+b") as fh:
                fh.truncate(min(moov, int(os.path.getsize(video) * float(self.value))))
        elif self.kind == "wrong_codec":
            recoded = video.with_name("recoded.mp4")
            run_ffmpeg([exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(video), "-map", "0",
                        *_ENCODERS[str(self.value)], "-c:a", "copy", "-movflags", "+faststart", "-map_metadata", "-1",
                        "-fflags", "+bitexact", "-flags:v", "+bitexact", str(recoded)],
                       step=f"re-encoding as {self.value}", error=RenderError, limit=limit)
            os.replace(recoded, video)
