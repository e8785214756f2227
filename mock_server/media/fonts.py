"""The bundled fonts, and which one draws a text.

ffmpeg's drawtext draws with one font and no fallback, so ``VideomockSans-Regular.ttf`` holds every script
a prompt may be in (built by ``tools/build_fonts.py`` from Noto fonts, SIL OFL 1.1, see ``OFL.txt``). Each
drawtext loads its font, and loading that one (13.6 MB, 46,000 glyphs) costs ~10 ms of CPU a time, a tenth
of a render's budget; so a text that needs less is drawn with less: ``VideomockSans-Latin.ttf`` (the same
glyphs, Latin, Greek and Cyrillic only, 0.2 MB) where it covers the text, and the monospaced ASCII
``VideomockMono-Regular.ttf`` for the timer and the frame counter. The fonts are passed by path, so machines
without fontconfig draw the same glyphs.
"""

from __future__ import annotations

from pathlib import Path

FONTS = Path(__file__).resolve().parent / "assets" / "fonts"
FULL_FONT = FONTS / "VideomockSans-Regular.ttf"
LATIN_FONT = FONTS / "VideomockSans-Latin.ttf"
MONO_FONT = FONTS / "VideomockMono-Regular.ttf"
#: The code points ``LATIN_FONT`` keeps of ``FULL_FONT``: Latin, IPA, combining marks, Greek, Cyrillic, Latin
#: and Greek extended, punctuation and currency signs.
LATIN_RANGES = ((0x20, 0x52F), (0x1E00, 0x1FFF), (0x2000, 0x20CF))


def font_for(text: str) -> Path:
    """The smallest proportional font that has every character of ``text`` (line breaks aside)."""
    latin = all(any(first <= ord(ch) <= last for first, last in LATIN_RANGES) for ch in text if ch != "\n")
    return LATIN_FONT if latin else FULL_FONT
