"""The google-genai SDK (Vertex AI mode), unchanged, against the in-process fake: its HttpOptions take the
fake's httpx clients, sync and async. Each operation makes as many distinct videos as it asks for."""

import asyncio

import pytest

from videomock.pytest_plugin.provider import FakeProvider

genai = pytest.importorskip("google.genai")
types = pytest.importorskip("google.genai.types")


def client_for(videomock: FakeProvider):
    return genai.Client(vertexai=True, api_key=videomock.api_key, http_options=types.HttpOptions(
        base_url=videomock.url, httpx_client=videomock.httpx_client(),
        httpx_async_client=videomock.async_httpx_client()))


def test_generate_two_videos(videomock: FakeProvider) -> None:
    client = client_for(videomock)
    operation = client.models.generate_videos(
        model="veo-3.1-generate-preview", source=types.GenerateVideosSource(prompt="a lighthouse at dusk"),
        config=types.GenerateVideosConfig(number_of_videos=2, duration_seconds=4))
    while not operation.done:  # the instant clock: done at the first poll
        operation = client.operations.get(operation)

    first, second = (video.video.video_bytes for video in operation.result.generated_videos)
    assert first[4:8] == b"ftyp" and first != second


def test_the_async_client_and_a_safety_filter(videomock: FakeProvider) -> None:
    videomock.add_fault(endpoint="submit", action={"type": "filter_outputs"})
    client = client_for(videomock)

    async def generate():
        operation = await client.aio.models.generate_videos(
            model="veo-3.1-generate-preview", source=types.GenerateVideosSource(prompt="a lighthouse"))
        while not operation.done:
            operation = await client.aio.operations.get(operation)
        return operation.result

    result = asyncio.run(generate())
    assert result.rai_media_filtered_count == 1 and not result.generated_videos
