"""Planning a task's deliveries when it is accepted, and sending them in the background on the virtual clock.

A task's timeline (its queue and render times and its plan) says when it reaches each status, so every event
of every target is planned at submit: one record per event and target, with the time it is due, the faults
that fired for it and, later, each attempt. The records live in the store, so deliveries survive a restart
and every worker process sees them.

One engine at a time sends: a lease in the store, renewed while its holder runs and taken over when the
holder's process is gone or stops renewing. It sends due records one after another, in due order, so each
event goes out once however many workers serve, and a target gets a task's events in the order they happened
(unless a fault says otherwise). Nothing is sent on a request's thread: the engine's own thread waits for the
next due record (virtual time turned into real seconds in speed mode; in manual and instant mode, until time
is moved), and a submit, an advance, a reset or a redelivery wakes it.

What an event says is rendered when it is sent, from the task as a poll sees it then: a due terminal event
first makes the poll show the task finished (rendering its video if need be), so a receiver that polls on
receipt sees what the event announced, unless an early-event fault says it should not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from videomock.core import rng
from videomock.core.clock import Clock
from videomock.core.errors import provider_error
from videomock.core.faults.actions import WebhookAction
from videomock.core.faults.rules import Firing
from videomock.core.idempotency import is_alive, this_process
from videomock.core.outbound import OutboundError, Policy, Refused
from videomock.core.outbound import post as http_post
from videomock.core.tasks import Origin, Task, TaskState, observe
from videomock.core.webhooks.events import TERMINAL, Event, Shape, timeline_events
from videomock.core.webhooks.faults import EventFaults, early_seconds, event_faults, webhook_firings
from videomock.core.webhooks.schedule import Schedule, delivery_policy
from videomock.core.webhooks.signing import signature, signing_key_for
from videomock.store import Store

if TYPE_CHECKING:
    from videomock.core.backend import TaskView

log = logging.getLogger("videomock")

#: The named state that says which engine sends (a reset clears it; the next engine to look takes it).
LEASE_STATE = "webhooks:sender"
#: Real seconds a lease lasts unless renewed; its holder renews it when half is gone.
LEASE_SECONDS = 30.0
#: Real seconds an idle engine waits before looking again: for records another process planned, for a lease
#: to take over. Wake-ups within the process need no wait.
IDLE_POLL_SECONDS = 0.25
#: Records sent before the engine looks at the lease and the clock again.
BATCH = 50
#: Real seconds a read of the records first waits for the deliveries due by then to be sent (as a journal
#: read waits for entries queued before it): a test that reads them after its receiver answered sees that.
SETTLE_SECONDS = 5.0
#: A record's states. pending: waiting for its due time; sending: an attempt is under way; delivered: a 2xx
#: answer; failed: its attempts are spent or the target is not allowed; dropped: a drop fault; skipped: the
#: target does not take what the task became (a failure, for an endpoint subscribed to completions only);
#: cancelled: the task was deleted first.
STATES = ("pending", "sending", "delivered", "failed", "dropped", "skipped", "cancelled")

#: Tokens of this process's engines that run: a lease held by one that stopped is taken over at once.
_running: set[str] = set()


class Transport(Protocol):
    """What sends one delivery: ``post`` of :mod:`videomock.core.outbound`, or a test's in-process receiver."""

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], policy: Policy, *,
                 send: int | None = None) -> int: ...


class WebhookEngine:
    """The deliveries of one store. ``view(task_id)`` is the task as a poll would see it now (None: no such
    task); ``seed`` and ``config`` read the runtime configuration."""

    def __init__(self, store: Store, clock: Clock, *, seed: Callable[[], int], config: Callable[[], Mapping[str, Any]],
                 view: Callable[[str], TaskView | None], real_time: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._seed = seed
        self._config = config
        self._view = view
        self._real_time = real_time
        self.shapes: dict[str, Shape] = {}
        self.transport: Transport = http_post
        self._token = uuid.uuid4().hex
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def register(self, shape: Shape) -> None:
        self.shapes[shape.name] = shape

    # --- planning ----------------------------------------------------------------------------------------

    def plan(self, task: Task, origin: Origin, firings: Sequence[Firing]) -> None:
        """Write the records of every event of ``task`` for every target: those its request named, and the
        configured endpoints when its dialect sends them events."""
        fired = webhook_firings(firings)
        timeline = timeline_events(task, early_seconds(fired))
        seed = self._seed()
        records: list[dict[str, Any]] = []
        for t_index, target in enumerate(self._targets(origin)):
            chain = self._chain(task, t_index, target, timeline, fired, seed, origin.base_url or "")
            for index in range(len(chain) - 2, -1, -1):   # held back behind the next, which may be held back too
                record, faults = chain[index]
                if faults.out_of_order:
                    following = chain[index + 1][0]
                    record["due"], record["rank"] = max(record["due"], following["due"]), following["rank"] + 1
            for record, faults in chain:
                records.append(record)
                if faults.duplicate:
                    records.append({**record, "id": "dlv_" + rng.token(seed, "duplicate", record["id"], length=24),
                                    "duplicate_of": record["id"], "rank": record["rank"] + 0.5})
        if records:
            self._store.add_deliveries(records)
            self.start()
            self.wake()

    def _chain(self, task: Task, t_index: int, target: dict[str, Any], timeline: list[tuple[str, float]],
               fired: list[Firing], seed: int, base_url: str) -> list[tuple[dict[str, Any], EventFaults]]:
        """The records of the events ``target`` takes, in the order they happen, each with its faults. Ids are
        drawn from the seed, so the same seed and submits give the same ids."""
        shape = self.shapes[target["shape"]]
        wanted = target.get("events")
        chain = []
        for e_index, (status, at) in enumerate(timeline):
            kind = shape.events.get(status)
            if kind is None or (wanted is not None and kind not in wanted):
                continue
            faults = event_faults(fired, status)
            chain.append(({
                "id": "dlv_" + rng.token(seed, "delivery", task.seq, t_index, status, length=24),
                "task_id": task.id, "owner": task.owner, "model": task.model, "target": target,
                "status": status, "type": kind,
                "event_id": "evt_" + rng.token(seed, "webhook-event", task.seq, status, length=24),
                "message_id": "msg_" + rng.token(seed, "webhook-message", task.seq, t_index, status, length=24),
                "planned_at": at, "due": at + faults.delay, "rank": task.seq * 10_000 + t_index * 100 + e_index * 10,
                "state": "dropped" if faults.drop else "pending", "base_url": base_url,
                "first_attempt": faults.first_attempt(), "attempts": [], "duplicate_of": None,
                "faults": [f.journal() for f in fired if isinstance(f.action, WebhookAction) and f.action.applies_to(status)],
            }, faults))
        return chain

    def _targets(self, origin: Origin) -> list[dict[str, Any]]:
        """Where the task's events go. A callback URL that is also a configured endpoint's is signed with that
        endpoint's secret, so a receiver in another process can be given the secret it verifies with."""
        endpoints = self._config()["webhooks"]["endpoints"]
        secrets = {endpoint["url"]: endpoint.get("secret") for endpoint in endpoints}
        targets: list[dict[str, Any]] = [
            {"kind": "callback", "name": "callback", "url": c.url, "shape": c.shape, "secret": secrets.get(c.url),
             "user_metadata": c.user_metadata} for c in origin.webhooks]
        if origin.endpoint_shape is not None:
            for n, endpoint in enumerate(endpoints):
                targets.append({"kind": "endpoint", "name": endpoint.get("name") or f"endpoint-{n + 1}",
                                "url": endpoint["url"], "shape": origin.endpoint_shape,
                                "secret": endpoint.get("secret"), "events": endpoint.get("events")})
        return targets

    # --- reading and redelivering ------------------------------------------------------------------------

    def records(self, *, task_id: str | None = None, endpoint: str | None = None,
                state: str | None = None) -> list[dict[str, Any]]:
        """The delivery records in sending order, once the deliveries due by now are settled (at most
        :data:`SETTLE_SECONDS` later); ``endpoint`` is a target's name or URL."""
        self.wait_idle(SETTLE_SECONDS)
        return [r for r in self._store.deliveries(state=state)
                if (task_id is None or r["task_id"] == task_id)
                and (endpoint is None or endpoint in (r["target"]["name"], r["target"]["url"]))]

    def record(self, delivery_id: str) -> dict[str, Any] | None:
        """One delivery record, settled as :meth:`records` settles them (None: no such delivery)."""
        self.wait_idle(SETTLE_SECONDS)
        return self._store.get_delivery(delivery_id)

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        """Send a delivery again now, whatever became of it (without the faults of its first attempt); one
        being sent is left to finish."""
        if self._store.get_delivery(delivery_id) is None:
            raise provider_error("webhook_delivery_not_found", f"No webhook delivery {delivery_id!r}; GET "
                                 "/__admin/webhooks/deliveries lists them.", param="delivery_id")
        updated = self._store.update_delivery(delivery_id, when=lambda r: r["state"] != "sending", state="pending",
                                              due=self._clock.now(), redelivered=True)
        self.start()
        self.wake()
        assert updated is not None
        return updated

    def next_due(self) -> float | None:
        """The virtual time the next pending delivery is due (None: none is pending)."""
        upcoming = self._store.deliveries(state="pending", limit=1)
        return float(upcoming[0]["due"]) if upcoming else None

    def wait_idle(self, timeout: float) -> bool:
        """Whether, within ``timeout`` real seconds, no delivery due by now is left waiting or being sent."""
        deadline = time.monotonic() + timeout
        self.start()
        with self._idle:
            while self._busy():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.set()
                self._idle.wait(min(left, IDLE_POLL_SECONDS))
        return True

    def _busy(self, *, due_only: bool = True) -> bool:
        """Whether a delivery is being sent or waits to be (due by now, unless ``due_only`` is False)."""
        due_by = self._clock.now() if due_only else None
        return bool(self._store.deliveries(state="pending", due_by=due_by, limit=1)
                    or self._store.deliveries(state="sending", limit=1))

    # --- the sender ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the sending thread, once (it ends when the engine is collected)."""
        with self._start_lock:
            if self._thread is None:
                _running.add(self._token)
                weakref.finalize(self, _running.discard, self._token)
                self._thread = threading.Thread(target=_send_until_collected, args=(weakref.ref(self), self._wake),
                                                name="videomock-webhooks", daemon=True)
                self._thread.start()

    def resume(self) -> None:
        """Start sending if the store holds deliveries still to send (a restarted server's)."""
        if self._busy(due_only=False):
            self.start()

    def wake(self) -> None:
        self._wake.set()

    def step(self) -> float:
        """Send what is due; returns the real seconds to wait before the next step (0: go on at once)."""
        try:
            if not self._lead():
                return IDLE_POLL_SECONDS
            due = self._store.deliveries(state="pending", due_by=self._clock.now(), limit=BATCH)
            for record in due:
                self._attempt(record)
            if due:
                return 0.0
            with self._idle:
                self._idle.notify_all()
            upcoming = self.next_due()
            state = self._clock.state()
            if upcoming is None or state.mode != "speed":
                return IDLE_POLL_SECONDS
            return min(IDLE_POLL_SECONDS, max(0.0, (upcoming - self._clock.now()) / state.speed))
        except Exception:   # a broken record or store hiccup must not end the thread
            log.exception("webhook deliveries: a step failed")
            return IDLE_POLL_SECONDS

    def _lead(self) -> bool:
        """Whether this engine holds the sending lease, taking or renewing it when it may."""
        real = self._real_time()
        current = self._store.get_state(LEASE_STATE)
        mine = current is not None and current["holder"] == self._token
        if mine and current["until"] - real > LEASE_SECONDS / 2:
            return True
        if not mine and current is not None and current["until"] > real and _holder_runs(current):
            return False
        lease = {"holder": self._token, **this_process(), "until": real + LEASE_SECONDS}
        if not self._store.compare_and_set_state(LEASE_STATE, current, lease):
            return False
        if not mine:   # what the previous holder was sending when it stopped is sent again (at least once)
            for record in self._store.deliveries(state="sending"):
                self._store.update_delivery(record["id"], state="pending", claim=None)
        return True

    def _attempt(self, record: dict[str, Any]) -> None:
        claim = uuid.uuid4().hex
        claimed = self._store.update_delivery(record["id"], when=lambda r: r["state"] == "pending", state="sending",
                                              claim=claim)
        if claimed is None or claimed.get("claim") != claim:
            return
        try:
            self._send(claimed)
        except Exception as exc:   # a bug or a vanished secret: the record says so rather than stay "sending"
            log.exception("webhook delivery %s failed", record["id"])
            attempt = self._attempt_entry(claimed, self._clock.now(), self._real_time(), None,
                                          f"the delivery could not be made: {exc}", 0.0)
            self._finish(claimed, "failed", attempts=[*claimed["attempts"], attempt])
        finally:
            with self._idle:
                self._idle.notify_all()

    def _send(self, record: dict[str, Any]) -> None:
        view = self._view(record["task_id"])
        if view is None:
            self._finish(record, "cancelled")
            return
        rendered = self._render(record, view)
        if rendered is None:
            self._finish(record, "skipped")
            return
        event_type, body = rendered
        webhooks = self._config()["webhooks"]
        n = len(record["attempts"]) + 1
        faults = record["first_attempt"] if n == 1 and not record.get("redelivered") else {}
        headers = {"Content-Type": "application/json"}
        target = record["target"]
        wall = self._real_time()
        if self.shapes[target["shape"]].signed:
            key = signing_key_for(self._store, target["url"], target["secret"])
            if faults.get("bad_signature"):
                key = hashlib.sha256(b"not the endpoint's secret:" + key).digest()
            stamp = int(wall - faults.get("stale_seconds", 0))
            headers.update({"webhook-id": record["message_id"], "webhook-timestamp": str(stamp),
                            "webhook-signature": signature(key, record["message_id"], stamp, body)})
        send = int(len(body) * faults["truncate"]) if "truncate" in faults else None
        status: int | None = None
        error: str | None = None
        final = False
        # The attempt's virtual time is when it is sent: a clock moved while the receiver answers (a test that
        # advances as soon as the body arrives) must not push the retry back.
        at = self._clock.now()
        started = time.monotonic()
        try:
            status = self.transport(target["url"], body, headers, delivery_policy(webhooks), send=send)
        except Refused as exc:   # the configuration refuses the target: trying again cannot help
            error, final = str(exc), True
        except OutboundError as exc:
            error = str(exc)
        attempt = self._attempt_entry(record, at, wall, status, error, time.monotonic() - started)
        if faults:
            attempt["faults"] = faults
        attempts = [*record["attempts"], attempt]
        if status is not None and 200 <= status < 300:
            self._finish(record, "delivered", type=event_type, attempts=attempts)
            return
        wait = None if final else Schedule.of(webhooks).retry_after(n)
        if wait is None:
            self._finish(record, "failed", type=event_type, attempts=attempts)
        else:
            self._finish(record, "pending", type=event_type, attempts=attempts, due=at + wait)

    @staticmethod
    def _attempt_entry(record: Mapping[str, Any], at: float, wall: float, status: int | None, error: str | None,
                       seconds: float) -> dict[str, Any]:
        """One attempt as the record keeps it: its number, virtual and real time, answer, error and latency."""
        return {"n": len(record["attempts"]) + 1, "at": at, "wall": wall, "status": status,
                "latency_ms": round(seconds * 1000, 2), "error": error}

    def _finish(self, record: dict[str, Any], state: str, **changes: Any) -> None:
        self._store.update_delivery(record["id"], state=state, claim=None, **changes)

    def _render(self, record: dict[str, Any], view: TaskView) -> tuple[str, bytes] | None:
        """The event type and body to send, from the task as it is (a due terminal event: as the poll shows it,
        finished; an early one: as it will finish). None when the target does not take what the task became."""
        task = view.task
        status = record["status"]
        if status not in TERMINAL:
            state = TaskState(status, 0)
        elif view.state.finished:
            state = view.state
        else:
            state = observe(replace(task, rendered=True), max(task.finishes_at, self._clock.now()))
        target = record["target"]
        shape = self.shapes[target["shape"]]
        kind = shape.events.get(state.status)
        wanted = target.get("events")
        if kind is None or (wanted is not None and kind not in wanted):
            return None
        event = Event(record["event_id"], kind, state.status, task.reported_time(record["planned_at"]),
                      record["base_url"], target.get("user_metadata"))
        body = shape.render(replace(view, state=state), event)
        return kind, json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _holder_runs(lease: Mapping[str, Any]) -> bool:
    """Whether the lease's holder may still be sending: its process runs (not another that got its pid) and,
    when it is this process, the engine still runs."""
    if lease.get("pid") == os.getpid():
        return lease["holder"] in _running
    return is_alive(lease)


def _send_until_collected(ref: weakref.ref[WebhookEngine], wake: threading.Event) -> None:
    while True:
        engine = ref()
        if engine is None:
            return
        pause = engine.step()
        del engine
        if pause:
            wake.wait(pause)
        wake.clear()
