"""The poll, without Flask, when nothing special can happen to it.

Clients poll far more than they do anything else, and under gunicorn Flask's per-request machinery
(request context, routing, response object) cost as much as the fake's own work. When a poll carries no
X-Videomock-Fault header, no fault rule could match it, its key is accepted and the task is the caller's,
this layer answers it with the same backend call, the same body function and the same JSON settings as
the Flask view, and journals it the same way. Anything else (errors included) goes to Flask. Each dialect
whose poll is a plain GET offers a :class:`FastPoll` for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from videomock.core.backend import TaskView, VideoBackend
from videomock.core.exchange import Exchange
from videomock.core.keys import fingerprint
from videomock.http.auth import accepts, bearer_token

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: (the view, the request's environ, the backend) -> (the JSON answer, its extra headers).
Render = Callable[[TaskView, dict[str, Any], VideoBackend], tuple[Any, list[tuple[str, str]]]]


@dataclass(frozen=True)
class FastPoll:
    """A dialect's poll route: a path whose one group is the task id, and how the dialect renders the task.
    ``applies`` says whether the request is one this route answers as its Flask view would (a gateway
    profile that renders differently, say, makes the full path take it)."""

    path: re.Pattern[str]
    render: Render
    applies: Callable[[dict[str, Any], VideoBackend], bool] = lambda environ, backend: True


#: Set in the environ of a GET a server asked :meth:`PollFastPath.answer` about first (and was declined), so
#: that the full path does not ask again.
DECLINED = "videomock.fast_path_declined"


class PollFastPath:
    def __init__(self, app: WSGIApp, backend: VideoBackend, dumps: Callable[[Any], str],
                 routes: Sequence[FastPoll]) -> None:
        self.app = app
        self.backend = backend
        self.dumps = dumps
        self.routes = tuple(routes)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = self.answer(environ) if environ["REQUEST_METHOD"] == "GET" and DECLINED not in environ else None
        if answer is None:
            return self.app(environ, start_response)
        body, headers = answer
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
        return [body]

    def answer(self, environ: dict[str, Any]) -> tuple[bytes, list[tuple[str, str]]] | None:
        """The body and extra headers of the 200 a GET gets, or None when the full path must answer it. It
        never waits (a store read and a queued journal entry), so a server may call it on its event loop."""
        if "HTTP_X_VIDEOMOCK_FAULT" in environ:
            return None
        path = environ.get("PATH_INFO", "")
        for route in self.routes:
            match = route.path.fullmatch(path)
            if match is not None:
                break
        else:
            return None
        backend = self.backend
        key = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        if key is None or not accepts(backend.config["auth"]["api_keys"], key) or not route.applies(environ, backend):
            return None
        owner, task_id = fingerprint(key), match[1]
        view = backend.plain_view(owner, task_id)
        if view is None:
            return None
        exchange = Exchange(owner=owner, task_id=task_id, endpoint="poll", model=view.task.model)
        exchange.response, headers = route.render(view, environ, backend)
        body = (self.dumps(exchange.response) + "\n").encode()
        backend.journal("GET", path, environ.get("QUERY_STRING", ""), 200, exchange, None,
                        exchange.response, request_bytes=0, response_bytes=len(body))
        return body, headers
