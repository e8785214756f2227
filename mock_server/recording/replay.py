"""Replay: the fake answers recorded requests with the recorded answers.

A submit that matches a cassette's (same route, same body) starts a replayed task under a new id in the
recorded id's format (the recorded one is replaced everywhere in every answer, so replaying a cassette twice
gives two tasks, as the provider would); its polls answer the recorded polls, paced on the fake's virtual
clock by their recorded offsets (in instant mode, one recorded poll per poll, so a client sees every
recorded state in order); its download is the recorded video, or a placeholder with the recorded media
facts, rendered as the fake renders its own. The recorded origin in answers becomes the replay's own.

A lifecycle request that matches nothing is a 404 ``no_matching_cassette`` in the dialect's error shape,
naming the closest cassette and what differs, unless the replay falls back to the fake, which then answers
it as it answers everything else (models, health, the admin API always come from the fake).
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from videomock.contracts.exchanges import DOWNLOAD, POLL, SUBMIT, belongs_to, route_of
from videomock.core.errors import provider_error
from videomock.http.app import FAST_PATH
from videomock.media.render import VideoSpec
from videomock.recording.cassette import (
    TRANSIENT_HEADERS,
    Cassette,
    decode_body,
    form_fields,
    json_or_none,
    load_folder,
)

EXTENSION = "videomock.replay"
#: A recorded poll is due once the virtual clock is this close to its offset: virtual time is an epoch time,
#: whose float has about a microsecond of precision left, and the offsets are recorded to the microsecond.
DUE_WITHIN = 1e-3


@dataclass
class Played:
    """A replayed task: the cassette, its new id, when (virtual time) it was submitted, polls answered."""

    cassette: Cassette
    task_id: str
    started: float
    polls_answered: int = 0
    last_poll: int = -1

    @property
    def reached_final(self) -> bool:
        """Whether the client was given the last recorded poll (the task's recorded final state)."""
        return self.last_poll == len(self.cassette.polls) - 1


#: The alphabets an id's random part is drawn from, narrowest first: the first that holds the recorded part.
ALPHABETS = (string.digits, "0123456789abcdef", string.digits + string.ascii_lowercase, string.digits + string.ascii_letters)


def new_id(old: str, rng: random.Random) -> str:
    """An id in ``old``'s format: the same prefix (up to its last ``_`` or ``-``) and a random rest of the
    same length and alphabet (an all-digit id does not start with 0, as Kling's do not)."""
    cut = max(old.rfind("_"), old.rfind("-")) + 1
    prefix, rest = (old[:cut], old[cut:]) if cut < len(old) else ("", old)
    alphabet = next((a for a in ALPHABETS if all(c in a for c in rest)), None)
    if alphabet is None:   # letters and digits where they were, anything else kept
        return prefix + "".join(_like(c, rng) for c in rest)
    first = rng.choice(alphabet[1:] if alphabet == string.digits else alphabet)
    return prefix + first + "".join(rng.choice(alphabet) for _ in rest[1:])


def _like(character: str, rng: random.Random) -> str:
    if character.isascii() and character.isalpha():
        return rng.choice(string.ascii_letters)
    return rng.choice(string.digits) if character.isdigit() else character


class Replay:
    """The recorded tasks a fake answers with; ``fallback`` lets the fake answer what matches none."""

    def __init__(self, cassettes: Sequence[Cassette], *, fallback: bool = False, seed: int = 0) -> None:
        self.cassettes = list(cassettes)
        self.fallback = fallback
        self.played: dict[str, Played] = {}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def played_of(self, cassette: Cassette) -> list[Played]:
        """Every replayed task made from ``cassette``, in order."""
        return [p for p in self.played.values() if p.cassette.path == cassette.path]

    # --- answering -------------------------------------------------------------------------------------------

    def answer(self, app: Flask) -> Response | None:
        """The replay's answer to the current request, or None to let the fake answer it."""
        route = route_of(request.method, request.path)
        if route is None:
            return None
        if route.role == SUBMIT:
            return self._submit(app)
        body = json_or_none(request.get_data(cache=True))
        asked = route.task_id(request.path, body, None) or ""
        with self._lock:
            played = next((p for p in self.played.values() if asked == p.task_id or
                           (route.role == DOWNLOAD and belongs_to(asked, p.task_id))), None)
        if played is None:
            if self.fallback:
                return None
            names = ", ".join(sorted(p.task_id for p in self.played.values())) or "none yet"
            raise provider_error("no_matching_cassette", f"No replayed task {asked!r} (replayed so far: {names}); "
                                 f"a replayed task starts with a submit that matches a cassette.")
        return self._poll(played) if route.role == POLL else self._download(app, played)

    def _submit(self, app: Flask) -> Response | None:
        given = form_fields(request)
        given = given if given is not None else json_or_none(request.get_data(cache=True))
        candidates = [c for c in self.cassettes if c.submit["request"]["method"] == request.method]
        scored = sorted(((self._distance(c, given), c.name, c) for c in candidates), key=lambda t: (t[0][0], len(t[0][1]), t[1]))
        if scored and scored[0][0] == (0, []):
            cassette = scored[0][2]
            backend = app.extensions["videomock"]
            with self._lock:
                recorded = cassette.task_id
                task_id = new_id(recorded, self._rng) if recorded else ""
                if recorded:
                    self.played[task_id] = Played(cassette, task_id, backend.clock.now())
            return self._recorded(cassette, cassette.submit, task_id)
        if self.fallback:
            return None
        if not scored:
            closest = "no cassette has a submit"
        else:
            (path_differs, fields), name, _ = scored[0]
            what = ["the path"] if path_differs else []
            what += [f"field {f!r}" for f in fields]
            closest = f"the closest cassette is {name}, which differs in {', '.join(what)}"
        raise provider_error("no_matching_cassette", f"No cassette matches {request.method} {request.path}: {closest}.")

    @staticmethod
    def _distance(cassette: Cassette, given: Any) -> tuple[int, list[str]]:
        """How far a request is from a cassette's submit: whether the path differs, and which fields do."""
        recorded = cassette.request_body
        path_differs = int(cassette.submit["request"]["path"] != request.path)
        if isinstance(recorded, dict) and isinstance(given, dict):
            fields = sorted(k for k in recorded.keys() | given.keys() if recorded.get(k) != given.get(k))
        else:
            fields = [] if recorded == given else ["(the whole body)"]
        return path_differs, fields

    def _poll(self, played: Played) -> Response:
        polls = played.cassette.polls
        if not polls:
            raise provider_error("no_matching_cassette", f"The cassette {played.cassette.name} has no poll of its task.")
        from flask import current_app

        clock = current_app.extensions["videomock"].clock
        with self._lock:
            if clock.mode == "instant":
                index = min(played.polls_answered, len(polls) - 1)
            else:
                elapsed = clock.now() - played.started
                index = max([i for i, p in enumerate(polls) if p["offset"] <= elapsed + DUE_WITHIN] or [0])
            played.last_poll = index = max(index, played.last_poll)
            played.polls_answered += 1
        return self._recorded(played.cassette, polls[index], played.task_id)

    def _download(self, app: Flask, played: Played) -> Response:
        cassette = played.cassette
        if not cassette.downloads:
            raise provider_error("no_matching_cassette", f"The cassette {cassette.name} has no download of its task.")
        path = request.path.replace(played.task_id, cassette.task_id or "")
        exchange = next((d for d in cassette.downloads if d["request"]["path"] == path), cassette.downloads[0])
        response = exchange["response"]
        if decode_body(response.get("body")) is not None:
            return self._recorded(cassette, exchange, played.task_id)
        media = response["body"].get("media")
        if media is None:
            raise provider_error("no_matching_cassette", f"The cassette {cassette.name} kept its video as a digest "
                                 "with no media facts, so there is nothing to play back.")
        spec = VideoSpec(model=cassette.dialect, prompt=f"replay of {cassette.name}", width=media["width"] // 2 * 2,
                         height=media["height"] // 2 * 2, fps=max(1, min(120, round(media["fps"]))),
                         duration=max(1, round(media["duration"])), seed=0)
        video = app.extensions["videomock"].videos.ensure(f"replay-{response['body']['sha256'][:40]}", lambda: spec)
        return Response(video.read_bytes(), response["status"], self._headers(response, played.task_id, cassette))

    def _recorded(self, cassette: Cassette, exchange: dict[str, Any], task_id: str) -> Response:
        response = exchange["response"]
        data = decode_body(response.get("body")) or b""
        if cassette.task_id and task_id:
            data = data.replace(cassette.task_id.encode(), task_id.encode())
        if "upstream" in cassette.document:
            data = data.replace(cassette.document["upstream"].encode(), request.host_url.rstrip("/").encode())
        return Response(data, response["status"], self._headers(response, task_id, cassette))

    @staticmethod
    def _headers(response: dict[str, Any], task_id: str, cassette: Cassette) -> list[tuple[str, str]]:
        headers = []
        for name, value in response.get("headers", {}).items():
            if name not in TRANSIENT_HEADERS:
                if cassette.task_id and task_id:
                    value = value.replace(cassette.task_id, task_id)
                headers.append((name, value))
        return headers


def install(app: Flask) -> None:
    """Let ``app`` replay: afterwards :func:`use` sets (or clears) what it replays. Installed before the app's
    first request (Flask takes no hooks later), answering nothing until then. Submits then all go through
    Flask, where the replay sees them first."""
    app.extensions[EXTENSION] = None
    app.extensions[FAST_PATH].stop_submits()

    def replayed() -> Response | None:
        replay: Replay | None = app.extensions[EXTENSION]
        return replay.answer(app) if replay is not None else None

    app.before_request(replayed)


def replay_from_config(app: Flask, config: Mapping[str, Any]) -> None:
    """Replay the folder ``server.replay`` names (``videomock serve --replay``; its worker calls this only then,
    to import replay only then)."""
    server = config["server"]
    install(app)
    use(app, Replay(load_folder(Path(server["replay"])), fallback=server["replay_fallback"], seed=config["seed"]))


def use(app: Flask, replay: Replay | None) -> None:
    if EXTENSION not in app.extensions:
        raise RuntimeError("replay.install(app) must be called before the app serves its first request")
    app.extensions[EXTENSION] = replay
