"""The OpenAI Videos API's create request (``POST /v1/videos``), derived from the catalog.

What the openai SDK sends (``resources/videos.py``): always ``multipart/form-data``, even without a file, with
``prompt`` (required), ``model`` (default ``sora-2``), ``seconds`` as a string (``"4"``), ``size`` as
``"WIDTHxHEIGHT"`` and an optional ``input_reference``: a file part, or ``{"image_url": ...}`` (a URL or data
URI). JSON clients send the same fields. Gateways serve this API for every video model, so every catalog
model has a schema here, in its own seconds and sizes; a file part reaches validation as a data URI, so the
image rules are the contract's (:mod:`videomock.contracts.images`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from videomock.contracts.catalog import ModelSpec
from videomock.contracts.dialects import RequestDialect
from videomock.contracts.images import SCHEMA_FORMAT
from videomock.contracts.validation import RULE_EXPLAINERS, Violation, _choices, _show

NAME = "openai"
DEFAULT_MODEL = "sora-2"
#: The annotation of the schema part that pairs sizes with the seconds each allows.
SIZE_RULE = "openai_size"

_IMAGE = {"type": "string", "format": SCHEMA_FORMAT,
          "description": "A data URI, raw base64 or an http(s) URL of a PNG, JPEG or WebP image."}
#: ``input_reference`` of a model that animates images: the image itself, or an object naming it by URL (a file
#: part of a form reaches validation as a data URI).
INPUT_REFERENCE = {
    "description": "The image to animate: uploaded as a file part, or given by URL or data URI.",
    "anyOf": [_IMAGE, {"type": "object", "properties": {"image_url": _IMAGE}, "required": ["image_url"],
                       "additionalProperties": False}],
}


def request_schema(spec: ModelSpec) -> dict[str, Any]:
    """The model's create request: its seconds and sizes as this API spells them."""
    default_size = next(s for s in spec.sizes if (s.width, s.height) == (spec.defaults["width"], spec.defaults["height"]))
    properties: dict[str, Any] = {
        "model": {"type": "string", "enum": [spec.id, *spec.names_in(NAME)],
                  "description": f"{spec.id}, or any of its names here." + (" The default." if spec.id == DEFAULT_MODEL else "")},
        "prompt": {"type": "string", "minLength": 1, "maxLength": spec.prompt_max_length},
        "seconds": {"type": "string", "enum": [str(d) for d in spec.durations],
                    "description": f"Clip length in seconds, as a string; default \"{spec.defaults['duration']}\"."},
        "size": {"type": "string", "enum": [s.label for s in spec.sizes],
                 "description": f"WIDTHxHEIGHT; default {default_size.label}."},
    }
    if spec.image_to_video:
        properties["input_reference"] = copy.deepcopy(INPUT_REFERENCE)
    else:
        properties["input_reference"] = {"not": {}, "x-videomock-rule": "image_to_video_unsupported"}
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"VideoCreate[{spec.id}]",
        "description": f"POST /v1/videos for {spec.id} ({spec.vendor}). {spec.description}".strip(),
        "type": "object",
        "properties": properties,
        "required": ["prompt"] if spec.text_to_video else ["prompt", "input_reference"],
        "additionalProperties": False,
    }
    if any(size.durations is not None for size in spec.sizes):
        # A size's branch requires it: a body without one is the default size's, whatever seconds other sizes allow.
        branches: list[dict[str, Any]] = [
            {"properties": {"size": {"const": s.label}, "seconds": {"enum": [str(d) for d in spec.durations_at(s)]}},
             "required": ["size"]}
            for s in spec.sizes
        ]
        branches.append({"properties": {"size": False, "seconds": {"enum": [str(d) for d in spec.durations_at(default_size)]}}})
        schema["allOf"] = [{"anyOf": branches, "x-videomock-rule": SIZE_RULE}]
    return schema


def to_generation_request(body: Mapping[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """A valid body as the catalog's canonical generation request."""
    request: dict[str, Any] = {"model": spec.id, "prompt": body["prompt"]}
    if "seconds" in body:
        request["duration"] = int(body["seconds"])
    if "size" in body:
        width, _, height = body["size"].partition("x")
        request["width"], request["height"] = int(width), int(height)
    reference = body.get("input_reference")
    if reference is not None:
        request["image"] = reference if isinstance(reference, str) else reference["image_url"]
    return request


def _explain_size(error: Any, body: Any, spec: ModelSpec) -> Violation:
    """Seconds a size does not allow: name the size (or the default size) and what it allows."""
    size = body.get("size")
    for candidate in spec.sizes:
        at_default = size is None and (candidate.width, candidate.height) == (spec.defaults["width"], spec.defaults["height"])
        if candidate.label == size or at_default:
            allowed = _choices(str(d) for d in spec.durations_at(candidate))
            where = candidate.label if size is not None else f"the default size {candidate.label}"
            return Violation("/seconds", f"seconds {_show(body.get('seconds'))} is not supported by {spec.id} at {where}; "
                                         f"allowed: {allowed}", "unsupported_value")
    return Violation("/size", f"size {_show(size)} is not supported by {spec.id}; allowed: "
                              f"{_choices(s.label for s in spec.sizes)}", "unsupported_value")


RULE_EXPLAINERS[SIZE_RULE] = _explain_size

DIALECT = RequestDialect(NAME, request_schema, to_generation_request, default_model=DEFAULT_MODEL)
