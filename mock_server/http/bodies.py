"""Strict JSON request bodies.

Python's json module quietly accepts things a strict provider rejects (NaN, duplicate keys, any content
type, numbers too large for a double, which it reads as infinity) and fails badly on others (deep nesting
raises RecursionError). Each case here becomes a 400 that says what was wrong.
"""

from __future__ import annotations

import codecs
import json
import math
import sys
from typing import Any

from flask import Request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

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
    raw = read_body(request)
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
