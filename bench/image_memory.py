"""What image-to-video submits cost a real ``videomock serve`` in memory and on disk: worker RSS before and
after many distinct ~10 MB images, and the size of the store file they leave.

Run: .venv/bin/python bench/image_memory.py [--images 50] [--connections 4] [--clock instant]

Each image is a distinct PNG of random pixels just under the 10 MiB limit (random pixels do not compress,
so the file is as large as the pixels), sent inline as a data URI (~13.7 MB of JSON). With the instant clock
every submit starts a render at once, so renders queue behind the render threads while submits keep coming:
the most a worker is ever asked to hold. Every task is then polled until completed (small 720x720 videos),
and memory is read again once all renders are done.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from PIL import Image
from servers import ServerProcess, _group_pids, start_videomock

AUTH = {"Authorization": "Bearer sk-bench"}
#: 1800 x 1900 RGB: 10.26 MB of pixels, under the 10 MiB (10.49 MB) inline limit once stored in a PNG.
SIZE = (1800, 1900)
BODY = {"model": "kling-v2-5-turbo", "width": 720, "height": 720, "fps": 24, "duration": 5}
DEADLINE = 600.0


def image_uri() -> str:
    out = io.BytesIO()
    Image.frombytes("RGB", SIZE, os.urandom(SIZE[0] * SIZE[1] * 3)).save(out, "PNG", compress_level=0)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def worker_rss_mib(server: ServerProcess) -> list[float]:
    """Resident memory of each worker (the master's children; ffmpeg runs are the workers'), in MiB."""
    sizes = []
    for pid in _group_pids(server.process.pid):
        try:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
        except FileNotFoundError:   # an ffmpeg run that just ended
            continue
        if int(status["PPid"]) == server.process.pid:
            sizes.append(int(status["VmRSS"].split()[0]) / 1024)
    return sorted(sizes)


def submit_images(url: str, count: int, connections: int) -> list[str]:
    def submit(_: int) -> str:
        response = requests.post(f"{url}/v1/video/generations", json={**BODY, "image": image_uri()},
                                 headers=AUTH, timeout=120)
        response.raise_for_status()
        return str(response.json()["task_id"])

    with ThreadPoolExecutor(connections) as pool:
        return list(pool.map(submit, range(count)))


def wait_completed(url: str, task_ids: list[str]) -> None:
    deadline = time.monotonic() + DEADLINE
    with requests.Session() as session:
        session.headers.update(AUTH)
        for task_id in task_ids:
            while (status := session.get(f"{url}/v1/video/generations/{task_id}", timeout=120).json()["status"]) != "completed":
                if status == "failed" or time.monotonic() > deadline:
                    raise SystemExit(f"task {task_id} is {status}")


def store_bytes(folder: Path) -> int:
    """The store file and its write-ahead log."""
    return sum(path.stat().st_size for path in folder.glob("store.db*") if not path.name.endswith("-lock"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50, help="distinct images submitted")
    parser.add_argument("--connections", type=int, default=4, help="concurrent submitting connections")
    parser.add_argument("--clock", default="instant", help="videomock serve --clock")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server, url = start_videomock(folder, "--store", str(folder / "store.db"), "--clock", args.clock)
        try:
            wait_completed(url, submit_images(url, 1, 1))   # imports and first-use allocations out of the way
            before, store_before = worker_rss_mib(server), store_bytes(folder)
            started = time.monotonic()
            task_ids = submit_images(url, args.images, args.connections)
            submitted, after_submits = time.monotonic() - started, worker_rss_mib(server)
            wait_completed(url, task_ids)
            after_renders, store_after = worker_rss_mib(server), store_bytes(folder)
        finally:
            server.stop()
        cache = sum(path.stat().st_size for path in (folder / "videos").rglob("*") if path.is_file())

    def mib(values: list[float]) -> str:
        return ", ".join(f"{value:.0f}" for value in values) + " MiB"

    print(f"{args.images} distinct ~10 MB images over {args.connections} connections, clock {args.clock}, "
          f"submitted in {submitted:.1f} s")
    print(f"worker RSS: before {mib(before)}; after the submits {mib(after_submits)}; "
          f"after every render {mib(after_renders)}")
    print(f"store file (with its WAL): before {store_before / 1e6:.1f} MB, after {store_after / 1e6:.1f} MB; "
          f"media cache after: {cache / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
