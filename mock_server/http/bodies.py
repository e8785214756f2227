"""Strict JSON request bodies.

Python's json module quietly accepts things a strict provider rejects (NaN, duplicate keys, any content
type, numbers too large for a double, which it reads as infinity) and fails badly on others (deep nesting
raises RecursionError). Each case here becomes a 400 that says what was wrong.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from flask import Request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser

from videomock.contracts.validation import first_non_finite, json_pointer, param_name
from videomock.core.errors import APIError, provider_error

MAX_DEPTH = 32
#: Integers with more digits than the largest double are refused before conversion: they are beyond what
#: every JSON reader holds (most read them as doubles), and Python's int() refuses more than 4300 digits
#: (CVE-2020-10735), which surfaced as a 500.
_DOUBLE_DIGITS = len(str(int(sys.float_info.max)))
#: Charsets a body may declare, by their codec's name. JSON is UTF-8 (RFC 8259); ASCII is a subset of it, and
#: Latin-1 is what old clients label text with. Python knows codecs that are no text encoding at all
#: (punycode, idna, undefined, rot13, zlib): declared as a charset they raised, or decoded nonsense.
_CHARSETS = {"utf-8": "utf-8", "ascii": "us-ascii", "iso8859-1": "iso-8859-1"}


class _Rejected(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Rejected(f"duplicate key {key!r} in the JSON body")
        result[key] = value
    return result


def _integer(text: str) -> int | float:
    """The integer, or infinity for one no double can hold (then refused, naming its place, with the floats
    Python's json reads as infinity)."""
    if len(text.lstrip("-")) <= _DOUBLE_DIGITS:
        value = int(text)
        if abs(value) <= sys.float_info.max:
            return value
    return -math.inf if text.startswith("-") else math.inf


def _no_constants(name: str) -> Any:
    raise _Rejected(f"{name} is not valid JSON; send numbers only")


def _shape(value: Any, limit: int) -> tuple[int, bool]:
    """Nesting depth (giving up as soon as it passes ``limit``), and whether a number in it is not finite."""
    stack = [(value, 1)]
    deepest = 0
    non_finite = False
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, float) and not math.isfinite(item):
            non_finite = True
    return deepest, non_finite


def _bad(message: str, code: str = "invalid_json", param: str | None = None) -> APIError:
    return provider_error(code, message, param=param)


def _charset(request: Request) -> str:
    """The codec of the declared charset (UTF-8 when none is), or a 400 naming what is accepted."""
    declared = request.mimetype_params.get("charset", "utf-8")
    try:
        name = codecs.lookup(declared).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        name = None
    if name not in _CHARSETS:
        shown = declared if len(declared) <= 40 else declared[:37] + "..."
        raise _bad(f"charset {shown!r} is not supported for JSON bodies; send UTF-8 (charset=utf-8; "
                   f"{' and '.join(list(_CHARSETS.values())[1:])} are accepted too).", "unsupported_charset",
                   "Content-Type")
    return name


def read_body(request: Request) -> bytes:
    """The whole body, or a 413 when it is over the size limit, or a 400 when it cannot be read.

    A body sent chunked (without Content-Length) is read up to the limit; werkzeug then stops and returns
    what it read as if that were all, so the server's own stream is asked for one byte more: if there is one,
    the body is over the limit. A chunked body the server cannot decode (a chunk size that is not hexadecimal,
    a missing terminator) fails the read with an OSError, which werkzeug reports as a client disconnect with
    a message about browsers; here it is a 400 that names the problem. The connection then closes: where the
    next request would start is unknown."""
    try:
        raw = request.get_data(cache=True)
        limit = request.max_content_length
        if request.content_length is None and limit is not None and len(raw) >= limit \
                and request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    except (ClientDisconnected, OSError) as exc:
        cause = exc.__context__ if isinstance(exc, ClientDisconnected) else exc
        raise provider_error("malformed_body", f"The request body could not be read ({cause or 'it ended early'}). "
                             "Send it whole, with Content-Length or as chunks with hexadecimal chunk sizes.",
                             headers={"Connection": "close"}) from None
    return raw


def parse_json_body(request: Request) -> Any:
    """The request's JSON value, or an APIError (400, or 413 for oversized bodies)."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        shown = request.content_type or "none"
        raise _bad(f"Content-Type must be application/json, not {shown}.", "unsupported_content_type")
    charset = _charset(request)
    return strict_json(read_body(request), charset)


def strict_json(raw: bytes, charset: str = "utf-8") -> Any:
    """The JSON value of a whole body in ``charset`` (a codec name :func:`parse_json_body` accepts), or an
    APIError saying what is wrong with it; for a server that has the body without a Flask request."""
    if not raw.strip():
        raise _bad("The request body is empty; expected a JSON object.")
    try:
        text = raw.decode(charset)
    except UnicodeDecodeError:
        raise _bad(f"The request body is not valid {_CHARSETS[charset]} text.") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_int=_integer)
    except _Rejected as exc:
        raise _bad(f"The request body was rejected: {exc}.") from None
    except RecursionError:
        raise _bad(f"The JSON body is nested too deeply (at most {MAX_DEPTH} levels).") from None
    except json.JSONDecodeError as exc:
        raise _bad(f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    depth, non_finite = _shape(value, MAX_DEPTH)
    if depth > MAX_DEPTH:
        raise _bad(f"The JSON body is nested too deeply (at most {MAX_DEPTH} levels).")
    where = first_non_finite(value) if non_finite else None
    if where is not None:
        param = param_name(json_pointer(where))
        raise _bad(f"The request body was rejected: the number at {param or 'the top level'} is beyond what a "
                   f"double holds; numbers must be finite, at most {sys.float_info.max:.4g} in magnitude.",
                   param=param)
    return value


#: The media types a form body may come in (what the openai SDK sends, and what HTML forms send).
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_NESTED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\[([A-Za-z_][A-Za-z0-9_]*)\]")


def parse_form_body(request: Request, *, files: Sequence[str] = ()) -> dict[str, Any]:
    """A form body as the JSON object it stands for: each field once (a repeated field is a 400 naming it),
    ``name[key]`` fields as a nested object (how the openai SDK sends an object inside a form), and each
    uploaded file, allowed only as one of ``files``, as an :class:`UploadedFile`."""
    read_body(request)   # the size limit and a broken body, answered as for JSON
    try:
        form, uploads = request.form, request.files
    except (ValueError, OSError):
        raise _bad("The form body could not be parsed as multipart/form-data.", "malformed_body") from None
    body: dict[str, Any] = {}
    for name in [*form.keys(), *uploads.keys()]:
        texts, parts = form.getlist(name), uploads.getlist(name)
        if len(texts) + len(parts) > 1:
            raise _bad(f"The form field {name!r} is given {len(texts) + len(parts)} times; give it once.",
                       "invalid_value", name)
        value: Any
        if parts:
            if name not in files:
                raise _bad(f"The form field {name!r} cannot be a file; only {', '.join(files) or 'no field'} can.",
                           "invalid_type", name)
            value = UploadedFile(parts[0].filename or "", parts[0].mimetype, parts[0].read())
        else:
            value = texts[0]
        nested = _NESTED.fullmatch(name)
        if nested is not None:
            outer, inner = nested.groups()
            if not isinstance(body.setdefault(outer, {}), dict):
                raise _bad(f"The form field {outer!r} is given both as a value and as {name!r}.", "invalid_value", outer)
            body[outer][inner] = value
        elif name in body:
            raise _bad(f"The form field {name!r} is given both as a value and with [...] keys.", "invalid_value", name)
        else:
            body[name] = value
    return body


class _WholeFormParser(FormDataParser):
    """werkzeug's form parser, given the body in one piece. Given 64 KiB at a time (its default), werkzeug 3.1
    leaves a stray CR on a part when a piece ends inside a boundary (pallets/werkzeug#3065, #3118, #3285): a
    size of "720x1280\r", refused. The body is in memory by then anyway (read_body), within the body limit."""

    def _parse_multipart(self, stream: IO[bytes], mimetype: str, content_length: int | None,
                         options: dict[str, str]) -> tuple[IO[bytes], MultiDict[str, str], MultiDict[str, FileStorage]]:
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        parser = MultiPartParser(stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls,
                                 buffer_size=max(self.max_content_length or 0, 64 * 1024))
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class FormRequest(Request):
    """Flask's request, whose forms are parsed whole (see _WholeFormParser)."""

    form_data_parser_class = _WholeFormParser


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a form body."""

    filename: str
    media_type: str
    data: bytes

    def journaled(self) -> str:
        """How the journal shows it: a note, never the bytes."""
        return f"<file {self.filename or '(no name)'}: {self.media_type or 'no type'}, {len(self.data)} bytes>"
