"""What a delivery is about: the targets a task's events go to, how each API's callbacks look, and the events a
task's timeline passes through.

The core knows task statuses (queued, in_progress, completed, failed); each API's callbacks name them their own
way and carry their own body, so a dialect adapter gives the engine a :class:`Shape` for each kind of callback it
speaks, and a submit names the :class:`Callback` targets its request asked for. Nothing here knows any API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from videomock.core.backend import TaskView
    from videomock.core.tasks import Task

#: The statuses that end a task.
TERMINAL = frozenset({"completed", "failed"})


@dataclass(frozen=True)
class Event:
    """One event as a shape renders it."""

    id: str               # the event's id (evt_...), the same for every target
    type: str             # the shape's name for it (video.completed, succeed, ...)
    status: str           # the task status it reports
    created_at: float     # when it happened, as a provider reports times (real unix seconds)
    base_url: str         # the base of the links it carries: the URL the submit came in on
    user_metadata: Any = None


@dataclass(frozen=True)
class Shape:
    """How one API's callbacks look: the event type of each task status it reports (statuses it does not name
    send nothing), whether deliveries are signed (Standard Webhooks), and the body of an event."""

    name: str
    events: Mapping[str, str]
    render: Callable[[TaskView, Event], dict[str, Any]]
    signed: bool = True


@dataclass(frozen=True)
class Callback:
    """A target the request itself names (Kling's ``callback_url``, Veo's ``webhookConfig.uris``): its shape,
    URL and what to echo back. The request is accepted whatever the URL, as the real APIs accept it; one that
    ``webhooks.allow_hosts`` does not allow is never called, and its deliveries' records say why."""

    shape: str
    url: str
    user_metadata: Any = None


def timeline_events(task: Task, early: float = 0.0) -> list[tuple[str, float]]:
    """The statuses ``task``'s plan passes through, each with the virtual time it is reached; the terminal one
    ``early`` seconds before the task's end (an early-event fault moved the end that much later). A task that
    fails at 0% never shows in_progress; a stuck one never leaves the queue, a stalled one never finishes."""
    plan = task.plan
    events = [("queued", task.created_at)]
    if plan.outcome == "stuck":
        return events
    if plan.outcome == "fail":
        end = task.started_at + task.render_seconds * plan.at_progress / 100
        if plan.at_progress > 0:
            events.append(("in_progress", task.started_at))
        return [*events, ("failed", max(task.created_at, end - early))]
    events.append(("in_progress", task.started_at))
    if plan.outcome == "stall":
        return events
    status = "failed" if plan.filtered >= task.outputs else "completed"
    return [*events, (status, max(task.created_at, task.finishes_at - early))]
