"""Regression tests for the trust findings that are not about hostile connections (those are in
test_hostile_clients.py): secrets, the journal's size, idempotency after a crash, timestamps, and limits
that must not depend on how long a render takes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Fake
from videomock import create_app
from videomock.contracts.media import ffmpeg_executable
from videomock.core.backend import VideoBackend
from videomock.core.idempotency import process_start
from videomock.core.journal import TRUNCATED
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer
from videomock.store.memory import MemoryStore
from videomock.store.sqlite import SqliteStore

BODY = {"model": "veo_3_1", "prompt": "a lighthouse", "duration": 4}


def _submit(fake: Fake, body: dict, **headers: str) -> requests.Response:
    return fake.session().post(f"{fake.url}/v1/video/generations", json=body, headers=headers, timeout=10)


# --- secrets ----------------------------------------------------------------------------------------------------

def test_the_config_keeps_and_shows_only_fingerprints_of_keys_and_tokens(fake: Fake) -> None:
    changed = requests.patch(f"{fake.url}/__admin/config", timeout=10, json={
        "auth": {"api_keys": ["sk-test", "sk-second"]},
        "faults": [{"key": "sk-second", "action": {"type": "http_error", "status": 429}}]})
    shown = requests.get(f"{fake.url}/__admin/config", timeout=10).text
    assert changed.ok and "sk-test" not in changed.text + shown and "sk-second" not in shown
    config = json.loads(shown)
    assert all(key.startswith("key_") for key in config["auth"]["api_keys"])
    assert _submit(fake, BODY).ok                                            # the key still works
    assert fake.session("sk-second").post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10).status_code == 429
    assert fake.session("sk-unknown").post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10).status_code == 401
    assert requests.put(f"{fake.url}/__admin/config", json=config, timeout=10).json() == config   # round trip


def test_an_admin_token_opens_the_admin_api_and_is_never_shown(fake: Fake) -> None:
    requests.patch(f"{fake.url}/__admin/config", json={"auth": {"admin_token": "tok-secret"}}, timeout=10)
    try:
        assert requests.get(f"{fake.url}/__admin/config", timeout=10).status_code == 401
        shown = requests.get(f"{fake.url}/__admin/config", headers={"Authorization": "Bearer tok-secret"}, timeout=10)
        assert shown.ok and "tok-secret" not in shown.text and shown.json()["auth"]["admin_token"].startswith("key_")
    finally:
        requests.patch(f"{fake.url}/__admin/config", json={"auth": {"admin_token": None}}, timeout=10,
                       headers={"Authorization": "Bearer tok-secret"})


# --- the journal's size -------------------------------------------------------------------------------------------

def test_a_huge_rejected_body_is_journaled_short_with_a_marker(fake: Fake) -> None:
    huge = {**BODY, "prompt": "x" * 3_000_000}
    for _ in range(5):
        assert _submit(fake, huge).status_code == 400
    journal = requests.get(f"{fake.url}/__admin/requests", timeout=10)
    assert len(journal.content) < 5 * 40_000
    prompts = [e["request_body"]["prompt"] for e in journal.json()["requests"]]
    kept = 3_000_000 - int(prompts[0].rsplit(": ", 1)[1].split(" ")[0])
    assert len(prompts) == 5 and all(p == "x" * kept + TRUNCATED.format(left=3_000_000 - kept) for p in prompts)


@pytest.mark.parametrize("make", [lambda _: MemoryStore(journal_max_bytes=50_000),
                                  lambda folder: SqliteStore(folder / "j.db", journal_max_bytes=50_000)])
def test_the_journal_keeps_its_total_size_under_its_cap(make, tmp_path: Path) -> None:
    store = make(tmp_path)
    for n in range(200):
        store.append_journal({"n": n, "request_body": "y" * 1000})
    entries = store.journal()
    assert sum(len(json.dumps(e)) for e in entries) <= 55_000
    assert entries[-1]["n"] == 199 and [e["n"] for e in entries] == sorted(e["n"] for e in entries)


# --- idempotency after a crash --------------------------------------------------------------------------------------

def test_a_claim_left_by_a_dead_process_is_taken_over_at_once(tmp_path: Path, video_library: VideoLibrary) -> None:
    """A process killed between claiming an Idempotency-Key and recording its task must not wedge the key."""
    store = SqliteStore(tmp_path / "store.db")
    app = create_app({"clock": {"mode": "manual"}}, store=store, videos=video_library)
    backend: VideoBackend = app.extensions["videomock"]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = "key_0123456789abcdef"
    name = backend.idempotency.begin(owner, "retry-1", BODY, exists=lambda _: False)
    store.compare_and_set_state(name.name, name.holder, {"pid": dead.pid, "started": process_start(dead.pid)})  # type: ignore[union-attr]
    started = time.monotonic()
    first = backend.submit(owner, BODY, idempotency_key="retry-1")
    assert time.monotonic() - started < 2, "the retry waited for a claimant that no longer exists"
    assert backend.submit(owner, BODY, idempotency_key="retry-1").id == first.id
    assert len(store.tasks(owner)) == 1


# --- timestamps -------------------------------------------------------------------------------------------------------

def test_timestamps_look_like_now_even_when_the_virtual_clock_ran_far_ahead(tmp_path: Path,
                                                                          video_library: VideoLibrary) -> None:
    store = SqliteStore(tmp_path / "store.db")
    month = 30 * 86400.0
    real = time.time()
    store.set_state("clock", {"mode": "manual", "speed": 1.0, "anchor_real": real, "anchor_virtual": real + month})
    app = create_app({"clock": {"mode": "manual"}}, store=store, videos=video_library)
    backend: VideoBackend = app.extensions["videomock"]
    with LiveServer(app) as server:
        headers = {"Authorization": "Bearer sk-t"}
        task_id = requests.post(f"{server.url}/v1/video/generations", json=BODY, headers=headers, timeout=10).json()["task_id"]
        backend.advance(3600)
        done = requests.get(f"{server.url}/v1/video/generations/{task_id}", headers=headers, timeout=30).json()
    assert done["status"] == "completed"
    assert abs(done["created_at"] - time.time()) < 120
    task = backend.store.get_task(task_id)
    assert task is not None and done["completed_at"] - done["created_at"] == int(task.finishes_at - task.created_at)


# --- limits and render time ---------------------------------------------------------------------------------------------

@pytest.fixture
def slow_ffmpeg(tmp_path: Path) -> Iterator[str]:
    """An ffmpeg that takes two more seconds to start: a render still under way when the timeline is done."""
    script = tmp_path / "slow-ffmpeg"
    script.write_text(f"#!/bin/sh\nsleep 2\nexec {ffmpeg_executable()} \"$@\"\n")
    script.chmod(0o755)
    yield str(script)


def test_a_task_past_its_end_does_not_count_in_flight_while_its_video_renders(tmp_path: Path, slow_ffmpeg: str) -> None:
    library = VideoLibrary(tmp_path / "videos", max_bytes=1 << 30, ffmpeg=slow_ffmpeg)
    app = create_app({"clock": {"mode": "manual"}, "limits": {"max_in_flight": 1}}, videos=library)
    backend: VideoBackend = app.extensions["videomock"]
    try:
        owner = "key_0123456789abcdef"
        backend.submit(owner, {**BODY, "seed": 1})
        backend.advance(3600)
        second = backend.submit(owner, {**BODY, "seed": 2})   # raised 429 concurrency_limit_exceeded before
        assert second.id
    finally:
        library.close()
