"""Contract tests from recordings: your client against the real provider's recorded answers, offline.

The cassettes in ``cassettes/`` were recorded through the proxy, ``videomock record --upstream URL --out
tests/examples/cassettes --max-video-bytes 0`` (here from a videomock fake; point --upstream at your real
provider), while a client made two tasks: one completed, one failed at 60% for its content. Record yours
the same way, commit them, and each becomes a test: the client is driven against the replay and must reach
the state the provider really reached. ``videomock validate tests/examples/cassettes`` checks them against
the contracts.
"""

import time
from pathlib import Path

import pytest
import requests

from videomock.pytest_plugin.cassettes import cassette_cases
from videomock.pytest_plugin.provider import FakeProvider

CASSETTES = Path(__file__).parent / "cassettes"


def generate(base_url: str, api_key: str, body: dict, sleep=time.sleep) -> dict:
    """The client under test: submit, poll until the task is done, download its video. Its waits are
    ``sleep``'s, so a test can hand it the fake's clock instead of the wall's."""
    headers = {"Authorization": f"Bearer {api_key}"}
    task = requests.post(f"{base_url}/v1/video/generations", json=body, headers=headers, timeout=30).json()
    while task["status"] not in ("completed", "failed"):
        sleep(1)
        task = requests.get(f"{base_url}/v1/video/generations/{task['task_id']}", headers=headers, timeout=30).json()
    if task["status"] == "completed":
        task["video"] = requests.get(task["url"], headers=headers, timeout=30).content
    return task


@cassette_cases(CASSETTES)
def test_the_client_reaches_the_recorded_final_state(videomock_cassette, videomock: FakeProvider) -> None:
    task = generate(videomock.url, videomock.api_key, videomock_cassette.request_body, sleep=videomock.advance)

    assert videomock.replayed(videomock_cassette).reached_final
    assert task["status"] == videomock_cassette.final_status
    if task["status"] == "completed":
        assert task["video"][4:8] == b"ftyp"   # the recorded video's size, fps and length, as a placeholder


@pytest.mark.videomock(replay=str(CASSETTES), clock="manual")
def test_polls_are_paced_as_recorded(videomock: FakeProvider) -> None:
    body = {"model": "kling-v2-5-turbo", "prompt": "a lighthouse at dusk", "duration": 5}
    task = generate(videomock.url, videomock.api_key, body, sleep=videomock.advance)  # a wait moves the clock 1 s
    assert task["status"] == "completed"


@pytest.mark.videomock(replay=str(CASSETTES), replay_fallback=True)
def test_requests_no_cassette_recorded_fall_back_to_the_fake(videomock: FakeProvider) -> None:
    task = generate(videomock.url, videomock.api_key, {"model": "veo_3_1", "prompt": "never recorded"},
                    sleep=videomock.advance)
    assert task["status"] == "completed"
