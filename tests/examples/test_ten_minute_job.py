"""A 10-minute job, without waiting 10 minutes: move the fake's clock."""

import pytest

from videomock.client import VideoClient
from videomock.pytest_plugin.provider import FakeProvider

TEN_MINUTES = {"action": {"type": "duration", "seconds": 600, "queue_seconds": 60}}


@pytest.mark.videomock(clock="manual", faults=[TEN_MINUTES])
def test_advance_through_a_ten_minute_job(videomock: FakeProvider, video_client: VideoClient) -> None:
    task = video_client.submit(model="kling-v2-1-master", prompt="a glacier calving")

    videomock.advance(330)  # 60 s queued, then 270 of 540 s rendering
    assert (video_client.get(task.id).status, video_client.get(task.id).progress) == ("in_progress", 50)

    videomock.advance(270)
    assert video_client.get(task.id).status == "completed"


@pytest.mark.videomock(clock="manual", faults=[TEN_MINUTES])
def test_or_let_the_client_wait(video_client: VideoClient) -> None:
    # video_client's waits advance the fake's clock instead of sleeping, so this returns at once
    task = video_client.submit(model="kling-v2-1-master", prompt="a glacier calving")
    assert video_client.wait(task, timeout=900).status == "completed"
