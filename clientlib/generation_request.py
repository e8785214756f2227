"""The body of ``POST /v1/video/generations`` as a typed object.

Only fields that were set are sent, so the provider applies its own defaults exactly as it would for a
hand-written body. Fields the contract does not name go in ``extra`` and are sent as given: the client
never drops what the caller asked for, and contract validation reports them instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from videomock.contracts.images import data_uri


@dataclass(frozen=True)
class GenerationRequest:
    model: str
    prompt: str | None = None
    image: str | None = None
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    seed: int | None = None
    n: int | None = None
    response_format: str | None = None
    user: str | None = None
    metadata: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> GenerationRequest:
        """Split a body into the named fields and ``extra``; ``to_body`` gives the same body back."""
        named = {f.name for f in fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in body.items() if k in named},
                   extra={k: v for k, v in body.items() if k not in named})

    def to_body(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {k: v for k, v in body.items() if v is not None} | dict(self.extra)


def image_data_uri(path: str | Path) -> str:
    """A local image as a Base64 data URI, the form the ``image`` field accepts inline, typed by its content."""
    path = Path(path)
    return data_uri(path.read_bytes(), path.name)
