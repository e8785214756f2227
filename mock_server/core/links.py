"""Signed, expiring video links: the `url` a fault makes expire, and the "CDN" link a redirect points to.

A link carries its expiry (virtual unix seconds) and an HMAC over the task id and expiry. The key is a random
secret made once per store and kept in it (never in the config, never returned by any route), so every worker
checks links alike and nobody can forge one from what the fake makes public (its seed, its ids).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from videomock.core.errors import provider_error
from videomock.store import Store

#: The named state that holds the secret; a reset keeps it (links handed out before stay checkable).
SECRET_STATE = "link_secret"


def signing_key(store: Store) -> bytes:
    """The store's link-signing key, made on first use (atomically: concurrent workers agree on one)."""
    secret = store.get_state(SECRET_STATE)
    if secret is None:
        store.compare_and_set_state(SECRET_STATE, None, secrets.token_hex(32))
        secret = store.get_state(SECRET_STATE)
    return bytes.fromhex(secret)


def sign(key: bytes, task_id: str, expires: int) -> str:
    return hmac.new(key, f"{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def is_valid(key: bytes, task_id: str, expires: int, signature: str) -> bool:
    return hmac.compare_digest(sign(key, task_id, expires), signature)


def check(key: bytes, subject: str, expires: str, signature: str, now: float, *, name: str = "link",
          renew: str = "poll the task again for a fresh url") -> None:
    """403 unless ``expires``/``signature`` sign a link to ``subject`` that has not expired at ``now`` (in the
    clock the link was made by); ``name`` and ``renew`` say in the error which link it is and how to get another."""
    if not (expires.isascii() and expires.isdecimal() and len(expires) <= 12):
        raise provider_error("invalid_signature", f"This {name} is not valid: it has no expiry.")
    if not is_valid(key, subject, int(expires), signature):
        raise provider_error("invalid_signature", f"This {name} is not valid: its signature does not match.")
    if now > int(expires):
        raise provider_error("url_expired", f"This {name} has expired; {renew}.")


def signed_query(key: bytes, task_id: str, now: float, ttl: float) -> str:
    """The query string of a link to ``task_id`` that stops working ``ttl`` virtual seconds after ``now``."""
    expires = int(now + ttl)
    return f"expires={expires}&signature={sign(key, task_id, expires)}"
