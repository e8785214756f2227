"""The OpenAPI 3.1 document, assembled from the message schemas and the catalog's per-model schemas.

Nothing here restates a rule: request bodies are the catalog's :attr:`ModelSpec.request_schema` as they
are, so a tool that reads this document (Schemathesis, a code generator) sees exactly what the server
enforces.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from videomock.contracts.catalog import Catalog
from videomock.contracts.schemas import load_schema

OPENAPI_VERSION = "3.1.0"

#: HTTP statuses that any provider endpoint may answer with (auth, rate limits, upstream trouble).
_COMMON_ERRORS = {
    "401": "Missing or unknown API key.",
    "429": "Rate limited or too many tasks in flight; see Retry-After.",
    "500": "Internal error.",
    "502": "Bad gateway (upstream provider error).",
    "503": "Service unavailable (no upstream channel).",
    "504": "Gateway timeout.",
}


_BYTE_RANGE = r"([0-9]+[ \t]*-[ \t]*[0-9]*|-[0-9]+)"
#: The Range header the download takes: byte ranges (RFC 9110), spelled as werkzeug parses them (unit in any
#: case, blanks around the parts). One range is served (206); several get the whole file (200: RFC 9110 lets a
#: server ignore Range, and no client needs multipart/byteranges for a video). Other units and malformed
#: values get 416, as does a range that starts past the end of the file.
RANGE_PATTERN = rf"^[ \t]*[Bb][Yy][Tt][Ee][Ss][ \t]*=[ \t]*{_BYTE_RANGE}([ \t]*,[ \t]*{_BYTE_RANGE})*[ \t]*$"
_RANGE = {
    "type": "string",
    "pattern": RANGE_PATTERN,
    "description": "Byte ranges, e.g. bytes=0-1023, bytes=1024- or bytes=-500. One range is served as a 206; a "
                   "request for several (bytes=0-99,200-299) gets the whole file, 200.",
    "examples": ["bytes=0-1023"],
}


def _component(name: str) -> dict[str, Any]:
    schema = copy.deepcopy(load_schema(name))
    schema.pop("$id", None)
    schema.pop("$schema", None)
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _model_component_name(model_id: str) -> str:
    return "GenerationRequest_" + re.sub(r"[^A-Za-z0-9_.-]", "_", model_id)


def _errors(*statuses: str, **extra: str) -> dict[str, Any]:
    described = {s: _COMMON_ERRORS[s] for s in statuses} | extra
    return {
        status: {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}
        for status, text in sorted(described.items())
    }


def openapi_document(catalog: Catalog, *, server_url: str | None = None, version: str = "0.1.0") -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for ``catalog``'s models."""
    schemas: dict[str, Any] = {
        "SubmitResponse": _component("submit_response"),
        "Task": _component("task"),
        "Error": _component("error"),
        "ModelList": _component("model_list"),
    }
    mapping = {}
    for model_id, spec in catalog.items():
        name = _model_component_name(model_id)
        schemas[name] = copy.deepcopy(spec.request_schema)
        mapping[model_id] = f"#/components/schemas/{name}"
    schemas["GenerationRequest"] = {
        "title": "GenerationRequest",
        "description": "Generic video generation request body; the model decides which limits apply.",
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "model", "mapping": mapping},
    }
    all_errors = tuple(_COMMON_ERRORS)
    task_id = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
    paths = {
        "/v1/video/generations": {
            "post": {
                "operationId": "createVideoGeneration",
                "summary": "Create video generation task",
                "description": "Submit a text-to-video or image-to-video task. Setting `image` triggers image-to-video.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("GenerationRequest")}}},
                "responses": {
                    "200": {"description": "Task accepted.", "content": {"application/json": {"schema": _ref("SubmitResponse")}}},
                    **_errors(*all_errors, **{
                        "400": "Invalid request: `param` names the field and the message says what is allowed.",
                        "403": "Out of quota.",
                        "413": "Request body too large.",
                    }),
                },
            }
        },
        "/v1/video/generations/{task_id}": {
            "get": {
                "operationId": "getVideoGeneration",
                "summary": "Get a video generation task",
                "parameters": [task_id],
                "responses": {
                    "200": {"description": "The task.", "content": {"application/json": {"schema": _ref("Task")}}},
                    **_errors(*all_errors, **{"404": "No such task for this API key."}),
                },
            }
        },
        "/v1/videos/{task_id}/content": {
            "get": {
                "operationId": "downloadVideo",
                "summary": "Download a completed task's video",
                "parameters": [task_id, {"name": "Range", "in": "header", "required": False, "schema": _RANGE}],
                "responses": {
                    "200": {"description": "The MP4 (also to a Range of several byte ranges).", "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}},
                    "206": {"description": "Part of the MP4 (Range request).", "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}},
                    "304": {"description": "Not modified (If-None-Match)."},
                    "416": {"description": "Range not satisfiable.", "content": {"application/json": {"schema": _ref("Error")}}},
                    **_errors(*all_errors, **{
                        "400": "The task has not completed yet.",
                        "404": "No such task for this API key.",
                        "410": "The link has expired.",
                    }),
                },
            }
        },
        "/v1/models": {
            "get": {
                "operationId": "listModels",
                "summary": "List the video models",
                "responses": {
                    "200": {"description": "The models.", "content": {"application/json": {"schema": _ref("ModelList")}}},
                    **_errors(*all_errors),
                },
            }
        },
    }
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "videomock: video generation API (fake provider)",
            "version": version,
            "description": "OpenAI-style asynchronous video generation: submit, poll until completed, download `url`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
