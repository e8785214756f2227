"""The threads that serve a ``videomock serve`` worker's requests, and the turns they compute in.

gunicorn's gthread worker runs each request on a thread from a pool (``--threads``, 8 by default). A worker's
Python runs on one core at a time (one interpreter lock), so eight requests computing at once finish no
sooner than one after another would: they take turns at the lock in no set order, and a request that loses
several turns in a row waits for many that arrived after it. That set the tail latency of a busy server
(bench/README.md: p50 2.5 ms but p99 10-15 ms at 16 connections over 2 workers, worse the more of them one
worker had). In this pool a request computes only in its turn, turns go in arrival order, and a request
waits for those ahead of it and no others.

The threads are still needed, for requests that wait rather than compute: a fault's delay, a dribbled body,
a render. Such a request gives its turn to the next one and keeps only its thread. The app marks the waits
it knows of with :func:`videomock.core.waits.waiting`. Those it cannot see (a client that stops half-way through sending its body,
or reads a download slowly; a lock held by another process) are found by a watchdog: a request that has had
the turn for :data:`PATIENCE_SECONDS` is taken to be waiting, and the next one gets a turn too.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from videomock.core.waits import scheduled_by

#: Requests of one worker process that compute at once. With one interpreter lock, more would only
#: interleave; the bench measured 1 and 2 alike for throughput, and 1 with the shorter tail.
TURNS = 1

#: Seconds a request keeps its turn before it is taken to be waiting on something unmarked. A poll
#: computes for a fraction of a millisecond and a submit for about one; anything longer is waiting.
PATIENCE_SECONDS = 0.02

class _Work:
    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.future: Future[Any] = Future()
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # as ThreadPoolExecutor: the caller sees it through the future
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)


class WorkPool(Executor):
    """An executor for gunicorn's gthread worker (its ``get_thread_pool``): up to ``threads`` threads, of
    which ``turns`` compute at once, the queued work started in the order it was submitted."""

    _names = itertools.count(1)

    def __init__(self, threads: int, *, turns: int = TURNS, patience: float = PATIENCE_SECONDS) -> None:
        if threads < 1 or turns < 1:
            raise ValueError("a WorkPool needs at least one thread and one turn")
        self._max_threads = threads
        self._turns = turns
        self._patience = patience
        lock = threading.Lock()
        self._work_ready = threading.Condition(lock)   # idle threads wait here
        self._turn_overdue = threading.Condition(lock)   # the watchdog waits here
        self._queue: deque[_Work] = deque()
        self._computing: dict[int, float] = {}   # thread ident -> when its turn began (time.monotonic)
        self._threads: list[threading.Thread] = []
        self._idle = 0      # threads waiting for work that nobody has woken
        self._waking = 0    # threads woken (or started) for queued work that have not yet looked at it
        self._watchdog: threading.Thread | None = None
        self._watchdog_asleep = False   # waiting without a timeout, because nothing waited for a turn
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        work = _Work(fn, args, kwargs)
        with self._work_ready:
            if self._closed:
                raise RuntimeError("cannot submit to a WorkPool that is shut down")
            self._queue.append(work)
            self._hand_out()
        return work.future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Work already queued still runs unless ``cancel_futures``; ``wait`` joins every thread."""
        with self._work_ready:
            self._closed = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft().future.cancel()
            self._waking += self._idle
            self._idle = 0
            self._work_ready.notify_all()
            self._turn_overdue.notify_all()
        while wait:
            with self._work_ready:
                running = [t for t in [*self._threads, self._watchdog] if t is not None and t.is_alive()]
            for thread in running:
                thread.join()
            wait = bool(running)

    def _hand_out(self) -> None:
        """Wake or start a thread for each queued piece of work that has a free turn; the rest wait, and the
        watchdog watches the turns they wait for. Called with the lock held."""
        while len(self._queue) > self._waking and len(self._computing) + self._waking < self._turns:
            if self._idle:
                self._idle -= 1
                self._work_ready.notify()
            elif len(self._threads) < self._max_threads:
                self._threads.append(self._start(self._serve, "request"))
            else:
                break   # every thread is busy (waiting, most likely): the first one free takes the work
            self._waking += 1
        self._watch_waiting_work()

    def _watch_waiting_work(self) -> None:
        """Wake the watchdog if queued work has no thread coming for it. Called with the lock held, whenever
        that may have become so: work was queued, or a thread woken for it found the turn taken again."""
        if len(self._queue) > self._waking:
            if self._watchdog is None:
                self._watchdog = self._start(self._watch, "watchdog")
            elif self._watchdog_asleep:
                self._watchdog_asleep = False
                self._turn_overdue.notify()

    def _start(self, target: Callable[[], None], role: str) -> threading.Thread:
        # Daemon threads, so that a request still sleeping in a delay fault does not hold up the worker's exit
        # once gunicorn's graceful timeout is over.
        thread = threading.Thread(target=target, name=f"videomock-{role}-{next(self._names)}", daemon=True)
        thread.start()
        return thread

    def _serve(self) -> None:
        """A thread's life: take queued work while a turn is free, else wait to be woken for some."""
        scheduled_by(self)
        me = threading.get_ident()
        with self._work_ready:
            while True:
                self._waking -= 1   # started or woken for work; this looks at it now
                while self._queue and len(self._computing) < self._turns:
                    work = self._queue.popleft()
                    self._computing[me] = time.monotonic()
                    self._work_ready.release()
                    try:
                        work.run()
                    finally:
                        self._work_ready.acquire()
                        self._computing.pop(me, None)
                if self._closed:
                    self._threads.remove(threading.current_thread())
                    return
                self._watch_waiting_work()   # woken too late: a request took its turn back meanwhile
                self._idle += 1
                self._work_ready.wait()

    def _watch(self) -> None:
        """The watchdog: while work waits for a turn, take a turn held for ``patience`` to be waiting."""
        with self._turn_overdue:
            while not self._closed:
                if len(self._queue) <= self._waking:
                    self._watchdog_asleep = True
                    self._turn_overdue.wait()
                    continue
                now = time.monotonic()
                for ident, since in list(self._computing.items()):
                    if now - since >= self._patience:
                        del self._computing[ident]
                self._hand_out()   # the turns just freed, and any other free one
                if len(self._queue) > self._waking:   # no turn free: until the oldest one is overdue
                    oldest = min(self._computing.values(), default=now)
                    self._turn_overdue.wait(oldest + self._patience - now)

    def give_up_turn(self) -> None:
        with self._work_ready:
            if self._computing.pop(threading.get_ident(), None) is not None:
                self._hand_out()

    def resume(self) -> None:
        """After a wait the request computes again at once, even if that makes one turn too many for a
        moment: queueing it behind later requests would add their time to one that has already waited."""
        with self._work_ready:
            self._computing[threading.get_ident()] = time.monotonic()
