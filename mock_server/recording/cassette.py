"""Cassettes: one task's lifecycle per JSON file (``contracts/schemas/cassette.schema.json``), and the
:class:`Book` that turns a stream of exchanges, from the proxy or a HAR file, into them.

The Book is the one place that knows what an exchange means for a task; which route submits, polls or
downloads and where the id is come from the contracts' lifecycle table, and the gateway profile an answer
is in from the client's own reading of bodies (:mod:`videomock.client.dialects`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videomock.client.dialects import NEW_API, OPENAI_VIDEO, dialect_of
from videomock.contracts.exchanges import DOWNLOAD, GATEWAY, POLL, SUBMIT, Route, belongs_to, route_of, status_of
from videomock.contracts.validation import validate_against
from videomock.recording.redact import Redactor

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

FORMAT_VERSION = 1
#: Downloads up to this size are kept whole; larger ones as their hash and media facts.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
#: Where the proxy takes webhooks (point a callback_url or webhookConfig there): not forwarded, recorded.
WEBHOOK_PATH = "/__videomock_record/webhook"
#: Headers that describe a connection or a transfer, not the message: never recorded, never replayed.
TRANSIENT_HEADERS = frozenset({"host", "connection", "keep-alive", "transfer-encoding", "content-length", "date",
                               "server", "content-encoding", "accept-encoding", "te", "trailer", "upgrade",
                               "proxy-connection"})


class CassetteError(ValueError):
    """A cassette (or a folder of them) that cannot be used; the message names the file and the pointer."""


@dataclass
class Exchange:
    """One request and its answer, as they went over the wire. ``at`` is when the request was sent (seconds
    on any clock that all of a recording's exchanges share)."""

    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    at: float
    form: dict[str, str] | None = None


def form_fields(request: Request) -> dict[str, str] | None:
    """A multipart or urlencoded body's fields, a file part as its digest: what a submit is matched on, since
    a multipart body's boundary is random (and its files can be large)."""
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return None
    fields = dict(request.form.items())
    fields.update({name: "sha256:" + hashlib.sha256(upload.read()).hexdigest() for name, upload in request.files.items()})
    return fields


def json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode_body(data: bytes, content_type: str, redactor: Redactor, *, max_bytes: int,
                probe: Callable[[bytes], dict[str, Any] | None]) -> dict[str, Any] | None:
    """A body as the cassette keeps it (see the schema's ``body``): JSON and text redacted, bytes whole up to
    ``max_bytes``, else as their digest; a video's media facts alongside."""
    if not data:
        return None
    textual = content_type.startswith("text/") or "json" in content_type
    if textual:
        try:
            text = redactor.text(data.decode("utf-8"))
        except UnicodeDecodeError:
            textual = False
        else:
            value = json_or_none(text.encode())
            if value is not None and compact(value) + "\n" == text:
                return {"json": value}
            if value is not None and compact(value) == text:
                return {"json": value, "newline": False}
            return {"text": text}
    media = probe(data) if content_type.startswith("video/") or data[4:8] == b"ftyp" else None
    body: dict[str, Any] = ({"base64": base64.b64encode(data).decode()} if len(data) <= max_bytes else
                            {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    if media is not None:
        body["media"] = media
    return body


def decode_body(body: dict[str, Any] | None) -> bytes | None:
    """The bytes a recorded body was, or None for one kept as its digest."""
    if body is None:
        return b""
    if "json" in body:
        return (compact(body["json"]) + ("\n" if body.get("newline", True) else "")).encode()
    if "text" in body:
        return str(body["text"]).encode()
    if "base64" in body:
        return base64.b64decode(body["base64"])
    return None


def body_json(body: dict[str, Any] | None) -> Any:
    """A recorded body as JSON, or None."""
    if body is None:
        return None
    if "json" in body:
        return body["json"]
    return json_or_none(body["text"].encode()) if "text" in body else None


def gateway_profile(body: Any) -> str | None:
    """Which profile a gateway answer is in, as the client reads it (None: the body does not say)."""
    shape = dialect_of(body)
    if shape in (NEW_API, OPENAI_VIDEO) or (isinstance(body, dict) and isinstance(body.get("error"), dict)
                                            and body["error"].get("type") == "new_api_error"):
        return "new-api"
    return "documented" if isinstance(body, dict) and ("task_id" in body or "error" in body) else None


@dataclass
class _Open:
    """A cassette being recorded."""

    path: Path
    document: dict[str, Any]
    started: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class Book:
    """Cassettes for the exchanges it is given, one file per task in ``folder``, each rewritten (atomically) as
    its task moves on, so a recording stopped at any moment leaves every task as far as it got.
    ``on_recorded(cassette path, role, exchange, document)`` is told of each exchange recorded."""

    def __init__(self, folder: Path, upstream: str, *, source: str = "proxy", max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 redactor: Redactor | None = None, probe: Callable[[bytes], dict[str, Any] | None] | None = None,
                 on_recorded: Callable[[Path, str, Exchange, dict[str, Any]], None] | None = None) -> None:
        self.folder = folder
        self.upstream = upstream
        self.source = source
        self.max_body_bytes = max_body_bytes
        self.redactor = redactor or Redactor()
        self.probe = probe or (lambda data: None)
        self.on_recorded = on_recorded
        self._tasks: dict[str, _Open] = {}
        self._refused = 0
        self._lock = threading.Lock()

    def add(self, exchange: Exchange) -> str | None:
        """Record one exchange; returns what it was for a task (submit, poll, download, webhook) or None when it
        was no part of any task's lifecycle the Book has seen (a model list, a poll of a task submitted
        elsewhere)."""
        if exchange.method == "POST" and exchange.path == WEBHOOK_PATH:
            return self._webhook(exchange)
        route = route_of(exchange.method, exchange.path)
        if route is None:
            return None
        request, response = json_or_none(exchange.request_body), json_or_none(exchange.response_body)
        task_id = route.task_id(exchange.path, request, response)
        if route.role == SUBMIT:
            return self._submit(route, exchange, response, task_id if exchange.status < 400 else None)
        with self._lock:
            if route.role == DOWNLOAD:
                task = next((t for i, t in self._tasks.items() if task_id and belongs_to(task_id, i)), None)
            else:
                task = self._tasks.get(task_id or "")
        if task is None:
            return None
        with task.lock:
            if route.role == POLL and task.document["dialect"] in GATEWAY:
                task.document["dialect"] = gateway_profile(response) or task.document["dialect"]
            task.document["polls" if route.role == POLL else "downloads"].append(self._exchange(exchange, task.started))
            self._write(task)
        self._told(task, route.role, exchange)
        return route.role

    def _submit(self, route: Route, exchange: Exchange, response: Any, task_id: str | None) -> str:
        dialect = route.family[0] if len(route.family) == 1 else gateway_profile(response) or "documented"
        with self._lock:
            if task_id is None:
                self._refused += 1
                name = f"{dialect}-refused-{self._refused}"
            else:
                name = f"{dialect}-{task_id}"
            document = {"videomock_cassette": FORMAT_VERSION, "dialect": dialect, "upstream": self.upstream,
                        "task_id": task_id, "source": self.source, "submit": {}, "polls": [], "downloads": [],
                        "webhooks": []}
            task = _Open(self.folder / (re.sub(r"[^\w.-]", "_", name) + ".json"), document, exchange.at)
            if task_id is not None:
                self._tasks[task_id] = task
        with task.lock:
            document["submit"] = self._exchange(exchange, exchange.at)
            self._write(task)
        self._told(task, SUBMIT, exchange)
        return SUBMIT

    def _webhook(self, exchange: Exchange) -> str | None:
        text = exchange.request_body.decode("utf-8", "replace")
        with self._lock:
            task = next((t for i, t in self._tasks.items() if i in text), None)
        if task is None:
            return None
        content_type = _content_type(exchange.request_headers, "")
        with task.lock:
            hook = {"offset": round(max(0.0, exchange.at - task.started), 6), "path": exchange.path,
                    "headers": self._headers(exchange.request_headers),
                    "body": self._body(exchange.request_body, content_type)}
            task.document["webhooks"].append({k: v for k, v in hook.items() if v is not None})
            self._write(task)
        self._told(task, "webhook", exchange)
        return "webhook"

    def _told(self, task: _Open, role: str, exchange: Exchange) -> None:
        if self.on_recorded is not None:
            self.on_recorded(task.path, role, exchange, task.document)

    def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        return self.redactor.headers({k.lower(): v for k, v in headers.items() if k.lower() not in TRANSIENT_HEADERS})

    def _body(self, data: bytes, content_type: str) -> dict[str, Any] | None:
        return encode_body(data, content_type, self.redactor, max_bytes=self.max_body_bytes, probe=self.probe)

    def _exchange(self, exchange: Exchange, started: float) -> dict[str, Any]:
        headers = self._headers(exchange.request_headers)   # first: it learns the request's secrets
        request: dict[str, Any] = {"method": exchange.method, "path": self.redactor.text(exchange.path),
                                   "query": self.redactor.query(exchange.query), "headers": headers}
        if exchange.form is not None:
            request["form"] = {k: self.redactor.text(v) for k, v in exchange.form.items()}
        else:
            request["body"] = self._body(exchange.request_body, _content_type(exchange.request_headers, "application/json"))
        response_headers = self._headers(exchange.response_headers)
        response = {"status": exchange.status, "headers": response_headers,
                    "body": self._body(exchange.response_body, response_headers.get("content-type", ""))}
        return {"offset": round(max(0.0, exchange.at - started), 6),
                "request": {k: v for k, v in request.items() if v not in (None, "")},
                "response": {k: v for k, v in response.items() if v is not None}}

    def _write(self, task: _Open) -> None:
        write_json(task.path, task.document)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


#: Read once, at import: os.umask can only be read by setting it, which would race with other threads later.
_UMASK = _umask()


def _content_type(headers: dict[str, str], default: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), default)


def write_json(path: Path, document: Any) -> None:
    """Write ``document`` whole or not at all: a reader never sees half a cassette."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        os.chmod(temporary, 0o666 & ~_UMASK)   # as any file the user writes: mkstemp's is owner-only
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Cassette:
    """A cassette read from disk, checked against its schema."""

    path: Path
    document: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def dialect(self) -> str:
        return str(self.document["dialect"])

    @property
    def task_id(self) -> str | None:
        return self.document.get("task_id")

    @property
    def submit(self) -> dict[str, Any]:
        return dict(self.document["submit"])

    @property
    def polls(self) -> list[dict[str, Any]]:
        return list(self.document["polls"])

    @property
    def downloads(self) -> list[dict[str, Any]]:
        return list(self.document["downloads"])

    @property
    def request_body(self) -> Any:
        """What the submit sent: its JSON, or its form fields."""
        request = self.submit["request"]
        return request["form"] if "form" in request else body_json(request.get("body"))

    @property
    def final_status(self) -> str | None:
        """The task's status in its last recorded answer, as the dialect spells it (None: never polled)."""
        answers = [e for e in [self.submit, *self.polls] if e["response"]["status"] < 400]
        return status_of(self.dialect, body_json(answers[-1]["response"].get("body"))) if self.polls and answers else None

    def exchanges(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every exchange with its role and its pointer in the file."""
        yield SUBMIT, "/submit", self.submit
        for role, key in ((POLL, "polls"), (DOWNLOAD, "downloads")):
            for index, exchange in enumerate(self.document[key]):
                yield role, f"/{key}/{index}", exchange


def load(path: Path) -> Cassette:
    """Read and check one cassette; a CassetteError names the file and every broken rule."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CassetteError(f"{path}: not a readable JSON file ({exc})") from None
    problems = validate_against("cassette", document)
    if problems:
        lines = "; ".join(f"{v.pointer or '/'}: {v.message}" for v in problems[:5])
        raise CassetteError(f"{path}: not a cassette: {lines}")
    return Cassette(path, document)


def load_path(path: Path) -> list[Cassette]:
    """The cassettes of a folder, or the one a file is."""
    if not path.exists():
        raise CassetteError(f"{path}: no such file or directory")
    return load_folder(path) if path.is_dir() else [load(path)]


def load_folder(folder: Path) -> list[Cassette]:
    """Every cassette in ``folder`` (its ``*.json`` files, by name); a CassetteError for a folder that does
    not exist, holds none, or holds a file that is not one."""
    if not folder.is_dir():
        raise CassetteError(f"{folder}: no such directory")
    files = sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    if not files:
        raise CassetteError(f"{folder}: no cassettes (*.json) in it")
    return [load(p) for p in files]
