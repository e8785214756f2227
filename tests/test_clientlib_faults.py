"""The client against the fake's own fault injection, over real sockets (videomock_server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from videomock.client import RateLimited, ServerError, TransportError, VideoClient
from videomock.pytest_plugin.provider import FakeProvider

BODY = {"model": "veo_3_1-fast", "prompt": "a paper lantern rising"}


@pytest.fixture
def fake(videomock_server: FakeProvider) -> FakeProvider:
    return videomock_server


def test_polls_are_retried_through_5xx(fake: FakeProvider, video_client: VideoClient) -> None:
    task = video_client.submit(**BODY)
    fake.add_fault(endpoint="poll", times=2, action={"type": "http_error", "status": 503})
    assert video_client.get(task.id).status == "completed"
    assert [r["status"] for r in fake.requests[1:]] == [503, 503, 200]


def test_polls_are_retried_through_dropped_connections(fake: FakeProvider, video_client: VideoClient) -> None:
    task = video_client.submit(**BODY)
    fake.add_fault(endpoint="poll", times=1, action={"type": "reset"})
    fake.add_fault(endpoint="poll", after=1, times=1, action={"type": "truncated_json"})
    assert video_client.get(task.id).status == "completed"
    assert len(fake.requests) == 4


def test_retries_give_up_with_the_mapped_error(fake: FakeProvider, video_client: VideoClient) -> None:
    task = video_client.submit(**BODY)
    fake.add_fault(endpoint="poll", action={"type": "http_error", "status": 502})
    with pytest.raises(ServerError) as caught:
        video_client.get(task.id)
    assert caught.value.status == 502 and len(fake.requests) == 1 + video_client.retry.max_attempts


def test_a_submit_is_not_resent_after_a_5xx(fake: FakeProvider, video_client: VideoClient) -> None:
    fake.add_fault(endpoint="submit", times=1, action={"type": "http_error", "status": 500})
    with pytest.raises(ServerError):
        video_client.submit(**BODY)
    assert len(fake.requests) == 1


def test_an_idempotent_submit_survives_a_lost_answer(fake: FakeProvider, video_client: VideoClient) -> None:
    fake.add_fault(endpoint="submit", times=1, action={"type": "reset"})
    task = video_client.submit(**BODY, idempotency_key="order-42")
    assert [t["task_id"] for t in fake.tasks] == [task.id]  # created once, though sent twice
    assert len(fake.requests) == 2


def test_a_lost_submit_without_a_key_is_reported_not_resent(fake: FakeProvider, video_client: VideoClient) -> None:
    fake.add_fault(endpoint="submit", times=1, action={"type": "reset"})
    with pytest.raises(TransportError):
        video_client.submit(**BODY)
    assert len(fake.requests) == 1 and len(fake.tasks) == 1  # the job exists; the client says it can't know


def test_rate_limited_after_the_last_attempt(fake: FakeProvider, video_client: VideoClient) -> None:
    fake.add_fault(endpoint="submit", action={"type": "http_error", "status": 429, "retry_after": 1})
    with pytest.raises(RateLimited) as caught:
        video_client.submit(**BODY)
    assert caught.value.retry_after == 1


def test_download_resumes_after_a_cut(fake: FakeProvider, video_client: VideoClient, tmp_path: Path) -> None:
    task = video_client.wait(video_client.submit(**BODY))
    video_client.download(task, tmp_path / "whole.mp4")
    fake.add_fault(endpoint="download", times=2, action={"type": "truncated_download", "fraction": 0.3})
    video_client.download(task, tmp_path / "resumed.mp4")
    assert (tmp_path / "resumed.mp4").read_bytes() == (tmp_path / "whole.mp4").read_bytes()
    downloads = [r for r in fake.requests if r["path"].endswith("/content")]
    assert [r["status"] for r in downloads] == [200, 200, 206, 206]


def test_download_follows_a_cdn_redirect_without_leaking_the_key(fake: FakeProvider, video_client: VideoClient, tmp_path: Path) -> None:
    task = video_client.wait(video_client.submit(**BODY))
    fake.add_fault(endpoint="download", action={"type": "redirect"})
    video_client.download(task, tmp_path / "cdn.mp4")
    assert (tmp_path / "cdn.mp4").read_bytes()[4:8] == b"ftyp"
    cdn = [r for r in fake.requests if r["path"].startswith("/cdn/")]
    assert len(cdn) == 1 and cdn[0]["key"] is None


@pytest.mark.videomock(clock="manual")
def test_wait_backs_off_on_virtual_time(fake: FakeProvider, video_client: VideoClient) -> None:
    task = video_client.submit(**BODY)
    start = fake.now
    video_client.wait(task, poll_interval=1, timeout=600)
    polls = [r["virtual_time"] - start for r in fake.requests[1:]]
    gaps = [b - a for a, b in zip(polls, polls[1:])]
    assert gaps == sorted(gaps) and gaps[0] == pytest.approx(1) and max(gaps) <= 10
