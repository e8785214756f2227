"""What Google's two Veo APIs share: credentials, the error shape, operation ids, the submit, and how a finished
operation reports a failure or the videos a safety filter withheld. :mod:`videomock.dialects.vertex` and
:mod:`videomock.dialects.gemini` are the two adapters; each renders its own operation.

A request authenticates with an API key (``x-goog-api-key``, or ``?key=``) or an OAuth 2 access token
(``Authorization: Bearer``); the fake holds either to ``auth.api_keys`` alike, and operations belong to the
credential that created them. Errors are a google.rpc.Status as Google's HTTP APIs send it:
``{"error": {"code": <HTTP status>, "message", "status": "INVALID_ARGUMENT", "details": [...]}}``, where a
google.rpc.ErrorInfo carries videomock's error code and a google.rpc.BadRequest names the field at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import request

from videomock.contracts.dialects import RequestDialect
from videomock.contracts.dialects import google as contract
from videomock.contracts.validation import validate_dialect_request
from videomock.core.backend import TaskView, bad_request
from videomock.core.errors import APIError, provider_error
from videomock.core.keys import fingerprint
from videomock.core.tasks import IdFormat, Origin, Task
from videomock.core.webhooks.events import Callback, Event, Shape
from videomock.http.auth import accepts, bearer_token
from videomock.http.bodies import parse_json_body
from videomock.http.context import backend, exchange, public_base

#: Operation ids, as Google's look (``vz341u0pmdlc``): lowercase letters and digits.
IDS = IdFormat(prefix="", alphabet="0123456789abcdefghijklmnopqrstuvwxyz", length=12)
#: Task error codes (the catalog's numbers) as the canonical status a failed operation reports; any other
#: failure is INTERNAL. Google reports a prompt its safety filter refuses as INVALID_ARGUMENT.
TASK_ERROR_STATUS = {1301: "INVALID_ARGUMENT", 5004: "DEADLINE_EXCEEDED"}
VIDEO_MIME_TYPE = contract.VIDEO_MIME_TYPE


def render_error(error: APIError) -> dict[str, Any]:
    """An error as Google's HTTP APIs send one."""
    details: list[dict[str, Any]] = []
    if error.code:
        details.append({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "videomock",
                        "reason": contract.error_reason(error.code)})
    if error.param:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": error.param, "description": error.message}]})
    body: dict[str, Any] = {"code": error.status, "message": error.message, "status": contract.status_name(error.status)}
    if details:
        body["details"] = details
    return {"error": body}


def caller() -> str:
    """The fingerprint of the request's credential: an API key, or else an OAuth 2 access token."""
    allowed = backend().config["auth"]["api_keys"]
    key = request.headers.get("x-goog-api-key") or request.args.get("key")
    if key:
        if not accepts(allowed, key):
            raise provider_error("invalid_api_key", "API key not valid. Please pass a valid API key.")
    else:
        key = bearer_token(request.headers.get("Authorization"))
        if key is None:
            raise provider_error("missing_api_key", "Request is missing required authentication credential: send an API "
                                 "key as x-goog-api-key (or ?key=), or an OAuth 2 access token as Authorization: Bearer.")
        if not accepts(allowed, key):
            raise provider_error("invalid_api_key", "Request had invalid authentication credentials: the access token is "
                                 "not one this server accepts.")
    owner = fingerprint(key)
    exchange().owner = owner
    return owner


def veo_shape(name: str, operation_name: Callable[[Task], str],
              video_uri: Callable[[TaskView, str, int], str | None]) -> Shape:
    """The event a finished operation posts to its request's ``webhookConfig.uris``: ``video.generated``, in the
    Standard Webhooks payload Google's webhooks send, ``{"type", "version": "v1", "timestamp", "data": {"id": <the
    operation's name>, "video_uri", "user_metadata"}}``, ``video_uri`` linking its first video where the dialect
    gives videos a URI (``video_uri(view, base_url, output)``). Google documents no event for a failed
    operation, so none is sent."""

    def render(view: TaskView, event: Event) -> dict[str, Any]:
        data: dict[str, Any] = {"id": operation_name(view.task)}
        uri = video_uri(view, event.base_url, 0) if view.task.video_keys else None
        if uri is not None:
            data["video_uri"] = uri
        if event.user_metadata is not None:
            data["user_metadata"] = event.user_metadata
        stamp = datetime.fromtimestamp(event.created_at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return {"type": event.type, "version": "v1", "timestamp": stamp, "data": data}

    return Shape(name, {"completed": "video.generated"}, render)


def webhook_callbacks(body: Mapping[str, Any], shape: Shape) -> tuple[Callback, ...]:
    """The targets a valid body's ``webhookConfig`` names."""
    config = body.get("webhookConfig")
    if config is None:
        return ()
    return tuple(Callback(shape.name, uri, config.get("userMetadata")) for uri in config["uris"])


def create(dialect: RequestDialect, model: str, resource: str, shape: Shape,
           dialect_data: Callable[[Mapping[str, Any]], dict[str, Any] | None] = lambda body: None) -> Task:
    """Submit a predictLongRunning request for ``model`` (``resource`` is the model as the path names it):
    404 for a model the catalog does not give the dialect, 400 naming the field for a bad body.
    ``dialect_data`` picks from the valid body what the dialect must remember for later answers; ``shape`` is
    the dialect's event, for the request's ``webhookConfig``."""
    owner = caller()
    ex = exchange()
    ex.body = body = parse_json_body(request)
    b = backend()
    spec, violations = validate_dialect_request(dialect, body, b.catalog, model=model)
    if spec is None and violations and violations[0].code == "model_not_found":
        names = ", ".join(b.catalog.names_for(dialect.name, by_id=dialect.by_id))
        raise provider_error("not_found", f"{resource} is not found, or does not support predictLongRunning; the models "
                                          f"here: {names}.")
    if violations or spec is None:
        raise bad_request(violations)
    task = b.submit(owner, dialect.to_generation_request(body, spec), ex,
                    origin=Origin(dialect=dialect.name, ids=IDS, model_name=model, dialect_data=dialect_data(body),
                                  webhooks=webhook_callbacks(body, shape), base_url=public_base()))
    ex.task_id = task.id
    return task


def not_found(what: str) -> APIError:
    return provider_error("task_not_found", f"{what} was not found (an operation and its files are visible only to "
                                            "the credential that created them, under the names their answers gave).")


def operation(owner: str, dialect: str, name: str, task_id: str, named: Callable[[Task], str]) -> TaskView:
    """The operation ``name`` (whose id is ``task_id``) of the caller, as a poll sees it: 404 NOT_FOUND
    unless it is one ``dialect`` answered with that very name (``named`` gives a task's)."""
    try:
        view = backend().get(owner, task_id, exchange())
    except APIError as error:
        if error.code != "task_not_found":
            raise
        raise not_found(f"Operation {name}") from None
    if view.task.dialect != dialect or named(view.task) != name:
        raise not_found(f"Operation {name}")
    return view


def finish(view: TaskView) -> dict[str, Any] | None:
    """What a done operation adds to its name: ``{"done": true, "error": ...}`` for a failure, ``{"done": true}``
    for a task finished with a response (the dialect adds it), None while it runs."""
    state = view.state
    if not state.finished:
        return None
    if state.status == "failed" and not state.withheld:
        error = state.error or {}
        code = error.get("code")
        status = TASK_ERROR_STATUS.get(code, "INTERNAL") if isinstance(code, int) else "INTERNAL"
        return {"done": True, "error": {"code": contract.rpc_code(status),
                                        "message": str(error.get("message") or "the operation failed"), "status": status}}
    return {"done": True}


def operation_body(view: TaskView, name: str, response: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """An operation as its poll answers it: ``{"name"}`` while it runs, then done with its error or with
    ``response()``, the API's own response object."""
    body: dict[str, Any] = {"name": name}
    finished = finish(view)
    if finished is None:
        return body
    body.update(finished)
    if "error" not in finished:
        body["response"] = response()
    return body


def withheld(view: TaskView) -> dict[str, Any]:
    """``raiMediaFilteredCount`` and, when a safety filter withheld any videos, ``raiMediaFilteredReasons``."""
    count = view.state.withheld
    return {"raiMediaFilteredCount": count, **({"raiMediaFilteredReasons": [view.task.plan.message]} if count else {})}
