"""What a job's webhook faults (the ``webhook_*`` actions of rules and of ``X-Videomock-Fault``) do to each of
its events. They fire once, at submit, as the other job actions do (seeded, journaled with the submit), and
each applies to the job's events whose status it names (all, by default)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from videomock.core.faults.actions import (
    WebhookAction,
    WebhookBadSignature,
    WebhookDelay,
    WebhookDrop,
    WebhookDuplicate,
    WebhookEarly,
    WebhookOutOfOrder,
    WebhookStaleTimestamp,
    WebhookTruncated,
)
from videomock.core.faults.rules import Firing


@dataclass(frozen=True)
class EventFaults:
    """The faults of one event. The last three act on its first attempt only: a receiver that refuses a bad
    delivery gets a clean retry, as it would from a provider whose proxy mangled one."""

    drop: bool = False
    duplicate: bool = False
    out_of_order: bool = False
    delay: float = 0.0
    bad_signature: bool = False
    stale_seconds: float | None = None
    truncate: float | None = None

    def first_attempt(self) -> dict[str, object]:
        """What the first attempt does differently, for the delivery record."""
        return {name: value for name, value in (("bad_signature", self.bad_signature),
                                                ("stale_seconds", self.stale_seconds), ("truncate", self.truncate))
                if value not in (None, False)}


def webhook_firings(firings: Iterable[Firing]) -> list[Firing]:
    return [firing for firing in firings if isinstance(firing.action, WebhookAction)]


def early_seconds(firings: Iterable[Firing]) -> float:
    """How much sooner than the task's end its terminal event goes out (the first early-event fault's)."""
    return next((f.action.seconds for f in firings if isinstance(f.action, WebhookEarly)), 0.0)


def event_faults(firings: Iterable[Firing], status: str) -> EventFaults:
    """Every webhook fault that applies to the job's event reporting ``status``; delays add up, the first of
    each other kind wins."""
    drop = duplicate = out_of_order = bad_signature = False
    delay = 0.0
    stale: float | None = None
    truncate: float | None = None
    for firing in firings:
        action = firing.action
        if not isinstance(action, WebhookAction) or not action.applies_to(status):
            continue
        drop = drop or isinstance(action, WebhookDrop)
        duplicate = duplicate or isinstance(action, WebhookDuplicate)
        out_of_order = out_of_order or isinstance(action, WebhookOutOfOrder)
        bad_signature = bad_signature or isinstance(action, WebhookBadSignature)
        if isinstance(action, WebhookDelay):
            delay += action.seconds
        elif isinstance(action, WebhookStaleTimestamp) and stale is None:
            stale = action.seconds
        elif isinstance(action, WebhookTruncated) and truncate is None:
            truncate = action.fraction
    return EventFaults(drop, duplicate, out_of_order, delay, bad_signature, stale, truncate)
