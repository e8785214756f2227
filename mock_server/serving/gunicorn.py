"""``videomock serve``: the app under gunicorn, one or more worker processes with threads each.

Why gunicorn's threaded (gthread) worker (bench/README.md has the measurements): worker processes use
every core, which threads in one Python process cannot; connections are kept alive, where werkzeug's
development server opens a connection and a thread per request; the master restarts a worker that dies
and stops them gracefully; and each request's socket is in ``environ["gunicorn.socket"]``, which the
transport faults need. waitress measured the same per request, but in one process, so on one core. The
worker's thread pool is our own (:class:`~videomock.serving.workpool.WorkPool`), for the tail latency.

Workers are forked without the app (no preload): each builds its own, because neither SQLite connections
nor the render threads survive a fork. Everything they must agree on lives in the store: tasks, the
journal, counters (ids, rule matches, credit balances), the clock and the runtime configuration. The
master publishes the configuration and moves the clock once, before the first fork; workers never write
the configuration, so one that gunicorn starts later (after another died) serves it as changed at runtime
through the admin API, not as the command line had it.

With several workers on Linux, each worker listens on a socket of its own (SO_REUSEPORT) and the kernel
spreads new connections over them. On one shared socket the workers race to accept, and a burst of
connections (a test suite's pool, wrk's 16) often lands nearly all on one worker, which then serves them
on one core while the other idles. The master keeps the port bound, without listening, so it stays ours
while gunicorn replaces a worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import ParseException
from gunicorn.workers import gthread

from videomock.config import ConfigError, default_store_path
from videomock.core.runtime import publish_config
from videomock.http.errors import http_error_json
from videomock.http.middleware import WSGIApp
from videomock.serving.arrival import Arrival, ReadDeadline, RequestTimedOut
from videomock.serving.workpool import WorkPool
from videomock.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from gunicorn.workers.base import Worker as BaseWorker

#: Seconds an idle client connection stays open for its next request (clients poll every few seconds).
KEEPALIVE_SECONDS = 5

#: Seconds workers get to finish the requests under way when asked to stop (SIGTERM) before being killed.
GRACEFUL_TIMEOUT_SECONDS = 10

#: The ``server.store`` value that keeps state in process memory.
MEMORY = "memory"

#: Buffers at least this large are mapped by malloc on their own, and unmapped as soon as they are freed.
MMAP_THRESHOLD_BYTES = 256 * 1024
_M_MMAP_THRESHOLD = -3   # glibc's mallopt parameter (malloc.h)


def worker_count(setting: int) -> int:
    """``server.workers``, where 0 means one per CPU this process may run on."""
    if setting:
        return setting
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def check_workers(server: Mapping[str, Any]) -> None:
    """Several workers share state only through a SQLite store; in memory each would have its own tasks."""
    workers = worker_count(server["workers"])
    if workers > 1 and server["store"] == MEMORY:
        raise ConfigError(f"server.workers: {workers} workers cannot share a memory store (each would see only "
                          "its own tasks); use --store PATH.db, or --workers 1", "server.workers")


class CannotListen(RuntimeError):
    """The address cannot be bound (in use, not this machine's, an unknown host name)."""


def socket_per_worker(workers: int) -> bool:
    """Whether workers each get a listening socket. Only Linux spreads connections over sockets that share
    a port; elsewhere (macOS, the BSDs) one of them would get every connection."""
    return workers > 1 and sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int, *, reuse_port: bool = False) -> int:
    """A socket bound to ``host:port``, as a file descriptor for gunicorn (which takes it over). Binding
    here makes a port in use fail at once with the reason; gunicorn would retry for five seconds first.

    With ``reuse_port`` the port is first bound plainly, then again for sharing with the workers: a plain bind
    fails on a port anyone holds, where a sharing one would quietly join another videomock's workers."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        if reuse_port:
            with _bound(family, kind, proto, address) as probe:
                address = probe.getsockname()   # with port 0, the port picked
        return _bound(family, kind, proto, address, reuse_port=reuse_port).detach()
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _bound(family: int, kind: int, proto: int, address: Any, *, reuse_port: bool = False) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def write_json_error(sock: socket.socket, status: int, reason: str, message: str) -> None:
    """gunicorn's own answer to a request it cannot parse (a broken request line or header, an oversized
    one), in the provider's error shape."""
    body = http_error_json(status, reason, message)
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


class ReadableBody:
    """gunicorn's request body (``wsgi.input``), raising OSError where gunicorn raises its own ParseException
    (a chunk size that is not hexadecimal, a missing chunk terminator). WSGI applications, werkzeug among
    them, take an OSError from the input stream for a body that could not be read, as werkzeug's own server
    raises one, and answer 400; any other exception is a 500."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int | None = None) -> bytes:
        return self._unless_broken(self._body.read, size)

    def readline(self, size: int | None = None) -> bytes:
        return self._unless_broken(self._body.readline, size)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        lines: list[bytes] = self._unless_broken(self._body.readlines, hint)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    @staticmethod
    def _unless_broken(read: Callable[[int | None], Any], size: int | None) -> Any:
        try:
            return read(size)
        except ParseException as exc:
            raise OSError(str(exc)) from exc


def readable_bodies(app: WSGIApp) -> WSGIApp:
    """``app`` with each request's body a :class:`ReadableBody`."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.input"] = ReadableBody(environ["wsgi.input"])
        return app(environ, start_response)

    return wsgi


def return_large_buffers_at_once() -> None:
    """Have glibc give freed large buffers back to the system at once, with a fixed mmap threshold.

    An image submit passes ~10 MB buffers through several copies (the body, its text, the decoded image,
    Pillow's pixels). glibc maps buffers that large on their own at first, but every one freed raises its
    threshold (up to 32 MiB), after which they come from the heaps of the worker's threads, which keep what
    they once held: a worker reached 360-420 MiB after 50 such submits and stayed there (bench/image_memory.py).
    Setting the threshold also stops the raising. Where the C library has no mallopt (macOS), nothing changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


class Worker(gthread.ThreadWorker):
    """gunicorn's gthread worker, with three changes: a request is given a thread only once it has arrived
    (read in the poller under ``read_timeout``: serving/arrival.py), its requests compute one at a time in
    arrival order (workpool.py), and its own error answers are in the provider's JSON shape."""

    #: Seconds a request has to arrive in full; the master sets it from ``server.read_timeout`` before forking.
    read_timeout = 5.0

    def init_process(self) -> None:
        # gunicorn writes those answers through this module function; a worker process serves only videomock,
        # so its allocator is ours to tune as well.
        gunicorn_util.write_error = write_json_error
        #: Connections whose request is arriving, oldest deadline first (all share one timeout).
        self.arriving: dict[Any, Arrival] = {}
        return_large_buffers_at_once()
        super().init_process()

    def get_thread_pool(self) -> WorkPool:
        return WorkPool(self.cfg.threads)

    def enqueue_req(self, conn: Any) -> None:
        """Called in the poller for a new connection, a kept-alive one that became readable, and one whose
        previous request left bytes read ahead."""
        if self.cfg.is_ssl:   # a TLS handshake happens in the thread; not a videomock serve setting
            super().enqueue_req(conn)
            return
        ahead = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        self._read_arrival(conn, Arrival(time.monotonic() + self.read_timeout, bytearray(ahead)))

    def _read_arrival(self, conn: Any, arrival: Arrival) -> None:
        arrived = arrival.read_from(conn.sock)
        if arrived is False:
            if conn not in self.arriving:
                self.arriving[conn] = arrival
                self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_arriving, conn))
            return
        if self.arriving.pop(conn, None) is not None:
            self.poller.unregister(conn.sock)
        if arrived is None:   # the client went away
            self.nr_conns -= 1
            conn.close()
            return
        conn.init()
        conn.parser.unreader.unread(bytes(arrival.data))
        ReadDeadline.install(conn.parser.unreader, arrival.deadline)
        conn.data_ready = True
        super().enqueue_req(conn)

    def _keepalive_after(self, conn: Any, keepalive: bool) -> bool:
        """gunicorn drains a body the app left unread before reusing the connection; one that does not arrive
        by the request's deadline closes the connection instead."""
        try:
            return bool(super()._keepalive_after(conn, keepalive))
        except RequestTimedOut:
            return False

    def _on_arriving(self, conn: Any, _fileobj: Any) -> None:
        self._read_arrival(conn, self.arriving[conn])

    def murder_pending(self) -> None:
        """Also close the connections whose request has not arrived by its deadline: a JSON 408 if it had
        begun, quietly if the client never sent anything (a browser's spare connection, say)."""
        super().murder_pending()
        now = time.monotonic()
        while self.arriving:
            conn, arrival = next(iter(self.arriving.items()))
            if arrival.deadline > now:
                break
            del self.arriving[conn]
            self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            if arrival.started:
                with contextlib.suppress(OSError):
                    write_json_error(conn.sock, 408, "Request Timeout", RequestTimedOut.description)
                    conn.sock.shutdown(socket.SHUT_WR)
            conn.close()


class GunicornServer(BaseApplication):
    """gunicorn's master for one ``serve`` config; ``on_ready`` gets the base URL once the socket listens."""

    def __init__(self, config: Mapping[str, Any], listener_fd: int, *, log_requests: bool,
                 on_ready: Callable[[str], None]) -> None:
        self.config = config
        self.listener = socket.socket(fileno=listener_fd)
        host, self.port = config["server"]["host"], self.listener.getsockname()[1]
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{self.port}"
        self.log_requests = log_requests
        self.on_ready = on_ready
        # One byte in a pipe every worker inherits: the first worker to take it announces the server.
        self._announce_token, token_writer = os.pipe()
        os.write(token_writer, b".")
        os.close(token_writer)
        os.set_blocking(self._announce_token, False)
        super().__init__()

    def load_config(self) -> None:
        server = self.config["server"]
        settings: dict[str, Any] = {
            "bind": [f"fd://{self.listener.fileno()}"],
            "worker_class": Worker,
            "workers": worker_count(server["workers"]),
            "threads": server["threads"],
            "keepalive": KEEPALIVE_SECONDS,
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
            "preload_app": False,
            "accesslog": "-" if self.log_requests else None,
            "errorlog": "-",
            "proc_name": "videomock",
            "post_worker_init": self._announce_once,
        }
        Worker.read_timeout = server["read_timeout"]
        if socket_per_worker(settings["workers"]):
            # Each worker binds its own socket to the held port; gunicorn then opens none in the master.
            address = self.listener.getsockname()[0]
            settings["bind"] = [f"[{address}]:{self.port}" if ":" in address else f"{address}:{self.port}"]
            settings["reuse_port"] = True
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn >= 25.1 opens a control socket at one fixed path per user; two servers would share it.
            settings["control_socket_disable"] = True
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> WSGIApp:
        """Runs in each worker as it starts, never in the master. A SQLite store's configuration and clock are
        left as the master and the admin API set them; a memory store is new, and this worker's own."""
        from videomock.http.app import create_app  # the master never loads Flask and the app: only workers do

        store = self.config["server"]["store"]
        from videomock.recording.replay import replay_from_config

        app = create_app(self.config, store=None if store == MEMORY else SqliteStore(store))
        replay_from_config(app, self.config)
        # Every worker runs a sender, so that one takes over the deliveries when the one sending dies.
        app.extensions["videomock"].webhooks.start()
        return readable_bodies(app)

    def _announce_once(self, worker: BaseWorker) -> None:
        """Runs in each worker once its app is loaded and its socket listens: the server is ready when the
        first one is (before that, with a socket per worker, nothing would accept a connection)."""
        try:
            taken = os.read(self._announce_token, 1)
        except BlockingIOError:
            return
        if taken:
            self.on_ready(self.url)


def serve(config: dict[str, Any], *, log_requests: bool, on_ready: Callable[[str], None]) -> None:
    """Serve ``config`` (checked) until stopped: SIGTERM finishes requests under way, SIGINT (Ctrl-C) stops at
    once. Raises ConfigError, StoreError or CannotListen before anything starts.

    The port is bound before the store is touched, so a server refused its address never changes the store
    of the one that holds it. An unset ``server.store`` becomes the default file for the bound address
    (written back into ``config``, for the caller's announcement)."""
    server = config["server"]
    check_workers(server)
    listener_fd = bind(server["host"], server["port"], reuse_port=socket_per_worker(worker_count(server["workers"])))
    if server["store"] is None:
        with socket.socket(fileno=os.dup(listener_fd)) as bound:
            server["store"] = str(default_store_path(server["host"], bound.getsockname()[1]))
    if server["store"] != MEMORY:
        store = SqliteStore(server["store"])
        publish_config(store, config)
        store.close()
    GunicornServer(config, listener_fd, log_requests=log_requests, on_ready=on_ready).run()
