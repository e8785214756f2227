"""The documented dialect: the gateway API of the provider doc (``POST /v1/video/generations``).

An adapter over the core: it parses, authenticates and renders; behaviour is the backend's. Each request
carries an :class:`~videomock.core.exchange.Exchange` in its WSGI environ: the backend records fault
decisions on it, the journal and the transport layer act on them.

The generations routes answer in the request's gateway profile (:mod:`videomock.dialects.gateway`): this
module's :data:`PROFILE` is the documented one; the others read and render through their own, around the
same backend calls.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.wrappers import Response as BaseResponse

from videomock.core.backend import DOCUMENTED, TaskView, VideoBackend
from videomock.core.errors import APIError, provider_error
from videomock.core.exchange import Exchange
from videomock.core.tasks import Task
from videomock.core.webhooks.events import Event
from videomock.dialects import callbacks, gateway
from videomock.http.bodies import parse_json_body
from videomock.http.context import backend, caller, exchange, public_base
from videomock.http.errors import api_error_body
from videomock.http.fastpath import FastPoll, FastSubmit
from videomock.http.files import send_video
from videomock.http.urls import base_url
from videomock.media.variants import VARIANTS

provider = Blueprint("provider", __name__)
provider.before_request(gateway.check_header)

#: Flask endpoint -> the endpoint names fault rules use.
FAULT_ENDPOINTS = {
    "provider.submit": "submit",
    "provider.poll": "poll",
    "provider.download": "download",
    "provider.cdn_download": "download",
}


# --- rendering ----------------------------------------------------------------------------------------------

def video_url(base: str, task_id: str) -> str:
    return f"{base}/v1/videos/{task_id}/content"


def task_body(view: TaskView, url: str) -> dict[str, Any]:
    """The documented task body. ``url`` is the download link, shown once the task is completed.
    A pure function of the view, so the Flask view and the WSGI fast path answer byte for byte alike."""
    task, state = view.task, view.state
    p = task.params
    return {
        "task_id": task.id,
        "status": state.status,
        "progress": state.progress,
        "url": url if state.status == "completed" else None,
        "format": "mp4",
        "metadata": {"duration": p["duration"], "fps": p["fps"], "width": p["width"], "height": p["height"], "seed": p["seed"]},
        "error": state.error,
        "model": task.model,
        "created_at": int(task.reported_time(task.created_at)),
        "completed_at": int(task.reported_time(state.completed_at)) if state.completed_at is not None else None,
    }


def _fast_render(view: TaskView, environ: dict[str, Any], backend: VideoBackend) -> tuple[Any, list[tuple[str, str]]]:
    config = backend.config
    base = base_url(environ, config["server"]["public_url"])
    return gateway.named(environ, config).task(view, task_body(view, video_url(base, view.task.id)), backend), []


#: The poll, for the WSGI fast path: the same body as the view's, in the request's profile.
FAST_POLL = FastPoll(re.compile(r"/v1/video/generations/([^/]+)/?"), _fast_render, gateway.readable)

#: The documented gateway profile: the documented body read as it is (the backend validates it), answers
#: and errors in the documented shapes.
PROFILE = gateway.Profile(
    name="documented",
    read=lambda body, catalog: (body, DOCUMENTED),
    submitted=lambda task: {"task_id": task.id, "status": "queued"},
    task=lambda view, body, backend: body,
    lookup_error=lambda error: error,
    video=lambda body, view, link: body,
    error=lambda error, endpoint: api_error_body(error),
)


def _callback_videos(task: Task, event: Event) -> list[dict[str, Any]]:
    return [{"id": f"{task.id}-{output}", "url": video_url(event.base_url, task.id),
             "duration": str(task.params["duration"])} for output in range(len(task.video_keys))]


#: Kling's callback, for a request's metadata.callback_url: its videos linked to this dialect's download.
KLING_CALLBACK = callbacks.kling_shape("kling-via-gateway", _callback_videos)
#: The callback shapes this dialect sends.
WEBHOOK_SHAPES = (callbacks.OPENAI_EVENTS, KLING_CALLBACK)


# --- links ------------------------------------------------------------------------------------------------------

def _signed_query(task_id: str, ttl: float) -> str:
    return backend().signed_query(task_id, ttl)


def cdn_url(task_id: str, ttl: float) -> str:
    """A link to the task's video that needs no API key and works for ``ttl`` virtual seconds: where a redirect
    fault sends a download, and where a dialect whose provider serves videos from a CDN (Kling) links them."""
    return cdn_link(public_base(), task_id, _signed_query(task_id, ttl))


def cdn_link(base: str, task_id: str, signed_query: str) -> str:
    """:func:`cdn_url` under ``base``, for links made outside a request (a callback's)."""
    return f"{base}/cdn/videos/{task_id}.mp4?{signed_query}"


def poll_url(task_id: str, link_ttl: float | None) -> str:
    """The task's download link; with an expire_url fault, a signed one that stops working after ``link_ttl``."""
    url = video_url(public_base(), task_id)
    return url if link_ttl is None else f"{url}?{_signed_query(task_id, link_ttl)}"


# --- routes ---------------------------------------------------------------------------------------------------

def _accept(environ: dict[str, Any], owner: str, b: VideoBackend, ex: Exchange, may_wait: bool) -> Any:
    """A submit's work once its body is read (into ``ex.body``): the Flask view's, and the WSGI fast path's."""
    profile = gateway.named(environ, b.config)
    body, origin = profile.read(ex.body, b.catalog)
    origin = replace(origin, webhooks=callbacks.kling_callbacks(body, KLING_CALLBACK.name),
                     endpoint_shape=callbacks.OPENAI_EVENTS.name,
                     base_url=base_url(environ, b.config["server"]["public_url"]))
    task = b.submit(owner, body, ex, idempotency_key=environ.get("HTTP_IDEMPOTENCY_KEY"), origin=origin,
                    may_wait=may_wait)
    ex.task_id = task.id
    ex.response = profile.submitted(task)
    return ex.response


#: The submit, for the WSGI fast path: the view's work, its errors in the request's profile.
FAST_SUBMIT = FastSubmit(re.compile(r"/v1/video/generations/?"), _accept,
                         lambda environ, b, error: gateway.error_in_profile(environ, b.config, error, "provider.submit"),
                         gateway.readable)


@provider.post("/v1/video/generations")
def submit() -> Any:
    owner = caller()
    ex = exchange()
    ex.body = parse_json_body(request)
    return _accept(request.environ, owner, backend(), ex, True)


@provider.get("/v1/video/generations/<task_id>")
def poll(task_id: str) -> Any:
    owner = caller()
    ex = exchange()
    ex.task_id = task_id
    profile, b = gateway.current(), backend()
    try:
        view = b.get(owner, task_id, ex)
    except APIError as error:
        raise profile.lookup_error(error) from None
    ex.response = profile.task(view, task_body(view, poll_url(task_id, ex.expire_ttl)), b)
    return ex.response


@provider.get("/v1/videos/<task_id>/content")
def download(task_id: str) -> BaseResponse:
    owner = caller()
    exchange().task_id = task_id
    if "expires" in request.args or "signature" in request.args:
        _check_link(task_id)
    ex = exchange()
    variant = request.args.get("variant", "video")
    if variant not in VARIANTS:
        raise provider_error("invalid_value", f"variant {variant!r} is not one of {', '.join(VARIANTS)}.",
                             param="variant")
    path = backend().video_file(owner, task_id, ex, variant=variant)
    if ex.redirect is not None and variant == "video":
        return _redirect(cdn_url(task_id, ex.redirect.ttl), ex.redirect.status)
    return send_video(path, task_id, variant)


def _redirect(target: str, status: int) -> Response:
    """A redirect with no body, as storage CDNs answer: flask.redirect writes a little HTML page, which a
    client that does not follow redirects would read as the API's answer."""
    response = Response(status=status, headers={"Location": target})
    del response.headers["Content-Type"]
    return response


@provider.get("/cdn/videos/<task_id>.mp4")
def cdn_download(task_id: str) -> Response:
    """Where redirect faults send downloads: no API key, but a valid unexpired signature."""
    exchange().task_id = task_id
    _check_link(task_id)
    return send_video(backend().video_file(None, task_id, exchange()), task_id)


def _check_link(task_id: str) -> None:
    backend().check_link(task_id, request.args.get("expires", ""), request.args.get("signature", ""))
