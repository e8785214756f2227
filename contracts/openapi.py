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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from videomock.contracts.catalog import Catalog
from videomock.contracts.dialects import RequestDialect, google, kling, newapi, openai
from videomock.contracts.errors import ErrorCode, error_codes, profile_error_codes
from videomock.contracts.images import FORMATS
from videomock.contracts.media import VARIANT_MEDIA_TYPES
from videomock.contracts.schemas import MESSAGE_SCHEMAS, load_schema

OPENAPI_VERSION = "3.1.0"

#: Every operation, by the error table's name for its route: (path, method). A route served at several paths
#: (Kling's under /kling too, Vertex AI's in express mode, each of Kling's two kinds of task) has its first here;
#: every operation of the document names its route in :data:`ROUTE_EXTENSION`.
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
    "vertex_submit": ("/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:predictLongRunning", "post"),
    "vertex_fetch": ("/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:fetchPredictOperation", "post"),
    "gemini_submit": ("/v1beta/models/{model}:predictLongRunning", "post"),
    "gemini_poll": ("/v1beta/models/{model}/operations/{operation_id}", "get"),
    "gemini_download": ("/v1beta/files/{file}:download", "get"),
    "kling_text2video": ("/v1/videos/text2video", "post"),
    "kling_image2video": ("/v1/videos/image2video", "post"),
    "kling_query": ("/v1/videos/text2video/{task_id}", "get"),
    "kling_list": ("/v1/videos/text2video", "get"),
}
#: The operation's extension naming its route in the error table (so a tool, or a test, can tell which codes an
#: answer of any of the route's paths may carry).
ROUTE_EXTENSION = "x-videomock-route"
#: The document's variants, by gateway profile (``GET /openapi.json?profile=new-api``).
PROFILES = ("documented", newapi.NAME)
#: The OpenAI Videos API's own routes (its download is the documented one).
_OPENAI_ROUTES = frozenset({"create", "retrieve", "list", "delete", "remix"})
#: The routes the gateway profile speaks on: the documented dialect's and the OpenAI Videos API's (the
#: models routes, Google's and Kling's answer alike under every profile).
PROFILED_ROUTES = frozenset({"submit", "poll", "download", "create", "retrieve", "list", "delete", "remix"})


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
    """Message schemas as components, each named by its title; the definitions a schema keeps in ``$defs``
    become components of their own, named ``<title>_<definition>`` (a reference inside a component is read
    from the document's root, so ``#/$defs/...`` would point nowhere)."""
    found: dict[str, Any] = {}
    for name in names:
        title = load_schema(name)["title"]
        schema = _component(name)
        definitions = schema.pop("$defs", {})

        def local(node: Any, title: str = title) -> Any:
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith("#/$defs/"):
                    node = {**node, "$ref": f"#/components/schemas/{title}_{ref.removeprefix('#/$defs/')}"}
                return {key: local(value) for key, value in node.items()}
            return [local(item) for item in node] if isinstance(node, list) else node

        found |= {f"{title}_{definition}": local(sub) for definition, sub in definitions.items()}
        found[title] = local(schema)
    return found


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _model_component_name(prefix: str, model_id: str) -> str:
    return prefix + "_" + re.sub(r"[^A-Za-z0-9_.-]", "_", model_id)


def _action_statuses(kind: str) -> list[int]:
    """The statuses the config schema lets a fault action of type ``kind`` answer with."""
    (branch,) = [b for b in load_schema("config")["$defs"]["action"]["oneOf"] if b["properties"]["type"]["const"] == kind]
    statuses: list[int] = branch["properties"]["status"]["enum"]
    return statuses


@dataclass(frozen=True)
class ErrorShape:
    """How one dialect answers the error table's codes: in which body, with which status, and how its
    description names a code (a Google error carries the code as its ErrorInfo reason, a Kling error as the
    service code it maps to)."""

    #: The component of the body.
    schema: str
    #: The statuses a code is answered with on this dialect's routes.
    statuses: Callable[[ErrorCode], set[int]]
    #: How the description lists a code.
    describe: Callable[[ErrorCode], str] = lambda entry: f"`{entry.code}`"


def _table_status(entry: ErrorCode) -> set[int]:
    return {entry.status}


def _kling_statuses(entry: ErrorCode) -> set[int]:
    """The status Kling pairs with the code's service code; an injected error keeps the status its fault chose,
    so a code a fault can inject (one of an http_error status) is answered with the table's status too."""
    natural = kling.service_status(entry.code, entry.status, injected=False)[1]
    return {natural} | ({entry.status} if entry.status in _action_statuses("http_error") else set())


def _google_reason(entry: ErrorCode) -> str:
    return f"`{entry.code}` (reason {google.error_reason(entry.code)})"


def _kling_service(entry: ErrorCode) -> str:
    return f"`{entry.code}` (service code {kling.service_code(entry.code, entry.status)})"


DOCUMENTED_ERRORS = ErrorShape("Error", _table_status)
GOOGLE_ERRORS = ErrorShape("GoogleError", _table_status, _google_reason)
KLING_ERRORS = ErrorShape("Kling_error", _kling_statuses, _kling_service)
NEW_API_ERRORS = ErrorShape("NewApiError", _table_status)


def error_shape(route: str, profile: str = "documented") -> ErrorShape:
    """How ``route`` answers errors under ``profile``: Google's routes and Kling's in their own shapes whatever
    the profile, the profiled routes in the profile's."""
    if route.startswith(("vertex_", "gemini_")):
        return GOOGLE_ERRORS
    if route.startswith("kling_"):
        return KLING_ERRORS
    return NEW_API_ERRORS if profile == newapi.NAME and route in PROFILED_ROUTES else DOCUMENTED_ERRORS


def _http_server_code(entry: ErrorCode) -> bool:
    """Whether the HTTP server may answer the code itself, before any dialect sees the request (so in the
    documented shape, whatever the route): a protocol code any request can get."""
    return entry.routes is None and entry.protocol


def _route_codes(route: str, profile: str) -> list[ErrorCode]:
    """The codes ``route`` can answer with under ``profile``: the documented API's, and a profile's own where it
    speaks, each in place of the code it replaces there."""
    codes = [entry for entry in error_codes().values() if entry.answers_on(route)]
    if profile == "documented" or route not in PROFILED_ROUTES:
        return codes
    own = [entry for entry in profile_error_codes().values()
           if entry.profile in (profile, "any") and entry.answers_on(route)]
    replaced = {entry.replaces for entry in own if entry.replaces is not None}
    return [entry for entry in codes if entry.code not in replaced] + own


def _error_responses(route: str, shape: ErrorShape = DOCUMENTED_ERRORS, profile: str = "documented") -> dict[str, Any]:
    """One response per status the error table's codes for ``route`` are answered with in ``shape``, its
    description listing those codes; a status an http_error fault can inject says that the fault may name a
    code of its own. A status the HTTP server may answer itself may come in the documented shape too."""
    by_status: dict[int, list[ErrorCode]] = {}
    for entry in _route_codes(route, profile):
        for status in sorted(shape.statuses(entry)):
            by_status.setdefault(status, []).append(entry)
    injectable = set(_action_statuses("http_error"))
    responses = {}
    for status, entries in sorted(by_status.items()):
        lines = [f"- {shape.describe(entry)}: {entry.description}" for entry in entries]
        if status in injectable:
            lines.append("- or the code an injected http_error fault names.")
        schema: dict[str, Any] = _ref(shape.schema)
        if shape is not DOCUMENTED_ERRORS and any(_http_server_code(entry) for entry in entries):
            schema = {"anyOf": [schema, _ref(DOCUMENTED_ERRORS.schema)]}
        responses[str(status)] = {"description": "\n".join(lines), "content": {"application/json": {"schema": schema}}}
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


def _model_requests(dialect: RequestDialect, catalog: Catalog, schemas: dict[str, Any], kind: str,
                    description: str) -> dict[str, Any]:
    """The dialect's create request, one component per model (its :meth:`RequestDialect.selecting_schema`), and
    the request as a whole, ``kind``: a oneOf of them, discriminated by the field that names the model, for a
    dialect whose body names it."""
    mapping: dict[str, str] = {}
    for model_id, spec in catalog.items():
        names = [*([model_id] if dialect.by_id else []), *spec.names_in(dialect.name)]
        if not names:
            continue
        name = _model_component_name(kind, model_id)
        schemas[name] = dialect.selecting_schema(spec, catalog)
        mapping |= {alias: f"#/components/schemas/{name}" for alias in names}
    schemas[kind] = {"title": kind, "description": description,
                     "oneOf": [{"$ref": ref} for ref in dict.fromkeys(mapping.values())],
                     "discriminator": {"propertyName": dialect.model_field, "mapping": mapping}}
    return _ref(kind)


def _path_model_requests(dialect: RequestDialect, catalog: Catalog, schemas: dict[str, Any], kind: str) -> tuple[dict[str, Any], list[str]]:
    """A request whose model the path names (Google's): one component per model, and the body as the models'
    distinct schemas allow it (one schema when all of them are alike, as Veo's are; else any of them, the path's
    model deciding which applies). Also the names the path may give."""
    distinct: dict[str, str] = {}
    names: list[str] = []
    for model_id, spec in catalog.items():
        if not spec.names_in(dialect.name):
            continue
        names += spec.names_in(dialect.name)
        schema = dialect.request_schema(spec)
        component = _model_component_name(kind, model_id)
        schemas[component] = schema
        rules = {key: value for key, value in schema.items() if key not in ("title", "description")}
        distinct.setdefault(repr(rules), component)
    refs = [_ref(component) for component in distinct.values()]
    return (refs[0] if len(refs) == 1 else {"anyOf": refs}), names


def _path(name: str, schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            **({"description": description} if description else {})}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _video_responses(media_types: list[str] | None = None, *, redirects: bool = True) -> dict[str, Any]:
    """What a download answers when all is well: the file (of one of ``media_types``; by default any variant's),
    part of it, not modified, or, where a redirect fault applies, a redirect."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    assets = {media_type: binary for media_type in media_types or VARIANT_MEDIA_TYPES.values()}
    return {
        "200": {"description": "The MP4, or the variant asked for (also to a Range of several byte ranges).",
                "content": assets},
        "206": {"description": "Part of it (Range request).", "content": assets},
        "304": {"description": "Not modified (If-None-Match)."},
        **({str(status): _REDIRECT for status in _action_statuses("redirect")} if redirects else {}),
    }


_RANGE_HEADER = {"name": "Range", "in": "header", "required": False, "schema": _RANGE}
#: Google's credentials: an OAuth 2 access token, or an API key in a header or the query.
GOOGLE_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"googApiKey": []}, {"googApiKeyQuery": []}]
KLING_SECURITY: list[dict[str, list[str]]] = [{"klingJWT": []}]


def _google_operations(catalog: Catalog, schemas: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Veo's operations in Vertex AI and in the Gemini API, as (route, path, method, operation)."""
    schemas.update(_components("google_error", "google_operation", "vertex_fetch_operation"))
    scope = [_path("project", {"type": "string"}), _path("location", {"type": "string"})]
    found: list[tuple[str, str, str, dict[str, Any]]] = []
    vertex_body, vertex_names = _path_model_requests(google.VERTEX_DIALECT, catalog, schemas, "PredictLongRunning_vertex")
    vertex_model = _path("model", {"enum": vertex_names}, "The model, by its Vertex AI name (any other is a 404 not_found).")
    # Each form is served under v1 and v1beta1 alike; the document gives each the version google-genai calls it
    # at (a version as a parameter would make a path of another version look like this operation's).
    versions = " The same operation is served under /v1 and /v1beta1."
    for express in (False, True):
        prefix = "/v1beta1/publishers/google/models/{model}" if express else OPERATIONS["vertex_submit"][0].rpartition(":")[0]
        parameters = [*([] if express else scope), vertex_model]
        suffix = "Express" if express else ""
        found += [
            ("vertex_submit", prefix + ":predictLongRunning", "post", {
                "operationId": "vertexPredictLongRunning" + suffix,
                "summary": "Start generating videos with Veo (Vertex AI" + (", express mode" if express else "") + ")",
                "description": "What google-genai sends for `generate_videos` with `vertexai=True`. The answer names the "
                               "operation, which fetchPredictOperation reads under the same model resource." + versions,
                "parameters": parameters,
                "requestBody": {"required": True, "content": {"application/json": {"schema": vertex_body}}},
                "responses": {"200": {**_json("The operation, started.", "GoogleOperation_vertex"), "links": {
                    "fetch": {"operationId": "vertexFetchPredictOperation" + suffix,
                              "description": "Read the operation under the model resource it was started under.",
                              "parameters": {p["name"]: f"$request.path.{p['name']}" for p in parameters},
                              "requestBody": {"operationName": "$response.body#/name"}}}}},
            }),
            ("vertex_fetch", prefix + ":fetchPredictOperation", "post", {
                "operationId": "vertexFetchPredictOperation" + suffix,
                "summary": "Read a Veo operation (Vertex AI" + (", express mode" if express else "") + ")",
                "description": "Done, the operation lists each video's bytes (or its gs:// object, when the submit gave a "
                               "storageUri), or says why it failed." + versions,
                "parameters": parameters,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("FetchPredictOperationRequest")}}},
                "responses": {"200": _json("The operation.", "GoogleOperation_vertex")},
            }),
        ]
    gemini_body, gemini_names = _path_model_requests(google.GEMINI_DIALECT, catalog, schemas, "PredictLongRunning_gemini")
    gemini_model = _path("model", {"enum": gemini_names}, "The model, by its Gemini API name (any other is a 404 not_found).")
    found += [
        ("gemini_submit", OPERATIONS["gemini_submit"][0], "post", {
            "operationId": "geminiPredictLongRunning",
            "summary": "Start generating videos with Veo (the Gemini API)",
            "parameters": [gemini_model],
            "requestBody": {"required": True, "content": {"application/json": {"schema": gemini_body}}},
            "responses": {"200": _json("The operation, started.", "GoogleOperation_gemini")},
        }),
        ("gemini_poll", OPERATIONS["gemini_poll"][0], "get", {
            "operationId": "geminiGetOperation",
            "summary": "Read a Veo operation (the Gemini API): GET /v1beta/{name}",
            "description": "Done, `response.generateVideoResponse.generatedSamples[].video.uri` links each video.",
            "parameters": [gemini_model, _path("operation_id", {"type": "string"})],
            "responses": {"200": _json("The operation.", "GoogleOperation_gemini")},
        }),
        ("gemini_download", OPERATIONS["gemini_download"][0], "get", {
            "operationId": "geminiDownloadFile",
            "summary": "Download a generated video (the Gemini API)",
            "description": "The link a done operation gives each video: the file id is the operation id and the "
                           "video's number.",
            "parameters": [_path("file", {"type": "string"}),
                           {"name": "alt", "in": "query", "required": True, "schema": {"const": "media"},
                            "description": "media: the file's bytes."},
                           _RANGE_HEADER],
            "responses": _video_responses(media_types=[google.VIDEO_MIME_TYPE], redirects=False),
        }),
    ]
    for route, _path_name, _method, described in found:
        described["security"] = GOOGLE_SECURITY
        described["tags"] = ["vertex" if route.startswith("vertex") else "gemini"]
    return found


def _kling_operations(catalog: Catalog, schemas: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Kling's native operations, at Kling's paths and under /kling, as (route, path, method, operation)."""
    schemas.update(_components("kling"))
    bodies = {operation: _model_requests(dialect, catalog, schemas, f"Kling{operation.capitalize()}Request",
                                         f"POST /v1/videos/{operation}: the model (model_name) decides which limits "
                                         "apply.")
              for operation, dialect in kling.DIALECTS.items()}
    found: list[tuple[str, str, str, dict[str, Any]]] = []
    for prefix, suffix in (("", ""), ("/kling", "Passthrough")):
        for operation in kling.DIALECTS:
            name = operation.capitalize()
            base = f"{prefix}/v1/videos/{operation}"
            found += [
                (f"kling_{operation}", base, "post", {
                    "operationId": f"klingCreate{name}{suffix}",
                    "summary": f"Create a Kling {operation} task" + (" (new-api's passthrough)" if prefix else ""),
                    "requestBody": {"required": True, "content": {"application/json": {"schema": bodies[operation]}}},
                    "responses": {"200": _json("The task, submitted.", "Kling_submit_response")},
                }),
                ("kling_query", base + "/{task_id}", "get", {
                    "operationId": f"klingQuery{name}{suffix}",
                    "summary": f"Query a Kling {operation} task, by its task_id or its external_task_id",
                    "parameters": [_path("task_id", {"type": "string"})],
                    "responses": {"200": _json("The task.", "Kling_task_response")},
                }),
                ("kling_list", base, "get", {
                    "operationId": f"klingList{name}{suffix}",
                    "summary": f"List the caller's Kling {operation} tasks, newest first",
                    "parameters": [
                        {"name": "pageNum", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": kling.MAX_PAGE_NUM, "default": 1}},
                        {"name": "pageSize", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": kling.MAX_PAGE_SIZE,
                                    "default": kling.DEFAULT_PAGE_SIZE}},
                    ],
                    "responses": {"200": _json("A page of tasks.", "Kling_task_list_response")},
                }),
            ]
    for _route, _path_name, _method, described in found:
        described["security"] = KLING_SECURITY
        described["tags"] = ["kling"]
    return found


def _new_api_profile(catalog: Catalog, schemas: dict[str, Any], operations: dict[str, dict[str, Any]]) -> None:
    """The documented operations as the new-api gateway profile answers them: its submit body (any model, read
    leniently), its video object for a submit, its {code, message, data} wrapper for a poll. The submit and the
    poll are operations of their own (their ids say so): an unknown task is new-api's 400, and new-api checks only what its relay reads, and what the upstream then
    refuses depends on how the relay read the rest (fields dropped, the first image, Atoi), which no body schema
    states."""
    schemas.update(_components("newapi_video", "newapi_task", "newapi_error"))
    operations["submit"]["requestBody"]["content"]["application/json"]["schema"] = _model_requests(
        newapi.DIALECT, catalog, schemas, "NewApiTaskSubmit",
        "POST /v1/video/generations as new-api reads it: fields it does not read are dropped, a size the model does "
        "not offer leaves its default size.")
    operations["submit"]["responses"]["200"] = _json("Task accepted: the OpenAI video object, with task_id.", "NewApiVideo")
    operations["poll"]["responses"]["200"] = _json("The task's row, in new-api's success wrapper.", "NewApiTaskResponse")
    # The header that picks the profile is no parameter here: a request without it is answered by the server's own
    # profile (gateway.profile, or the key's in gateway.keys), which a server this variant describes has set.
    operations["submit"]["operationId"] = "createVideoGenerationNewApi"
    operations["poll"]["operationId"] = "getVideoGenerationNewApi"


def openapi_document(catalog: Catalog, *, server_url: str | None = None, version: str = "0.1.0",
                     profile: str = "documented") -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for ``catalog``'s models, every dialect's routes, as ``profile`` (one of
    :data:`PROFILES`) answers the gateway's.

    A profile is a variant of the document rather than alternatives inside one: a tool reads one answer per
    status (Prism mocks it, Schemathesis holds the server to it), and a union of the documented poll and new-api's
    wrapper would let either answer pass where only one is right."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
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
    task_id = _path("task_id", {"type": "string"})
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
            "parameters": [task_id, _VARIANT, _RANGE_HEADER],
            "responses": _video_responses(),
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
    for route, operation in operations.items():
        operation["tags"] = ["models" if route.startswith("model") else "openai" if route in _OPENAI_ROUTES else "documented"]
    if profile == newapi.NAME:
        _new_api_profile(catalog, schemas, operations)
    everything = [(route, *OPERATIONS[route], operation) for route, operation in operations.items()]
    everything += _google_operations(catalog, schemas) + _kling_operations(catalog, schemas)
    paths: dict[str, dict[str, Any]] = {}
    for route, path, method, operation in everything:
        operation[ROUTE_EXTENSION] = route
        operation["responses"].update(_error_responses(route, error_shape(route, profile), profile))
        paths.setdefault(path, {})[method] = operation
    profiled = (" This is the document of the new-api gateway profile: the generations routes and the OpenAI "
                "Videos API's answer as new-api does, on a server run with --gateway new-api (gateway.profile), for a "
                "key gateway.keys maps to it, or for any request with the header X-Videomock-Gateway: new-api. "
                "GET /openapi.json?profile=documented gives the documented one.") if profile == newapi.NAME else (
                " Under the new-api gateway profile (X-Videomock-Gateway: new-api) the generations routes and the OpenAI "
                "Videos API answer as new-api does: GET /openapi.json?profile=new-api documents that.")
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "videomock: video generation API (fake provider)",
            "version": version,
            "description": "OpenAI-style asynchronous video generation: submit, poll until completed, download `url`. "
                           "The OpenAI Videos API (/v1/videos: create, retrieve, list, delete, remix, and the shared "
                           "download) is served too, for every model; so are Google Veo's APIs (Vertex AI's "
                           "predictLongRunning and fetchPredictOperation, the Gemini API's predictLongRunning, operations "
                           "and file downloads) and Kling's native API (text2video and image2video, also under /kling), "
                           "for the models the catalog names there." + profiled,
        },
        "tags": [{"name": "documented", "description": "The documented gateway API, /v1/video/generations."},
                 {"name": "openai", "description": "The OpenAI Videos API, /v1/videos."},
                 {"name": "models", "description": "The catalog's models."},
                 {"name": "vertex", "description": "Google Veo on Vertex AI (what google-genai calls with vertexai=True)."},
                 {"name": "gemini", "description": "Google Veo in the Gemini API."},
                 {"name": "kling", "description": "Kling's native API: each request carries a JWT its client signs "
                                                  "(HS256, iss the access key) with its secret key."}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "An API key (auth.api_keys); on Google's routes, also an OAuth 2 access token."},
                "googApiKey": {"type": "apiKey", "in": "header", "name": "x-goog-api-key"},
                "googApiKeyQuery": {"type": "apiKey", "in": "query", "name": "key"},
                "klingJWT": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                             "description": "An HS256 JWT, iss the access key, with exp (and nbf), signed with the secret "
                                            "key (auth.kling_keys; with none configured, any unexpired one)."},
            },
        },
        "security": [{"bearerAuth": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
