"""Cassettes against the contracts: each recorded answer's violations, with their pointers, and the drift of a
whole recording, summed up by kind (fields added, fields missing, new enum values, changed types, id formats).

Both at record time (the proxy tells of each violation as it records it) and later (``videomock validate
DIR``), with the same verdicts: the contracts' validators and the schema walk of :mod:`videomock.contracts.drift`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from videomock.contracts.drift import ADDED, ID_FORMAT, KINDS, MISSING, Difference, differences
from videomock.contracts.exchanges import (
    ROUTES,
    SUBMIT,
    id_format_problem,
    message_for,
    message_schema,
    validate_message,
)
from videomock.contracts.validation import Violation
from videomock.recording.cassette import Cassette, body_json


def _answer(role: str, exchange: dict[str, Any]) -> tuple[int, Any] | None:
    """An exchange's status and JSON answer (None as the answer: it had no JSON), or None when there is no
    contract to check it against (a video)."""
    status = exchange["response"]["status"]
    if role == "download" and status < 400:
        return None
    return status, body_json(exchange["response"].get("body"))


def exchange_violations(dialect: str, role: str, exchange: dict[str, Any]) -> list[Violation]:
    """How one recorded answer breaks its dialect's contract (an answer that is not JSON breaks it whole)."""
    answer = _answer(role, exchange)
    if answer is None:
        return []
    status, body = answer
    if body is None:
        return [Violation("", f"HTTP {status} answered with no JSON body", "invalid_type")]
    return validate_message(message_for(dialect, role, status), body)


@dataclass(frozen=True)
class Finding:
    """One violation in a cassette: ``where`` is the exchange's pointer in the file (``/polls/2``)."""

    cassette: str
    where: str
    violation: Violation


@dataclass
class Drift:
    """The differences of a recording from its contracts, by kind, each with where it was seen."""

    seen: dict[tuple[str, str, str, str], list[str]] = field(default_factory=dict)

    def add(self, message: str, difference: Difference, where: str) -> None:
        pointer = re.sub(r"/\d+(?=/|$)", "/*", difference.pointer)
        self.seen.setdefault((difference.kind, message, pointer, difference.detail), []).append(where)

    def lines(self) -> list[str]:
        """The summary: a heading per kind, a line per difference."""
        out: list[str] = []
        for kind in KINDS:
            entries = sorted((k, v) for k, v in self.seen.items() if k[0] == kind)
            if entries:
                out.append(f"{_HEADINGS[kind]}:")
                for (_, message, pointer, detail), where in entries:
                    places = sorted(set(w.split(" ")[0] for w in where))
                    out.append(f"  {message} {pointer or '/'}: {detail} ({len(where)} answer{'s' * (len(where) != 1)}, "
                               f"in {', '.join(places)})")
        return out


_HEADINGS = {ADDED: "Fields added", MISSING: "Fields missing", "new enum value": "New enum values",
             "changed type": "Changed types", ID_FORMAT: "Id format changes"}


def check_cassettes(cassettes: Iterable[Cassette]) -> tuple[list[Finding], Drift]:
    """Every violation in the cassettes, and their drift. A field the contract leaves optional counts as missing
    only when no answer of its kind in the whole recording has it (a queued task has no link yet; a poll
    body that shrank has none in any state)."""
    findings: list[Finding] = []
    drift = Drift()
    optional_absent: dict[tuple[str, str], list[str]] = {}
    present: set[tuple[str, str]] = set()
    for cassette in cassettes:
        if cassette.task_id is not None:
            problem = id_format_problem(cassette.dialect, cassette.task_id)
            if problem is not None:
                pointer = next(r.id_pointer for r in ROUTES if r.role == SUBMIT and cassette.dialect in r.family)
                drift.add(message_for(cassette.dialect, SUBMIT, 200), Difference(ID_FORMAT, pointer or "", problem), cassette.name)
        for role, where, exchange in cassette.exchanges():
            findings += [Finding(cassette.name, where, v) for v in exchange_violations(cassette.dialect, role, exchange)]
            answer = _answer(role, exchange)
            if answer is None or not isinstance(answer[1], dict):
                continue
            status, body = answer
            message = message_for(cassette.dialect, role, status)
            label = f"{cassette.name} {where}"
            found = differences(message_schema(message), body)
            missing = {d.pointer for d in found if d.kind == MISSING}
            present.update((message, p) for p in _pointers(body) if p not in missing)
            for difference in found:
                if difference.kind == MISSING and difference.detail != "required":
                    optional_absent.setdefault((message, difference.pointer), []).append(label)
                else:
                    drift.add(message, difference, label)
    for (message, pointer), labels in optional_absent.items():
        if (message, pointer) not in present:
            for label in labels:
                drift.add(message, Difference(MISSING, pointer, "in no recorded answer (optional in the contract)"), label)
    return findings, drift


def _pointers(value: Any, prefix: str = "") -> Iterable[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            pointer = f"{prefix}/{key}"
            yield pointer
            yield from _pointers(item, pointer)
