"""Marking the moments a request waits rather than computes.

The domain knows when it waits (a fault's delay, a render, an image download, another request's claim);
only the serving layer knows what that means for scheduling (:mod:`videomock.serving.workpool` hands the
waiting request's turn to the next one). So the domain marks its waits with :func:`waiting`, and whatever
schedules the current thread registers itself with :func:`scheduled_by`. Unscheduled threads (the
fixtures' server, the in-process mode, tests) wait exactly as they would without the mark.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class TurnScheduler(Protocol):
    def give_up_turn(self) -> None: ...

    def resume(self) -> None: ...


_current = threading.local()


class WouldWait(Exception):
    """Raised by an operation its caller told not to wait (a server answering on its event loop), at the first
    point where it would, and before it has changed anything: the caller may run it again where it can wait."""


def scheduled_by(scheduler: TurnScheduler | None) -> None:
    """Register the scheduler of the calling thread's requests (None: none)."""
    _current.scheduler = scheduler


@contextmanager
def waiting() -> Iterator[None]:
    """Around a wait: the calling request's turn goes to the next one meanwhile."""
    scheduler: TurnScheduler | None = getattr(_current, "scheduler", None)
    if scheduler is None:
        yield
        return
    scheduler.give_up_turn()
    try:
        yield
    finally:
        scheduler.resume()
