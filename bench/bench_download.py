"""Time to first byte of a cached placeholder download, against the issue's target (<= 2 ms), with a
baseline in the same run: the same file served by a bare Flask ``send_file`` route on the same kind of server.

Run: .venv/bin/python bench/bench_download.py [--runs N]
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import tempfile
from pathlib import Path

from flask import Flask, send_file

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import median, table, timings

from videomock import create_app
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer


def first_byte(host: str, port: int, path: str, headers: dict[str, str]) -> None:
    """One request on a fresh connection, returning when the first byte of the body arrives."""
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    request += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((host, port)) as conn:
        conn.sendall(request.encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += conn.recv(65536)
        if not received.split(b"\r\n\r\n", 1)[1]:
            conn.recv(1)


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the live server's per-request log lines
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        library = VideoLibrary(Path(folder), max_bytes=1 << 30)
        app = create_app({"clock": {"mode": "instant"}}, videos=library)
        client = app.test_client()
        auth = {"Authorization": "Bearer bench"}
        task_id = client.post("/v1/video/generations", json={"model": "veo_3_1", "prompt": "ttfb", "seed": 1}, headers=auth).get_json()["task_id"]
        client.get(f"/v1/video/generations/{task_id}", headers=auth)  # completes it; the file is now cached
        video = next(Path(folder).glob("*.mp4"))
        size = video.stat().st_size

        bare = Flask("bare")
        bare.get("/video.mp4")(lambda: send_file(video, mimetype="video/mp4", conditional=True))

        with LiveServer(app) as ours, LiveServer(bare) as theirs:
            host, port = ours.url.split("//")[1].split(":")
            ours_s = median(timings(lambda: first_byte(host, int(port), f"/v1/videos/{task_id}/content", auth), args.runs, warmup=20))
            host, port = theirs.url.split("//")[1].split(":")
            bare_s = median(timings(lambda: first_byte(host, int(port), "/video.mp4", {}), args.runs, warmup=20))
        library.close()
    print(table(["case", "target", "measured (median)", "baseline: bare Flask send_file"], [
        [f"cached video, first byte ({size} bytes)", "<= 2 ms", f"{ours_s * 1000:.2f} ms",
         f"{bare_s * 1000:.2f} ms ({ours_s / bare_s:.2f}x)"],
    ]))


if __name__ == "__main__":
    main()
