"""The error contract's table: which error ``type`` goes with which HTTP status.

The fake renders errors with it and the client picks its exception classes by it, so the two cannot
disagree about what a status means. The table itself is data, in the error schema's ``x-status-types``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from videomock.contracts.schemas import load_schema


@cache
def status_types() -> Mapping[str, str]:
    """HTTP status (as a string) -> error type, as the contract documents it."""
    table: Mapping[str, str] = load_schema("error")["x-status-types"]
    return table


def error_type(status: int) -> str | None:
    """The error type the contract pairs with ``status``: the table's entry, ``server_error`` for any
    other 5xx, and None for a 4xx the table does not list."""
    found = status_types().get(str(status))
    if found is not None:
        return found
    return "server_error" if status >= 500 else None
