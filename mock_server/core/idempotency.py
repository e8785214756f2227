"""``Idempotency-Key``: a retried submit gets the task the first one made, never a second task.

The first submit with a key claims it (a named state in the store saying which process holds it), creates the
task, records the result under the key, and lets the claim go. A submit with the same key arriving meanwhile
waits for that result. A claim names its process, so one left behind by a process that died between claiming
and recording (``kill -9``, the OOM killer) is taken over by the next retry instead of wedging the key: the
claimant is checked by pid and, where the system says, by the process's start time (pids are reused).
Processes sharing a store share a machine (the SQLite store is a local file), so pids are comparable.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from videomock.core.errors import provider_error
from videomock.core.hashing import content_hash
from videomock.core.waits import WouldWait, waiting
from videomock.store import Store

#: Real seconds a submit waits for another one holding its key (a live claimant that is this slow is stuck).
WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.005


@dataclass(frozen=True)
class Claim:
    """This submit holds the key: it creates the task, then :meth:`IdempotencyKeys.finish` or ``abandon``."""

    result: str      # the named state the result goes in
    name: str        # the named state of the claim
    holder: dict[str, Any]


@dataclass(frozen=True)
class Replay:
    """An earlier submit with the key already made ``task_id``."""

    task_id: str


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux ``/proc``); None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rpartition(b")")[2].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def this_process() -> dict[str, Any]:
    """This process, as a claim names it: its pid and when it started (a reused pid is another process)."""
    pid = os.getpid()   # read on each claim: a worker forked after import has its own
    return {"pid": pid, "started": process_start(pid)}


def is_alive(holder: Any) -> bool:
    """Whether the process that took a claim still runs (an unreadable claim counts as a dead one's)."""
    if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass   # another user's process: it exists
    started = process_start(holder["pid"])
    return started is None or holder.get("started") is None or started == holder["started"]


class IdempotencyKeys:
    def __init__(self, store: Store) -> None:
        self.store = store

    def begin(self, owner: str, key: str, body: Any, *, exists: Callable[[str], bool],
              may_wait: bool = True) -> Claim | Replay:
        """Claim ``key`` for this submit, or the task an earlier submit with it made (if that task still
        ``exists``: one deleted since no longer answers for the key). Raises 400 when the key was used with
        another body, 503 when another live submit has held it too long, and WouldWait, unless ``may_wait``,
        instead of waiting for one that holds it (having claimed nothing)."""
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        result, name = f"idempotency:{owner}:{digest}", f"claim:idempotency:{owner}:{digest}"
        holder = this_process()
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            previous = self.store.get_state(result)
            if previous is not None and not exists(previous["task_id"]):
                self.store.compare_and_set_state(result, previous, None)
                continue
            if previous is not None:
                if previous["body"] != content_hash(body):
                    raise provider_error("idempotency_key_reused", "This Idempotency-Key was already used with a "
                                         "different request body.", param="Idempotency-Key")
                return Replay(previous["task_id"])
            current = self.store.get_state(name)
            if current is None and self.store.compare_and_set_state(name, None, holder):
                return Claim(result, name, holder)
            if current is not None and not is_alive(current) and self.store.compare_and_set_state(name, current, holder):
                return Claim(result, name, holder)   # its claimant died before recording a result
            if time.monotonic() > deadline:
                raise provider_error("idempotency_key_in_use", "An earlier submit with this Idempotency-Key is still "
                                     "being processed; retry.", headers={"Retry-After": "1"})
            if not may_wait:
                raise WouldWait(f"Idempotency-Key is held by another submit ({current})")
            with waiting():
                time.sleep(_POLL_SECONDS)

    def finish(self, claim: Claim, task_id: str, body: Any) -> None:
        self.store.set_state(claim.result, {"task_id": task_id, "body": content_hash(body)})
        self.store.compare_and_set_state(claim.name, claim.holder, None)

    def abandon(self, claim: Claim) -> None:
        """The submit was refused: a retry may claim the key again."""
        self.store.compare_and_set_state(claim.name, claim.holder, None)
