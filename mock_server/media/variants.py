"""A video's other downloadable assets, as the OpenAI Videos API offers them: a thumbnail and a spritesheet.

Both are cut from the placeholder MP4 itself, so they show exactly what the video shows (its labels, its
timer, its colour, its frame counter): a thumbnail is the middle frame as WebP, at the video's size, so its
strip reads as that frame's number. A spritesheet is a grid of frames taken evenly over the whole video
(:func:`videomock.contracts.marks.sprite_frames`), scaled down to tiles, as JPEG; scaling would shrink the
strip's cells below a pixel, so each tile gets the patch again, drawn for the tile's size. Written atomically
next to the video in the cache.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from videomock.contracts.marks import DARK, LIGHT, SPRITE_COLUMNS, SPRITE_ROWS, SPRITE_WIDTH, sprite_frames
from videomock.contracts.media import VARIANT_MEDIA_TYPES, TimeLimit, ffmpeg_executable, probe, run_ffmpeg
from videomock.media.errors import RenderError
from videomock.media.marks import FrameMarks

_SUFFIXES = {"video": ".mp4", "thumbnail": ".thumbnail.webp", "spritesheet": ".spritesheet.jpg"}
#: Variant -> (file suffix in the cache, media type). ``video`` is the MP4 itself.
VARIANTS = {variant: (_SUFFIXES[variant], media_type) for variant, media_type in VARIANT_MEDIA_TYPES.items()}
_SPRITE_QUALITY = 85


def render_variant(video: Path, variant: str, out_path: Path, *, ffmpeg: str | None = None,
                   timeout: float = 120.0) -> None:
    """Write ``variant`` of ``video`` to ``out_path`` (atomically). Raises RenderError."""
    if variant not in ("thumbnail", "spritesheet"):
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    exe = ffmpeg_executable(ffmpeg)
    limit = TimeLimit.starting_now(timeout)
    info = probe(video, ffmpeg=ffmpeg, audio=False)   # the frames are all a variant is made from
    fd, partial = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=VARIANTS[variant][0])
    os.close(fd)
    try:
        if variant == "thumbnail":
            _run(exe, ["-i", str(video), "-vf", f"select=eq(n\\,{info.frame_count // 2})", "-frames:v", "1",
                       "-c:v", "libwebp", "-quality", "80", "-map_metadata", "-1", "-fflags", "+bitexact", "-y",
                       partial], limit, variant)
        else:
            _spritesheet(video, info.frame_count, int(info.fps), exe, limit).save(partial, "JPEG",
                                                                                  quality=_SPRITE_QUALITY)
        os.replace(partial, out_path)
    finally:
        Path(partial).unlink(missing_ok=True)


def _spritesheet(video: Path, frames: int, fps: int, exe: str, limit: TimeLimit) -> Image.Image:
    """The tiles, each with its own frame's patch, in one grid. ffmpeg picks and scales the frames; Pillow
    draws the patches and tiles them, with the JPEG encode the same on every machine (Pillow's libjpeg)."""
    picked = sprite_frames(frames)
    chosen = "+".join(f"eq(n\\,{n})" for n in sorted(set(picked)))
    raw = _run(exe, ["-i", str(video), "-vf", f"select={chosen},scale={SPRITE_WIDTH}:-2:flags=area", "-fps_mode",
                     "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], limit, "spritesheet")
    height = len(raw) // (len(set(picked)) * SPRITE_WIDTH * 3)
    tile_bytes = SPRITE_WIDTH * height * 3
    tiles = {n: raw[i * tile_bytes:(i + 1) * tile_bytes] for i, n in enumerate(sorted(set(picked)))}
    marks = FrameMarks(SPRITE_WIDTH, height, fps, frames)
    # The patch is drawn in video range; the tiles are full-range RGB.
    to_full_range = [min(255, max(0, round((value - DARK) * 255 / (LIGHT - DARK)))) for value in range(256)]
    sheet = Image.new("RGB", (SPRITE_COLUMNS * SPRITE_WIDTH, SPRITE_ROWS * height))
    for index, frame in enumerate(picked):
        tile = Image.frombytes("RGB", (SPRITE_WIDTH, height), tiles[frame])
        patch = Image.frombytes("L", (marks.width, marks.height), marks.luma(frame)).point(to_full_range)
        tile.paste(patch.convert("RGB"), (marks.geometry.x, marks.geometry.y))
        sheet.paste(tile, (index % SPRITE_COLUMNS * SPRITE_WIDTH, index // SPRITE_COLUMNS * height))
    return sheet


def _run(exe: str, arguments: list[str], limit: TimeLimit, variant: str) -> bytes:
    command = [exe, "-hide_banner", "-loglevel", "error", "-nostdin", *arguments]
    return run_ffmpeg(command, step=f"making the {variant}", error=RenderError, limit=limit).stdout
