"""The application's own cost of one submit, with no HTTP server: the fast path's and Flask's, per store.

Run: .venv/bin/python bench/submit_path.py [--submits 3000] [--rounds 5]

A plain JSON submit (no fault header, no fault rule for submits) is answered by the WSGI fast path
(videomock.http.fastpath); the same request with an empty ``X-Videomock-Fault`` header goes through Flask,
as every request did before. The two take turns round by round (medians of the rounds), so that their ratio
is from one run. Profile it ad hoc with ``py-spy record -f raw -o submit.txt -- .venv/bin/python
bench/submit_path.py --store sqlite``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from poll_path import microseconds_per_request
from throughput import SUBMIT

from videomock import create_app
from videomock.store import open_store

BODY = (SUBMIT.body or "").encode()


def submit_environ(*, through_flask: bool) -> dict[str, Any]:
    headers = {**SUBMIT.headers, **({"X-Videomock-Fault": ";"} if through_flask else {})}
    return EnvironBuilder(path=SUBMIT.path, method=SUBMIT.method, headers=headers, data=BODY,
                          base_url="http://127.0.0.1:8000").get_environ()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=3000, help="submits per round and path")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--store", choices=["memory", "sqlite"], action="append",
                        help="store(s) to measure (default: both)")
    args = parser.parse_args()
    paths = {"fast path": submit_environ(through_flask=False), "through Flask": submit_environ(through_flask=True)}
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.store or ["memory", "sqlite"]:
            app = create_app({"video": {"cache_dir": str(Path(tmp) / "videos")}},
                             store=open_store("memory" if store == "memory" else str(Path(tmp) / f"{store}.db")))
            for environ in paths.values():
                microseconds_per_request(app, environ, 300, BODY)   # warm-up
            rounds: dict[str, list[float]] = {name: [] for name in paths}
            for _ in range(args.rounds):
                for name, environ in paths.items():
                    rounds[name].append(microseconds_per_request(app, environ, args.submits, BODY))
            fast, full = (statistics.median(rounds[name]) for name in paths)
            print(f"{store:8} fast path {fast:6.1f} us per submit, through Flask {full:6.1f} us "
                  f"({full / fast:.2f}x), medians of {args.rounds} rounds of {args.submits}")


if __name__ == "__main__":
    main()
