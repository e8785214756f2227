"""``videomock serve`` as a real process for tests: started on a free port in a process group of its own
(gunicorn's master and its workers), its URL read from the line it prints once it listens, killed as a group.
Linux only, like the rest of these tests: workers and connections are found through /proc."""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Seconds any wait in these tests may take before it counts as a failure.
DEADLINE = 30.0


@dataclass
class ServeProcess:
    """A running ``videomock serve``: the gunicorn master's process and the server's base URL."""

    process: subprocess.Popen[str]
    url: str
    lines: list[str]

    def output(self) -> str:
        """What the server has printed on stderr so far."""
        return "".join(self.lines)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a crash or the OOM killer of a container would."""
        _kill_group(self.process)

    def worker_pids(self) -> set[int]:
        """The master's live children: its workers."""
        return {pid for pid in _pids() if _parent_of(pid) == self.process.pid}

    def wait_for_workers(self, count: int, *, other_than: AbstractSet[int] = frozenset()) -> set[int]:
        """Worker pids once ``count`` are running, none of them in ``other_than`` (e.g. one just killed)."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            workers = self.worker_pids()
            if len(workers) == count and not workers & other_than:
                return workers
            time.sleep(0.02)   # polling interval while gunicorn starts a worker
        raise AssertionError(f"{count} workers did not start within {DEADLINE} s (now: {self.worker_pids()})")

    def connection_holders(self) -> dict[int, int]:
        """Open client connections, as the client's port, each with the pid of the worker holding its server
        end (a connection is held once a worker has accepted it)."""
        inodes = _server_socket_inodes(self.port)
        holders = {}
        for pid in self.worker_pids():
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(FileNotFoundError):
                    client_port = inodes.get(os.readlink(fd))
                    if client_port is not None:
                        holders[client_port] = pid
        return holders

    def holder_of(self, connection: http.client.HTTPConnection) -> int:
        """The pid of the worker holding ``connection``, which must have been answered once (so accepted)."""
        return self.connection_holders()[connection.sock.getsockname()[1]]


@contextmanager
def serve(*args: str) -> Iterator[ServeProcess]:
    """``videomock serve --port 0 --quiet ARGS``; yields once it listens, kills the group on the way out."""
    process = subprocess.Popen([sys.executable, "-m", "videomock", "serve", "--port", "0", "--quiet", *args],
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    threading.Thread(target=lambda: [(lines.put(line), seen.append(line)) for line in process.stderr], daemon=True).start()
    try:
        deadline = time.monotonic() + DEADLINE
        while (found := re.search(r"serving on (http://\S+)", lines.get(timeout=deadline - time.monotonic()))) is None:
            pass
        yield ServeProcess(process, found.group(1), seen)
    finally:
        _kill_group(process)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):   # the whole group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(DEADLINE)


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None


def _server_socket_inodes(server_port: int) -> dict[str, int]:
    """The server ends of loopback TCP connections to ``server_port``, as ``socket:[inode]`` links, each with
    the port of the client end."""
    inodes = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port, remote_port = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            if local_port == server_port and remote_port != 0:
                inodes[f"socket:[{fields[9]}]"] = remote_port
    return inodes
