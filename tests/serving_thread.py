"""``videomock serve``'s serving layer (uvicorn with its protocol class, the WSGI bridge, the work pool) in a
thread of the test process, around an app the test holds: the fault tests can then drive the clock and the
configuration through the backend, as they do with the fixtures' server, while every answer goes out through
the layer ``videomock serve`` runs. Real socket, real event loop; only the gunicorn master is left out."""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn
import uvloop

from tests.serve_process import DEADLINE
from videomock.http.app import INLINE
from videomock.serving.bridge import WSGIBridge
from videomock.serving.gunicorn import Worker
from videomock.serving.workpool import WorkPool


class ServingThread:
    """Serve ``app`` on a free loopback port until the context exits."""

    def __init__(self, app: Any, *, threads: int = 8) -> None:
        self._pool = WorkPool(threads)
        bridge = WSGIBridge(app, self._pool, app.extensions.get(INLINE), multiprocess=False)
        config = uvicorn.Config(bridge, **Worker.CONFIG_KWARGS, log_level="warning")   # as serve's workers run it
        self._server = uvicorn.Server(config)
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._run, name="videomock-serving", daemon=True)

    def _run(self) -> None:
        uvloop.run(self._server.serve(sockets=[self._socket]))

    def __enter__(self) -> ServingThread:
        # The socket listens already: connections made before the loop runs wait in its backlog.
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(DEADLINE)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._socket.close()
