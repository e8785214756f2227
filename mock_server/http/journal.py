"""Journaling every request Flask answers (outside /__admin/); the WSGI fast path journals its own, through
the same functions."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import HTTPException

from videomock.core.exchange import Exchange
from videomock.core.journal import BODY_TEXT_LIMIT, elide_images
from videomock.core.keys import fingerprint
from videomock.http.middleware import exchange_in

#: A query parameter that carries an API key (Google's APIs take one as ?key=); journaled as its fingerprint.
_KEY_PARAMETER = re.compile(r"(?<![^&])key=([^&]*)")


def journaled_query(environ: dict[str, Any]) -> str:
    """The query string, with an API key in it replaced by the key's fingerprint: the journal keeps no secret."""
    return _KEY_PARAMETER.sub(lambda m: f"key={fingerprint(unquote_plus(m[1]))}", environ.get("QUERY_STRING", ""))


def journaled_body(exchange: Exchange, raw: bytes | None) -> Any:
    """What the journal shows of a request's body: the value its view read (images elided), else its text."""
    if exchange.body is not None:
        return elide_images(exchange.body)
    if not raw:
        return None
    text = raw[:BODY_TEXT_LIMIT].decode("utf-8", "replace")
    return text + ("..." if len(raw) > BODY_TEXT_LIMIT else "")


def _request_body(req: Request, exchange: Exchange) -> Any:
    if exchange.body is not None or not req.content_length:
        return journaled_body(exchange, None)
    try:
        raw = req.get_data(cache=True)
    except HTTPException:  # e.g. over the size limit: the body was never read
        return f"<{req.content_length} bytes, not read>"
    return journaled_body(exchange, raw)


def _response_body(response: Response, exchange: Exchange) -> Any:
    if exchange.response is not None:
        return exchange.response
    if response.mimetype != "application/json" or response.direct_passthrough:
        return None
    try:  # errors, models, openapi: answers no view kept a copy of
        return json.loads(response.get_data())
    except ValueError:
        return response.get_data(as_text=True)[:BODY_TEXT_LIMIT]


def install_journal(app: Flask) -> None:
    @app.after_request
    def _record(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        exchange = exchange_in(req.environ)
        if exchange is None or req.path.startswith("/__admin"):
            return response
        current_app.extensions["videomock"].journal(
            req.environ["REQUEST_METHOD"], req.path, journaled_query(req.environ), response.status_code,
            exchange, _request_body(req, exchange), _response_body(response, exchange),
            request_bytes=req.content_length or 0 if "chunked" not in req.headers.get("Transfer-Encoding", "") else None,
            response_bytes=response.content_length)
        return response
