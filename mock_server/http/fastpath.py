"""The poll and the JSON submit, without Flask, when nothing special can happen to them.

Clients poll far more than they do anything else, and under gunicorn Flask's per-request machinery
(request context, routing, response object) cost as much as the fake's own work; in a submit, Flask and its
hooks cost more than the backend's whole submit with the memory store (bench/README.md). When a request
carries no X-Videomock-Fault header, no fault rule could match it and its key is accepted, this layer
answers it with the same functions as the Flask view (a dialect's :class:`FastPoll` and :class:`FastSubmit`
name them), the same error shapes and JSON settings, and journals it the same way. What it cannot answer
exactly so (another content type, a task that is not the caller's, a body sent chunked) goes to Flask.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES

from videomock.core.backend import TaskView, VideoBackend
from videomock.core.errors import APIError
from videomock.core.exchange import Exchange
from videomock.core.keys import fingerprint
from videomock.core.waits import WouldWait
from videomock.http.auth import accepts, bearer_token
from videomock.http.bodies import strict_json
from videomock.http.errors import internal_error, rendered_error
from videomock.http.journal import journaled_body, journaled_query

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: (the view, the request's environ, the backend) -> (the JSON answer, its extra headers).
Render = Callable[[TaskView, dict[str, Any], VideoBackend], tuple[Any, list[tuple[str, str]]]]
#: (the request's environ, the caller's key fingerprint, the backend, the request's exchange (its JSON body
#: read into ``body``), whether it may wait) -> the JSON answer of a 200; raises APIError, or WouldWait when it
#: may not wait.
Accept = Callable[[dict[str, Any], str, VideoBackend, Exchange, bool], Any]
#: An answer given without Flask: status, body, and the headers after Content-Type and Content-Length.
FastAnswer = tuple[int, bytes, list[tuple[str, str]]]

#: A submit body up to this size is read by the fast path (the media of a submit this small come by URL, or
#: are small images); a larger one goes to Flask, which reads it as it arrives.
FAST_BODY_BYTES = 64 * 1024


def _always(environ: dict[str, Any], backend: VideoBackend) -> bool:
    return True


@dataclass(frozen=True)
class FastPoll:
    """A dialect's poll route: a path whose one group is the task id, and how the dialect renders the task.
    ``applies`` says whether the request is one this route answers as its Flask view would (a gateway
    profile that renders differently, say, makes the full path take it)."""

    path: re.Pattern[str]
    render: Render
    applies: Callable[[dict[str, Any], VideoBackend], bool] = _always


@dataclass(frozen=True)
class FastSubmit:
    """A dialect's JSON submit route: its path, the view's own work once the body is read (``accept``, which
    the Flask view calls too), and how the route's errors look (as Flask's error handler renders them for the
    view's endpoint). ``applies`` as for :class:`FastPoll`."""

    path: re.Pattern[str]
    accept: Accept
    #: (the request's environ, the backend, the error) -> the error's body, or (body, status).
    error: Callable[[dict[str, Any], VideoBackend, APIError], Any]
    applies: Callable[[dict[str, Any], VideoBackend], bool] = _always


#: Set in the environ of a GET a server asked :meth:`FastPath.answer` about first (and was declined), so
#: that the full path does not ask again.
DECLINED = "videomock.fast_path_declined"


class FastPath:
    """WSGI middleware answering plain polls and submits itself, everything else through ``app``."""

    def __init__(self, app: WSGIApp, backend: VideoBackend, dumps: Callable[[Any], str],
                 polls: Sequence[FastPoll], submits: Sequence[FastSubmit]) -> None:
        self.app = app
        self.backend = backend
        self.dumps = dumps
        self.polls = tuple(polls)
        self.submits = tuple(submits)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = None if DECLINED in environ else self.answer(environ, may_wait=True)
        if answer is None:
            return self.app(environ, start_response)
        status, body, headers = answer
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown').upper()}",   # as Flask writes it
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
        return [body]

    def answer(self, environ: dict[str, Any], *, may_wait: bool = False) -> FastAnswer | None:
        """The answer to a plain poll or submit, or None when the full path must answer it. Without
        ``may_wait`` it waits for nothing but the store (its reads, its write lock for one commit of another
        worker's, a queued journal entry): a server may call it on its event loop. A POST's body is read from
        ``wsgi.input``, which is then left holding it again."""
        if "HTTP_X_VIDEOMOCK_FAULT" in environ:
            return None
        method = environ["REQUEST_METHOD"]
        try:
            if method == "GET":
                return self._poll(environ)
            if method == "POST" and self.submits:
                return self._submit(environ, may_wait)
        except Exception:   # a server calling this on its loop has no Flask around it to answer a JSON 500
            log.exception("the fast path failed; the full path answers the request")
        return None

    def stop_submits(self) -> None:
        """Leave every submit to the full path (a replay answers submits from its cassettes there)."""
        self.submits = ()

    def _caller(self, environ: dict[str, Any]) -> str | None:
        key = bearer_token(environ.get("HTTP_AUTHORIZATION"))
        return fingerprint(key) if key is not None and accepts(self.backend.config["auth"]["api_keys"], key) else None

    def _poll(self, environ: dict[str, Any]) -> FastAnswer | None:
        path = environ.get("PATH_INFO", "")
        for route in self.polls:
            match = route.path.fullmatch(path)
            if match is not None:
                break
        else:
            return None
        backend = self.backend
        owner = self._caller(environ)
        if owner is None or not route.applies(environ, backend):
            return None
        task_id = match[1]
        view = backend.plain_view(owner, task_id)
        if view is None:
            return None
        exchange = Exchange(owner=owner, task_id=task_id, endpoint="poll", model=view.task.model)
        exchange.response, headers = route.render(view, environ, backend)
        return self._answered(environ, 200, exchange, None, exchange.response, headers)

    def _submit(self, environ: dict[str, Any], may_wait: bool) -> FastAnswer | None:
        path = environ.get("PATH_INFO", "")
        route = next((route for route in self.submits if route.path.fullmatch(path)), None)
        length = environ.get("CONTENT_LENGTH", "")
        if route is None or environ.get("CONTENT_TYPE") != "application/json" or not length.isdigit() \
                or int(length) > min(FAST_BODY_BYTES, self.backend.config["server"]["max_body_bytes"]) \
                or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        backend = self.backend
        owner = self._caller(environ)
        if owner is None or not route.applies(environ, backend) or not backend.plain("submit"):
            return None
        raw = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(raw)   # for the full path, should it answer after all
        if len(raw) != int(length):
            return None   # the body ended early: the full path says so
        exchange = Exchange(owner=owner, endpoint="submit")
        headers: list[tuple[str, str]] = []

        def shaped(error: APIError) -> tuple[Any, int]:
            return rendered_error(error, lambda error: route.error(environ, backend, error))

        try:
            exchange.body = strict_json(raw)
            status, answer = 200, route.accept(environ, owner, backend, exchange, may_wait)
        except WouldWait:
            return None   # nothing has changed yet: the full path answers it, where it may wait
        except APIError as refused:
            answer, status = shaped(refused)
            headers = list(refused.headers.items())
        except Exception:   # as Flask's handler: logged, and a JSON 500 in the route's shape
            answer, status = shaped(internal_error())
        try:
            return self._answered(environ, status, exchange, raw, answer, headers)
        except Exception:   # the submit happened: the full path must not make its task again
            answer, status = shaped(internal_error())
            return status, (self.dumps(answer) + "\n").encode(), []

    def _answered(self, environ: dict[str, Any], status: int, exchange: Exchange, raw: bytes | None, answer: Any,
                  headers: list[tuple[str, str]]) -> FastAnswer:
        """The answer, encoded as Flask's JSON answers are (compact, a trailing newline), once journaled."""
        body = (self.dumps(answer) + "\n").encode()
        self.backend.journal(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), journaled_query(environ), status,
                             exchange, journaled_body(exchange, raw), answer,
                             request_bytes=0 if raw is None else len(raw), response_bytes=len(body))
        return status, body, headers

