"""The pytest plugin's costs, against the issue's targets, with a baseline measured in the same run.

Run: .venv/bin/python bench/bench_fixtures.py [--runs N]

- plugin start-up: a pytest session whose one test uses the ``videomock`` fixture, minus the same session
  with a test that uses no fixture (median of N subprocess runs each);
- one lifecycle (submit, wait, download a cached video, instant clock) through ``video_client``'s setup,
  in-process and live;
- lifecycles per second in-process.
The baseline is the floor under in-process mode: the same three calls answered by plain ``responses``
stubs with static bodies, so the ratio shows what the fake itself adds.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import requests
import responses

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import median, table, timings

from videomock import create_app
from videomock.client import RetryPolicy, VideoClient
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.inprocess import InProcessTransport
from videomock.pytest_plugin.live import LiveServer
from videomock.pytest_plugin.provider import FakeProvider

BODY = {"model": "veo_3_1", "prompt": "benchmark", "seed": 1}


def session_seconds(source: str, runs: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "test_one.py").write_text(textwrap.dedent(source))
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", folder]
        # As on a developer's machine: bytecode caching on. With PYTHONDONTWRITEBYTECODE=1 every session
        # recompiles every module it imports (and pytest re-rewrites every plugin's), ours or not.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

        def once() -> None:
            subprocess.run(command, check=True, capture_output=True, env=env)

        return median(timings(once, runs))


def plugin_startup(runs: int) -> tuple[float, float]:
    with_fixture = session_seconds("""
        def test_uses_the_fake(videomock):
            assert videomock.url
    """, runs)
    without = session_seconds("""
        def test_plain():
            assert True
    """, runs)
    return with_fixture - without, without


def client_for(fake: FakeProvider, url: str) -> VideoClient:
    """Built as the video_client fixture builds it."""
    session = requests.Session()
    session.trust_env = False
    return VideoClient(url, fake.api_key, retry=RetryPolicy(sleep=fake.advance), clock=lambda: fake.now,
                       session=session, catalog=fake.backend.catalog)


def lifecycle(client: VideoClient) -> None:
    task = client.wait(client.submit(**BODY))
    sink = io.BytesIO()
    client.download(task, sink)


def static_stubs(video: bytes) -> float:
    """The same three calls against fixed `responses` stubs: no app, no validation, no state."""
    url = "http://stub.test"
    submit = {"task_id": "task_1", "status": "queued"}
    task = {"task_id": "task_1", "status": "completed", "progress": 100, "url": f"{url}/v1/videos/task_1/content",
            "format": "mp4", "metadata": {"duration": 8, "fps": 24, "width": 1280, "height": 720, "seed": 1},
            "error": None, "model": "veo_3_1", "created_at": 1, "completed_at": 2}
    session = requests.Session()
    session.trust_env = False
    with responses.RequestsMock() as mock:
        mock.post(f"{url}/v1/video/generations", body=json.dumps(submit), content_type="application/json")
        mock.get(f"{url}/v1/video/generations/task_1", body=json.dumps(task), content_type="application/json")
        mock.get(f"{url}/v1/videos/task_1/content", body=video, content_type="video/mp4")

        def calls() -> None:
            session.post(f"{url}/v1/video/generations", json=BODY).json()
            session.get(f"{url}/v1/video/generations/task_1").json()
            _ = session.get(f"{url}/v1/videos/task_1/content").content

        return median(timings(calls, 300, warmup=20))


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the live server's per-request log lines
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="pytest sessions per start-up measurement")
    args = parser.parse_args()

    startup, bare = plugin_startup(args.runs)
    with tempfile.TemporaryDirectory() as folder:
        library = VideoLibrary(Path(folder), max_bytes=1 << 30)
        app = create_app({"clock": {"mode": "instant"}}, videos=library)
        fake = FakeProvider(app, "http://videomock.test")
        with InProcessTransport(app, fake.url):
            client = client_for(fake, fake.url)
            lifecycle(client)  # renders the video once; every timed run downloads it from the cache
            in_process = median(timings(lambda: lifecycle(client), 300, warmup=20))
            def burst() -> None:  # as one test would: from a reset fake, 500 lifecycles
                fake.reset()
                for _ in range(500):
                    lifecycle(client)

            per_second = 500 / median(timings(burst, 5))
            fake.reset()
            video = next(Path(folder).glob("*.mp4")).read_bytes()
        baseline = static_stubs(video)
        with LiveServer(app) as server:
            live_client = client_for(fake, server.url)
            live = median(timings(lambda: lifecycle(live_client), 200, warmup=20))
        library.close()

    print(table(["case", "target", "measured", "baseline (same run)"], [
        ["plugin start-up (session with videomock minus without)", "<= 0.3 s", f"{startup:.3f} s", f"bare session {bare:.3f} s"],
        ["submit, wait, download cached, in-process", "<= 50 ms", f"{in_process * 1000:.2f} ms",
         f"static responses stubs {baseline * 1000:.2f} ms ({in_process / baseline:.1f}x)"],
        ["the same, live", "<= 100 ms", f"{live * 1000:.2f} ms", ""],
        ["full lifecycles in-process", ">= 500 /s", f"{per_second:.0f} /s", f"stubs {1 / baseline:.0f} /s"],
    ]))


if __name__ == "__main__":
    main()
