"""The in-process mode beyond `requests`: httpx clients (handed out, or every one built under ``mock_httpx``),
faults acted out as httpx's own exceptions, nested fakes, ``videomock.fake()`` and ``serve_in_thread()``
outside pytest's fixtures, and the fault rules' admin API over real HTTP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
import requests

from videomock import fake, serve_in_thread
from videomock.pytest_plugin.provider import FakeProvider

httpx = pytest.importorskip("httpx2")

BODY = {"model": "veo_3_1", "prompt": "a fox"}


def submit_with(client: object, fake: FakeProvider) -> object:
    return client.post(f"{fake.url}/v1/video/generations", json=BODY, headers=fake.headers)  # type: ignore[attr-defined]


def test_an_httpx_client_reaches_the_fake_with_no_socket(videomock: FakeProvider) -> None:
    with videomock.httpx_client() as client:
        task = submit_with(client, videomock).json()
        polled = client.get(f"{videomock.url}/v1/video/generations/{task['task_id']}", headers=videomock.headers)
        video = client.get(polled.json()["url"], headers=videomock.headers)
    assert polled.json()["status"] == "completed"
    assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"


def test_an_async_httpx_client_streams_the_video(videomock: FakeProvider) -> None:
    async def download() -> bytes:
        async with videomock.async_httpx_client() as client:
            task = (await client.post(f"{videomock.url}/v1/video/generations", json=BODY,
                                      headers=videomock.headers)).json()
            url = (await client.get(f"{videomock.url}/v1/video/generations/{task['task_id']}",
                                    headers=videomock.headers)).json()["url"]
            async with client.stream("GET", url, headers=videomock.headers) as answer:
                return b"".join([chunk async for chunk in answer.aiter_bytes()])

    assert asyncio.run(download())[4:8] == b"ftyp"


@pytest.mark.parametrize(("action", "error"), [
    ({"type": "reset"}, "ReadError"),
    ({"type": "empty"}, "RemoteProtocolError"),
    ({"type": "truncated_json"}, "RemoteProtocolError"),
    ({"type": "delay", "seconds": 30}, "ReadTimeout"),
])
def test_transport_faults_are_httpx_exceptions(videomock: FakeProvider, action: dict, error: str) -> None:
    videomock.add_fault(endpoint="submit", action=action)
    with videomock.httpx_client(timeout=5) as client, pytest.raises(getattr(httpx, error)):
        submit_with(client, videomock).json()
    assert videomock.faults[0]["fired"] == 1


def test_an_httpx_client_refuses_other_hosts(videomock: FakeProvider) -> None:
    with videomock.httpx_client() as client, pytest.raises(httpx.ConnectError, match="not the fake's URL"):
        client.get("http://example.com/")


@pytest.mark.videomock(mock_httpx=True)
def test_mock_httpx_routes_clients_the_code_under_test_builds(videomock: FakeProvider) -> None:
    with httpx.Client() as own:
        assert submit_with(own, videomock).status_code == 200
        with pytest.raises(httpx.ConnectError):
            own.get("http://example.com/")
    videomock.assert_requested(endpoint="submit", count=1)


def test_without_mock_httpx_an_own_client_is_told_how_to_reach_the_in_process_fake(videomock: FakeProvider) -> None:
    with httpx.Client() as own, pytest.raises(httpx.ConnectError, match="videomock.httpx_client()") as caught:
        submit_with(own, videomock)
    assert "mock_httpx=True" in str(caught.value) and "videomock_server" in str(caught.value)
    assert videomock.requests == []


def test_a_fake_inside_a_test_that_uses_the_fixture_wins_while_it_runs(videomock: FakeProvider) -> None:
    with fake() as inner:
        requests.post(f"{inner.url}/v1/video/generations", json=BODY, headers=inner.headers, timeout=10)
        assert len(inner.tasks) == 1 and videomock.tasks == []
    requests.post(f"{videomock.url}/v1/video/generations", json=BODY, headers=videomock.headers, timeout=10)
    assert len(videomock.tasks) == 1


def test_fake_refuses_other_hosts_and_stops_with_its_block() -> None:
    with fake() as provider:
        with pytest.raises(requests.ConnectionError, match="only the in-process fake is reachable"):
            requests.get("http://example.com/", timeout=5)
        assert requests.get(f"{provider.url}/healthz", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{provider.url}/healthz", timeout=5)


def test_fake_reports_a_bad_setting_where_it_is_written() -> None:
    with pytest.raises(videomock_config_error(), match="clock"):
        fake({"clock": {"mode": "sometimes"}})


def videomock_config_error() -> type[Exception]:
    from videomock.config import ConfigError

    return ConfigError


def test_fake_decorates_coroutine_functions() -> None:
    @fake(seed=5)
    async def scenario(label: str, provider: FakeProvider) -> str:
        async with provider.async_httpx_client() as client:
            answer = await client.post(f"{provider.url}/v1/video/generations", json=BODY, headers=provider.headers)
        return f"{label}:{answer.json()['task_id']}"

    first, second = asyncio.run(scenario("a")), asyncio.run(scenario("b"))
    assert first.startswith("a:task_") and second == "b:" + first[2:]  # each call a fresh fake with seed 5


def test_serve_in_thread_answers_another_process() -> None:
    with serve_in_thread({"auth": {"api_keys": ["sk-mine"]}}) as server:
        script = textwrap.dedent(f"""
            import json, urllib.request
            request = urllib.request.Request("{server.url}/v1/models", headers={{"Authorization": "Bearer sk-mine"}})
            print(len(json.load(urllib.request.urlopen(request, timeout=10))["data"]))
        """)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
        assert int(out.stdout) == len(server.backend.catalog)
        assert server.api_key == "sk-mine"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/healthz", timeout=5)


def test_fault_rules_over_the_admin_api(videomock_server: FakeProvider) -> None:
    admin = f"{videomock_server.url}/__admin/faults"
    requests.post(admin, json={"id": "busy", "endpoint": "submit", "times": 1,
                               "action": {"type": "http_error", "status": 429}}, timeout=10).raise_for_status()
    requests.post(admin, json={"id": "never", "endpoint": "download", "action": {"type": "reset"}},
                  timeout=10).raise_for_status()
    submit = f"{videomock_server.url}/v1/video/generations"
    statuses = [requests.post(submit, json=BODY, headers=videomock_server.headers, timeout=10).status_code
                for _ in range(2)]

    listed = requests.get(admin, timeout=10).json()
    gone = requests.delete(f"{admin}/never", timeout=10)
    missing = requests.delete(f"{admin}/never", timeout=10)

    assert statuses == [429, 200]
    assert [(rule["id"], rule["fired"]) for rule in listed["faults"]] == [("busy", 1), ("never", 0)]
    assert gone.status_code == 200 and [rule["id"] for rule in gone.json()["faults"]] == ["busy"]
    assert [rule["id"] for rule in videomock_server.faults] == ["busy"]
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "fault_rule_not_found"
    assert "busy" in missing.json()["error"]["message"]


def test_assert_requested_shows_what_was_requested_instead(videomock: FakeProvider) -> None:
    requests.post(f"{videomock.url}/v1/video/generations", json=BODY, headers=videomock.headers, timeout=10)
    requests.get(f"{videomock.url}/v1/models", headers=videomock.headers, timeout=10)

    with pytest.raises(AssertionError) as caught:
        videomock.assert_requested(endpoint="submit", model="veo_3_1_fast")
    message = str(caught.value)

    assert "expected at least one request(s) with endpoint='submit', model='veo_3_1_fast'; found 0 of the 2" in message
    assert "POST /v1/video/generations -> 200  endpoint=submit model=veo_3_1  (model='veo_3_1')" in message
    assert "GET /v1/models -> 200  endpoint=models" in message
    with pytest.raises(TypeError, match="unknown filter 'colour'"):
        videomock.requests_where(colour="red")
