"""Routes about the server rather than the provider's tasks: models, the OpenAPI document, health."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from videomock.contracts.openapi import openapi_document
from videomock.http.context import backend, caller, exchange, public_base

meta = Blueprint("meta", __name__)

#: Flask endpoint -> the endpoint names fault rules use.
FAULT_ENDPOINTS = {"meta.list_models": "models"}

#: A fixed `created` for /v1/models; the catalog has no dates and a changing value would break determinism.
CATALOG_CREATED = 1_735_689_600


@meta.get("/v1/models")
def list_models() -> Any:
    catalog = backend().list_models(caller(), exchange())
    data = [{"id": model_id, "object": "model", "created": CATALOG_CREATED, "owned_by": spec.vendor}
            for model_id, spec in catalog.items()]
    return {"object": "list", "data": data}


@meta.get("/openapi.json")
def openapi() -> Any:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("videomock")
    except PackageNotFoundError:
        release = "0.0.0"
    return openapi_document(backend().catalog, server_url=public_base(), version=release)


@meta.get("/healthz")
def healthz() -> Any:
    b = backend()
    return {"status": "ok", "models": len(b.catalog), "clock": b.clock.mode}
