"""One request as the fake handles it: who made it, what it carried and got, and the faults decided for it.

It travels in the WSGI environ, so the backend (which decides), the journal (which records) and the
transport layer (which breaks connections) share it without Flask's context-local globals, which cost
more per request than most of what the fake does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.faults import Firing

ENVIRON_KEY = "videomock.exchange"


@dataclass
class Exchange:
    started: float = field(default_factory=time.perf_counter)
    owner: str | None = None              # the API key's fingerprint, once authenticated
    task_id: str | None = None
    body: Any = None                      # the parsed JSON request body, when there was one
    response: Any = None                  # the JSON document answered, when a view produced one
    header: list[Any] = field(default_factory=list)     # actions from X-Videomock-Fault
    applied: list[Firing] = field(default_factory=list)  # faults that fired, for the journal
    delay: float = 0.0
    transport: Any = None
    expire_ttl: float | None = None
    redirect: Any = None

    def fault_journal(self) -> list[dict[str, Any]] | None:
        return [f.journal() for f in self.applied] or None


def exchange_of(environ: dict[str, Any]) -> Exchange | None:
    return environ.get(ENVIRON_KEY)


def open_exchanges(app: Any) -> Any:
    """WSGI middleware giving every request an Exchange before anything else runs (an embedding caller,
    such as the in-process adapter, may have put one there already)."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if ENVIRON_KEY not in environ:
            environ[ENVIRON_KEY] = Exchange()
        return app(environ, start_response)

    return wsgi
