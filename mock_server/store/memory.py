"""The store in process memory: for the fixtures and throwaway runs, shared by threads, never by processes."""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from videomock.core.tasks import Task
from videomock.store import JOURNAL_MAX_BYTES, JOURNAL_MAX_ENTRIES, KEPT_ON_RESET
from videomock.store.codec import dumps, loads


class MemoryStore:
    """A thread-safe store in process memory. The journal keeps the newest ``journal_limit`` entries, and
    drops the oldest while its entries' text exceeds ``journal_max_bytes``."""

    def __init__(self, *, journal_limit: int = JOURNAL_MAX_ENTRIES, journal_max_bytes: int = JOURNAL_MAX_BYTES) -> None:
        self._lock = threading.Lock()
        self._journal_limit = journal_limit
        self._journal_max_bytes = journal_max_bytes
        self._journal_bytes = 0
        self._tasks: dict[str, Task] = {}
        self._counters: dict[str, int] = {}
        # Entries are kept as JSON text: a long test's thousands of entries would otherwise be nested dicts
        # that every garbage collection walks, slowing each request a little more (strings are not tracked).
        self._journal: deque[str] = deque(maxlen=journal_limit)
        self._state: dict[str, Any] = {}
        self._state_changes = 0
        self._state_versions: dict[str, int] = {}
        self._deliveries: dict[str, dict[str, Any]] = {}

    def next_id(self, counter: str) -> int:
        return self.increment(counter, 1)

    def increment(self, counter: str, amount: int) -> int:
        with self._lock:
            return self._incremented(counter, amount)

    def _incremented(self, counter: str, amount: int) -> int:
        """Add to a counter; the caller holds the lock (with whatever else must change with it)."""
        value = self._counters[counter] = self._counters.get(counter, 0) + amount
        return value

    def counter(self, counter: str) -> int:
        return self._counters.get(counter, 0)

    def add_task(self, task: Task) -> None:
        with self._lock:
            self._tasks[task.id] = task

    def create_task(self, build: Callable[[int], Task]) -> Task:
        with self._lock:
            task = build(self._incremented("tasks", 1))
            self._tasks[task.id] = task
            return task

    def get_task(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def delete_task(self, task_id: str) -> bool:
        with self._lock:
            return self._tasks.pop(task_id, None) is not None

    def update_task(self, task_id: str, *, when: Callable[[Task], bool] | None = None, **changes: Any) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or (when is not None and not when(task)):
                return task
            updated = Task.from_record({**task.to_record(), **changes}) if changes else task
            self._tasks[task_id] = updated
            return updated

    def tasks(self, owner: str | None = None) -> list[Task]:
        with self._lock:
            found: Iterable[Task] = list(self._tasks.values())
        if owner is not None:
            found = [t for t in found if t.owner == owner]
        return sorted(found, key=lambda t: t.seq)

    def append_journal(self, entry: dict[str, Any]) -> None:
        with self._lock:
            seq = self._incremented("journal", 1)
            text = dumps({**entry, "seq": seq})
            if len(self._journal) == self._journal_limit:
                self._journal_bytes -= len(self._journal[0])
            self._journal.append(text)
            self._journal_bytes += len(text)
            while self._journal_bytes > self._journal_max_bytes and len(self._journal) > 1:
                self._journal_bytes -= len(self._journal.popleft())

    def journal(self) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._journal)
        return [loads(entry) for entry in entries]

    def get_state(self, name: str) -> Any:
        return self._state.get(name)

    def versioned_state(self, name: str) -> tuple[int, Any]:
        with self._lock:
            return self._state_versions.get(name, 0), self._state.get(name)

    def set_state(self, name: str, value: Any) -> None:
        with self._lock:
            self._set_state(name, value)

    def _set_state(self, name: str, value: Any) -> None:
        """The caller holds the lock."""
        if value is None:
            self._state.pop(name, None)
        else:
            self._state[name] = copy.deepcopy(value)
        self._state_changes += 1
        self._state_versions[name] = self._state_changes

    def compare_and_set_state(self, name: str, expected: Any, value: Any) -> bool:
        with self._lock:
            if self._state.get(name) != expected:
                return False
            self._set_state(name, value)
            return True

    def add_deliveries(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            for record in records:
                self._deliveries.setdefault(record["id"], copy.deepcopy(record))

    def update_delivery(self, delivery_id: str, *, when: Callable[[dict[str, Any]], bool] | None = None,
                        **changes: Any) -> dict[str, Any] | None:
        with self._lock:
            record = self._deliveries.get(delivery_id)
            if record is None:
                return None
            if when is None or when(record):
                record = self._deliveries[delivery_id] = {**record, **copy.deepcopy(changes)}
            return copy.deepcopy(record)

    def get_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._deliveries.get(delivery_id)
            return copy.deepcopy(record) if record is not None else None

    def deliveries(self, *, state: str | None = None, due_by: float | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [r for r in self._deliveries.values()
                     if (state is None or r["state"] == state) and (due_by is None or r["due"] <= due_by)]
            found.sort(key=lambda r: (r["due"], r["rank"]))
            return copy.deepcopy(found[:limit] if limit is not None else found)

    def reset(self) -> None:
        with self._lock:
            self._deliveries.clear()
            self._tasks.clear()
            self._counters.clear()
            self._journal.clear()
            self._journal_bytes = 0
            self._state = {k: v for k, v in self._state.items() if k in KEPT_ON_RESET}
            self._state_changes += 1
            self._state_versions = {k: self._state_changes for k in self._state_versions}
