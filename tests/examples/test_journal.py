"""Assert on what your code sent: the journal records every request with its body, status and faults.
API keys are never recorded, only a fingerprint."""

from videomock.client import VideoClient
from videomock.pytest_plugin.provider import FakeProvider


def test_the_journal_shows_what_was_sent(videomock: FakeProvider, video_client: VideoClient) -> None:
    videomock.add_fault(id="flaky-poll", endpoint="poll", times=1, action={"type": "http_error", "status": 503})

    task = video_client.submit(model="veo_3_1", prompt="a koi pond", duration=6)
    video_client.wait(task)

    submit, *polls = videomock.requests
    assert submit["method"] == "POST" and submit["request_body"]["duration"] == 6
    assert [p["status"] for p in polls] == [503, 200]  # the client retried the failed poll
    assert polls[0]["fault"][0]["rule"] == "flaky-poll"
    assert videomock.api_key not in str(videomock.requests)
    assert videomock.tasks[0]["params"]["duration"] == 6
