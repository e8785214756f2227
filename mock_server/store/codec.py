"""The text the stores keep values as.

Every served request writes a journal entry, and encoding it with the json module was a fifth of a served
poll's cost (bench/README.md); orjson encodes the same entry about ten times faster. What orjson refuses (an
integer beyond 64 bits or a lone surrogate in a journaled request body, a key that is not a string) is
encoded by the json module instead. Reading stays with the json module, which reads both exactly (orjson
would read a huge integer as a float), and is off the hot path: a poll reads a task its store has cached.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

#: Stored text is read back with the json module.
loads = json.loads


def dumps(value: Any) -> str:
    """``value`` as compact JSON text; a NaN or an infinity (which nothing validated holds) becomes null."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, separators=(",", ":"))
