"""The real gateways' variant bodies (what-real-gateways-return.md section 2), recorded in
tests/data/recordings and served over real HTTP by a scripted server: the client normalises them into the
same Task, keeps the raw body, and tells which dialect it saw."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clientlib_support import ScriptedServer, VirtualTime, recorded, reply
from videomock.client import ContractViolation, ContractWarning, NotFound, Task, TaskFailed, VideoClient
from videomock.client.dialects import normalise
from videomock.media.render import VideoSpec, render

TID = "task_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SUBMIT = "/v1/video/generations"
POLL = f"{SUBMIT}/{TID}"


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real MP4: the client decodes what it downloads for a task."""
    out = tmp_path_factory.mktemp("video") / "v.mp4"
    render(VideoSpec("kling-v2-5-turbo", "x", 64, 64, fps=8, duration=1, seed=1), out)
    return out.read_bytes()


@pytest.fixture(scope="module")
def servers(video: bytes) -> Iterator[tuple[ScriptedServer, ScriptedServer]]:
    """The gateway, and a CDN on another origin that holds the videos its links point at."""
    with ScriptedServer() as gateway, ScriptedServer() as cdn:
        cdn.on("GET", f"/cdn/{TID}.mp4", reply(200, video, {"Content-Type": "video/mp4"}))
        yield gateway, cdn


@pytest.fixture
def gateway(servers: tuple[ScriptedServer, ScriptedServer]) -> ScriptedServer:
    servers[0].reset()
    return servers[0]


@pytest.fixture
def files_url(servers: tuple[ScriptedServer, ScriptedServer]) -> str:
    return servers[1].url


def test_a_whole_new_api_generation_in_strict_mode(gateway: ScriptedServer, files_url: str, video: bytes,
                                                   tmp_path: Path) -> None:
    gateway.on("POST", SUBMIT, recorded("new_api_submit.json"))
    gateway.on("GET", POLL, recorded("new_api_task_not_start.json"), recorded("new_api_task_in_progress.json"),
               recorded("new_api_task_success.json", files_url=files_url))
    seen: list[Task] = []
    time = VirtualTime()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContractWarning)
        with VideoClient(gateway.url, "k", retry=time.policy(), clock=time.clock) as client:
            done = client.generate(model="kling-v2-5-turbo", prompt="x", out=tmp_path / "v.mp4", on_progress=seen.append)
    assert [(t.dialect, t.status, t.progress) for t in seen] == [
        ("openai-video", "queued", 0), ("new-api", "queued", 0), ("new-api", "in_progress", 50), ("new-api", "completed", 100)]
    assert done.id == TID and done.url == f"{files_url}/cdn/{TID}.mp4" and done.completed_at == 1764000060
    assert done.raw["code"] == "success" and done.raw["data"]["status"] == "SUCCESS"
    assert done.extra["submit_time"] == 1764000000 and done.extra["result_url"] == done.url
    assert (tmp_path / "v.mp4").read_bytes() == video


def test_fail_reason_becomes_the_tasks_error(gateway: ScriptedServer) -> None:
    gateway.on("GET", POLL, recorded("new_api_task_failure.json"))
    with VideoClient(gateway.url, "k") as client, pytest.raises(TaskFailed) as caught:
        client.wait(TID)
    assert caught.value.error == {"code": None, "message": "content security policy (1301)"}
    assert caught.value.task.progress == 30 and caught.value.task.dialect == "new-api"


def test_the_unknown_task_reply_is_not_found(gateway: ScriptedServer) -> None:
    gateway.on("GET", POLL, recorded("new_api_task_not_exist.json"))
    with VideoClient(gateway.url, "k") as client, pytest.warns(ContractWarning, match="new-api dialect"):
        with pytest.raises(NotFound) as caught:
            client.get(TID)
    assert (caught.value.status, caught.value.code, caught.value.message) == (400, "task_not_exist", "task_not_exist")
    assert caught.value.body == {"code": "task_not_exist", "message": "task_not_exist", "data": None}


def test_the_openai_video_object_links_through_metadata_url(gateway: ScriptedServer, files_url: str) -> None:
    gateway.on("GET", POLL, recorded("openai_video_completed.json", files_url=files_url))
    with VideoClient(gateway.url, "k") as client:
        task = client.get(TID)
    assert (task.dialect, task.status, task.url) == ("openai-video", "completed", f"{files_url}/cdn/{TID}.mp4")
    assert task.extra == {"id": TID, "object": "video", "expires_at": 1764086460, "seconds": "5", "size": "1280x720"}


@pytest.mark.parametrize("mode", ["strict", "lenient"])
def test_a_documented_body_that_breaks_the_contract(gateway: ScriptedServer, mode: str) -> None:
    broken = {"task_id": TID, "status": "done", "progress": 100, "format": "mp4", "metadata": {}}
    gateway.on("GET", POLL, reply(200, broken))
    with VideoClient(gateway.url, "k", validate_responses=mode) as client:  # type: ignore[arg-type]
        if mode == "strict":
            with pytest.raises(ContractViolation) as caught:
                client.get(TID)
            assert caught.value.kind == "task" and caught.value.dialect == "documented"
            violations = caught.value.violations
        else:
            with pytest.warns(ContractWarning, match="status"):
                task = client.get(TID)
            assert task.status == "unknown" and task.raw == broken
            violations = task.violations
    assert {v.pointer for v in violations} == {"/status", "/metadata/duration", "/metadata/fps", "/metadata/width",
                                              "/metadata/height", "/metadata/seed"}


def test_a_body_without_an_id_cannot_become_a_task_even_when_lenient(gateway: ScriptedServer) -> None:
    gateway.on("GET", POLL, reply(200, {"code": "success", "message": "", "data": {"status": "SUCCESS"}}))
    with VideoClient(gateway.url, "k", validate_responses="off") as client, pytest.raises(ContractViolation) as caught:
        client.get(TID)
    assert caught.value.dialect == "new-api" and caught.value.violations[0].pointer == "/data/task_id"


@pytest.mark.parametrize("raw, status", [
    ("queued", "queued"), ("QUEUED", "queued"), ("NOT_START", "queued"), ("SUBMITTED", "queued"),
    ("in_progress", "in_progress"), ("IN_PROGRESS", "in_progress"), ("processing", "in_progress"),
    ("completed", "completed"), ("succeeded", "completed"), ("SUCCESS", "completed"),
    ("failed", "failed"), ("FAILURE", "failed"), ("UNKNOWN", "unknown"),
])
def test_status_synonyms(raw: str, status: str) -> None:
    read = normalise("task", {"code": "success", "message": "", "data": {"task_id": TID, "status": raw, "result_url": "u"}})
    assert read.fields["status"] == status and read.violations == []


@pytest.mark.parametrize("progress, expected", [(50, 50), ("50%", 50), ("50", 50), (12.5, 12), (" 7% ", 7)])
def test_progress_forms(progress: object, expected: int) -> None:
    read = normalise("task", {"id": TID, "object": "video", "status": "in_progress", "progress": progress})
    assert read.fields["progress"] == expected and read.violations == []


@pytest.mark.parametrize("progress", ["half", "150%", -1, True])
def test_progress_that_is_not_a_percentage_is_a_violation(progress: object) -> None:
    read = normalise("task", {"id": TID, "object": "video", "status": "in_progress", "progress": progress})
    assert read.fields["progress"] is None and [v.pointer for v in read.violations] == ["/progress"]
