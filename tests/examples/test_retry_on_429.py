"""A rate-limited submit. The client honours Retry-After and tries again; a 429 means nothing was created,
so retrying a submit is safe."""

import pytest

from videomock.client import RateLimited, VideoClient
from videomock.pytest_plugin.provider import FakeProvider


def test_client_retries_a_rate_limited_submit(videomock: FakeProvider, video_client: VideoClient) -> None:
    videomock.add_fault(endpoint="submit", times=2, action={"type": "http_error", "status": 429, "retry_after": 3})

    task = video_client.submit(model="veo_3_1-fast", prompt="a hummingbird, slow motion")

    assert [r["status"] for r in videomock.requests] == [429, 429, 200]
    assert video_client.wait(task).status == "completed"


@pytest.mark.videomock(faults=[{"endpoint": "submit", "action": {"type": "http_error", "status": 429, "retry_after": 120}}])
def test_a_long_retry_after_is_left_to_the_caller(video_client: VideoClient) -> None:
    with pytest.raises(RateLimited) as caught:
        video_client.submit(model="veo_3_1-fast", prompt="a hummingbird")
    assert caught.value.retry_after == 120
