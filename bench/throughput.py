"""Throughput and latency of a real ``videomock serve`` process, against the issue's targets: poll and submit
req/s with p50/p90/p99 at 16 connections (``wrk -t1 -c16``), and resident memory after 10,000 tasks.

Run: .venv/bin/python bench/throughput.py [--seconds 10] [--workers 2] [--threads 8] [--store memory]
     [--baseline-python OTHER_TREE/.venv/bin/python]

``--baseline-python`` measures another tree's ``videomock serve`` (e.g. a worktree of main) in the same run,
the two servers taking turns round by round, and prints this tree's figures divided by the baseline's.

Polls ask for one completed task (the body a CI job sees last, url included). The clock runs 1000x so that
task completes at once; submitted tasks are never polled, so no video is rendered during the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
from servers import ServerProcess, start_videomock
from wrk import Load, WrkResult, run_wrk

API_KEY = "sk-bench"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SUBMIT_BODY = {"model": "kling-v2-5-turbo", "prompt": "An astronaut walking on the Moon", "duration": 5,
               "width": 1280, "height": 720, "fps": 30}
SUBMIT = Load("/v1/video/generations", "POST", {**AUTH, "Content-Type": "application/json"}, json.dumps(SUBMIT_BODY))
RSS_TASKS = 10_000
TARGETS = {"poll_rps": 4000, "submit_rps": 1500, "poll_p99_ms": 5, "rss_mib": 150, "submit_vs_baseline": 2.0}


def completed_task(url: str) -> tuple[Load, bytes]:
    """Submit one task and poll it until completed; the poll request and the completed body."""
    task_id = requests.post(f"{url}/v1/video/generations", json=SUBMIT_BODY, headers=AUTH, timeout=30).json()["task_id"]
    poll = Load(f"/v1/video/generations/{task_id}", headers=AUTH)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = requests.get(url + poll.path, headers=AUTH, timeout=30)
        if response.json()["status"] == "completed":
            return poll, response.content
    raise SystemExit(f"task {task_id} did not complete within 60 s")


def completed_video(url: str) -> Load:
    """The same through the OpenAI Videos dialect: a video created with POST /v1/videos, and its retrieve."""
    video_id = requests.post(f"{url}/v1/videos", json={"prompt": SUBMIT_BODY["prompt"], "model": SUBMIT_BODY["model"],
                                                       "seconds": "5", "size": "1280x720"},
                             headers=AUTH, timeout=30).json()["id"]
    retrieve = Load(f"/v1/videos/{video_id}", headers=AUTH)
    deadline = time.monotonic() + 60
    while requests.get(url + retrieve.path, headers=AUTH, timeout=30).json()["status"] != "completed":
        if time.monotonic() > deadline:
            raise SystemExit(f"video {video_id} did not complete within 60 s")
    return retrieve


def submit_tasks(url: str, count: int, *, connections: int = 16) -> None:
    """Exactly ``count`` accepted submissions over ``connections`` keep-alive connections (wrk cannot stop
    after a number of requests)."""
    def submit_share(share: int) -> None:
        with requests.Session() as session:
            session.headers.update(AUTH)
            for _ in range(share):
                session.post(f"{url}/v1/video/generations", json=SUBMIT_BODY, timeout=30).raise_for_status()

    with ThreadPoolExecutor(connections) as pool:
        shares = [count // connections + (i < count % connections) for i in range(connections)]
        list(pool.map(submit_share, shares))


#: Worker processes x threads measured by default: one worker per core of the 2-core machine the numbers in
#: bench/README.md come from (3 or 4 workers measured no better there, see that file).
WORKERS, THREADS = 2, 8


@dataclass(frozen=True)
class Serving:
    """How the measured ``videomock serve`` runs."""

    workers: int = WORKERS
    threads: int = THREADS
    store: str | None = None   # default: a SQLite file in the run's temporary folder

    def args(self, tmp: Path) -> list[str]:
        return ["--workers", str(self.workers), "--threads", str(self.threads),
                "--store", self.store or str(tmp / "store.db"), "--clock", "speed", "--speed", "1000"]

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--workers", type=int, default=WORKERS, help="videomock serve --workers")
        parser.add_argument("--threads", type=int, default=THREADS, help="videomock serve --threads")
        parser.add_argument("--store", help="videomock serve --store (default: a SQLite file in a temporary folder)")

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> Serving:
        return cls(args.workers, args.threads, args.store)


@dataclass(frozen=True)
class Measured:
    """A wrk run and the server CPU it cost: CPU per request stays comparable when other processes share
    the machine and req/s does not."""

    wrk: WrkResult
    server_cpu_us_per_request: float


def measure_load(server: ServerProcess, base_url: str, load: Load, seconds: int, rounds: int) -> Measured:
    """The median round by req/s. Each round opens fresh connections, and how gunicorn's workers split
    them (they race to accept) varies: a round in which one worker took nearly all of them serves at about
    one core's rate. The median is the typical split."""
    return measure_loads(server, base_url, [load], seconds, rounds)[0]


def measure_loads(server: ServerProcess, base_url: str, loads: list[Load], seconds: int,
                  rounds: int) -> list[Measured]:
    """The median round of each load, the loads taking turns round by round so that they share the
    machine's moods alike (for ratios between them)."""
    measured: list[list[Measured]] = [[] for _ in loads]
    for _ in range(rounds):
        for load, results in zip(loads, measured):
            cpu_before = server.cpu_seconds()
            result = run_wrk(base_url, load, seconds=seconds)
            results.append(Measured(result, (server.cpu_seconds() - cpu_before) / max(result.requests, 1) * 1e6))
            print(f"  round: {load.method} {load.path[:24]} {result.requests_per_second:.0f} req/s, "
                  f"p99 {result.p99_ms:.1f} ms, {results[-1].server_cpu_us_per_request:.0f} cpu us/req", file=sys.stderr)
    return [sorted(results, key=lambda m: m.wrk.requests_per_second)[len(results) // 2] for results in measured]


@dataclass(frozen=True)
class Report:
    poll: Measured
    openai_poll: Measured
    submit: Measured
    tasks: int
    rss_mib: float
    pss_mib: float


def measure(serving: Serving, seconds: int, rounds: int = 5, baseline_python: Path | None = None) -> list[Report]:
    """A report for this tree's server, then (with ``baseline_python``) for the baseline's; their wrk rounds
    alternate, so that both share the machine's moods alike."""
    pythons = [None] + ([baseline_python] if baseline_python else [])
    with tempfile.TemporaryDirectory() as tmp:
        servers = [start_videomock(Path(tmp) / str(n), *serving.args(Path(tmp) / str(n)), python=python,
                                   name=f"videomock-{n}") for n, python in enumerate(pythons)]
        try:
            loads = [[completed_task(url)[0], completed_video(url), SUBMIT] for _, url in servers]
            measured: list[list[list[Measured]]] = [[[] for _ in range(3)] for _ in servers]
            for _ in range(rounds):
                for (server, url), server_loads, results in zip(servers, loads, measured):
                    for load, median_of in zip(server_loads, results):
                        median_of.append(measure_loads(server, url, [load], seconds, 1)[0])
        finally:
            for server, _ in servers:
                server.stop()
    reports = []
    for n, python in enumerate(pythons):
        with tempfile.TemporaryDirectory() as tmp:
            server, url = start_videomock(Path(tmp), *serving.args(Path(tmp)), python=python)
            try:
                submit_tasks(url, RSS_TASKS)
                rss, pss = server.rss_mib(), server.pss_mib()
            finally:
                server.stop()
        poll, openai_poll, submit = (sorted(rs, key=lambda m: m.wrk.requests_per_second)[len(rs) // 2]
                                     for rs in measured[n])
        reports.append(Report(poll, openai_poll, submit, RSS_TASKS, rss, pss))
    return reports


def print_load_average(when: str = "at start") -> None:
    """Other processes on the machine move req/s (CPU per request much less): say how busy it was."""
    print(f"load average {when}: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def print_report(report: Report) -> None:
    def row(name: str, m: Measured, target: float) -> str:
        r = m.wrk
        return (f"{name:8} {r.requests_per_second:9.0f} {r.p50_ms:8.2f} {r.p90_ms:8.2f} {r.p99_ms:8.2f} "
                f"{r.failures:8d} {m.server_cpu_us_per_request:9.0f}   target >= {target:.0f} req/s")

    print(f"{'':8} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'failed':>8} {'cpu us/req':>9}")
    print(row("poll", report.poll, TARGETS["poll_rps"]) + f", p99 <= {TARGETS['poll_p99_ms']} ms")
    print(row("retrieve", report.openai_poll, TARGETS["poll_rps"]) + "  (GET /v1/videos/{id}: "
          f"{report.openai_poll.wrk.requests_per_second / report.poll.wrk.requests_per_second:.2f}x the poll)")
    print(row("submit", report.submit, TARGETS["submit_rps"]))
    print(f"after {report.tasks} tasks, master and workers: RSS {report.rss_mib:.0f} MiB summed, "
          f"PSS {report.pss_mib:.0f} MiB   target <= {TARGETS['rss_mib']} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk round")
    parser.add_argument("--rounds", type=int, default=5, help="wrk rounds per load; the median round is reported")
    parser.add_argument("--baseline-python", type=Path,
                        help="the Python of another tree whose videomock serve to measure too (e.g. main's)")
    Serving.add_arguments(parser)
    args = parser.parse_args()
    serving = Serving.from_arguments(args)
    print_load_average()
    print(f"videomock serve --workers {serving.workers} --threads {serving.threads}, median of {args.rounds} rounds")
    reports = measure(serving, args.seconds, args.rounds, args.baseline_python)
    print_report(reports[0])
    if len(reports) > 1:
        print(f"\nbaseline ({args.baseline_python}), rounds alternating with the above:")
        print_report(reports[1])
        print_ratios(reports[0], reports[1])
    print_load_average("at the end")


def print_ratios(ours: Report, baseline: Report) -> None:
    def ratio(pick: Callable[[Report], Measured]) -> str:
        return f"{pick(ours).wrk.requests_per_second / pick(baseline).wrk.requests_per_second:.2f}x"

    print(f"this tree / baseline: poll {ratio(lambda r: r.poll)}, retrieve {ratio(lambda r: r.openai_poll)}, "
          f"submit {ratio(lambda r: r.submit)} (target >= {TARGETS['submit_vs_baseline']:.1f}x)")


if __name__ == "__main__":
    main()
