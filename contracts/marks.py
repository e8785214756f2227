"""The marks on every placeholder frame, and how a program reads them back from a decoded frame.

Each frame carries, in its bottom-left corner, an opaque patch of two rows of cells: a line of text,
``frame N / TOTAL  t=SS.mmm``, for people, and under it a strip of black and white cells encoding ``N`` for
programs. ``N`` counts from 0, as ffmpeg's ``select=eq(n,N)`` does, so ``t = N / fps`` is the frame's own
presentation time. A test that trims, concatenates or extracts frames reads the strip with
:func:`read_frame_number` instead of trusting timestamps, which is what such code gets wrong.

The strip, cell by cell from the left: white, black (where it starts), the ``FRAME_BITS`` bits of ``N``, most
significant first (white is 1), a parity cell (white when ``N`` has an odd number of 1 bits) and a black
cell. A cell is ``CELL_WIDTH`` x ``ROW_HEIGHT`` pixels, twice that on frames whose short side is 1080 or more.
The patch is aligned to H.264's 16-pixel macroblocks (the renderer writes it into every frame uncompressed),
so it starts at the left edge and ends at the last whole macroblock row.

A thumbnail is the video's middle frame, marks and all. A spritesheet is a grid of ``SPRITE_COLUMNS`` x
``SPRITE_ROWS`` frames taken evenly over the video, each ``SPRITE_WIDTH`` pixels wide, and each tile carries
the patch again, drawn at the tile's own size (scaled down, the video's would be too small to read), so
:func:`sprite_frame_numbers` reads which frame every tile shows.

To read them::

    from videomock.contracts.marks import frame_number, sprite_frame_numbers

    frame_number("out.mp4", 42)            # 42, unless the video was cut or re-timed
    frame_number("thumbnail.webp")         # the thumbnail's frame
    sprite_frame_numbers("sheet.jpg")      # [0, 15, 30, ...]
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from videomock.contracts.media import read_luma

#: Pixels of one cell at scale 1: one character of the text, one bit of the strip.
CELL_WIDTH, ROW_HEIGHT = 8, 16
#: Bits of the frame number: enough for the longest video at the highest rate (3600 s at 120 fps).
FRAME_BITS = 20
#: Cells of the strip: start (2), the number, parity, end.
STRIP_CELLS = 2 + FRAME_BITS + 2
MACROBLOCK = 16
#: Luma of the patch's dark and light cells (video range, as decoders expect).
DARK, LIGHT = 16, 235
#: The spritesheet's grid: columns x rows of frames, each this wide (its height follows the aspect).
SPRITE_COLUMNS, SPRITE_ROWS, SPRITE_WIDTH = 5, 2, 256


class MarkError(ValueError):
    """A frame's strip cannot be read: no patch where the geometry says, or a cell that contradicts the
    layout (a cut, scaled or damaged frame)."""


@dataclass(frozen=True)
class MarkGeometry:
    """Where a frame's patch is: its top-left corner and the size of its cells."""

    x: int
    y: int
    scale: int

    @property
    def cell_width(self) -> int:
        return CELL_WIDTH * self.scale

    @property
    def row_height(self) -> int:
        return ROW_HEIGHT * self.scale

    @property
    def strip_y(self) -> int:
        """The top of the strip row, under the text row."""
        return self.y + self.row_height

    @property
    def height(self) -> int:
        return 2 * self.row_height


def mark_scale(width: int, height: int) -> int:
    """Cells double on 1080p and larger frames, so the marks keep their share of the picture."""
    return 2 if min(width, height) >= 1080 else 1


def mark_geometry(width: int, height: int) -> MarkGeometry:
    """The patch of a ``width`` x ``height`` frame: at the left edge, its bottom on the last whole macroblock
    row (a 1080-line frame is coded as 1088 lines, and the last row is partly cropped away)."""
    geometry = MarkGeometry(0, 0, mark_scale(width, height))
    bottom = height // MACROBLOCK * MACROBLOCK
    return MarkGeometry(0, max(0, bottom - geometry.height), geometry.scale)


def label(frame: int, frames: int, fps: int) -> str:
    """The text row: fixed width for a whole video, so its characters stay in their cells as ``N`` grows."""
    milliseconds = frame * 1000 // fps
    seconds_width = max(2, len(str(frames // fps)))
    return (f"frame {frame:>{len(str(frames))}} / {frames}  "
            f"t={milliseconds // 1000:0{seconds_width}d}.{milliseconds % 1000:03d}")


def strip_bits(frame: int) -> str:
    """The strip as ``1`` (light) and ``0`` (dark) cells."""
    if not 0 <= frame < 1 << FRAME_BITS:
        raise ValueError(f"frame numbers are 0..{(1 << FRAME_BITS) - 1}, got {frame}")
    number = format(frame, f"0{FRAME_BITS}b")
    return "10" + number + str(number.count("1") % 2) + "0"


def read_frame_number(luma: bytes, width: int, geometry: MarkGeometry) -> int:
    """The frame number the strip at ``geometry`` encodes, from a frame's luma plane (``width`` bytes a row,
    as ffmpeg's ``-pix_fmt gray`` gives it). Each cell is judged by the mean of its central quarter, so
    compression and JPEG or WebP artefacts do not flip it. Raises MarkError."""
    height = len(luma) // width
    cell, row = geometry.cell_width, geometry.row_height
    if geometry.x + STRIP_CELLS * cell > width or geometry.strip_y + row > height:
        raise MarkError(f"the strip ({STRIP_CELLS} cells of {cell}x{row} at {geometry.x},{geometry.strip_y}) "
                        f"does not fit a {width}x{height} frame")
    bits = []
    for index in range(STRIP_CELLS):
        left, top = geometry.x + index * cell + cell // 4, geometry.strip_y + row // 4
        values = [luma[y * width + x] for y in range(top, top + row // 2) for x in range(left, left + cell // 2)]
        bits.append("1" if sum(values) / len(values) > (DARK + LIGHT) / 2 else "0")
    strip = "".join(bits)
    number = strip[2:2 + FRAME_BITS]
    if strip[:2] != "10" or strip[-1] != "0" or strip[-2] != str(number.count("1") % 2):
        raise MarkError(f"no frame strip at {geometry.x},{geometry.strip_y}: read {strip}")
    return int(number, 2)


def sprite_frames(frames: int) -> list[int]:
    """The frames a spritesheet of a ``frames``-frame video shows, in its tiles' reading order: evenly spread,
    the first frame first."""
    count = SPRITE_COLUMNS * SPRITE_ROWS
    return [index * frames // count for index in range(count)]


def frame_number(path: str | os.PathLike[str], frame: int = 0, *, ffmpeg: str | None = None) -> int:
    """The frame number the strip of frame ``frame`` (counted from 0) of a video shows, or that of an image
    (a thumbnail, a frame your code extracted at the video's size). Raises MarkError when the strip cannot
    be read, MediaError when there is no such frame."""
    luma = read_luma(path, frame, ffmpeg=ffmpeg)
    return read_frame_number(luma.data, luma.width, mark_geometry(luma.width, luma.height))


def sprite_frame_numbers(path: str | os.PathLike[str], *, ffmpeg: str | None = None) -> list[int]:
    """The frame numbers the tiles of a spritesheet show, in reading order. Raises MarkError."""
    luma = read_luma(path, ffmpeg=ffmpeg)
    width, height = luma.width // SPRITE_COLUMNS, luma.height // SPRITE_ROWS
    tile = mark_geometry(width, height)
    return [read_frame_number(luma.data, luma.width, MarkGeometry(tile.x + column * width, tile.y + row * height,
                                                                  tile.scale))
            for row in range(SPRITE_ROWS) for column in range(SPRITE_COLUMNS)]
