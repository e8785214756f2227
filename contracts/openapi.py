"""The OpenAPI 3.1 document, assembled from the message schemas, the catalog's per-model schemas and the
error table.

Nothing here restates a rule: request bodies are the catalog's :attr:`ModelSpec.request_schema` as they
are (and, for the OpenAI Videos API, the dialect's per-model schema, :mod:`videomock.contracts.dialects.openai`),
and each operation's error responses are the statuses of the codes the error table
(:mod:`videomock.contracts.errors`) says its route can answer with, so a tool that reads this document
(Schemathesis, a code generator) sees exactly what the server enforces and answers.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from videomock.contracts.catalog import Catalog
from videomock.contracts.dialects import openai
from videomock.contracts.errors import ErrorCode, error_codes
from videomock.contracts.images import FORMATS
from videomock.contracts.media import VARIANT_MEDIA_TYPES
from videomock.contracts.schemas import MESSAGE_SCHEMAS, load_schema

OPENAPI_VERSION = "3.1.0"

#: The documented operations, by the error table's name for their route: (path, method).
OPERATIONS: Mapping[str, tuple[str, str]] = {
    "submit": ("/v1/video/generations", "post"),
    "poll": ("/v1/video/generations/{task_id}", "get"),
    "download": ("/v1/videos/{task_id}/content", "get"),
    "models": ("/v1/models", "get"),
    "model": ("/v1/models/{model}", "get"),
    "create": ("/v1/videos", "post"),
    "retrieve": ("/v1/videos/{video_id}", "get"),
    "list": ("/v1/videos", "get"),
    "delete": ("/v1/videos/{video_id}", "delete"),
    "remix": ("/v1/videos/{video_id}/remix", "post"),
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


#: The download's ``variant``: which of a completed video's assets it serves.
_VARIANT = {"name": "variant", "in": "query", "required": False,
            "schema": {"enum": list(VARIANT_MEDIA_TYPES), "default": "video"},
            "description": "video (the MP4), thumbnail (its middle frame, WebP) or spritesheet (a grid of its frames, JPEG)."}
#: The OpenAI list's query parameters, as the openai SDK sends them.
_LIST_PARAMETERS = [
    {"name": "after", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The id of the last video of the previous page (its `last_id`)."},
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    {"name": "order", "in": "query", "required": False, "schema": {"enum": ["asc", "desc"], "default": "desc"},
     "description": "By creation: oldest first (asc) or newest first (desc)."},
]
#: Set while a video is unfinished: how long the openai SDK's poll() waits before it asks again.
_POLL_AFTER = {"openai-poll-after-ms": {
    "description": "Milliseconds to wait before polling again, while the video is queued or in progress (0 when the "
                   "fake's clock is instant).",
    "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
#: A form's file part: the image the openai SDK uploads, any of the types the image rules accept.
_IMAGE_PART = {"contentType": ", ".join(f"image/{kind.lower()}" for kind in FORMATS)}

#: A redirect fault's answer to a download.
_REDIRECT = {
    "description": "An injected redirect fault: the video is at the signed CDN link in Location, which needs no API key.",
    "headers": {"Location": {"description": "The signed CDN link.", "schema": {"type": "string", "format": "uri"}}},
}


def _component(name: str) -> dict[str, Any]:
    """A message schema as a component, which is named by its title: a reference to another message (by its
    ``$id``) becomes one to that message's component."""
    titles = {load_schema(other)["$id"]: load_schema(other)["title"] for other in MESSAGE_SCHEMAS}

    def point(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("$ref") in titles:
                return {**node, "$ref": f"#/components/schemas/{titles[node['$ref']]}"}
            return {key: point(value) for key, value in node.items()}
        return [point(item) for item in node] if isinstance(node, list) else node

    schema: dict[str, Any] = point(load_schema(name))
    schema.pop("$id", None)
    schema.pop("$schema", None)
    return schema


def _components(*names: str) -> dict[str, Any]:
    return {load_schema(name)["title"]: _component(name) for name in names}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _model_component_name(prefix: str, model_id: str) -> str:
    return prefix + "_" + re.sub(r"[^A-Za-z0-9_.-]", "_", model_id)


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


#: The form's image, for every model (a model that takes none refuses it in its own schema).
_IMAGE_FILE = {"type": "string", "format": "binary",
               "description": "The image to animate, as a file part (a URL goes in a text field input_reference[image_url])."}


def _as_form(schema: dict[str, Any]) -> dict[str, Any]:
    """A create request as a multipart form: where the model takes an image, it is the form's file part."""
    form = copy.deepcopy(schema)
    if "anyOf" in form["properties"]["input_reference"]:
        form["properties"]["input_reference"] = {"description": "The file part input_reference (see VideoCreateForm)."}
    return form


def _openai_operations(catalog: Catalog, schemas: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The OpenAI Videos API's operations (the download aside, which is shared), adding their components to
    ``schemas``. A create body is one model's: by ``model``, or sora-2's when it names none."""
    schemas.update(_components("openai_video", "openai_video_list", "openai_video_deleted", "openai_remix_request"))
    # No remix prompt may be longer than the longest any model takes; each source video's model may take less.
    schemas["VideoRemixRequest"]["properties"]["prompt"]["maxLength"] = max(spec.prompt_max_length for spec in catalog.values())
    dialect = openai.DIALECT
    # The form's parts that have an encoding, stated beside its oneOf (tools look for a form's parts among its
    # top-level properties): the image file, and the prompt, as long as the model that takes the longest allows.
    longest = max(catalog.values(), key=lambda spec: spec.prompt_max_length)
    form_parts = {"input_reference": _IMAGE_FILE, "prompt": dialect.request_schema(longest)["properties"]["prompt"]}
    for kind, as_form in (("VideoCreateRequest", False), ("VideoCreateForm", True)):
        mapping: dict[str, str] = {}
        for model_id, spec in catalog.items():
            name = _model_component_name(kind, model_id)
            schema = dialect.selecting_schema(spec, catalog)
            schemas[name] = _as_form(schema) if as_form else schema
            mapping |= {alias: f"#/components/schemas/{name}" for alias in [model_id, *spec.names_in(dialect.name)]}
        schemas[kind] = {
            "title": kind,
            "description": f"POST /v1/videos: the model's limits apply; a body that names no model is "
                           f"{dialect.default_model}'s.",
            **({"type": "object", "properties": form_parts} if as_form else {}),
            "oneOf": [{"$ref": ref} for ref in dict.fromkeys(mapping.values())],
            "discriminator": {"propertyName": "model", "mapping": mapping},
        }
    video_id = {"name": "video_id", "in": "path", "required": True, "schema": {"type": "string"}}
    video = {"description": "The video.", "headers": _POLL_AFTER, "content": {"application/json": {"schema": _ref("OpenAIVideo")}}}
    return {
        "create": {
            "operationId": "createVideo",
            "summary": "Create a video (the OpenAI Videos API)",
            "description": "What the openai SDK's `videos.create` sends: a multipart form, with `input_reference` as a "
                           "file part; a JSON body gives it as a URL or data URI, or as `{\"image_url\": ...}`.",
            "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": _ref("VideoCreateForm"),
                                        "encoding": {"input_reference": _IMAGE_PART, "prompt": {"contentType": "text/plain"}}},
                "application/json": {"schema": _ref("VideoCreateRequest")},
            }},
            "responses": {"200": video},
        },
        "retrieve": {
            "operationId": "retrieveVideo",
            "summary": "Get a video",
            "parameters": [video_id],
            "responses": {"200": video},
        },
        "list": {
            "operationId": "listVideos",
            "summary": "List the caller's videos, a page at a time",
            "parameters": _LIST_PARAMETERS,
            "responses": {"200": {"description": "A page of videos.",
                                  "content": {"application/json": {"schema": _ref("OpenAIVideoList")}}}},
        },
        "delete": {
            "operationId": "deleteVideo",
            "summary": "Delete a video",
            "parameters": [video_id],
            "responses": {"200": {"description": "The video is gone.",
                                  "content": {"application/json": {"schema": _ref("OpenAIVideoDeleted")}}}},
        },
        "remix": {
            "operationId": "remixVideo",
            "summary": "Make a completed video again with a new prompt",
            "parameters": [video_id],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("VideoRemixRequest")}}},
            "responses": {"200": video},
        },
    }


def openapi_document(catalog: Catalog, *, server_url: str | None = None, version: str = "0.1.0") -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for ``catalog``'s models."""
    schemas: dict[str, Any] = _components("submit_response", "task", "error", "model_list")
    schemas["Model"] = _component("model_list")["properties"]["data"]["items"]
    mapping = {}
    for model_id, spec in catalog.items():
        name = _model_component_name("GenerationRequest", model_id)
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
    assets = {media_type: binary for media_type in VARIANT_MEDIA_TYPES.values()}
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
            "summary": "Download a completed task's video, or its thumbnail or spritesheet",
            "description": "The documented dialect's download, which is also the OpenAI Videos API's "
                           "`GET /v1/videos/{video_id}/content`.",
            "parameters": [task_id, _VARIANT, {"name": "Range", "in": "header", "required": False, "schema": _RANGE}],
            "responses": {
                "200": {"description": "The MP4, or the variant asked for (also to a Range of several byte ranges).",
                        "content": assets},
                "206": {"description": "Part of it (Range request).", "content": assets},
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
        **_openai_operations(catalog, schemas),
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
            "description": "OpenAI-style asynchronous video generation: submit, poll until completed, download `url`. "
                           "The OpenAI Videos API (/v1/videos: create, retrieve, list, delete, remix, and the shared "
                           "download) is served too, for every model.",
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
