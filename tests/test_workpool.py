"""The thread pool of ``videomock serve``'s workers: requests compute one at a time, in the order they came,
and a request that waits (marked by the app, or found by the watchdog) lets the next one go on."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from videomock.core.waits import waiting
from videomock.serving.workpool import WorkPool

#: Seconds a test waits for something that should happen at once before it counts as a failure.
DEADLINE = 10.0


def test_queued_work_runs_one_at_a_time_in_the_order_it_was_submitted() -> None:
    """With eight threads, a plain thread pool would run these together in any order."""
    started, release = [], threading.Event()
    running, most_running = [0], [0]
    lock = threading.Lock()

    def work(n: int) -> None:
        with lock:
            started.append(n)
            running[0] += 1
            most_running[0] = max(most_running[0], running[0])
        if n == 0:
            assert release.wait(DEADLINE)   # everything else is queued behind this one meanwhile
        with lock:
            running[0] -= 1

    with WorkPool(8, patience=60) as pool:
        futures = [pool.submit(work, n) for n in range(30)]
        release.set()
        for future in futures:
            future.result(DEADLINE)
    assert started == list(range(30))
    assert most_running[0] == 1


def test_a_marked_wait_gives_the_turn_to_the_next_request() -> None:
    """A delay fault's sleep is marked: the request behind it runs during the sleep, not after it."""
    second_ran = threading.Event()

    def delayed() -> bool:
        with waiting():
            return second_ran.wait(DEADLINE)   # the watchdog would take 60 s to step in

    with WorkPool(8, patience=60) as pool:
        first = pool.submit(delayed)
        second = pool.submit(second_ran.set)
        assert first.result(DEADLINE + 1) is True
        second.result(DEADLINE)


def test_an_unmarked_wait_is_found_by_the_watchdog_after_its_patience() -> None:
    """A client that stops half-way through its body blocks a request where the app cannot mark it."""
    second_ran = threading.Event()
    began: dict[str, float] = {}

    def stalled() -> bool:
        began["stalled"] = time.monotonic()
        return second_ran.wait(DEADLINE)

    def second() -> None:
        began["second"] = time.monotonic()
        second_ran.set()

    with WorkPool(8, patience=0.05) as pool:
        first = pool.submit(stalled)
        pool.submit(second).result(DEADLINE)
        assert first.result(DEADLINE) is True
    assert began["second"] - began["stalled"] >= 0.045   # the turn began a moment before "stalled" ran


def test_work_waits_for_a_free_thread_when_every_thread_is_waiting() -> None:
    """``--threads`` still caps the requests a worker holds, delayed ones included."""
    second_started = threading.Event()

    def delayed() -> bool:
        with waiting():
            return second_started.wait(0.5)   # set within 0.5 s only if a second thread were taken

    with WorkPool(1, patience=0.01) as pool:
        first = pool.submit(delayed)
        second = pool.submit(second_started.set)
        assert first.result(DEADLINE) is False
        second.result(DEADLINE)


def test_a_request_that_raises_leaves_the_pool_serving() -> None:
    def fail() -> None:
        raise ValueError("broken request")

    with WorkPool(2) as pool:
        with pytest.raises(ValueError, match="broken request"):
            pool.submit(fail).result(DEADLINE)
        assert pool.submit(lambda: 42).result(DEADLINE) == 42


def test_shutdown_runs_queued_work_unless_told_to_cancel_it() -> None:
    release = threading.Event()

    def hold(started: threading.Event) -> bool:
        started.set()
        return release.wait(DEADLINE)

    futures = {}
    for cancel in (False, True):
        pool, started = WorkPool(1, patience=60), threading.Event()
        holding = pool.submit(hold, started)
        assert started.wait(DEADLINE)
        queued = [pool.submit(lambda n=n: n) for n in range(3)]
        pool.shutdown(wait=False, cancel_futures=cancel)
        futures[cancel] = holding, queued
        with pytest.raises(RuntimeError, match="shut down"):
            pool.submit(print)
    release.set()
    (holding, queued), (holding_cancelled, cancelled) = futures[False], futures[True]
    assert holding.result(DEADLINE) is True and [f.result(DEADLINE) for f in queued] == [0, 1, 2]
    assert holding_cancelled.result(DEADLINE) is True and all(f.cancelled() for f in cancelled)


def test_work_left_queued_by_a_thread_woken_too_late_is_still_found_by_the_watchdog() -> None:
    """A request ends a short marked wait and computes on without a mark. The thread woken for the next
    request during that wait finds the turn taken again, so the watchdog must watch that turn."""
    for _ in range(30):
        next_ran = threading.Event()

        def brief_wait_then_stall(next_ran: threading.Event = next_ran) -> bool:
            with waiting():
                pass
            return next_ran.wait(DEADLINE)

        with WorkPool(8, patience=0.01) as pool:
            pool.submit(lambda: None).result(DEADLINE)   # leaves an idle thread to be woken
            first = pool.submit(brief_wait_then_stall)
            pool.submit(next_ran.set)
            assert first.result(DEADLINE + 1) is True


@pytest.mark.parametrize("seed", range(20))
def test_a_mixed_load_completes_while_requests_block_unmarked(seed: int) -> None:
    """Quick requests, marked waits and requests blocked without a mark (fewer than the threads), submitted
    from four threads at once: every request that does not block completes while the others still block."""
    rnd = random.Random(seed)
    threads = rnd.choice([2, 4, 8])
    release = threading.Event()

    def block(brief_wait_first: bool) -> None:
        if brief_wait_first:
            with waiting():
                pass
        release.wait(DEADLINE)

    def marked_wait(seconds: float) -> None:
        with waiting():
            time.sleep(seconds)   # stands for a delay fault's sleep

    blockers = threads - 1
    plans: list[list[tuple[Callable[..., Any], Any]]] = [[] for _ in range(4)]
    for plan in plans:
        for _ in range(60):
            draw = rnd.random()
            if draw < 0.04 and blockers:
                plan.append((block, rnd.random() < 0.5))
                blockers -= 1
            elif draw < 0.2:
                plan.append((marked_wait, draw / 100))
            else:
                plan.append((sum, range(int(draw * 3000))))
    with WorkPool(threads, turns=rnd.choice([1, 2]), patience=0.005) as pool:
        submitted: list[tuple[Callable[..., Any], Future[Any]]] = []

        def submit_plan(plan: list[tuple[Callable[..., Any], Any]]) -> None:
            submitted.extend((fn, pool.submit(fn, arg)) for fn, arg in plan)

        producers = [threading.Thread(target=submit_plan, args=(plan,)) for plan in plans]
        for producer in producers:
            producer.start()
        for producer in producers:
            producer.join()
        try:
            for fn, future in submitted:
                if fn is not block:
                    future.result(DEADLINE)
        finally:
            release.set()
