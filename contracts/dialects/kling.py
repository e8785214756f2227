"""Kling's native API (``POST /v1/videos/text2video`` and ``/v1/videos/image2video``), derived from the catalog.

What Kling's API reference documents, and new-api's Kling adaptor sends: the model in ``model_name`` (default
``kling-v1``; new-api also copies it into ``model``, which Kling ignores), ``duration`` as a string (``"5"``),
and at the top level what the canonical request keeps in ``metadata`` (negative_prompt, cfg_scale, mode,
aspect_ratio, camera_control, callback_url, external_task_id, and Kling 2.6's sound; image2video adds ``image`` and ``image_tail``,
at least one of them). An image is a URL or the Base64 string itself, JPEG or PNG
(:data:`~videomock.contracts.images.RAW_JPEG_PNG`). Every model the catalog names for Kling (``names.kling``)
has a schema per request, built from its durations, prompt limit and metadata fields, so a model added
through config is served with no code change.

Answers are the messages of ``kling.schema.json``; errors carry Kling's service codes, each with the HTTP
status Kling pairs it with (:func:`service_code`, :func:`service_status`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from videomock.contracts.catalog import ModelSpec
from videomock.contracts.dialects import RequestDialect
from videomock.contracts.errors import error_codes
from videomock.contracts.images import RAW_JPEG_PNG
from videomock.contracts.schemas import DIALECT as SCHEMA_DIALECT
from videomock.contracts.schemas import CompiledSchema, load_schema
from videomock.contracts.validation import RULE_EXPLAINERS, Violation, violations_of

NAME = "kling"
#: Kling's default model_name; the catalog may not offer it (then a body without model_name is refused, saying so).
DEFAULT_MODEL = "kling-v1"
TEXT2VIDEO, IMAGE2VIDEO = "text2video", "image2video"
#: Fields Kling takes at the top level that the canonical request keeps in ``metadata``, for both requests.
METADATA_FIELDS = ("negative_prompt", "cfg_scale", "mode", "aspect_ratio", "camera_control", "callback_url",
                   "external_task_id", "sound")
#: Kling's list (GET /v1/videos/{text2video|image2video}): pageNum 1..1000, pageSize 1..500, 30 by default.
MAX_PAGE_NUM, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE = 1000, 500, 30
#: The annotation of the image2video rule "image or image_tail".
IMAGE_RULE = "kling_image_or_tail"
#: The annotations of a request the model cannot serve, by request: (rule, what the model does not do, the
#: request to use instead).
UNSERVED = {TEXT2VIDEO: ("kling_text2video_unsupported", "text-to-video", IMAGE2VIDEO),
            IMAGE2VIDEO: ("kling_image2video_unsupported", "image-to-video", TEXT2VIDEO)}

_IMAGE = {"type": "string", "format": RAW_JPEG_PNG.schema_format,
          "description": "An http(s) URL, or the Base64 string of a JPEG or PNG itself (no data: prefix); at most "
                         "10 MB, each side at least 300 px, aspect ratio within 1:2.5..2.5:1."}


def request_schema(spec: ModelSpec, operation: str) -> dict[str, Any]:
    """The model's text2video or image2video body: its durations as strings, its metadata fields at the top."""
    embedded = spec.request_schema["properties"]["metadata"]["properties"]
    properties: dict[str, Any] = {
        "model_name": {"type": "string", "enum": list(spec.names_in(NAME)),
                       "description": f"{spec.id} as Kling names it. Kling's default is {DEFAULT_MODEL}."},
        "model": {"type": "string", "description": "Ignored, as Kling ignores it: new-api copies model_name here."},
        "prompt": {"type": "string", "minLength": 1, "maxLength": spec.prompt_max_length},
        "duration": {"type": "string", "enum": [str(d) for d in spec.durations],
                     "description": f"Seconds, as a string; default \"{spec.defaults['duration']}\"."},
        **{name: embedded[name] for name in METADATA_FIELDS if name in embedded},
    }
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "title": f"Kling{operation.capitalize()}[{spec.id}]",
        "description": f"POST /v1/videos/{operation} for {spec.id} ({spec.vendor}). {spec.description}".strip(),
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    rules: list[dict[str, Any]] = []
    if operation == TEXT2VIDEO:
        schema["required"] = ["prompt"]
        serves = spec.text_to_video
    else:
        properties["image"] = _IMAGE
        if "image_tail" in embedded:
            properties["image_tail"] = {**embedded["image_tail"], **_IMAGE}
        rules.append({"anyOf": [{"required": ["image"]}, {"required": ["image_tail"]}], "x-videomock-rule": IMAGE_RULE})
        serves = spec.image_to_video
    if not serves:
        rules.append({"not": {}, "x-videomock-rule": UNSERVED[operation][0]})
    if rules:
        schema["allOf"] = rules
    return schema


def to_generation_request(body: Mapping[str, Any], spec: ModelSpec, operation: str) -> dict[str, Any]:
    """A valid body as the catalog's canonical generation request. An image2video body with only an end frame
    renders from it (the placeholder has no motion to end in)."""
    request: dict[str, Any] = {"model": spec.id}
    if "prompt" in body:
        request["prompt"] = body["prompt"]
    if "duration" in body:
        request["duration"] = int(body["duration"])
    if operation == IMAGE2VIDEO:
        request["image"] = body.get("image", body.get("image_tail"))
    metadata = {name: body[name] for name in (*METADATA_FIELDS, "image_tail") if name in body}
    if metadata:
        request["metadata"] = metadata
    return request


def _explain_image_or_tail(error: Any, body: Any, spec: ModelSpec) -> Violation:
    return Violation("/image", "image is required (or image_tail): image2video needs a first or a last frame",
                     "missing_required_parameter")


def _unserved(kind: str, other: str) -> Callable[[Any, Any, ModelSpec], Violation]:
    def explain(error: Any, body: Any, spec: ModelSpec) -> Violation:
        return Violation("/model_name", f"{spec.id} does not do {kind}; use /v1/videos/{other}", "unsupported_mode")
    return explain


RULE_EXPLAINERS[IMAGE_RULE] = _explain_image_or_tail
RULE_EXPLAINERS.update({rule: _unserved(kind, other) for rule, kind, other in UNSERVED.values()})


def _dialect(operation: str) -> RequestDialect:
    return RequestDialect(NAME, lambda spec: request_schema(spec, operation),
                          lambda body, spec: to_generation_request(body, spec, operation),
                          default_model=DEFAULT_MODEL, by_id=False, model_field="model_name", operation=operation)


#: Each create request, by the path segment that names it.
DIALECTS = {operation: _dialect(operation) for operation in (TEXT2VIDEO, IMAGE2VIDEO)}


# --- answers ----------------------------------------------------------------------------------------------------

@cache
def _message_validator(name: str) -> CompiledSchema:
    definitions = load_schema("kling")["$defs"]
    if name not in definitions:
        raise ValueError(f"no Kling message {name!r}; known: {', '.join(definitions)}")
    return CompiledSchema({"$schema": SCHEMA_DIALECT, "$ref": f"#/$defs/{name}", "$defs": definitions}, check=False)


def validate_message(name: str, body: Any) -> list[Violation]:
    """Every violation of ``body`` against the Kling message ``name`` (a ``$defs`` entry of kling.schema.json:
    submit_response, task_response, task_list_response, callback, error); ours, or a recording of Kling's."""
    return violations_of(_message_validator(name), body)


# --- service codes ------------------------------------------------------------------------------------------------

@cache
def service_codes() -> Mapping[int, int]:
    """Kling's service codes, each with the HTTP status Kling answers it with."""
    table: Mapping[str, Mapping[str, Any]] = load_schema("kling")["x-service-codes"]
    return {int(code): int(entry["status"]) for code, entry in table.items()}


#: The fake's error codes (contracts/errors.json) as Kling's service codes. A code not listed takes the one
#: for its status (:data:`BY_STATUS`).
SERVICE_CODES: Mapping[str, int] = {
    "invalid_api_key": 1000, "missing_token": 1001, "invalid_token": 1002, "token_not_yet_valid": 1003,
    "token_expired": 1004, "insufficient_user_quota": 1102,
    "bad_request": 1200, "invalid_json": 1200, "unsupported_content_type": 1200, "unsupported_charset": 1200,
    "malformed_body": 1200, "not_found": 1202, "method_not_allowed": 1202, "task_not_found": 1203,
    "model_not_found": 1203, "content_policy_violation": 1301, "rate_limit_exceeded": 1302,
    "concurrency_limit_exceeded": 1303, "internal_error": 5000, "bad_gateway": 5000, "service_unavailable": 5001,
    "gateway_timeout": 5002,
}
#: The service code for a status, when an error's code says no more (Kling pairs these with that status;
#: 400 is the parameter error, which is what most 400s are).
BY_STATUS: Mapping[int, int] = {400: 1201, 401: 1000, 403: 1103, 404: 1203, 429: 1302, 500: 5000, 503: 5001, 504: 5002}


def service_code(code: str | None, status: int) -> int:
    """The service code of an error the fake answers with ``code`` and ``status``. ``code`` is one of the error
    table's, or one of Kling's service codes as a number, such as "1004", which is taken as it is: the adapter
    raises a refusal only Kling has that way, and an injected fault may name one."""
    if code is not None and code.isdecimal() and int(code) in service_codes():
        return int(code)
    if code is not None and code in SERVICE_CODES:
        return SERVICE_CODES[code]
    return _for_status(status)


def _for_status(status: int) -> int:
    return BY_STATUS.get(status, 5000 if status >= 500 else 1200)


def service_status(code: str | None, status: int, *, injected: bool) -> tuple[int, int]:
    """The service code and HTTP status Kling answers an error with. The fake's own conditions take the status
    Kling pairs with their service code (out of credits is a 429, an unknown model a 404). An injected error
    keeps the status its rule chose, and so does an error HTTP itself answers (a 405's Allow, a 413's closed
    connection: :func:`~videomock.contracts.errors.protocol_code`) or one the error table does not list; an
    injected error whose code Kling pairs
    with another status takes the service code for its status instead, unless its rule named a service code."""
    service = service_code(code, status)
    entry = error_codes().get(code) if code is not None else None
    if not injected and entry is not None and not entry.protocol:
        return service, service_codes()[service]
    if injected and not (code is not None and code.isdecimal()) and service_codes()[service] != status:
        service = _for_status(status)
    return service, status
