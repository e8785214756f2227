"""One request as the fake handles it: who made it, what it carried and got, and the faults decided for it.

The HTTP layer opens one per request (:mod:`videomock.http.middleware`); the backend (which decides), the
journal (which records) and the transport adapters (which break connections) share it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from videomock.core.faults.actions import Action, Redirect, TransportAction
    from videomock.core.faults.rules import Firing

@dataclass
class Exchange:
    started: float = field(default_factory=time.perf_counter)
    owner: str | None = None              # the API key's fingerprint, once authenticated
    endpoint: str | None = None           # what fault rules call the route: submit, poll, download, ...
    model: str | None = None              # the catalog model the request concerns, once known
    task_id: str | None = None
    body: Any = None                      # the parsed JSON request body, when there was one
    response: Any = None                  # the JSON document answered, when a view produced one
    header: list[Action] = field(default_factory=list)   # what X-Videomock-Fault asks for
    applied: list[Firing] = field(default_factory=list)  # faults that fired, for the journal
    delay: float = 0.0
    transport: TransportAction | None = None
    expire_ttl: float | None = None
    redirect: Redirect | None = None
    #: The Content-Type a download is served with when not its own (a corrupt_media fault's).
    media_type: str | None = None

    def fault_journal(self) -> list[dict[str, Any]] | None:
        return [f.journal() for f in self.applied] or None


