"""One configuration for many tests: override the ``videomock_config`` fixture (here for this module; in a
conftest.py for a directory). The marker still changes it for one test."""

import pytest

from videomock.client import RateLimited, VideoClient
from videomock.pytest_plugin.provider import FakeProvider


@pytest.fixture
def videomock_config() -> dict:
    return {"auth": {"api_keys": ["sk-team-key"]}, "clock": {"mode": "manual"}, "limits": {"max_in_flight": 1}}


def test_every_test_here_uses_the_shared_config(videomock: FakeProvider, video_client: VideoClient) -> None:
    assert videomock.api_key == "sk-team-key"  # the fixtures send the first accepted key
    video_client.submit(model="veo_3_1", prompt="one")

    with pytest.raises(RateLimited):  # one task in flight at most, and time stands still
        video_client.submit(model="veo_3_1", prompt="two")


@pytest.mark.videomock(limits={"max_in_flight": 2})
def test_the_marker_adjusts_it_for_one_test(video_client: VideoClient) -> None:
    video_client.submit(model="veo_3_1", prompt="one")
    video_client.submit(model="veo_3_1", prompt="two")
