"""The durable store: one SQLite file that survives restarts (even ``kill -9``) and is shared by every thread
and every worker process that opens it.

Choices, and why:

- **WAL with ``synchronous=NORMAL``.** Every write is a committed transaction before the call returns, so
  whatever a caller was told (a task id, a journal sequence number) is in the WAL file, and a crashed or
  killed process loses nothing. NORMAL skips the fsync per commit; only a power cut or kernel crash can lose
  the last commits, which is acceptable for a test fake and worth the order of magnitude in write cost.
- **A pool of connections**, not one per thread: the development server starts a thread per connection, so
  thread-local connections would be opened and thrown away all the time. A connection is taken for one
  call and given back; concurrent calls get their own, so readers never wait for each other (WAL readers do
  not block). Connections inherited through ``fork`` are never used (nor closed) by the child.
- **Atomic counters across processes**: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement is
  its own transaction; read-modify-write sequences run under ``BEGIN IMMEDIATE``. Writers queue on a lock
  file (``PATH-lock``) before touching SQLite, because a writer that finds SQLite's lock taken sleeps for
  milliseconds before retrying; ``busy_timeout`` still covers writers from outside videomock.
- **Cached named state.** The backend reads ``config`` and ``clock`` several times per request, so values
  are cached per process and revalidated against a version number kept in the first 8 bytes of the lock
  file, memory-mapped: a read is one 8-byte load, not a query. Each ``set_state`` or ``reset`` draws a new
  version from the database in its transaction and publishes it there around its commit (see
  :meth:`SqliteStore._state_change`); since versions are unique, a process never keeps a value older than a
  change that finished before its read.
- **A bounded journal**: the newest ``journal_limit`` entries are kept, as in :class:`MemoryStore`; older ones
  are deleted in batches so appending stays a single insert.
- **Group commit.** Every request writes (a journal entry; a submit also its task), so under load the
  write lock was the queue every request stood in, and with the GIL a thread holding it could wait
  milliseconds for its turn to run while other processes waited for the lock (a convoy): throughput fell
  as threads were added. Writing threads now queue their work; one of them at a time runs everything
  queued in a single transaction, each piece in its own SAVEPOINT so one failure undoes only itself, while
  the others wait. A caller still returns only once its write is committed, so a read that follows a
  response (a journal query, another worker's poll) always sees it.
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import sqlite3
import struct
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from mock_server.store import KEPT_ON_RESET, StoreError
from mock_server.tasks import Task

#: Bumped when the tables change shape; a file with another version is refused rather than misread.
SCHEMA_VERSION = 1

#: Seconds a writer waits for another connection's write transaction before giving up.
BUSY_TIMEOUT = 30.0

#: Journal entries beyond the limit are deleted once per this many appends.
JOURNAL_PRUNE_EVERY = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, owner TEXT NOT NULL,
                                  record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_by_seq ON tasks (seq);
CREATE INDEX IF NOT EXISTS tasks_by_owner ON tasks (owner, seq);
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state_version (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO state_version VALUES (1, 0);
"""

_VERSION = struct.Struct("<Q")

#: Parsed tasks kept per store (emptied when full): enough for the tasks a busy CI fleet polls at once.
TASK_CACHE_SIZE = 1024

_T = TypeVar("_T")
_PENDING = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Pending:
    """A thread's write, queued to be committed with the writes of other threads."""

    __slots__ = ("work", "result", "wake")

    def __init__(self, work: Callable[[sqlite3.Connection], Any]) -> None:
        self.work = work
        self.result: Any = _PENDING
        # Held until the thread may go on: its write is committed, or the thread is to commit the queue.
        # One lock per write wakes exactly the threads that are done, where a shared condition woke all.
        self.wake = threading.Lock()
        self.wake.acquire()

_open_stores: weakref.WeakSet[SqliteStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_open_stores):
        store._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def default_store_path() -> Path:
    """Where ``videomock serve`` keeps its store when none is named: the user's state directory, as the
    rendered videos live in the user's cache directory (state is not a cache: deleting it loses tasks)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "videomock" / "store.db"


@contextmanager
def _committed(conn: sqlite3.Connection) -> Iterator[None]:
    """The block runs in one write transaction: committed at the end, rolled back on an exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:   # also when COMMIT itself failed: the pooled connection must come back clean
            conn.execute("ROLLBACK")
        raise


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


class SqliteStore:
    """A :class:`~mock_server.store.Store` in the SQLite file at ``path`` (created, with its folder, if
    missing). The journal keeps the newest ``journal_limit`` entries."""

    def __init__(self, path: str | os.PathLike[str], *, journal_limit: int = 50_000) -> None:
        self.path = Path(path)
        self._journal_limit = journal_limit
        self._idle: list[sqlite3.Connection] = []
        self._inherited: list[sqlite3.Connection] = []
        self._state_cache: dict[str, tuple[int, str | None, Any]] = {}
        self._task_cache: dict[str, tuple[str, Task]] = {}
        self._thread_write_lock = threading.Lock()
        self._group_lock = threading.Lock()
        self._group_queue: list[_Pending] = []
        self._group_writing = False   # a thread is committing; the queue waits for it
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open_lock_file()
            self._create_schema()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StoreError(f"cannot use {os.fspath(self.path)!r} as a videomock store: {exc}") from None
        _open_stores.add(self)

    # --- connections and locking -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _checkout(self) -> sqlite3.Connection:
        try:
            return self._idle.pop()
        except IndexError:
            return self._connect()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        conn = self._checkout()
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            self._idle.append(conn)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A connection for writes, holding this store's write lock: a thread lock within the process and an
        ``flock`` on the lock file across processes (and across stores open on one file). SQLite's own lock
        would be enough for correctness, but a writer that finds it taken sleeps for milliseconds before
        retrying; these locks hand over to the next writer as soon as it is free."""
        with self._thread_write_lock:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            conn = self._checkout()
            try:
                yield conn
            finally:
                self._idle.append(conn)
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction of several statements."""
        with self._writing() as conn, _committed(conn):
            yield conn

    def _grouped(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in a write transaction, sharing it with the writes other threads have queued.
        Returns (or raises) what ``work`` did, once it is committed. The thread that finds no commit under
        way commits the queue; when it is done it hands that role to the first write queued meanwhile."""
        mine = _Pending(work)
        with self._group_lock:
            self._group_queue.append(mine)
            leading, self._group_writing = not self._group_writing, True
        if not leading:
            mine.wake.acquire()
        if mine.result is _PENDING:
            with self._group_lock:
                batch, self._group_queue = self._group_queue, []
            try:
                self._commit_group(batch)
            finally:
                with self._group_lock:
                    if self._group_queue:
                        self._group_queue[0].wake.release()
                    else:
                        self._group_writing = False
                for pending in batch:
                    if pending is not mine:
                        pending.wake.release()
        if isinstance(mine.result, _Failed):
            raise mine.result.error
        return mine.result  # type: ignore[no-any-return]

    def _commit_group(self, batch: list[_Pending]) -> None:
        if len(batch) == 1:  # alone, the transaction itself is the savepoint
            try:
                with self._transaction() as conn:
                    batch[0].result = batch[0].work(conn)
            except BaseException as exc:
                batch[0].result = _Failed(exc)
            return
        try:
            with self._transaction() as conn:
                for pending in batch:
                    conn.execute("SAVEPOINT work")
                    try:
                        pending.result = pending.work(conn)
                    except Exception as exc:  # this piece alone is undone and fails; the others go on
                        conn.execute("ROLLBACK TO work")
                        pending.result = _Failed(exc)
                    conn.execute("RELEASE work")
        except BaseException as exc:  # the commit failed: nothing in the batch happened
            for pending in batch:
                pending.result = _Failed(exc)

    def _after_fork(self) -> None:
        """In a forked child. SQLite connections must not cross a fork, not even to be closed (closing can
        checkpoint or remove the WAL under the parent), so the child keeps them unused. The lock file is
        reopened because an inherited descriptor shares the parent's ``flock``, and the thread lock is new
        because one held by a parent thread at the fork would never be released in the child."""
        self._inherited.extend(self._idle)
        self._idle = []
        os.close(self._lock_fd)
        self._open_lock_file()
        self._thread_write_lock = threading.Lock()
        self._group_lock = threading.Lock()
        self._group_queue = []
        self._group_writing = False

    def close(self) -> None:
        """Close idle connections and the version map. Only for tidy shutdowns and tests."""
        _open_stores.discard(self)
        while self._idle:
            self._idle.pop().close()
        self._version_map.close()
        os.close(self._lock_fd)

    def _create_schema(self) -> None:
        with self._writing() as conn:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{os.fspath(self.path)!r} cannot use write-ahead logging (journal mode {mode!r})")
        with self._transaction() as conn:
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found not in (0, SCHEMA_VERSION):
                raise StoreError(f"{os.fspath(self.path)!r} has store schema {found}; this videomock reads {SCHEMA_VERSION}")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _open_lock_file(self) -> None:
        self._lock_fd = os.open(f"{self.path}-lock", os.O_RDWR | os.O_CREAT, 0o644)
        if os.fstat(self._lock_fd).st_size < _VERSION.size:
            os.ftruncate(self._lock_fd, _VERSION.size)
        self._version_map = mmap.mmap(self._lock_fd, _VERSION.size)

    # --- counters ------------------------------------------------------------------------------------

    def next_id(self, counter: str) -> int:
        return self.increment(counter, 1)

    def increment(self, counter: str, amount: int) -> int:
        return self._grouped(lambda conn: conn.execute(
            "INSERT INTO counters VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ? RETURNING value",
            (counter, amount, amount)).fetchall()[0][0])

    def counter(self, counter: str) -> int:
        rows = self._query("SELECT value FROM counters WHERE name = ?", (counter,))
        return rows[0][0] if rows else 0

    # --- tasks ---------------------------------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        record = _dumps(task.to_record())
        self._grouped(lambda conn: conn.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?)",
                                                (task.id, task.seq, task.owner, record)))

    def create_task(self, build: Callable[[int], Task]) -> Task:
        def work(conn: sqlite3.Connection) -> Task:
            seq = conn.execute("INSERT INTO counters VALUES ('tasks', 1) ON CONFLICT (name) DO UPDATE "
                               "SET value = value + 1 RETURNING value").fetchall()[0][0]
            task = build(seq)
            conn.execute("INSERT INTO tasks VALUES (?, ?, ?, ?)", (task.id, task.seq, task.owner, _dumps(task.to_record())))
            return task

        return self._grouped(work)

    def get_task(self, task_id: str) -> Task | None:
        """Polls read the same unchanged record over and over: its Task is kept (tasks are immutable, as the
        memory store's shared ones are) while the stored text stays the same."""
        rows = self._query("SELECT record FROM tasks WHERE id = ?", (task_id,))
        if not rows:
            return None
        record = rows[0][0]
        cached = self._task_cache.get(task_id)
        if cached is not None and cached[0] == record:
            return cached[1]
        task = Task.from_record(json.loads(record))
        if len(self._task_cache) >= TASK_CACHE_SIZE:
            self._task_cache.clear()
        self._task_cache[task_id] = (record, task)
        return task

    def update_task(self, task_id: str, **changes: Any) -> Task | None:
        def work(conn: sqlite3.Connection) -> Task | None:
            row = conn.execute("SELECT record FROM tasks WHERE id = ?", (task_id,)).fetchone()
            if row is None:
                return None
            task = Task.from_record({**json.loads(row[0]), **changes})
            if changes:
                conn.execute("UPDATE tasks SET seq = ?, owner = ?, record = ? WHERE id = ?",
                             (task.seq, task.owner, _dumps(task.to_record()), task_id))
            return task

        return self._grouped(work)

    def tasks(self, owner: str | None = None) -> list[Task]:
        if owner is None:
            rows = self._query("SELECT record FROM tasks ORDER BY seq")
        else:
            rows = self._query("SELECT record FROM tasks WHERE owner = ? ORDER BY seq", (owner,))
        return [Task.from_record(json.loads(record)) for (record,) in rows]

    # --- blobs ---------------------------------------------------------------------------------------

    def put_blob(self, key: str, data: bytes) -> None:
        self._grouped(lambda conn: conn.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?)", (key, data)))

    def get_blob(self, key: str) -> bytes | None:
        rows = self._query("SELECT data FROM blobs WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    # --- journal -------------------------------------------------------------------------------------

    def append_journal(self, entry: dict[str, Any]) -> int:
        """Returns once the entry is committed. ``seq`` is the row id, which SQLite assigns as the largest
        so far plus one (so it starts again at 1 after a reset, as the memory store's does)."""
        text = _dumps(entry)

        def work(conn: sqlite3.Connection) -> int:
            seq = conn.execute("INSERT INTO journal (entry) VALUES (?)", (text,)).lastrowid
            if seq % JOURNAL_PRUNE_EVERY == 0:
                conn.execute("DELETE FROM journal WHERE seq <= ?", (seq - self._journal_limit,))
            return seq

        return self._grouped(work)

    def journal(self) -> list[dict[str, Any]]:
        rows = self._query("SELECT seq, entry FROM journal ORDER BY seq DESC LIMIT ?", (self._journal_limit,))
        return [{**json.loads(entry), "seq": seq} for seq, entry in reversed(rows)]

    # --- named state ---------------------------------------------------------------------------------

    def get_state(self, name: str) -> Any:
        version = _VERSION.unpack_from(self._version_map)[0]
        cached = self._state_cache.get(name)
        if cached is not None and cached[0] == version:
            return cached[2]
        rows = self._query("SELECT value FROM state WHERE name = ?", (name,))
        raw = rows[0][0] if rows else None
        if cached is not None and cached[1] == raw:
            value = cached[2]   # unchanged: keep the same object, so callers' identity-keyed caches stay valid
        else:
            value = None if raw is None else json.loads(raw)
        if version % 2 == 0:   # odd: a change is being committed, or its writer died before publishing
            self._state_cache[name] = (version, raw, value)
        return value

    def set_state(self, name: str, value: Any) -> None:
        raw = _dumps(value)
        with self._state_change() as conn:
            conn.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (name, raw))

    @contextmanager
    def _state_change(self) -> Iterator[sqlite3.Connection]:
        """A transaction that changes named state. Change ``n`` publishes ``2n - 1`` before its commit and
        ``2n`` after, both under the write lock; readers cache nothing under an odd version, so a writer
        killed between commit and publication leaves caching off (until the next change) instead of stale."""
        with self._writing() as conn:
            with _committed(conn):
                yield conn
                change = conn.execute("UPDATE state_version SET value = value + 1 RETURNING value").fetchall()[0][0]
                _VERSION.pack_into(self._version_map, 0, 2 * change - 1)
            _VERSION.pack_into(self._version_map, 0, 2 * change)

    # --- reset ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        kept = sorted(KEPT_ON_RESET)
        with self._state_change() as conn:
            for table in ("tasks", "counters", "blobs", "journal"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute(f"DELETE FROM state WHERE name NOT IN ({', '.join('?' * len(kept))})", kept)
