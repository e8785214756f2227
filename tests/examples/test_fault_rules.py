"""Fault rules one by one: list them with how often each fired, remove one, and assert on the requests the
code under test made (the failure message shows what was requested instead)."""

import pytest

from videomock.client import VideoClient
from videomock.pytest_plugin.provider import FakeProvider


def test_list_and_remove_rules(videomock: FakeProvider, video_client: VideoClient) -> None:
    videomock.add_fault(id="slow-start", endpoint="submit", times=1, action={"type": "http_error", "status": 503})
    videomock.add_fault(id="flaky-poll", endpoint="poll", action={"type": "http_error", "status": 502})

    video_client.submit(model="veo_3_1", idempotency_key="k1", prompt="a fox")  # retried once, safely
    assert {rule["id"]: rule["fired"] for rule in videomock.faults} == {"slow-start": 1, "flaky-poll": 0}

    videomock.remove_fault("flaky-poll")
    assert [rule["id"] for rule in videomock.faults] == ["slow-start"]


def test_assert_requested(videomock: FakeProvider, video_client: VideoClient) -> None:
    video_client.wait(video_client.submit(model="veo_3_1", prompt="a fox"))

    videomock.assert_requested(endpoint="submit", model="veo_3_1", count=1)
    assert videomock.requests_where(endpoint="poll", status=200)
    with pytest.raises(AssertionError, match=r"expected 2 request\(s\) with endpoint='submit'; found 1"):
        videomock.assert_requested(endpoint="submit", count=2)
