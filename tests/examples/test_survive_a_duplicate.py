"""Survive a duplicate delivery: providers deliver at least once, so the same event can come twice (a retry
whose first answer was lost). The duplicate fault sends each event twice, with the same ``webhook-id``; a
handler that remembers the ids it has processed does its work once."""

from videomock.client import VideoClient
from videomock.pytest_plugin.provider import FakeProvider
from videomock.pytest_plugin.webhooks import WebhookReceiver


class Inbox:
    """Your app's handler: process each event once, whatever arrives twice."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.finished: list[str] = []

    def handle(self, webhook_id: str, event: dict) -> None:
        if webhook_id in self.seen:
            return
        self.seen.add(webhook_id)
        self.finished.append(event["data"]["id"])


def test_a_duplicate_event_is_processed_once(videomock: FakeProvider, videomock_webhooks: WebhookReceiver,
                                             video_client: VideoClient) -> None:
    videomock.add_fault(endpoint="submit", times=1, action={"type": "webhook_duplicate"})
    task = video_client.submit(model="veo_3_1", prompt="a lighthouse at night")

    videomock_webhooks.wait_for("video.completed", task_id=task.id)
    inbox = Inbox()
    for delivery in videomock_webhooks.received("video.completed", task_id=task.id):
        inbox.handle(delivery.webhook_id, delivery.json)

    assert len(videomock_webhooks.received("video.completed", task_id=task.id)) == 2
    assert inbox.finished == [task.id]
