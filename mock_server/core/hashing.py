"""One content hash for JSON-like values, so that equal content always gets the same name.

Used wherever a name must follow content and nothing else: idempotent request bodies, fault rules' match
counters, the video cache's keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(value: Any) -> str:
    """SHA-256 (hex) of ``value`` as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
