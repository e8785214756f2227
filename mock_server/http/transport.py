"""Transport faults on a real socket: the parts of a fault that happen below HTTP semantics.

The app decides (:mod:`videomock.core.faults.decision`) and leaves its decision on the request's Exchange;
this middleware renders the decision's fate on the client's connection: it delays the answer, resets or
closes the connection, cuts or corrupts the body, or dribbles it out. Closing is done by swapping the
connection's file descriptor for a dead socket: the peer sees a reset or an early close at once, and the
WSGI server's own later writes fail quietly instead of reaching the client or logging tracebacks. This is
how werkzeug's threaded server (the fixtures') breaks connections; ``videomock serve`` acts the same decisions
out on its event loop (:mod:`videomock.serving.bridge`).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from videomock.core.faults.actions import TransportAction
from videomock.core.faults.decision import Abort, Corrupt, CutShort, Trickle, corrupted, transport_fate
from videomock.core.waits import waiting
from videomock.http.middleware import exchange_in

#: Set by a caller that acts transport faults out itself: the in-process adapter (as its HTTP library's
#: exceptions) and ``videomock serve`` (on its event loop's connections).
CALLER_RENDERS_FAULTS = "videomock.caller_renders_faults"

log = logging.getLogger("videomock")

StartResponse = Callable[..., Any]


def connection_socket(environ: dict[str, Any]) -> socket.socket | None:
    sock: socket.socket | None = environ.get("werkzeug.socket")
    return sock


def wait_while_connected(environ: dict[str, Any], seconds: float) -> bool:
    """Wait ``seconds`` (a fault's delay), or less if the client hangs up meanwhile: returns False then. A
    client that gave up must not hold its thread for the rest of the delay."""
    sock = connection_socket(environ)
    deadline = time.monotonic() + seconds
    with waiting():
        while (left := deadline - time.monotonic()) > 0:
            if sock is None or sock.fileno() < 0:
                time.sleep(left)
                break
            try:
                readable, _, _ = select.select([sock], [], [], left)
            except (OSError, ValueError):
                return False
            if not readable:
                break
            try:
                peeked = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                return False
            if not peeked:
                return False
            time.sleep(left)   # the client sent its next request already: it is still there
            break
    return True


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

        if environ.get(CALLER_RENDERS_FAULTS):
            return self.app(environ, start_response)
        body = self.app(environ, capture)
        exchange = exchange_in(environ)
        if exchange is None or (exchange.delay <= 0 and exchange.transport is None):
            start_response(captured["status"], captured["headers"], captured["exc_info"])
            return body
        if exchange.delay > 0 and not wait_while_connected(environ, exchange.delay):
            close_body(body)
            abort_connection(environ, reset=False)   # the client has gone: nobody to answer, free the thread
            start_response(captured["status"], captured["headers"])
            return []
        if exchange.transport is None:
            start_response(captured["status"], captured["headers"], captured["exc_info"])
            return body
        return self._broken(exchange.transport, environ, start_response, captured, body)

    def _broken(self, action: TransportAction, environ: dict[str, Any], start_response: StartResponse,
                captured: dict[str, Any], body: Iterable[bytes]) -> Iterable[bytes]:
        status, headers = captured["status"], captured["headers"]
        fate = transport_fate(action, content_length(headers) or 0)
        if isinstance(fate, Abort):
            close_body(body)
            abort_connection(environ, reset=fate.reset)
            start_response(status, headers)
            return []
        if isinstance(fate, Corrupt):
            data = b"".join(body)
            close_body(body)
            broken = corrupted(data)
            start_response(status, with_length(headers, len(broken)))
            return [broken]
        start_response(status, headers)
        if isinstance(fate, CutShort):
            return _truncated(body, fate.keep, environ)
        assert isinstance(fate, Trickle)
        return _dribbled(body, fate.size, fate.interval, environ)


def close_body(body: Iterable[bytes]) -> None:
    """Close a WSGI body, as its consumer must however it stopped reading it."""
    close = getattr(body, "close", None)
    if close is not None:
        close()


def content_length(headers: list[tuple[str, str]]) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length":
            return int(value)
    return None


def with_length(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
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
        close_body(body)
    abort_connection(environ, reset=False)


def _dribbled(body: Iterable[bytes], size: int, interval: float, environ: dict[str, Any]) -> Iterator[bytes]:
    """Send the body ``size`` bytes at a time, ``interval`` seconds apart: a slow upstream or proxy. Stops
    when the client hangs up."""
    try:
        for chunk in body:
            for start in range(0, len(chunk), size):
                yield chunk[start:start + size]
                if not wait_while_connected(environ, interval):
                    return
    finally:
        close_body(body)
