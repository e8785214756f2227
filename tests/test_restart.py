"""A real ``videomock serve`` killed with SIGKILL and started again on the same store: every task it accepted
completes and downloads, and ids carry on instead of starting over; with several workers too, killed together
while submissions are still arriving."""

from __future__ import annotations

import queue
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.serve_process import DEADLINE, serve
from videomock.config import default_store_path
from videomock.store.sqlite import SqliteStore

HEADERS = {"Authorization": "Bearer sk-restart"}
REQUESTS = [
    {"model": "kling-v2-5-turbo", "prompt": "a lighthouse", "duration": 5, "width": 1280, "height": 720, "fps": 24},
    {"model": "veo_3_1-fast", "prompt": "a harbour", "duration": 4, "width": 720, "height": 1280},
    {"model": "veo_3_1", "prompt": "a storm", "duration": 6},
]


def poll_until_finished(url: str, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        task = requests.get(f"{url}/v1/video/generations/{task_id}", headers=HEADERS, timeout=DEADLINE).json()
        if task["status"] in ("completed", "failed"):
            return task
    raise AssertionError(f"{task_id} did not finish within {DEADLINE} s: {task}")


def assert_completes_and_downloads(url: str, task_id: str) -> None:
    assert poll_until_finished(url, task_id)["status"] == "completed"
    video = requests.get(f"{url}/v1/videos/{task_id}/content", headers=HEADERS, timeout=DEADLINE)
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


def test_tasks_accepted_before_sigkill_complete_after_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("VIDEOMOCK_CACHE_DIR", str(tmp_path / "videos"))
    with serve("--clock", "manual") as first:   # the first run uses the default store
        url = first.url
        ids = [requests.post(f"{url}/v1/video/generations", json=body, headers=HEADERS, timeout=DEADLINE).json()["task_id"]
               for body in REQUESTS]
        assert {requests.get(f"{url}/v1/video/generations/{i}", headers=HEADERS, timeout=DEADLINE).json()["status"]
                for i in ids} == {"queued"}
        first.kill()

    store_file = default_store_path("127.0.0.1", first.port)
    assert store_file == tmp_path / "state" / "videomock" / f"store-127.0.0.1-{first.port}.db"
    assert store_file.is_file()
    with serve("--store", str(store_file), "--clock", "speed", "--speed", "1000") as second:
        url = second.url
        for task_id in ids:
            assert_completes_and_downloads(url, task_id)
        later = requests.post(f"{url}/v1/video/generations", json=REQUESTS[0], headers=HEADERS, timeout=DEADLINE)
        assert later.json()["task_id"] not in ids

    journal = SqliteStore(store_file).journal()
    journaled = [e["response_body"]["task_id"] for e in journal if e["method"] == "POST"]
    # A kill -9 may cost the journal its last ten milliseconds of entries (README, "The store"), never a
    # task: what the first run journaled is its oldest submits, in order, and the numbering has no gap.
    before_kill = [task_id for task_id in journaled if task_id in ids]
    assert before_kill == ids[:len(before_kill)]
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))


def test_tasks_acknowledged_before_all_workers_are_killed_complete_after_restart(tmp_path: Path) -> None:
    """The master and both workers get SIGKILL together while four clients are still submitting."""
    serving = ("--workers", "2", "--store", str(tmp_path / "store.db"), "--cache-dir", str(tmp_path / "videos"))
    acknowledged: queue.Queue[str] = queue.Queue()
    answered: list[list[str]] = [[] for _ in range(4)]   # each client's acknowledged task ids, in order

    def submit_until_refused(body: dict[str, Any], url: str, mine: list[str]) -> None:
        with requests.Session() as session:
            while True:
                try:
                    response = session.post(f"{url}/v1/video/generations", json=body, headers=HEADERS, timeout=DEADLINE)
                except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                    return   # the server is gone
                mine.append(response.json()["task_id"])
                acknowledged.put(mine[-1])

    with serve(*serving, "--clock", "speed", "--speed", "1") as first, ThreadPoolExecutor(4) as clients:
        submitting = [clients.submit(submit_until_refused, REQUESTS[i % len(REQUESTS)], first.url, answered[i])
                      for i in range(4)]
        for _ in range(24):
            acknowledged.get(timeout=DEADLINE)
        first.kill()
        for client in submitting:
            client.result()
    ids = [task_id for mine in answered for task_id in mine]
    assert len(set(ids)) == len(ids)

    with serve(*serving, "--clock", "speed", "--speed", "1000") as second:
        for task_id in ids:
            assert_completes_and_downloads(second.url, task_id)
    store = SqliteStore(tmp_path / "store.db")
    journaled = {e["task_id"] for e in store.journal() if e["method"] == "POST"}
    # Journal entries are committed a moment after the answer: a SIGKILL loses those still queued, never a
    # task. They are each worker's newest, so what a client's connection journaled is its oldest submits.
    assert journaled <= {t.id for t in store.tasks()}
    for mine in answered:
        kept = [task_id for task_id in mine if task_id in journaled]
        assert kept == mine[:len(kept)]
