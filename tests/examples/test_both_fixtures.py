"""Both fakes in one test: ``videomock`` in-process and ``videomock_server`` over a real socket, e.g. for code
that calls the provider itself and also hands a URL to a subprocess. They are separate fakes with their own
tasks; ``video_client`` binds to the live server when the test asks for it."""

import requests

from videomock.client import VideoClient
from videomock.pytest_plugin.provider import FakeProvider


def test_in_process_and_live_side_by_side(videomock: FakeProvider, videomock_server: FakeProvider,
                                          video_client: VideoClient) -> None:
    body = {"model": "veo_3_1", "prompt": "a fox"}
    requests.post(f"{videomock.url}/v1/video/generations", json=body, headers=videomock.headers, timeout=10)

    task = video_client.submit(body)

    assert video_client.base_url == videomock_server.url
    assert video_client.wait(task).status == "completed"
    assert len(videomock.tasks) == 1 and len(videomock_server.tasks) == 1
