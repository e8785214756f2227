"""Clients that misbehave on purpose, against a real ``videomock serve`` on loopback: slow and idle
connections, delayed requests whose clients leave, forged and replayed links, and secrets that must never
come back out. Each test is bounded in time and in the number of connections it opens."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.serve_process import serve

HEADERS = {"Authorization": "Bearer sk-hostile"}
BODY = {"model": "veo_3_1", "prompt": "a harbour at dawn", "duration": 4}
#: Seconds `--read-timeout` gives a request to arrive in these tests (short, so that they are quick).
READ_TIMEOUT = 1.0
#: Seconds a well-behaved request may take here while the server is under attack: generous on purpose
#: (a shared CI machine), and far below what a stalled server would take (forever).
PROMPT = 3.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("hostile")
    with serve("--workers", "2", "--threads", "4", "--store", str(folder / "store.db"), "--cache-dir",
               str(folder / "videos"), "--clock", "instant", "--read-timeout", str(READ_TIMEOUT)) as running:
        yield running.url


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


@contextlib.contextmanager
def held_connections(url: str, payloads: list[bytes]) -> Iterator[list[socket.socket]]:
    """One connection per payload, each sending its payload and then nothing more."""
    sockets = []
    try:
        for payload in payloads:
            sock = socket.create_connection(_address(url), timeout=PROMPT)
            if payload:
                sock.sendall(payload)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def _answer(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends on ``sock`` until it closes it (or ``within`` seconds pass)."""
    sock.settimeout(within)
    received = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def _healthy(url: str, times: int) -> None:
    for _ in range(times):
        assert requests.get(f"{url}/healthz", timeout=PROMPT).json()["status"] == "ok"


PARTIAL_REQUESTS = [
    b"G",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-",
    b"POST /v1/video/generations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"mo",
]


def test_partial_requests_get_a_json_408_and_never_stall_other_clients(server: str) -> None:
    with held_connections(server, PARTIAL_REQUESTS * 20) as slow:
        _healthy(server, 20)
        started = time.monotonic()
        answers = [_answer(sock, READ_TIMEOUT + PROMPT) for sock in slow]
    assert time.monotonic() - started < READ_TIMEOUT + PROMPT
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer[:200]
        assert json.loads(body)["error"]["type"] == "invalid_request_error"


def test_idle_connections_are_closed_without_holding_a_thread(server: str) -> None:
    with held_connections(server, [b""] * 50) as idle:
        _healthy(server, 20)
        assert [_answer(sock, READ_TIMEOUT + PROMPT) for sock in idle] == [b""] * 50


def test_two_hundred_slow_connections_leave_the_server_answering(server: str) -> None:
    with held_connections(server, PARTIAL_REQUESTS * 67):
        _healthy(server, 30)


def test_a_slow_body_gets_408_even_while_it_keeps_trickling(server: str) -> None:
    """A deadline per read would let a client that sends a byte now and then hold its thread for ever."""
    head = (b"POST /v1/video/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-hostile\r\n"
            b"Content-Type: application/json\r\nContent-Length: 200000\r\n\r\n")
    with socket.create_connection(_address(server), timeout=PROMPT) as sock:
        sock.sendall(head)
        started = time.monotonic()
        with contextlib.suppress(OSError):
            while time.monotonic() - started < READ_TIMEOUT + PROMPT:
                sock.sendall(b" " * 100)
                time.sleep(0.05)   # the client's own pace, not synchronisation
                if time.monotonic() - started > READ_TIMEOUT + 0.5:
                    break
        answer = _answer(sock, PROMPT)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_delayed_requests_whose_clients_leave_free_their_threads(server: str) -> None:
    """Eight threads in all (2 workers x 4): 24 abandoned delay=30 requests would hold every one of them."""
    task_id = requests.post(f"{server}/v1/video/generations", json=BODY, headers=HEADERS, timeout=PROMPT).json()["task_id"]
    poll = f"GET /v1/video/generations/{task_id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-hostile\r\nX-Videomock-Fault: delay=30\r\n\r\n"
    with held_connections(server, [poll.encode()] * 24):
        time.sleep(0.05)   # the clients give up after 50 ms (the behaviour under test), then hang up
    started = time.monotonic()
    with requests.Session() as session:
        for _ in range(16):
            assert session.get(f"{server}/v1/video/generations/{task_id}", headers=HEADERS, timeout=PROMPT).ok
    assert time.monotonic() - started < PROMPT


def test_a_download_link_cannot_be_forged_from_what_the_server_makes_public(server: str) -> None:
    """Ids follow from the seed (determinism), so the signing key must not: it is random, in the store."""
    task_id = requests.post(f"{server}/v1/video/generations", json=BODY, headers=HEADERS, timeout=PROMPT).json()["task_id"]
    assert "seed" not in requests.get(f"{server}/healthz", timeout=PROMPT).json()
    import hashlib
    import hmac

    from videomock.core import rng

    seed_derived = rng.token(0, "link-signing-key", length=40).encode()   # the key the fake once used
    expires = 4_000_000_000
    forged = hmac.new(seed_derived, f"{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]
    for path in (f"/cdn/videos/{task_id}.mp4", f"/v1/videos/{task_id}/content"):
        answer = requests.get(f"{server}{path}?expires={expires}&signature={forged}", timeout=PROMPT)
        assert answer.status_code in (401, 403), (path, answer.status_code)


def test_a_signed_link_stops_working_when_it_expires_and_cannot_be_stretched(tmp_path: Path) -> None:
    with serve("--store", str(tmp_path / "store.db"), "--cache-dir", str(tmp_path / "videos"), "--clock", "manual") as running:
        url = running.url
        task_id = requests.post(f"{url}/v1/video/generations", json=BODY, headers=HEADERS, timeout=PROMPT).json()["task_id"]
        requests.post(f"{url}/__admin/clock/advance", json={"seconds": 3600}, timeout=PROMPT)
        link = requests.get(f"{url}/v1/video/generations/{task_id}", headers={**HEADERS, "X-Videomock-Fault": "expire=60"},
                            timeout=PROMPT).json()["url"]
        assert requests.get(link, headers=HEADERS, timeout=PROMPT).status_code == 200
        expires = int(link.split("expires=")[1].split("&")[0])
        stretched = link.replace(f"expires={expires}", f"expires={expires + 10_000}")
        assert requests.get(stretched, headers=HEADERS, timeout=PROMPT).json()["error"]["code"] == "invalid_signature"
        requests.post(f"{url}/__admin/clock/advance", json={"seconds": 61}, timeout=PROMPT)
        assert requests.get(link, headers=HEADERS, timeout=PROMPT).json()["error"]["code"] == "url_expired"


def test_no_secret_is_returned_by_any_route_or_kept_in_any_file(tmp_path: Path) -> None:
    import jwt

    webhook_secret = "whsec_" + base64.b64encode(b"webhook-signing-secret-5").decode()
    secrets = ["sk-alpha-secret-1", "sk-beta-secret-2", "admin-token-secret-3", "kling-secret-key-4-of-thirty-two-bytes", webhook_secret]
    store = tmp_path / "state" / "store.db"
    with serve("--store", str(store), "--cache-dir", str(tmp_path / "videos"), "--clock", "instant",
               "--api-key", secrets[0], "--api-key", secrets[1], "--admin-token", secrets[2],
               "--kling-key", f"ak-kling:{secrets[3]}") as running:
        url, admin = running.url, {"Authorization": f"Bearer {secrets[2]}"}
        task_id = requests.post(f"{url}/v1/video/generations", json=BODY, timeout=PROMPT,
                                headers={"Authorization": f"Bearer {secrets[0]}"}).json()["task_id"]
        requests.post(f"{url}/__admin/faults", json={"key": secrets[1], "action": {"type": "http_error", "status": 429}},
                      headers=admin, timeout=PROMPT)
        endpoint = {"url": "http://127.0.0.1:9/events", "secret": webhook_secret}
        assert requests.patch(f"{url}/__admin/config", json={"webhooks": {"endpoints": [endpoint]}}, headers=admin,
                              timeout=PROMPT).ok
        signed = jwt.encode({"iss": "ak-kling", "exp": int(time.time()) + 600}, secrets[3], algorithm="HS256")
        kling = requests.post(f"{url}/v1/videos/text2video", json={"model_name": "kling-v2-6", "prompt": "a harbour"}, timeout=PROMPT,
                              headers={"Authorization": f"Bearer {signed}"})
        assert kling.ok, kling.text   # the sealed secret key still checks signatures
        seen = [requests.get(f"{url}{path}", headers=admin, timeout=PROMPT).text for path in
                ("/__admin/config", "/__admin/requests", "/__admin/tasks", "/__admin/clock", "/healthz", "/openapi.json",
                 "/__admin/deliveries", f"/v1/video/generations/{task_id}",
                 f"/v1/videos/text2video/{kling.json()['data']['task_id']}")]
        assert requests.get(f"{url}/__admin/config", timeout=PROMPT).status_code == 401
    for text in seen:
        assert not any(secret in text for secret in secrets)
    files = [path for path in store.parent.iterdir() if path.name.startswith("store.db")]
    assert files and all(stat.S_IMODE(path.stat().st_mode) & 0o077 == 0 for path in files)
    for path in files:
        content = path.read_bytes()
        assert [secret for secret in secrets if secret.encode() in content] == [], path.name


def test_without_an_admin_token_a_public_server_answers_admin_requests_from_loopback_only(tmp_path: Path) -> None:
    own_address = _non_loopback_address()
    if own_address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    with serve("--host", "0.0.0.0", "--store", str(tmp_path / "store.db"), "--cache-dir", str(tmp_path / "videos")) as running:
        port = running.port
        assert "loopback clients only" in running.output()
        assert requests.get(f"http://127.0.0.1:{port}/__admin/clock", timeout=PROMPT).ok
        remote = requests.get(f"http://{own_address}:{port}/__admin/clock", timeout=PROMPT)
        assert remote.status_code == 403 and remote.json()["error"]["code"] == "admin_loopback_only"
        assert requests.get(f"http://{own_address}:{port}/healthz", timeout=PROMPT).ok
        assert f"videomock dashboard: http://0.0.0.0:{port}/__admin/ui" in running.output()   # the line after "serving on"


def _non_loopback_address() -> str | None:
    """An address of this machine that is not loopback, so a request to it arrives from a non-loopback peer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))   # TEST-NET-1: nothing is sent, the kernel only picks a route
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_servers_without_a_store_never_share_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("VIDEOMOCK_CACHE_DIR", str(tmp_path / "videos"))
    port = _free_port()
    with serve("--port", str(port), "--clock", "manual") as first:
        task_id = requests.post(f"{first.url}/v1/video/generations", json=BODY, headers=HEADERS, timeout=PROMPT).json()["task_id"]
        with serve("--clock", "speed", "--speed", "1000", "--seed", "7") as second:
            requests.post(f"{second.url}/__admin/reset", timeout=PROMPT)
            assert requests.get(f"{second.url}/v1/video/generations/{task_id}", headers=HEADERS, timeout=PROMPT).status_code == 404
        clock = requests.get(f"{first.url}/__admin/clock", timeout=PROMPT).json()
        assert clock["mode"] == "manual"
        assert requests.get(f"{first.url}/__admin/config", timeout=PROMPT).json()["seed"] == 0
        assert requests.get(f"{first.url}/v1/video/generations/{task_id}", headers=HEADERS, timeout=PROMPT).ok
        first.kill()
    with serve("--port", str(port), "--clock", "manual") as again:   # the same server, restarted
        assert requests.get(f"{again.url}/v1/video/generations/{task_id}", headers=HEADERS, timeout=PROMPT).ok


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to loopback must not go through a proxy from the environment."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    assert os.environ["NO_PROXY"] == "*"
