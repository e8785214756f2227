"""Checking recorded requests and responses (e.g. captured from the real API) against the contracts.

A recording is a JSON file holding one document or a list of them. A document is either an envelope,
``{"request": <body>, "response": <body>, "kind": "submit|task|error|model_list", "status": <HTTP status>}``
(every member optional, but at least one of request/response), or a bare body. When ``kind`` is absent
it is inferred from the body's shape: a ``task_id`` (or a variant dialect's task) -> submit when that and
``status`` are all it has, else task; otherwise a non-null ``error`` -> error; a ``status`` -> task;
``object: "list"`` -> model_list; a ``model`` -> request. ``status`` lets an error's type be checked
against the status it came with.

Recordings are checked against the documented dialect: a body in a variant dialect is reported as such
(see :mod:`videomock.client.dialects`), along with anything the client could not read in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from videomock.client.dialects import DOCUMENTED, NEW_API, dialect_of, dialect_violation, normalise, read_error
from videomock.contracts import Catalog, Violation, validate_request, validate_response

KINDS = ("request", "submit", "task", "error", "model_list")
ENVELOPE_KEYS = frozenset({"request", "response", "kind", "status"})


@dataclass(frozen=True)
class Finding:
    """The verdict on one body: ``where`` says which (e.g. ``calls.json[2] response``)."""

    where: str
    kind: str | None
    violations: list[Violation]

    @property
    def ok(self) -> bool:
        return not self.violations


def infer_kind(body: Any) -> str | None:
    """Task fields come first: every task carries ``error`` (null, or a failed task's own error object)."""
    if not isinstance(body, dict):
        return None
    dialect = dialect_of(body)
    if dialect == NEW_API:
        return "error" if body.get("data") is None else "task"
    if dialect != DOCUMENTED or "task_id" in body:
        return _task_kind(body)
    if body.get("error") is not None:
        return "error"
    if "status" in body:
        return _task_kind(body)
    if body.get("object") == "list":
        return "model_list"
    if "model" in body:
        return "request"
    return None


def _task_kind(body: dict[str, Any]) -> str:
    return "submit" if body.keys() <= {"task_id", "status"} else "task"


def check_document(document: Any, where: str, catalog: Catalog) -> list[Finding]:
    """Findings for one document of a recording (an envelope gives one per body it holds)."""
    if not (isinstance(document, dict) and ({"request", "response"} & document.keys())
            and document.keys() <= ENVELOPE_KEYS):
        return [check_body(document, infer_kind(document), where, catalog, None)]
    findings = []
    if "request" in document:
        findings.append(check_body(document["request"], "request", f"{where} request", catalog, None))
    if "response" in document:
        response = document["response"]
        kind = document.get("kind") or infer_kind(response)
        status = document.get("status") if isinstance(document.get("status"), int) else None
        findings.append(check_body(response, kind, f"{where} response", catalog, status))
    return findings


def check_body(body: Any, kind: str | None, where: str, catalog: Catalog, status: int | None) -> Finding:
    if kind not in KINDS:
        reason = f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}" if kind else \
            "cannot tell what this body is; wrap it as {\"response\": ..., \"kind\": ...} or {\"request\": ...}"
        return Finding(where, kind, [Violation("", reason, "unknown_kind")])
    if kind == "request":
        return Finding(where, kind, validate_request(body, catalog))
    if kind == "error":
        return Finding(where, kind, read_error(status, body).violations)
    if kind == "model_list":
        return Finding(where, kind, validate_response(kind, body))
    read = normalise(kind, body)
    extra = [dialect_violation(read.dialect)] if read.dialect != DOCUMENTED else []
    return Finding(where, kind, extra + read.violations)


def check_recording(document: Any, name: str, catalog: Catalog) -> list[Finding]:
    """Findings for a whole file: a list is a sequence of documents, anything else is one."""
    if isinstance(document, list):
        return [f for i, item in enumerate(document) for f in check_document(item, f"{name}[{i}]", catalog)]
    return check_document(document, name, catalog)
