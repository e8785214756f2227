"""Helpers for the clientlib tests: a scripted provider, virtual time, and the recorded gateway bodies.

The fake speaks only the documented dialect and (on this branch) injects no faults, so retries, cut
connections and gateway variants are exercised against :class:`ScriptedServer`: a small Flask app, served
over real HTTP, that answers each route from a script and records every request it gets.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from videomock import create_app
from videomock.client import RetryPolicy
from videomock.core.backend import VideoBackend
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

RECORDINGS = Path(__file__).parent / "data" / "recordings"

Reply = Callable[[], Response]


@dataclass(frozen=True)
class Seen:
    """A request the scripted server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


def reply(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    """A canned JSON (or, for bytes/str, raw) response."""
    def make() -> Response:
        if isinstance(body, (bytes, str)):
            return Response(body, status=status, headers=headers)
        return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")
    return make


def recorded(name: str, **substitutions: str) -> Reply:
    """Serve a recording from tests/data/recordings (its ``status`` and ``response``); ``{key}`` placeholders
    in string values are filled from ``substitutions`` (recordings hold links to servers that the test starts)."""
    document = load_recording(name)
    return reply(document.get("status", 200), _fill(document["response"], substitutions))


def load_recording(name: str) -> dict[str, Any]:
    return json.loads((RECORDINGS / name).read_text(encoding="utf-8"))


def _fill(value: Any, substitutions: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, text in substitutions.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, substitutions) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, substitutions) for v in value]
    return value


class ScriptedServer:
    """Answers ``METHOD /path`` with the next scripted reply; the last one repeats. Unscripted routes 404."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._script: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        app = Flask("scripted")

        @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
        @app.route("/<path:path>", methods=["GET", "POST"])
        def answer(path: str) -> Response:
            key = (request.method, "/" + path)
            self.seen.append(Seen(request.method, "/" + path, dict(request.headers), request.get_json(silent=True)))
            replies = self._script.get(key)
            if not replies:
                return Response(json.dumps({"error": {"message": f"unscripted {key}", "type": "not_found_error",
                                                      "param": None, "code": None}}), 404, mimetype="application/json")
            return (replies.popleft() if len(replies) > 1 else replies[0])()

        self._live = LiveServer(app)

    def reset(self) -> None:
        """Forget the script and the requests seen (a server is shared by a module: stopping one takes 0.5 s)."""
        self.seen.clear()
        self._script.clear()

    def on(self, method: str, path: str, *replies: Reply) -> ScriptedServer:
        self._script[(method, path)].extend(replies)
        return self

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if (s.method, s.path) == (method, path)]

    @property
    def url(self) -> str:
        return self._live.url

    def __enter__(self) -> ScriptedServer:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()


@dataclass
class VirtualTime:
    """Stands in for sleep and the monotonic clock; with a backend, sleeping moves the fake's clock too,
    so a manual-clock fake runs a task's whole timeline with no real waiting."""

    backend: VideoBackend | None = None
    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.backend is not None:
            self.backend.advance(seconds)

    def clock(self) -> float:
        return self.now

    def policy(self, **kwargs: Any) -> RetryPolicy:
        return RetryPolicy(sleep=self.sleep, rng=random.Random(0), **kwargs)


@contextmanager
def serve_fake(config: dict[str, Any], videos: VideoLibrary) -> Iterator[tuple[str, VideoBackend]]:
    """A fake with its own config over real HTTP: (url, backend)."""
    app = create_app(config, videos=videos)
    with LiveServer(app) as server:
        yield server.url, app.extensions["videomock"]
