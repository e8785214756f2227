"""Signed, expiring video links: the `url` a fault makes expire, and the "CDN" link a redirect points to.

A link carries its expiry (virtual unix seconds) and an HMAC over the task id and expiry, keyed from the
seed, so any worker can check it without shared state.
"""

from __future__ import annotations

import hashlib
import hmac

from mock_server import rng


def _key(seed: int) -> bytes:
    return rng.token(seed, "link-signing-key", length=40).encode()


def sign(seed: int, task_id: str, expires: int) -> str:
    return hmac.new(_key(seed), f"{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def is_valid(seed: int, task_id: str, expires: int, signature: str) -> bool:
    return hmac.compare_digest(sign(seed, task_id, expires), signature)
