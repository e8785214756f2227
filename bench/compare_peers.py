"""Poll throughput of videomock against its peers, all measured in the same run with the same wrk command:
aimock 1.43 (Node; a video fixture, polled on its ``GET /v1/videos/{id}``), WireMock 3.13 (default settings,
a static stub of the same poll body, warmed up first so that its JIT has compiled the hot paths), Prism 5.16
(mocking our OpenAPI document) and a bare Flask app returning the same body under gunicorn gthread with
videomock's workers and threads (the floor for a Flask app served the way ``videomock serve`` was before
issue 22).

Run: .venv/bin/python bench/compare_peers.py [--runs 5] [--seconds 10] [--workers 2] [--threads 8]
     [--baseline-python OTHER_TREE/.venv/bin/python]

``--baseline-python`` adds the ``videomock serve`` of another tree (e.g. a worktree of main) as one more
server, to compare the two in the same run. The peers are installed on first use into bench/.peers/ (npm
packages ``@copilotkit/aimock``, ``wiremock`` and ``@stoplight/prism-cli``; WireMock runs on the machine's
Java). Rounds go through every server in turn, so a noisy moment hurts all of them alike; the table shows
the median of the rounds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from servers import REPO, ServerProcess, free_port, start_videomock
from throughput import AUTH, SUBMIT_BODY, TARGETS, Measured, Serving, completed_task, measure_load, print_load_average
from wrk import Load, run_wrk

PEERS_DIR = Path(__file__).resolve().parent / ".peers"
WIREMOCK = "wiremock@3.13.2"
PRISM = "@stoplight/prism-cli@5.16.0"
AIMOCK = "@copilotkit/aimock@1.43.0"
#: Seconds of load WireMock gets before the rounds, on top of ``--warmup``: its first seconds run
#: interpreted, at a fraction of what it serves once the JIT has compiled its hot paths.
WIREMOCK_EXTRA_WARMUP = 10


@dataclass(frozen=True)
class Peers:
    wiremock_jar: Path
    prism: Path
    aimock: Path


def install_peers() -> Peers:
    """The peers' executables, installed into bench/.peers/ if missing."""
    modules = PEERS_DIR / "node_modules"
    jars = sorted((modules / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
    prism = modules / ".bin" / "prism"
    aimock = modules / "@copilotkit" / "aimock" / "dist" / "cli.js"
    if not jars or not prism.exists() or not aimock.exists():
        if shutil.which("npm") is None:
            raise SystemExit("npm is needed to install aimock, WireMock and Prism")
        PEERS_DIR.mkdir(exist_ok=True)
        (PEERS_DIR / "package.json").write_text('{"private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", WIREMOCK, PRISM, AIMOCK], cwd=PEERS_DIR, check=True)
        return install_peers()
    if shutil.which("java") is None:
        raise SystemExit("java (17 or newer) is needed to run WireMock")
    return Peers(jars[-1], prism, aimock)


def start_aimock(cli: Path, tmp: Path) -> tuple[ServerProcess, str, Load]:
    """aimock with one completed video (a fixture matched by the prompt, created with ``POST /v1/videos``),
    and the poll of it."""
    fixture = tmp / "aimock-video.json"
    fixture.write_text(json.dumps({"fixtures": [{
        "match": {"userMessage": SUBMIT_BODY["prompt"]},
        "response": {"video": {"id": "video_bench", "status": "completed", "url": "http://127.0.0.1/video.mp4"}}}]}))
    port = free_port()
    server = ServerProcess("aimock", ["node", str(cli), "--port", str(port), "--fixtures", str(fixture),
                                      "--log-level", "silent"], tmp)
    url = f"http://127.0.0.1:{port}"
    server.wait_until_answering(url + "/v1/models")
    created = requests.post(f"{url}/v1/videos", json={"prompt": SUBMIT_BODY["prompt"], "model": "sora-2"}, timeout=30)
    created.raise_for_status()
    return server, url, Load(f"/v1/videos/{created.json()['id']}", headers=AUTH)


def start_wiremock(jar: Path, poll: Load, body: bytes, tmp: Path) -> tuple[ServerProcess, str]:
    root = tmp / "wiremock"
    (root / "mappings").mkdir(parents=True)
    stub = {"request": {"method": "GET", "urlPath": poll.path},
            "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": body.decode()}}
    (root / "mappings" / "poll.json").write_text(json.dumps(stub))
    port = free_port()
    server = ServerProcess("wiremock", ["java", "-jar", str(jar), "--port", str(port), "--root-dir", str(root)], tmp)
    return server, f"http://127.0.0.1:{port}"


def start_prism(prism: Path, openapi: bytes, tmp: Path) -> tuple[ServerProcess, str]:
    document = tmp / "openapi.json"
    document.write_bytes(openapi)
    port = free_port()
    server = ServerProcess("prism", [str(prism), "mock", str(document), "--host", "127.0.0.1", "--port", str(port)], tmp)
    return server, f"http://127.0.0.1:{port}"


def start_bare_flask(body: bytes, serving: Serving, tmp: Path) -> tuple[ServerProcess, str]:
    body_file = tmp / "poll-body.json"
    body_file.write_bytes(body)
    port = free_port()
    server = ServerProcess(
        "flask-gunicorn",
        [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", str(serving.workers),
         "--threads", str(serving.threads), "--keep-alive", "5", "--no-control-socket",
         "--reuse-port",  # a listening socket per worker, as videomock serve has on Linux
         "--bind", f"127.0.0.1:{port}", "--chdir", str(REPO / "bench"), "bare_flask:app"],
        tmp, env={"BARE_FLASK_BODY": str(body_file)})
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5, help="untimed seconds of load per server first (JIT, caches)")
    parser.add_argument("--baseline-python", type=Path,
                        help="the Python of another tree whose videomock serve to measure too (e.g. main's)")
    Serving.add_arguments(parser)
    args = parser.parse_args()
    serving = Serving.from_arguments(args)
    peers = install_peers()
    print_load_average()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours, url = start_videomock(tmp, *serving.args(tmp))
        shape = f"{serving.workers}x{serving.threads}"
        servers: dict[str, tuple[ServerProcess, str, Load]] = {}
        try:
            poll, body = completed_task(url)
            servers[f"videomock serve {shape}"] = (ours, url, poll)
            if args.baseline_python:
                baseline, baseline_url = start_videomock(tmp / "baseline", *serving.args(tmp / "baseline"),
                                                         python=args.baseline_python, name="videomock-baseline")
                servers[f"baseline videomock serve {shape}"] = (baseline, baseline_url, completed_task(baseline_url)[0])
            openapi = requests.get(f"{url}/openapi.json", timeout=30).content
            servers["aimock 1.43"] = start_aimock(peers.aimock, tmp)
            wiremock = "wiremock 3.13 (default, warmed)"
            servers[wiremock] = (*start_wiremock(peers.wiremock_jar, poll, body, tmp), poll)
            servers["prism 5.16"] = (*start_prism(peers.prism, openapi, tmp), poll)
            servers[f"bare flask, gunicorn gthread {shape}"] = (*start_bare_flask(body, serving, tmp), poll)
            for server, base, load in servers.values():
                server.wait_until_answering(base + load.path, load.headers)
            for name, (_, base, load) in servers.items():
                run_wrk(base, load, seconds=args.warmup + (WIREMOCK_EXTRA_WARMUP if name == wiremock else 0))
            results: dict[str, list[Measured]] = {name: [] for name in servers}
            for round_number in range(1, args.runs + 1):
                for name, (server, base, load) in servers.items():
                    results[name].append(measure_load(server, base, load, args.seconds, rounds=1))
                    print(f"round {round_number} {name}: {results[name][-1].wrk.requests_per_second:.0f} req/s",
                          file=sys.stderr, flush=True)
        finally:
            for server, _, _ in servers.values():
                server.stop()
    print_table(results, args.seconds)
    print_load_average("at the end")


def print_table(results: dict[str, list[Measured]], seconds: int) -> None:
    """Medians over the rounds, column by column; failures are summed."""
    def median(name: str, column: Callable[[Measured], float]) -> float:
        return statistics.median(column(m) for m in results[name])

    videomock = next(iter(results))   # measured first
    ours = median(videomock, lambda m: m.wrk.requests_per_second)
    print(f"\npoll, wrk -t1 -c16 -d{seconds}s, median of {len(results[videomock])} rounds "
          f"(targets: >= 1.0x aimock and WireMock, p99 <= {TARGETS['poll_p99_ms']} ms)")
    print(f"{'server':40} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'failed':>7} {'cpu us/req':>10} "
          f"{'videomock/this':>15}")
    for name, runs in results.items():
        rps = median(name, lambda m: m.wrk.requests_per_second)
        print(f"{name:40} {rps:8.0f} {median(name, lambda m: m.wrk.p50_ms):8.2f} "
              f"{median(name, lambda m: m.wrk.p90_ms):8.2f} {median(name, lambda m: m.wrk.p99_ms):8.2f} "
              f"{sum(m.wrk.failures for m in runs):7d} {median(name, lambda m: m.server_cpu_us_per_request):10.0f} "
              f"{ours / rps:14.2f}x")


if __name__ == "__main__":
    main()
