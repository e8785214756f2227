"""uvicorn's httptools protocol (the HTTP parsing is llhttp's, in C), with what a fake that breaks connections
on purpose and faces hostile clients needs on top, through the protocol class uvicorn lets a server name:

- each request's hold on its connection (:class:`Link`) is handed to the app in the ASGI scope's
  ``extensions``, so the fault layer can reset, close or cut the very connection, and learn when its client
  hangs up during a delay;
- a request must arrive in full (head and body) within ``read_timeout`` of its first byte (of the connection's
  opening, for its first request): one that has not gets a JSON 408 and its connection is closed, a connection
  that sent nothing is closed quietly; a client trickling a byte now and then cannot stretch the deadline;
- a request the parser refuses (a broken request line or header, an oversized one) is answered in the
  provider's JSON error shape, not uvicorn's plain text; a body whose framing breaks after the app has its
  head (a bad chunk) fails the app's read with an OSError naming the fault, which the app answers with a 400;
- a client that ends its sending half-way through a body still gets the app's answer (a 400, the body being
  short), where uvicorn would close the connection.

Waiting for a slow client costs no thread: the event loop holds the connection until its request arrives.
And a request the app can answer without waiting (a plain poll) is answered as its head arrives, without the
asyncio task uvicorn would start for it (``answer_at_once``, serving/bridge.py).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string
from werkzeug.exceptions import RequestTimeout

from videomock.http.errors import http_error_json

#: The key of a request's :class:`Link` in the ASGI scope's ``extensions``.
LINK = "videomock.link"
#: A request line longer than this is refused with a 414 (gunicorn's limit, which clients have met so far).
MAX_REQUEST_LINE_BYTES = 4094
#: Header lines longer than this in all are refused with a 431.
MAX_HEADER_BYTES = 64 * 1024


class RequestTimedOut(RequestTimeout):
    """The request did not arrive in full within the read deadline. A werkzeug HTTPException, so that the app
    answers it with the error contract's 408 when it is the app's own read that runs out of time (not an
    OSError, which werkzeug's body reader would turn into a 400 "client disconnected")."""

    description = "The request did not arrive in full within the server's read timeout."


#: What an app may offer for the requests it answers without waiting: the status, headers (its length among them)
#: and body it gives the request of this ASGI scope, or None when the request must go to the app.
AnswerAtOnce = Callable[[Any], "tuple[int, list[tuple[bytes, bytes]], bytes] | None"]


class _Refused(Exception):
    """Raised in a parser callback: the request is answered with ``status`` and never reaches the app."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def refusal(status: int, reason: str, message: str) -> bytes:
    """A whole answer, in the provider's JSON error shape, for a request the server refuses itself."""
    body = http_error_json(status, reason, message)
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class Link:
    """One request's hold on its client connection, for the layer that answers it."""

    def __init__(self, protocol: RequestProtocol, cycle: RequestResponseCycle) -> None:
        self._protocol = protocol
        self._cycle = cycle
        #: Set when the client has hung up, or finished sending (then it is taken to have given up on
        #: anything delayed): delays and dribbles stop waiting at once.
        self.gone = asyncio.Event()
        #: Why the body cannot be read: a framing error (OSError) or the read deadline (RequestTimedOut).
        self.failure: BaseException | None = None
        #: ``time.monotonic()`` by which the request must have arrived in full.
        self.deadline = protocol.deadline

    @property
    def body_arrived(self) -> bool:
        return not self._cycle.more_body

    def fail(self, failure: BaseException) -> None:
        """The body will not come; wake whoever waits for it."""
        self.failure = failure
        self._cycle.keep_alive = False
        self._cycle.message_event.set()

    def close_after_answer(self) -> None:
        self._cycle.keep_alive = False

    def answer(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Send a whole answer, whose headers name its length, in one write (unless the client is gone)."""
        if not self._cycle.disconnected:
            self._protocol.write_answer(self._cycle, status, headers, body)

    def reset(self) -> None:
        """Reset the connection (RST), abandoning the answer."""
        self._abandon()
        sock = self._protocol.transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:   # the client may already be gone
                pass
        self._protocol.transport.abort()

    def close(self) -> None:
        """Close the connection (FIN) after what was written, abandoning the rest of the answer."""
        self._abandon()
        self._protocol.transport.close()

    def refuse(self, answer: bytes) -> None:
        """Answer with ``answer`` (a whole HTTP response) in the app's stead, then close."""
        self._abandon()
        self._protocol.transport.write(answer)
        self._protocol.transport.close()

    def _abandon(self) -> None:
        # uvicorn then neither writes for this request nor reports an answer left incomplete as an error.
        self._cycle.disconnected = True
        self._cycle.keep_alive = False
        self.gone.set()


class RequestProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with read deadlines, JSON refusals and a :class:`Link` per request."""

    #: Seconds a request has to arrive in full; the master sets it from ``server.read_timeout`` before forking.
    read_timeout: ClassVar[float] = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = 0.0
        self._arriving = False    # a request is due (from the first byte, or the connection's opening)
        self._timer: asyncio.TimerHandle | None = None
        self._begun = False       # a request has begun arriving and its head is not complete
        self._head_bytes = 0
        self._link: Link | None = None

    # The deadline ------------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()   # a connection that never sends anything is closed when its deadline passes

    def _arm(self) -> None:
        if not self._arriving:
            self._arriving = True
            self.deadline = time.monotonic() + self.read_timeout
            if self._timer is None:
                self._timer = self.loop.call_later(self.read_timeout, self._check_deadline)

    def _disarm(self) -> None:
        # The timer stays: a kept-alive connection's next request reuses it, rather than every request
        # scheduling and cancelling one of its own (a measurable share of a poll).
        self._arriving = False

    def _check_deadline(self) -> None:
        self._timer = None
        if not self._arriving or self.transport.is_closing():
            return
        left = self.deadline - time.monotonic()
        if left > 0:
            self._timer = self.loop.call_later(left, self._check_deadline)
            return
        self._arriving = False
        link = self._link
        if link is not None and not link.body_arrived:
            if self.cycle.response_started:
                self.transport.close()   # answered without its body (a 413, say): nothing to wait for
            else:
                link.fail(RequestTimedOut())   # the app (or the bridge reading the body for it) answers 408
        elif self._begun:
            self._refuse(_Refused(408, "Request Timeout", RequestTimedOut.description))
        else:
            self.transport.close()   # nothing was sent: a browser's spare connection, say

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._link is not None:
            self._link.gone.set()
        super().connection_lost(exc)

    # Parsing ------------------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            refused = exc.__context__
            if not isinstance(refused, _Refused):
                raise
            self._refuse(refused)
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()
        except (httptools.HttpParserError, UnicodeDecodeError) as exc:
            if self._link is not None and not self._link.body_arrived:
                self._link.fail(OSError(f"{exc}"))   # the app has the head: it answers the broken body
            else:
                self._refuse(_Refused(400, "Bad Request", f"The request could not be parsed: {exc}."))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun, self._head_bytes, self._link = True, 0, None
        self._arm()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_REQUEST_LINE_BYTES:
            raise _Refused(414, "Request-URI Too Long", f"The request line is longer than {MAX_REQUEST_LINE_BYTES} bytes.")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEADER_BYTES:
            raise _Refused(431, "Request Header Fields Too Large",
                           f"The request's header fields are longer than {MAX_HEADER_BYTES} bytes.")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._refuse_what_http_1_1_does_not_allow()
        self._begun = False
        self.scope["extensions"] = {}
        super().on_headers_complete()
        if not self.cycle.response_complete:   # not answered at once: the app will need the link
            self._link = Link(self, self.cycle)
            self.scope["extensions"][LINK] = self._link  # type: ignore[assignment]

    def _refuse_what_http_1_1_does_not_allow(self) -> None:
        """What llhttp lets through and gunicorn (which served the fake before) refused, as it did: another
        HTTP version, an expectation other than 100-continue, a transfer coding other than chunked."""
        version = self.parser.get_http_version()
        if version not in ("1.0", "1.1"):
            raise _Refused(400, "Bad Request", f"HTTP/{version} is not supported; send HTTP/1.1.")
        for name, value in self.headers:
            if name == b"expect" and value.lower() != b"100-continue":
                raise _Refused(417, "Expectation Failed", f"Expect: {value.decode('latin-1')} cannot be met.")
            if name == b"transfer-encoding" and value.strip().lower() != b"chunked":
                raise _Refused(501, "Not Implemented",
                               f"Transfer-Encoding: {value.decode('latin-1')} is not supported; send chunked.")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        """Where uvicorn hands a request to the app: a request the app can answer at once (a plain poll) is
        answered here instead, with no task, no ASGI messages and no thread."""
        answer_at_once: AnswerAtOnce | None = getattr(app, "answer_at_once", None)
        answer = None if answer_at_once is None or not cycle.keep_alive else answer_at_once(cycle.scope)
        if answer is None:
            super()._start_asgi_task(cycle, app)
        else:
            self.write_answer(cycle, *answer)

    def write_answer(self, cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]],
                     body: bytes) -> None:
        """A whole answer (its headers naming its length) in one write, where uvicorn's ``send`` writes the
        head and the body apart: two system calls, and on loopback two wake-ups of the client, which were
        a third of a served poll. The cycle is then complete, as uvicorn's own answer leaves it."""
        lines = [STATUS_LINE[status], *(b"%s: %s\r\n" % pair for pair in (*self.server_state.default_headers, *headers))]
        if not cycle.keep_alive:
            lines.append(b"connection: close\r\n")
        self.transport.write(b"".join(lines) + b"\r\n" + (b"" if cycle.scope["method"] == "HEAD" else body))
        if self.access_log:
            scope = cycle.scope
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope), scope["method"],
                                    get_path_with_query_string(scope), scope["http_version"], status)
        cycle.response_started = cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()


    def eof_received(self) -> bool | None:  # type: ignore[override]
        """The client finished sending. A request under way is still answered (a body cut short is the app's
        400); a head cut short is the server's. Then the connection closes."""
        if self._link is not None and not self.cycle.response_complete:
            self._link.close_after_answer()
            self._link.gone.set()
            self.cycle.more_body = False   # what arrived is all there is: the app finds the body short
            self.cycle.message_event.set()
            return True   # keep the connection open to write the answer
        if self._begun:
            self._refuse(_Refused(400, "Bad Request", "The request ended before its head was complete."))
        return None

    def _refuse(self, refused: _Refused) -> None:
        self._disarm()
        self.transport.write(refusal(refused.status, refused.reason, refused.message))
        self.transport.close()
