"""The error contract's tables: which error ``type`` goes with which HTTP status, and which error ``code``
goes with which status, on which routes.

The fake renders errors with them and the client picks its exception classes by them, so the two cannot
disagree about what a status means; the server takes every code's status from here and the OpenAPI
document derives its error responses from here, so neither can disagree with the table. Both tables are
data: the status -> type table is the error schema's ``x-status-types``, the code table is ``errors.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from videomock.contracts.schemas import load_schema

ERRORS_FILE = "errors.json"


class UnknownErrorCode(LookupError):
    """A code the error table does not list: raising it would answer with a status nobody documented."""


@dataclass(frozen=True)
class ErrorCode:
    """One code of the table: the status it always comes with, what it means, where it can be answered."""

    code: str
    status: int
    description: str
    #: The routes (names of :func:`routes`) that can answer with this code; None when any request can,
    #: whatever its route.
    routes: frozenset[str] | None
    #: Whether this is the code HTTP itself answers ``status`` with (see :func:`protocol_code`).
    protocol: bool = False
    #: The gateway profile that answers with this code ("any": the header choosing one), for a code the
    #: documented API has not; None for the documented API's own.
    profile: str | None = None
    #: The documented code a profile's code is answered instead of, on its routes (new-api's 400
    #: ``task_not_exist`` where the documented poll says 404 ``task_not_found``).
    replaces: str | None = None

    def answers_on(self, route: str) -> bool:
        """Whether a request to ``route`` can get this code."""
        return self.routes is None or route in self.routes


@dataclass(frozen=True)
class _Table:
    routes: Mapping[str, str]
    codes: Mapping[str, ErrorCode]
    protocol: Mapping[int, ErrorCode]


@cache
def _table() -> _Table:
    """The code table, checked once: every route it names exists and each status has one protocol code at
    most (a broken table fails the first lookup, not some later request)."""
    data = json.loads(resources.files(__package__).joinpath(ERRORS_FILE).read_text(encoding="utf-8"))
    routes: dict[str, str] = data["routes"]
    codes: dict[str, ErrorCode] = {}
    protocol: dict[int, ErrorCode] = {}
    for code, entry in data["codes"].items():
        named = None if entry["routes"] == "any" else frozenset(entry["routes"])
        unknown = sorted((named or set()) - set(routes))
        if unknown:
            raise ValueError(f"{ERRORS_FILE}: {code} names unknown routes {unknown}; known: {', '.join(routes)}")
        found = codes[code] = ErrorCode(code, int(entry["status"]), entry["description"], named,
                                        bool(entry.get("protocol")), entry.get("profile"), entry.get("replaces"))
        if found.protocol:
            if found.status in protocol:
                raise ValueError(f"{ERRORS_FILE}: {code} and {protocol[found.status].code} are both the protocol "
                                 f"code of {found.status}")
            protocol[found.status] = found
    return _Table(routes, codes, protocol)


@cache
def error_codes() -> Mapping[str, ErrorCode]:
    """Every code of the documented API, by code (what the OpenAPI document lists); the codes of the other
    gateway profiles are :func:`profile_error_codes`."""
    return {code: entry for code, entry in _table().codes.items() if entry.profile is None}


@cache
def profile_error_codes() -> Mapping[str, ErrorCode]:
    """The codes only another gateway profile answers with (or the header that picks one), by code."""
    return {code: entry for code, entry in _table().codes.items() if entry.profile is not None}


def error_code(code: str) -> ErrorCode:
    """The table's entry for ``code``; UnknownErrorCode when it has none."""
    found = _table().codes.get(code)
    if found is None:
        raise UnknownErrorCode(f"error code {code!r} is not in the error table ({ERRORS_FILE}); add it there, "
                               "with its status, meaning and routes, before answering with it")
    return found


def routes() -> Mapping[str, str]:
    """The route names the code table uses, each with what it stands for."""
    return _table().routes


def protocol_code(status: int) -> ErrorCode | None:
    """The code for an error HTTP itself answers with, which knows only its status (a request the HTTP
    server cannot parse, an unknown route, an oversized body); None for a status the table gives no
    such code (the body then says ``"code": null``, which the contract allows)."""
    return _table().protocol.get(status)


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
