"""WSGI middleware that gives every request its :class:`~videomock.core.exchange.Exchange`.

The exchange travels in the WSGI environ rather than in Flask's context-local globals, which cost more per
request than most of what the fake does; the fast path and the transport adapters read it there too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from videomock.core.exchange import Exchange

ENVIRON_KEY = "videomock.exchange"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def exchange_in(environ: dict[str, Any]) -> Exchange | None:
    exchange: Exchange | None = environ.get(ENVIRON_KEY)
    return exchange


def open_exchanges(app: WSGIApp) -> WSGIApp:
    """Every request gets an Exchange before anything else runs (an embedding caller, such as the
    in-process adapter, may have put one there already)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if ENVIRON_KEY not in environ:
            environ[ENVIRON_KEY] = Exchange()
        return app(environ, start_response)

    return wsgi
