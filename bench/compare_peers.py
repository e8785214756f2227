"""Poll throughput of videomock against its peers, all measured in the same run with the same wrk command:
WireMock 3.13 (default settings, a static stub of the same poll body), Prism 5.16 (mocking our OpenAPI
document) and a bare Flask app returning the same body under gunicorn gthread with videomock's workers and
threads (the floor for any Flask app served the way ``videomock serve`` is).

Run: .venv/bin/python bench/compare_peers.py [--runs 3] [--seconds 10] [--workers 2] [--threads 8]

The peers are installed on first use into bench/.peers/ (npm packages ``wiremock`` and
``@stoplight/prism-cli``; WireMock runs on the machine's Java). Rounds go through every server in turn,
so a noisy moment hurts all of them alike; the table shows the median of the rounds.
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
from pathlib import Path

import requests
from servers import REPO, ServerProcess, free_port, start_videomock
from throughput import Measured, Serving, completed_task, measure_load, print_load_average
from wrk import Load, run_wrk

PEERS_DIR = Path(__file__).resolve().parent / ".peers"
WIREMOCK = "wiremock@3.13.2"
PRISM = "@stoplight/prism-cli@5.16.0"


def install_peers() -> tuple[Path, Path]:
    """The WireMock jar and the prism executable, installed into bench/.peers/ if missing."""
    jars = sorted((PEERS_DIR / "node_modules" / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
    prism = PEERS_DIR / "node_modules" / ".bin" / "prism"
    if not jars or not prism.exists():
        if shutil.which("npm") is None:
            raise SystemExit("npm is needed to install WireMock and Prism")
        PEERS_DIR.mkdir(exist_ok=True)
        (PEERS_DIR / "package.json").write_text('{"private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", WIREMOCK, PRISM], cwd=PEERS_DIR, check=True)
        return install_peers()
    if shutil.which("java") is None:
        raise SystemExit("java (17 or newer) is needed to run WireMock")
    return jars[-1], prism


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
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5, help="untimed seconds of load per server first (JIT, caches)")
    Serving.add_arguments(parser)
    args = parser.parse_args()
    serving = Serving.from_arguments(args)
    jar, prism = install_peers()
    print_load_average()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours, url = start_videomock(tmp, *serving.args(tmp))
        shape = f"{serving.workers}x{serving.threads}"
        servers = {f"videomock serve {shape}": (ours, url)}
        try:
            poll, body = completed_task(url)
            openapi = requests.get(f"{url}/openapi.json", timeout=30).content
            servers["wiremock 3.13 (default)"] = start_wiremock(jar, poll, body, tmp)
            servers["prism 5.16"] = start_prism(prism, openapi, tmp)
            servers[f"bare flask, gunicorn gthread {shape}"] = start_bare_flask(body, serving, tmp)
            for server, base in servers.values():
                server.wait_until_answering(base + poll.path, poll.headers)
            for _, base in servers.values():
                run_wrk(base, poll, seconds=args.warmup)
            results: dict[str, list[Measured]] = {name: [] for name in servers}
            for round_number in range(1, args.runs + 1):
                for name, (server, base) in servers.items():
                    results[name].append(measure_load(server, base, poll, args.seconds, rounds=1))
                    print(f"round {round_number} {name}: {results[name][-1].wrk.requests_per_second:.0f} req/s",
                          file=sys.stderr, flush=True)
        finally:
            for server, _ in servers.values():
                server.stop()
    print_table(results, args.seconds)


def print_table(results: dict[str, list[Measured]], seconds: int) -> None:
    """Medians over the rounds, column by column; failures are summed."""
    def median(name: str, column: Callable[[Measured], float]) -> float:
        return statistics.median(column(m) for m in results[name])

    videomock = next(iter(results))   # measured first
    ours = median(videomock, lambda m: m.wrk.requests_per_second)
    print(f"\npoll, wrk -t1 -c16 -d{seconds}s, median of {len(results[videomock])} rounds")
    print(f"{'server':36} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'failed':>7} {'cpu us/req':>10} "
          f"{'videomock/this':>15}")
    for name, runs in results.items():
        rps = median(name, lambda m: m.wrk.requests_per_second)
        print(f"{name:36} {rps:8.0f} {median(name, lambda m: m.wrk.p50_ms):8.2f} "
              f"{median(name, lambda m: m.wrk.p90_ms):8.2f} {median(name, lambda m: m.wrk.p99_ms):8.2f} "
              f"{sum(m.wrk.failures for m in runs):7d} {median(name, lambda m: m.server_cpu_us_per_request):10.0f} "
              f"{ours / rps:14.2f}x")


if __name__ == "__main__":
    main()
