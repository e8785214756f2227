"""Verify a signed webhook event the way your app's handler does: the ``videomock_webhooks`` receiver is an
endpoint of the fake, and your handler gets exactly what the fake sent it (body and headers). The openai SDK's
``webhooks.unwrap`` checks the Standard Webhooks signature; a forged one (the bad-signature fault) is refused."""

import pytest
from openai import InvalidWebhookSignatureError, OpenAI

from videomock.pytest_plugin.provider import FakeProvider
from videomock.pytest_plugin.webhooks import WebhookReceiver

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK warns that Sora is deprecated


def handle_webhook(client: OpenAI, body: bytes, headers: dict[str, str]) -> str:
    """Your app's handler: verify, then act on the event (here: say which video finished)."""
    event = client.webhooks.unwrap(body, headers)
    return f"{event.type}: {event.data.id}"


def test_a_signed_event_verifies_and_a_forged_one_does_not(videomock: FakeProvider,
                                                          videomock_webhooks: WebhookReceiver) -> None:
    client = OpenAI(base_url=f"{videomock.url}/v1", api_key=videomock.api_key, http_client=videomock.httpx_client(),
                    webhook_secret=videomock_webhooks.secret)

    video = client.videos.create(model="sora-2", prompt="a paper boat on a river")
    delivery = videomock_webhooks.wait_for("video.completed", task_id=video.id)
    assert handle_webhook(client, delivery.body, dict(delivery.headers)) == f"video.completed: {video.id}"

    forged = client.videos.create(model="sora-2", prompt="a fox", extra_headers={"X-Videomock-Fault": "webhook-bad-signature"})
    delivery = videomock_webhooks.wait_for("video.completed", task_id=forged.id, verify=False)
    with pytest.raises(InvalidWebhookSignatureError):
        handle_webhook(client, delivery.body, dict(delivery.headers))
