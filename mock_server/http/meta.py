"""Routes about the server rather than the provider's tasks: models, the OpenAPI document, health."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from videomock.contracts.catalog import ModelSpec
from videomock.contracts.openapi import PROFILES, openapi_document
from videomock.core.errors import provider_error
from videomock.http.context import backend, caller, exchange, public_base

meta = Blueprint("meta", __name__)

#: Flask endpoint -> the endpoint names fault rules use.
FAULT_ENDPOINTS = {"meta.list_models": "models", "meta.get_model": "models"}

#: The model object's extension field: the model's whole catalog entry (the model schema's shape), so that a
#: client (``videomock generate``, ``verify``) can check requests against the rules of the server it talks to.
CAPABILITIES_FIELD = "x-videomock"

#: A fixed `created` for /v1/models; the catalog has no dates and a changing value would break determinism.
CATALOG_CREATED = 1_735_689_600


def model_object(spec: ModelSpec) -> dict[str, Any]:
    """A model in the OpenAI model shape, with its capabilities in the extension field."""
    return {"id": spec.id, "object": "model", "created": CATALOG_CREATED, "owned_by": spec.vendor,
            CAPABILITIES_FIELD: dict(spec.entry)}


@meta.get("/v1/models")
def list_models() -> Any:
    catalog = backend().list_models(caller(), exchange())
    return {"object": "list", "data": [model_object(spec) for spec in catalog.values()]}


@meta.get("/v1/models/<model_id>")
def get_model(model_id: str) -> Any:
    return model_object(backend().model(caller(), model_id, exchange()))


@meta.get("/openapi.json")
def openapi() -> Any:
    """The document of the gateway profile ``?profile=`` names, else of the server's (gateway.profile): a tool
    pointed at a server run with --gateway new-api reads what that server answers."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("videomock")
    except PackageNotFoundError:
        release = "0.0.0"
    b = backend()
    profile = request.args.get("profile", b.config["gateway"]["profile"])
    if profile not in PROFILES:
        raise provider_error("invalid_value", f"profile must be one of {', '.join(PROFILES)}, not {profile[:40]!r}.",
                             param="profile")
    return openapi_document(b.catalog, server_url=public_base(), version=release, profile=profile)


@meta.get("/healthz")
def healthz() -> Any:
    b = backend()
    return {"status": "ok", "models": len(b.catalog), "clock": b.clock.mode}
