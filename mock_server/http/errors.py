"""Errors in the provider's documented shape, and the handlers that make sure nothing else ever escapes.

Every failure, ours or werkzeug's (404, 405, 413, ...), leaves as ``{"error": {message, type, param, code}}``
with the status/type pairing from the error contract. An unexpected exception is logged and answered
with a JSON 500; the client never sees HTML or a traceback. An error HTTP itself raises (werkzeug's, or the
HTTP server's for a request it cannot parse) knows only its status; its code is the error table's
protocol code for that status, so both servers and the app give one status one code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from videomock.contracts.errors import error_type, protocol_code
from videomock.core.errors import APIError, provider_error

if TYPE_CHECKING:
    from flask import Flask, Response

log = logging.getLogger("videomock")


def protocol_error(status: int, message: str) -> APIError:
    """An error HTTP itself raises, with the error table's code for its status. Its reason phrase is no
    guide: werkzeug's server says 'Request-URI Too Long' where gunicorn says 'URI Too Long', and gunicorn
    sends a 501 or a 500 with the phrase 'Bad Request'."""
    entry = protocol_code(status)
    return APIError(status, message, code=entry.code if entry is not None else None)


def http_error_json(status: int, reason: str, message: str) -> bytes:
    """The body for an error the HTTP server answers itself, before the app sees the request (a broken
    request line or header): the servers' own default is an HTML page."""
    error = protocol_error(status, message or reason)
    return json.dumps(error_body(error.status, error.message, code=error.code)).encode()


def error_body(status: int, message: str, *, param: str | None = None, code: str | None = None,
               type: str | None = None) -> dict[str, Any]:
    kind = type or error_type(status) or "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def api_error_body(error: APIError) -> dict[str, Any]:
    """``error`` in the documented shape, which a dialect or profile without a shape of its own answers in."""
    return error_body(error.status, error.message, param=error.param, code=error.code, type=error.type)


def error_response(error: APIError) -> Response:
    """``error`` in the shape of the dialect the request belongs to (by its route, or for a path no route
    serves by the dialect that owns the path's prefix; else the documented shape), with its status and
    headers."""
    from flask import (  # not at import: this module also serves processes that never answer requests
        current_app,
        jsonify,
        request,
    )

    renderers: ErrorRenderers = current_app.extensions.get("videomock.error_renderers", ErrorRenderers())
    body, status = rendered_error(error, renderers.for_request(request.blueprint, request.path))
    resp = jsonify(body)
    resp.status_code = status
    resp.headers.update(error.headers)
    return resp


def rendered_error(error: APIError, render: Callable[[APIError], Any] | None) -> tuple[Any, int]:
    """``error``'s body and status in the shape ``render`` gives it (a dialect's; None: the documented shape)."""
    rendered = render(error) if render is not None else api_error_body(error)
    return rendered if isinstance(rendered, tuple) else (rendered, error.status)


def internal_error() -> APIError:
    """What a request that hit an unexpected exception is answered (the exception being handled is logged)."""
    log.exception("unexpected error while handling a request")
    return provider_error("internal_error", "The fake provider hit an internal error; it has been logged.")


@dataclass(frozen=True)
class ErrorRenderers:
    """Each dialect's error shape, by its blueprint and by the path prefixes it owns."""

    by_blueprint: Mapping[str, Callable[[APIError], Any]] = field(default_factory=dict)
    by_prefix: tuple[tuple[str, Callable[[APIError], Any]], ...] = ()

    def for_request(self, blueprint: str | None, path: str) -> Callable[[APIError], Any] | None:
        if blueprint is not None:
            return self.by_blueprint.get(blueprint)
        return next((render for prefix, render in self.by_prefix if path.startswith(prefix)), None)


_HTTP_MESSAGES = {
    404: "Unknown route {method} {path}. See /openapi.json for the routes this server has.",
    405: "Method {method} is not allowed on {path}; allowed: {allowed}.",
    413: "The request body is larger than this server accepts ({limit} bytes).",
}


def register_error_handlers(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(APIError)
    def _api_error(exc: APIError) -> Response:
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        from flask import request

        status = exc.code or 500
        template = _HTTP_MESSAGES.get(status, exc.description or exc.name)
        allowed = ", ".join(sorted(getattr(exc, "valid_methods", None) or ()))
        message = template.format(method=request.method, path=request.path, allowed=allowed,
                                  limit=app.config.get("MAX_CONTENT_LENGTH"))
        resp = error_response(protocol_error(status, message))
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                resp.headers[name] = value
        if status in (408, 413):
            # The rest of the request is still on its way, or on the connection: not worth waiting for, and
            # werkzeug's server would read what is left of a body as the next request. (gunicorn decides about
            # connections itself, and skips what is left of a body.)
            resp.headers["Connection"] = "close"
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        return error_response(internal_error())
