"""What the faults that fired do to one exchange: one pure decision, rendered by two adapters.

:func:`record` notes the firings on the request's :class:`~videomock.core.exchange.Exchange` (delays add up,
the first HTTP error and the first transport fault win, every job action applies). :func:`transport_fate`
then says what happens to the answer on the wire; the real-socket adapter
(:mod:`videomock.http.transport`) and the in-process one (:mod:`videomock.pytest_plugin.inprocess`) each
render that fate their own way, so the two modes cannot disagree about what a fault means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from videomock.core.exchange import Exchange
from videomock.core.faults.actions import (
    CorruptMedia,
    Delay,
    Dribble,
    Duration,
    Empty,
    ExpireUrl,
    FailTask,
    FilterOutputs,
    HttpError,
    MalformedJson,
    Redirect,
    Reset,
    Slow,
    Stall,
    Stuck,
    TransportAction,
    TruncatedDownload,
    TruncatedJson,
    schema_maximum,
)
from videomock.core.faults.rules import Firing

#: The task error for each failure reason. Codes follow Kling's numbering where it has one (1301).
FAILURE_REASONS: Mapping[str, tuple[int, str]] = {
    "content_policy": (1301, "The generated content was blocked by the provider's safety filter."),
    "upstream_error": (5000, "The upstream model provider returned an error."),
    "timeout": (5004, "The upstream model provider timed out."),
}


def record(exchange: Exchange, firings: Iterable[Firing], seed: int, endpoint: str, *,
           max_delay: float) -> HttpError | None:
    """Note the firings that apply to ``endpoint`` on the exchange. Returns the HTTP error to answer with,
    if any. No wait they cause is longer than ``max_delay`` (``limits.max_delay_seconds``): not a sampled
    delay, not several delays added up, not one pause of a dribble. A fault is there to exercise a client's
    timeouts, not to hold a server thread for hours."""
    http_error = None
    for firing in firings:
        action = firing.action
        if endpoint not in action.endpoints:
            continue
        exchange.applied.append(firing)
        if isinstance(action, Delay):
            exchange.delay = min(exchange.delay + action.sample(seed, firing.rule, firing.match), max_delay)
        elif isinstance(action, HttpError):
            http_error = http_error or action
        elif isinstance(action, Dribble):
            exchange.transport = exchange.transport or replace(action, interval=min(action.interval, max_delay))
        elif isinstance(action, (Reset, Empty, TruncatedJson, MalformedJson, TruncatedDownload)):
            exchange.transport = exchange.transport or action
        elif isinstance(action, ExpireUrl):
            exchange.expire_ttl = action.ttl
        elif isinstance(action, Redirect):
            exchange.redirect = action
    return http_error


# --- job faults become the task's plan ---------------------------------------------------------------------

@dataclass(frozen=True)
class JobShape:
    """How job actions change a task: its plan and its timeline."""

    outcome: str = "complete"
    at_progress: int = 0
    reason: str | None = None
    message: str | None = None
    slow: float = 1.0
    total_seconds: float | None = None
    queue_seconds: float | None = None
    #: A safety filter's reason, when one withholds videos, and how many it withholds (None: all).
    filter_reason: str | None = None
    filtered: int | None = None
    #: How a corrupt_media fault damages the job's files: {"kind", "value"}.
    damage: dict[str, Any] | None = None


def job_shape(firings: Iterable[Firing]) -> JobShape:
    """Merge every job action that fired. The first outcome-changing action (fail, stuck, stall) wins, and so
    do the first safety filter (a filter only acts on a job that completes) and the first media damage. Slow factors multiply, up to
    the largest one factor may be: rules and the header together must not make a timeline longer than one of
    them can (nor, multiplied often enough, infinite)."""
    outcome: JobShape | None = None
    slow = 1.0
    total: float | None = None
    queue: float | None = None
    screen: FilterOutputs | None = None
    damage: CorruptMedia | None = None
    for firing in firings:
        action = firing.action
        if isinstance(action, FailTask) and outcome is None:
            outcome = JobShape("fail", action.at_progress, action.reason, action.message)
        elif isinstance(action, Stuck) and outcome is None:
            outcome = JobShape("stuck")
        elif isinstance(action, Stall) and outcome is None:
            outcome = JobShape("stall", action.at_progress)
        elif isinstance(action, Slow):
            slow = min(slow * action.factor, schema_maximum(action.type, "factor"))
        elif isinstance(action, Duration):
            total, queue = action.seconds, action.queue_seconds
        elif isinstance(action, FilterOutputs) and screen is None:
            screen = action
        elif isinstance(action, CorruptMedia) and damage is None:
            damage = action
    base = outcome or JobShape()
    return JobShape(base.outcome, base.at_progress, base.reason, base.message, slow, total, queue,
                    screen.reason if screen else None, screen.count if screen else None,
                    {"kind": damage.kind, "value": damage.value} if damage else None)


# --- what happens on the wire ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Abort:
    """No answer: the connection is reset (RST) or closed (FIN) at once."""

    reset: bool


@dataclass(frozen=True)
class Corrupt:
    """The answer's body is replaced by :func:`corrupted` (its length header corrected)."""


@dataclass(frozen=True)
class CutShort:
    """The headers promise the whole body; ``keep`` bytes of it are sent, then the connection closes."""

    keep: int


@dataclass(frozen=True)
class Trickle:
    """The body goes out ``size`` bytes at a time, ``interval`` seconds apart."""

    size: int
    interval: float


Fate = Abort | Corrupt | CutShort | Trickle


def transport_fate(action: TransportAction, content_length: int) -> Fate:
    """What ``action`` does to an answer whose body is ``content_length`` bytes."""
    if isinstance(action, (Reset, Empty)):
        return Abort(reset=isinstance(action, Reset))
    if isinstance(action, MalformedJson):
        return Corrupt()
    if isinstance(action, (TruncatedJson, TruncatedDownload)):
        return CutShort(int(content_length * action.fraction))
    return Trickle(action.bytes_per_chunk, action.interval)


def corrupted(body: bytes) -> bytes:
    """A body that starts like the real one and is not JSON."""
    return body[: max(1, len(body) // 2)] + b"<!-- not json"
