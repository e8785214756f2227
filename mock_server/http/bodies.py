"""Strict JSON request bodies.

Python's json module quietly accepts things a strict provider rejects (NaN, duplicate keys, any content
type) and fails badly on others (deep nesting raises RecursionError). Each case here becomes a 400 that
says what was wrong.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request

from videomock.core.errors import APIError

MAX_DEPTH = 32
#: Longer integers are refused before conversion. Python's int() refuses more than 4300 digits by default
#: (CVE-2020-10735), which surfaced as a 500; 640 is the least that limit can be set to, so this check
#: fires first whatever the interpreter's setting, and no field needs anywhere near that many digits.
MAX_INTEGER_DIGITS = 640


class _Rejected(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Rejected(f"duplicate key {key!r} in the JSON body")
        result[key] = value
    return result


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise _Rejected(f"a number has {digits} digits; at most {MAX_INTEGER_DIGITS} are accepted")
    return int(text)


def _no_constants(name: str) -> Any:
    raise _Rejected(f"{name} is not valid JSON; send numbers only")


def _depth(value: Any, limit: int) -> int:
    """Nesting depth, giving up as soon as it passes ``limit``."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _bad(message: str, code: str = "invalid_json") -> APIError:
    return APIError(400, message, code=code)


def parse_json_body(request: Request) -> Any:
    """The request's JSON value, or an APIError (400, or 413 via werkzeug for oversized bodies)."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        shown = request.content_type or "none"
        raise _bad(f"Content-Type must be application/json, not {shown}.", "unsupported_content_type")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise _bad("The request body is empty; expected a JSON object.")
    try:
        text = raw.decode(request.mimetype_params.get("charset", "utf-8"))
    except (UnicodeDecodeError, LookupError):
        raise _bad("The request body is not valid UTF-8 text.") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_int=_integer)
    except _Rejected as exc:
        raise _bad(f"The request body was rejected: {exc}.") from None
    except RecursionError:
        raise _bad(f"The JSON body is nested too deeply (at most {MAX_DEPTH} levels).") from None
    except json.JSONDecodeError as exc:
        raise _bad(f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    if _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise _bad(f"The JSON body is nested too deeply (at most {MAX_DEPTH} levels).")
    return value
