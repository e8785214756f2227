"""CORS, for a browser front-end that calls the fake directly: off unless asked for, then on every answer
to an allowed origin (errors, faults and the poll fast path included), with preflights answered before
authentication. A real browser's run is in the browser test; these check the headers over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.clientlib_support import serve_fake
from tests.serve_process import serve
from videomock.media.library import VideoLibrary

FRONT_END = "http://localhost:5173"
BODY = {"model": "veo_3_1", "prompt": "a fox"}


@pytest.fixture(scope="module")
def cors_fake(video_library: VideoLibrary) -> Iterator[str]:
    with serve_fake({"clock": {"mode": "instant"}, "server": {"cors_origins": [FRONT_END]}}, video_library) as (url, _):
        yield url


def preflight(url: str, origin: str, method: str = "POST") -> requests.Response:
    return requests.options(url, timeout=10, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                      "Access-Control-Request-Headers": "authorization, content-type"})


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_key(cors_fake: str) -> None:
    answer = preflight(f"{cors_fake}/v1/video/generations", FRONT_END)
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert answer.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]


def test_every_answer_to_an_allowed_origin_carries_the_headers(cors_fake: str) -> None:
    headers = {"Origin": FRONT_END, "Authorization": "Bearer k"}
    submitted = requests.post(f"{cors_fake}/v1/video/generations", json=BODY, headers=headers, timeout=10)
    polled = requests.get(f"{cors_fake}/v1/video/generations/{submitted.json()['task_id']}", headers=headers, timeout=10)
    refused = requests.post(f"{cors_fake}/v1/video/generations", json={"model": "nope"}, headers=headers, timeout=10)
    unauthenticated = requests.get(f"{cors_fake}/v1/models", headers={"Origin": FRONT_END}, timeout=10)
    for answer, status in ((submitted, 200), (polled, 200), (refused, 400), (unauthenticated, 401)):
        assert answer.status_code == status
        assert answer.headers["Access-Control-Allow-Origin"] == FRONT_END
        assert answer.headers["Access-Control-Expose-Headers"] == "*"   # Retry-After, ETag, Content-Range
        assert "Origin" in answer.headers["Vary"]


def test_other_origins_get_no_cors_headers(cors_fake: str) -> None:
    answer = requests.get(f"{cors_fake}/v1/models", headers={"Origin": "http://evil.example", "Authorization": "Bearer k"},
                          timeout=10)
    assert answer.status_code == 200 and "Access-Control-Allow-Origin" not in answer.headers
    assert "Access-Control-Allow-Origin" not in preflight(f"{cors_fake}/v1/models", "http://evil.example", "GET").headers


def test_a_preflight_for_a_method_no_route_takes_gets_no_cors_headers(cors_fake: str) -> None:
    assert "Access-Control-Allow-Origin" not in preflight(f"{cors_fake}/v1/models", FRONT_END, "PUT").headers


def test_cors_is_off_by_default(video_library: VideoLibrary) -> None:
    with serve_fake({}, video_library) as (url, _):
        answer = preflight(f"{url}/v1/video/generations", FRONT_END)
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_origin_flag_of_videomock_serve() -> None:
    with serve("--cors-origin", "*", "--store", "memory") as server:
        answer = requests.get(f"{server.url}/healthz", headers={"Origin": "http://anything.example"}, timeout=10)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_a_bad_origin_is_refused_at_startup(video_library: VideoLibrary) -> None:
    from videomock.config import ConfigError

    with pytest.raises(ConfigError, match="cors_origins"), serve_fake({"server": {"cors_origins": ["localhost:5173/"]}},
                                                                      video_library):
        pass
