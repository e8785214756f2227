"""Journal entries: what each request asked and got, for tests to assert on.

Entries hold the key's fingerprint, never the key, and inline images are shortened to a note of their size.
Recording runs on every request, so an entry is built from the request's Exchange (the body and answer the
view already parsed and built) rather than by parsing anything again.
"""

from __future__ import annotations

import json
import time
from typing import Any

from videomock.core.exchange import Exchange

#: Longest request or response text kept in an entry when the body was not JSON.
BODY_TEXT_LIMIT = 4096

#: What a shortened string ends with: the marker says how much was left out.
TRUNCATED = "...<truncated: {left} more characters>"


def elide_images(body: Any) -> Any:
    """The body with a long inline ``image`` replaced by a note of its length."""
    if isinstance(body, dict) and isinstance(body.get("image"), str) and len(body["image"]) > 256:
        return {**body, "image": f"<image: {len(body['image'])} characters>"}
    return body


def capped(body: Any, limit: int) -> Any:
    """``body`` as the journal keeps it: at most about ``limit`` characters of JSON. A body over the limit
    keeps its shape, with each long string cut short and marked; one that is still too large (thousands of
    fields) becomes a note of its size. A rejected 15 MB prompt is thus kept as its first characters."""
    if body is None or isinstance(body, (bool, int, float)):
        return body
    size = len(json.dumps(body, ensure_ascii=False))
    if size <= limit:
        return body
    shortened = _shorten_strings(body, max(64, limit // 8))
    if len(json.dumps(shortened, ensure_ascii=False)) <= limit:
        return shortened
    return f"<body of {size} characters, over the journal's {limit}-character limit per body>"


def _shorten_strings(value: Any, longest: int) -> Any:
    if isinstance(value, str) and len(value) > longest:
        return value[:longest] + TRUNCATED.format(left=len(value) - longest)
    if isinstance(value, dict):
        return {key: _shorten_strings(item, longest) for key, item in value.items()}
    if isinstance(value, list):
        return [_shorten_strings(item, longest) for item in value]
    return value


def journal_entry(*, method: str, path: str, query: str, status: int, exchange: Exchange, request_body: Any,
                  response_body: Any, virtual_time: float) -> dict[str, Any]:
    return {
        "time": time.time(),
        "virtual_time": virtual_time,
        "method": method,
        "path": path,
        "query": query,
        "status": status,
        "endpoint": exchange.endpoint,
        "key": exchange.owner,
        "model": exchange.model,
        "task_id": exchange.task_id,
        "request_body": request_body,
        "response_body": response_body,
        "fault": exchange.fault_journal(),
        "duration_ms": round((time.perf_counter() - exchange.started) * 1000, 3),
    }
