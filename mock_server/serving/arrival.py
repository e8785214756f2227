"""A request's arrival: read in the worker's poller, under a deadline, before any thread is given to it.

gunicorn's threaded worker hands a connection to a thread as soon as it is readable, and the thread then
blocks until the whole request head (and, as the app reads it, the body) has arrived. So a client that sends
``G`` and nothing more held a thread for ever; twenty of them stopped a server. Here the worker's poller
reads what each connection sends, without blocking, until the head is complete (and a small body with it),
and only then does a thread take the request. A request that has not arrived when its deadline passes gets a
JSON 408 and its connection is closed; a larger body, which the app reads in its thread, is read under the
same deadline (:class:`ReadDeadline`), so a client trickling a byte now and then cannot stretch it either.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import RequestTimeout

#: A body up to this size is read in the poller with the head; a larger one is read by the app's thread.
PREREAD_BODY_BYTES = 64 * 1024
#: A head longer than this is handed on as it is: gunicorn's parser refuses it with its own (JSON) error.
MAX_HEAD_BYTES = 64 * 1024
_RECV_BYTES = 65536


class RequestTimedOut(RequestTimeout):
    """The request did not arrive in full within the read deadline. A werkzeug HTTPException, so that the app
    answers it with the error contract's 408 (not an OSError, which werkzeug's body reader would turn into a
    400 "client disconnected")."""

    description = "The request did not arrive in full within the server's read timeout."


class ReadDeadline:
    """A socket whose reads share one deadline: each read may take only the time left. Everything but
    ``recv`` goes to the socket itself."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self.deadline = deadline

    @staticmethod
    def install(unreader: Any, deadline: float) -> None:
        """Make gunicorn's request reader (a SocketUnreader) read under ``deadline``."""
        if isinstance(unreader.sock, ReadDeadline):
            unreader.sock.deadline = deadline
        else:
            unreader.sock = ReadDeadline(unreader.sock, deadline)

    def recv(self, size: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTimedOut()
        previous = self._sock.gettimeout()
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size)
        except TimeoutError:
            raise RequestTimedOut() from None
        finally:
            self._sock.settimeout(previous)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@dataclass
class Arrival:
    """What a connection has sent of its next request, and by when the rest must come."""

    deadline: float
    data: bytearray = field(default_factory=bytearray)

    def read_from(self, sock: socket.socket) -> bool | None:
        """Take what ``sock`` holds without blocking. True once the request has arrived (enough of it for a
        thread to take it on), False while more is awaited, None when the client closed the connection
        before sending anything. A request cut short by the client's end of sending counts as arrived: the
        parser answers it (400), and the client may still be reading."""
        try:
            while True:
                chunk = sock.recv(_RECV_BYTES)
                if not chunk:
                    return True if self.started else None
                self.data += chunk
                if has_arrived(self.data):
                    return True
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return None

    @property
    def started(self) -> bool:
        """Whether the client has sent any part of a request (a silent connection is closed quietly)."""
        return bool(bytes(self.data).strip())


def has_arrived(data: bytes | bytearray) -> bool:
    """Whether ``data`` holds a whole request head, and with it the whole body when that is small, known and
    not awaited behind ``Expect: 100-continue``. Anything malformed counts as arrived: the parser answers it."""
    start = len(data) - len(bytes(data).lstrip(b"\r\n")) if data[:1] in (b"\r", b"\n") else 0
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        return len(data) > MAX_HEAD_BYTES
    head = bytes(data[start:end]).lower()
    if b"content-length" not in head and b"transfer-encoding" not in head and b"expect" not in head:
        return True   # no body: the common case, a poll, decided without reading the header lines
    length: int | None = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip(), value.strip()
        if name == b"transfer-encoding" or (name == b"expect" and value == b"100-continue"):
            return True   # the body comes (or is sent) only once a thread reads it
        if name == b"content-length":
            if not value.isdigit():
                return True
            length = int(value)
    if length is None or length > PREREAD_BODY_BYTES:
        return True
    return len(data) - (end + 4) >= length
