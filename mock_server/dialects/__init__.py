"""API dialects: one adapter per API that real clients speak, over the one domain core.

An adapter owns its routes, the mapping of its requests onto the catalog's canonical generation request,
the rendering of a task and of an error in its own shape, its auth scheme and its id format; everything
else (catalog rules, clock, faults, limits, store, journal, rendering) is the core's and works the same
through every dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint

from videomock.core.backend import VideoBackend
from videomock.core.errors import APIError
from videomock.core.webhooks.events import Shape
from videomock.http.fastpath import FastPoll, FastSubmit


@dataclass(frozen=True)
class Adapter:
    """What the app needs of a dialect: its routes, and which of its Flask endpoints stand for which
    fault-rule endpoint (submit, poll, download, models, list, delete)."""

    blueprint: Blueprint
    fault_endpoints: Mapping[str, str]
    #: The dialect's plain poll, for the WSGI fast path (None: it has none).
    fast_poll: FastPoll | None = None
    #: The dialect's JSON submit, for the WSGI fast path (None: it has none).
    fast_submit: FastSubmit | None = None
    #: How the dialect's errors look: (error) -> the JSON body, or (body, status) for a dialect that answers a
    #: condition with another status than the error table's (None: the documented OpenAI shape).
    render_error: Callable[[APIError], Any] | None = None
    #: Paths the dialect owns even where no route of its matches (an unknown one answers in its error shape).
    prefixes: tuple[str, ...] = ()
    #: The callbacks the dialect sends, given the app's backend (the delivery engine renders a task's events
    #: through them, outside any request).
    webhook_shapes: Callable[[VideoBackend], tuple[Shape, ...]] = lambda backend: ()


def adapters() -> tuple[Adapter, ...]:
    """Every dialect the app serves, in the order their routes are registered."""
    from videomock.dialects import documented, gateway, gemini, google, kling, openai, vertex

    return (Adapter(documented.provider, documented.FAULT_ENDPOINTS, documented.FAST_POLL, documented.FAST_SUBMIT,
                    gateway.render_error, webhook_shapes=lambda backend: documented.WEBHOOK_SHAPES),
            Adapter(openai.videos, openai.FAULT_ENDPOINTS, openai.FAST_POLL, render_error=gateway.render_error),
            Adapter(vertex.vertex, vertex.FAULT_ENDPOINTS, render_error=google.render_error, prefixes=vertex.PREFIXES,
                    webhook_shapes=lambda backend: (vertex.WEBHOOK,)),
            Adapter(gemini.gemini, gemini.FAULT_ENDPOINTS, render_error=google.render_error, prefixes=gemini.PREFIXES,
                    webhook_shapes=lambda backend: (gemini.WEBHOOK,)),
            Adapter(kling.kling, kling.FAULT_ENDPOINTS, render_error=kling.render_error, prefixes=kling.ERROR_PREFIXES,
                    webhook_shapes=lambda backend: (kling.callback_shape(backend),)))
