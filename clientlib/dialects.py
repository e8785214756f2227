"""The shapes real gateways answer in, and how each becomes a :class:`~videomock.client.task.Task`.

The contract describes one dialect (``documented``). new-api based gateways also answer with a
``{"code", "message", "data"}`` wrapper holding upper-case statuses, "50%" progress, ``fail_reason`` and
``result_url`` (``new-api``), or with the OpenAI video object (``openai-video``: ``id``, ``object: "video"``).
See ``what-real-gateways-return.md`` section 2.

The contract's schemas apply to the documented dialect only; a variant is not the contract, so checking
it against the schema would only report that it is a variant. Instead every body, whatever its dialect,
goes through the same normalisation, which reports what the client itself relies on (an id, a known status,
progress 0..100, a link once completed) as violations with pointers into the raw body. The Task records
the dialect it came in, so callers (and ``videomock verify``) can tell drift in shape from drift in meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from videomock.client.task import COMPLETED, FAILED, IN_PROGRESS, QUEUED, UNKNOWN
from videomock.contracts import Violation, load_schema, validate_response
from videomock.contracts.errors import error_type

DOCUMENTED, NEW_API, OPENAI_VIDEO = "documented", "new-api", "openai-video"

#: Every status spelling seen in the wild (compared case-insensitively), and what it means.
STATUS_SYNONYMS: Mapping[str, str] = {
    "queued": QUEUED, "not_start": QUEUED, "submitted": QUEUED, "pending": QUEUED,
    "in_progress": IN_PROGRESS, "processing": IN_PROGRESS, "running": IN_PROGRESS,
    "completed": COMPLETED, "succeeded": COMPLETED, "success": COMPLETED,
    "failed": FAILED, "failure": FAILED,
    "unknown": UNKNOWN,
}

#: Where each dialect may put the task's id, its download link, and its timestamps, in order of preference.
ID_FIELDS = ("task_id", "id")
CREATED_FIELDS = ("created_at", "submit_time")
COMPLETED_FIELDS = ("completed_at", "finish_time")

#: Fields the contract names; everything else is kept in ``Task.extra``.
CONTRACT_FIELDS = frozenset(load_schema("task")["properties"])


@dataclass(frozen=True)
class Normalised:
    """A body read in its dialect: the Task's fields, and how the body breaks the contract."""

    dialect: str
    fields: dict[str, Any]
    violations: list[Violation]

    @property
    def usable(self) -> bool:
        """A Task can be built: there is an id (nothing can be polled without one)."""
        return "id" in self.fields


@dataclass(frozen=True)
class ErrorFields:
    """An error body read in its dialect."""

    message: str
    type: str | None
    code: str | int | None
    param: str | None
    violations: list[Violation]


def dialect_of(body: Any) -> str:
    if isinstance(body, dict) and {"code", "data"} <= body.keys() and "error" not in body:
        return NEW_API
    if isinstance(body, dict) and body.get("object") == "video":
        return OPENAI_VIDEO
    return DOCUMENTED


def normalise(kind: str, body: Any) -> Normalised:
    """Read a submit or task response (``kind`` is ``submit`` or ``task``) in whatever dialect it came."""
    dialect = dialect_of(body)
    inner, prefix = (body.get("data"), "/data") if dialect == NEW_API else (body, "")
    if not isinstance(inner, dict):
        what = "data" if dialect == NEW_API else f"the {kind} response"
        return Normalised(dialect, {}, [Violation(prefix, f"{what} must be a JSON object, not {type(inner).__name__}", "invalid_type")])
    fields, problems = _read(inner, prefix)
    if dialect == DOCUMENTED:
        found = validate_response(kind, body)
        seen = {v.pointer for v in found}
        problems = found + [p for p in problems if p.pointer not in seen]
    return Normalised(dialect, fields, problems)


def _read(inner: dict[str, Any], prefix: str) -> tuple[dict[str, Any], list[Violation]]:
    problems: list[Violation] = []
    fields: dict[str, Any] = {"extra": {k: v for k, v in inner.items() if k not in CONTRACT_FIELDS}}

    id_key = next((k for k in ID_FIELDS if isinstance(inner.get(k), str) and inner[k]), None)
    if id_key is None:
        problems.append(Violation(f"{prefix}/task_id", "the task id is missing (looked for task_id and id)", "missing_required_parameter"))
    else:
        fields["id"] = inner[id_key]

    raw_status = inner.get("status")
    status = STATUS_SYNONYMS.get(raw_status.lower()) if isinstance(raw_status, str) else None
    if status is None:
        problems.append(Violation(f"{prefix}/status", f"status {raw_status!r} is not a known status; known: {', '.join(STATUS_SYNONYMS)}", "unsupported_value"))
    fields["status"] = status or UNKNOWN

    progress, problem = _progress(inner.get("progress"), f"{prefix}/progress")
    problems += problem
    if progress is None and status == COMPLETED:
        progress = 100
    fields["progress"] = progress

    metadata: dict[str, Any] = inner["metadata"] if isinstance(inner.get("metadata"), dict) else {}
    fields["metadata"] = metadata
    fields["url"] = next((v for v in (inner.get("url"), inner.get("result_url"), metadata.get("url")) if isinstance(v, str) and v), None)
    if status == COMPLETED and fields["url"] is None:
        problems.append(Violation(f"{prefix}/url", "the task is completed but has no link (looked for url, result_url and metadata.url)", "missing_required_parameter"))

    error = inner.get("error")
    if isinstance(error, dict):
        fields["error"] = error
    elif isinstance(inner.get("fail_reason"), str) and inner["fail_reason"]:
        fields["error"] = {"code": None, "message": inner["fail_reason"]}
    elif status == FAILED:
        fields["error"] = {"code": None, "message": "the provider gave no reason"}

    fields["format"] = inner.get("format") if isinstance(inner.get("format"), str) else None
    fields["model"] = inner.get("model") if isinstance(inner.get("model"), str) else None
    fields["created_at"] = _first_number(inner, CREATED_FIELDS)
    fields["completed_at"] = _first_number(inner, COMPLETED_FIELDS)
    return fields, problems


def _progress(value: Any, pointer: str) -> tuple[int | None, list[Violation]]:
    """Progress as an int 0..100, from 50, 50.0, "50" or "50%"."""
    if value is None:
        return None, []
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip().removesuffix("%"))
        except ValueError:
            number = None
    if number is None or not 0 <= number <= 100:
        return None, [Violation(pointer, f"progress {value!r} is not a percentage 0..100", "value_out_of_range")]
    return int(number), []


def _first_number(inner: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = inner.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return int(value)
    return None


def dialect_violation(dialect: str) -> Violation:
    """The contract's schemas describe the documented dialect only; a variant breaks them as a whole."""
    return Violation("", f"the body is in the {dialect} dialect, not the documented one", "unexpected_dialect")


def read_error(status: int | None, body: Any) -> ErrorFields:
    """An error response in either shape (``{"error": {...}}`` or the gateway's ``{code, message, data}``),
    with how it breaks the error contract, including a type that does not match ``status`` (if known)."""
    if dialect_of(body) == NEW_API:
        message = body.get("message") if isinstance(body.get("message"), str) and body["message"] else str(body.get("code"))
        return ErrorFields(message, None, body.get("code"), None, [dialect_violation(NEW_API)])
    if not (isinstance(body, dict) and isinstance(body.get("error"), dict)):
        text = body if isinstance(body, str) else repr(body)
        return ErrorFields(text.strip()[:500] or f"HTTP {status}", None, None, None,
                           [Violation("", "error body is not a JSON object with an error member", "invalid_type")])
    error = body["error"]
    violations = validate_response("error", body)
    wanted = error_type(status) if status is not None else None
    if wanted is not None and error.get("type") != wanted and not any(v.pointer == "/error/type" for v in violations):
        violations.append(Violation("/error/type", f"error type {error.get('type')!r} does not match HTTP {status}; expected {wanted!r}", "unsupported_value"))
    message = error.get("message") if isinstance(error.get("message"), str) and error["message"] else f"HTTP {status}"
    return ErrorFields(message, error.get("type"), error.get("code"), error.get("param"), violations)
