"""Kling's native API (``/v1/videos/text2video`` and ``/v1/videos/image2video``), also under ``/kling``, where
new-api passes Kling through.

An adapter over the core like the others: it authenticates Kling's way (a JWT the client signs,
:mod:`videomock.dialects.kling_auth`), validates bodies by the dialect's contract
(:mod:`videomock.contracts.dialects.kling`) and maps them onto the canonical request, and renders tasks and
errors in Kling's envelope, with its service codes and the HTTP statuses Kling pairs them with. Task ids are
18 digits. A task's ``callback_url`` and ``external_task_id`` stay in its params' ``metadata``, where the
canonical request keeps them (a delivery engine reads the callback from there); a task can be queried by
either id, as Kling allows. Videos are linked as Kling's CDN links them: signed URLs that need no token
(:func:`videomock.dialects.documented.cdn_url`), valid for the 30 days Kling keeps a video.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, jsonify, request

from videomock.config import key_pairs
from videomock.contracts.dialects import kling as contract
from videomock.contracts.validation import validate_dialect_request
from videomock.core import rng, vault
from videomock.core.backend import TaskView, VideoBackend, bad_request
from videomock.core.errors import APIError, provider_error
from videomock.core.tasks import IdFormat, Origin, Task
from videomock.core.webhooks.events import Event, Shape
from videomock.dialects import callbacks, kling_auth
from videomock.dialects.documented import cdn_link, cdn_url
from videomock.http.bodies import parse_json_body
from videomock.http.context import backend, exchange, public_base
from videomock.store import Store

log = logging.getLogger("videomock")

kling = Blueprint("kling", __name__)

#: Where the routes are served (Kling's own paths, and new-api's passthrough of them), each with the suffix of
#: its Flask endpoints.
PATH_PREFIXES = {"": "", "/kling": "_passthrough"}
#: Flask endpoint -> the endpoint names fault rules use.
FAULT_ENDPOINTS = {f"kling.{view}{suffix}": kind for suffix in PATH_PREFIXES.values()
                   for view, kind in (("create", "submit"), ("query", "poll"), ("list_tasks", "list"))}
#: Paths whose errors are Kling's even where no route matches (a wrong method, an unknown sub-path).
ERROR_PREFIXES = ("/kling/", *(f"/v1/videos/{operation}" for operation in contract.DIALECTS))

#: 18 digits, never starting with 0 (Kling's look like ``867283741759111202``).
IDS = IdFormat(prefix="8", alphabet="0123456789", length=17)
ORIGIN = Origin(dialect=contract.NAME, ids=IDS)
#: The name of the shape of Kling's callbacks.
CALLBACK_SHAPE = "kling"
#: Kling clears generated videos 30 days after they are made; their links stop working then.
VIDEO_LIFETIME_SECONDS = 30 * 86400
_REQUEST_ID = "videomock.kling.request_id"


# --- ids --------------------------------------------------------------------------------------------------------

def _uuid(seed: int, *parts: object) -> str:
    """A version-4-shaped UUID fixed by the seed and the parts."""
    return str(uuid.UUID(int=rng.derive(seed, *parts, "high") << 64 | rng.derive(seed, *parts, "low"), version=4))


def request_id() -> str:
    """This request's id, as every answer carries it: drawn from the seed and a counter in the store, so the
    same seed and the same requests give the same ids, whichever worker answers."""
    found: str | None = request.environ.get(_REQUEST_ID)
    if found is None:
        b = backend()
        found = request.environ[_REQUEST_ID] = _uuid(b.seed, "kling-request", b.store.next_id("kling_request"))
    return found


# --- rendering --------------------------------------------------------------------------------------------------

def render_error(error: APIError) -> tuple[dict[str, Any], int]:
    """An error as Kling answers it: its service code, and the status Kling pairs with it."""
    code, status = contract.service_status(error.code, error.status, injected=error.injected)
    try:
        rid = request_id()
    except Exception:  # the store itself may be what failed; the answer must still be Kling's JSON
        log.exception("no request id from the store for an error answer")
        rid = str(uuid.uuid4())
    return {"code": code, "message": error.message, "request_id": rid}, status


def _operation(task: Task) -> str:
    return contract.IMAGE2VIDEO if "image" in task.params else contract.TEXT2VIDEO


def _ms(task: Task, virtual: float) -> int:
    return int(task.reported_time(virtual) * 1000)


def _updated(view: TaskView) -> float:
    """When the task last changed: submitted, started, or finished (completed or failed)."""
    if view.state.completed_at is not None:
        return view.state.completed_at
    return view.task.started_at if view.state.status == "in_progress" else view.task.created_at


def _created(view: TaskView) -> dict[str, Any]:
    """What the create answer says of a task: the start of what a query says."""
    task = view.task
    return {"task_id": task.id, "task_status": callbacks.KLING_STATUS[view.state.status],
            "task_info": callbacks.kling_task_info(task),
            "created_at": _ms(task, task.created_at), "updated_at": _ms(task, _updated(view))}


def task_data(view: TaskView, link_ttl: float | None = None) -> dict[str, Any]:
    """The task as a query answers it. ``link_ttl`` (an expire_url fault's) makes the video's link expire
    sooner than the 30 days Kling keeps a video."""
    data = {**_created(view), "task_status_msg": callbacks.kling_status_msg(view)}
    if view.state.status == "completed" and view.state.completed_at is not None:
        b, task = backend(), view.task
        ttl = link_ttl if link_ttl is not None else VIDEO_LIFETIME_SECONDS - (b.clock.now() - view.state.completed_at)
        data["task_result"] = {"videos": _videos(b, task, cdn_url(task.id, ttl))}
    return data


def _videos(b: VideoBackend, task: Task, url: str) -> list[dict[str, Any]]:
    """A succeeded task's ``task_result.videos``, the same in a query and in a callback."""
    return [{"id": _uuid(b.seed, "kling-video", task.seq), "url": url, "duration": f"{b.video_seconds(task):.3f}"}]


def callback_shape(b: VideoBackend) -> Shape:
    """Kling's callback for a request's ``callback_url``: its videos as a query shows them, linked to the CDN
    for the 30 days Kling keeps a video."""

    def videos(task: Task, event: Event) -> list[dict[str, Any]]:
        return _videos(b, task, cdn_link(event.base_url, task.id, b.signed_query(task.id, VIDEO_LIFETIME_SECONDS)))

    return callbacks.kling_shape(CALLBACK_SHAPE, videos)


def _answer(data: Any) -> Response:
    body = {"code": 0, "message": "SUCCEED", "request_id": request_id(), "data": data}
    exchange().response = body
    return jsonify(body)


# --- requests ---------------------------------------------------------------------------------------------------

class SealedKeys(Mapping[str, str]):
    """Access key -> secret key, each secret unsealed from the store's vault only when asked for: a request
    needs the one its token names."""

    def __init__(self, store: Store, names: Mapping[str, str]) -> None:
        self._store, self._names = store, names

    def __getitem__(self, access_key: str) -> str:
        return vault.unseal(self._store, self._names[access_key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def caller() -> str:
    """Authenticate the request's JWT; the owner's fingerprint is kept on the exchange for the journal."""
    b = backend()
    keys = SealedKeys(b.store, key_pairs(b.config["auth"]["kling_keys"]))
    access_key = kling_auth.authenticate(request.headers.get("Authorization"), keys, now=b.clock.real_now())
    owner = exchange().owner = kling_auth.owner(access_key)
    return owner


def _kling_tasks(owner: str, operation: str) -> list[TaskView]:
    """The caller's tasks of one request kind, newest first."""
    views = [v for v in backend().views(owner) if v.task.dialect == contract.NAME and _operation(v.task) == operation]
    views.reverse()
    return views


def _task_id(owner: str, operation: str, given: str) -> str:
    """The id of the caller's task of kind ``operation`` that ``given`` names: its task_id or its external_task_id."""
    task = backend().store.get_task(given)
    if task is not None and task.owner == owner and task.dialect == contract.NAME and _operation(task) == operation:
        return task.id
    found = next((v.task.id for v in _kling_tasks(owner, operation) if callbacks.kling_external_id(v.task) == given), None)
    if found is None:
        raise provider_error("task_not_found", f"No {operation} task {given!r} (a task_id or an external_task_id) for "
                                               "this access key.", param="task_id")
    return found


def _page_argument(name: str, most: int, default: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= most:
        raise provider_error("invalid_value", f"{name} must be a whole number from 1 to {most}, not {text[:20]!r}.",
                             param=name)
    return int(text)


# --- routes -----------------------------------------------------------------------------------------------------

def create(operation: str) -> Response:
    owner = caller()
    ex = exchange()
    ex.body = body = parse_json_body(request)
    b = backend()
    dialect = contract.DIALECTS[operation]
    spec, violations = validate_dialect_request(dialect, body, b.catalog)
    if violations or spec is None:
        raise bad_request(violations)
    external = body.get("external_task_id")
    if external is not None and any(callbacks.kling_external_id(v.task) == external for v in _kling_tasks(owner, operation)):
        raise provider_error("invalid_value", f"external_task_id {external!r} is already the id of another {operation} "
                                              "task of this access key; Kling's must be unique.",
                             param="external_task_id")
    canonical = dialect.to_generation_request(body, spec)
    origin = replace(ORIGIN, webhooks=callbacks.kling_callbacks(canonical, CALLBACK_SHAPE), base_url=public_base())
    task = b.submit(owner, canonical, ex, origin=origin)
    ex.task_id = task.id
    return _answer(_created(b.view(task)))


def query(operation: str, task_id: str) -> Response:
    owner = caller()
    ex = exchange()
    ex.task_id = _task_id(owner, operation, task_id)
    return _answer(task_data(backend().get(owner, ex.task_id, ex), ex.expire_ttl))


def list_tasks(operation: str) -> Response:
    owner = caller()
    unknown = sorted(set(request.args) - {"pageNum", "pageSize"})
    if unknown:
        raise provider_error("unknown_parameter", f"Unknown query parameter {unknown[0]!r}; allowed: pageNum, pageSize.",
                             param=unknown[0])
    number = _page_argument("pageNum", contract.MAX_PAGE_NUM, 1)
    size = _page_argument("pageSize", contract.MAX_PAGE_SIZE, contract.DEFAULT_PAGE_SIZE)
    backend().apply_faults_for("list", owner, exchange())
    page = _kling_tasks(owner, operation)[(number - 1) * size:number * size]
    return _answer([task_data(view) for view in page])


def _route(path: str, view: Callable[..., Response], suffix: str, method: str, operation: str) -> None:
    """Static paths, one per request kind: werkzeug matches them before the OpenAI dialect's
    ``/v1/videos/<video_id>``. Each prefix has endpoints of its own: werkzeug redirects a request to a rule
    whose endpoint and defaults an earlier rule shares to that rule's path."""
    kling.add_url_rule(path, view.__name__ + suffix, view, methods=[method], defaults={"operation": operation})


for _prefix, _suffix in PATH_PREFIXES.items():
    for _kind in contract.DIALECTS:
        _route(f"{_prefix}/v1/videos/{_kind}", create, _suffix, "POST", _kind)
        _route(f"{_prefix}/v1/videos/{_kind}", list_tasks, _suffix, "GET", _kind)
        _route(f"{_prefix}/v1/videos/{_kind}/<task_id>", query, _suffix, "GET", _kind)
