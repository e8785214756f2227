"""The frame counter's pixels: the corner patch of every frame, as uncompressed macroblocks.

What the patch shows is the contract's (:mod:`videomock.contracts.marks`); this module draws it. The patch is
a grid of cells, each a character of the text row or a bit of the strip, on macroblock boundaries, so each
macroblock is a function of the few cells it covers. A frame's macroblocks are therefore named by those
cells (:meth:`FrameMarks.keys`), drawn once per distinct name and cached, and a frame written between two
encoded pictures replaces only the macroblocks whose name changed since the frame before: the last digits
of the counter and a bit or two of the strip.
"""

from __future__ import annotations

import functools
import threading

from PIL import Image, ImageDraw, ImageFont

from videomock.contracts.marks import DARK, LIGHT, MACROBLOCK, STRIP_CELLS, label, mark_geometry, strip_bits
from videomock.media.fonts import MONO_FONT
from videomock.media.h264 import Macroblock

#: Text size and baseline in a cell row, at scale 1 (Noto Sans Mono's advance is 0.6 em: 13 px fits 8).
_FONT_SIZE, _BASELINE = 13, 12
#: The chroma of a grey macroblock: the patch is black and white.
_GREY_CHROMA = bytes([128]) * 128
#: One macroblock's name: (row of cells 0 text / 1 strip, its macroblock row within that row, its cells).
Key = tuple[int, int, str]


class FrameMarks:
    """The patch of every frame of one video."""

    def __init__(self, width: int, height: int, fps: int, frames: int) -> None:
        self.geometry = mark_geometry(width, height)
        self.fps, self.frames = fps, frames
        self.scale = self.geometry.scale
        cell = self.geometry.cell_width
        per_macroblock = max(1, MACROBLOCK // cell)
        columns = max(STRIP_CELLS, len(label(0, frames, fps)))
        columns += -columns % per_macroblock
        #: Whole macroblocks only: a frame narrower or shorter than the patch shows what fits.
        self.columns = min(columns * cell // MACROBLOCK, width // MACROBLOCK)
        self.rows = min(self.geometry.height // MACROBLOCK, height // MACROBLOCK)
        self._cells = columns
        self._first_row = self.geometry.y // MACROBLOCK

    @property
    def width(self) -> int:
        return self.columns * MACROBLOCK

    @property
    def height(self) -> int:
        return self.rows * MACROBLOCK

    def keys(self, frame: int) -> tuple[Key, ...]:
        """The names of frame ``frame``'s macroblocks, row by row."""
        rows = (label(frame, self.frames, self.fps).ljust(self._cells), strip_bits(frame).ljust(self._cells, "0"))
        cell, per_row = self.geometry.cell_width, self.geometry.row_height // MACROBLOCK
        keys = []
        for row in range(self.rows):
            band, within = divmod(row, per_row)
            text = rows[band]
            for column in range(self.columns):
                first, last = column * MACROBLOCK // cell, ((column + 1) * MACROBLOCK - 1) // cell
                keys.append((band, within, text[first:last + 1]))
        return tuple(keys)

    def changed(self, before: tuple[Key, ...], after: tuple[Key, ...], width_mbs: int) -> list[Macroblock]:
        """The macroblocks to replace to turn frame ``before`` into frame ``after``, in address order.
        ``width_mbs`` is the coded picture's width in macroblocks."""
        return [Macroblock((self._first_row + index // self.columns) * width_mbs + index % self.columns,
                           _samples(key, self.scale))
                for index, (old, key) in enumerate(zip(before, after)) if old != key]

    def luma(self, frame: int) -> bytes:
        """The whole patch of ``frame``'s luma, ``width`` bytes a row, in video range."""
        lumas = [_samples(key, self.scale)[:256] for key in self.keys(frame)]
        plane = bytearray()
        for row in range(self.rows):
            blocks = lumas[row * self.columns:(row + 1) * self.columns]
            for line in range(MACROBLOCK):
                plane += b"".join(block[line * MACROBLOCK:(line + 1) * MACROBLOCK] for block in blocks)
        return bytes(plane)

    def picture(self, frame: int) -> bytes:
        """The whole patch of ``frame`` as a yuv420p image (for ffmpeg to draw on the encoded pictures)."""
        plane = self.luma(frame)
        return plane + bytes([128]) * (len(plane) // 2)


_lock = threading.Lock()


@functools.lru_cache(maxsize=4096)
def _samples(key: Key, scale: int) -> bytes:
    """One macroblock in I_PCM order: its 256 luma samples row by row, then grey chroma."""
    band, within, cells = key
    size = MACROBLOCK // len(cells) if len(cells) > 1 else MACROBLOCK
    image = Image.new("L", (MACROBLOCK, MACROBLOCK))
    for index, character in enumerate(cells):
        image.paste(_cell(band, character, scale).crop((0, within * MACROBLOCK, size, (within + 1) * MACROBLOCK)),
                    (index * size, 0))
    luma = image.point(lambda value: DARK + value * (LIGHT - DARK) // 255)
    return luma.tobytes() + _GREY_CHROMA


@functools.lru_cache(maxsize=256)
def _cell(band: int, character: str, scale: int) -> Image.Image:
    """A character of the text row (light on dark), or a bit of the strip (a light or dark cell). At scale 2
    a cell is wider than a macroblock's share, so cells wider than 16 px are cut by the caller."""
    width, height = 8 * scale, 16 * scale
    if band == 1:
        return Image.new("L", (width, height), 255 if character == "1" else 0)
    image = Image.new("L", (width, height))
    with _lock:   # FreeType faces are not safe to share between threads
        ImageDraw.Draw(image).text((width / 2, _BASELINE * scale), character, fill=255, font=_mono(scale), anchor="ms")
    return image


@functools.lru_cache(maxsize=4)
def _mono(scale: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(MONO_FONT), _FONT_SIZE * scale, layout_engine=ImageFont.Layout.BASIC)
