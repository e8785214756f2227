"""API keys and tokens as the domain knows them: by fingerprint only.

Tasks belong to the key that created them and are looked up by its fingerprint, and the configuration keeps
only fingerprints of the keys and the admin token it accepts, so a secret is never stored, journaled or shown.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

_FINGERPRINT = re.compile(r"key_[0-9a-f]{16}")


@lru_cache(maxsize=4096)
def fingerprint(key: str) -> str:
    """A short, stable, non-reversible name for an API key (cached: a test suite uses a handful of keys)."""
    return "key_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def is_fingerprint(text: str) -> bool:
    return _FINGERPRINT.fullmatch(text) is not None


def owner_of(key_or_fingerprint: str) -> str:
    """Settings, filters and fault rules accept an API key or its fingerprint; the domain keeps fingerprints."""
    return key_or_fingerprint if is_fingerprint(key_or_fingerprint) else fingerprint(key_or_fingerprint)
