"""Gateway profiles: whose code the gateway's routes answer as, chosen for each request.

``documented`` (the provider doc, the default) or ``new-api`` (what new-api's code accepts and returns on
the same routes; the config schema's ``gateway_profile`` names them). A request's profile is its
``X-Videomock-Gateway`` header, else its API key's entry in ``gateway.keys``, else ``gateway.profile``.

A profile is a way of speaking, not a behaviour: catalog rules, clock, faults, limits, idempotency and the
journal are the core's whichever profile answers, and a task made under one is read under the other. What
differs is a :class:`Profile`: how the generations routes read a submit and answer it and a poll, how the
OpenAI dialect's video object looks, and the shape of every error of the dialect routes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import request

from videomock.contracts.catalog import Catalog
from videomock.contracts.schemas import load_schema
from videomock.core.backend import TaskView, VideoBackend
from videomock.core.errors import APIError, provider_error
from videomock.core.keys import fingerprint
from videomock.core.tasks import Origin, Task
from videomock.http.auth import bearer_token
from videomock.http.context import backend

HEADER = "X-Videomock-Gateway"
_HEADER_KEY = "HTTP_X_VIDEOMOCK_GATEWAY"
#: Every profile, as the config schema lists them.
PROFILES: tuple[str, ...] = tuple(load_schema("config")["$defs"]["gateway_profile"]["enum"])


@dataclass(frozen=True)
class Profile:
    """What one profile reads and answers on the dialect routes."""

    name: str
    #: A submit's body -> the canonical generation request and the task's origin (raises APIError).
    read: Callable[[Any, Catalog], tuple[Any, Origin]]
    #: The task a submit created (or an idempotent one replayed) -> the submit's answer.
    submitted: Callable[[Task], Any]
    #: A polled task and its documented body (which holds its download link) -> the poll's answer.
    task: Callable[[TaskView, dict[str, Any], VideoBackend], Any]
    #: What the poll answers when looking the task up fails with this error.
    lookup_error: Callable[[APIError], APIError]
    #: The OpenAI dialect's video object of a task and the task's download link -> the object answered.
    video: Callable[[dict[str, Any], TaskView, str], dict[str, Any]]
    #: An error and the Flask endpoint that raised it -> the error's body.
    error: Callable[[APIError, str | None], Any]


def profile_of(environ: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """The name of a request's profile (from its WSGI environ); 400 for a header that names none."""
    header = environ.get(_HEADER_KEY)
    if header is not None:
        name = header.strip().lower()
        if name not in PROFILES:
            raise provider_error("invalid_gateway_header", f"{HEADER} {header!r} names no gateway profile; "
                                 f"allowed: {', '.join(PROFILES)}.", param=HEADER)
        return name
    settings = config["gateway"]
    key = bearer_token(environ.get("HTTP_AUTHORIZATION")) if settings["keys"] else None
    by_key: str | None = settings["keys"].get(fingerprint(key)) if key is not None else None
    return by_key or str(settings["profile"])


def named(environ: Mapping[str, Any], config: Mapping[str, Any]) -> Profile:
    """A request's profile (the WSGI fast path's way to it)."""
    return _profiles()[profile_of(environ, config)]


def readable(environ: dict[str, Any], video_backend: VideoBackend) -> bool:
    """Whether the request names its profile well enough to be answered without Flask (a bad header is a 400,
    which only the full path renders)."""
    return environ.get(_HEADER_KEY) is None or environ[_HEADER_KEY].strip().lower() in PROFILES


def current() -> Profile:
    """The profile of the request Flask is handling."""
    return named(request.environ, backend().config)


def check_header() -> None:
    """Refuse a bad header before a dialect route's view runs, whether or not the view needs its profile
    (a blueprint's before_request)."""
    current()


def render_error(error: APIError) -> Any:
    """An error of the dialect route Flask is handling, in its profile's shape."""
    return error_in_profile(request.environ, backend().config, error, request.endpoint)


def error_in_profile(environ: Mapping[str, Any], config: Mapping[str, Any], error: APIError, endpoint: str | None) -> Any:
    """An error of a dialect route (its Flask ``endpoint``) in the request's profile's shape. A bad header
    cannot choose one: the key or the configuration chooses, as if the header were absent."""
    try:
        profile = named(environ, config)
    except APIError:
        profile = named({k: v for k, v in environ.items() if k != _HEADER_KEY}, config)
    return profile.error(error, endpoint)


@cache
def _profiles() -> Mapping[str, Profile]:
    from videomock.dialects import documented, newapi

    profiles = {profile.name: profile for profile in (documented.PROFILE, newapi.PROFILE)}
    if set(profiles) != set(PROFILES):
        raise RuntimeError(f"the config schema's gateway profiles {PROFILES} are not the dialects' {tuple(profiles)}")
    return profiles
