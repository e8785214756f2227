"""new-api's video task routes (``/v1/video/generations`` under the ``new-api`` gateway profile): the request
it reads, mapped onto the canonical request, and the facts about what it answers.

new-api (QuantumNous/new-api) is a gateway: it decodes a submit into its ``TaskSubmitReq`` (relay/common),
checks the prompt, and hands the rest to the upstream's adaptor. So its request side is lenient where the
documented one is strict. It reads ``prompt, model, mode, image, images[], size, duration, seconds,
input_reference, metadata``; Go's JSON decoding drops every other field (``width, height, fps, seed, n,
response_format, user``, ...) without a word. ``duration`` is an integer or a string of one, and
``metadata`` an object or a JSON string of one; anything else in them decodes to nothing, silently. A field
it reads with the wrong type, or a prompt that is empty or blank, is its relay's 400 ``invalid_request``
(``prompt is required``). The model is picked before that, by its Distribute middleware.

What reaches the upstream is then what the upstream takes: a ``size`` the model offers, a duration, the
first image, the metadata fields the model has (the adaptors decode metadata into the upstream's request,
dropping what it has no field for). Everything else is left to the model's defaults, so a body the
documented profile refuses for its size is accepted here with the model's default size, as the real
gateway does. What the upstream refuses (a duration the model does not offer, say) the canonical request's
own validation refuses, naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from videomock.contracts.catalog import ModelSpec
from videomock.contracts.dialects import RequestDialect
from videomock.contracts.validation import RULE_EXPLAINERS, Violation, first_non_finite, json_pointer, json_type

NAME = "new-api"
#: The annotation on every part of the request schema: its violations are the relay's ``invalid_request``.
REQUEST_RULE = "new_api_request"

#: The fake's task statuses as new-api reports them (model/task.go).
TASK_STATUSES: Mapping[str, str] = {
    "queued": "SUBMITTED", "in_progress": "IN_PROGRESS", "completed": "SUCCESS", "failed": "FAILURE",
}
#: The progress new-api's poller records with each status it sets (relay/channel/task/taskcommon), a stepped
#: scale: an upstream adaptor that reports no progress of its own (Kling's) leaves a running task at 30% until
#: it finishes. A failure sets none: the task keeps the progress it had (see :func:`task_status`).
STEPPED_PROGRESS: Mapping[str, str] = {"SUBMITTED": "10%", "IN_PROGRESS": "30%", "SUCCESS": "100%"}


def ran_before_failing(progress: int) -> bool:
    """Whether a task the core reports failed at ``progress`` (0..100) had been running when it failed.

    The core records a failure at the progress where it happened: a fail fault "at 60%" at 60, a render
    failure below 100, a safety filter withholding every video at 100 (the end). Each of those above 0 came
    while the task ran. One at 0 (a fail fault "at 0%") came the moment the task would have started: new-api
    never saw it running."""
    return progress > 0


def task_status(status: str, progress: int) -> tuple[str, str]:
    """new-api's status and progress for a task the core reports as ``status`` at ``progress``.

    A failed task keeps the progress new-api last recorded for it, as the real gateway answers (a FAILURE at
    "30%", tests/data/recordings/new_api_task_failure.json), not "100%": on the stepped scale, "30%" for a
    task that failed while IN_PROGRESS, "10%" for one that failed before it ran, still SUBMITTED
    (:func:`ran_before_failing`)."""
    name = TASK_STATUSES[status]
    if name == "FAILURE":
        return name, STEPPED_PROGRESS["IN_PROGRESS" if ran_before_failing(progress) else "SUBMITTED"]
    return name, STEPPED_PROGRESS[name]


#: The errors new-api answers in its task relay's TaskError shape, ``{"code", "message", "data": null}``, on
#: its task routes (POST and GET /v1/video/generations); every other error is in the OpenAI shape,
#: ``{"error": {"message", "type": "new_api_error", "param", "code"}}`` (see :data:`ERROR_TYPE`).
#:
#: The recordings and what-real-gateways-return.md section 2 decide. The wrapper is what they show for
#: the task relay's own verdicts: on the task (an unknown id is a 400 ``task_not_exist``,
#: new_api_task_not_exist.json) and on the submit's content (an empty or blank prompt, a field new-api
#: reads with the wrong type: 400 ``invalid_request``), to which the fake adds the codes of what the upstream
#: refuses in a submit new-api passed on (a duration or size the model does not offer, a prompt too long,
#: an image it cannot take). "Gateway-side errors use the OpenAI shape", the doc says: the gateway's own
#: checks around the relay are in it, and the recording of one confirms it (out of quota,
#: new_api_quota.json: 403 ``insufficient_user_quota``). So are: the key (401), the body's JSON and its
#: type, its size, the model (the middleware's, before the relay runs); its limits (429 on too many tasks
#: in flight or requests; 503 when no upstream channel serves the model, the doc's other gateway-side
#: case); injected upstream failures (502, 504, a 400 content-policy refusal) and the fake's own errors
#: (500, its control headers, Idempotency-Key), which no recording shows in the wrapper. (new-api's source,
#: of another version, answers the quota error as a TaskError ``quota_not_enough``; the recording wins.)
TASK_ERROR_CODES = frozenset({
    "task_not_exist", "invalid_request",
    "missing_required_parameter", "unknown_parameter", "unsupported_value", "string_above_max_length",
    "string_below_min_length", "value_out_of_range", "invalid_value", "invalid_image", "unsupported_mode",
})
ERROR_TYPE = "new_api_error"

#: Go's strconv.Atoi: an optional sign and ASCII digits, nothing around them, within int64.
_ATOI = re.compile(r"[+-]?[0-9]+")
_INT64 = 2**63
_STRING = {"type": ["string", "null"], "x-videomock-rule": REQUEST_RULE}


def request_schema(spec: ModelSpec) -> dict[str, Any]:
    """What new-api's decoding of the submit refuses, whichever model: a field it reads with the wrong JSON
    type (a null is Go's zero value, so it passes), and a missing or blank prompt. Fields it does not read
    are not its business."""
    properties: dict[str, Any] = {
        "model": {"type": "string", "enum": [spec.id, *spec.names_in(NAME)], "description": f"{spec.id}, or any of its names here."},
        "prompt": {"type": "string", "pattern": r"\S", "x-videomock-rule": REQUEST_RULE},
        "mode": {**_STRING, "description": "Kling's std or pro: metadata.mode, for a model that has it."},
        "image": {**_STRING, "description": "The image to animate (a URL or base64); the first of image, images and input_reference counts."},
        "images": {"type": ["array", "null"], "items": dict(_STRING), "x-videomock-rule": REQUEST_RULE},
        "size": {**_STRING, "description": "WIDTHxHEIGHT; one the model does not offer leaves the model's default size."},
        "duration": {"description": "Seconds: an integer or a string of one; anything else reads as none (the model's default)."},
        "seconds": {**_STRING, "description": "Seconds as a string, when duration gives none."},
        "input_reference": dict(_STRING),
        "metadata": {"description": "An object or a JSON string of one: the fields the model has reach it, others are dropped."},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"NewApiTaskSubmit[{spec.id}]",
        "description": f"POST /v1/video/generations under the new-api profile, for {spec.id} ({spec.vendor}).",
        "type": "object",
        "properties": properties,
        "required": ["prompt"],
        "x-videomock-rule": REQUEST_RULE,
    }


def to_generation_request(body: Mapping[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """A body new-api accepts, as the canonical generation request the upstream would get."""
    request: dict[str, Any] = {"model": spec.id, "prompt": body["prompt"]}
    image = next((ref for ref in (body.get("image"), *(body.get("images") or ()), body.get("input_reference")) if ref), None)
    if image is not None:
        request["image"] = image
    duration = _atoi(body.get("duration")) or _atoi(body.get("seconds"))
    if duration:
        request["duration"] = duration
    size = next((s for s in spec.sizes if s.label == body.get("size")), None)
    if size is not None:
        request["width"], request["height"] = size.width, size.height
    metadata = {k: v for k, v in _metadata(body.get("metadata")).items() if k in spec.metadata_fields}
    if body.get("mode") and "mode" in spec.metadata_fields:
        metadata.setdefault("mode", body["mode"])   # the adaptors decode metadata over the request: it wins
    if metadata:
        request["metadata"] = metadata
    return request


def _atoi(value: Any) -> int:
    """``duration``/``seconds`` as new-api reads them: an integer, or a string Go's Atoi takes; else 0."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _ATOI.fullmatch(value):
        number = int(value)
    else:
        return 0
    return number if -_INT64 <= number < _INT64 else 0


def _metadata(value: Any) -> dict[str, Any]:
    """``metadata`` as an object: itself, or the object a JSON string holds; anything else is none."""
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_no_constant)
        except ValueError:
            return {}
    if not isinstance(value, dict) or first_non_finite(value) is not None:
        return {}
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _explain(error: Any, body: Any, spec: ModelSpec) -> Violation:
    """The relay's words: a prompt it cannot use is "prompt is required"; a field of the wrong type is named,
    with the type new-api reads it as."""
    path = list(error.absolute_path)
    if error.validator != "type" or (path == ["prompt"] and error.instance is None):
        return Violation("/prompt", "prompt is required", "invalid_request")   # missing, blank, or null
    types = [error.validator_value] if isinstance(error.validator_value, str) else error.validator_value
    wanted = next(t for t in types if t != "null")
    name = ".".join(str(part) for part in path)
    return Violation(json_pointer(path), f"{name} must be of type {wanted}, not {json_type(error.instance)}",
                     "invalid_request")


RULE_EXPLAINERS[REQUEST_RULE] = _explain

DIALECT = RequestDialect(NAME, request_schema, to_generation_request)
