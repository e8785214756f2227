"""The store contract, run against every store, then what only the SQLite store promises: counters unique
across threads and real processes, state changes seen across processes, and nothing acknowledged lost when
the writing process is killed with SIGKILL."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from videomock.core.tasks import Plan, Task
from videomock.store import Store, StoreError
from videomock.store import sqlite as sqlite_store
from videomock.store.memory import MemoryStore
from videomock.store.sqlite import JOURNAL_PRUNE_EVERY, SqliteStore

DEADLINE = 30.0


def make_task(seq: int, owner: str = "key_a", **fields: Any) -> Task:
    return Task(id=f"task_{seq}", seq=seq, owner=owner, model="veo_3_1",
                params={"prompt": "a cat", "duration": 8, "width": 1280, "height": 720, "fps": 24, "seed": seq},
                created_at=1000.0 + seq, queue_seconds=2.5, render_seconds=30.0, video_key=f"video-{seq}", **fields)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(journal_limit=5)
    else:
        sqlite_store = SqliteStore(tmp_path / "store.db", journal_limit=5)
        yield sqlite_store
        sqlite_store.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "store.db"


# --- the contract, for every store --------------------------------------------------------------------

def test_counters_start_at_one_and_are_independent(store: Store) -> None:
    assert store.counter("tasks") == 0
    assert [store.next_id("tasks") for _ in range(3)] == [1, 2, 3]
    assert store.next_id("rules") == 1
    assert (store.counter("tasks"), store.counter("rules"), store.counter("never")) == (3, 1, 0)


def test_increment_adds_any_amount_atomically(store: Store) -> None:
    assert store.increment("credits:key_a", 2500) == 2500
    assert store.increment("credits:key_a", -1000) == 1500
    assert store.counter("credits:key_a") == 1500 and store.counter("credits:key_b") == 0


def test_tasks_round_trip_and_replace(store: Store) -> None:
    task = make_task(1, plan=Plan("fail", 40, "moderation", 1301, "blocked"), failure={"code": 5010, "message": "x", "at": 3.5})
    store.add_task(task)
    assert store.get_task("task_1") == task
    assert store.get_task("task_404") is None
    store.add_task(replace(task, model="veo_3_1-fast"))
    assert store.get_task("task_1").model == "veo_3_1-fast"
    assert len(store.tasks()) == 1


def test_update_task_changes_only_the_given_fields(store: Store) -> None:
    store.add_task(make_task(1))
    updated = store.update_task("task_1", rendered=True, failure={"code": 5010, "message": "boom", "at": 9.0})
    assert updated == replace(make_task(1), rendered=True, failure={"code": 5010, "message": "boom", "at": 9.0})
    assert store.get_task("task_1") == updated
    assert store.update_task("task_1") == updated
    assert store.update_task("task_404", rendered=True) is None
    with pytest.raises(TypeError):
        store.update_task("task_1", colour="red")
    assert store.get_task("task_1") == updated


def test_a_conditional_update_applies_only_while_its_condition_holds(store: Store) -> None:
    """How a render's outcome is recorded once: the second of "rendered" and "failed" changes nothing."""
    store.add_task(make_task(1))

    def unsettled(task: Task) -> bool:
        return not task.rendered and task.failure is None

    rendered = store.update_task("task_1", when=unsettled, rendered=True)
    assert rendered == replace(make_task(1), rendered=True)
    assert store.update_task("task_1", when=unsettled, failure={"code": 5010, "message": "late", "at": 1.0}) == rendered
    assert store.get_task("task_1") == rendered
    assert store.update_task("task_404", when=unsettled, rendered=True) is None


def test_tasks_are_listed_in_submission_order_and_by_owner(store: Store) -> None:
    for seq, owner in [(3, "key_a"), (1, "key_b"), (2, "key_a")]:
        store.add_task(make_task(seq, owner))
    assert [t.seq for t in store.tasks()] == [1, 2, 3]
    assert [t.seq for t in store.tasks("key_a")] == [2, 3]
    assert store.tasks("key_c") == []


def test_journal_numbers_entries_and_keeps_the_newest(store: Store) -> None:
    assert store.journal() == []
    for i in range(1, 4):
        store.append_journal({"path": f"/{i}", "body": {"n": [i]}})
    assert store.journal() == [{"path": f"/{i}", "body": {"n": [i]}, "seq": i} for i in range(1, 4)]
    for i in range(4, 10):
        store.append_journal({"path": f"/{i}"})
    assert [e["seq"] for e in store.journal()] == [5, 6, 7, 8, 9]   # journal_limit=5


def test_state_is_a_copy_and_stays_the_same_object_until_set(store: Store) -> None:
    assert store.get_state("config") is None
    value = {"models": {"veo_3_1": {"fps": [24]}}, "seed": 7}
    store.set_state("config", value)
    value["seed"] = 8
    config = store.get_state("config")
    assert config == {"models": {"veo_3_1": {"fps": [24]}}, "seed": 7}
    store.set_state("clock", {"mode": "manual"})
    assert store.get_state("config") is config     # callers key caches on identity (the backend's catalog)
    store.set_state("config", {"seed": 9})
    assert store.get_state("config") == {"seed": 9}
    assert store.get_state("clock") == {"mode": "manual"}


def test_reset_forgets_everything_but_config(store: Store) -> None:
    store.next_id("tasks")
    store.add_task(make_task(1))
    store.append_journal({"path": "/"})
    store.set_state("config", {"seed": 1})
    store.set_state("clock", {"mode": "manual"})
    store.reset()
    assert (store.counter("tasks"), store.tasks(), store.get_task("task_1")) == (0, [], None)
    assert store.journal() == [] and store.get_state("clock") is None
    assert store.get_state("config") == {"seed": 1}
    store.append_journal({"path": "/"})
    assert store.next_id("tasks") == 1 and [e["seq"] for e in store.journal()] == [1]


# --- SQLite: durability and sharing ---------------------------------------------------------------------

def test_everything_survives_reopening(sqlite_path: Path) -> None:
    first = SqliteStore(sqlite_path)
    first.next_id("tasks")
    first.add_task(make_task(1))
    first.append_journal({"path": "/"})
    first.set_state("clock", {"mode": "manual"})
    first.close()
    second = SqliteStore(sqlite_path)
    assert second.next_id("tasks") == 2
    assert second.get_task("task_1") == make_task(1)
    assert second.journal() == [{"path": "/", "seq": 1}]
    assert second.get_state("clock") == {"mode": "manual"}
    second.close()


def test_a_file_that_kept_images_opens_and_loses_them(sqlite_path: Path) -> None:
    """Stores written before input images moved to the media cache had a blobs table holding every image."""
    first = SqliteStore(sqlite_path)
    first.add_task(make_task(1))
    first.close()
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE TABLE blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL)")
        conn.execute("INSERT INTO blobs VALUES ('a', ?)", (b"image" * 1000,))
    second = SqliteStore(sqlite_path)
    assert second.get_task("task_1") == make_task(1)
    tables = {name for (name,) in sqlite3.connect(sqlite_path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "blobs" not in tables and "tasks" in tables
    second.close()


def test_the_journal_writer_checkpoints_so_that_requests_need_not(sqlite_path: Path) -> None:
    """A few pages are far below any committing connection's own checkpoint threshold; the task still reaches
    the database file, copied there by the journal writer thread (a checkpoint fsyncs, and on a request's
    connection it stalls ``videomock serve``'s event loop)."""
    store = SqliteStore(sqlite_path)
    store.add_task(make_task(1, owner="owner-to-be-checkpointed"))
    assert b"owner-to-be-checkpointed" not in sqlite_path.read_bytes()   # in the WAL only, so far
    store.append_journal({"path": "/"})
    deadline = time.monotonic() + DEADLINE
    while b"owner-to-be-checkpointed" not in sqlite_path.read_bytes():
        assert time.monotonic() < deadline, "the journal writer did not checkpoint"
        time.sleep(0.01)   # polling interval: the writer gathers for JOURNAL_GATHER_SECONDS first
    store.close()


def test_a_file_that_indexed_tasks_by_seq_loses_the_index_and_still_lists_them_in_order(sqlite_path: Path) -> None:
    """Files written before the seq index was dropped (and by any earlier videomock, which makes it again)."""
    first = SqliteStore(sqlite_path)
    for seq in (3, 1, 2):
        first.add_task(make_task(seq))
    first.close()
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE INDEX tasks_by_seq ON tasks (seq)")
    second = SqliteStore(sqlite_path)
    indexes = {name for (name,) in sqlite3.connect(sqlite_path).execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "tasks_by_seq" not in indexes and "tasks_by_owner" in indexes
    assert [task.seq for task in second.tasks()] == [1, 2, 3]
    second.close()


def test_a_file_that_kept_a_row_per_journal_entry_opens_with_an_empty_journal(sqlite_path: Path) -> None:
    """Before the journal kept pages, it kept a row per entry, and a counter of their size."""
    first = SqliteStore(sqlite_path, journal_max_bytes=1000)
    first.add_task(make_task(1))
    first.close()
    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE TABLE journal (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL)")
        conn.execute("INSERT INTO journal (entry) VALUES (?)", ('{"path": "/old"}',))
        conn.execute("INSERT OR REPLACE INTO counters VALUES ('journal_bytes', 10000000)")
    second = SqliteStore(sqlite_path, journal_max_bytes=1000)
    assert second.get_task("task_1") == make_task(1) and second.journal() == []
    for n in range(3):
        second.append_journal({"path": f"/{n}"})
    assert [e["path"] for e in second.journal()] == ["/0", "/1", "/2"]
    size = sqlite3.connect(sqlite_path).execute("SELECT value FROM counters WHERE name = 'journal_bytes'").fetchone()[0]
    assert size < 100   # the old rows' size no longer counts against the cap (every write would prune)
    tables = {name for (name,) in sqlite3.connect(sqlite_path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "journal" not in tables
    second.close()


def test_the_journal_file_stays_bounded(sqlite_path: Path) -> None:
    store = SqliteStore(sqlite_path, journal_limit=10)
    for i in range(3 * JOURNAL_PRUNE_EVERY):
        store.append_journal({"i": i})
    assert [e["i"] for e in store.journal()] == list(range(3 * JOURNAL_PRUNE_EVERY - 10, 3 * JOURNAL_PRUNE_EVERY))
    kept = sqlite3.connect(sqlite_path).execute("SELECT sum(count) FROM journal_pages").fetchone()[0]
    assert kept <= 2 * 10 + JOURNAL_PRUNE_EVERY   # the newest 10, a page reaching back past them, and the rest since
    store.close()


def test_counters_are_unique_across_threads(sqlite_path: Path) -> None:
    store = SqliteStore(sqlite_path)
    results: list[list[int]] = [[] for _ in range(8)]

    def take(slot: int) -> None:
        results[slot] = [store.next_id("tasks") for _ in range(100)]

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = sorted(i for r in results for i in r)
    assert taken == list(range(1, 801))
    store.close()


def _take_ids(store: SqliteStore | Path, count: int, out: multiprocessing.Queue) -> None:
    """In a child process: a store inherited through fork, or opened on the path (spawn)."""
    opened = store if isinstance(store, SqliteStore) else SqliteStore(store)
    out.put([opened.next_id("tasks") for _ in range(count)])


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_counters_are_unique_across_processes(sqlite_path: Path, start_method: str) -> None:
    """spawn: three processes open one file; fork: three children inherit an open, used store (as workers
    forked from a preloaded app would)."""
    store = SqliteStore(sqlite_path)
    store.next_id("tasks")
    context = multiprocessing.get_context(start_method)
    out = context.Queue()
    target = store if start_method == "fork" else sqlite_path
    children = [context.Process(target=_take_ids, args=(target, 200, out)) for _ in range(3)]
    for child in children:
        child.start()
    taken = [i for _ in children for i in out.get(timeout=DEADLINE)]
    for child in children:
        child.join(DEADLINE)
        assert child.exitcode == 0
    assert sorted(taken + [store.next_id("tasks")]) == list(range(2, 603))
    store.close()


def _change_state(path: Path) -> None:
    store = SqliteStore(path)
    store.set_state("clock", {"mode": "manual", "moved": True})
    store.close()


def _reset(path: Path) -> None:
    SqliteStore(path).reset()


def in_another_process(change: Callable[[Path], None], path: Path) -> None:
    other = multiprocessing.get_context("spawn").Process(target=change, args=(path,))
    other.start()
    other.join(DEADLINE)
    assert other.exitcode == 0


def test_state_changed_by_another_process_is_seen(sqlite_path: Path) -> None:
    store = SqliteStore(sqlite_path)
    store.set_state("config", {"seed": 1})
    store.set_state("clock", {"mode": "manual"})
    config = store.get_state("config")
    assert store.get_state("clock") == {"mode": "manual"}   # now cached here
    for change in (_change_state, _reset):
        in_another_process(change, sqlite_path)
        expected = {"mode": "manual", "moved": True} if change is _change_state else None
        assert store.get_state("clock") == expected
        assert store.get_state("config") is config
    store.close()


def _finish_task(path: Path) -> None:
    store = SqliteStore(path)
    store.update_task("task_1", rendered=True)
    store.close()


def test_a_task_changed_or_deleted_by_another_process_is_seen_by_the_next_read(sqlite_path: Path) -> None:
    """Polls take a task from the process's cache while no write that may change tasks has begun anywhere."""
    store = SqliteStore(sqlite_path)
    store.add_task(make_task(1))
    cached = store.get_task("task_1")
    assert store.get_task("task_1") is cached
    for change in (_finish_task, _reset):
        in_another_process(change, sqlite_path)
        seen = store.get_task("task_1")
        assert (seen and seen.rendered) == (True if change is _finish_task else None)
    store.close()


def test_only_writes_that_may_change_tasks_move_the_tasks_change_number(sqlite_path: Path) -> None:
    """Counters (request ids, fault matches, credits) and deliveries are written on request paths: they must
    not send every poll's task read back to the database."""
    store = SqliteStore(sqlite_path)
    store.add_task(make_task(1))

    def change_number() -> int:
        return int(sqlite_store._COUNT.unpack_from(store._version_map, sqlite_store._TASKS_VERSION_AT)[0])

    before = change_number()
    store.next_id("kling_request")
    store.add_deliveries([{"id": "dlv_1", "due": 0.0, "rank": 0.0, "state": "pending"}])
    assert change_number() == before
    store.update_task("task_1", rendered=True)
    assert change_number() > before and change_number() % 2 == 0
    store.close()


def test_a_journaled_body_that_only_the_json_module_can_write_comes_back_exactly(store: Store) -> None:
    body = {"n": 10**30, "text": "\ud800 alone", "nested": [1.5, None, True]}
    store.append_journal({"path": "/odd", "request_body": body})
    assert store.journal()[-1]["request_body"] == body


def _die_before_publishing(path: Path, about_to_commit: Any, go_on: Any) -> None:
    """Change state, pausing just before the commit (while readers see the change as under way), then die
    (SIGKILL) between the commit and publishing that it finished."""
    store = SqliteStore(path)
    real = sqlite_store._VERSION

    class DyingAfterCommit:
        def unpack_from(self, buffer: Any) -> tuple[int, ...]:
            return real.unpack_from(buffer)

        def pack_into(self, buffer: Any, offset: int, version: int) -> None:
            if version % 2 == 0:
                os.kill(os.getpid(), signal.SIGKILL)
            real.pack_into(buffer, offset, version)
            about_to_commit.set()
            go_on.wait(DEADLINE)

    sqlite_store._VERSION = DyingAfterCommit()  # type: ignore[assignment]
    store.set_state("clock", {"mode": "manual", "moved": True})


def test_a_writer_killed_after_committing_state_leaves_no_stale_cache(sqlite_path: Path) -> None:
    store = SqliteStore(sqlite_path)
    store.set_state("clock", {"mode": "manual"})
    assert store.get_state("clock") == {"mode": "manual"}   # now cached here
    context = multiprocessing.get_context("spawn")
    about_to_commit, go_on = context.Event(), context.Event()
    writer = context.Process(target=_die_before_publishing, args=(sqlite_path, about_to_commit, go_on))
    writer.start()
    assert about_to_commit.wait(DEADLINE)
    assert store.get_state("clock") == {"mode": "manual"}   # read during the change: not committed yet
    go_on.set()
    writer.join(DEADLINE)
    assert writer.exitcode == -signal.SIGKILL
    assert store.get_state("clock") == {"mode": "manual", "moved": True}
    store.set_state("config", {"seed": 1})                   # the next change turns caching back on
    assert store.get_state("config") is store.get_state("config")
    assert store.get_state("clock") == {"mode": "manual", "moved": True}
    store.close()


ADD_TASKS_UNTIL_KILLED = """
import sys
from videomock.store.sqlite import SqliteStore
from tests.test_store import make_task

store = SqliteStore(sys.argv[1])
seq = 0
while True:
    seq += 1
    store.add_task(make_task(seq))
    store.append_journal({"seq_added": seq})
    print(seq, flush=True)
"""


def journal_pages_in(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        pages: int = conn.execute("SELECT count(*) FROM journal_pages").fetchone()[0]
    return pages


def test_acknowledged_writes_survive_sigkill(sqlite_path: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-c", ADD_TASKS_UNTIL_KILLED, str(sqlite_path)],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    acks: queue.Queue[int] = queue.Queue()
    reader = threading.Thread(target=lambda: [acks.put(int(line)) for line in writer.stdout if line.endswith("\n")])
    reader.start()
    while acks.get(timeout=DEADLINE) < 200:
        pass
    # Killed once the journal writer has committed some entries too (it lets them gather for 10 ms first).
    deadline = time.monotonic() + DEADLINE
    while not journal_pages_in(sqlite_path):
        assert time.monotonic() < deadline, "the writer committed no journal entry"
        time.sleep(0.005)   # polling interval
    writer.send_signal(signal.SIGKILL)
    writer.wait(DEADLINE)
    reader.join(DEADLINE)
    acknowledged = 200
    while not acks.empty():
        acknowledged = acks.get_nowait()
    store = SqliteStore(sqlite_path)
    assert [t.seq for t in store.tasks()][:acknowledged] == list(range(1, acknowledged + 1))
    # Journal entries are committed a moment after they are taken: the last few may be lost, never reordered.
    journaled = [e["seq_added"] for e in store.journal()]
    assert journaled and journaled == list(range(1, len(journaled) + 1))
    store.close()


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("not a database " * 100)
    with pytest.raises(StoreError, match="notes.db"):
        SqliteStore(not_sqlite)
    other_schema = tmp_path / "other.db"
    sqlite3.connect(other_schema).execute("PRAGMA user_version=99")
    with pytest.raises(StoreError, match="schema 99"):
        SqliteStore(other_schema)


def test_a_failed_write_does_not_undo_the_writes_it_was_committed_with(sqlite_path: Path) -> None:
    """Concurrent writes share transactions (group commit); each runs in its own savepoint."""
    store = SqliteStore(sqlite_path)
    store.add_task(make_task(1))
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            if n % 5 == 0:
                store.update_task(make_task(1).id, no_such_field=n)  # Task has no such field: this write fails
            else:
                store.next_id("ok")
                store.append_journal({"n": n})
        except TypeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 8
    assert store.counter("ok") == 32 and len(store.journal()) == 32
    assert store.get_task(make_task(1).id) == make_task(1)


def test_a_closed_store_frees_its_journal_slot_for_other_processes(sqlite_path: Path) -> None:
    """Journal readers wait for every process that holds a slot; a closed store must not be waited for."""
    from videomock.store.sqlite import _read_slot, _slot_offsets

    store = SqliteStore(sqlite_path)
    store.append_journal({"path": "/"})
    holders = [_read_slot(store._version_map, at)[0] for at in _slot_offsets()]
    assert holders.count(os.getpid()) == 1
    store.close()
    reader = SqliteStore(sqlite_path)
    assert all(_read_slot(reader._version_map, at)[0] == 0 for at in _slot_offsets())
    assert [e["path"] for e in reader.journal()] == ["/"]
    reader.close()
