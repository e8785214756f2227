"""``videomock record``: a proxy in front of the real provider that writes what it answers as cassettes.

The client is pointed at the proxy and sees the provider's own answers, with the provider's origin in their
links replaced by the proxy's, so that the downloads come through it too. Every exchange is forwarded as it
came (minus the connection's own headers); what reaches the disk goes through the :class:`Book`, which
redacts it, and each recorded answer is checked against its dialect's contract as it arrives.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request

from videomock.recording.cassette import TRANSIENT_HEADERS, WEBHOOK_PATH, Book, Exchange, form_fields
from videomock.recording.check import exchange_violations

log = logging.getLogger("videomock.record")

#: Seconds to connect to the upstream, and to wait for its answer (a real render can hold a request long).
TIMEOUTS = (10.0, 600.0)


class UpstreamError(ValueError):
    """An --upstream that is not a usable base URL."""


def check_upstream(url: str) -> str:
    """The upstream's origin, with no trailing slash; refused with the reason when it is not an http(s) URL
    without credentials, query or fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamError(f"{url!r} is not an http:// or https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UpstreamError(f"{url!r} must have no credentials, query or fragment (send keys as the client does)")
    return url.rstrip("/")


def media_facts(data: bytes) -> dict[str, Any] | None:
    """A video's size, rate, length and codec, measured by decoding it (None: it does not decode)."""
    from videomock.contracts.media import MediaError, probe

    with tempfile.NamedTemporaryFile(suffix=".mp4") as fh:
        fh.write(data)
        fh.flush()
        try:
            info = probe(Path(fh.name), audio=False)   # the facts a cassette keeps are the picture's
        except MediaError:
            return None
    fps = info.fps if isinstance(info.fps, Fraction) else Fraction(info.fps)
    return {"width": info.width, "height": info.height, "fps": int(fps) if fps.denominator == 1 else float(fps),
            "duration": info.duration, "codec": info.codec}


class RecordingProxy:
    """The WSGI app: forward, answer, record."""

    def __init__(self, upstream: str, book: Book, *, session: requests.Session | None = None) -> None:
        self.upstream = check_upstream(upstream)
        self.book = book
        self.session = session or requests.Session()
        self.session.trust_env = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        data = request.get_data(cache=True)
        query = environ.get("QUERY_STRING", "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in TRANSIENT_HEADERS}
        at = time.monotonic()
        if request.method == "POST" and request.path == WEBHOOK_PATH:
            exchange = Exchange(request.method, request.path, query, headers, data, 200, {}, b"", at)
            recorded = self.book.add(exchange)
            self._log(exchange, recorded)
            return self._answer(start_response, 200, "OK", [("Content-Type", "application/json")],
                                json.dumps({"recorded": recorded is not None}).encode())
        try:
            upstream = self.session.request(request.method, f"{self.upstream}{request.path}{'?' + query if query else ''}",
                                            headers=headers, data=data, allow_redirects=False, timeout=TIMEOUTS)
        except requests.RequestException as exc:
            message = self.book.redactor.text(f"the upstream {self.upstream} did not answer: {type(exc).__name__}")
            log.warning("%s %s: %s", request.method, request.path, message)
            body = json.dumps({"error": {"message": message, "type": "server_error", "param": None,
                                         "code": "upstream_unreachable"}}).encode()
            return self._answer(start_response, 502, "Bad Gateway", [("Content-Type", "application/json")], body)
        answer_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in TRANSIENT_HEADERS}
        exchange = Exchange(request.method, request.path, query, headers, data, upstream.status_code, answer_headers,
                            upstream.content, at, form_fields(request))
        recorded = self.book.add(exchange)
        self._log(exchange, recorded)
        own = request.host_url.rstrip("/")
        body = upstream.content
        if not upstream.headers.get("content-type", "").startswith("video/"):
            body = body.replace(self.upstream.encode(), own.encode())
        out = [(k, v.replace(self.upstream, own)) for k, v in answer_headers.items()]
        return self._answer(start_response, upstream.status_code, upstream.reason or "", out, body)

    @staticmethod
    def _answer(start_response: Callable[..., Any], status: int, reason: str, headers: list[tuple[str, str]],
                body: bytes) -> list[bytes]:
        start_response(f"{status} {reason}".strip(), [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _log(self, exchange: Exchange, recorded: str | None) -> None:
        query = self.book.redactor.query(exchange.query)
        line = f"{exchange.method} {exchange.path}{'?' + query if query else ''} -> {exchange.status}"
        log.info("%s: %s", self.book.redactor.text(line), recorded or "not part of a recorded task")


def check_on_record(book: Book) -> Callable[[Path, str, Exchange, dict[str, Any]], None]:
    """Tell of each recorded answer that breaks its dialect's contract, as it is recorded."""
    def told(path: Path, role: str, exchange: Exchange, document: dict[str, Any]) -> None:
        if role == "webhook":
            return
        entry = document["submit"] if role == "submit" else document["polls" if role == "poll" else "downloads"][-1]
        for violation in exchange_violations(document["dialect"], role, entry):
            log.warning("%s %s %s: %s: %s", path.name, role, exchange.status, violation.pointer or "/", violation.message)
    return told


class _Quiet(WSGIRequestHandler):
    """The proxy logs each exchange itself, redacted; werkzeug's line would show the query string as sent."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def make_proxy_server(host: str, port: int, proxy: RecordingProxy) -> BaseWSGIServer:
    """A threaded server for the proxy (clients poll while others download); port 0 picks a free one."""
    server = make_server(host, port, proxy, threaded=True, request_handler=_Quiet)
    server.daemon_threads = True  # type: ignore[attr-defined]
    return server
