"""The fake's WSGI app, served from an asyncio event loop (uvicorn's), with its transport faults acted out on
the loop.

A request the app can answer without waiting for anything (a plain poll or submit: :class:`~videomock.http.
fastpath.FastPath`) is answered on the loop itself: a poll as its head arrives (:meth:`WSGIBridge.answer_at_once`),
a submit once its body has: handing it to a thread and back cost more than a third of a served submit, and a
poll's more than the poll.
Every other request runs in the worker's :class:`~videomock.serving.workpool.WorkPool`, once it has arrived:
a body up to :data:`PREREAD_BODY_BYTES` is read on the loop first (a client stalling half-way through it holds
no thread), a larger one is read by the app's thread under the request's deadline.

The app decides a request's faults and leaves them on its Exchange; the WSGI middleware that would act them
out on a socket (:class:`~videomock.http.transport.TransportFaults`) stands aside here, and this module acts
them out on the request's :class:`~videomock.serving.protocol.Link` instead: a delay or a dribble's pauses are
waited on the loop (holding no thread, and ending as soon as the client hangs up), a reset or a close breaks
the very connection, a cut body stops where the fault says.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator, MutableMapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from videomock.core.exchange import Exchange
from videomock.core.faults.decision import Abort, Corrupt, CutShort, Trickle, corrupted, transport_fate
from videomock.core.waits import waiting
from videomock.http.fastpath import DECLINED, FAST_BODY_BYTES
from videomock.http.middleware import ENVIRON_KEY, WSGIApp
from videomock.http.transport import CALLER_RENDERS_FAULTS, close_body, content_length, with_length
from videomock.serving.protocol import LINK, Link, RequestTimedOut, refusal

Scope = MutableMapping[str, Any]
Receive = Callable[[], Coroutine[Any, Any, dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
#: A request's environ (a POST's body in its ``wsgi.input``) -> the status, body and extra headers of its answer,
#: or None when it needs the full app. It waits for nothing but the store's write lock, held by another
#: worker or thread for the length of one commit.
Inline = Callable[[dict[str, Any]], "tuple[int, bytes, list[tuple[str, str]]] | None"]

#: Where a GET the inline path declined keeps its environ in the ASGI scope's ``extensions``, for the full path.
_DECLINED_ENVIRON = "videomock.declined_environ"
#: A body up to this size is read on the loop before a thread takes the request; a larger one by the thread.
PREREAD_BODY_BYTES = FAST_BODY_BYTES   # so a submit the fast path takes is answered on the loop
#: Bytes of a streamed answer (a video) a thread reads for the loop at a time.
STREAM_BYTES = 256 * 1024


@dataclass
class _Answer:
    """What the app answered, as far as a thread has read it: the head and the first pieces of the body."""

    status: int
    headers: list[tuple[str, str]]
    chunks: list[bytes]
    rest: Iterator[bytes] | None   # the body still to read, in a thread; None once it is all in ``chunks``
    #: The app's own iterable, still to close (in a thread) once its body is sent; None if closed already.
    unclosed: Iterable[bytes] | None = field(repr=False)


class StreamedBody:
    """``wsgi.input`` for a body the app's thread reads as it arrives, each read bounded by the request's
    deadline. A framing error becomes an OSError, which the app answers with a 400 naming it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Receive, link: Link) -> None:
        self._loop, self._receive, self._link = loop, receive, link
        self._buffer = bytearray()
        self._done = False

    def read(self, size: int | None = -1) -> bytes:
        while not self._done and (size is None or size < 0 or len(self._buffer) < size):
            self._more()
        return self._take(len(self._buffer) if size is None or size < 0 else size)

    def readline(self, size: int | None = -1) -> bytes:
        while not self._done and b"\n" not in self._buffer and (size is None or size < 0 or len(self._buffer) < size):
            self._more()
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        return self._take(end if size is None or size < 0 else min(end, size))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def _take(self, size: int) -> bytes:
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken

    def _more(self) -> None:
        remaining = self._link.deadline - time.monotonic()
        if self._link.failure is not None:
            raise self._link.failure
        if remaining <= 0:
            raise RequestTimedOut()
        future: concurrent.futures.Future[dict[str, Any]] = asyncio.run_coroutine_threadsafe(self._receive(), self._loop)
        with waiting():   # for the client: the worker's next request computes meanwhile
            try:
                message = future.result(remaining)
            except TimeoutError:
                future.cancel()
                raise RequestTimedOut() from None
        if self._link.failure is not None:
            raise self._link.failure
        self._buffer += message.get("body", b"")
        self._done = message["type"] != "http.request" or not message.get("more_body", False)


class WSGIBridge:
    """An ASGI app serving ``app`` (WSGI), with ``inline`` answering what it can on the loop."""

    def __init__(self, app: WSGIApp, pool: Executor, inline: Inline | None, *, multiprocess: bool) -> None:
        self.app = app
        self.pool = pool
        self.inline = inline
        self._server_environ = {
            "wsgi.version": (1, 0), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
            "wsgi.multiprocess": multiprocess, "wsgi.run_once": False, "SCRIPT_NAME": "",
            CALLER_RENDERS_FAULTS: True,
        }

    def answer_at_once(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """The status, headers and body that ``inline`` gives a GET without a body, or None; called by
        :class:`~videomock.serving.protocol.RequestProtocol` as the request's head arrives, so that a plain
        poll costs neither a task nor a thread."""
        if self.inline is None or scope["method"] != "GET":
            return None
        environ = self._environ(scope)
        if "CONTENT_LENGTH" in environ or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        answer = self.inline(environ)
        if answer is None:
            environ[DECLINED] = True   # the full path need not ask again, nor build the environ again
            scope["extensions"][_DECLINED_ENVIRON] = environ
            return None
        return _inline_answer(answer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        link: Link = scope["extensions"][LINK]
        environ = scope["extensions"].pop(_DECLINED_ENVIRON, None) or self._environ(scope)
        chunked = "HTTP_TRANSFER_ENCODING" in environ
        length = environ.get("CONTENT_LENGTH")
        loop = asyncio.get_running_loop()
        if length is not None and length.isdigit() and int(length) <= PREREAD_BODY_BYTES:
            whole = await self._preread(receive, link)
            if whole is None:
                return
            environ["wsgi.input"] = io.BytesIO(whole)
            inline = None if self.inline is None or link.failure is not None else self.inline(environ)
            if inline is not None:
                link.answer(*_inline_answer(inline))
                return
        elif length is None and not chunked:
            environ["wsgi.input"] = io.BytesIO()
        else:
            environ["wsgi.input"] = StreamedBody(loop, receive, link)
            if chunked:   # the body ends where its chunks do, not at a length
                environ["wsgi.input_terminated"] = True
        exchange = environ[ENVIRON_KEY] = Exchange()
        answer = await loop.run_in_executor(self.pool, self._start, environ)
        try:
            if link.failure is not None:
                link.close_after_answer()   # its body was never read whole: the connection cannot carry on
            await self._answer(answer, exchange, link, send)
        finally:
            if answer.unclosed is not None:
                await loop.run_in_executor(self.pool, close_body, answer.unclosed)

    async def _preread(self, receive: Receive, link: Link) -> bytes | None:
        """The whole (small) body, read on the loop; None when the request was answered for want of it."""
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if isinstance(link.failure, RequestTimedOut):
                link.refuse(refusal(408, "Request Timeout", RequestTimedOut.description))
                return None
            if message["type"] != "http.request" or not message.get("more_body", False) or link.failure is not None:
                return bytes(body)   # a framing error is the app's to answer, from the read below

    def _start(self, environ: dict[str, Any]) -> _Answer:
        """In a pool thread: the app's answer, its head and the first piece of its body."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return _no_write

        result = self.app(environ, start_response)
        body = iter(result)
        chunks, more = _pull(body)
        if not more:   # read whole (nearly always): closed here rather than in a second trip to a thread
            close_body(result)
        status, headers = started
        return _Answer(int(status.split(" ", 1)[0]), headers, chunks, body if more else None, result if more else None)

    async def _answer(self, answer: _Answer, exchange: Exchange, link: Link, send: Send) -> None:
        if exchange.delay > 0 and not await _stays(link, exchange.delay):
            link.close()   # the client has gone: nobody to answer
            return
        fate = None if exchange.transport is None else \
            transport_fate(exchange.transport, content_length(answer.headers) or 0)
        if isinstance(fate, Abort):
            if fate.reset:
                link.reset()
            else:
                link.close()
            return
        if isinstance(fate, Corrupt):
            broken = corrupted(b"".join([*answer.chunks, *await self._rest(answer)]))
            link.answer(answer.status, _encoded(with_length(answer.headers, len(broken))), broken)
            return
        if fate is None and answer.rest is None and content_length(answer.headers) is not None:
            link.answer(answer.status, _encoded(answer.headers), b"".join(answer.chunks))
            return
        await _send_head(send, answer.status, answer.headers)
        keep = fate.keep if isinstance(fate, CutShort) else None
        sent = 0
        async for chunk in self._body(answer, link):
            if keep is not None and sent + len(chunk) >= keep:
                await send({"type": "http.response.body", "body": chunk[:keep - sent], "more_body": True})
                link.close()
                return
            sent += len(chunk)
            if isinstance(fate, Trickle):
                for start in range(0, len(chunk), fate.size):
                    await send({"type": "http.response.body", "body": chunk[start:start + fate.size], "more_body": True})
                    if not await _stays(link, fate.interval):
                        link.close()
                        return
            else:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if keep is not None:
            link.close()   # the body was shorter than the cut
            return
        await send({"type": "http.response.body", "body": b""})

    async def _body(self, answer: _Answer, link: Link) -> AsyncIterator[bytes]:
        """The answer's body piece by piece, later pieces read in a pool thread, until the client goes."""
        for chunk in answer.chunks:
            yield chunk
        loop = asyncio.get_running_loop()
        while answer.rest is not None and not link.gone.is_set():
            chunks, more = await loop.run_in_executor(self.pool, _pull, answer.rest)
            if not more:
                answer.rest = None
            for chunk in chunks:
                yield chunk

    async def _rest(self, answer: _Answer) -> list[bytes]:
        if answer.rest is None:
            return []
        rest, answer.rest = answer.rest, None
        return await asyncio.get_running_loop().run_in_executor(self.pool, list, rest)

    def _environ(self, scope: Scope) -> dict[str, Any]:
        """The WSGI environ of ``scope``, as gunicorn built it (PATH_INFO the raw path, unquoted, as latin-1)."""
        server, client, raw_path = scope["server"], scope["client"], scope["raw_path"]
        environ = {
            **self._server_environ,
            "REQUEST_METHOD": scope["method"],
            "PATH_INFO": (unquote_to_bytes(raw_path) if b"%" in raw_path else raw_path).decode("latin-1"),
            "QUERY_STRING": scope["query_string"].decode("latin-1"),
            "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
            "SERVER_NAME": server[0], "SERVER_PORT": str(server[1]),
            "REMOTE_ADDR": client[0], "REMOTE_PORT": str(client[1]),
            "wsgi.url_scheme": scope["scheme"],
        }
        for name, value in scope["headers"]:
            key = name.decode("latin-1").upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            text = value.decode("latin-1")
            environ[key] = f"{environ[key]},{text}" if key in environ else text
        return environ


def _inline_answer(answer: tuple[int, bytes, list[tuple[str, str]]]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    status, body, headers = answer
    return status, [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
                    *_encoded(headers)], body


def _pull(body: Iterator[bytes]) -> tuple[list[bytes], bool]:
    """Up to :data:`STREAM_BYTES` of ``body``, and whether there is more."""
    chunks, size = [], 0
    for chunk in body:
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
            if size >= STREAM_BYTES:
                return chunks, True
    return chunks, False


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the fake's app returns its bodies; it never writes them through start_response")


def _encoded(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def _send_head(send: Send, status: int, headers: list[tuple[str, str]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _encoded(headers)})


async def _stays(link: Link, seconds: float) -> bool:
    """Wait ``seconds``; False as soon as the client hangs up instead."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(link.gone.wait(), seconds)
        return False
    return True
