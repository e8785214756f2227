"""Retries, Retry-After, idempotency keys and resumed downloads, against a scripted server over real HTTP
(the fake's own fault injection is not on this branch). Sleeping is virtual: each test records the delays
the client chose instead of waiting them."""

from __future__ import annotations

import io
import random
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Response, request

from tests.clientlib_support import Reply, ScriptedServer, VirtualTime, recorded, reply
from videomock.client import (
    ContractWarning,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    VideoClient,
)

TASK = {"task_id": "task_retry", "status": "queued"}
SUBMIT = "/v1/video/generations"
POLL = f"{SUBMIT}/task_retry"
BODY = {"model": "veo_3_1", "prompt": "retry"}
VIDEO = random.Random(5).randbytes(300_000)


def error(status: int, type_: str, code: str | None = None) -> dict[str, object]:
    return {"error": {"message": f"scripted {status}", "type": type_, "param": None, "code": code}}


TASK_BODY = {"task_id": "task_retry", "status": "queued", "progress": 0, "url": None, "format": "mp4",
             "metadata": {"duration": 8, "fps": 24, "width": 1280, "height": 720, "seed": 1}, "error": None}


@pytest.fixture(scope="module")
def shared_server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


@pytest.fixture
def server(shared_server: ScriptedServer) -> ScriptedServer:
    shared_server.reset()
    return shared_server


def closed_port_url() -> str:
    """A URL nobody listens on: the port was free a moment ago and is closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def client_for(url: str, time: VirtualTime, *, policy: dict[str, Any] | None = None, **options: Any) -> VideoClient:
    return VideoClient(url, "sk-test", retry=time.policy(**(policy or {})), clock=time.clock, **options)


# --- the policy ---------------------------------------------------------------------------------------------

def test_backoff_grows_with_seeded_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=random.Random(1))
    delays = [policy.backoff(n) for n in range(1, 7)]
    for n, delay in enumerate(delays, start=1):
        step = min(8.0, 2.0 ** (n - 1))
        assert step / 2 <= delay <= step
    again = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=random.Random(1))
    assert [again.backoff(n) for n in range(1, 7)] == delays


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
    policy = RetryPolicy(now=now.timestamp)
    assert policy.retry_after("7") == 7.0
    assert policy.retry_after("Wed, 25 Nov 2026 08:00:12 GMT") == 12.0
    assert policy.retry_after("Wed, 25 Nov 2026 07:00:00 GMT") == 0.0
    assert policy.retry_after("soon") is None and policy.retry_after(None) is None
    assert policy.retry_after("\u00b2") is None  # str.isdigit() takes a superscript two for a digit


def test_a_content_range_that_is_not_ascii_digits_is_a_transport_error_or_an_unknown_size(server: ScriptedServer) -> None:
    """str.isdigit() takes a superscript two for a digit; int() then raised ValueError out of download()."""
    server.on("GET", "/video.mp4", reply(206, b"0123456789", {"Content-Range": "bytes \u00b2-9/10", "Content-Type": "video/mp4"}),
              reply(206, b"0123456789", {"Content-Range": "bytes 0-9/\u00b2", "Content-Type": "video/mp4"}))
    out = io.BytesIO()
    with client_for(server.url, VirtualTime()) as client:
        with pytest.raises(TransportError, match="Content-Range"):
            client.download(f"{server.url}/video.mp4", out)
        assert client.download(f"{server.url}/video.mp4", out) == 10 and out.getvalue() == b"0123456789"


# --- idempotent calls are retried ---------------------------------------------------------------------------

def test_poll_retries_429_honouring_retry_after_in_seconds_and_as_a_date(server: ScriptedServer) -> None:
    time = VirtualTime(now=1_800_000_000.0)
    date = format_datetime(datetime.fromtimestamp(time.now + 5, UTC), usegmt=True)
    server.on("GET", POLL, reply(429, error(429, "rate_limit_error"), {"Retry-After": "2"}),
              reply(429, error(429, "rate_limit_error"), {"Retry-After": date}), reply(200, TASK_BODY))
    with VideoClient(server.url, "k", retry=RetryPolicy(sleep=time.sleep, now=time.clock)) as client:
        assert client.get("task_retry").status == "queued"
    assert time.sleeps == [2.0, 3.0]  # the date is absolute: 5 s after the start, 2 s of which were slept and len(server.requests_to("GET", POLL)) == 3


def test_poll_retries_5xx_with_backoff_then_gives_up_with_server_error(server: ScriptedServer) -> None:
    server.on("GET", POLL, reply(503, error(503, "server_error")), reply(502, error(502, "server_error")),
              reply(500, error(500, "server_error")))
    time = VirtualTime()
    with client_for(server.url, time, policy={"max_attempts": 4, "base_delay": 1.0}) as client:
        with pytest.raises(ServerError) as caught:
            client.get("task_retry")
    assert caught.value.status == 500 and caught.value.message == "scripted 500"
    assert len(server.requests_to("GET", POLL)) == 4 and len(time.sleeps) == 3
    for attempt, delay in enumerate(time.sleeps, start=1):
        step = 2.0 ** (attempt - 1)
        assert step / 2 <= delay <= step


def test_a_retry_after_beyond_max_delay_is_returned_to_the_caller(server: ScriptedServer) -> None:
    server.on("GET", POLL, reply(429, error(429, "rate_limit_error", "rate_limited"), {"Retry-After": "120"}))
    time = VirtualTime()
    with client_for(server.url, time) as client, pytest.raises(RateLimited) as caught:
        client.get("task_retry")
    assert (caught.value.retry_after, caught.value.code, time.sleeps) == (120.0, "rate_limited", [])


def test_connection_errors_are_retried_then_raised_as_transport_error() -> None:
    time = VirtualTime()
    with client_for(closed_port_url(), time, policy={"max_attempts": 3}) as client:
        with pytest.raises(TransportError):
            client.get("task_retry")
        assert len(time.sleeps) == 2
        with pytest.raises(TransportError):
            client.submit(BODY)
        assert len(time.sleeps) == 2  # a submit without a key is never resent after a connection error


# --- submits are retried only when that cannot create a second job -----------------------------------------

def test_submit_is_not_resent_after_a_5xx_without_an_idempotency_key(server: ScriptedServer) -> None:
    server.on("POST", SUBMIT, reply(503, error(503, "server_error")), reply(200, TASK))
    time = VirtualTime()
    with client_for(server.url, time) as client, pytest.raises(ServerError):
        client.submit(BODY)
    assert len(server.requests_to("POST", SUBMIT)) == 1 and time.sleeps == []


def test_submit_is_resent_after_a_429_because_nothing_was_created(server: ScriptedServer) -> None:
    server.on("POST", SUBMIT, reply(429, error(429, "rate_limit_error"), {"Retry-After": "1"}), reply(200, TASK))
    time = VirtualTime()
    with client_for(server.url, time) as client:
        assert client.submit(BODY).id == "task_retry"
    assert time.sleeps == [1.0] and len(server.requests_to("POST", SUBMIT)) == 2


@pytest.mark.parametrize("given", ["key-from-caller", None])
def test_submit_with_an_idempotency_key_is_resent_with_the_same_key(server: ScriptedServer, given: str | None) -> None:
    server.on("POST", SUBMIT, reply(503, error(503, "server_error")), reply(502, error(502, "server_error")), reply(200, TASK))
    time = VirtualTime()
    with client_for(server.url, time, idempotency_keys=given is None) as client:
        assert client.submit(BODY, idempotency_key=given).id == "task_retry"
    keys = [s.headers.get("Idempotency-Key") for s in server.requests_to("POST", SUBMIT)]
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0] and (given is None or keys[0] == given)
    assert all(s.body == BODY for s in server.requests_to("POST", SUBMIT))


# --- error classes the fake cannot produce ------------------------------------------------------------------

def test_403_is_permission_denied_and_out_of_quota_is_quota_exceeded(server: ScriptedServer) -> None:
    server.on("GET", POLL, reply(403, error(403, "permission_error", "forbidden")))
    server.on("POST", SUBMIT, recorded("new_api_quota.json"))
    with VideoClient(server.url, "k") as client:
        with pytest.raises(PermissionDenied) as denied:
            client.get("task_retry")
        assert type(denied.value) is PermissionDenied and denied.value.violations == ()
        with pytest.warns(ContractWarning, match="new_api_error"), pytest.raises(QuotaExceeded) as quota:
            client.submit(BODY)
    assert (quota.value.status, quota.value.type, quota.value.code) == (403, "new_api_error", "insufficient_user_quota")
    assert {v.pointer for v in quota.value.violations} == {"/error/type"}


# --- downloads ----------------------------------------------------------------------------------------------

def serve_video(*, honour_range: bool, cut_first_at: int | None, etag: str = '"v1"') -> Reply:
    """A route serving VIDEO; the first response is cut after ``cut_first_at`` bytes (Content-Length still
    promising the whole file), as a dropped connection would."""
    state = {"served": 0}

    def make() -> Response:
        state["served"] += 1
        start = 0
        if honour_range and "Range" in request.headers and request.headers.get("If-Range") in (None, etag):
            start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
        data = VIDEO[start:]
        cut = cut_first_at if state["served"] == 1 else None

        def body() -> Iterator[bytes]:
            yield data[:cut] if cut is not None else data
            if cut is not None:
                raise ConnectionResetError("scripted cut")

        headers = {"Content-Length": str(len(data)), "ETag": etag, "Accept-Ranges": "bytes"}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(VIDEO) - 1}/{len(VIDEO)}"
        return Response(body(), status=206 if start else 200, headers=headers, mimetype="video/mp4")
    return make


def test_a_cut_download_resumes_with_range_and_if_range(server: ScriptedServer, tmp_path: Path) -> None:
    server.on("GET", "/video.mp4", serve_video(honour_range=True, cut_first_at=100_000))
    time = VirtualTime()
    progress: list[tuple[int, int | None]] = []
    with client_for(server.url, time) as client:
        written = client.download(f"{server.url}/video.mp4", tmp_path / "v.mp4",
                                  on_progress=lambda done, total: progress.append((done, total)))
    assert written == len(VIDEO) and (tmp_path / "v.mp4").read_bytes() == VIDEO
    first, second = server.requests_to("GET", "/video.mp4")
    assert "Range" not in first.headers
    resumed_at = int(second.headers["Range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 100_000 and second.headers["If-Range"] == '"v1"'
    assert progress[-1] == (len(VIDEO), len(VIDEO)) and len(time.sleeps) == 1


def test_a_server_that_ignores_range_gets_the_file_rewritten(server: ScriptedServer) -> None:
    server.on("GET", "/video.mp4", serve_video(honour_range=False, cut_first_at=100_000))
    out = io.BytesIO()
    with client_for(server.url, VirtualTime()) as client:
        assert client.download(f"{server.url}/video.mp4", out) == len(VIDEO)
    assert out.getvalue() == VIDEO and "Range" in server.requests_to("GET", "/video.mp4")[1].headers


def test_a_download_that_never_progresses_gives_up_and_leaves_no_file(server: ScriptedServer, tmp_path: Path) -> None:
    server.on("GET", "/video.mp4", serve_video(honour_range=True, cut_first_at=0),
              reply(503, error(503, "server_error")))
    time = VirtualTime()
    with client_for(server.url, time, policy={"max_attempts": 3}) as client, pytest.raises(ServerError):
        client.download(f"{server.url}/video.mp4", tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == [] and len(time.sleeps) == 2


def test_the_api_key_is_sent_to_the_provider_but_not_to_another_host(server: ScriptedServer) -> None:
    server.on("GET", "/video.mp4", serve_video(honour_range=True, cut_first_at=None))
    with ScriptedServer() as cdn:
        cdn.on("GET", "/video.mp4", serve_video(honour_range=True, cut_first_at=None))
        with VideoClient(server.url, "sk-secret") as client:
            client.download(f"{server.url}/video.mp4", io.BytesIO())
            client.download(f"{cdn.url}/video.mp4", io.BytesIO())
        assert "Authorization" not in cdn.seen[0].headers
    assert server.seen[0].headers["Authorization"] == "Bearer sk-secret"
