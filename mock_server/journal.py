"""The request journal: what each request asked and got, for tests to assert on.

Entries hold the key's fingerprint, never the key, and inline images are shortened to a note of their size.
Recording runs on every request, so it reads the request's Exchange (the body and answer the view already
parsed and built) rather than parsing anything again.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import HTTPException

from mock_server.exchange import ENVIRON_KEY, Exchange

BODY_TEXT_LIMIT = 4096


def _elide_images(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("image"), str) and len(body["image"]) > 256:
        return {**body, "image": f"<image: {len(body['image'])} characters>"}
    return body


def _request_body(req: Request, exchange: Exchange) -> Any:
    if exchange.body is not None:
        return _elide_images(exchange.body)
    if not req.content_length:
        return None
    try:
        raw = req.get_data(cache=True)
    except HTTPException:  # e.g. over the size limit: the body was never read
        return f"<{req.content_length} bytes, not read>"
    text = raw[:BODY_TEXT_LIMIT].decode("utf-8", "replace")
    return text + ("..." if len(raw) > BODY_TEXT_LIMIT else "")


def _response_body(response: Response, exchange: Exchange) -> Any:
    if exchange.response is not None:
        return exchange.response
    if response.mimetype != "application/json" or response.direct_passthrough:
        return None
    try:  # errors, models, openapi: answers no view kept a copy of
        return json.loads(response.get_data())
    except ValueError:
        return response.get_data(as_text=True)[:BODY_TEXT_LIMIT]


def record(backend: Any, environ: dict[str, Any], path: str, status: int, exchange: Exchange,
           request_body: Any, response_body: Any) -> None:
    """Append one entry. Shared by the Flask hook and the WSGI fast path, so both journal alike."""
    backend.store.append_journal({
        "time": time.time(),
        "virtual_time": backend.clock.now(),
        "method": environ["REQUEST_METHOD"],
        "path": path,
        "query": environ.get("QUERY_STRING", ""),
        "status": status,
        "key": exchange.owner,
        "task_id": exchange.task_id,
        "request_body": request_body,
        "response_body": response_body,
        "fault": exchange.fault_journal(),
        "duration_ms": round((time.perf_counter() - exchange.started) * 1000, 3),
    })


def install_journal(app: Flask) -> None:
    @app.after_request
    def _record(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        exchange: Exchange | None = req.environ.get(ENVIRON_KEY)
        if exchange is None or req.path.startswith("/__admin"):
            return response
        record(current_app.extensions["videomock"], req.environ, req.path, response.status_code, exchange,
               _request_body(req, exchange), _response_body(response, exchange))
        return response
