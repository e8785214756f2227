"""Transport faults: the parts of a fault that happen below HTTP semantics.

The Flask app decides (see :mod:`mock_server.faults`) and leaves its decision in the WSGI environ; this
middleware then delays the answer, resets or closes the connection, truncates or corrupts the body, or
dribbles it out. Closing is done by swapping the connection's file descriptor for a dead socket: the peer
sees a reset or an early close at once, and the WSGI server's own later writes fail quietly instead of
reaching the client or logging tracebacks. Works with werkzeug's server and gunicorn's.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mock_server.exchange import ENVIRON_KEY, Exchange
from mock_server.workpool import waiting

#: Set by the in-process adapter, which renders transport faults as `requests` exceptions itself.
IN_PROCESS_KEY = "videomock.in_process"

log = logging.getLogger("videomock")

StartResponse = Callable[..., Any]


def connection_socket(environ: dict[str, Any]) -> socket.socket | None:
    return environ.get("werkzeug.socket") or environ.get("gunicorn.socket")


def abort_connection(environ: dict[str, Any], *, reset: bool) -> None:
    """Reset (RST) or close (FIN) the client connection now."""
    sock = connection_socket(environ)
    if sock is None:
        log.warning("cannot break the connection: this WSGI server does not expose its socket")
        return
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
        dead, peer = socket.socketpair()
        peer.close()
        os.dup2(dead.fileno(), sock.fileno())  # closes the client connection; the fd now points at a dead socket
        dead.close()
    except OSError as exc:  # the client may already be gone
        log.debug("breaking the connection failed: %s", exc)


class TransportFaults:
    """WSGI middleware applying the transport part of an :class:`Exchange`."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda data: None

        if environ.get(IN_PROCESS_KEY):
            return self.app(environ, start_response)
        body = self.app(environ, capture)
        exchange: Exchange | None = environ.get(ENVIRON_KEY)
        if exchange is None or (exchange.delay <= 0 and exchange.transport is None):
            start_response(captured["status"], captured["headers"], captured["exc_info"])
            return body
        if exchange.delay > 0:
            with waiting():
                time.sleep(exchange.delay)
        action = exchange.transport
        if action is None:
            start_response(captured["status"], captured["headers"], captured["exc_info"])
            return body
        return self._broken(action, environ, start_response, captured, body)

    def _broken(self, action: Any, environ: dict[str, Any], start_response: StartResponse,
                captured: dict[str, Any], body: Iterable[bytes]) -> Iterable[bytes]:
        kind = action["type"]
        status, headers = captured["status"], captured["headers"]
        if kind in ("reset", "empty"):
            _close(body)
            abort_connection(environ, reset=kind == "reset")
            start_response(status, headers)
            return []
        if kind == "malformed_json":
            data = b"".join(body)
            _close(body)
            broken = data[: max(1, len(data) // 2)] + b'<!-- not json'
            start_response(status, _with_length(headers, len(broken)))
            return [broken]
        if kind in ("truncated_json", "truncated_download"):
            length = _content_length(headers)
            keep = int((length or 0) * action.get("fraction", 0.5))
            start_response(status, headers)
            return _truncated(body, keep, environ)
        if kind == "dribble":
            start_response(status, headers)
            return _dribbled(body, action.get("bytes_per_chunk", 8), action.get("interval", 0.5))
        start_response(status, headers)
        return body


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


def _content_length(headers: list[tuple[str, str]]) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length":
            return int(value)
    return None


def _with_length(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    return [(n, v) for n, v in headers if n.lower() != "content-length"] + [("Content-Length", str(length))]


def _truncated(body: Iterable[bytes], keep: int, environ: dict[str, Any]) -> Iterator[bytes]:
    """Send the first ``keep`` bytes (headers promised more), then close the connection."""
    sent = 0
    try:
        for chunk in body:
            if sent + len(chunk) >= keep:
                yield chunk[: keep - sent]
                break
            sent += len(chunk)
            yield chunk
    finally:
        _close(body)
    abort_connection(environ, reset=False)


def _dribbled(body: Iterable[bytes], size: int, interval: float) -> Iterator[bytes]:
    """Send the body ``size`` bytes at a time, ``interval`` seconds apart: a slow upstream or proxy."""
    try:
        for chunk in body:
            for start in range(0, len(chunk), size):
                yield chunk[start:start + size]
                with waiting():
                    time.sleep(interval)
    finally:
        _close(body)
