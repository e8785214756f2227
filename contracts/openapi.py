"""The OpenAPI 3.1 document, assembled from the message schemas, the catalog's per-model schemas and the
error table.

Nothing here restates a rule: request bodies are the catalog's :attr:`ModelSpec.request_schema` as they
are, and each operation's error responses are the statuses of the codes the error table
(:mod:`videomock.contracts.errors`) says its route can answer with, so a tool that reads this document
(Schemathesis, a code generator) sees exactly what the server enforces and answers.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from videomock.contracts.catalog import Catalog
from videomock.contracts.errors import ErrorCode, error_codes
from videomock.contracts.schemas import load_schema

OPENAPI_VERSION = "3.1.0"

#: The documented operations, by the error table's name for their route: (path, method).
OPERATIONS: Mapping[str, tuple[str, str]] = {
    "submit": ("/v1/video/generations", "post"),
    "poll": ("/v1/video/generations/{task_id}", "get"),
    "download": ("/v1/videos/{task_id}/content", "get"),
    "models": ("/v1/models", "get"),
    "model": ("/v1/models/{model}", "get"),
}


#: One byte range, exactly as werkzeug (3.1's parse_range_header) reads one: RFC 9110's first-last, first- or
#: -suffix with blanks around the parts, a suffix of at least one byte, and one quirk, a last position of -0
#: (werkzeug reads "0--0" as the first byte), which a pattern that left it out would have Schemathesis expect
#: refused.
_BYTE_RANGE = r"([0-9]+[ \t]*-[ \t]*[0-9]*|0+[ \t]*-[ \t]*-0+|-[0-9]*[1-9][0-9]*)"
#: The Range header the download takes: byte ranges (RFC 9110), the unit in any case. One range is served
#: (206); several get the whole file (200: RFC 9110 lets a server ignore Range, and no client needs
#: multipart/byteranges for a video). Whether one range fits the video depends on its length, which no pattern
#: can say: a first position past the end or after the last, or a suffix longer than the video (RFC 9110 would
#: serve all of it; werkzeug refuses it), gets 416, as does any value the pattern refuses.
RANGE_PATTERN = rf"^[ \t]*[Bb][Yy][Tt][Ee][Ss][ \t]*=[ \t]*{_BYTE_RANGE}([ \t]*,[ \t]*{_BYTE_RANGE})*[ \t]*$"
_RANGE = {
    "type": "string",
    "pattern": RANGE_PATTERN,
    "description": "Byte ranges: bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX (e.g. bytes=0-1023, bytes=1024-, "
                   "bytes=-500), the unit in any case, blanks allowed around the parts. One range is served as a "
                   "206, unless it starts past the end of the video or after its last position, or is a suffix "
                   "longer than the video (416); a request for several (bytes=0-99,200-299) gets the whole file, 200.",
    "examples": ["bytes=0-1023"],
}


#: A redirect fault's answer to a download.
_REDIRECT = {
    "description": "An injected redirect fault: the video is at the signed CDN link in Location, which needs no API key.",
    "headers": {"Location": {"description": "The signed CDN link.", "schema": {"type": "string", "format": "uri"}}},
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


def _action_statuses(kind: str) -> list[int]:
    """The statuses the config schema lets a fault action of type ``kind`` answer with."""
    (branch,) = [b for b in load_schema("config")["$defs"]["action"]["oneOf"] if b["properties"]["type"]["const"] == kind]
    statuses: list[int] = branch["properties"]["status"]["enum"]
    return statuses


def _error_responses(route: str) -> dict[str, Any]:
    """One response per status the error table's codes for ``route`` have, its description listing those
    codes; a status an http_error fault can inject says that the fault may name a code of its own."""
    by_status: dict[int, list[ErrorCode]] = {}
    for entry in error_codes().values():
        if entry.answers_on(route):
            by_status.setdefault(entry.status, []).append(entry)
    injectable = set(_action_statuses("http_error"))
    responses = {}
    for status, entries in sorted(by_status.items()):
        lines = [f"- `{entry.code}`: {entry.description}" for entry in entries]
        if status in injectable:
            lines.append("- or the code an injected http_error fault names.")
        responses[str(status)] = {"description": "\n".join(lines),
                                  "content": {"application/json": {"schema": _ref("Error")}}}
    return responses


def openapi_document(catalog: Catalog, *, server_url: str | None = None, version: str = "0.1.0") -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for ``catalog``'s models."""
    schemas: dict[str, Any] = {
        "SubmitResponse": _component("submit_response"),
        "Task": _component("task"),
        "Error": _component("error"),
        "ModelList": _component("model_list"),
        "Model": _component("model_list")["properties"]["data"]["items"],
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
    task_id = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
    binary = {"schema": {"type": "string", "format": "binary"}}
    operations: dict[str, dict[str, Any]] = {
        "submit": {
            "operationId": "createVideoGeneration",
            "summary": "Create video generation task",
            "description": "Submit a text-to-video or image-to-video task. Setting `image` triggers image-to-video.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("GenerationRequest")}}},
            "responses": {
                "200": {"description": "Task accepted.", "content": {"application/json": {"schema": _ref("SubmitResponse")}}},
            },
        },
        "poll": {
            "operationId": "getVideoGeneration",
            "summary": "Get a video generation task",
            "parameters": [task_id],
            "responses": {
                "200": {"description": "The task.", "content": {"application/json": {"schema": _ref("Task")}}},
            },
        },
        "download": {
            "operationId": "downloadVideo",
            "summary": "Download a completed task's video",
            "parameters": [task_id, {"name": "Range", "in": "header", "required": False, "schema": _RANGE}],
            "responses": {
                "200": {"description": "The MP4 (also to a Range of several byte ranges).", "content": {"video/mp4": binary}},
                "206": {"description": "Part of the MP4 (Range request).", "content": {"video/mp4": binary}},
                "304": {"description": "Not modified (If-None-Match)."},
                **{str(status): _REDIRECT for status in _action_statuses("redirect")},
            },
        },
        "models": {
            "operationId": "listModels",
            "summary": "List the video models",
            "responses": {
                "200": {"description": "The models.", "content": {"application/json": {"schema": _ref("ModelList")}}},
            },
        },
        "model": {
            "operationId": "getModel",
            "summary": "One video model, with its capabilities in x-videomock",
            "parameters": [{"name": "model", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": list(catalog)},
                            "description": "A model id of the catalog (any other is a 404 unknown_model)."}],
            "responses": {
                "200": {"description": "The model.", "content": {"application/json": {"schema": _ref("Model")}}},
            },
        },
    }
    paths: dict[str, dict[str, Any]] = {}
    for route, (path, method) in OPERATIONS.items():
        operation = operations[route]
        operation["responses"].update(_error_responses(route))
        paths.setdefault(path, {})[method] = operation
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
