"""What the provider answers with: the task body and the links in it.

Pure functions of the backend's view and the request's address, so the Flask view and the WSGI fast path
render byte-for-byte the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mock_server import links
from mock_server.backend import TaskView


def base_url(environ: Mapping[str, Any], public_url: str | None) -> str:
    """Where clients reach us: the configured public URL, else the scheme and Host of this request (read
    from the environ directly; werkzeug's host_url re-parses and re-encodes it on every call)."""
    if public_url:
        return public_url.rstrip("/")
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{environ['wsgi.url_scheme']}://{host}{environ.get('SCRIPT_NAME', '')}".rstrip("/")


def signed_query(seed: int, task_id: str, now: float, ttl: float) -> str:
    expires = int(now + ttl)
    return f"expires={expires}&signature={links.sign(seed, task_id, expires)}"


def video_url(base: str, task_id: str) -> str:
    return f"{base}/v1/videos/{task_id}/content"


def task_body(view: TaskView, url: str) -> dict[str, Any]:
    """The documented task body. ``url`` is the download link, shown once the task is completed."""
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
        "created_at": int(task.created_at),
        "completed_at": int(state.completed_at) if state.completed_at is not None else None,
    }
