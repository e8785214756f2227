"""Signed, expiring video links: the `url` a fault makes expire, and the "CDN" link a redirect points to.

A link carries its expiry (virtual unix seconds) and an HMAC over the task id and expiry, keyed from the
seed, so any worker can check it without shared state.
"""

from __future__ import annotations

import hashlib
import hmac

from videomock.core import rng


def _key(seed: int) -> bytes:
    return rng.token(seed, "link-signing-key", length=40).encode()


def sign(seed: int, task_id: str, expires: int) -> str:
    return hmac.new(_key(seed), f"{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def is_valid(seed: int, task_id: str, expires: int, signature: str) -> bool:
    return hmac.compare_digest(sign(seed, task_id, expires), signature)


def signed_query(seed: int, task_id: str, now: float, ttl: float) -> str:
    """The query string of a link to ``task_id`` that stops working ``ttl`` virtual seconds after ``now``."""
    expires = int(now + ttl)
    return f"expires={expires}&signature={sign(seed, task_id, expires)}"
