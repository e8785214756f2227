"""Load generation with wrk (Debian's ``wrk`` package): one request shape, a fixed number of connections,
and a report read from a Lua ``done()`` hook rather than scraped from wrk's human-readable output."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Load:
    """What every request looks like."""

    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    failures: int   # non-2xx/3xx responses, socket errors and timeouts

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds


_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n{"requests": %d, "duration_us": %d, "p50": %d, "p90": %d, "p99": %d, "failures": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""

def _lua_string(text: str) -> str:
    return json.dumps(text)   # a JSON string literal is a valid Lua string literal for the ASCII we send


def _script(load: Load) -> str:
    lines = [f"wrk.method = {_lua_string(load.method)}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in load.headers.items()]
    if load.body is not None:
        lines.append(f"wrk.body = {_lua_string(load.body)}")
    return "\n".join(lines) + _REPORT


def wrk_executable() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get update && apt-get install -y wrk")
    return found


def run_wrk(base_url: str, load: Load, *, seconds: int = 10, connections: int = 16, threads: int = 1,
            ) -> WrkResult:
    """``wrk -t{threads} -c{connections} -d{seconds}s`` against ``base_url + load.path``."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "load.lua"
        script.write_text(_script(load))
        run = subprocess.run(
            [wrk_executable(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
             "-s", str(script), base_url.rstrip("/") + load.path],
            capture_output=True, text=True,
        )
    if run.returncode != 0:
        raise SystemExit(f"wrk failed: {run.stderr or run.stdout}")
    report = json.loads(run.stdout.strip().splitlines()[-1])
    return WrkResult(requests=report["requests"], seconds=report["duration_us"] / 1e6,
                     p50_ms=report["p50"] / 1000, p90_ms=report["p90"] / 1000, p99_ms=report["p99"] / 1000,
                     failures=report["failures"])
