"""A job that fails part-way through. The X-Videomock-Fault header scripts one job; a fault rule (config,
marker or add_fault) scripts many."""

import pytest
import requests

from videomock.client import Task, TaskFailed, VideoClient
from videomock.pytest_plugin.provider import FakeProvider


@pytest.mark.videomock(clock="manual", faults=[
    {"prompt_contains": "forbidden", "action": {"type": "fail_task", "reason": "content_policy", "at_progress": 60}}])
def test_job_fails_at_sixty_percent(video_client: VideoClient) -> None:
    seen: list[Task] = []
    task = video_client.submit(model="kling-v2-5-turbo", prompt="a forbidden scene")

    with pytest.raises(TaskFailed) as caught:
        video_client.wait(task, on_progress=seen.append)

    failed = caught.value.task
    assert (failed.status, failed.progress) == ("failed", 60)
    assert failed.error["code"] == 1301  # content policy
    assert any(t.status == "in_progress" for t in seen)  # it was running before it failed


def test_one_job_scripted_by_header(videomock: FakeProvider) -> None:
    submitted = requests.post(f"{videomock.url}/v1/video/generations", headers=videomock.headers | {
        "X-Videomock-Fault": "fail=upstream_error@30"}, json={"model": "veo_3_1", "prompt": "a storm"}, timeout=10)
    task_id = submitted.json()["task_id"]

    task = requests.get(f"{videomock.url}/v1/video/generations/{task_id}", headers=videomock.headers, timeout=10).json()
    assert task["status"] == "failed" and task["error"]["code"] == 5000
