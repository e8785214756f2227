"""The new-api gateway profile: what the new-api gateway (QuantumNous/new-api) answers on the generations routes.

Where its code (read in one version) and the recordings of the real gateway (tests/data/recordings/new_api_*.json,
with what-real-gateways-return.md section 2) disagree, the profile follows the recordings.

An adapter over the core like the documented dialect, whose routes it answers on (see
:mod:`videomock.dialects.gateway`). A submit is read by the dialect's contract
(:mod:`videomock.contracts.dialects.newapi`) and mapped onto the canonical request; it answers the OpenAI
video object with ``task_id``, as new-api's adaptors do. A poll answers ``{"code": "success", "message": "",
"data": {...}}`` with the task's row as the real gateway was recorded answering it (its eight fields; see
:func:`task_dto`). The OpenAI dialect's routes serve the same tasks, with the link in the video
object's ``metadata.url``.

Errors: new-api's task relay answers its verdicts on a task or a submit in its TaskError shape,
``{"code", "message", "data": null}`` (an unknown task is a 400 ``task_not_exist`` there, not a 404; an empty
prompt a 400 ``invalid_request``); every other error, the gateway's own (the key, the body, the model, out of
quota, its limits, no channel) and those of the other routes, is the OpenAI shape with
``type: "new_api_error"``. The contract's ``TASK_ERROR_CODES`` lists the first and says why.
"""

from __future__ import annotations

from typing import Any

from videomock.contracts.catalog import Catalog
from videomock.contracts.dialects import newapi as contract
from videomock.contracts.validation import validate_dialect_request
from videomock.core.backend import TaskView, VideoBackend, bad_request
from videomock.core.errors import APIError, provider_error
from videomock.core.tasks import Origin, Task
from videomock.dialects.gateway import Profile
from videomock.http.errors import error_body

#: The Flask endpoints where new-api's task relay answers: the documented dialect's generations views.
RELAY_ENDPOINTS = frozenset({"provider.submit", "provider.poll"})


def read(body: Any, catalog: Catalog) -> tuple[dict[str, Any], Origin]:
    """What new-api's relay makes of a submit; what it refuses is refused here in its words."""
    spec, violations = validate_dialect_request(contract.DIALECT, body, catalog)
    if violations or spec is None:
        raise bad_request(violations)
    name = body["model"]
    return contract.to_generation_request(body, spec), Origin(dialect=contract.NAME,
                                                              model_name=name if name != spec.id else None)


def submitted(task: Task) -> dict[str, Any]:
    """The video object new-api's adaptors answer a submit with (dto.NewOpenAIVideo, its id twice)."""
    return {"id": task.id, "task_id": task.id, "object": "video", "model": task.reported_model, "status": "queued",
            "progress": 0, "created_at": int(task.reported_time(task.created_at))}


def task_response(view: TaskView, upstream: dict[str, Any], backend: VideoBackend) -> dict[str, Any]:
    """The poll's answer: the task's row in new-api's success wrapper."""
    return {"code": "success", "message": "", "data": task_dto(view, upstream["url"])}


def task_dto(view: TaskView, link: str | None) -> dict[str, Any]:
    """new-api's row for the task, field by field as the real gateway answers it
    (tests/data/recordings/new_api_task_*.json): every field at every status, in the recorded order.
    ``result_url`` is "" until the task succeeded, then ``link``; ``fail_reason`` is "" unless it failed.
    ``progress`` is new-api's stepped one, which a failure leaves where it was (the contract's
    ``task_status``). The times are those new-api's poller records:
    submitted; started (0 until the upstream reports the task running, so still 0 for a task that failed
    before it ran); finished (0 until it succeeded or failed)."""
    task, state = view.task, view.state
    status, progress = contract.task_status(state.status, state.progress)
    ran = state.status in ("in_progress", "completed") or (
        state.status == "failed" and contract.ran_before_failing(state.progress))
    submitted_at = int(task.reported_time(task.created_at))
    started_at = int(task.reported_time(task.started_at)) if ran else 0
    finished_at = int(task.reported_time(state.completed_at)) if state.finished and state.completed_at is not None else 0
    return {
        "task_id": task.id,
        "status": status,
        "progress": progress,
        "fail_reason": state.error["message"] if state.error is not None else "",
        "result_url": link if state.status == "completed" else "",
        "submit_time": submitted_at,
        "start_time": started_at,
        "finish_time": finished_at,
    }


def lookup_error(error: APIError) -> APIError:
    """new-api's answer for a task the key does not have (relay/relay_task.go), where the core says 404."""
    if error.code == "task_not_found":
        return provider_error("task_not_exist", "task_not_exist", param="task_id")
    return error


def video(body: dict[str, Any], view: TaskView, link: str) -> dict[str, Any]:
    """The OpenAI dialect's video object, with the link where new-api puts it (model/task.go ToOpenAIVideo)."""
    return {**body, "metadata": {"url": link}} if view.state.status == "completed" else body


def error_of(error: APIError, endpoint: str | None) -> dict[str, Any]:
    """The relay's TaskError for its verdicts on a task or a submit where new-api's task relay answers, else
    the OpenAI shape of the gateway's own errors (the classification: the contract's ``TASK_ERROR_CODES``).
    Go's ``param`` is a string: "" when there is none, as recorded, never null."""
    if endpoint in RELAY_ENDPOINTS and error.code in contract.TASK_ERROR_CODES:
        return {"code": error.code, "message": error.message, "data": None}
    return error_body(error.status, error.message, param=error.param or "", code=error.code, type=contract.ERROR_TYPE)


PROFILE = Profile(name=contract.NAME, read=read, submitted=submitted, task=task_response, lookup_error=lookup_error,
                  video=video, error=error_of)
