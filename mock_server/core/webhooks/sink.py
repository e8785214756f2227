"""A receiver on the fake itself (``/__admin/webhook-sink/{name}``): it keeps what it is sent, so a smoke test
can point an endpoint or a callback at the fake and read back exactly what a receiver would have got."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from videomock.store import Store

#: Deliveries a sink keeps, the newest (older ones are dropped first).
SINK_MAX = 1000
#: Headers a sink never keeps: credentials a client may have sent along.
_NOT_KEPT = frozenset({"authorization", "x-videomock-admin-token", "cookie", "x-goog-api-key"})


def _state(name: str) -> str:
    return f"webhook_sink:{name}"


def keep(store: Store, name: str, headers: Mapping[str, str], body: bytes, *, at: float, wall: float) -> int:
    """Record one delivery; returns how many the sink holds. Several workers may record at once."""
    text = body.decode("utf-8", errors="replace")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    entry = {"headers": {k.lower(): v for k, v in headers.items() if k.lower() not in _NOT_KEPT},
             "body": text, "json": parsed, "at": at, "wall": wall}
    while True:
        current = store.get_state(_state(name))
        kept = [*(current or [])[-(SINK_MAX - 1):], entry]
        if store.compare_and_set_state(_state(name), current, kept):
            return len(kept)


def received(store: Store, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = store.get_state(_state(name)) or []
    return found


def clear(store: Store, name: str) -> None:
    store.set_state(_state(name), None)
