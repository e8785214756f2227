"""The OpenAI Videos API dialect (``/v1/videos``): what the openai SDK calls, and what gateways serve for
every video model.

An adapter over the core like the documented dialect: its routes, its request (multipart or JSON, validated
by the dialect's contract in :mod:`videomock.contracts.dialects.openai` and mapped onto the canonical
request), its video object, ``video_`` ids, and ``openai-poll-after-ms``, which follows the virtual clock so
the SDK's ``poll()`` never sleeps in instant mode. Errors are in the OpenAI shape the documented dialect
shares; the request's gateway profile (:mod:`videomock.dialects.gateway`) has the last word on that shape and
on the video object (new-api's carries the download link in ``metadata.url``). The download
(``/v1/videos/{id}/content``, with ``variant``) is the documented dialect's route.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from videomock.contracts.dialects import kling
from videomock.contracts.dialects import openai as contract
from videomock.contracts.images import data_uri
from videomock.contracts.validation import validate_against, validate_dialect_request
from videomock.core.backend import TaskView, VideoBackend, bad_request
from videomock.core.errors import provider_error
from videomock.core.tasks import IdFormat, Origin, Task
from videomock.dialects import gateway
from videomock.dialects.callbacks import OPENAI_EVENTS
from videomock.dialects.documented import video_url
from videomock.http.bodies import FORM_TYPES, UploadedFile, parse_form_body, parse_json_body
from videomock.http.context import backend, caller, exchange, public_base
from videomock.http.fastpath import FastPoll
from videomock.http.urls import base_url

videos = Blueprint("openai_videos", __name__)
videos.before_request(gateway.check_header)


class VideoId(BaseConverter):
    """A video id, which is never one of Kling's request kinds: /v1/videos/text2video (and below it) is Kling's
    whatever the method, so that a DELETE there is Kling's 405, not the OpenAI delete of a video called text2video,
    and the Allow header of Kling's paths lists Kling's methods only."""

    # Not a kind followed by anything but a slash (werkzeug matches some segments with what follows them).
    regex = "(?!(?:" + "|".join(map(re.escape, kling.DIALECTS)) + ")(?![^/]))[^/]+"


# Before the routes below, which need it when the blueprint adds them to the app's URL map.
@videos.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("video_id", VideoId)

#: Flask endpoint -> the endpoint names fault rules use.
FAULT_ENDPOINTS = {
    "openai_videos.create": "submit",
    "openai_videos.remix": "submit",
    "openai_videos.retrieve": "poll",
    "openai_videos.list_videos": "list",
    "openai_videos.delete": "delete",
}

#: Real ids look like ``video_6984d77f318481908e9ff63f81a7ffe6``.
IDS = IdFormat(prefix="video_", alphabet="0123456789abcdef", length=32)
#: Seconds after completion until the downloadable assets expire, as the video object reports it (the
#: fake keeps serving them: a test that advances the clock a day still downloads).
ASSETS_LIFETIME_SECONDS = 3600
#: A page of the list: OpenAI's default and largest ``limit``.
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
#: The remix request's contract (its prompt's length is the source video's model's to limit).
REMIX_SCHEMA = "openai_remix_request"
#: Task error codes (the catalog's numbers, Kling's where it has them) as this API's string codes.
ERROR_CODES = {1301: "moderation_blocked", 5000: "internal_error", 5004: "timeout", 5010: "render_failed"}


# --- rendering -------------------------------------------------------------------------------------------------

def video_object(view: TaskView) -> dict[str, Any]:
    """The video object, as ``GET /v1/videos/{id}`` answers it."""
    task, state = view.task, view.state
    params = task.params
    completed_at = int(task.reported_time(state.completed_at)) if state.completed_at is not None else None
    error = None
    if state.error is not None:
        code = state.error.get("code")
        error = {"code": ERROR_CODES.get(code, str(code)) if isinstance(code, int) else str(code or "failed"),
                 "message": str(state.error.get("message") or "the video failed")}
    return {
        "id": task.id,
        "object": "video",
        "model": task.reported_model,
        "status": state.status,
        "progress": state.progress,
        "created_at": int(task.reported_time(task.created_at)),
        "completed_at": completed_at if state.status == "completed" else None,
        "expires_at": completed_at + ASSETS_LIFETIME_SECONDS if state.status == "completed" and completed_at else None,
        "prompt": params.get("prompt"),
        "remixed_from_video_id": task.remixed_from,
        "seconds": str(params["duration"]),
        "size": f"{params['width']}x{params['height']}",
        "error": error,
    }


def _poll_after_header(view: TaskView, backend: VideoBackend) -> list[tuple[str, str]]:
    """``openai-poll-after-ms`` while the video is not finished: the SDK's poll() sleeps for it."""
    if view.state.finished:
        return []
    return [("openai-poll-after-ms", str(round(backend.poll_after(view) * 1000)))]


def _profiled(view: TaskView, profile: gateway.Profile, base: str) -> dict[str, Any]:
    """The video object as the request's gateway profile answers it."""
    return profile.video(video_object(view), view, video_url(base, view.task.id))


def _fast_render(view: TaskView, environ: dict[str, Any], backend: VideoBackend) -> tuple[Any, list[tuple[str, str]]]:
    config = backend.config
    body = _profiled(view, gateway.named(environ, config), base_url(environ, config["server"]["public_url"]))
    return body, _poll_after_header(view, backend)


#: The retrieve, for the WSGI fast path: the same body and headers as the view's.
FAST_POLL = FastPoll(re.compile(r"/v1/videos/([^/]+)/?"), _fast_render, gateway.readable)


def _answer(view: TaskView) -> Response:
    body = _profiled(view, gateway.current(), public_base())
    exchange().response = body
    response = jsonify(body)
    response.headers.extend(_poll_after_header(view, backend()))
    return response


# --- requests ---------------------------------------------------------------------------------------------------

def create_body() -> dict[str, Any]:
    """The create request as an object: a form (what the SDK sends, with ``input_reference`` as a file part,
    which becomes a data URI) or JSON."""
    if request.mimetype in FORM_TYPES:
        body = parse_form_body(request, files=["input_reference"])
    else:
        parsed = parse_json_body(request)
        if not isinstance(parsed, dict):
            raise provider_error("invalid_type", "The request body must be a JSON object.")
        body = parsed
    exchange().body = {k: v.journaled() if isinstance(v, UploadedFile) else v for k, v in body.items()}
    upload = body.get("input_reference")
    if isinstance(upload, UploadedFile):
        body["input_reference"] = data_uri(upload.data, upload.filename)
    return body


def _origin(body: dict[str, Any], spec_id: str) -> Origin:
    name = body.get("model", contract.DEFAULT_MODEL)
    return Origin(dialect=contract.NAME, ids=IDS, model_name=name if name != spec_id else None,
                  endpoint_shape=OPENAI_EVENTS.name, base_url=public_base())


def _owned_view(task_id: str) -> TaskView:
    owner = caller()
    exchange().task_id = task_id
    return backend().get(owner, task_id, exchange())


# --- routes -----------------------------------------------------------------------------------------------------

@videos.post("/v1/videos")
def create() -> Response:
    owner = caller()
    body = create_body()
    b = backend()
    spec, violations = validate_dialect_request(contract.DIALECT, body, b.catalog)
    if violations or spec is None:
        raise bad_request(violations)
    task = b.submit(owner, contract.to_generation_request(body, spec), exchange(),
                    idempotency_key=request.headers.get("Idempotency-Key"), origin=_origin(body, spec.id))
    exchange().task_id = task.id
    return _answer(b.view(task))


@videos.get("/v1/videos/<video_id:video_id>")
def retrieve(video_id: str) -> Response:
    return _answer(_owned_view(video_id))


@videos.get("/v1/videos")
def list_videos() -> Response:
    owner = caller()
    b = backend()
    limit = _limit(request.args.get("limit"))
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise provider_error("invalid_value", f"order must be asc or desc, not {order!r}.", param="order")
    unknown = sorted(set(request.args) - {"after", "limit", "order"})
    if unknown:
        raise provider_error("unknown_parameter", f"Unknown query parameter {unknown[0]!r}; allowed: after, limit, order.",
                             param=unknown[0])
    b.apply_faults_for("list", owner, exchange())
    views, more = b.page(owner, after=request.args.get("after"), limit=limit, newest_first=order == "desc")
    profile, base = gateway.current(), public_base()
    data = [_profiled(view, profile, base) for view in views]
    body = {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": more}
    exchange().response = body
    return jsonify(body)


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= MAX_LIMIT:
        raise provider_error("invalid_value", f"limit must be a whole number from 1 to {MAX_LIMIT}, not {text!r}.",
                             param="limit")
    return int(text)


@videos.delete("/v1/videos/<video_id:video_id>")
def delete(video_id: str) -> Response:
    owner = caller()
    exchange().task_id = video_id
    backend().apply_faults_for("delete", owner, exchange())
    backend().delete(owner, video_id)
    body = {"id": video_id, "object": "video.deleted", "deleted": True}
    exchange().response = body
    return jsonify(body)


@videos.post("/v1/videos/<video_id:video_id>/remix")
def remix(video_id: str) -> Response:
    owner = caller()
    exchange().task_id = video_id
    body = parse_json_body(request) if request.mimetype not in FORM_TYPES else parse_form_body(request)
    exchange().body = body
    violations = validate_against(REMIX_SCHEMA, body)
    if violations:
        raise bad_request(violations)
    b = backend()
    origin = Origin(dialect=contract.NAME, ids=IDS, endpoint_shape=OPENAI_EVENTS.name, base_url=public_base())
    task: Task = b.remix(owner, video_id, body["prompt"], exchange(), origin=origin)
    exchange().task_id = task.id
    return _answer(b.view(task))
