"""What a server does once as it starts: publish its configuration into the store it serves from.

Kept apart from the backend so that ``videomock serve``'s gunicorn master, which does only this, does not
import Flask, the renderer and the rest of the app (every worker does, after the fork).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from videomock.core.clock import Clock
from videomock.core.vault import seal_config
from videomock.store import Store


def publish_config(store: Store, config: Mapping[str, Any], *, real_time: Callable[[], float] = time.time) -> None:
    """Make ``config`` (already checked) the store's runtime configuration, replacing any a previous run left,
    and move the stored clock to its mode and speed without a jump in virtual time. Done once per server
    start, before any app serves from the store: by :func:`create_app` when it opens the store itself, and
    by the ``serve`` master before it starts its workers."""
    store.set_state("config", seal_config(store, config))
    Clock(store, real_time=real_time).configure(config["clock"]["mode"], config["clock"]["speed"])

