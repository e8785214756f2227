"""Serving from several worker processes: every worker sees the same tasks, clock, counters and configuration
through the SQLite store, so answers do not depend on which worker a request reaches."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.serve_process import DEADLINE, ServeProcess, serve
from tests.test_server import assert_unparsable_request_refused
from videomock.config import check_config
from videomock.contracts.media import probe
from videomock.core.runtime import publish_config
from videomock.http.app import create_app
from videomock.store.sqlite import SqliteStore

API_KEY = "sk-workers"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
#: Identical bodies (seed included) share one cached video, so 500 tasks cost three renders.
BODIES = [
    {"model": "kling-v2-5-turbo", "prompt": "a lighthouse", "duration": 5, "width": 720, "height": 720, "fps": 24, "seed": 1},
    {"model": "veo_3_1-fast", "prompt": "a harbour", "duration": 4, "width": 720, "height": 1280, "seed": 2},
    {"model": "kling-v2-5-turbo", "prompt": "a storm", "duration": 5, "width": 720, "height": 1280, "fps": 24, "seed": 3},
]


def serving(tmp_path: Path, workers: int) -> tuple[str, ...]:
    return ("--workers", str(workers), "--store", str(tmp_path / f"store-{workers}.db"),
            "--cache-dir", str(tmp_path / "videos"))


def exchange(connection: http.client.HTTPConnection, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request on a kept-alive connection: the status and the JSON body."""
    connection.request(method, path, body=None if body is None else json.dumps(body),
                       headers={**HEADERS, "Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def connections_to_distinct_workers(server: ServeProcess, workers: int) -> list[http.client.HTTPConnection]:
    """One kept-alive connection held by each worker: the kernel hands each new connection to one worker's
    socket, so connections are opened until every worker holds one (the others are closed)."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    held: dict[int, http.client.HTTPConnection] = {}
    deadline = time.monotonic() + DEADLINE
    while len(held) < workers:
        assert time.monotonic() < deadline, f"only {len(held)} of {workers} workers accepted a connection"
        connection = http.client.HTTPConnection(host, int(port), timeout=DEADLINE)
        assert exchange(connection, "GET", "/__admin/clock")[0] == 200
        holder = server.holder_of(connection)
        if holder in held:
            connection.close()
        else:
            held[holder] = connection
    return list(held.values())


# --- 500 tasks from 32 threads across 4 workers --------------------------------------------------------------

ROUTES = {
    "submit": re.compile(r"/v1/video/generations"),
    "poll": re.compile(r"/v1/video/generations/task_\w+"),
    "download": re.compile(r"/v1/videos/task_\w+/content"),
}


def route(path: str) -> str:
    return next(name for name, pattern in ROUTES.items() if pattern.fullmatch(path))


class Clients:
    """Client threads, each with its own kept-alive connection, and a count of every request they made and
    the status it got, as the journal should record them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: Counter[tuple[str, str, int]] = Counter()
        self._lock = threading.Lock()
        self._thread = threading.local()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if not hasattr(self._thread, "session"):
            self._thread.session = requests.Session()
            self._thread.session.headers.update(HEADERS)
        response = self._thread.session.request(method, self.url + path, timeout=DEADLINE, **kwargs)
        with self._lock:
            self.seen[method, route(path), response.status_code] += 1
        return response

    def lifecycle(self, body: dict[str, Any]) -> tuple[str, dict[str, Any], bytes]:
        """Submit, poll until finished, download: the task id, its last poll and its video."""
        submitted = self.request("POST", "/v1/video/generations", json=body)
        assert submitted.status_code == 200, submitted.text
        task_id = submitted.json()["task_id"]
        deadline = time.monotonic() + DEADLINE
        while (task := self.request("GET", f"/v1/video/generations/{task_id}").json())["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline, f"{task_id} did not finish within {DEADLINE} s: {task}"
        video = self.request("GET", f"/v1/videos/{task_id}/content")
        assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
        assert int(video.headers["Content-Length"]) == len(video.content)
        return task_id, task, video.content


def test_500_submissions_from_32_threads_across_4_workers(tmp_path: Path) -> None:
    with serve(*serving(tmp_path, 4), "--clock", "instant") as server:
        for connection in connections_to_distinct_workers(server, 4):   # all four are up and answering
            connection.close()
        clients = Clients(server.url)
        with ThreadPoolExecutor(32) as threads:
            results = list(threads.map(clients.lifecycle, [BODIES[i % len(BODIES)] for i in range(500)]))
            serving_workers = set(server.connection_holders().values())   # while the clients' connections are open
        journal = requests.get(f"{server.url}/__admin/requests", timeout=DEADLINE).json()["requests"]
    assert len(serving_workers) > 1

    ids = [task_id for task_id, _, _ in results]
    assert len(set(ids)) == 500
    assert {task["status"] for _, task, _ in results} == {"completed"}
    videos: dict[str, set[bytes]] = {}
    for i, (_, _, video) in enumerate(results):
        assert video[4:8] == b"ftyp" and len(video) > 10_000
        videos.setdefault(json.dumps(BODIES[i % len(BODIES)]), set()).add(video)
    assert all(len(same_body) == 1 for same_body in videos.values())   # one cached render per body
    for body, (video,) in list(videos.items())[:2]:
        (tmp_path / "probe.mp4").write_bytes(video)
        info, asked = probe(tmp_path / "probe.mp4"), json.loads(body)
        assert (info.width, info.height, info.frame_count) == (asked["width"], asked["height"], asked["duration"] * 24)

    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
    assert Counter((e["method"], route(e["path"]), e["status"]) for e in journal) == clients.seen
    assert sorted(e["task_id"] for e in journal if e["method"] == "POST") == sorted(ids)


# --- the same answers from 4 workers as from 1 ----------------------------------------------------------------

FAULTS = [
    {"id": "flaky", "endpoint": "submit", "probability": 0.3, "action": {"type": "http_error", "status": 503}},
    {"id": "doomed", "endpoint": "submit", "probability": 0.3,
     "action": {"type": "fail_task", "reason": "content_policy", "at_progress": 40}},
    {"id": "every-third-poll", "endpoint": "poll", "every": 3, "action": {"type": "http_error", "status": 429}},
]


def answers(server: ServeProcess, workers: int) -> tuple[list[Any], list[Any]]:
    """Fault rules set at runtime, then submits and polls sent one at a time, each over the next worker's
    connection in turn: every answer, and the tasks with their video seeds and plans. The bodies name no
    seed, so each video seed is drawn from the server's seed and the task's number."""
    connections = connections_to_distinct_workers(server, workers)
    assert exchange(connections[0], "PATCH", "/__admin/config", {"faults": FAULTS})[0] == 200
    turns = itertools.cycle(connections)
    outcomes: list[Any] = []
    for i in range(30):
        body = {k: v for k, v in BODIES[i % len(BODIES)].items() if k != "seed"}
        status, answer = exchange(next(turns), "POST", "/v1/video/generations", body)
        outcomes.append(("submit", status, answer["task_id"] if status == 200 else answer["error"]["code"]))
        if status == 200:
            status, answer = exchange(next(turns), "GET", f"/v1/video/generations/{answer['task_id']}")
            outcomes.append(("poll", status, answer["status"] if status == 200 else answer["error"]["code"]))
    _, tasks = exchange(connections[0], "GET", "/__admin/tasks")
    for connection in connections:
        connection.close()
    return outcomes, [(t["task_id"], t["params"]["seed"], t["plan"]) for t in tasks["tasks"]]


def test_the_same_seed_and_requests_give_the_same_answers_from_4_workers_as_from_1(tmp_path: Path) -> None:
    runs = {}
    for workers in (4, 1):
        with serve(*serving(tmp_path, workers), "--seed", "11", "--clock", "manual") as server:
            runs[workers] = answers(server, workers)
    assert runs[4] == runs[1]
    outcomes, tasks = runs[4]
    assert {(kind, status) for kind, status, _ in outcomes} == {("submit", 200), ("submit", 503), ("poll", 200), ("poll", 429)}
    assert {plan["outcome"] for _, _, plan in tasks} == {"complete", "fail"}


# --- transport faults in the workers ------------------------------------------------------------------------

def test_transport_faults_break_their_own_connection_and_no_worker(tmp_path: Path) -> None:
    """The faults break the connection they are applied to (reset, close, cut short); what the server does
    with that connection afterwards must neither answer the client nor take the worker down."""
    with serve(*serving(tmp_path, 2), "--clock", "instant") as server, requests.Session() as session:
        workers = server.wait_for_workers(2)
        session.headers.update(HEADERS)
        task_id = session.post(f"{server.url}/v1/video/generations", json=BODIES[0], timeout=DEADLINE).json()["task_id"]
        poll, download = f"{server.url}/v1/video/generations/{task_id}", f"{server.url}/v1/videos/{task_id}/content"
        assert session.get(poll, timeout=DEADLINE).json()["status"] == "completed"
        video = session.get(download, timeout=DEADLINE).content
        for url, fault, error in [(poll, "reset", requests.ConnectionError), (poll, "empty", requests.ConnectionError),
                                  (poll, "truncate=0.3", requests.exceptions.ChunkedEncodingError),
                                  (download, "truncate=0.5", requests.exceptions.ChunkedEncodingError)]:
            with pytest.raises(error):
                session.get(url, headers={"X-Videomock-Fault": fault}, timeout=DEADLINE)
            assert session.get(url, timeout=DEADLINE).status_code == 200
        assert session.get(download, timeout=DEADLINE).content == video
        assert server.worker_pids() == workers


# --- requests that wait ------------------------------------------------------------------------------------

def test_a_client_stalled_half_way_through_its_body_does_not_hold_up_its_worker(tmp_path: Path) -> None:
    """A request whose body stalls is read on the worker's event loop (serving/bridge.py), not in one of its
    threads, so the worker's other requests go on; when the client ends its body short it gets a 400."""
    with serve("--workers", "1", "--store", "memory", "--cache-dir", str(tmp_path / "videos"),
               "--clock", "instant") as server, requests.Session() as session:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=DEADLINE) as stalled:
            stalled.sendall(f"POST /v1/video/generations HTTP/1.1\r\nHost: {host}\r\n"
                            f"Authorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\n"
                            'Content-Length: 1000\r\n\r\n{"model": "kling'.encode())
            session.headers.update(HEADERS)
            submitted = session.post(f"{server.url}/v1/video/generations", json=BODIES[0], timeout=DEADLINE)
            assert submitted.status_code == 200
            poll = session.get(f"{server.url}/v1/video/generations/{submitted.json()['task_id']}", timeout=DEADLINE)
            assert poll.json()["status"] == "completed"
            stalled.shutdown(socket.SHUT_WR)   # the body ends short: the stalled request is answered 400
            assert stalled.recv(65536).startswith(b"HTTP/1.1 400")


# --- requests the HTTP parser cannot parse ----------------------------------------------------------------

@pytest.mark.parametrize(("raw", "status"), [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /v1/video/generations/x HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", 400),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
])
def test_a_request_the_http_parser_cannot_parse_gets_a_json_error_in_the_contracts_shape(
        tmp_path: Path, raw: bytes, status: int) -> None:
    """The HTTP server answers these itself, before the app sees them; servers' own answers are HTML pages or
    plain text."""
    with serve("--workers", "1", "--store", "memory", "--cache-dir", str(tmp_path / "videos")) as server:
        assert_unparsable_request_refused(server.url, raw, status)


# --- configuration and startup --------------------------------------------------------------------------------

def test_a_reset_in_one_worker_keeps_the_clock_mode_another_worker_configured(tmp_path: Path) -> None:
    """Two apps on one store file, as two workers are: the second was never told the mode changed."""
    config = {"server": {"store": str(tmp_path / "store.db")}, "clock": {"mode": "speed"},
              "video": {"cache_dir": str(tmp_path / "videos")}}
    first = create_app(config).test_client()
    second = create_app(config, store=SqliteStore(tmp_path / "store.db")).test_client()
    assert first.patch("/__admin/config", json={"clock": {"mode": "manual"}}).status_code == 200
    assert second.post("/__admin/reset").status_code == 200
    for worker in (first, second):
        assert worker.get("/__admin/clock").json["mode"] == "manual"


def test_the_clock_starts_when_the_master_publishes_the_config_not_at_a_workers_first_request(tmp_path: Path) -> None:
    """Started lazily, the first requests of several workers would race to start it, each at its own moment;
    in instant mode a task created under a start other than the one kept would never leave the queue."""
    config = check_config({"server": {"store": str(tmp_path / "store.db")}, "clock": {"mode": "instant"},
                           "video": {"cache_dir": str(tmp_path / "videos")}})
    publish_config(SqliteStore(tmp_path / "store.db"), config, real_time=lambda: 1000.0)
    worker = create_app(config, store=SqliteStore(tmp_path / "store.db"), real_time=lambda: 2000.0).test_client()
    assert worker.get("/__admin/clock").json["now"] == 1000.0


def test_a_worker_started_after_a_runtime_change_serves_the_changed_config(tmp_path: Path) -> None:
    """gunicorn replaces a worker that died; the new one must not go back to the command line's config."""
    with serve(*serving(tmp_path, 1), "--seed", "1", "--clock", "instant") as server:
        (worker,) = server.wait_for_workers(1)
        changed = requests.patch(f"{server.url}/__admin/config", json={"seed": 5, "clock": {"mode": "manual"}},
                                 timeout=DEADLINE).json()
        os.kill(worker, signal.SIGKILL)
        server.wait_for_workers(1, other_than={worker})
        assert requests.get(f"{server.url}/__admin/config", timeout=DEADLINE).json() == changed
        assert requests.get(f"{server.url}/__admin/clock", timeout=DEADLINE).json()["mode"] == "manual"
        task_id = requests.post(f"{server.url}/v1/video/generations", json=BODIES[0], headers=HEADERS,
                                timeout=DEADLINE).json()["task_id"]
    seed_5 = create_app({"seed": 5, "video": {"cache_dir": str(tmp_path / "videos")}}).test_client()
    assert task_id == seed_5.post("/v1/video/generations", json=BODIES[0], headers=HEADERS).json["task_id"]


def serve_refused(*args: str) -> str:
    """What ``videomock serve ARGS`` says when it refuses to start (it must, promptly)."""
    result = subprocess.run([sys.executable, "-m", "videomock", "serve", *args],
                            capture_output=True, text=True, timeout=DEADLINE)
    assert result.returncode != 0
    return result.stderr


def test_several_workers_refuse_a_memory_store() -> None:
    assert "2 workers cannot share a memory store" in serve_refused("--port", "0", "--workers", "2", "--store", "memory")


def test_a_port_in_use_is_refused_at_once() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in serve_refused(
            "--port", str(port), "--store", "memory")


def test_a_second_server_on_the_same_port_is_refused_not_given_a_share_of_the_connections(tmp_path: Path) -> None:
    """Workers share their port with each other (SO_REUSEPORT); another videomock must not join them."""
    with serve(*serving(tmp_path, 2)) as server:
        assert "Address already in use" in serve_refused(
            "--port", str(server.port), "--workers", "2", "--store", str(tmp_path / "other.db"))

