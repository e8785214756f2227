"""Request bodies as the multipart forms the openai SDK sends of them (``videos.create`` always sends a form).

The SDK writes each field as a text part, an object's members as ``name[key]`` parts, ``true``/``false`` for
booleans, ``name[]`` parts for a list's items, and leaves out None; a file it uploads is a part with a file name.
The fake reads a file part of ``input_reference`` as the data URI of its bytes
(:func:`videomock.contracts.images.data_uri`), so an image given as such a data URI may travel either way, and
:func:`multipart_forms` draws both. A form carries text only: :func:`carried_by_forms` says whether the form of
a body stands for that very body (every value text, or an object of texts), which is what a test needs to
compare the fake's verdict on the form with the contract's on the body.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from videomock.contracts.images import data_uri

#: One part, as requests' ``files`` takes it: (field name, (file name or None for a text part, content, media type)).
FormPart = tuple[str, tuple[str | None, str | bytes, str | None]]

#: The fields the openai SDK uploads as files.
FILE_FIELDS = ("input_reference",)
#: Names the SDK gives an upload: its own default, and the kinds of names callers pass.
FILE_NAMES = ("upload", "image.png", "frame.jpg", "still.webp", "input")
#: A form field's name (and an object member's) that reads back as itself.
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BASE64_DATA_URI = re.compile(r"data:[^;,]*;base64,([A-Za-z0-9+/]*={0,2})", re.DOTALL)


def multipart_forms(body: Mapping[str, Any], *, files: Sequence[str] = FILE_FIELDS) -> st.SearchStrategy[list[FormPart]]:
    """The parts of the form the openai SDK sends for ``body``: each of ``files`` that holds an image's data URI
    is drawn as the file the SDK uploads (under a drawn name) or as the text itself."""
    return st.tuples(*[_parts(name, value, files) for name, value in body.items()]).map(
        lambda groups: [part for group in groups for part in group])


def carried_by_forms(body: Mapping[str, Any]) -> bool:
    """Whether a form stands for ``body`` itself: every value is text, or an object (of field names) of texts, and
    every name reads back as itself. Anything else a form changes: a number becomes text, None is left out."""
    return all(FIELD_NAME.fullmatch(name) and (isinstance(value, str) or _texts(value)) for name, value in body.items())


def _texts(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        FIELD_NAME.fullmatch(key) and isinstance(text, str) for key, text in value.items())


def _parts(name: str, value: Any, files: Sequence[str]) -> st.SearchStrategy[list[FormPart]]:
    text = st.just(_text_parts(name, value))
    if name not in files or not isinstance(value, str):
        return text
    match = _BASE64_DATA_URI.fullmatch(value)
    try:
        data = base64.b64decode(match[1], validate=True) if match else None
    except binascii.Error:
        data = None
    if data is None:
        return text
    return text | _uploads(name, value, data)


def _uploads(name: str, value: str, data: bytes) -> st.SearchStrategy[list[FormPart]]:
    """``data`` uploaded under each name the fake reads back as ``value`` (a name matters only for bytes of no
    image type: the fake types those by it)."""
    names = [file_name for file_name in FILE_NAMES if data_uri(data, file_name) == value]
    parts: list[list[FormPart]] = [[(name, (file_name, data, media_type))] for file_name in names
                                   for media_type in (None, "application/octet-stream")]
    return st.sampled_from(parts) if parts else st.nothing()


def _text_parts(name: str, value: Any) -> list[FormPart]:
    """What the SDK's query-string flattening (``_qs.stringify_items``, arrays as brackets) makes of a value."""
    if isinstance(value, Mapping):
        return [part for key, item in value.items() for part in _text_parts(f"{name}[{key}]", item)]
    if isinstance(value, (list, tuple)):
        return [part for item in value for part in _text_parts(f"{name}[]", item)]
    if value is None:
        return []
    return [(name, (None, ("true" if value else "false") if isinstance(value, bool) else str(value), None))]
