"""Journal entries: what each request asked and got, for tests to assert on.

Entries hold the key's fingerprint, never the key, and inline images are shortened to a note of their size.
Recording runs on every request, so an entry is built from the request's Exchange (the body and answer the
view already parsed and built) rather than by parsing anything again.
"""

from __future__ import annotations

import time
from typing import Any

from videomock.core.exchange import Exchange

#: Longest request or response text kept in an entry when the body was not JSON.
BODY_TEXT_LIMIT = 4096


def elide_images(body: Any) -> Any:
    """The body with a long inline ``image`` replaced by a note of its length."""
    if isinstance(body, dict) and isinstance(body.get("image"), str) and len(body["image"]) > 256:
        return {**body, "image": f"<image: {len(body['image'])} characters>"}
    return body


def journal_entry(*, method: str, path: str, query: str, status: int, exchange: Exchange, request_body: Any,
                  response_body: Any, virtual_time: float) -> dict[str, Any]:
    return {
        "time": time.time(),
        "virtual_time": virtual_time,
        "method": method,
        "path": path,
        "query": query,
        "status": status,
        "key": exchange.owner,
        "task_id": exchange.task_id,
        "request_body": request_body,
        "response_body": response_body,
        "fault": exchange.fault_journal(),
        "duration_ms": round((time.perf_counter() - exchange.started) * 1000, 3),
    }
