"""The durable store: one SQLite file that survives restarts (even ``kill -9``) and is shared by every thread
and every worker process that opens it.

Choices, and why:

- **WAL with ``synchronous=NORMAL``.** Every write of state is a committed transaction before the call
  returns, so whatever a caller was told (a task id, a counter) is in the WAL file, and a crashed or
  killed process loses none of it (journal entries are the exception, see below). NORMAL skips the fsync
  per commit; only a power cut or kernel crash can lose the last commits, which is acceptable for a test
  fake and worth the order of magnitude in write cost.
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
  are deleted in batches, whenever a commit of new entries passes a multiple of ``JOURNAL_PRUNE_EVERY``. A
  counter follows the entries' total length, and once it passes ``journal_max_bytes`` the oldest entries go
  until a tenth of that is free again. Entries are kept in pages, one row per commit of the journal writer:
  a row per entry cost several microseconds of every served poll.
- **Group commit.** Under load the write lock (tasks, counters, state) was the queue every writer stood
  in, and with the GIL a thread holding it could wait milliseconds for its turn to run while other
  processes waited for the lock (a convoy): throughput fell as threads were added. Writing threads now
  queue their work; one of them at a time runs everything queued in a single transaction, each piece in
  its own SAVEPOINT so one failure undoes only itself, while the others wait. A caller still returns only
  once its write is committed, so a read that follows a response (another worker's poll) always sees it.
- **A queued journal.** Journal entries are queued, and a writer thread per store commits what gathered
  every ten milliseconds in one transaction: the per-request commit was the largest single cost of a
  served poll. A journal read (or a reset) first waits until every entry queued before it, in every
  process, is committed, tracked through per-process counters in the lock file; so a test that reads the
  journal after its requests were answered sees all of them, as before. What a ``kill -9`` can lose is
  the last ten milliseconds of entries; never a task.
- **Checkpoints off the request path.** SQLite copies the WAL into the database file (a checkpoint, with an
  fsync) in the connection whose commit takes the WAL past its threshold: a request's, which under
  ``videomock serve`` stalls the worker's event loop. Each journal writer thread checkpoints instead, every
  ``CHECKPOINT_SECONDS``, in PASSIVE mode (it waits for no reader or writer; of two at once, one gives
  way); a committing connection checkpoints only past ``AUTO_CHECKPOINT_PAGES``, for a process whose
  journal writer does not run.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import mmap
import os
import sqlite3
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from videomock.core.tasks import Task
from videomock.store import JOURNAL_MAX_BYTES, JOURNAL_MAX_ENTRIES, KEPT_ON_RESET, StoreError
from videomock.store.codec import dumps, loads

log = logging.getLogger(__name__)

#: Bumped when the tables change shape; a file with another version is refused rather than misread.
SCHEMA_VERSION = 1

#: Seconds a writer waits for another connection's write transaction before giving up.
BUSY_TIMEOUT = 30.0

#: Journal entries beyond the limit are deleted once per this many appends.
JOURNAL_PRUNE_EVERY = 256
#: The counter that follows the journal entries' total length.
_JOURNAL_BYTES = "journal_bytes"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, owner TEXT NOT NULL,
                                  record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_by_owner ON tasks (owner, seq);
CREATE TABLE IF NOT EXISTS journal_pages (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, entries TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state_version (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO state_version VALUES (1, 0);
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, due REAL NOT NULL, rank REAL NOT NULL, state TEXT NOT NULL,
                                       record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_by_due ON deliveries (state, due, rank);
"""

#: Webhook deliveries got a table of their own after version 1 was fixed; it is created where it is missing,
#: and an earlier videomock opening the file ignores it, so the schema version stays.
#: Input images were kept in a ``blobs`` table until they moved to the media cache (videomock.media.library).
#: Files written before then still have it; it is dropped when they are opened. The tables the store reads
#: are unchanged, so the schema version is too (and an earlier videomock still opens the file).
_DROP_IMAGE_TABLE = "DROP TABLE IF EXISTS blobs"
#: Tasks were indexed by ``seq`` too, for the listing of every task in order. That listing is rare (the dashboard,
#: an advance of the clock) and parses each record anyway, so SQLite's sort costs it little, while the index cost
#: every submit a B-tree more to write and, in the other workers, to read again (a tenth of a served submit:
#: bench/README.md). Dropped where found; an earlier videomock makes it again, and reads the file either way.
_DROP_SEQ_INDEX = "DROP INDEX IF EXISTS tasks_by_seq"

_VERSION = struct.Struct("<Q")
#: Where the lock file keeps the tasks' change number: odd while a write that may change tasks commits, even
#: otherwise (see :meth:`SqliteStore.get_task`).
_TASKS_VERSION_AT = 8

#: After the version, the lock file holds one slot per store object that journals (pid, entries queued,
#: entries written), so a journal reader in any process can wait for every entry queued before its read.
_SLOT = struct.Struct("<QQQ")
_SLOTS = 256
_SLOTS_AT = 64
_LOCK_FILE_SIZE = _SLOTS_AT + _SLOTS * _SLOT.size
_COUNT = struct.Struct("<Q")
_QUEUED, _WRITTEN = 8, 16   # offsets of the two counts within a slot

#: Seconds a journal reader waits for other processes' queued entries (a wedged process must not hang it).
JOURNAL_BARRIER_SECONDS = 5.0

#: Seconds the journal writer lets entries gather after the first, so that one commit takes many: under load,
#: fewer and larger commits cost less CPU per served request, and each commit makes every other connection
#: (the other workers' submits) read its cached pages again. 10 ms served 9% more submits than 2 ms, and as
#: many polls (bench/README.md).
JOURNAL_GATHER_SECONDS = 0.010

#: Seconds between a journal writer thread's checkpoints (see the module notes): 6% more served submits than
#: SQLite's own checkpoints in the committing request, with the same tail latency (bench/README.md).
CHECKPOINT_SECONDS = 0.1
#: WAL pages past which a committing connection checkpoints itself (SQLite's default is 1000).
AUTO_CHECKPOINT_PAGES = 10_000

#: Parsed tasks kept per store (emptied when full): enough for the tasks a busy CI fleet polls at once.
TASK_CACHE_SIZE = 1024

_T = TypeVar("_T")
_PENDING = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Pending:
    """A thread's write, queued to be committed with the writes of other threads."""

    __slots__ = ("result", "tasks", "wake", "work")

    def __init__(self, work: Callable[[sqlite3.Connection], Any], tasks: bool) -> None:
        self.work = work
        self.tasks = tasks   # it may change tasks (see SqliteStore.get_task)
        self.result: Any = _PENDING
        # Held until the thread may go on: its write is committed, or the thread is to commit the queue.
        # One lock per write wakes exactly the threads that are done, where a shared condition woke all.
        self.wake = threading.Lock()
        self.wake.acquire()


class _JournalQueue:
    """Journal entries one store object has taken but not yet committed, and the thread that commits them.

    Every request writes an entry, and committing each one before answering cost a served poll more than
    all the rest of its work (threads handing the write lock and the GIL to each other, a transaction per
    handful of entries). Requests now only queue their entry; a writer thread commits whatever has queued
    in one transaction. :meth:`wait_for_all` gives readers what synchronous writes gave them: it returns once
    every entry queued before it was called, in any process, is committed. Each queue publishes its
    progress in a slot of the lock file, (pid, entries queued, entries written), for readers elsewhere."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = weakref.ref(store)
        self._entries: list[str] = []
        self._lock = threading.Lock()       # the entries, the queued count and the slot
        self._writing = threading.Lock()    # one commit at a time: the thread's, or a reader's own
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._slot: int | None = None       # where this queue's slot is in the lock file
        self._release: weakref.finalize[Any, Any] | None = None
        self._queued = self._written = 0
        self._closed = False

    def append(self, entry: str) -> None:
        with self._lock:
            if self._slot is None:
                self._slot = self._claim_slot()
            self._entries.append(entry)
            self._queued += 1
            _COUNT.pack_into(self._map(), self._slot + _QUEUED, self._queued)
            if self._thread is None:
                self._thread = threading.Thread(target=_write_queued_entries, args=(weakref.ref(self),),
                                                name="videomock-journal", daemon=True)
                self._thread.start()
        if not self._wake.is_set():   # set already: the writer is gathering, and will take this one too
            self._wake.set()

    def write_queued(self) -> None:
        """Commit what is queued now (also called by readers, for their own store's entries)."""
        with self._writing:
            with self._lock:
                entries, self._entries = self._entries, []
            store = self._store()
            if not entries or store is None:
                return
            try:
                store._write_journal(entries)
            except Exception as exc:  # the journal is a record, not state: log the loss, keep serving
                log.error("%d journal entries could not be written to %s: %s", len(entries), store.path, exc)
            self._written += len(entries)
            if self._slot is not None:
                _COUNT.pack_into(store._version_map, self._slot + _WRITTEN, self._written)

    def checkpoint(self) -> None:
        """The writer thread's checkpoint of its store, when one is due."""
        store = self._store()
        if store is not None:
            store._checkpoint()

    def wait_for_all(self) -> None:
        """Return once every entry queued before this call, by any process, is committed."""
        self.write_queued()
        store = self._store()
        if store is None:
            return
        slots = store._version_map
        behind = []   # (slot, pid, entries it had queued): the slots to wait for
        for at in _slot_offsets():
            pid, queued, written = _read_slot(slots, at)
            if pid and written < queued and at != self._slot:
                behind.append((at, pid, queued))
        deadline = time.monotonic() + JOURNAL_BARRIER_SECONDS
        while behind:
            if time.monotonic() > deadline:
                log.warning("journal entries queued by processes %s were not written within %s s",
                            sorted({pid for _, pid, _ in behind}), JOURNAL_BARRIER_SECONDS)
                return
            time.sleep(0.0002)   # another process's writer thread is committing; it takes one transaction
            behind = [(at, pid, queued) for at, pid, queued in behind if _still_behind(slots, at, pid, queued)]

    def close(self) -> None:
        """Write what is queued, then free the slot (in this order, so no count lands in a slot freed for
        another process)."""
        self.write_queued()
        self._closed = True
        self._wake.set()
        if self._release is not None:
            self._release()

    def _map(self) -> mmap.mmap:
        store = self._store()
        assert store is not None
        return store._version_map

    def _claim_slot(self) -> int:
        store = self._store()
        assert store is not None
        with store._writing():   # claims from several processes must not pick the same free slot
            for at in _slot_offsets():
                pid = _read_slot(store._version_map, at)[0]
                if pid == 0 or not _alive(pid):
                    _SLOT.pack_into(store._version_map, at, os.getpid(), 0, 0)
                    # Freed by close(), at exit after the last write, or when the queue is collected.
                    self._release = weakref.finalize(self, _release_slot, store._version_map, at, os.getpid())
                    self._release.atexit = False
                    return at
        raise StoreError(f"more than {_SLOTS} store objects journal into {os.fspath(store.path)!r} at once")



def _slot_offsets() -> range:
    return range(_SLOTS_AT, _LOCK_FILE_SIZE, _SLOT.size)


def _read_slot(slots: mmap.mmap, at: int) -> tuple[int, int, int]:
    """A consistent (pid, queued, written): read until two reads agree, as another process writes them."""
    while True:
        first = _SLOT.unpack_from(slots, at)
        if _SLOT.unpack_from(slots, at) == first:
            return first


def _still_behind(slots: mmap.mmap, at: int, pid: int, queued: int) -> bool:
    now_pid, _, written = _read_slot(slots, at)
    return now_pid == pid and written < queued and _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _release_slot(slots: mmap.mmap, at: int, pid: int) -> None:
    """Free a slot, only in the process that claimed it (a forked child's copy of a queue owns nothing)."""
    if os.getpid() == pid and not slots.closed and _read_slot(slots, at)[0] == pid:
        _SLOT.pack_into(slots, at, 0, 0, 0)


def _write_queued_entries(queue_ref: weakref.ref[_JournalQueue]) -> None:
    """The writer thread: commits whatever is queued whenever something is; ends with its store."""
    while True:
        queue = queue_ref()
        if queue is None or queue._closed:
            return
        wake = queue._wake
        del queue
        wake.wait(1.0)   # the timeout only lets the thread notice its store is gone
        time.sleep(JOURNAL_GATHER_SECONDS)
        wake.clear()
        queue = queue_ref()
        if queue is None:
            return
        queue.write_queued()
        queue.checkpoint()
        del queue


_open_stores: weakref.WeakSet[SqliteStore] = weakref.WeakSet()


@atexit.register
def _write_queued_at_exit() -> None:
    for store in list(_open_stores):
        store._journal.close()


def _after_fork_in_child() -> None:
    for store in list(_open_stores):
        store._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


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


def _drop_journal_rows(conn: sqlite3.Connection) -> None:
    """The journal kept one row per entry (table ``journal``) until it kept pages of them. A file written before
    then loses its old entries (the journal is a record, not state), and their size with them, which would
    otherwise count against the cap for ever. An earlier videomock opening the file makes the table again and
    counts into the same counters (and its reset leaves the pages): the pages go too, and the journal starts
    again from 1."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal'").fetchone():
        conn.execute("DROP TABLE journal")
        conn.execute("DELETE FROM journal_pages")
        conn.execute("DELETE FROM counters WHERE name IN (?, 'journal')", (_JOURNAL_BYTES,))


def _incremented(conn: sqlite3.Connection, counter: str, amount: int) -> int:
    value: int = conn.execute("INSERT INTO counters VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ? "
                              "RETURNING value", (counter, amount, amount)).fetchall()[0][0]
    return value


def _put_task(conn: sqlite3.Connection, task: Task, record: str) -> None:
    conn.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?)", (task.id, task.seq, task.owner, record))


class SqliteStore:
    """A :class:`~videomock.store.Store` in the SQLite file at ``path`` (created, with its folder, if
    missing). The journal keeps the newest ``journal_limit`` entries."""

    def __init__(self, path: str | os.PathLike[str], *, journal_limit: int = JOURNAL_MAX_ENTRIES,
                 journal_max_bytes: int = JOURNAL_MAX_BYTES) -> None:
        self.path = Path(path)
        self._journal_limit = journal_limit
        self._journal_max_bytes = journal_max_bytes
        self._idle: list[sqlite3.Connection] = []
        self._inherited: list[sqlite3.Connection] = []
        #: name -> (store version when read, stored text, parsed value, version of that text in this process)
        self._state_cache: dict[str, tuple[int, str | None, Any, int]] = {}
        self._task_cache: dict[str, tuple[int, str, Task]] = {}
        self._thread_write_lock = threading.Lock()
        self._group_lock = threading.Lock()
        self._group_queue: list[_Pending] = []
        self._group_writing = False   # a thread is committing; the queue waits for it
        self._journal = _JournalQueue(self)
        self._next_checkpoint = 0.0   # time.monotonic() of the journal writer's next checkpoint
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # The store holds the link-signing secret and key fingerprints: only its owner may read it.
            # SQLite gives its -wal and -shm files the database file's permissions.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            self._open_lock_file()
            self._create_schema()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StoreError(f"cannot use {os.fspath(self.path)!r} as a videomock store: {exc}") from None
        _open_stores.add(self)

    # --- connections and locking -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA wal_autocheckpoint={AUTO_CHECKPOINT_PAGES}")
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
    def _transaction(self, *, tasks: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction of several statements; with ``tasks``, one that may change tasks."""
        with self._writing() as conn, self._changing_tasks() if tasks else nullcontext(), _committed(conn):
            yield conn

    @contextmanager
    def _changing_tasks(self) -> Iterator[None]:
        """Around the commit of a write that may change tasks, under the write lock: the tasks' change number
        is odd until the commit is over, then even and new, so no process takes a Task it cached before as
        current (a writer killed half-way leaves it odd: nothing is taken from a cache until the next write)."""
        version = _COUNT.unpack_from(self._version_map, _TASKS_VERSION_AT)[0]
        settled = version + (version & 1)
        _COUNT.pack_into(self._version_map, _TASKS_VERSION_AT, settled + 1)
        try:
            yield
        finally:
            _COUNT.pack_into(self._version_map, _TASKS_VERSION_AT, settled + 2)

    def _grouped(self, work: Callable[[sqlite3.Connection], _T], *, tasks: bool = False) -> _T:
        """Run ``work`` in a write transaction, sharing it with the writes other threads have queued.
        Returns (or raises) what ``work`` did, once it is committed. The thread that finds no commit under
        way commits the queue; when it is done it hands that role to the first write queued meanwhile."""
        mine = _Pending(work, tasks)
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
                with self._transaction(tasks=batch[0].tasks) as conn:
                    batch[0].result = batch[0].work(conn)
            except BaseException as exc:
                batch[0].result = _Failed(exc)
            return
        try:
            with self._transaction(tasks=any(pending.tasks for pending in batch)) as conn:
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
        self._journal = _JournalQueue(self)   # the parent's queue, its entries and its slot stay the parent's

    def close(self) -> None:
        """Write queued journal entries, close idle connections and the version map. Only for tidy
        shutdowns and tests."""
        self._journal.close()
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
            conn.execute(_DROP_IMAGE_TABLE)
            conn.execute(_DROP_SEQ_INDEX)
            _drop_journal_rows(conn)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _open_lock_file(self) -> None:
        self._lock_fd = os.open(f"{self.path}-lock", os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._lock_fd).st_size < _LOCK_FILE_SIZE:
            os.ftruncate(self._lock_fd, _LOCK_FILE_SIZE)
        self._version_map = mmap.mmap(self._lock_fd, _LOCK_FILE_SIZE)

    # --- counters ------------------------------------------------------------------------------------

    def next_id(self, counter: str) -> int:
        return self.increment(counter, 1)

    def increment(self, counter: str, amount: int) -> int:
        return self._grouped(lambda conn: _incremented(conn, counter, amount))

    def counter(self, counter: str) -> int:
        rows = self._query("SELECT value FROM counters WHERE name = ?", (counter,))
        return rows[0][0] if rows else 0

    # --- tasks ---------------------------------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        record = dumps(task.to_record())
        self._grouped(lambda conn: _put_task(conn, task, record), tasks=True)

    def create_task(self, build: Callable[[int], Task]) -> Task:
        def work(conn: sqlite3.Connection) -> Task:
            task = build(_incremented(conn, "tasks", 1))
            _put_task(conn, task, dumps(task.to_record()))
            return task

        return self._grouped(work, tasks=True)

    def get_task(self, task_id: str) -> Task | None:
        """Polls read the same unchanged record over and over: its Task is kept (tasks are immutable, as the
        memory store's shared ones are) with the tasks' change number it was read at, and is taken as it is
        while no write that may change tasks has begun since, in any process. Otherwise the record is read
        again (a query each poll cost more than the rest of a poll's store work), and its Task is still kept
        while the text is the same. An earlier videomock writing tasks to the same file at the same time does
        not move the change number: serving one file from two versions at once is not supported."""
        version = _COUNT.unpack_from(self._version_map, _TASKS_VERSION_AT)[0]
        cached = self._task_cache.get(task_id)
        if cached is not None and cached[0] == version and not version & 1:
            return cached[2]
        rows = self._query("SELECT record FROM tasks WHERE id = ?", (task_id,))
        if not rows:
            return None
        record = rows[0][0]
        task = cached[2] if cached is not None and cached[1] == record else Task.from_record(loads(record))
        if len(self._task_cache) >= TASK_CACHE_SIZE:
            self._task_cache.clear()
        self._task_cache[task_id] = (version, record, task)
        return task

    def delete_task(self, task_id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,)).rowcount > 0

        deleted = self._grouped(work, tasks=True)
        self._task_cache.pop(task_id, None)
        return deleted

    def update_task(self, task_id: str, *, when: Callable[[Task], bool] | None = None, **changes: Any) -> Task | None:
        def work(conn: sqlite3.Connection) -> Task | None:
            row = conn.execute("SELECT record FROM tasks WHERE id = ?", (task_id,)).fetchone()
            if row is None:
                return None
            record = loads(row[0])
            stored = Task.from_record(record)
            if not changes or (when is not None and not when(stored)):
                return stored
            task = Task.from_record({**record, **changes})
            conn.execute("UPDATE tasks SET seq = ?, owner = ?, record = ? WHERE id = ?",
                         (task.seq, task.owner, dumps(task.to_record()), task_id))
            return task

        return self._grouped(work, tasks=True)

    def tasks(self, owner: str | None = None) -> list[Task]:
        if owner is None:
            rows = self._query("SELECT record FROM tasks ORDER BY seq")
        else:
            rows = self._query("SELECT record FROM tasks WHERE owner = ? ORDER BY seq", (owner,))
        return [Task.from_record(loads(record)) for (record,) in rows]

    # --- journal -------------------------------------------------------------------------------------

    def append_journal(self, entry: dict[str, Any]) -> None:
        """Queue the entry; this process's journal writer commits it within a moment (see the module notes).
        Reads of the journal, here or in any process, first wait for every entry queued before them."""
        self._journal.append(dumps(entry))

    def journal(self) -> list[dict[str, Any]]:
        self._journal.wait_for_all()
        pages, wanted = [], self._journal_limit
        conn = self._checkout()
        cursor = conn.execute("SELECT first_seq, entries FROM journal_pages ORDER BY first_seq DESC")
        try:
            for first, text in cursor:   # newest first, only as many pages as the limit needs
                pages.append((first, text.split("\n")))
                wanted -= len(pages[-1][1])
                if wanted <= 0:
                    break
        finally:
            cursor.close()   # ends the read transaction before the connection goes back to the pool
            self._idle.append(conn)
        entries = [{**loads(entry), "seq": first + n} for first, texts in reversed(pages) for n, entry in enumerate(texts)]
        return entries[-self._journal_limit:]

    def _checkpoint(self) -> None:
        """Copy the WAL's committed pages into the database file, if ``CHECKPOINT_SECONDS`` have passed since
        the last time (the journal writer thread's; see the module notes)."""
        now = time.monotonic()
        if now < self._next_checkpoint:
            return
        self._next_checkpoint = now + CHECKPOINT_SECONDS
        conn = self._checkout()
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:   # a committing connection still checkpoints past its threshold
            log.warning("checkpoint of %s failed: %s", self.path, exc)
        finally:
            self._idle.append(conn)

    def _write_journal(self, entries: list[str]) -> None:
        """Commit queued entries in one transaction, as one page: its entries' seq numbers run on from the
        ``journal`` counter (which starts again at 1 after a reset, as the memory store's does). Entries a
        page could not keep within the caps on its own are numbered but never written."""
        with self._transaction() as conn:
            last = _incremented(conn, "journal", len(entries))
            kept = self._within_caps(entries)
            first = last - len(kept) + 1
            text = "\n".join(kept)   # JSON text holds no raw newline
            conn.execute("INSERT INTO journal_pages VALUES (?, ?, ?)", (first, len(kept), text))
            size = _incremented(conn, _JOURNAL_BYTES, len(text))
            if last // JOURNAL_PRUNE_EVERY != (last - len(entries)) // JOURNAL_PRUNE_EVERY:
                size = self._drop_pages(conn, "first_seq + count - 1 <= ?", last - self._journal_limit)
            if size > self._journal_max_bytes:
                # Drop the oldest pages until a tenth of the cap is free, so this runs once per many writes.
                keep = self._journal_max_bytes * 9 // 10
                rows = conn.execute("SELECT first_seq FROM (SELECT first_seq, SUM(length(entries)) OVER "
                                    "(ORDER BY first_seq DESC) AS kept FROM journal_pages) WHERE kept > ? "
                                    "ORDER BY first_seq DESC LIMIT 1", (keep,)).fetchall()
                if rows:
                    self._drop_pages(conn, "first_seq <= ?", min(rows[0][0], first - 1))

    def _within_caps(self, entries: list[str]) -> list[str]:
        """The newest of ``entries`` that the journal's caps let one page keep (at least one)."""
        kept = entries[-self._journal_limit:]
        size = 0
        for n in range(len(kept) - 1, -1, -1):
            size += len(kept[n])
            if size > self._journal_max_bytes and n < len(kept) - 1:
                return kept[n + 1:]
        return kept

    @staticmethod
    def _drop_pages(conn: sqlite3.Connection, condition: str, bound: int) -> int:
        """Delete the pages that meet ``condition``, taking their length off the size counter (only the
        deleted rows are read); returns the journal's size left."""
        dropped: int = conn.execute(f"SELECT COALESCE(SUM(length(entries)), 0) FROM journal_pages WHERE {condition}",
                                    (bound,)).fetchone()[0]
        conn.execute(f"DELETE FROM journal_pages WHERE {condition}", (bound,))
        return _incremented(conn, _JOURNAL_BYTES, -dropped)

    # --- webhook deliveries --------------------------------------------------------------------------

    def add_deliveries(self, records: list[dict[str, Any]]) -> None:
        rows = [(r["id"], r["due"], r["rank"], r["state"], dumps(r)) for r in records]
        self._grouped(lambda conn: conn.executemany("INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?, ?, ?)", rows))

    def update_delivery(self, delivery_id: str, *, when: Callable[[dict[str, Any]], bool] | None = None,
                        **changes: Any) -> dict[str, Any] | None:
        def work(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute("SELECT record FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            if row is None:
                return None
            record: dict[str, Any] = loads(row[0])
            if when is not None and not when(record):
                return record
            record = {**record, **changes}
            conn.execute("UPDATE deliveries SET due = ?, rank = ?, state = ?, record = ? WHERE id = ?",
                         (record["due"], record["rank"], record["state"], dumps(record), delivery_id))
            return record

        return self._grouped(work)

    def get_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT record FROM deliveries WHERE id = ?", (delivery_id,))
        return loads(rows[0][0]) if rows else None

    def deliveries(self, *, state: str | None = None, due_by: float | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        if due_by is not None:
            clauses.append("due <= ?")
            params.append(due_by)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(f"SELECT record FROM deliveries{where} ORDER BY due, rank LIMIT ?",
                           (*params, -1 if limit is None else limit))
        return [loads(record) for (record,) in rows]

    # --- named state ---------------------------------------------------------------------------------

    def get_state(self, name: str) -> Any:
        cached = self._state_cache.get(name)
        if cached is not None and cached[0] == _VERSION.unpack_from(self._version_map)[0]:
            return cached[2]   # the common case, read on every request: kept to one lookup and one load
        return self.versioned_state(name)[1]

    def versioned_state(self, name: str) -> tuple[int | None, Any]:
        """The version is the store's change number at which this process first read the current text:
        it moves only when this value does, not on every change of other state (the clock's, say)."""
        version = _VERSION.unpack_from(self._version_map)[0]
        cached = self._state_cache.get(name)
        if cached is not None and cached[0] == version:
            return cached[3], cached[2]
        rows = self._query("SELECT value FROM state WHERE name = ?", (name,))
        raw = rows[0][0] if rows else None
        if cached is not None and cached[1] == raw:
            value, seen = cached[2], cached[3]   # unchanged: the same object and version
        else:
            value, seen = (None if raw is None else loads(raw)), version
        if version % 2:   # odd: a change is being committed, or its writer died before publishing
            return None, value
        self._state_cache[name] = (version, raw, value, seen)
        return seen, value

    def set_state(self, name: str, value: Any) -> None:
        raw = dumps(value)
        with self._state_change() as conn:
            conn.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (name, raw))

    def compare_and_set_state(self, name: str, expected: Any, value: Any) -> bool:
        want = None if expected is None else dumps(expected)
        with self._state_change() as conn:
            rows = conn.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchall()
            current = rows[0][0] if rows else None
            if (current if current is None else dumps(loads(current))) != want:
                return False
            if value is None:
                conn.execute("DELETE FROM state WHERE name = ?", (name,))
            else:
                conn.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (name, dumps(value)))
            return True

    @contextmanager
    def _state_change(self, *, tasks: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction that changes named state (and with ``tasks``, may change tasks). Change ``n`` publishes
        ``2n - 1`` before its commit and ``2n`` after, both under the write lock; readers cache nothing under an
        odd version, so a writer killed between commit and publication leaves caching off (until the next
        change) instead of stale."""
        with self._writing() as conn, self._changing_tasks() if tasks else nullcontext():
            with _committed(conn):
                yield conn
                change = conn.execute("UPDATE state_version SET value = value + 1 RETURNING value").fetchall()[0][0]
                _VERSION.pack_into(self._version_map, 0, 2 * change - 1)
            _VERSION.pack_into(self._version_map, 0, 2 * change)

    # --- reset ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        self._journal.wait_for_all()   # entries of requests answered before the reset are not left to reappear
        kept = sorted(KEPT_ON_RESET)
        with self._state_change(tasks=True) as conn:
            for table in ("tasks", "counters", "journal_pages", "deliveries"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute(f"DELETE FROM state WHERE name NOT IN ({', '.join('?' * len(kept))})", kept)
