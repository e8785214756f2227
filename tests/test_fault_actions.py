"""Fault actions as typed values: parsed once, every default from the config schema, one decision per fate."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.conftest import Fake
from videomock.contracts.schemas import load_schema
from videomock.core.faults.actions import ACTIONS, HttpError, parse_action, schema_default
from videomock.core.faults.decision import Abort, Corrupt, CutShort, Trickle, corrupted, transport_fate
from videomock.core.faults.header import parse_fault_header

BODY = {"model": "veo_3_1", "prompt": "a fox", "duration": 4}


def _branches() -> dict[str, dict[str, Any]]:
    return {b["properties"]["type"]["const"]: b for b in load_schema("config")["$defs"]["action"]["oneOf"]}


def test_every_schema_action_has_a_typed_class_with_the_same_fields() -> None:
    for kind, branch in _branches().items():
        fields = {f.name for f in dataclasses.fields(ACTIONS[kind])}
        assert fields == set(branch["properties"]) - {"type"}, kind


def test_omitted_fields_take_the_schema_defaults() -> None:
    for kind, branch in _branches().items():
        minimal = {"type": kind, **{name: _example(branch["properties"][name]) for name in branch["required"] if name != "type"}}
        action = parse_action(minimal)
        for name, prop in branch["properties"].items():
            if "default" in prop and name not in minimal and kind != "http_error":
                assert getattr(action, name) == prop["default"], (kind, name)


def _example(prop: dict[str, Any]) -> Any:
    if "enum" in prop:
        return prop["enum"][0]
    return 1 if prop.get("type") in ("integer", "number") else "x"


def test_retry_after_goes_with_a_429_by_default_and_with_other_statuses_only_when_given() -> None:
    assert HttpError(429).retry_after_header == str(schema_default("http_error", "retry_after"))
    assert HttpError(500).retry_after_header is None
    assert HttpError(503, retry_after=2.5).retry_after_header == "3"


def test_a_header_directive_and_a_rule_with_the_same_parameters_are_the_same_action() -> None:
    assert parse_fault_header("truncate", "poll", max_delay=60) == [parse_action({"type": "truncated_json"})]
    assert parse_fault_header("dribble=4/0.25", "download", max_delay=60) == [
        parse_action({"type": "dribble", "bytes_per_chunk": 4, "interval": 0.25})]
    assert parse_fault_header("redirect", "download", max_delay=60) == [parse_action({"type": "redirect"})]


@pytest.mark.parametrize(("action", "fate"), [
    ({"type": "reset"}, Abort(reset=True)),
    ({"type": "empty"}, Abort(reset=False)),
    ({"type": "malformed_json"}, Corrupt()),
    ({"type": "truncated_json"}, CutShort(50)),
    ({"type": "truncated_download", "fraction": 0.25}, CutShort(25)),
    ({"type": "dribble"}, Trickle(8, 0.5)),
])
def test_each_transport_action_has_one_fate(action: dict[str, Any], fate: Any) -> None:
    assert transport_fate(parse_action(action), 100) == fate  # type: ignore[arg-type]


def test_a_corrupted_body_starts_like_the_real_one_and_is_not_json() -> None:
    broken = corrupted(b'{"task_id":"t","status":"queued"}')
    assert broken.startswith(b'{"task_id"') and b"<!--" in broken


def test_an_injected_500_carries_no_retry_after_and_a_429_does(fake: Fake) -> None:
    session = fake.session()
    url = f"{fake.url}/v1/video/generations"
    five = session.post(url, json=BODY, headers={"X-Videomock-Fault": "status=500"}, timeout=10)
    four = session.post(url, json=BODY, headers={"X-Videomock-Fault": "status=429"}, timeout=10)
    assert (five.status_code, five.headers.get("Retry-After")) == (500, None)
    assert (four.status_code, four.headers.get("Retry-After")) == (429, "1")
