"""Tasks and their lifecycle.

A task is written once at submit with its whole timeline (queue time, render time, planned outcome).
Its status at any moment is computed from that timeline and the virtual clock by :func:`observe`, so a poll
writes nothing, every worker agrees, and a task accepted before a crash completes after a restart.
The only later writes are facts about the video file: rendered, or failed to render.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from videomock.core import rng
from videomock.core.webhooks.events import Callback


@dataclass(frozen=True)
class Plan:
    """What will happen to a task. ``outcome`` is one of:

    - ``complete``: queued, then rendering, then completed;
    - ``fail``: fails with ``reason`` once progress reaches ``at_progress``;
    - ``stuck``: stays queued for ever;
    - ``stall``: progress stops at ``at_progress`` for ever.

    ``filtered``: a safety filter withholds the last ``filtered`` of the task's videos (the Google APIs report
    them in ``raiMediaFilteredCount``, with ``message`` as the reason). When that is all of them, the task
    fails with ``code`` and ``message`` at its end, as a content-policy failure would.

    ``damage``: the task completes as planned, and its files are broken (see :mod:`videomock.media.damage`).
    """

    outcome: str = "complete"
    at_progress: int = 0
    reason: str | None = None
    code: int | str | None = None
    message: str | None = None
    filtered: int = 0
    #: How a corrupt_media fault damages the task's files (``{"kind", "value"}``); None for intact ones.
    damage: dict[str, Any] | None = None


@dataclass(frozen=True)
class IdFormat:
    """How a dialect's task ids look: a prefix and ``length`` characters of ``alphabet``, drawn from the seed
    and the task's number (so the same seed gives the same ids, in any process)."""

    prefix: str = "task_"
    alphabet: str = "0123456789abcdefghijklmnopqrstuvwxyz"
    length: int = 32

    def make(self, seed: int, seq: int) -> str:
        return self.prefix + rng.token(seed, "task-id", seq, length=self.length, alphabet=self.alphabet)


@dataclass(frozen=True)
class Origin:
    """Where a submit came from: the dialect, its id format, and what it called the model."""

    dialect: str = "documented"
    ids: IdFormat = field(default_factory=IdFormat)
    model_name: str | None = None
    remixed_from: str | None = None
    dialect_data: dict[str, Any] | None = None
    #: Where the task's events go: the targets its request named, and the shape in which configured webhook
    #: endpoints get them (None: the dialect sends them none); ``base_url`` is what links in them start with.
    webhooks: tuple[Callback, ...] = ()
    endpoint_shape: str | None = None
    base_url: str | None = None


@dataclass(frozen=True)
class Task:
    id: str
    seq: int
    owner: str                     # fingerprint of the API key that created it
    model: str
    params: dict[str, Any]         # the request with every default filled in (image bytes replaced by a reference)
    created_at: float              # virtual unix seconds
    queue_seconds: float
    render_seconds: float
    video_key: str                 # cache key of the placeholder video (the first one, for a request of several)
    plan: Plan = field(default_factory=Plan)
    rendered: bool = False         # the video file has been produced at least once
    failure: dict[str, Any] | None = None   # set when rendering failed: {"code", "message", "at"}
    #: Real (wall-clock) unix seconds at submit; None for tasks stored by versions that did not record it.
    created_wall: float | None = None
    #: The API dialect the task was submitted through, the model name it used there (when not the catalog
    #: id), and the task it remixes, if any.
    dialect: str = "documented"
    model_name: str | None = None
    remixed_from: str | None = None
    #: What the dialect must remember to answer for the task later and the canonical request has no field
    #: for (a Google operation's resource path, a storageUri).
    dialect_data: dict[str, Any] | None = None
    #: Cache keys of the videos after the first, for a request of several (``n``): each is a distinct video.
    extra_video_keys: tuple[str, ...] = ()
    #: The videos have a soundtrack (the catalog's ``audio`` for the request, decided at submit).
    audio: bool = False

    @property
    def outputs(self) -> int:
        """How many videos the request asked for."""
        return 1 + len(self.extra_video_keys)

    @property
    def video_keys(self) -> tuple[str, ...]:
        """Cache keys of the videos the task delivers, in output order: those a safety filter withholds (the
        last ones) are left out."""
        keys = (self.video_key, *self.extra_video_keys)
        return keys[: max(0, len(keys) - self.plan.filtered)]

    @property
    def reported_model(self) -> str:
        """The model as the client named it."""
        return self.model_name or self.model

    def reported_time(self, virtual: float) -> float:
        """The timestamp a provider would report for the task's virtual instant ``virtual``: its real submit
        time plus the virtual time elapsed since. A persisted speed clock runs far ahead of the world (30 x,
        across restarts), and clients store these; durations still follow the virtual clock."""
        if self.created_wall is None:
            return virtual
        return self.created_wall + (virtual - self.created_at)

    @property
    def started_at(self) -> float:
        return self.created_at + self.queue_seconds

    @property
    def finishes_at(self) -> float:
        return self.started_at + self.render_seconds

    def to_record(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict deep-copies recursively and cost ~26 us per write.
        plan = self.plan
        return {
            "id": self.id, "seq": self.seq, "owner": self.owner, "model": self.model, "params": self.params,
            "created_at": self.created_at, "queue_seconds": self.queue_seconds, "render_seconds": self.render_seconds,
            "video_key": self.video_key, "rendered": self.rendered, "failure": self.failure,
            "created_wall": self.created_wall, "dialect": self.dialect, "model_name": self.model_name,
            "remixed_from": self.remixed_from, "dialect_data": self.dialect_data,
            "extra_video_keys": list(self.extra_video_keys), "audio": self.audio,
            "plan": {"outcome": plan.outcome, "at_progress": plan.at_progress, "reason": plan.reason,
                     "code": plan.code, "message": plan.message, "filtered": plan.filtered, "damage": plan.damage},
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Task:
        return cls(**{**record, "plan": Plan(**record["plan"]),
                      "extra_video_keys": tuple(record.get("extra_video_keys", ()))})


@dataclass(frozen=True)
class TaskState:
    status: str
    progress: int
    completed_at: float | None = None
    error: dict[str, Any] | None = None
    #: Videos a safety filter withheld from the finished task (it failed if that was all of them).
    withheld: int = 0

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")


def _progress(task: Task, now: float) -> int:
    if task.render_seconds <= 0:
        return 100
    return max(0, min(100, math.floor(100 * (now - task.started_at) / task.render_seconds)))


def _time_at_progress(task: Task, progress: int) -> float:
    return task.started_at + task.render_seconds * progress / 100


def observe(task: Task, now: float) -> TaskState:
    """The task's state at virtual time ``now``. ``completed`` needs the video to exist (``rendered``):
    a task past its finish time whose video is still rendering reports 99%."""
    plan = task.plan
    if task.failure is not None:
        return TaskState("failed", min(_progress(task, now), 99), task.failure.get("at"), _error(task.failure))
    if plan.outcome == "stuck" or now < task.started_at:
        return TaskState("queued", 0)
    progress = _progress(task, now)
    if plan.outcome == "fail" and progress >= plan.at_progress:
        failed_at = _time_at_progress(task, plan.at_progress)
        return TaskState("failed", plan.at_progress, failed_at, _error(asdict(plan)))
    if plan.outcome == "stall":
        return TaskState("in_progress", min(progress, plan.at_progress))
    if progress < 100 or not task.rendered:
        return TaskState("in_progress", min(progress, 99))
    if plan.filtered >= task.outputs:
        return TaskState("failed", 100, task.finishes_at, _error(asdict(plan)), task.outputs)
    return TaskState("completed", 100, task.finishes_at, withheld=plan.filtered)


def finished_by_timeline(task: Task, now: float) -> bool:
    """Whether the task's timeline has ended by ``now``, whether or not its video exists yet. Limits count
    tasks by this, so that under the manual and instant clocks no outcome depends on how long a render
    takes (a poll waits for a due video instead: see the backend)."""
    if task.failure is not None:
        return True
    plan = task.plan
    if plan.outcome in ("stuck", "stall") or now < task.started_at:
        return False
    if plan.outcome == "fail":
        return _progress(task, now) >= plan.at_progress
    return now >= task.finishes_at


def is_due(task: Task, now: float) -> bool:
    """The timeline says the video should exist by now."""
    return task.plan.outcome == "complete" and task.failure is None and now >= task.finishes_at


def is_running(task: Task, now: float) -> bool:
    """Past the queue and headed for a video: the moment rendering starts."""
    return task.plan.outcome in ("complete", "stall") and task.failure is None and now >= task.started_at


def output_seed(seed: int, output: int) -> int:
    """The seed output ``output`` of a task is rendered with: the task's own for the first, one derived from
    it for each other, so a request for several videos gets distinct ones, and the same request the same ones."""
    return seed if output == 0 else rng.derive(seed, "output", output) % 2**32


def _error(source: dict[str, Any]) -> dict[str, Any]:
    return {"code": source.get("code"), "message": source.get("message") or "the task failed"}
