"""The request journal: what each request asked and got, for tests to assert on.

Entries hold the key's fingerprint, never the key, and inline images are shortened to a note of their size.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from mock_server.transport import ENVIRON_KEY

BODY_TEXT_LIMIT = 4096


def _elide_images(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("image"), str) and len(body["image"]) > 256:
        return {**body, "image": f"<image: {len(body['image'])} characters>"}
    return body


def _request_body() -> Any:
    if "videomock_body" in g:
        return _elide_images(g.videomock_body)
    try:
        raw = request.get_data(cache=True)
    except HTTPException:  # e.g. over the size limit: the body was never read
        return f"<{request.content_length} bytes, not read>"
    if not raw:
        return None
    text = raw[:BODY_TEXT_LIMIT].decode("utf-8", "replace")
    return text + ("..." if len(raw) > BODY_TEXT_LIMIT else "")


def _response_body(response: Response) -> Any:
    if response.mimetype != "application/json" or response.direct_passthrough:
        return None
    try:
        return json.loads(response.get_data())
    except ValueError:
        return response.get_data(as_text=True)[:BODY_TEXT_LIMIT]


def _faults() -> list[dict[str, Any]] | None:
    exchange = request.environ.get(ENVIRON_KEY)
    return exchange.journal() if exchange is not None else None


def install_journal(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.videomock_started = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        if request.path.startswith("/__admin"):
            return response
        backend = current_app.extensions["videomock"]
        started = g.get("videomock_started", time.perf_counter())
        backend.store.append_journal({
            "time": time.time(),
            "virtual_time": backend.clock.now(),
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("latin-1"),
            "status": response.status_code,
            "key": g.get("videomock_owner"),
            "task_id": g.get("videomock_task_id"),
            "request_body": _request_body(),
            "response_body": _response_body(response),
            "fault": _faults(),
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        })
        return response
