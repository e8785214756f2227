"""CORS, for a browser front-end under development that calls the fake directly (``--cors-origin``).

It wraps the whole WSGI app, the poll fast path included, so every answer to an allowed origin carries the
headers, faults and errors too: a browser hides the body of any answer without them, and a front-end that
is meant to show "rate limited, retrying" would see only a network error. Preflights are answered here,
before authentication, as browsers send them without the Authorization header. Off by default: a fake
that any page may call is not what a user who did not ask for it expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from videomock.http.middleware import WSGIApp

#: Methods the routes take; a preflight for another gets no CORS headers, so the browser refuses it.
ALLOWED_METHODS = "GET, HEAD, POST, DELETE"
#: How long a browser may reuse a preflight's answer (seconds).
PREFLIGHT_MAX_AGE = "600"


class CrossOrigin:
    """Adds CORS headers to answers for ``origins`` (exact origins, or ``*`` for any)."""

    def __init__(self, app: WSGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = frozenset(origins)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        if origin is None or not (self.any_origin or origin in self.origins):
            return self.app(environ, start_response)
        allow = [("Access-Control-Allow-Origin", "*" if self.any_origin else origin), ("Vary", "Origin")]
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        if environ.get("REQUEST_METHOD") == "OPTIONS" and requested is not None:
            if requested.upper() not in ALLOWED_METHODS.split(", "):
                return self.app(environ, start_response)
            headers = [*allow, ("Access-Control-Allow-Methods", ALLOWED_METHODS),
                       ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE), ("Content-Length", "0")]
            asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            if asked:
                headers.append(("Access-Control-Allow-Headers", asked))
            start_response("204 No Content", headers)
            return []

        def with_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Expose every header: a client reads Retry-After, Content-Range, ETag, openai-poll-after-ms.
            return start_response(status, [*headers, *allow, ("Access-Control-Expose-Headers", "*")], exc_info)

        return self.app(environ, with_cors)
