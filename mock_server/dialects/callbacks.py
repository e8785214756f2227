"""The callbacks the gateway dialects send, as shapes for the core's delivery engine
(:mod:`videomock.core.webhooks`): OpenAI-style events, and Kling's task callback.

- **OpenAI-style events** go to the configured endpoints (``[[webhooks.endpoints]]``, as a provider's dashboard
  registers them), signed the Standard Webhooks way: ``{"id": "evt_...", "object": "event", "created_at",
  "type": "video.completed" | "video.failed", "data": {"id": <the task's id>}}``. A thin event: the receiver
  polls the task for the rest.
- **Kling's callback** POSTs the task's ``data`` object, with no wrapper and no signature, to the request's
  ``callback_url`` on every status change: ``task_status`` submitted, processing, succeed or failed, with
  ``task_status_msg``, ``task_info``, ``created_at``/``updated_at`` in milliseconds and, once it succeeded,
  ``task_result.videos[{id, url, duration}]``. The documented gateway takes ``callback_url`` in a Kling model's
  ``metadata`` and, as a gateway that forwards it does, the callback arrives in Kling's shape. A Kling-native
  dialect makes its own shape with :func:`kling_shape`, linking videos where it serves them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from videomock.contracts.dialects import kling as kling_contract
from videomock.core.backend import TaskView
from videomock.core.tasks import Task
from videomock.core.webhooks.events import Callback, Event, Shape

#: Kling's task_status for each task status.
KLING_STATUS = {"queued": "submitted", "in_progress": "processing", "completed": "succeed", "failed": "failed"}
#: The catalog's task error codes that Kling numbers otherwise: its timeout is 5002, and a placeholder that
#: could not be rendered is an internal error.
KLING_FAILURE_CODES = {5004: 5002, 5010: 5000}


def _openai_event(view: TaskView, event: Event) -> dict[str, Any]:
    return {"id": event.id, "object": "event", "created_at": int(event.created_at), "type": event.type,
            "data": {"id": view.task.id}}


OPENAI_EVENTS = Shape("openai-events", {"completed": "video.completed", "failed": "video.failed"}, _openai_event)


def _milliseconds(seconds: float) -> int:
    return int(seconds * 1000)


def kling_external_id(task: Task) -> str | None:
    external: str | None = (task.params.get("metadata") or {}).get("external_task_id")
    return external


def kling_task_info(task: Task) -> dict[str, Any]:
    external = kling_external_id(task)
    return {"external_task_id": external} if external is not None else {}


def kling_status_msg(view: TaskView) -> str:
    """Why a failed task failed, the same in a query and in a callback. Kling's is plain text; the service code
    is added, so that a client can tell a content-security refusal (1301) from a failure on the provider's side
    (5000, 5002)."""
    error = view.state.error
    if error is None:
        return ""
    code = error.get("code")
    service = KLING_FAILURE_CODES.get(code, code) if isinstance(code, int) else None
    if service not in kling_contract.service_codes():
        service = 5000
    return f"{error.get('message') or 'The task failed.'} (code {service})"


def kling_shape(name: str, videos: Callable[[Task, Event], list[dict[str, Any]]]) -> Shape:
    """Kling's callback; ``videos(task, event)`` is a succeeded task's ``task_result.videos``, as the dialect
    that sends it links and names them."""

    def render(view: TaskView, event: Event) -> dict[str, Any]:
        task, state = view.task, view.state
        data: dict[str, Any] = {
            "task_id": task.id,
            "task_status": event.type,
            "task_status_msg": kling_status_msg(view) if state.status == "failed" else "",
            "task_info": kling_task_info(task),
            "created_at": _milliseconds(task.reported_time(task.created_at)),
            "updated_at": _milliseconds(event.created_at),
        }
        if state.status == "completed":
            data["task_result"] = {"videos": videos(task, event)}
        return data

    return Shape(name, KLING_STATUS, render, signed=False)


def kling_callbacks(body: Any, shape: str) -> tuple[Callback, ...]:
    """The callback, in shape ``shape``, that a (valid) canonical request names in its Kling
    ``metadata.callback_url``, if any."""
    metadata = body.get("metadata") if isinstance(body, Mapping) else None
    url = metadata.get("callback_url") if isinstance(metadata, Mapping) else None
    return (Callback(shape, url),) if isinstance(url, str) else ()
