"""Build the placeholder fonts in ``mock_server/media/assets/fonts/`` from Noto sources.

ffmpeg's drawtext draws with one font file and has no fallback, so the prompt's every script has to be in
one font: this merges Noto Sans (Latin, Greek, Cyrillic), Noto Sans Arabic, Noto Sans Hebrew, a subset of
Noto Sans CJK SC (every character of GB 2312, Big5, JIS X 0208 and KS X 1001: about 20,000, which is what
people type), the monochrome Noto Emoji and Noto Sans Symbols 1 and 2 (dingbats, arrows, check marks) into
``VideomockSans-Regular.ttf``. A font holds at most 65,535
glyphs, so CJK could not come whole; its cubic (CFF) outlines are converted to TrueType's quadratic ones,
and hinting is dropped everywhere (FreeType's auto-hinter is deterministic, and instructions of five fonts
cannot be merged). The frame counter's digits come from a monospaced subset, ``VideomockMono-Regular.ttf``,
so every digit stays in its cell. ``VideomockSans-Latin.ttf`` is the merged font cut to the code points of
``videomock.media.fonts.LATIN_RANGES``: drawtext loads a font per text, and a Latin prompt need not pay for
loading the CJK glyphs (``python tools/build_fonts.py --latin-only`` remakes it from the merged font alone).

The output is checked in: building it needs fontTools (``pip install fonttools``), which the package does not,
and videomock itself (run it with the project's ``.venv/bin/python``).
The sources, all under the SIL Open Font License 1.1 (their notices are gathered into ``OFL.txt``):

    apt-get download fonts-noto-core fonts-noto-cjk fonts-noto-mono   # Debian 12: 20201225-1, 1:20220127+repack1-1
    npm pack @expo-google-fonts/noto-emoji                             # 0.4.7: Noto Emoji 3.006
    for deb in *.deb; do dpkg -x "$deb" src; done; tar xzf expo-google-fonts-noto-emoji-*.tgz -C src

    python tools/build_fonts.py src

The result does not depend on when it is built (timestamps come from the sources).
"""

from __future__ import annotations

import argparse
import copy
import io
import re
import tempfile
from pathlib import Path

from fontTools import subset
from fontTools.merge import Merger
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable
from fontTools.ttLib.scaleUpem import scale_upem
from fontTools.ttLib.tables import otTables
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

from videomock.media.fonts import FULL_FONT, LATIN_FONT, LATIN_RANGES

ASSETS = Path(__file__).resolve().parents[1] / "mock_server" / "media" / "assets" / "fonts"
FAMILY, MONO_FAMILY, LATIN_FAMILY = "Videomock Sans", "Videomock Mono", "Videomock Sans Latin"
UNITS_PER_EM = 1000
#: Tables no renderer of ours reads; vertical metrics and the CJK baseline table would not survive the merge.
DROPPED = ["DSIG", "vhea", "vmtx", "VORG", "BASE", "STAT", "gasp", "FFTM", "MATH", "kern"]
#: Where each source sits in the folder the packages were unpacked into.
NOTO = "usr/share/fonts/truetype/noto"
SOURCES = {
    "latin": f"{NOTO}/NotoSans-Regular.ttf",
    "arabic": f"{NOTO}/NotoSansArabic-Regular.ttf",
    "hebrew": f"{NOTO}/NotoSansHebrew-Regular.ttf",
    "cjk": "usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "emoji": "package/400Regular/NotoEmoji_400Regular.ttf",
    "symbols": f"{NOTO}/NotoSansSymbols-Regular.ttf",
    "symbols2": f"{NOTO}/NotoSansSymbols2-Regular.ttf",
    "mono": f"{NOTO}/NotoSansMono-Regular.ttf",
}
CJK_FACE = "Noto Sans CJK SC"
#: Characters whose glyphs only matter inside emoji sequences: where two fonts map one, the merge keeps the
#: first font's glyph, and the emoji font's ligatures (a family joined by ZWJ, keycaps, tag flags) name
#: its own. Every other font does without them (shaping reads ZWJ and ZWNJ from the text, not the glyph).
EMOJI_CONTROLS = {0x200D, 0x20E3, 0xFE0E, 0xFE0F, *range(0xE0020, 0xE0080)}


def cjk_characters() -> set[int]:
    """The characters of the national standard sets, read from Python's own codecs, plus the CJK
    punctuation, kana and full-width forms blocks whole."""
    chars: set[int] = set()
    for encoding in ("gb2312", "big5", "euc_jp", "euc_kr"):
        for lead in range(0x81, 0xFF):
            for trail in range(0x40, 0xFF):
                try:
                    text = bytes([lead, trail]).decode(encoding)
                except UnicodeDecodeError:
                    continue
                chars.update(ord(ch) for ch in text)
    for first, last in ((0x3000, 0x30FF), (0x3190, 0x31FF), (0xFF00, 0xFFEF)):
        chars.update(range(first, last + 1))
    return chars


def subsetted(font: TTFont, unicodes: set[int] | None = None) -> TTFont:
    """Keep ``unicodes`` (all of the font's when None) and the shaping features, drop hinting."""
    options = subset.Options()
    options.hinting = False
    options.drop_tables += DROPPED
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes if unicodes is not None else set(font.getBestCmap()))
    subsetter.subset(font)
    return font


def to_truetype(font: TTFont) -> TTFont:
    """Cubic CFF outlines as quadratic glyf ones (within one font unit), so that the font can be merged."""
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in font.getGlyphOrder():
        pen = TTGlyphPen(None)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    del font["CFF "]
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = glyphs
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 1 if field == "maxZones" else 0)
    maxp.numGlyphs = len(glyphs)
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"
    font.recalcBBoxes = True
    return font


def unicode_cmaps(font: TTFont) -> TTFont:
    """A full (3,10) format 12 table, which FreeType prefers, and a (3,1) format 4 one without the CJK
    ideographs and Hangul syllables: with them, format 4's 16-bit offsets overflow."""
    mapping = font.getBestCmap()
    cmap = font["cmap"] = newTable("cmap")
    cmap.tableVersion = 0
    full = CmapSubtable.newSubtable(12)
    full.platformID, full.platEncID, full.language, full.cmap = 3, 10, 0, dict(mapping)
    basic = CmapSubtable.newSubtable(4)
    basic.platformID, basic.platEncID, basic.language = 3, 1, 0
    basic.cmap = {code: name for code, name in mapping.items() if code <= 0xFFFF and not _dense_cjk(code)}
    cmap.tables = [basic, full]
    return font


def _dense_cjk(code: int) -> bool:
    return 0x3400 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7A3 or 0xF900 <= code <= 0xFAFF


def listed_under(font: TTFont, scripts: set[str]) -> TTFont:
    """HarfBuzz looks a run's features up under the run's script, and under DFLT only when the font lists no
    such script. The emoji font lists DFLT alone; merged beside fonts that list latn, hani and the rest, its
    ligatures (skin tones, families, flags) would be missing from a prompt's Latin or Chinese line."""
    script_list = font["GSUB"].table.ScriptList
    default = next(record for record in script_list.ScriptRecord if record.ScriptTag == "DFLT")
    for tag in sorted(scripts - {"DFLT"}):
        record = otTables.ScriptRecord()
        record.ScriptTag, record.Script = tag, copy.deepcopy(default.Script)
        script_list.ScriptRecord.append(record)
    script_list.ScriptRecord.sort(key=lambda record: record.ScriptTag)
    script_list.ScriptCount = len(script_list.ScriptRecord)
    return font


def scripts_of(font: TTFont) -> set[str]:
    return {record.ScriptTag for table in ("GSUB", "GPOS") if table in font
            for record in font[table].table.ScriptList.ScriptRecord}


def unified(merged: TTFont, renamed: dict[str, str]) -> TTFont:
    """Point the substitutions at the glyphs the cmap kept. Where two sources map a character (the digits,
    # and * that start keycap sequences), the merge keeps the first source's glyph for the cmap and renames
    the later one, whose ligatures then never match; ``renamed`` maps each such glyph to the kept one."""
    if not renamed:
        return merged
    text = io.StringIO()
    merged.saveXML(text, tables=["GSUB"])
    pattern = re.compile(r'(?<=[",])(' + "|".join(map(re.escape, renamed)) + r')(?=[",])')
    rewritten = pattern.sub(lambda match: renamed[match.group(1)], text.getvalue())
    del merged["GSUB"]
    merged.importXML(io.StringIO(rewritten))
    return merged


def named(font: TTFont, family: str, notice: str) -> TTFont:
    """A family name of its own (a modified version must not pass for the original), the notices kept."""
    table = font["name"]
    version = f"Version 1.000; built from {notice}"
    for name_id, text in ((1, family), (2, "Regular"), (3, f"{family.replace(' ', '')}-Regular"), (4, family),
                          (5, version), (6, f"{family.replace(' ', '')}-Regular"), (16, family), (17, "Regular")):
        table.setName(text, name_id, 3, 1, 0x409)
    table.names = [record for record in table.names if record.platformID == 3]
    return font


def load(sources: Path) -> dict[str, TTFont]:
    fonts = {}
    for role, relative in SOURCES.items():
        path = sources / relative
        if role == "cjk":
            collection = TTCollection(path, lazy=False)
            fonts[role] = next(f for f in collection.fonts if f["name"].getDebugName(4) == CJK_FACE)
        else:
            fonts[role] = TTFont(path, lazy=False)
    return fonts


#: The merge's order: where sources share a character, the first one's glyph is kept (emoji before symbols).
ORDER = ("latin", "arabic", "hebrew", "cjk", "emoji", "symbols", "symbols2")


def prepared(fonts: dict[str, TTFont]) -> dict[str, TTFont]:
    """Each source subset, in TrueType outlines at one size of em, ready to merge."""
    latin_chars = set(fonts["latin"].getBestCmap())
    parts = {}
    for role in ORDER:
        font = fonts[role]
        if role == "cjk":
            parts[role] = unicode_cmaps(to_truetype(subsetted(font, cjk_characters() - latin_chars - EMOJI_CONTROLS)))
        elif role == "emoji":
            parts[role] = subsetted(font)
        else:
            parts[role] = subsetted(font, set(font.getBestCmap()) - EMOJI_CONTROLS)
    listed_under(parts["emoji"], set().union(*(scripts_of(font) for font in parts.values())))
    for font in parts.values():
        if font["head"].unitsPerEm != UNITS_PER_EM:
            scale_upem(font, UNITS_PER_EM)
    return parts


def merged(parts: dict[str, TTFont]) -> TTFont:
    with tempfile.TemporaryDirectory() as work:
        paths = []
        for role, font in parts.items():
            paths.append(str(Path(work) / f"{role}.ttf"))
            font.save(paths[-1], reorderTables=False)
        font = Merger().merge(paths)
    # The merged glyph order is the sources' one after another, so a source's glyph is found by its index.
    offset = sum(len(parts[role].getGlyphOrder()) for role in ORDER[:ORDER.index("emoji")])
    order, kept = font.getGlyphOrder(), font.getBestCmap()
    emoji_order = parts["emoji"].getGlyphOrder()
    renamed = {}
    for code, name in parts["emoji"].getBestCmap().items():
        own = order[offset + emoji_order.index(name)]
        if kept[code] != own:
            renamed[own] = kept[code]
    unified(font, renamed)
    font["head"].created = font["head"].modified = max(part["head"].created for part in parts.values())
    font.recalcTimestamp = False
    return unicode_cmaps(font)


def latin(merged: Path, out: Path) -> None:
    """The merged font's Latin, Greek and Cyrillic, with their layout features, under a name of its own."""
    font = subsetted(TTFont(merged), {code for first, last in LATIN_RANGES for code in range(first, last + 1)})
    font.recalcTimestamp = False
    named(font, LATIN_FAMILY, "Videomock Sans (Latin, Greek and Cyrillic)").save(out, reorderTables=True)


def build(sources: Path, out: Path) -> None:
    fonts = load(sources)
    out.mkdir(parents=True, exist_ok=True)
    notices = ("Noto Sans, Noto Sans Arabic, Noto Sans Hebrew, Noto Sans CJK SC (subset), Noto Emoji, "
               "Noto Sans Symbols, Noto Sans Symbols 2")
    named(merged(prepared(fonts)), FAMILY, notices).save(out / FULL_FONT.name, reorderTables=True)
    latin(out / FULL_FONT.name, out / LATIN_FONT.name)
    mono = subsetted(fonts["mono"], set(range(0x20, 0x7F)))
    mono["head"].modified = mono["head"].created
    mono.recalcTimestamp = False
    named(mono, MONO_FAMILY, "Noto Sans Mono (ASCII)").save(out / "VideomockMono-Regular.ttf", reorderTables=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", type=Path, nargs="?", help="the folder the Debian and npm packages were unpacked into")
    parser.add_argument("--out", type=Path, default=ASSETS)
    parser.add_argument("--latin-only", action="store_true", help="remake only the Latin font, from the merged one")
    arguments = parser.parse_args()
    if arguments.latin_only:
        latin(arguments.out / FULL_FONT.name, arguments.out / LATIN_FONT.name)
    elif arguments.sources is None:
        parser.error("give the sources folder, or --latin-only")
    else:
        build(arguments.sources, arguments.out)


if __name__ == "__main__":
    main()
