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

import ctypes
import os
import socket
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.workers import gthread

from videomock.config import ConfigError
from videomock.core.runtime import publish_config
from videomock.core.waits import waiting
from videomock.http.errors import http_error_json
from videomock.serving.workpool import WorkPool
from videomock.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from flask import Flask
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
    """gunicorn's gthread worker, its requests computing one at a time in arrival order (workpool.py), its
    own error answers in the provider's JSON shape."""

    def init_process(self) -> None:
        # gunicorn writes those answers through this module function; a worker process serves only videomock,
        # so its allocator is ours to tune as well.
        gunicorn_util.write_error = write_json_error
        return_large_buffers_at_once()
        super().init_process()

    def get_thread_pool(self) -> WorkPool:
        return WorkPool(self.cfg.threads)

    def handle(self, conn: Any) -> Any:
        """A new connection's first bytes are awaited without the turn. A client may connect well before it
        sends (a browser opens spare connections that send nothing), and the requests queued behind it would
        otherwise wait for the watchdog. gunicorn >= 25 waits for them in this thread, up to a timeout, then
        hands a silent connection back to its poller; older versions wait in the poller, before this."""
        if hasattr(conn, "wait_for_data") and not conn.initialized and not conn.data_ready:
            with waiting():
                if not conn.wait_for_data(gthread.DEFAULT_WORKER_DATA_TIMEOUT):
                    return gthread._DEFER
        return super().handle(conn)


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

    def load(self) -> Flask:
        """Runs in each worker as it starts, never in the master. A SQLite store's configuration and clock are
        left as the master and the admin API set them; a memory store is new, and this worker's own."""
        from videomock.http.app import create_app  # the master never loads Flask and the app: only workers do

        store = self.config["server"]["store"]
        return create_app(self.config, store=None if store == MEMORY else SqliteStore(store))

    def _announce_once(self, worker: BaseWorker) -> None:
        """Runs in each worker once its app is loaded and its socket listens: the server is ready when the
        first one is (before that, with a socket per worker, nothing would accept a connection)."""
        try:
            taken = os.read(self._announce_token, 1)
        except BlockingIOError:
            return
        if taken:
            self.on_ready(self.url)


def serve(config: Mapping[str, Any], *, log_requests: bool, on_ready: Callable[[str], None]) -> None:
    """Serve ``config`` (checked, ``server.store`` set) until stopped: SIGTERM finishes requests under way,
    SIGINT (Ctrl-C) stops at once. Raises ConfigError, StoreError or CannotListen before anything starts."""
    server = config["server"]
    check_workers(server)
    if server["store"] != MEMORY:
        store = SqliteStore(server["store"])
        publish_config(store, config)
        store.close()
    listener_fd = bind(server["host"], server["port"], reuse_port=socket_per_worker(worker_count(server["workers"])))
    GunicornServer(config, listener_fd, log_requests=log_requests, on_ready=on_ready).run()
