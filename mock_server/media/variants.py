"""A video's other downloadable assets, as the OpenAI Videos API offers them: a thumbnail and a spritesheet.

Both are cut from the placeholder MP4 itself, so they show exactly what the video shows (its labels, its
timer, its colour): a thumbnail is the middle frame as WebP, a spritesheet a grid of frames taken evenly
over the whole video, as JPEG. One ffmpeg run each, written atomically next to the video in the cache.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from videomock.contracts.media import VARIANT_MEDIA_TYPES, TimeLimit, ffmpeg_executable, probe, run_ffmpeg
from videomock.media.render import RenderError

_SUFFIXES = {"video": ".mp4", "thumbnail": ".thumbnail.webp", "spritesheet": ".spritesheet.jpg"}
#: Variant -> (file suffix in the cache, media type). ``video`` is the MP4 itself.
VARIANTS = {variant: (_SUFFIXES[variant], media_type) for variant, media_type in VARIANT_MEDIA_TYPES.items()}
#: The spritesheet's grid: columns x rows of frames, each this wide (height follows the aspect).
SPRITE_COLUMNS, SPRITE_ROWS, SPRITE_WIDTH = 5, 2, 256


def render_variant(video: Path, variant: str, out_path: Path, *, ffmpeg: str | None = None,
                   timeout: float = 120.0) -> None:
    """Write ``variant`` of ``video`` to ``out_path`` (atomically). Raises RenderError."""
    info = probe(video, ffmpeg=ffmpeg)
    if variant == "thumbnail":
        arguments = ["-ss", f"{info.duration / 2:.3f}", "-i", str(video), "-frames:v", "1",
                     "-c:v", "libwebp", "-quality", "80"]
    elif variant == "spritesheet":
        frames = SPRITE_COLUMNS * SPRITE_ROWS
        rate = frames / max(info.duration, 1 / float(info.fps))
        arguments = ["-i", str(video), "-vf", f"fps={rate:.6f},scale={SPRITE_WIDTH}:-2,tile={SPRITE_COLUMNS}x{SPRITE_ROWS}",
                     "-frames:v", "1", "-q:v", "4"]
    else:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    suffix = VARIANTS[variant][0]
    fd, partial = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=suffix)
    os.close(fd)
    try:
        command = [ffmpeg_executable(ffmpeg), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *arguments,
                   "-map_metadata", "-1", "-fflags", "+bitexact", partial]
        run_ffmpeg(command, step=f"making the {variant}", error=RenderError, limit=TimeLimit.starting_now(timeout))
        os.replace(partial, out_path)
    finally:
        Path(partial).unlink(missing_ok=True)
