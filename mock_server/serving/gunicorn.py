"""``videomock serve``: gunicorn's master process over worker processes that each serve HTTP from an event
loop: uvicorn's, on uvloop, parsing with httptools (bench/README.md has the measurements and the other
candidates).

gunicorn keeps what it does well and what the tests of restarts and workers rely on: the master binds the
port, forks the workers, restarts one that dies, and stops them gracefully. The HTTP itself is no longer
gunicorn's pure-Python parsing and thread hand-offs, which cost about two thirds of a served poll: each
worker runs uvicorn (:class:`Worker`), with a protocol class of ours that gives the fault layer a hold on each
connection and keeps hostile clients from holding anything but a socket (serving/protocol.py), and a bridge
that answers plain polls on the loop and runs everything else in the worker's threads (serving/bridge.py).

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
from typing import TYPE_CHECKING, Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from videomock.config import ConfigError, default_store_path
from videomock.core.runtime import publish_config
from videomock.serving.protocol import RequestProtocol
from videomock.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from gunicorn.workers.base import Worker as BaseWorker

    from videomock.serving.bridge import WSGIBridge

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


class Worker(UvicornWorker):
    """uvicorn's gunicorn worker: an event loop (uvloop) serving HTTP with httptools, through
    :class:`~videomock.serving.protocol.RequestProtocol` (read deadlines, JSON refusals, a hold on each
    connection for the fault layer), the app's requests run by :class:`~videomock.serving.bridge.WSGIBridge`."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "uvloop", "http": RequestProtocol, "ws": "none", "lifespan": "off", "interface": "asgi3",
        "proxy_headers": False,   # X-Forwarded-For must not make a remote client look like loopback (the admin API)
        "server_header": False, "timeout_graceful_shutdown": GRACEFUL_TIMEOUT_SECONDS,
    }

    def init_process(self) -> None:
        # A worker process serves only videomock, so its allocator is ours to tune.
        return_large_buffers_at_once()
        super().init_process()


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
            "keepalive": KEEPALIVE_SECONDS,
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
            "preload_app": False,
            "accesslog": "-" if self.log_requests else None,
            "errorlog": "-",
            "proc_name": "videomock",
            "post_worker_init": self._announce_once,
        }
        RequestProtocol.read_timeout = server["read_timeout"]
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

    def load(self) -> WSGIBridge:
        """Runs in each worker as it starts, never in the master. A SQLite store's configuration and clock are
        left as the master and the admin API set them; a memory store is new, and this worker's own."""
        # The master never loads Flask and the app: only workers do.
        from videomock.http.app import INLINE, create_app
        from videomock.serving.bridge import WSGIBridge
        from videomock.serving.workpool import WorkPool

        server = self.config["server"]
        app = create_app(self.config, store=None if server["store"] == MEMORY else SqliteStore(server["store"]))
        if server["replay"] is not None:
            # Replay reads cassettes with the client's dialect tables, which bring requests: 5 MiB a worker.
            from videomock.recording.replay import replay_from_config

            replay_from_config(app, self.config)
        # Every worker runs a sender, so that one takes over the deliveries when the one sending dies.
        app.extensions["videomock"].webhooks.start()
        return WSGIBridge(app, WorkPool(server["threads"]), app.extensions.get(INLINE),
                          multiprocess=worker_count(server["workers"]) > 1)

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
