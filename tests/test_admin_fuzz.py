"""The admin API over real HTTP, for configurations drawn from the config schema and for arbitrary JSON and
query strings: whatever it is sent, it answers below 500, and every refusal is in the error contract.

Each example restores the fake's baseline configuration and state (the ``fake`` fixture does so per test,
not per example), so no example sees what an earlier one configured.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import requests
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import BASELINE_CONFIG, Fake
from tests.profiles import examples
from videomock.config import STARTUP_ONLY, ConfigError, check_config
from videomock.contracts import Catalog, load_schema, validate_response
from videomock.contracts.strategies.jsonschema import from_schema, json_values
from videomock.http.admin import JOURNAL_QUERY

STATUS_TYPES = load_schema("error")["x-status-types"]


def inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with every ``$ref`` to its ``$defs`` replaced by the definition (the strategies take no refs)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inlined(defs[schema["$ref"].removeprefix("#/$defs/")], defs)
        return {key: inlined(value, defs) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [inlined(value, defs) for value in schema]
    return schema


CONFIG_SCHEMA = load_schema("config")
CONFIGS = from_schema(inlined(CONFIG_SCHEMA, CONFIG_SCHEMA["$defs"]))
RULES = from_schema(inlined(CONFIG_SCHEMA["$defs"]["rule"], CONFIG_SCHEMA["$defs"]))
SECTIONS = st.sampled_from(sorted(CONFIG_SCHEMA["properties"]))
#: Catalog overrides the schema leaves open (any object per model id): known fields with any JSON value.
MODEL_OVERRIDES = st.dictionaries(
    st.sampled_from([*Catalog.load(), "new-model"]),
    st.dictionaries(st.sampled_from([*load_schema("model")["properties"], "extends", "disabled"]), json_values(max_leaves=4),
                    max_size=3),
    min_size=1, max_size=2)


@st.composite
def config_changes(draw: st.DrawFn) -> dict[str, Any]:
    """A whole configuration from the schema, some sections of one, or one section (or setting) replaced by
    any JSON value at all."""
    config = draw(CONFIGS)
    kept = {name: value for name, value in config.items() if draw(st.booleans())}
    if draw(st.booleans()):
        kept["models"] = draw(MODEL_OVERRIDES)
    if draw(st.booleans()):
        section = draw(SECTIONS)
        current = kept.get(section)
        if isinstance(current, dict) and current and draw(st.booleans()):
            kept[section] = {**current, draw(st.sampled_from(sorted(current))): draw(json_values())}
        else:
            kept[section] = draw(json_values())
    return kept


_BODIES = st.one_of(config_changes(), json_values())
_QUERY_NAMES = st.sampled_from(JOURNAL_QUERY) | st.text(max_size=8)
_QUERY_VALUES = st.text(max_size=12) | st.integers().map(str) | st.sampled_from(["200", "²", "1e3", "-1", "GET", "/v1/*"])
_QUERIES = st.one_of(
    st.lists(st.tuples(_QUERY_NAMES, _QUERY_VALUES), max_size=4).map(
        lambda pairs: "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30).map(lambda text: quote(text, safe="=&%")),
)


@st.composite
def admin_requests(draw: st.DrawFn) -> dict[str, Any]:
    """One call of the admin API: a body for the routes that take one, a query string for the journal's."""
    route = draw(st.sampled_from(["PUT /config", "PATCH /config", "POST /faults", "POST /clock/advance",
                                  "GET /requests", "GET /tasks", "POST /reset"]))
    method, path = route.split(" ")
    if method == "GET":
        return {"method": method, "path": f"/__admin{path}?{draw(_QUERIES)}"}
    if path == "/faults":
        body = draw(RULES | st.lists(RULES, max_size=3) | json_values())
    elif path == "/clock/advance":
        body = {"seconds": draw(st.floats(allow_nan=False, allow_infinity=False) | st.integers() | json_values())}
    else:
        body = draw(_BODIES)
    return {"method": method, "path": f"/__admin{path}", "body": json.dumps(body)}


@contextmanager
def baseline(fake: Fake) -> Iterator[Fake]:
    """The fake in its baseline configuration and state for one example, and put back so afterwards."""
    restore(fake)
    try:
        yield fake
    finally:
        restore(fake)


def restore(fake: Fake) -> None:
    fake.backend.configure(copy.deepcopy(BASELINE_CONFIG))
    fake.backend.reset()


def assert_within_the_contract(response: requests.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["Content-Type"] == "application/json", response.headers
    body = response.json()
    if response.status_code >= 400:
        assert validate_response("error", body) == [], body
        assert body["error"]["type"] == STATUS_TYPES[str(response.status_code)], body


@examples(1)
@given(calls=st.lists(admin_requests(), min_size=1, max_size=3))
@example(calls=[{"method": "PATCH", "path": "/__admin/config", "body": '{"limits": {"credits": 1e309}}'}])
@example(calls=[{"method": "POST", "path": "/__admin/clock/advance", "body": '{"seconds": 1e308}'}] * 2)
@example(calls=[{"method": "GET", "path": "/__admin/requests?limit=%C2%B2&status=%C2%B2"}])
@example(calls=[{"method": "PATCH", "path": "/__admin/config", "body": '{"models": {"new-model": {"extends": []}}}'}])
def test_the_admin_api_answers_everything_below_500_and_in_the_contract(live_fake: Fake, calls: list[dict[str, Any]]) -> None:
    with baseline(live_fake) as fake:
        for call in calls:
            response = requests.request(call["method"], fake.url + call["path"], data=call.get("body"),
                                        headers={"Content-Type": "application/json"}, timeout=10)
            assert_within_the_contract(response)
        # whatever was configured, the server still answers (health is no route faults can name)
        health = requests.get(f"{fake.url}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"


@examples(1)
@given(config=CONFIGS)
def test_put_accepts_what_the_config_check_accepts_and_answers_with_the_checked_document(
        live_fake: Fake, config: dict[str, Any]) -> None:
    runtime = {name: value for name, value in config.items() if name not in STARTUP_ONLY}
    with baseline(live_fake) as fake:
        current = fake.backend.config
        try:
            expected: Any = check_config({**runtime, **{name: current[name] for name in STARTUP_ONLY}})
        except ConfigError as exc:
            expected = exc
        response = requests.put(f"{fake.url}/__admin/config", json=runtime, timeout=10)
        assert_within_the_contract(response)
        if isinstance(expected, ConfigError):
            assert response.status_code == 400 and response.json()["error"]["param"] == expected.param, response.text
        else:
            assert response.status_code == 200 and response.json() == expected, response.text
