"""Provider verification: run each model once against a live provider and check everything it says.

This is how a user finds out that the real provider no longer matches the contracts (or that the fake no
longer matches the provider): every response is checked against the contracts, the dialect it came in is
reported, and the video itself is decoded and measured against what was asked for (its size, rate and
length, that it is H.264 whose every frame decodes, and a soundtrack exactly where the catalog says the
model produces sound).

A step fails on an exception or on a contract violation. The client should be in lenient mode, so that
violations are collected (from its ContractWarnings) and later steps still run; a strict client works too,
but stops each model at its first violation.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videomock.client.client import VideoClient
from videomock.client.dialects import DOCUMENTED
from videomock.client.errors import ContractWarning, NotFound, VideoClientError
from videomock.client.task import Task
from videomock.contracts import ModelSpec
from videomock.contracts.media import file_problems

#: Steps per model, in order; a step that cannot run because an earlier one failed is shown as skipped.
MODEL_STEPS = ("submit", "poll", "metadata", "download", "video")
#: The id asked for to check the provider's "no such task" answer; nobody's task has it.
MISSING_TASK_ID = "task_videomock_verify_does_not_exist"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None          # None: skipped
    detail: str = ""


@dataclass
class Row:
    """One line of the report: a model, or the provider itself."""

    subject: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


class _Failed(Exception):
    """A step failed; the message is the check's detail."""


@contextmanager
def _step(row: Row, name: str) -> Iterator[list[str]]:
    """Run one step: it fails on an exception or when the client warned about a contract violation.
    Yields a list the step may append problems of its own to. Only an exception stops the model's later
    steps (their input is missing); a step that merely found problems lets the rest run and report too."""
    problems: list[str] = []
    stopped = False
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ContractWarning)
        try:
            yield problems
        except (VideoClientError, _Failed, OSError) as exc:
            problems.append(str(exc))
            stopped = True
    for w in seen:
        if not issubclass(w.category, ContractWarning):  # not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    problems[:0] = [str(w.message) for w in seen if issubclass(w.category, ContractWarning)]
    row.checks.append(Check(name, not problems, "; ".join(problems)))
    if stopped:
        raise _Failed(name)


def verify_provider(client: VideoClient, models: Sequence[str] | None = None, *, workdir: Path,
                    timeout: float = 600.0, poll_interval: float = 1.0, duration_tolerance: float = 0.2,
                    log: Callable[[str], None] | None = None) -> list[Row]:
    """Check the provider's model list and its "no such task" answer, then run every model in ``models``
    (default: the client's whole catalog). Videos are written to ``workdir``."""
    models = list(models) if models is not None else list(client.catalog)
    rows = [_check_provider(client, models)]
    for model in models:
        if log is not None:
            log(f"verifying {model} ...")
        rows.append(_check_model(client, client.catalog[model], workdir, timeout, poll_interval, duration_tolerance))
    return rows


def _check_provider(client: VideoClient, models: Sequence[str]) -> Row:
    row = Row("(provider)")
    with suppress(_Failed), _step(row, "models") as problems:
        listed = {m.get("id") for m in client.list_models()}
        missing = [m for m in models if m not in listed]
        if missing:
            problems.append(f"not listed by GET /v1/models: {', '.join(missing)}")
    with suppress(_Failed), _step(row, "unknown task") as problems:
        try:
            client.get(MISSING_TASK_ID)
            problems.append(f"GET of the unknown task {MISSING_TASK_ID} answered 200")
        except NotFound as exc:
            if exc.status != 404:
                problems.append(f"unknown task answered HTTP {exc.status} {exc.code!r}; the contract says 404")
    return row


def _check_model(client: VideoClient, spec: ModelSpec, workdir: Path, timeout: float, poll_interval: float,
                 tolerance: float) -> Row:
    row = Row(spec.id)
    body = spec.example_request()
    try:
        with _step(row, "submit") as problems:
            task = client.submit(body)
            problems += _dialect_problems("submit", [task])
        polled: list[Task] = []
        with _step(row, "poll") as problems:
            try:
                done = client.wait(task, timeout=timeout, poll_interval=poll_interval, on_progress=polled.append)
            finally:
                problems += _poll_problems(task.id, polled)
        with _step(row, "metadata") as problems:
            problems += _mismatches("task metadata", body, done.metadata, ("duration", "fps", "width", "height"))
            if done.model not in (None, spec.id):
                problems.append(f"task model is {done.model!r}, asked for {spec.id!r}")
        path = workdir / f"{spec.id}.mp4"
        with _step(row, "download"):
            client.download(done, path)
        with _step(row, "video") as problems:
            problems += [problem.message for problem in
                         file_problems(path, expected=body, audio=spec.has_audio(body), tolerance=tolerance)]
    except _Failed:
        pass
    row.checks += [Check(name, None) for name in MODEL_STEPS[len(row.checks):]]
    return row


def _dialect_problems(kind: str, tasks: Sequence[Task]) -> list[str]:
    dialects = sorted({t.dialect for t in tasks if t.dialect != DOCUMENTED})
    return [f"{kind} responses came in the {', '.join(dialects)} dialect, not the documented one"] if dialects else []


def _poll_problems(task_id: str, polled: Sequence[Task]) -> list[str]:
    problems = _dialect_problems("poll", polled)
    wrong_ids = sorted({t.id for t in polled if t.id != task_id})
    if wrong_ids:
        problems.append(f"polling {task_id} returned other ids: {', '.join(wrong_ids)}")
    progress = [t.progress for t in polled if t.progress is not None]
    if progress != sorted(progress):
        problems.append(f"progress went backwards: {progress}")
    return problems


def _mismatches(what: str, wanted: dict[str, Any], got: Any, keys: Sequence[str]) -> list[str]:
    got = got if isinstance(got, dict) else {}
    return [f"{what} {k} is {got.get(k)!r}, asked for {wanted[k]!r}" for k in keys if got.get(k) != wanted[k]]


def format_report(rows: Sequence[Row]) -> str:
    """A plain-text table, one row per subject, and the details of every failed check below it."""
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(c.name for c in row.checks), []).append(row)
    width = max(len(r.subject) for r in rows) + 2
    lines: list[str] = []
    for names, group in groups.items():
        columns = [max(len(n), 4) + 2 for n in names]
        lines.append("".join(["SUBJECT".ljust(width), *(n.upper().ljust(w) for n, w in zip(names, columns)), "RESULT"]))
        for row in group:
            marks = ["-" if c.ok is None else "ok" if c.ok else "FAIL" for c in row.checks]
            lines.append("".join([row.subject.ljust(width), *(m.ljust(w) for m, w in zip(marks, columns)),
                                  "PASS" if row.ok else "FAIL"]))
        lines.append("")
    details = [f"  {r.subject} {c.name}: {c.detail}" for r in rows for c in r.checks if c.ok is False]
    if details:
        lines += ["Failures:", *details, ""]
    passed = sum(r.ok for r in rows)
    lines.append(f"{passed} of {len(rows)} passed")
    return "\n".join(lines)
