"""The provider's routes: submit, poll, download. Parsing and rendering only; behaviour is in the backend."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, request, send_file

from mock_server.auth import authenticate
from mock_server.backend import TaskView, VideoBackend
from mock_server.jsonbody import parse_json_body

provider = Blueprint("provider", __name__)


def backend() -> VideoBackend:
    return current_app.extensions["videomock"]


def caller() -> str:
    """Authenticate the request; the key's fingerprint is kept for the journal."""
    g.videomock_owner = authenticate(request, backend().config["auth"]["api_keys"])
    return g.videomock_owner


def video_url(task_id: str) -> str:
    base = backend().config["server"]["public_url"] or request.host_url
    return f"{base.rstrip('/')}/v1/videos/{task_id}/content"


def task_body(view: TaskView) -> dict[str, Any]:
    task, state = view.task, view.state
    p = task.params
    return {
        "task_id": task.id,
        "status": state.status,
        "progress": state.progress,
        "url": video_url(task.id) if state.status == "completed" else None,
        "format": "mp4",
        "metadata": {"duration": p["duration"], "fps": p["fps"], "width": p["width"], "height": p["height"], "seed": p["seed"]},
        "error": state.error,
        "model": task.model,
        "created_at": int(task.created_at),
        "completed_at": int(state.completed_at) if state.completed_at is not None else None,
    }


@provider.post("/v1/video/generations")
def submit() -> Any:
    owner = caller()
    body = parse_json_body(request)
    g.videomock_body = body
    task = backend().submit(owner, body)
    g.videomock_task_id = task.id
    return {"task_id": task.id, "status": "queued"}


@provider.get("/v1/video/generations/<task_id>")
def poll(task_id: str) -> Any:
    owner = caller()
    g.videomock_task_id = task_id
    return task_body(backend().get(owner, task_id))


@provider.get("/v1/videos/<task_id>/content")
def download(task_id: str) -> Response:
    owner = caller()
    g.videomock_task_id = task_id
    path = backend().video_file(owner, task_id)
    response = send_file(path, mimetype="video/mp4", conditional=True, etag=True, max_age=0,
                         download_name=f"{task_id}.mp4")
    response.headers["Accept-Ranges"] = "bytes"
    return response
