"""Where the server keeps state: tasks, the request journal, counters and named state (clock, config).

Everything that must be shared between workers or survive a restart goes through :class:`Store`. Two
implementations: :class:`~videomock.store.memory.MemoryStore` for the fixtures and throwaway runs, and
:class:`~videomock.store.sqlite.SqliteStore`, a file shared by worker processes and kept across restarts.
The backend cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Protocol

from videomock.core.tasks import Task

#: Named state a reset keeps: configuration outlives tests, and so do the link-signing secret (links handed
#: out before a reset still check) and the vault's sealed secrets the configuration refers to; tasks,
#: journal, counters, deliveries and clock do not.
KEPT_ON_RESET = frozenset({"config", "link_secret", "secrets"})


#: The journal's size caps, by count and by the size of its entries' text: a journal of rejected 15 MB
#: bodies must not fill the disk (each body is also capped when journaled, see videomock.core.journal).
JOURNAL_MAX_ENTRIES = 50_000
JOURNAL_MAX_BYTES = 64 * 1024 * 1024


class StoreError(RuntimeError):
    """The store cannot be opened or used (a bad path, a file that is not a videomock store)."""


class Store(Protocol):
    def next_id(self, counter: str) -> int:
        """Atomically increment the named counter and return its new value (the first call returns 1)."""

    def increment(self, counter: str, amount: int) -> int:
        """Atomically add ``amount`` (may be negative) to the named counter; returns the new value."""

    def counter(self, counter: str) -> int:
        """The named counter's current value (0 if never incremented)."""

    def add_task(self, task: Task) -> None: ...

    def create_task(self, build: Callable[[int], Task]) -> Task:
        """Draw the next task number and store ``build(number)``, atomically: one trip to the store, and
        no number is ever used twice or left without its task."""

    def get_task(self, task_id: str) -> Task | None: ...

    def delete_task(self, task_id: str) -> bool:
        """Forget a task (its number is never reused); returns whether there was one."""

    def update_task(self, task_id: str, *, when: Callable[[Task], bool] | None = None, **changes: Any) -> Task | None:
        """Replace some fields of a stored task, atomically, if ``when`` (if given) holds for the task as
        stored; returns the task as it now is (unchanged if ``when`` did not hold; None if unknown)."""

    def tasks(self, owner: str | None = None) -> list[Task]:
        """Tasks in submission order, optionally only one key's."""

    def append_journal(self, entry: dict[str, Any]) -> None:
        """Record one request; :meth:`journal` returns it (with its sequence number) from then on."""

    def journal(self) -> list[dict[str, Any]]:
        """Recorded requests, oldest first."""

    def get_state(self, name: str) -> Any:
        """A JSON-like value, or None. Callers must not mutate it."""

    def versioned_state(self, name: str) -> tuple[Hashable | None, Any]:
        """The named state with a version that changes whenever the value does, so callers can cache what
        they derive from it (within this process). The version is None when the value cannot be cached now
        (a change is being published)."""

    def set_state(self, name: str, value: Any) -> None: ...

    def compare_and_set_state(self, name: str, expected: Any, value: Any) -> bool:
        """Atomically replace the named state with ``value`` if it equals ``expected`` (None: absent;
        ``value`` None removes it); returns whether it did. Claims and one-time secrets are built on it."""

    def add_deliveries(self, records: list[dict[str, Any]]) -> None:
        """Store webhook delivery records (JSON-like, each with a unique ``id`` and a ``due`` virtual time);
        a record whose id is stored already is left as it is."""

    def update_delivery(self, delivery_id: str, *, when: Callable[[dict[str, Any]], bool] | None = None,
                        **changes: Any) -> dict[str, Any] | None:
        """Replace some fields of a stored delivery, atomically, if ``when`` (if given) holds for it as stored;
        returns the record as it now is (None if unknown)."""

    def get_delivery(self, delivery_id: str) -> dict[str, Any] | None: ...

    def deliveries(self, *, state: str | None = None, due_by: float | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
        """Delivery records in sending order (``due``, then ``rank``), optionally only those in ``state`` and
        due by ``due_by``, at most ``limit`` of them."""

    def reset(self) -> None:
        """Forget tasks, journal, counters, deliveries and state other than :data:`KEPT_ON_RESET`."""



def open_store(setting: str | None) -> Store:
    """The store ``server.store`` names: unset or ``"memory"`` is process memory, anything else a SQLite file."""
    if setting in (None, "memory"):
        from videomock.store.memory import MemoryStore

        return MemoryStore()
    from videomock.store.sqlite import SqliteStore

    return SqliteStore(setting)
