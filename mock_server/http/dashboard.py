"""The dashboard: a page at ``/__admin/ui`` that shows and steers the fake, and the admin routes only it needs.

The page is three hand-written files (``dashboard/``, shipped as package data): no build step, nothing
fetched from elsewhere, so it works offline. It holds no data of its own; everything it shows comes from
the admin API, which its script calls with the admin token the user typed in (kept in the tab's
sessionStorage and sent as the admin header, never in a URL). So the page's files need no token, since a
browser opening a link cannot send one, but they keep the loopback rule: a server that listens beyond
loopback without an admin token does not serve them to other machines.

A ``<video>`` or ``<img>`` cannot send a header either, so a task's media are linked with a signature in
the query instead: ``GET /__admin/tasks/{id}`` (token needed) hands out links to ``.../video`` and
``.../thumbnail`` that work without it for an hour or two of real time. They are signed for the dashboard
alone (a provider CDN link does not open them, nor they a CDN route), they show nothing the token holder
could not fetch anyway, and serving them fires no download fault and writes no journal entry: looking at a
video in the dashboard does not use up a rule that the code under test is meant to meet.
"""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

from flask import Blueprint, Response, request, url_for

from videomock.contracts.schemas import load_schema
from videomock.core import links
from videomock.core.backend import TaskView
from videomock.core.errors import provider_error
from videomock.http.admin import check_admin_access, task_summary
from videomock.http.context import backend
from videomock.http.files import send_video
from videomock.store import Store

dashboard = Blueprint("dashboard", __name__, url_prefix="/__admin")

#: The page's files besides the page itself, by the name it links them with, and their media types.
ASSETS = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
PAGE_TYPE = "text/html; charset=utf-8"

#: The page loads its own script, style and media, and talks to this server only. No inline script or
#: style is allowed, so text from a request body (a prompt) can never run, whatever the page does with it.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'none'")

#: A media link stays valid until the end of the next whole hour of real time after it was made: one to two
#: hours, and the same link all that while, so the browser keeps its cached copy as the page refreshes.
LINK_PERIOD_SECONDS = 3600

#: The media variants the task page shows, by the route's last path segment.
MEDIA = ("video", "thumbnail")

_OPEN_ENDPOINTS = frozenset({"dashboard.page", "dashboard.asset"})


def _signed_query() -> bool:
    return "expires" in request.args or "signature" in request.args


@dashboard.before_request
def _require_admin_access() -> None:
    media_link = request.endpoint == "dashboard.media" and _signed_query()
    check_admin_access(token_needed=request.endpoint not in _OPEN_ENDPOINTS and not media_link)


def _file(name: str) -> bytes:
    return resources.files(__package__).joinpath("dashboard", name).read_bytes()


def _served(body: bytes, content_type: str) -> Response:
    response = Response(body, content_type=content_type)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


@dashboard.get("/ui")
def page() -> Response:
    """The page, telling its script whether the server has an admin token: without one it asks for none,
    and so never starts with a refused request."""
    token = "required" if backend().config["auth"]["admin_token"] is not None else "none"
    return _served(_file("index.html").replace(b"{{admin_token}}", token.encode()), PAGE_TYPE)


@dashboard.get(f"/ui/<any({', '.join(map(repr, ASSETS))}):name>")
def asset(name: str) -> Response:
    return _served(_file(name), ASSETS[name])


@dashboard.get("/config/schema")
def config_schema() -> Any:
    """The config's JSON Schema, from which the page builds its fault-rule form: a field added to a rule or
    an action there appears in the form with no change to the page."""
    return load_schema("config")


def _subject(task_id: str) -> str:
    """What a dashboard link signs: a CDN link to the same task's video does not open the dashboard's routes."""
    return f"dashboard:{task_id}"


def link_signature(store: Store, task_id: str, expires: int) -> str:
    return links.sign(links.signing_key(store), _subject(task_id), expires)


def _media_links(task_id: str) -> dict[str, str]:
    expires = (int(time.time()) // LINK_PERIOD_SECONDS + 2) * LINK_PERIOD_SECONDS
    signature = link_signature(backend().store, task_id, expires)
    return {variant: url_for("dashboard.media", task_id=task_id, variant=variant, expires=expires, signature=signature)
            for variant in MEDIA}


def _check_link(task_id: str, expires: str, signature: str) -> None:
    links.check(links.signing_key(backend().store), _subject(task_id), expires, signature, time.time(),
                name="dashboard link", renew="open the task again for a fresh one")


def _task_view(task_id: str) -> TaskView:
    """Any key's task, as its poll would see it (a video that is due is rendered first)."""
    b = backend()
    task = b.store.get_task(task_id)
    if task is None:
        raise provider_error("task_not_found", f"No task {task_id!r}.", param="task_id")
    return b.view(task)


@dashboard.get("/tasks/<task_id>")
def task(task_id: str) -> Any:
    """One task as the admin list shows it, with its timeline's instants and, once it is completed, links to
    its video and thumbnail that a browser's player can open."""
    view = _task_view(task_id)
    done = view.state.status == "completed"
    return {**task_summary(view), "started_at": view.task.started_at, "finishes_at": view.task.finishes_at,
            "media": _media_links(task_id) if done else None}


@dashboard.get(f"/tasks/<task_id>/<any({', '.join(MEDIA)}):variant>")
def media(task_id: str, variant: str) -> Response:
    """A completed task's first video or its thumbnail, with Range: opened by the admin token, or by the
    signed query of a link :func:`task` handed out."""
    if _signed_query():
        _check_link(task_id, request.args.get("expires", ""), request.args.get("signature", ""))
    view = _task_view(task_id)
    if view.state.status != "completed":
        raise provider_error("video_not_ready", f"Task {task_id} is {view.state.status}; its video can be shown "
                             "once it is completed.", param="task_id")
    return send_video(backend().rendered_file(view, 0, variant), task_id, variant)
