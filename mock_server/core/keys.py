"""API keys as the domain knows them: by fingerprint only.

Tasks belong to the key that created them and are looked up by its fingerprint, so a key itself is never
stored, journaled or shown.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache


@lru_cache(maxsize=4096)
def fingerprint(key: str) -> str:
    """A short, stable, non-reversible name for an API key (cached: a test suite uses a handful of keys)."""
    return "key_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def owner_of(key_or_fingerprint: str) -> str:
    """Filters and fault rules accept an API key or its fingerprint; the domain only holds fingerprints."""
    return key_or_fingerprint if key_or_fingerprint.startswith("key_") else fingerprint(key_or_fingerprint)
