"""The Task as the client hands it out: the contract's fields, normalised from whichever dialect the
gateway spoke, with the raw body and anything beyond the contract kept alongside."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from videomock.contracts import Violation

#: Statuses after normalisation. ``unknown`` is the gateway saying it does not know yet; keep polling.
QUEUED, IN_PROGRESS, COMPLETED, FAILED, UNKNOWN = "queued", "in_progress", "completed", "failed", "unknown"
FINISHED = (COMPLETED, FAILED)


@dataclass(frozen=True)
class Task:
    id: str
    status: str
    progress: int | None = None
    url: str | None = None
    format: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error: Mapping[str, Any] | None = None
    model: str | None = None
    created_at: int | None = None
    completed_at: int | None = None
    #: Which shape the body came in: ``documented``, ``new-api`` (the {code, message, data} wrapper) or
    #: ``openai-video`` (the OpenAI video object).
    dialect: str = "documented"
    #: Fields the contract does not define, exactly as received (from inside the wrapper, if any).
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: The body exactly as received.
    raw: Any = field(default=None, repr=False)
    #: How the body breaks the contract (lenient mode keeps going and records them here).
    violations: tuple[Violation, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == COMPLETED

    @property
    def failed(self) -> bool:
        return self.status == FAILED
