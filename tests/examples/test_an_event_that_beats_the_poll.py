"""Handle an event that arrives before the poll shows it: a gateway's event and its task store are not updated
at the same instant, so ``video.completed`` can come while ``GET`` still says ``in_progress``. The early-event
fault (``webhook-early=SECONDS``) sends the event that long before the poll shows the task finished. A handler
that trusts the poll keeps polling until it agrees, instead of failing on a missing URL."""

import pytest
import requests

from videomock.client import VideoClient
from videomock.pytest_plugin.provider import FakeProvider
from videomock.pytest_plugin.webhooks import WebhookReceiver


def on_completed(video_client: VideoClient, task_id: str) -> str:
    """Your app's handler for video.completed: fetch the task, waiting for the poll to agree with the event."""
    task = video_client.get(task_id)
    if task.status != "completed":
        task = video_client.wait(task, timeout=600)   # the fixtures' client moves the fake's clock, never sleeps
    return task.url


@pytest.mark.videomock(clock="manual")
def test_the_handler_waits_for_the_poll_to_catch_up(videomock: FakeProvider, videomock_webhooks: WebhookReceiver,
                                                    video_client: VideoClient) -> None:
    task_id = requests.post(f"{videomock.url}/v1/video/generations", json={"model": "veo_3_1", "prompt": "a fox"},
                            headers={**videomock.headers, "X-Videomock-Fault": "duration=60; webhook-early=30"}).json()["task_id"]
    event = videomock_webhooks.wait_for("video.completed", task_id=task_id)   # moves the clock to the event

    assert event.verified and video_client.get(task_id).status == "in_progress"
    assert on_completed(video_client, task_id).endswith(f"/v1/videos/{task_id}/content")
