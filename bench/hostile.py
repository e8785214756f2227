"""What hostile clients cost a real ``videomock serve --workers 2``: /healthz latency while N connections
send a partial request and stall, and how much the store grows from 100 submits of a 15 MB prompt (rejected,
and journaled). The baseline of each is measured in the same run: latency with no held connections, the store
before the submits.

Run: .venv/bin/python bench/hostile.py [--held 0,50,200] [--requests 400]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import table
from servers import start_videomock

PARTIAL = [b"G", b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-",
           b"POST /v1/video/generations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mo"]


@contextlib.contextmanager
def stalled(url: str, count: int) -> Iterator[None]:
    host, port = url.removeprefix("http://").split(":")
    sockets = []
    try:
        for n in range(count):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(PARTIAL[n % len(PARTIAL)])
            sockets.append(sock)
        yield
    finally:
        for sock in sockets:
            sock.close()


def latencies(url: str, count: int) -> list[float]:
    samples = []
    with requests.Session() as session:
        for _ in range(count):
            started = time.perf_counter()
            session.get(f"{url}/healthz", timeout=10).raise_for_status()
            samples.append(time.perf_counter() - started)
    return samples


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def store_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("store.db*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--held", default="0,50,200", help="held connection counts, comma-separated")
    parser.add_argument("--requests", type=int, default=400, help="/healthz requests per count")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server, url = start_videomock(folder, "--workers", "2", "--store", str(folder / "store.db"),
                                      "--read-timeout", "30")
        try:
            rows = []
            for held in (int(n) for n in args.held.split(",")):
                with stalled(url, held):
                    samples = latencies(url, args.requests)
                rows.append((held, f"{statistics.median(samples) * 1000:.2f} ms",
                             f"{percentile(samples, 0.99) * 1000:.2f} ms", f"{max(samples) * 1000:.2f} ms"))
            print(table(("stalled connections held", "/healthz p50", "p99", "max"), rows))
            before = store_size(folder)
            body = {"model": "veo_3_1", "prompt": "x" * 15_000_000, "duration": 4}
            with requests.Session() as session:
                for _ in range(100):
                    answer = session.post(f"{url}/v1/video/generations", json=body, timeout=60,
                                          headers={"Authorization": "Bearer sk-bench"})
                    assert answer.status_code == 400, answer.text[:200]
                journal = session.get(f"{url}/__admin/requests", timeout=60)
            grown = store_size(folder) - before
            print()
            print(table(("100 submits of a 15 MB prompt", "value"), [
                ("store growth (store.db, -wal, -shm)", f"{grown / 1e6:.2f} MB"),
                ("journal read afterwards", f"{len(journal.content) / 1e6:.2f} MB"),
            ]))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
