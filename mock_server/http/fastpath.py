"""The poll, without Flask, when nothing special can happen to it.

Clients poll far more than they do anything else, and under gunicorn Flask's per-request machinery
(request context, routing, response object) cost as much as the fake's own work. When a poll carries no
X-Videomock-Fault header, no fault rule could match it, its key is accepted and the task is the caller's,
this layer answers it with the same backend call, the same body function and the same JSON settings as
the Flask view, and journals it the same way. Anything else (errors included) goes to Flask.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from videomock.core.exchange import Exchange
from videomock.core.keys import fingerprint
from videomock.dialects.documented import task_body, video_url
from videomock.http.auth import accepts, bearer_token
from videomock.http.urls import base_url

_POLL = re.compile(r"/v1/video/generations/([^/]+)/?")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PollFastPath:
    def __init__(self, app: WSGIApp, backend: Any, dumps: Callable[[Any], str]) -> None:
        self.app = app
        self.backend = backend
        self.dumps = dumps

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = self._answer(environ) if environ["REQUEST_METHOD"] == "GET" else None
        if answer is None:
            return self.app(environ, start_response)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
        return [answer]

    def _answer(self, environ: dict[str, Any]) -> bytes | None:
        match = _POLL.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or "HTTP_X_VIDEOMOCK_FAULT" in environ:
            return None
        backend = self.backend
        key = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        config = backend.config
        if key is None or not accepts(config["auth"]["api_keys"], key):
            return None
        owner, task_id = fingerprint(key), match[1]
        exchange = Exchange(owner=owner, task_id=task_id)
        view = backend.plain_view(owner, task_id)
        if view is None:
            return None
        url = video_url(base_url(environ, config["server"]["public_url"]), task_id)
        exchange.response = task_body(view, url)
        body = (self.dumps(exchange.response) + "\n").encode()
        backend.journal("GET", environ["PATH_INFO"], environ.get("QUERY_STRING", ""), 200, exchange, None,
                        exchange.response, request_bytes=0, response_bytes=len(body))
        return body
