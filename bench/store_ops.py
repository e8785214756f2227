"""Per-operation cost of each store, and the store work of one poll under concurrent threads.

Run: .venv/bin/python bench/store_ops.py [--threads 8]

A poll costs the store one ``get_task``, about four ``get_state`` reads (config and clock) and one
``append_journal``; the last table runs exactly that from several threads at once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videomock.config import check_config
from videomock.core.tasks import Task
from videomock.store import Store
from videomock.store.memory import MemoryStore
from videomock.store.sqlite import SqliteStore

POLL_BODY = {"task_id": "task_0123456789abcdef", "status": "in_progress", "progress": 42, "url": None,
             "format": "mp4", "metadata": {"duration": 5, "fps": 30, "width": 1280, "height": 720, "seed": 1234},
             "error": None, "model": "kling-v2-5-turbo", "created_at": 1764000000, "completed_at": None}
JOURNAL_ENTRY = {"time": 1764000000.0, "virtual_time": 1764000000.0, "method": "GET",
                 "path": "/v1/video/generations/task_0123456789abcdef", "query": "", "status": 200,
                 "key": "key_0123456789abcdef", "task_id": "task_0123456789abcdef", "request_body": None,
                 "response_body": POLL_BODY, "fault": None, "duration_ms": 0.5}


def sample_task(seq: int) -> Task:
    return Task(id=f"task_{seq:016x}", seq=seq, owner="key_0123456789abcdef", model="kling-v2-5-turbo",
                params={"model": "kling-v2-5-turbo", "prompt": "An astronaut walking on the Moon", "duration": 5,
                        "width": 1280, "height": 720, "fps": 30, "seed": 1234},
                created_at=1764000000.0, queue_seconds=2.0, render_seconds=60.0, video_key="k" * 64)


def per_call_us(operation: Callable[[int], Any], calls: int) -> float:
    """Median over five rounds of the mean time per call, in microseconds."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for i in range(calls):
            operation(i)
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(rounds)


def operations(store: Store) -> dict[str, Callable[[int], Any]]:
    store.set_state("config", check_config({}))
    store.set_state("clock", {"mode": "speed", "speed": 30.0, "anchor_real": 0.0, "anchor_virtual": 0.0})
    for seq in range(1, 1001):
        store.add_task(sample_task(seq))
    return {
        "get_task": lambda i: store.get_task(f"task_{i % 1000 + 1:016x}"),
        "get_state": lambda i: store.get_state("config"),
        "append_journal": lambda i: store.append_journal(JOURNAL_ENTRY),
        "next_id": lambda i: store.next_id("bench"),
        "add_task": lambda i: store.add_task(sample_task(10_000 + i)),
        "update_task": lambda i: store.update_task(f"task_{i % 1000 + 1:016x}", rendered=i % 2 == 0),
        "set_state": lambda i: store.set_state("clock", {"mode": "speed", "speed": 30.0, "anchor_real": float(i),
                                                         "anchor_virtual": 0.0}),
    }


def poll_store_work(store: Store, i: int) -> None:
    store.get_state("config")
    store.get_task(f"task_{i % 1000 + 1:016x}")
    store.get_state("clock")
    store.get_state("config")
    store.get_state("clock")
    store.append_journal(JOURNAL_ENTRY)


def polls_per_second(store: Store, threads: int, seconds: float = 2.0) -> float:
    done = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(slot: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            poll_store_work(store, i)
            i += 1
        done[slot] = i

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stores: dict[str, Store] = {"memory": MemoryStore(), "sqlite": SqliteStore(Path(tmp) / "bench.db")}
        table = {name: {op: per_call_us(fn, args.calls) for op, fn in operations(store).items()}
                 for name, store in stores.items()}
        print(f"{'operation (us per call)':24}" + "".join(f"{name:>10}" for name in stores))
        for op in table["memory"]:
            print(f"{op:24}" + "".join(f"{table[name][op]:10.2f}" for name in stores))
        print("\nstore work of one poll (get_task, 4 x get_state, append_journal), polls/s")
        print(f"{'threads':24}" + "".join(f"{name:>10}" for name in stores))
        for threads in sorted({1, args.threads}):
            print(f"{threads:<24}" + "".join(f"{polls_per_second(store, threads):10.0f}" for store in stores.values()))


if __name__ == "__main__":
    main()
