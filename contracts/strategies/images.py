"""Hypothesis strategies for the request's ``image`` field: values the contract accepts, and values it refuses.

Derived from the rules in :mod:`videomock.contracts.images` (formats, minimum side, aspect ratio, size limit, URL
schemes). Valid images are small by default (300..400 px a side): every example is encoded here, and a server
that accepts it renders a video from it.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import re
from collections.abc import Sequence

from hypothesis import strategies as st
from PIL import Image

from videomock.contracts.images import CONTRACT_IMAGES, FORMATS, MAX_ASPECT, MAX_BYTES, MIN_SIDE, ImageRules

#: Media types a data URI may declare for each format (the fake accepts image/jpg as well as image/jpeg).
MEDIA_TYPES = {"PNG": ("image/png",), "JPEG": ("image/jpeg", "image/jpg"), "WEBP": ("image/webp",)}
#: Formats Pillow can write that the contract refuses.
UNSUPPORTED_FORMATS = ("GIF", "BMP", "TIFF")

_HOST_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True)
_PATH_SEGMENT = st.from_regex(r"[A-Za-z0-9._~-]{1,16}", fullmatch=True)


def image_files(*, formats: Sequence[str] = FORMATS, min_side: int = MIN_SIDE, max_side: int = 400) -> st.SearchStrategy[bytes]:
    """Encoded PNG/JPEG/WebP files the contract accepts: each side within ``min_side..max_side`` and an aspect
    ratio within the allowed 1:2.5..2.5:1."""
    return _encoded(formats, min_side, max_side).map(lambda encoded: encoded[1])


def image_data_uris(*, formats: Sequence[str] = FORMATS, min_side: int = MIN_SIDE, max_side: int = 400) -> st.SearchStrategy[str]:
    """Accepted images as ``data:image/...;base64,...`` URIs."""
    return _encoded(formats, min_side, max_side).flatmap(
        lambda encoded: st.sampled_from(MEDIA_TYPES[encoded[0]]).map(lambda media: _data_uri(media, encoded[1])))


def image_urls() -> st.SearchStrategy[str]:
    """http(s) URLs with a host: accepted as they are (the fake does not fetch them unless configured to)."""
    host = st.lists(_HOST_LABEL, min_size=1, max_size=3).map(".".join)
    port = st.none() | st.integers(1, 65535)
    path = st.lists(_PATH_SEGMENT, max_size=3).map(lambda segments: "".join("/" + s for s in segments))
    return st.builds(lambda scheme, h, p, rest: f"{scheme}://{h}.example{'' if p is None else f':{p}'}{rest}",
                     st.sampled_from(["http", "https", "HTTPS"]), host, port, path)


@functools.cache
def image_references(rules: ImageRules = CONTRACT_IMAGES) -> st.SearchStrategy[str]:
    """Every kind of value an image field following ``rules`` accepts: URLs, raw base64 (standard and URL-safe)
    of the rules' formats, and data URIs where the rules take them (Kling's images are raw base64 JPEG or PNG)."""
    formats = [fmt for fmt in FORMATS if fmt in rules.formats]
    raw = image_files(formats=formats).flatmap(lambda data: st.sampled_from([
        base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode().rstrip("=")]))
    return st.one_of([image_urls(), *([image_data_uris(formats=formats)] if rules.data_uris else []), raw])


@functools.cache
def bad_image_references(rules: ImageRules = CONTRACT_IMAGES) -> st.SearchStrategy[str]:
    """Strings an image field following ``rules`` refuses, one for each of the image rules: for rules stricter
    than the contract's (Kling's), also the images only the contract takes (a data URI, a WebP)."""
    refused = [fmt for fmt in FORMATS if fmt not in rules.formats]
    stricter = ([image_data_uris()] if not rules.data_uris else []) + (
        [image_files(formats=refused).map(lambda data: base64.b64encode(data).decode())] if refused else [])
    return st.one_of([_bad_image_references(), *stricter])


@functools.cache
def _bad_image_references() -> st.SearchStrategy[str]:
    too_small = st.builds(_encode, st.sampled_from(FORMATS), st.integers(16, MIN_SIDE - 1), st.integers(MIN_SIDE, 400), _COLOURS)
    too_narrow = st.integers(MIN_SIDE, 400).flatmap(
        lambda side: st.builds(_encode, st.just("PNG"), st.just(side), st.integers(math.floor(side * MAX_ASPECT) + 1, 1200), _COLOURS))
    unsupported = st.builds(_encode, st.sampled_from(UNSUPPORTED_FORMATS), st.integers(MIN_SIDE, 400), st.integers(MIN_SIDE, 400), _COLOURS)
    truncated = _encoded(FORMATS, MIN_SIDE, 400).map(lambda encoded: encoded[1][: len(encoded[1]) // 2])
    not_an_image = st.binary(min_size=1, max_size=64)
    undecodable = st.one_of(too_small, too_narrow, unsupported, truncated, not_an_image).flatmap(
        lambda data: st.sampled_from([_data_uri("image/png", data), base64.b64encode(data).decode()]))
    return st.one_of(
        undecodable,
        image_files().map(lambda data: _data_uri("image/gif", data)),
        image_files().map(lambda data: "data:text/plain;base64," + base64.b64encode(data).decode()),
        st.text(min_size=1, max_size=20).map(lambda text: "data:image/png," + text),
        st.text(min_size=1, max_size=40).filter(lambda text: not _LOOKS_LIKE_URL.match(text)),
        st.sampled_from(["ftp", "file", "gopher", "ws"]).map(lambda scheme: f"{scheme}://example.com/cat.png"),
        st.sampled_from(["http:///cat.png", "https://", "http://[::1/cat.png", "https://[not-an-ip]/cat.png"]),
        st.just("A" * (MAX_BYTES * 4 // 3 + 8)),
    )


_LOOKS_LIKE_URL = re.compile(r"\s*[a-zA-Z][a-zA-Z0-9+.-]*://")
_COLOURS = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))


def _encoded(formats: Sequence[str], min_side: int, max_side: int) -> st.SearchStrategy[tuple[str, bytes]]:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be among {', '.join(FORMATS)}; got {list(formats)}")
    if not MIN_SIDE <= min_side <= max_side:
        raise ValueError(f"sides must satisfy {MIN_SIDE} <= min_side <= max_side; got {min_side}..{max_side}")

    return _encoded_images(tuple(formats), min_side, max_side)


@st.composite
def _encoded_images(draw: st.DrawFn, formats: Sequence[str], min_side: int, max_side: int) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(formats))
    width = draw(st.integers(min_side, max_side))
    height = draw(st.integers(max(min_side, math.ceil(width / MAX_ASPECT)), min(max_side, math.floor(width * MAX_ASPECT))))
    return fmt, _encode(fmt, width, height, draw(_COLOURS))


def _encode(fmt: str, width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, fmt)
    return out.getvalue()


def _data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"
