"""Servers under test as real subprocesses: started, waited for (polling with a deadline), measured and
stopped. Output goes to a log file so a chatty server never blocks on a full pipe."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import requests

REPO = Path(__file__).resolve().parents[1]
STARTUP_DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A server in its own process group (so wrappers such as npm's bin scripts go down with it)."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, *, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] = open(self.log_path, "wb")  # noqa: SIM115 - closed by stop(), with the process
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd,
                                        env={**os.environ, **(env or {})}, start_new_session=True)

    def wait_for_log(self, pattern: str) -> re.Match[str]:
        """The first match of ``pattern`` in the server's output (e.g. the line announcing its port)."""
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            self._check_alive()
            found = re.search(pattern, self.log_path.read_text(errors="replace"))
            if found:
                return found
            time.sleep(0.05)   # polling interval while the server starts
        raise SystemExit(f"{self.name} did not print {pattern!r} within {STARTUP_DEADLINE} s; see {self.log_path}")

    def wait_until_answering(self, url: str, headers: dict[str, str] | None = None) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                requests.get(url, headers=headers, timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.1)   # polling interval while the server starts
        raise SystemExit(f"{self.name} did not answer {url} within {STARTUP_DEADLINE} s; see {self.log_path}")

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")

    def rss_mib(self) -> float:
        """Resident memory of the whole process group (a server may be a wrapper plus its workers), summed:
        pages a forked worker shares with its master count once per process."""
        return self._memory_mib("Rss")

    def pss_mib(self) -> float:
        """Proportional set size of the whole process group: each shared page counted once in all, so the
        memory the server really holds (the sum of RSS overstates a master with forked workers)."""
        return self._memory_mib("Pss")

    def _memory_mib(self, field: str) -> float:
        total_kib = 0
        for pid in _group_pids(self.process.pid):
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except FileNotFoundError:
                continue
            found = re.search(rf"^{field}:\s+(\d+) kB", rollup, re.M)
            total_kib += int(found.group(1)) if found else 0
        return total_kib / 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU time used so far by the live processes of the group."""
        ticks = 0
        for pid in _group_pids(self.process.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except FileNotFoundError:
                continue
            ticks += int(fields[11]) + int(fields[12])   # utime, stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except ProcessLookupError:
                continue
    return pids


def start_videomock(log_dir: Path, *args: str, python: Path | None = None,
                    name: str = "videomock") -> tuple[ServerProcess, str]:
    """``videomock serve`` on a free port, quiet; returns the process and its base URL. ``python`` runs another
    tree's videomock (a baseline) instead of this one's."""
    log_dir.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(name, [str(python or sys.executable), "-m", "videomock", "serve", "--port", "0", "--quiet",
                                  "--cache-dir", str(log_dir / "videos"), *args], log_dir, cwd=REPO)
    url = server.wait_for_log(r"serving on (http://\S+)").group(1)
    return server, url
