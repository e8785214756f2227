"""Each dialect's task lifecycle as data: which route submits, polls or downloads, where the task's id is,
which message schema each answer follows, how a task's status reads, and what its ids look like.

A recording proxy, the checks of a recording and its replay all need to tell a poll from a submit and to
find the task an exchange belongs to, for every API videomock speaks. Kept here, next to the schemas those
answers are checked against, it is written once; the fake's own routes (``videomock.dialects``) are the
implementation, and the suite records them through a proxy to keep the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from videomock.contracts.schemas import CompiledSchema, load_schema
from videomock.contracts.validation import Violation, violations_of

SUBMIT, POLL, DOWNLOAD = "submit", "poll", "download"
#: The dialects a cassette may be in. ``documented`` and ``new-api`` share their routes (gateway profiles).
DIALECTS = ("documented", "new-api", "openai", "vertex", "gemini", "kling")
#: A dialect's dialects by route family: the gateway's routes answer in either profile's shape.
GATEWAY = ("documented", "new-api")

_ID = r"(?P<id>[^/:]+)"
_KLING = r"(?:/kling)?/v1/videos/(?:text2video|image2video)"
_VERTEX_MODEL = r"/v1(?:beta1)?/(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models/[^/:]+"


@dataclass(frozen=True)
class Route:
    """One route of a task's lifecycle. The task's id is the path's ``id`` group, else the last ``/`` segment
    of the string at ``id_pointer`` in the request body (``request``) or the answer (``response``)."""

    family: tuple[str, ...]
    role: str
    method: str
    path: re.Pattern[str]
    id_pointer: str | None = None
    id_in: str = "response"

    def task_id(self, path: str, request: Any, response: Any) -> str | None:
        match = self.path.fullmatch(path)
        if match is not None and "id" in match.groupdict():
            return match["id"]
        value = resolve_pointer(request if self.id_in == "request" else response, self.id_pointer or "")
        if not isinstance(value, str) or not value:
            return None
        return value.rsplit("/", 1)[-1] or None


def _route(family: tuple[str, ...], role: str, method: str, path: str, id_pointer: str | None = None,
           id_in: str = "response") -> Route:
    return Route(family, role, method, re.compile(path), id_pointer, id_in)


#: In matching order: Kling's paths come before the OpenAI poll they would otherwise look like.
ROUTES: tuple[Route, ...] = (
    _route(("kling",), SUBMIT, "POST", _KLING, "/data/task_id"),
    _route(("kling",), POLL, "GET", _KLING + "/" + _ID),
    _route(GATEWAY, SUBMIT, "POST", r"/v1/video/generations", "/task_id"),
    _route(GATEWAY, POLL, "GET", r"/v1/video/generations/" + _ID),
    _route(DIALECTS, DOWNLOAD, "GET", r"/v1/videos/" + _ID + r"/content"),
    _route(DIALECTS, DOWNLOAD, "GET", r"/cdn/videos/" + _ID + r"\.mp4"),
    _route(("openai",), SUBMIT, "POST", r"/v1/videos", "/id"),
    _route(("openai",), POLL, "GET", r"/v1/videos/" + _ID),
    _route(("vertex",), SUBMIT, "POST", _VERTEX_MODEL + r":predictLongRunning", "/name"),
    _route(("vertex",), POLL, "POST", _VERTEX_MODEL + r":fetchPredictOperation", "/operationName", "request"),
    _route(("gemini",), SUBMIT, "POST", r"/v1beta/models/[^/:]+:predictLongRunning", "/name"),
    _route(("gemini",), POLL, "GET", r"/v1beta/models/[^/]+/operations/" + _ID),
    _route(DIALECTS, DOWNLOAD, "GET", r"/v1beta/files/" + _ID + r":download"),
)


def route_of(method: str, path: str) -> Route | None:
    """The lifecycle route a request is on, or None (model lists, health checks, admin routes...)."""
    return next((r for r in ROUTES if r.method == method.upper() and r.path.fullmatch(path)), None)


def belongs_to(path_id: str, task_id: str) -> bool:
    """Whether a download's id names ``task_id``'s video: Gemini's file ids are the operation's id followed by
    the output's index."""
    return path_id == task_id or (path_id.startswith(task_id) and path_id[len(task_id):].isdecimal())


#: The schema each dialect's answers follow, by role; ``error`` is every answer with a status of 400 or more.
#: A name is a schema file; ``file#name`` is one of that file's ``$defs``.
MESSAGES: Mapping[str, Mapping[str, str]] = {
    "documented": {SUBMIT: "submit_response", POLL: "task", "error": "error"},
    "new-api": {SUBMIT: "newapi_video", POLL: "newapi_task", "error": "newapi_error"},
    "openai": {SUBMIT: "openai_video", POLL: "openai_video", "error": "error"},
    "vertex": {SUBMIT: "google_operation", POLL: "google_operation", "error": "google_error"},
    "gemini": {SUBMIT: "google_operation", POLL: "google_operation", "error": "google_error"},
    "kling": {SUBMIT: "kling#submit_response", POLL: "kling#task_response", "error": "kling#error"},
}

#: Where each dialect's task status is, in a poll's answer (Google's operations have none: see :func:`status_of`).
STATUS_POINTERS: Mapping[str, str] = {"documented": "/status", "new-api": "/data/status", "openai": "/status",
                                      "kling": "/data/task_status"}

#: The ids each dialect hands out, as the providers document them and the fake makes them: an id in another
#: format is drift (what-real-gateways-return.md, dialects.md).
ID_FORMATS: Mapping[str, tuple[str, str]] = {
    "documented": (r"task_[0-9a-z]{32}", "task_ and 32 lowercase letters and digits"),
    "new-api": (r"task_[0-9A-Za-z]{32}", "task_ and 32 letters and digits"),
    "openai": (r"video_[0-9a-f]{32}", "video_ and 32 hex digits"),
    "vertex": (r"[0-9a-z]{12}", "12 lowercase letters and digits"),
    "gemini": (r"[0-9a-z]{12}", "12 lowercase letters and digits"),
    "kling": (r"[0-9]{18,19}", "18 or 19 digits"),
}


def message_for(dialect: str, role: str, status: int) -> str:
    return MESSAGES[dialect]["error" if status >= 400 else role]


@cache
def message_schema(name: str) -> dict[str, Any]:
    """The schema a :data:`MESSAGES` name refers to, as one self-contained document."""
    file, _, definition = name.partition("#")
    schema = load_schema(file)
    if not definition:
        return schema
    return {"$schema": schema["$schema"], "$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}


@cache
def _message_validator(name: str) -> CompiledSchema:
    return CompiledSchema(message_schema(name), check=False)


def validate_message(name: str, body: Any) -> list[Violation]:
    """Every violation of an answer against the message schema ``name`` (see :data:`MESSAGES`)."""
    return violations_of(_message_validator(name), body)


def status_of(dialect: str, body: Any) -> str | None:
    """A poll answer's task status as the dialect spells it; Google's operations say ``done`` (with a
    ``response``), ``failed`` (with an ``error``) or ``running``."""
    if dialect in ("vertex", "gemini"):
        if not isinstance(body, dict):
            return None
        return ("failed" if "error" in body else "done") if body.get("done") is True else "running"
    value = resolve_pointer(body, STATUS_POINTERS[dialect])
    return value if isinstance(value, str) else None


def id_format_problem(dialect: str, task_id: str) -> str | None:
    """Why ``task_id`` is not in the dialect's id format, or None."""
    pattern, described = ID_FORMATS[dialect]
    if re.fullmatch(pattern, task_id):
        return None
    return f"id {task_id!r} is not in {dialect}'s format ({described})"


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer, or None where there is none."""
    for part in pointer.split("/")[1:] if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list) and part.isdecimal() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document
