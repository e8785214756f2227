"""The provider's routes: submit, poll, download (and the "CDN" a redirect fault points to).

Parsing and rendering only; behaviour is in the backend. Each request carries an :class:`Exchange` in its
WSGI environ: the backend records fault decisions on it, the journal and the transport layer act on them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request, send_file

from mock_server import links
from mock_server.auth import authenticate
from mock_server.backend import VideoBackend
from mock_server.bodies import base_url, signed_query, task_body, video_url
from mock_server.errors import APIError
from mock_server.exchange import ENVIRON_KEY, Exchange
from mock_server.faults import HEADER, HEADER_GRAMMAR, FaultSpecError, parse_fault_header
from mock_server.jsonbody import parse_json_body

provider = Blueprint("provider", __name__)

#: Flask endpoint -> the endpoint names fault rules use.
FAULT_ENDPOINTS = {
    "provider.submit": "submit",
    "provider.poll": "poll",
    "provider.download": "download",
    "provider.cdn_download": "download",
    "meta.list_models": "models",
}

#: How long a redirect's signed CDN link stays valid by default (virtual seconds).
CDN_LINK_TTL = 3600


def backend() -> VideoBackend:
    return current_app.extensions["videomock"]


def caller() -> str:
    """Authenticate the request; the key's fingerprint is kept for the journal."""
    owner = authenticate(request.headers.get("Authorization"), backend().config["auth"]["api_keys"])
    exchange().owner = owner
    return owner


def exchange() -> Exchange:
    """This request's Exchange, opened by the journal for every request outside /__admin/."""
    return request.environ[ENVIRON_KEY]


@provider.before_app_request
def _read_fault_header() -> None:
    """A bad X-Videomock-Fault header is a 400 naming it."""
    endpoint = FAULT_ENDPOINTS.get(request.endpoint or "")
    if endpoint is None:
        return
    ex = exchange()
    header = request.headers.get(HEADER)
    if header is not None:
        try:
            ex.header = parse_fault_header(header, endpoint)
        except FaultSpecError as exc:
            raise APIError(400, f"Bad {HEADER} header: {exc}. Grammar: {HEADER_GRAMMAR}", param=HEADER,
                           code="invalid_fault_header") from None


def public_base() -> str:
    return base_url(request.environ, backend().config["server"]["public_url"])


def _signed_query(task_id: str, ttl: float) -> str:
    b = backend()
    return signed_query(b.seed, task_id, b.clock.now(), ttl)


def poll_url(task_id: str, link_ttl: float | None) -> str:
    """The task's download link; with an expire_url fault, a signed one that stops working after ``link_ttl``."""
    url = video_url(public_base(), task_id)
    return url if link_ttl is None else f"{url}?{_signed_query(task_id, link_ttl)}"


@provider.post("/v1/video/generations")
def submit() -> Any:
    owner = caller()
    ex = exchange()
    ex.body = parse_json_body(request)
    task = backend().submit(owner, ex.body, ex, idempotency_key=request.headers.get("Idempotency-Key"))
    ex.task_id = task.id
    ex.response = {"task_id": task.id, "status": "queued"}
    return ex.response


@provider.get("/v1/video/generations/<task_id>")
def poll(task_id: str) -> Any:
    owner = caller()
    ex = exchange()
    ex.task_id = task_id
    ex.response = task_body(backend().get(owner, task_id, ex), poll_url(task_id, ex.expire_ttl))
    return ex.response


@provider.get("/v1/videos/<task_id>/content")
def download(task_id: str) -> Response:
    owner = caller()
    exchange().task_id = task_id
    if "expires" in request.args or "signature" in request.args:
        _check_link(task_id)
    ex = exchange()
    path = backend().video_file(owner, task_id, ex)
    if ex.redirect is not None:
        target = f"{public_base()}/cdn/videos/{task_id}.mp4?{_signed_query(task_id, ex.redirect.get('ttl', CDN_LINK_TTL))}"
        return redirect(target, code=ex.redirect.get("status", 302))
    return _send_video(path, task_id)


@provider.get("/cdn/videos/<task_id>.mp4")
def cdn_download(task_id: str) -> Response:
    """Where redirect faults send downloads: no API key, but a valid unexpired signature."""
    exchange().task_id = task_id
    _check_link(task_id)
    return _send_video(backend().video_file(None, task_id, exchange()), task_id)


def _check_link(task_id: str) -> None:
    b = backend()
    try:
        expires = int(request.args.get("expires", ""))
    except ValueError:
        raise APIError(403, "This link is not valid: it has no expiry.", code="invalid_signature") from None
    if not links.is_valid(b.seed, task_id, expires, request.args.get("signature", "")):
        raise APIError(403, "This link is not valid: its signature does not match.", code="invalid_signature")
    if b.clock.now() > expires:
        raise APIError(403, "This link has expired; poll the task again for a fresh url.", code="url_expired")


def _send_video(path: Path, task_id: str) -> Response:
    # The file name is the render's cache key: identical bytes, identical ETag, even after a re-render.
    response = send_file(path, mimetype="video/mp4", conditional=True, etag=path.stem, max_age=0,
                         download_name=f"{task_id}.mp4")
    response.headers["Accept-Ranges"] = "bytes"
    return response
