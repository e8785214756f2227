"""The client against the live fake over real HTTP: the happy path, every error class the fake can
produce, local contract checks, and waiting on the manual clock with virtual time."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clientlib_support import VirtualTime, serve_fake
from tests.conftest import Fake
from videomock.client import (
    AuthenticationError,
    ContractViolation,
    GenerationRequest,
    InvalidRequest,
    NotFound,
    Task,
    TaskFailed,
    VideoClient,
    WaitTimeout,
)
from videomock.contracts import default_catalog
from videomock.contracts.media import probe
from videomock.media.library import VideoLibrary

KLING = default_catalog()["kling-v2-5-turbo"]


@pytest.fixture
def client(fake: Fake) -> Iterator[VideoClient]:
    with VideoClient(fake.url, fake.key) as c:
        yield c


@pytest.fixture(scope="module")
def instant_url(video_library: VideoLibrary) -> Iterator[str]:
    with serve_fake({"clock": {"mode": "instant"}}, video_library) as (url, _):
        yield url


# --- the happy path ---------------------------------------------------------------------------------------

def test_generate_submits_waits_and_downloads_a_playable_video(instant_url: str, tmp_path: Path) -> None:
    seen: list[Task] = []
    downloaded: list[tuple[int, int | None]] = []
    with VideoClient(instant_url, "sk-test") as client:
        task = client.generate(GenerationRequest(model="kling-v2-5-turbo", prompt="generate", duration=5, fps=24),
                               out=tmp_path / "out.mp4", on_progress=seen.append,
                               on_download=lambda done, total: downloaded.append((done, total)))
    assert task.succeeded and task.dialect == "documented" and task.violations == ()
    assert [t.status for t in seen] == ["queued", "completed"]
    info = probe(tmp_path / "out.mp4")
    assert (info.width, info.height, info.fps, info.frame_count) == (1280, 720, 24, 120)
    size = (tmp_path / "out.mp4").stat().st_size
    assert downloaded[-1] == (size, size)
    assert not (tmp_path / "out.mp4.part").exists()


def test_submit_and_get_return_typed_tasks_that_keep_the_raw_body(client: VideoClient, fake: Fake) -> None:
    submitted = client.submit({"model": "veo_3_1", "prompt": "typed"}, seed=7)
    assert (submitted.status, submitted.raw) == ("queued", {"task_id": submitted.id, "status": "queued"})
    task = client.get(submitted.id)
    assert task.id == submitted.id and task.status == "queued" and task.progress == 0 and task.url is None
    assert task.metadata["seed"] == 7 and task.model == "veo_3_1" and task.raw == fake.poll(task.id).json()


def test_download_to_a_file_object(client: VideoClient, fake: Fake) -> None:
    task = client.submit(model="veo_3_1", prompt="file object")
    fake.backend.advance(3600)
    buffer = io.BytesIO(b"header")
    buffer.seek(6)
    written = client.download(client.get(task.id), buffer)
    assert written == len(buffer.getvalue()) - 6 and buffer.getvalue()[10:14] == b"ftyp"


def test_request_objects_keep_fields_beyond_the_contract() -> None:
    body = {"model": "veo_3_1", "prompt": "x", "metadata": {"resolution": "720p"}, "callback": "https://x"}
    request = GenerationRequest.from_body(body)
    assert request.extra == {"callback": "https://x"} and request.to_body() == body


# --- errors -------------------------------------------------------------------------------------------------

def test_invalid_request_carries_the_servers_param_code_and_body(fake: Fake) -> None:
    body = {"model": "veo_3_1", "prompt": "x", "duration": 5}
    with VideoClient(fake.url, fake.key, validate_requests=False) as client, pytest.raises(InvalidRequest) as caught:
        client.submit(body)
    error = caught.value
    assert (error.status, error.type, error.param, error.code) == (400, "invalid_request_error", "duration", "unsupported_value")
    assert error.message == "duration 5 is not supported by veo_3_1; allowed: 4, 6, 8"
    assert error.body == fake.submit(body).json() and error.violations == ()


@pytest.mark.parametrize("body", [
    {"model": "veo_3_1", "prompt": "x", "duration": 5, "fps": 30},
    {"model": "kling-v2-1-master", "prompt": "x", "width": 1280, "height": 720},
    {"model": "veo_3_1", "prompt": "x", "metadata": {"style": "anime"}},
    {"model": "veo_3_1"},
])
def test_local_contract_violation_says_exactly_what_the_server_says(fake: Fake, client: VideoClient,
                                                                     body: dict[str, Any]) -> None:
    server = fake.submit(body).json()["error"]
    with pytest.raises(ContractViolation) as caught:
        client.submit(body)
    assert (caught.value.message, caught.value.param, caught.value.code) == (server["message"], server["param"], server["code"])
    assert fake.backend.store.tasks() == []


def test_a_model_missing_from_the_catalog_is_checked_for_shape_only(client: VideoClient) -> None:
    with pytest.raises(ContractViolation) as caught:
        client.submit(model="kling-v9-future", prompt="x", duration="5")
    assert [v.pointer for v in caught.value.violations] == ["/duration"]
    with pytest.raises(InvalidRequest) as refused:  # well-shaped: sent, and the server is the judge
        client.submit(model="kling-v9-future", prompt="x", duration=5)
    assert (refused.value.param, refused.value.code) == ("model", "model_not_found")


@pytest.mark.parametrize("key, code", [(None, "missing_api_key"), ("sk-wrong", "invalid_api_key")])
def test_missing_or_rejected_key_is_authentication_error(video_library: VideoLibrary, key: str | None, code: str) -> None:
    with serve_fake({"auth": {"api_keys": ["sk-good"]}}, video_library) as (url, _):
        with VideoClient(url, key) as client, pytest.raises(AuthenticationError) as caught:
            client.submit(model="veo_3_1", prompt="x")
        with VideoClient(url, "sk-good") as client:
            assert client.submit(model="veo_3_1", prompt="x").status == "queued"
    assert (caught.value.status, caught.value.type, caught.value.code) == (401, "authentication_error", code)


def test_unknown_task_and_another_keys_task_are_not_found(fake: Fake, client: VideoClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.get("task_nope")
    assert (caught.value.status, caught.value.param, caught.value.code) == (404, "task_id", "task_not_found")
    other = VideoClient(fake.url, "sk-other").submit(model="veo_3_1", prompt="x")
    with pytest.raises(NotFound):
        client.get(other.id)


def test_oversized_body_is_invalid_request_413(video_library: VideoLibrary) -> None:
    with serve_fake({"server": {"max_body_bytes": 2048}}, video_library) as (url, _), VideoClient(url, "k") as client:
        with pytest.raises(InvalidRequest) as caught:
            client.submit(model="kling-v2-5-turbo", prompt="x" * 2400)
    assert (caught.value.status, caught.value.code) == (413, "request_too_large") and "2048" in caught.value.message


def test_a_failed_render_is_task_failed_with_the_tasks_error(tmp_path: Path) -> None:
    broken = VideoLibrary(tmp_path, max_bytes=1 << 20, ffmpeg="/bin/false")
    try:
        with serve_fake({"clock": {"mode": "instant"}}, broken) as (url, _), VideoClient(url, "k") as client:
            task = client.submit(model="veo_3_1", prompt="x")
            with pytest.raises(TaskFailed) as caught:
                client.wait(task)
    finally:
        broken.close()
    assert caught.value.task.id == task.id and caught.value.task.status == "failed"
    assert caught.value.error["code"] == 5010 and "rendering the video failed" in caught.value.error["message"]


# --- waiting on virtual time --------------------------------------------------------------------------------

def test_wait_backs_off_and_reports_every_poll(fake: Fake) -> None:
    time = VirtualTime(fake.backend)
    progress: list[Task] = []
    with VideoClient(fake.url, fake.key, retry=time.policy(), clock=time.clock) as client:
        task = client.submit(model=KLING.id, prompt="backoff")
        done = client.wait(task, poll_interval=1.0, max_poll_interval=10.0, on_progress=progress.append)
    assert done.succeeded and done.url
    assert time.sleeps[:7] == pytest.approx([1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 10.0])
    assert set(time.sleeps[6:]) == {10.0}
    assert sum(time.sleeps[:-1]) < KLING.queue_seconds + KLING.render_seconds <= sum(time.sleeps)
    statuses = [t.status for t in progress]
    assert statuses[0] == "queued" and "in_progress" in statuses and statuses[-1] == "completed"
    percents = [t.progress for t in progress]
    assert percents == sorted(percents) and len(set(percents)) > 3


def test_wait_gives_up_at_its_timeout_with_the_last_state(fake: Fake) -> None:
    time = VirtualTime()  # the fake's clock stays put: the task never leaves the queue
    with VideoClient(fake.url, fake.key, retry=time.policy(), clock=time.clock) as client:
        task = client.submit(model="veo_3_1", prompt="stuck")
        with pytest.raises(WaitTimeout) as caught:
            client.wait(task.id, timeout=30, poll_interval=2, max_poll_interval=8)
    assert caught.value.task.status == "queued" and caught.value.timeout == 30
    assert time.sleeps == [2, 3, 4.5, 6.75, 8, 5.75] and time.now == 30
