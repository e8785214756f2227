"""The openai SDK, unchanged, against the in-process fake: hand it ``videomock.httpx_client()`` (or the async
one) and it talks to the fake with no socket, faults included. The same test runs against a live server by
asking for ``videomock_server`` instead (its httpx_client() is a plain client over HTTP)."""

import asyncio

import pytest
from openai import APIConnectionError, AsyncOpenAI, OpenAI

from videomock.contracts.media import probe
from videomock.pytest_plugin.provider import FakeProvider

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK warns that Sora is deprecated


def test_create_poll_and_download(videomock: FakeProvider, tmp_path) -> None:
    client = OpenAI(base_url=f"{videomock.url}/v1", api_key=videomock.api_key, http_client=videomock.httpx_client())

    video = client.videos.create_and_poll(model="sora-2", prompt="a paper boat on a river", seconds="4")
    client.videos.download_content(video.id).write_to_file(tmp_path / "boat.mp4")

    assert video.status == "completed"
    assert probe(tmp_path / "boat.mp4").duration == pytest.approx(4, abs=0.1)
    videomock.assert_requested(endpoint="submit", model="sora-2", count=1)


def test_async_client(videomock: FakeProvider) -> None:
    async def generate() -> bytes:
        async with AsyncOpenAI(base_url=f"{videomock.url}/v1", api_key=videomock.api_key,
                               http_client=videomock.async_httpx_client()) as client:
            video = await client.videos.create_and_poll(model="sora-2", prompt="a koi pond")
            return (await client.videos.download_content(video.id)).read()

    assert asyncio.run(generate())[4:8] == b"ftyp"  # an MP4


def test_a_dropped_connection_reaches_the_sdk_as_its_own_error(videomock: FakeProvider) -> None:
    videomock.add_fault(endpoint="submit", action={"type": "reset"})
    client = OpenAI(base_url=f"{videomock.url}/v1", api_key=videomock.api_key, max_retries=0,
                    http_client=videomock.httpx_client())

    with pytest.raises(APIConnectionError):
        client.videos.create(model="sora-2", prompt="a koi pond")
