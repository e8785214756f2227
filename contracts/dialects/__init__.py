"""Each API dialect's messages, as contracts derived from the one catalog.

A dialect is an API that real clients speak: the documented gateway API (``/v1/video/generations``), the
OpenAI Videos API (``/v1/videos``), ... Their request bodies name things differently (``seconds`` as a string
and ``size`` as ``"1280x720"`` where the documented body has ``duration``, ``width`` and ``height``), but the
rules behind them are the catalog's. So each dialect derives its per-model request schema from
:class:`~videomock.contracts.catalog.ModelSpec` (validation, the OpenAPI document and the strategies all read
it, and errors come out in the dialect's own field names) and maps a valid body onto the catalog's canonical
generation request (the documented body), which the fake's core serves whatever the dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from videomock.contracts.catalog import Catalog, ModelSpec


@dataclass(frozen=True)
class RequestDialect:
    """How one dialect's create request reads."""

    name: str
    #: The model's request body in this dialect, as JSON Schema 2020-12.
    request_schema: Callable[[ModelSpec], dict[str, Any]]
    #: A valid body in this dialect -> the canonical generation request.
    to_generation_request: Callable[[Mapping[str, Any], ModelSpec], dict[str, Any]]
    #: The model a body asks for when it names none (None: ``model`` is required).
    default_model: str | None = None
    #: Whether clients of this dialect may name a model by its catalog id (besides the catalog's ``names``).
    by_id: bool = True
    #: The field that names the model (Kling's is ``model_name``).
    model_field: str = "model"
    #: Which of the dialect's create requests this is, when it has several (Kling's text2video and image2video
    #: take different bodies); the catalog's ``names`` are the dialect's, whichever request names the model.
    operation: str | None = None

    @property
    def key(self) -> str:
        """What tells this request's schema apart from the dialect's other ones."""
        return self.name if self.operation is None else f"{self.name}:{self.operation}"

    def model_of(self, body: Any, catalog: Catalog, named: str | None = None) -> tuple[str | None, ModelSpec | None]:
        """The model name a body gives (or the default; or ``named``, for a dialect that names the model in
        the path) and the catalog's model of that name, if any."""
        name = named if named is not None else body.get(self.model_field, self.default_model) if isinstance(body, dict) else None
        if not isinstance(name, str):
            return None, None
        return name, catalog.named(name, self.name, by_id=self.by_id)

    def selecting_schema(self, spec: ModelSpec, catalog: Catalog) -> dict[str, Any]:
        """The model's request as the bodies that ask for it: the model's field is required, but for the default model,
        whose bodies may name none. So no body fits two models' schemas, and a oneOf of every model's is the
        dialect's whole request (the OpenAPI document's), and a body drawn for a model is that model's."""
        schema = self.request_schema(spec)
        default = self.model_of({}, catalog)[1]
        required = schema.get("required", [])
        if (default is None or default.id != spec.id) and self.model_field not in required:
            schema["required"] = [*required, self.model_field]
        return schema
