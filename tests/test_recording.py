"""Recording a provider through the proxy, checking the cassettes, replaying them.

The upstream is a second ``videomock serve`` process (manual clock, so each poll finds the task where the
test moved it), once per gateway profile; every dialect is recorded from it. The replay is the in-process
fake, and the client is driven against it exactly as it was against the proxy.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import videomock
from tests.recording_support import API_KEY, POLLS, Seen, kling_token, normalised, recording, run_lifecycle
from tests.serve_process import ServeProcess, serve
from videomock.contracts.exchanges import status_of
from videomock.contracts.media import probe
from videomock.recording.cassette import CassetteError, body_json, load_folder
from videomock.recording.check import check_cassettes

pytest_plugins = ["pytester"]

#: Virtual seconds the upstream's clock moves before each poll: queued, then running, then done.
STEPS = (0, 6, 1000)
DIALECTS = ("documented", "new-api", "openai", "gemini", "vertex", "kling")


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, ServeProcess]]:
    with serve("--clock", "manual", "--store", "memory") as documented, \
            serve("--clock", "manual", "--store", "memory", "--gateway", "new-api") as new_api:
        yield {"documented": documented, "new-api": new_api}


def upstream_for(upstreams: dict[str, ServeProcess], dialect: str) -> ServeProcess:
    return upstreams["new-api" if dialect == "new-api" else "documented"]


def advancing(upstream: ServeProcess) -> object:
    def between(n: int) -> None:
        if STEPS[n]:
            requests.post(f"{upstream.url}/__admin/clock/advance", json={"seconds": STEPS[n]}, timeout=10).raise_for_status()
    return between


def record_one(upstreams: dict[str, ServeProcess], dialect: str, folder: Path, **options: object) -> tuple[Seen, str]:
    upstream = upstream_for(upstreams, dialect)
    with recording(upstream.url, folder, **options) as proxy:
        return run_lifecycle(dialect, proxy, advancing(upstream)), proxy  # type: ignore[arg-type]


def statuses(dialect: str, seen: Seen) -> list[str | None]:
    return [status_of(dialect, json.loads(body)) for what, _, body in seen.answers if what == "poll"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_recorded_lifecycle_replays_byte_for_byte_in_instant_and_manual_mode(
        upstreams: dict[str, ServeProcess], dialect: str, tmp_path: Path) -> None:
    recorded, proxy = record_one(upstreams, dialect, tmp_path)

    (cassette,) = load_folder(tmp_path)
    assert (cassette.dialect, cassette.task_id, len(cassette.polls)) == (dialect, recorded.task_id, POLLS)
    assert len(set(statuses(dialect, recorded))) >= 2, "the recording should show the task move"
    findings, _ = check_cassettes([cassette])
    assert findings == []
    text = cassette.path.read_text()
    for secret in recorded.secrets:
        assert secret not in text

    offsets = [poll["offset"] for poll in cassette.polls]
    for mode in ("instant", "manual"):
        with videomock.fake(config={"clock": {"mode": mode}}) as fake:
            fake.replay(tmp_path)

            def between(n: int, fake: videomock.FakeProvider = fake, mode: str = mode) -> None:
                if mode == "manual":   # to the moment the recorded poll was made
                    fake.advance(offsets[n] - (offsets[n - 1] if n else 0))

            replayed = run_lifecycle(dialect, fake.url, between)
        assert replayed.task_id != recorded.task_id
        assert normalised(replayed, fake.url) == normalised(recorded, proxy), mode
        assert statuses(dialect, replayed) == statuses(dialect, recorded)


def test_a_video_over_the_size_cap_is_kept_as_its_facts_and_replayed_as_a_placeholder_with_them(
        upstreams: dict[str, ServeProcess], tmp_path: Path) -> None:
    record_one(upstreams, "documented", tmp_path, max_body_bytes=0)
    (cassette,) = load_folder(tmp_path)
    body = cassette.downloads[0]["response"]["body"]
    assert set(body) == {"sha256", "size", "media"}
    assert body["media"] == {"width": 1280, "height": 720, "fps": 30, "duration": 5.0, "codec": "h264"}

    with videomock.fake() as fake:
        fake.replay(tmp_path)
        replayed = run_lifecycle("documented", fake.url, lambda n: None)
    video = tmp_path / "placeholder.mp4"
    video.write_bytes(replayed.answers[-1][2])
    info = probe(video)
    assert (info.width, info.height, info.fps, info.duration) == (1280, 720, 30, 5.0)


def test_a_submit_no_cassette_records_is_a_404_in_the_dialects_shape_naming_the_closest_or_falls_back(
        upstreams: dict[str, ServeProcess], tmp_path: Path) -> None:
    record_one(upstreams, "documented", tmp_path)
    record_one(upstreams, "kling", tmp_path)
    (name,) = [c.name for c in load_folder(tmp_path) if c.dialect == "documented"]
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with videomock.fake() as fake:
        fake.replay(tmp_path)
        answer = requests.post(f"{fake.url}/v1/video/generations", headers=headers,
                               json={"model": "kling-v2-5-turbo", "prompt": "a cat"})
        assert answer.status_code == 404
        error = answer.json()["error"]
        assert error["code"] == "no_matching_cassette"
        assert name in error["message"] and "'prompt'" in error["message"]

        (kling_name,) = [c.name for c in load_folder(tmp_path) if c.dialect == "kling"]
        answer = requests.post(f"{fake.url}/v1/videos/text2video", headers={"Authorization": f"Bearer {kling_token()}"},
                               json={"model_name": "kling-v2-5-turbo", "prompt": "a cat", "duration": "5"})
        assert answer.status_code == 404
        assert set(answer.json()) == {"code", "message", "request_id"} and kling_name in answer.json()["message"]

        unknown = requests.get(f"{fake.url}/v1/video/generations/task_nobody", headers=headers)
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "no_matching_cassette")

        fake.replay(tmp_path, fallback=True)
        fallen_back = run_lifecycle("documented", fake.url, lambda n: None, prompt="a cat")
        assert json.loads(fallen_back.answers[-2][2])["status"] == "completed"
        assert fallen_back.answers[-1][2][4:8] == b"ftyp"


def test_serve_replay_answers_a_client_as_the_recording_did(upstreams: dict[str, ServeProcess], tmp_path: Path) -> None:
    recorded, proxy = record_one(upstreams, "new-api", tmp_path)
    with serve("--replay", str(tmp_path), "--clock", "instant", "--store", "memory") as replaying:
        replayed = run_lifecycle("new-api", replaying.url, lambda n: None)
    assert normalised(replayed, replaying.url) == normalised(recorded, proxy)


def test_a_recording_of_odd_but_real_answers_reports_each_difference_as_drift(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from flask import Flask, jsonify

    from videomock.pytest_plugin.live import LiveServer

    odd = Flask("odd-gateway")
    polls = iter([{"task_id": "gen-42", "status": "pending", "progress": "0%"},
                  {"task_id": "gen-42", "status": "running", "progress": "40%"},
                  {"task_id": "gen-42", "status": "succeeded", "progress": "100%", "video_url": "u",
                   "url": "http://odd.example/v.mp4"}])
    odd.add_url_rule("/v1/video/generations", "submit", lambda: jsonify(task_id="gen-42", status="queued"), methods=["POST"])
    odd.add_url_rule("/v1/video/generations/<task_id>", "poll", lambda task_id: jsonify(next(polls)))
    with LiveServer(odd) as upstream, recording(upstream.url, tmp_path) as proxy:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        requests.post(f"{proxy}/v1/video/generations", headers=headers, json={"model": "kling-v2-5-turbo", "prompt": "x"})
        for _ in range(3):
            requests.get(f"{proxy}/v1/video/generations/gen-42", headers=headers)

    told = [r.getMessage() for r in caplog.records if r.name == "videomock.record"]
    assert any("poll 200: /status: status \"succeeded\" is not supported" in line for line in told), told

    result = _cli("validate", str(tmp_path))
    assert result.exit_code == 1
    out = result.output
    assert "/polls/2 /status: status \"succeeded\" is not supported" in out
    drift = sections(out[out.index("Drift from the contracts:"):])
    assert "task /video_url" in drift["Fields added"]
    assert "task /format: required" in drift["Fields missing"] and "task /metadata: required" in drift["Fields missing"]
    assert "'succeeded'" in drift["New enum values"] and "'pending'" in drift["New enum values"]
    assert "task /progress: string, the contract says integer" in drift["Changed types"]
    assert "'gen-42' is not in documented's format" in drift["Id format changes"]


def sections(summary: str) -> dict[str, str]:
    """The drift summary's sections, by heading."""
    found: dict[str, str] = {}
    heading = ""
    for line in summary.splitlines()[1:]:
        if line.startswith("  ") and not line.startswith("    "):
            heading = line.strip().rstrip(":")
            found[heading] = ""
        else:
            found[heading] += line + "\n"
    return found


def _cli(*args: str) -> object:
    from click.testing import CliRunner

    from videomock.cli import main

    return CliRunner().invoke(main, list(args))


def test_a_har_file_becomes_the_same_cassette_redacted(upstreams: dict[str, ServeProcess], tmp_path: Path) -> None:
    upstream = upstreams["documented"]
    entries = []

    def captured(response: requests.Response, *args: object, **kwargs: object) -> None:
        request = response.request
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        entries.append({"startedDateTime": f"2026-12-01T12:00:{len(entries):02d}.000Z", "request": {
            "method": request.method, "url": request.url,
            "headers": [{"name": k, "value": v} for k, v in request.headers.items()],
            "postData": {"mimeType": "application/json", "text": body.decode()}},
            "response": {"status": response.status_code,
                         "headers": [{"name": k, "value": v} for k, v in response.headers.items()],
                         "content": {"mimeType": response.headers.get("content-type", ""),
                                     "text": base64.b64encode(response.content).decode(), "encoding": "base64"}}})

    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        response = original(self, request, **kwargs)
        captured(response)
        return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "send", send)
        seen = run_lifecycle("documented", upstream.url, advancing(upstream))  # type: ignore[arg-type]
    har = tmp_path / "capture.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [e for e in entries if "__admin" not in e["request"]["url"]]}}))

    result = _cli("import-har", str(har), "--out", str(tmp_path / "cassettes"))
    assert result.exit_code == 0, result.output
    (cassette,) = load_folder(tmp_path / "cassettes")
    assert (cassette.document["source"], cassette.task_id, len(cassette.polls), len(cassette.downloads)) == \
        ("har", seen.task_id, POLLS, 1)
    assert cassette.final_status == "completed"
    assert API_KEY not in cassette.path.read_text()
    assert _cli("validate", str(cassette.path)).exit_code == 0


def test_bad_arguments_and_broken_cassettes_are_one_line_errors(tmp_path: Path) -> None:
    assert "is not an http:// or https:// URL" in _cli("record", "--upstream", "ftp://x", "--out", str(tmp_path)).output
    assert "does not exist" in _cli("record", "--upstream", "http://x", "--out", str(tmp_path / "a" / "b")).output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "one.json").write_text(json.dumps({"videomock_cassette": 1, "dialect": "documented", "submit": {},
                                                 "polls": [], "downloads": [], "webhooks": []}))
    result = _cli("validate", str(broken))
    assert result.exit_code == 1 and "/submit/offset" in result.output and "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    for folder, message in ((broken, "/submit/offset"), (tmp_path / "empty", "no cassettes"), (tmp_path / "nope", "no such directory")):
        result = _cli("serve", "--replay", str(folder), "--port", "0")
        assert (result.exit_code, result.exception.__class__) == (1, SystemExit) and message in result.output, result.output
    with videomock.fake() as fake, pytest.raises(CassetteError, match="no cassettes"):
        fake.replay(tmp_path / "empty")


def test_videomock_record_as_a_process_logs_and_writes_no_secret(upstreams: dict[str, ServeProcess], tmp_path: Path) -> None:
    import subprocess
    import sys

    upstream = upstreams["documented"]
    process = subprocess.Popen([sys.executable, "-m", "videomock", "record", "--upstream", upstream.url, "--out",
                                str(tmp_path / "out"), "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        proxy = re.search(r"recording on (http://\S+)", line)[1]  # type: ignore[index]
        seen = Seen()
        for dialect in ("documented", "kling", "gemini"):
            one = run_lifecycle(dialect, proxy, advancing(upstream))  # type: ignore[arg-type]
            seen.secrets |= one.secrets
    finally:
        process.terminate()
        _, log = process.communicate(timeout=30)
    assert log.count(" -> 200: ") >= 3 * (POLLS + 2) - 1
    written = "".join(p.read_text() for p in (tmp_path / "out").glob("*.json"))
    assert len(list((tmp_path / "out").glob("*.json"))) == 3
    for secret in seen.secrets:
        assert secret not in log and secret not in written, secret


def test_a_callback_the_task_sends_to_the_proxy_is_recorded_in_its_cassette(
        upstreams: dict[str, ServeProcess], tmp_path: Path) -> None:
    import threading

    from videomock.recording.cassette import WEBHOOK_PATH, Book
    from videomock.recording.proxy import RecordingProxy, make_proxy_server

    upstream = upstreams["documented"]
    hooks: list[str] = []
    arrived = threading.Condition()

    def told(path: Path, role: str, *_: object) -> None:
        with arrived:
            hooks.append(role)
            arrived.notify_all()

    book = Book(tmp_path, upstream.url, on_recorded=told)
    server = make_proxy_server("127.0.0.1", 0, RecordingProxy(upstream.url, book))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    proxy = f"http://127.0.0.1:{server.server_port}"
    try:
        headers = {"Authorization": f"Bearer {kling_token()}"}
        task = requests.post(f"{proxy}/v1/videos/text2video", headers=headers, timeout=10, json={
            "model_name": "kling-v2-5-turbo", "prompt": "a fox", "duration": "5",
            "callback_url": f"{proxy}{WEBHOOK_PATH}"}).json()["data"]
        advancing(upstream)(2)  # type: ignore[operator]
        requests.get(f"{proxy}/v1/videos/text2video/{task['task_id']}", headers=headers, timeout=10)
        with arrived:
            assert arrived.wait_for(lambda: hooks.count("webhook") >= 1, timeout=30), hooks
    finally:
        server.shutdown()
        server.server_close()
    (cassette,) = load_folder(tmp_path)
    hook = cassette.document["webhooks"][0]
    assert hook["path"] == WEBHOOK_PATH and body_json(hook["body"])["task_id"] == task["task_id"]


def test_replayed_ids_come_from_the_seed(upstreams: dict[str, ServeProcess], tmp_path: Path) -> None:
    record_one(upstreams, "kling", tmp_path)

    def ids(seed: int) -> list[str]:
        with videomock.fake(seed=seed) as fake:
            fake.replay(tmp_path)
            return [run_lifecycle("kling", fake.url, lambda n: None).task_id for _ in range(2)]

    first = ids(3)
    assert first == ids(3) and first != ids(4) and first[0] != first[1]
    assert all(re.fullmatch(r"[1-9][0-9]{17}", i) for i in first)


def test_a_marker_or_cassette_cases_naming_no_cassettes_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_replays="""
        import pytest

        @pytest.mark.videomock(replay="no-such-folder")
        def test_it(videomock):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*replay=*no-such-folder: no such file or directory*"])
    pytester.makepyfile(test_replays="""
        from videomock.pytest_plugin.cassettes import cassette_cases

        @cassette_cases("empty")
        def test_it(videomock_cassette):
            pass
    """)
    pytester.mkdir("empty")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*cassette_cases: empty: no cassettes*"])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks the Sora API as shut down
def test_the_openai_sdk_recorded_through_the_proxy_runs_unchanged_against_the_replay(tmp_path: Path) -> None:
    from openai import OpenAI

    with videomock.serve_in_thread() as upstream, recording(upstream.url, tmp_path) as proxy:
        client = OpenAI(base_url=f"{proxy}/v1", api_key=API_KEY, max_retries=0)
        recorded = client.videos.create_and_poll(model="sora-2", prompt="a paper boat", seconds="4")
        recorded_video = client.videos.download_content(recorded.id).read()

    with videomock.fake() as fake:
        fake.replay(tmp_path)
        client = OpenAI(base_url=f"{fake.url}/v1", api_key=API_KEY, http_client=fake.httpx_client(), max_retries=0)
        replayed = client.videos.create_and_poll(model="sora-2", prompt="a paper boat", seconds="4")
        assert client.videos.download_content(replayed.id).read() == recorded_video
    assert (replayed.status, replayed.size, replayed.seconds) == (recorded.status, recorded.size, recorded.seconds)
    assert replayed.id != recorded.id
