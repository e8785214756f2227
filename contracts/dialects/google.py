"""The Google Veo APIs' create request (``POST .../models/{model}:predictLongRunning``), derived from the catalog:
Vertex AI's (what google-genai sends with ``vertexai=True``) and the Gemini API's.

Both APIs take ``{"instances": [{prompt, image, lastFrame, referenceImages}], "parameters": {...}}`` and name the
model in the path, by Google's names (the catalog's ``names`` for each dialect; ``veo-3.1-generate-preview``
is ``veo_3_1``). The parameters are the catalog's rules in Google's spelling: ``durationSeconds`` is the
duration, ``sampleCount`` the number of videos (up to the model's ``max_n``), each metadata field is its name
in camelCase (``negative_prompt`` is ``negativePrompt``), and ``aspectRatio`` and ``resolution`` pick the size
as they do in the documented body, so 1080p takes 8 seconds only, in the words of ``parameters``. Vertex AI
also takes ``seed``, ``fps``, ``generateAudio``, ``storageUri``, ``compressionQuality``, ``resizeMode``,
``pubsubTopic`` and ``labels``; the Gemini API refuses them. Both take ``webhookConfig`` (``uris``,
``userMetadata``): where the finished operation's event is posted.

Enum values are read in either case: Google documents them in lower case, and google-genai sends its enums in
upper case (``ASSET``, ``OPTIMIZED``).
Images are ``{"bytesBase64Encoded", "mimeType"}`` or ``{"gcsUri"}``; their bytes meet the catalog's image rules
(:mod:`videomock.contracts.images`), and a Cloud Storage object becomes its https URL, which the fake fetches
only where image fetching is enabled. ``lastFrame`` and ``referenceImages`` are checked as images too, but the
placeholder video is rendered from ``image`` alone, so they reach no further than validation.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from videomock.contracts.catalog import ModelSpec
from videomock.contracts.dialects import RequestDialect
from videomock.contracts.images import SCHEMA_FORMAT
from videomock.contracts.schemas import load_schema
from videomock.contracts.validation import RULE_EXPLAINERS, Violation, _choices, _show, json_pointer

VERTEX, GEMINI = "vertex", "gemini"
#: The annotation of the schema part that pairs aspect ratios and resolutions with the durations they allow.
SIZE_RULE = "google_size"
#: The annotation of an image's one source: its bytes or a Cloud Storage object.
IMAGE_SOURCE_RULE = "google_image_source"
#: A Cloud Storage object (``gs://bucket/object``) and a folder (``gs://bucket[/path]``), as Google spells them.
GCS_OBJECT = r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/.+$"
GCS_FOLDER = r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/.*)?$"
#: Where a Cloud Storage object is reachable over https.
GCS_HTTPS = "https://storage.googleapis.com/"
#: The parameters that carry a field of the canonical request, by name there.
CANONICAL_PARAMETERS = {"durationSeconds": "duration", "sampleCount": "n", "seed": "seed", "fps": "fps"}
#: The parameters only Vertex AI takes (the catalog's metadata fields among them only where the model has them).
VERTEX_ONLY = frozenset({"seed", "fps", "generateAudio", "storageUri", "compressionQuality", "resizeMode", "pubsubTopic"})

_IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"]
#: The media type of every video Veo answers with.
VIDEO_MIME_TYPE = "video/mp4"

#: A request's own webhook targets (a dynamic webhook): each of ``uris`` gets the operation's event, with
#: ``userMetadata`` in it.
WEBHOOK_CONFIG: dict[str, Any] = {
    "type": "object",
    "description": "Where the operation's video.generated event is posted, instead of any registered webhook.",
    "properties": {
        "uris": {"type": "array", "items": {"type": "string", "pattern": "^https?://"}, "minItems": 1, "maxItems": 10,
                 "uniqueItems": True},
        "userMetadata": {"type": "object", "description": "Echoed in each event, to route it on receipt."},
    },
    "required": ["uris"],
    "additionalProperties": False,
}


def camel(name: str) -> str:
    """A catalog name (``negative_prompt``) as Google spells it (``negativePrompt``)."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def either_case(values: list[Any]) -> list[Any]:
    """An enum as Google's APIs read it: each word also in upper case, which is how google-genai sends its
    enums (``ASSET``, ``OPTIMIZED``, ``ALLOW_ADULT``)."""
    return list(dict.fromkeys([*values, *(v.upper() for v in values if isinstance(v, str))]))


def _in_either_case(field: Any) -> Any:
    if isinstance(field, dict) and isinstance(field.get("enum"), list):
        return {**field, "enum": either_case(field["enum"])}
    return field


def catalog_spelling(spec: ModelSpec, name: str, value: Any) -> Any:
    """A value of metadata field ``name`` as the catalog spells it (it may have come in upper case)."""
    field = spec.metadata_fields.get(name)
    values = field.get("enum", ()) if isinstance(field, Mapping) else ()
    return next((v for v in values if isinstance(v, str) and isinstance(value, str) and v.upper() == value.upper()), value)


def _image(what: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"{what}: its bytes, base64-encoded, with their MIME type, or a Cloud Storage object.",
        "properties": {
            "bytesBase64Encoded": {"type": "string", "format": SCHEMA_FORMAT,
                                   "description": f"A PNG, JPEG or WebP image, base64-encoded. {what}."},
            "gcsUri": {"type": "string", "pattern": GCS_OBJECT, "description": "gs://bucket/object."},
            "mimeType": {"enum": _IMAGE_TYPES},
        },
        "allOf": [{"oneOf": [{"required": ["bytesBase64Encoded", "mimeType"]}, {"required": ["gcsUri"]}],
                   "x-videomock-rule": IMAGE_SOURCE_RULE}],
        "additionalProperties": False,
    }


def image_fields() -> dict[str, Any]:
    """An instance's images, whatever the model: the first and last frames and the subject's references."""
    return {
        "image": _image("The first frame"),
        "lastFrame": _image("The last frame (with image, the first)"),
        "referenceImages": {
            "type": "array", "maxItems": 3, "description": "Up to three images of a subject to keep in the video.",
            "items": {"type": "object", "properties": {"image": _image("A subject's image"),
                                                       "referenceType": {"enum": either_case(["asset", "style"])}},
                      "required": ["image"], "additionalProperties": False},
        },
    }


def _instance(spec: ModelSpec) -> dict[str, Any]:
    unsupported = {"not": {}, "x-videomock-rule": "image_to_video_unsupported"}
    images = image_fields()
    instance: dict[str, Any] = {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "minLength": 1, "maxLength": spec.prompt_max_length},
            **(images if spec.image_to_video else dict.fromkeys(images, unsupported)),
        },
        "additionalProperties": False,
    }
    if not spec.text_to_video:
        instance["required"] = ["image"]
    else:
        instance["anyOf"] = [{"required": ["prompt"]}, {"required": ["image"]}]
    return instance


def _parameters(spec: ModelSpec, dialect: str) -> dict[str, Any]:
    metadata = spec.request_schema["properties"]["metadata"]["properties"]
    properties: dict[str, Any] = {
        "sampleCount": {"type": "integer", "minimum": 1, "maximum": spec.max_n, "description": "How many videos; default 1."},
        "durationSeconds": {"type": "integer", "enum": list(spec.durations),
                            "description": f"Clip length in seconds; default {spec.defaults['duration']}."},
        **{camel(name): _in_either_case(copy.deepcopy(field)) for name, field in metadata.items()},
        "seed": {"type": "integer", "minimum": 0, "maximum": 4294967295},
        "fps": {"type": "integer", "enum": list(spec.fps)},
        "storageUri": {"type": "string", "pattern": GCS_FOLDER,
                       "description": "A Cloud Storage folder: the videos are answered as gs:// objects in it (which the fake cannot serve) instead of their bytes."},
        "compressionQuality": {"enum": either_case(["optimized", "lossless"])},
        "resizeMode": {"enum": either_case(["pad", "crop"])},
        "pubsubTopic": {"type": "string", "pattern": "^projects/[^/]+/topics/[^/]+$",
                        "description": "Accepted; the fake publishes nothing to it."},
    }
    if dialect != VERTEX:
        properties = {name: schema for name, schema in properties.items() if name not in VERTEX_ONLY}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _request_schema(spec: ModelSpec, dialect: str) -> dict[str, Any]:
    api = "Vertex AI" if dialect == VERTEX else "the Gemini API"
    properties: dict[str, Any] = {
        "instances": {"type": "array", "minItems": 1, "maxItems": 1, "items": _instance(spec)},
        "parameters": _parameters(spec, dialect),
    }
    if dialect == VERTEX:
        properties["labels"] = {"type": "object", "additionalProperties": {"type": "string"}}
    properties["webhookConfig"] = WEBHOOK_CONFIG
    branches = []
    for size in spec.sizes:
        picks = {camel(k): {"enum": either_case([v])} for k, v in size.selectors.items() if k in spec.metadata_fields}
        branches.append({"properties": {"parameters": {"properties": {
            **picks, "durationSeconds": {"enum": list(spec.durations_at(size))}}}}})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"PredictLongRunning[{dialect}, {spec.id}]",
        "description": f"POST .../models/{{model}}:predictLongRunning in {api} for {spec.id} ({spec.vendor}). "
                       f"{spec.description}".strip(),
        "type": "object",
        "properties": properties,
        "required": ["instances"],
        "additionalProperties": False,
        "allOf": [{"anyOf": branches, "x-videomock-rule": SIZE_RULE}],
    }


def vertex_request_schema(spec: ModelSpec) -> dict[str, Any]:
    return _request_schema(spec, VERTEX)


def gemini_request_schema(spec: ModelSpec) -> dict[str, Any]:
    return _request_schema(spec, GEMINI)


def image_reference(image: Mapping[str, Any]) -> str:
    """A valid image object as the canonical request's ``image``: its base64 bytes, or its object's https URL."""
    if "gcsUri" in image:
        return GCS_HTTPS + str(image["gcsUri"]).removeprefix("gs://")
    return str(image["bytesBase64Encoded"])


def to_generation_request(body: Mapping[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """A valid body as the catalog's canonical generation request. What has no field there (storageUri,
    lastFrame, ...) is the adapter's to keep."""
    instance = body["instances"][0]
    parameters = body.get("parameters", {})
    request: dict[str, Any] = {"model": spec.id}
    if "prompt" in instance:
        request["prompt"] = instance["prompt"]
    if "image" in instance:
        request["image"] = image_reference(instance["image"])
    request.update({field: parameters[name] for name, field in CANONICAL_PARAMETERS.items() if name in parameters})
    metadata = {name: catalog_spelling(spec, name, parameters[camel(name)]) for name in spec.metadata_fields
                if camel(name) in parameters}
    if metadata:
        request["metadata"] = metadata
    return request


def _explain_size(error: Any, body: Any, spec: ModelSpec) -> Violation:
    """A duration the chosen aspect ratio and resolution do not allow (or a pair the model does not offer):
    name the parameter and say what is allowed, in the parameters' own names."""
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    given = {k: catalog_spelling(spec, k, parameters[camel(k)]) for k in spec.metadata_fields if camel(k) in parameters
             and any(k in size.selectors for size in spec.sizes)}
    for key, value in given.items():
        # A value no size has is its own parameter's fault (its enum says so too), not the others'.
        values = [size.selectors[key] for size in spec.sizes if key in size.selectors]
        if value not in values:
            return Violation(f"/parameters/{camel(key)}", f"parameters.{camel(key)} {_show(parameters[camel(key)])} is not "
                                                           f"supported by {spec.id}; allowed: {_choices(dict.fromkeys(values))}",
                             "unsupported_value")
    rows = [s for s in spec.sizes if all(s.selectors.get(k, v) == v for k, v in given.items())]
    if not rows:
        offered = _choices(", ".join(f"{camel(k)} {v}" for k, v in s.selectors.items() if k in given) for s in spec.sizes)
        last = list(given)[-1]
        return Violation(f"/parameters/{camel(last)}", f"parameters.{camel(last)} {_show(given[last])} is not offered by "
                                                        f"{spec.id} with the other parameters given; offered: {offered}",
                         "unsupported_value")
    allowed = _choices(sorted({d for s in rows for d in spec.durations_at(s)}))
    where = ", ".join(f"{camel(k)} {v}" for k, v in given.items()) or "its default size"
    return Violation("/parameters/durationSeconds", f"parameters.durationSeconds {_show(parameters.get('durationSeconds'))} "
                                                    f"is not supported by {spec.id} at {where}; allowed: {allowed}",
                     "unsupported_value")


def _explain_image_source(error: Any, body: Any, spec: ModelSpec) -> Violation:
    path = list(error.absolute_path)
    name = ".".join(map(str, path))
    return Violation(json_pointer(path), f"{name} needs exactly one of bytesBase64Encoded (with mimeType) and gcsUri",
                     "invalid_value")


def status_name(http_status: int) -> str:
    """The canonical name Google's errors give an HTTP status (``x-status-names`` of the error schema)."""
    names: Mapping[str, str] = load_schema("google_error")["x-status-names"]
    return names.get(str(http_status), "INTERNAL" if http_status >= 500 else "INVALID_ARGUMENT")


def error_reason(code: str) -> str:
    """The google.rpc.ErrorInfo ``reason`` that carries one of the fake's error codes (contracts/errors.json):
    Google's reasons are upper-case words, so a client matches them as it matches Google's own."""
    return re.sub(r"[^A-Z0-9]+", "_", code.upper())


def rpc_code(name: str) -> int:
    """The number of a canonical status name, as a failed operation's ``error.code`` gives it."""
    codes: Mapping[str, int] = load_schema("google_error")["x-rpc-codes"]
    return codes[name]


RULE_EXPLAINERS[SIZE_RULE] = _explain_size
RULE_EXPLAINERS[IMAGE_SOURCE_RULE] = _explain_image_source

VERTEX_DIALECT = RequestDialect(VERTEX, vertex_request_schema, to_generation_request, by_id=False)
GEMINI_DIALECT = RequestDialect(GEMINI, gemini_request_schema, to_generation_request, by_id=False)
