"""The ``image`` field of image-to-video requests: what a valid value is, checked the way the real APIs do.

These rules belong to the contract, not to the server: the request schema names them as the
``image-reference`` format, so the client's validation and the fake reject an unusable image with the same
words, and tools reading the OpenAPI document learn that an image is more than a non-empty string. Every
message is user-facing (it becomes a 400 naming ``image``), so each says what is wrong and what is allowed.

Images are fully decoded, not just sniffed, because a truncated upload must be refused at submit time
rather than fail the render later. Pixel counts are checked from the header before any pixel is decoded, so
a small file that claims a huge canvas (a decompression bomb) costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import io
import mimetypes
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: The JSON Schema ``format`` of the request's ``image`` field; its check is :func:`parse_image`.
SCHEMA_FORMAT = "image-reference"
FORMATS = ("PNG", "JPEG", "WEBP")
#: Largest inline image, decoded (the limit Kling documents).
MAX_BYTES = 10 * 1024 * 1024
MIN_SIDE = 300
MAX_ASPECT = 2.5
#: Far above any real input (8K is 33 MP), far below what would exhaust memory once decoded.
MAX_PIXELS = 50_000_000

_FORMAT_NAMES = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}
_DATA_URI = re.compile(r"data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*),(?P<data>.*)", re.DOTALL | re.IGNORECASE)
_URL_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
_DATA_URI_TYPES = ("image/png", "image/jpeg", "image/jpg", "image/webp")
#: Cameras and phones write multi-picture JPEGs, which Pillow calls MPO; they are JPEG files.
_FORMAT_ALIASES = {"MPO": "JPEG"}
#: How a file of each accepted type begins.
_SIGNATURES = {"image/png": re.compile(rb"\x89PNG\r\n\x1a\n"), "image/jpeg": re.compile(rb"\xff\xd8\xff"),
               "image/webp": re.compile(rb"RIFF.{4}WEBP", re.DOTALL)}


class ImageError(ValueError):
    """A user-facing reason the image is refused."""


@dataclass(frozen=True)
class ImageRules:
    """What one API takes as an image, besides an http(s) URL: the formats it decodes, and whether an inline
    image may be a data URI or must be raw base64. Each set of rules is a JSON Schema ``format`` of its own, so
    a dialect's schema says which rules a field follows, and every message names what that API allows (a
    Kling user told "use PNG, JPEG or WebP" would send a WebP and be refused again)."""

    schema_format: str
    formats: tuple[str, ...]
    data_uris: bool

    @property
    def allowed(self) -> str:
        """The formats as a message names them: "PNG, JPEG or WebP"."""
        *others, last = [_FORMAT_NAMES[f] for f in self.formats]
        return f"{', '.join(others)} or {last}" if others else last

    @property
    def inline(self) -> str:
        return "a data URI or raw base64" if self.data_uris else "raw base64 (with no data: prefix)"


#: The contract's rules (the documented and OpenAI dialects): PNG, JPEG or WebP, as a data URI or raw base64.
CONTRACT_IMAGES = ImageRules(SCHEMA_FORMAT, FORMATS, data_uris=True)
#: Kling's: .jpg/.jpeg/.png only, inline as the Base64 string itself ("do not add any prefix such as
#: data:image/png;base64,", Kling's API reference).
RAW_JPEG_PNG = ImageRules("image-reference-raw-jpeg-png", ("JPEG", "PNG"), data_uris=False)
#: Every set of rules, by its schema format.
IMAGE_RULES = {rules.schema_format: rules for rules in (CONTRACT_IMAGES, RAW_JPEG_PNG)}


@dataclass(frozen=True)
class ImageInput:
    data: bytes | None
    url: str | None
    format: str | None
    width: int | None
    height: int | None


def parse_image(value: str, *, max_bytes: int = MAX_BYTES, rules: ImageRules = CONTRACT_IMAGES) -> ImageInput:
    """A ``data:image/...;base64,`` URI (where ``rules`` take one), raw base64 (standard or URL-safe), or an
    http(s) URL, which is returned unfetched. Inline images must fully decode in one of the rules' formats
    (by default PNG, JPEG or WebP), be at most ``max_bytes`` decoded, at most MAX_PIXELS, each side >= 300 px,
    aspect ratio within 1:2.5 .. 2.5:1. Anything else raises ImageError saying what is wrong and what is
    allowed."""
    if not isinstance(value, str) or not value.strip():
        raise ImageError(f"image is empty; give {rules.inline} of a {rules.allowed} image, or an http(s) URL")
    text = value.strip()
    if _URL_SCHEME.match(text):
        return ImageInput(data=None, url=check_url(text), format=None, width=None, height=None)
    if text[:5].lower() == "data:":
        if not rules.data_uris:
            raise ImageError("image is a data URI; send the Base64 string itself, without the data:...;base64, "
                             "prefix, or an http(s) URL")
        return inspect_image_bytes(_decode_data_uri(text, max_bytes), max_bytes, rules)
    return inspect_image_bytes(_decode_base64(text, max_bytes, rules), max_bytes, rules)


def inspect_image_bytes(data: bytes, max_bytes: int, rules: ImageRules = CONTRACT_IMAGES) -> ImageInput:
    """Validate decoded bytes: size, format, dimensions and aspect ratio from the header, then a full decode."""
    if len(data) > max_bytes:
        raise ImageError(too_big(len(data), max_bytes))
    Image = _pillow()
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, width, height = _FORMAT_ALIASES.get(image.format, image.format), image.width, image.height
    except Image.DecompressionBombError:
        raise ImageError(f"image is too large in pixels; at most {MAX_PIXELS // 1_000_000} megapixels allowed") from None
    except (OSError, ValueError, SyntaxError):
        raise ImageError(f"image data is not a {rules.allowed} image") from None
    if kind not in rules.formats:
        raise ImageError(f"image format {kind} is not supported; use {rules.allowed}")
    _check_dimensions(width, height)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(f"image is a damaged or truncated {kind} file ({exc}); send the complete file") from None
    return ImageInput(data=data, url=None, format=kind, width=width, height=height)


def _check_dimensions(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageError(f"image is {width}x{height}; at most {MAX_PIXELS // 1_000_000} megapixels allowed")
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"image is {width}x{height}; each side must be at least {MIN_SIDE} px")
    ratio = max(width, height) / min(width, height)
    if ratio > MAX_ASPECT:
        raise ImageError(f"image is {width}x{height} (aspect ratio {ratio:.2f}:1); the aspect ratio must be "
                         f"between 1:{MAX_ASPECT:g} and {MAX_ASPECT:g}:1")


def data_uri(data: bytes, name: str = "") -> str:
    """Image bytes in the inline form of ``image``: a Base64 data URI, typed by what the bytes are. A file's
    name may have no extension, or the wrong one, and a data URI of the wrong type is refused; ``name`` is
    consulted only for bytes of a type the API does not accept, so that the refusal names that type."""
    media_type = next((kind for kind, signature in _SIGNATURES.items() if signature.match(data)), None)
    media_type = media_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # urllib's own complaint, e.g. "Invalid IPv6 URL" for an unclosed '['
        raise ImageError(f"image URL is malformed ({exc}); use a full http(s) URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ImageError(f"image URL scheme {parts.scheme!r} is not supported; use an http(s) URL, a data URI "
                         "or raw base64")
    if not parts.hostname:
        raise ImageError("image URL has no host; use a full http(s) URL")
    return url


def _decode_data_uri(text: str, max_bytes: int) -> bytes:
    match = _DATA_URI.fullmatch(text)
    if match is None:
        raise ImageError("image data URI is malformed; expected data:image/png;base64,...")
    media_type = match["type"].strip().lower()
    if media_type not in _DATA_URI_TYPES:
        raise ImageError(f"image data URI has type {media_type or '(none)'!r}; use image/png, image/jpeg or "
                         "image/webp")
    if "base64" not in (param.strip().lower() for param in match["params"].split(";")):
        raise ImageError("image data URI must be base64-encoded (data:image/png;base64,...)")
    return _decode_base64(match["data"], max_bytes, CONTRACT_IMAGES)


def _decode_base64(text: str, max_bytes: int, rules: ImageRules) -> bytes:
    """Standard or URL-safe alphabet, padding optional, line breaks ignored; the size is checked from the
    length before decoding so an oversized upload is refused without allocating it twice."""
    compact = re.sub(r"\s+", "", text).translate(str.maketrans("-_", "+/")).rstrip("=")
    estimated = len(compact) * 3 // 4
    if estimated > max_bytes:
        raise ImageError(too_big(estimated, max_bytes))
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(f"image is neither an http(s) URL nor valid base64 ({rules.inline} of a {rules.allowed} "
                         "image)") from None


def too_big(size: int, max_bytes: int, *, at_least: bool = False) -> str:
    shown, most = _amounts(size, max_bytes)
    return f"image is {'at least ' if at_least else ''}{shown}; at most {most} allowed"


def _amounts(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in one unit, with as many digits as tell them apart: 10.01 MB rounded to 10 MB would read as
    the limit itself. Exact byte counts when a few digits of megabytes cannot."""
    if min(size, limit) >= 1_048_576:
        for digits in range(3, 7):
            shown, most = (f"{n / 1_048_576:.{digits}g} MB" for n in (size, limit))
            if shown != most:
                return shown, most
    return f"{size:,} bytes", f"{limit:,} bytes"


def _pillow() -> Any:
    """Pillow's Image module, loaded with the first image to check (most processes never see one)."""
    from PIL import Image

    return Image
