"""A real ``videomock serve`` process killed with SIGKILL and started again on the same store: every task it
accepted completes and downloads, and ids carry on instead of starting over."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_server.sqlite_store import SqliteStore, default_store_path

DEADLINE = 30.0
HEADERS = {"Authorization": "Bearer sk-restart"}
REQUESTS = [
    {"model": "kling-v2-5-turbo", "prompt": "a lighthouse", "duration": 5, "width": 1280, "height": 720, "fps": 24},
    {"model": "veo_3_1-fast", "prompt": "a harbour", "duration": 4, "width": 720, "height": 1280},
    {"model": "veo_3_1", "prompt": "a storm", "duration": 6},
]


@contextmanager
def serve(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``videomock serve`` on a free port; yields the process and its URL once it listens."""
    process = subprocess.Popen([sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", "--quiet", *args],
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    try:
        deadline = time.monotonic() + DEADLINE
        while (found := re.search(r"serving on (http://\S+)", lines.get(timeout=deadline - time.monotonic()))) is None:
            pass
        yield process, found.group(1)
    finally:
        process.kill()
        process.wait(DEADLINE)


def poll_until_finished(url: str, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        task = requests.get(f"{url}/v1/video/generations/{task_id}", headers=HEADERS, timeout=DEADLINE).json()
        if task["status"] in ("completed", "failed"):
            return task
    raise AssertionError(f"{task_id} did not finish within {DEADLINE} s: {task}")


def test_tasks_accepted_before_sigkill_complete_after_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("VIDEOMOCK_CACHE_DIR", str(tmp_path / "videos"))
    with serve("--clock", "manual") as (first, url):   # the first run uses the default store
        ids = [requests.post(f"{url}/v1/video/generations", json=body, headers=HEADERS, timeout=DEADLINE).json()["task_id"]
               for body in REQUESTS]
        assert {requests.get(f"{url}/v1/video/generations/{i}", headers=HEADERS, timeout=DEADLINE).json()["status"]
                for i in ids} == {"queued"}
        first.send_signal(signal.SIGKILL)
        first.wait(DEADLINE)

    store_file = default_store_path()
    assert store_file == tmp_path / "state" / "videomock" / "store.db" and store_file.is_file()
    with serve("--store", str(store_file), "--clock", "speed", "--speed", "1000") as (_, url):
        for task_id in ids:
            assert poll_until_finished(url, task_id)["status"] == "completed"
            video = requests.get(f"{url}/v1/videos/{task_id}/content", headers=HEADERS, timeout=DEADLINE)
            assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
            assert video.content[4:8] == b"ftyp"
        later = requests.post(f"{url}/v1/video/generations", json=REQUESTS[0], headers=HEADERS, timeout=DEADLINE)
        assert later.json()["task_id"] not in ids

    journal = SqliteStore(store_file).journal()
    submits = [e for e in journal if e["method"] == "POST"]
    assert [e["response_body"]["task_id"] for e in submits[:3]] == ids
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
