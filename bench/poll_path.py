"""The application's own cost of one poll, with no HTTP server: the WSGI app called in a loop on one thread.

Run: .venv/bin/python bench/poll_path.py [--polls 20000]

Comparing this with the served req/s (bench/throughput.py) separates what the server costs (connections,
HTTP parsing, threads) from what Flask and videomock cost. Profile it ad hoc with
``py-spy record -f raw -o poll.txt -- .venv/bin/python bench/poll_path.py --store sqlite``.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from throughput import AUTH, SUBMIT_BODY

from videomock import create_app
from videomock.store import open_store


def app_with_completed_task(store: str, tmp: Path) -> tuple[Any, dict[str, Any]]:
    """An app (clock 1000x) holding one completed task, and the WSGI environ of a poll for it."""
    app = create_app({"clock": {"mode": "speed", "speed": 1000}, "video": {"cache_dir": str(tmp / "videos")}},
                     store=open_store(store))
    client = app.test_client()
    task_id = client.post("/v1/video/generations", json=SUBMIT_BODY, headers=AUTH).get_json()["task_id"]
    path = f"/v1/video/generations/{task_id}"
    deadline = time.monotonic() + 60
    while client.get(path, headers=AUTH).get_json()["status"] != "completed":
        if time.monotonic() > deadline:
            raise SystemExit(f"task {task_id} did not complete within 60 s")
    return app, EnvironBuilder(path=path, headers=AUTH, base_url="http://127.0.0.1:8000").get_environ()


def microseconds_per_request(app: Any, environ: dict[str, Any], requests: int, body: bytes = b"") -> float:
    """The app's time for one request of ``environ`` (each given ``body`` afresh), answered with a 200."""
    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        assert status.startswith("200"), status

    started = time.perf_counter()
    for _ in range(requests):
        b"".join(app.wsgi_app({**environ, "wsgi.input": io.BytesIO(body)}, start_response))
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=20_000)
    parser.add_argument("--store", choices=["memory", "sqlite"], action="append",
                        help="store(s) to measure (default: both)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.store or ["memory", "sqlite"]:
            app, environ = app_with_completed_task("memory" if store == "memory" else str(Path(tmp) / "store.db"),
                                                   Path(tmp))
            microseconds_per_request(app, environ, 500)   # warm-up
            us = microseconds_per_request(app, environ, args.polls)
            print(f"{store:8} {us:7.1f} us per poll in the app ({1e6 / us:,.0f} polls/s on one core, no server)")


if __name__ == "__main__":
    main()
