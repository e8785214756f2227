"""Errors in the provider's documented shape, and the handlers that make sure nothing else ever escapes.

Every failure, ours or werkzeug's (404, 405, 413, ...), leaves as ``{"error": {message, type, param, code}}``
with the status/type pairing from the error contract. An unexpected exception is logged and answered
with a JSON 500; the client never sees HTML or a traceback.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contracts.schemas import load_schema

if TYPE_CHECKING:
    from flask import Flask, Response

log = logging.getLogger("videomock")


def error_type(status: int) -> str:
    """The provider's error ``type`` for an HTTP status (from the error schema's x-status-types)."""
    table = load_schema("error")["x-status-types"]
    if str(status) in table:
        return table[str(status)]
    return "server_error" if status >= 500 else "invalid_request_error"


def reason_code(reason: str) -> str:
    """An error ``code`` from an HTTP reason phrase, for errors the HTTP layer raises ("Bad Request" ->
    "bad_request")."""
    return re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_")


def http_error_json(status: int, reason: str, message: str) -> bytes:
    """The body for an error the HTTP server answers itself, before the app sees the request (a broken
    request line or header): the servers' own default is an HTML page."""
    return json.dumps(error_body(status, message or reason, code=reason_code(reason))).encode()


def error_body(status: int, message: str, *, param: str | None = None, code: str | None = None,
               type: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type or error_type(status), "param": param, "code": code}}


class APIError(Exception):
    """An error the provider would return. Raised anywhere in request handling."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type
        self.headers = dict(headers or {})

    def response(self) -> Response:
        from flask import jsonify  # not at import: this module also serves processes that never answer requests

        resp = jsonify(error_body(self.status, self.message, param=self.param, code=self.code, type=self.type))
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


_HTTP_MESSAGES = {
    404: ("not_found", "Unknown route {method} {path}. See /openapi.json for the routes this server has."),
    405: ("method_not_allowed", "Method {method} is not allowed on {path}; allowed: {allowed}."),
    413: ("request_too_large", "The request body is larger than this server accepts ({limit} bytes)."),
}


def register_error_handlers(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(APIError)
    def _api_error(exc: APIError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        from flask import request

        status = exc.code or 500
        code, template = _HTTP_MESSAGES.get(status, (None, exc.description or exc.name))
        allowed = ", ".join(sorted(getattr(exc, "valid_methods", None) or ()))
        message = template.format(method=request.method, path=request.path, allowed=allowed,
                                  limit=app.config.get("MAX_CONTENT_LENGTH"))
        err = APIError(status, message, code=code or reason_code(exc.name))
        resp = err.response()
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                resp.headers[name] = value
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error while handling a request")
        return APIError(500, "The fake provider hit an internal error; it has been logged.", code="internal_error").response()
