"""Your own ``responses`` mocks for other hosts, beside the in-process fake: calls to ``videomock.url`` still
reach the fake, whichever way responses is started (decorator, context manager or a fixture)."""

from collections.abc import Iterator

import pytest
import requests
import responses

from videomock.pytest_plugin.provider import FakeProvider

STORAGE = "https://storage.example.com/upload"


def submit(videomock: FakeProvider) -> str:
    body = {"model": "veo_3_1", "prompt": "a lighthouse"}
    answer = requests.post(f"{videomock.url}/v1/video/generations", json=body, headers=videomock.headers, timeout=10)
    return str(answer.json()["task_id"])


@responses.activate
def test_with_the_decorator(videomock: FakeProvider) -> None:
    responses.add(responses.PUT, STORAGE, json={"stored": True})

    task_id = submit(videomock)

    assert requests.put(STORAGE, data=b"...", timeout=10).json() == {"stored": True}
    assert task_id.startswith("task_")


def test_with_the_context_manager(videomock: FakeProvider) -> None:
    with responses.RequestsMock() as mocked:
        mocked.add(responses.PUT, STORAGE, json={"stored": True})
        submit(videomock)
        requests.put(STORAGE, data=b"...", timeout=10)
        assert len(mocked.calls) == 1  # responses saw its own host only
    videomock.assert_requested(endpoint="submit", count=1)


@pytest.fixture
def storage() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mocked:
        mocked.add(responses.PUT, STORAGE, json={"stored": True})
        yield mocked


def test_with_a_fixture(videomock: FakeProvider, storage: responses.RequestsMock) -> None:
    submit(videomock)
    requests.put(STORAGE, data=b"...", timeout=10)
    assert storage.assert_call_count(STORAGE, 1)
