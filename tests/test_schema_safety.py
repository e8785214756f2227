"""Schemas from config are untrusted: no validator fetches anything a schema points at, and no pattern can
hold a worker. Python's ``re`` holds the GIL for a whole match, so a catastrophic pattern would freeze an
in-process server along with the test; the pattern tests therefore run the server (``videomock serve``) or
the check in another process, and a regression fails by timeout instead of hanging the suite."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import pytest
import requests
from referencing.exceptions import Unresolvable

from tests.conftest import Fake
from tests.serve_process import serve
from tests.test_server import assert_error
from videomock.config import ConfigError, build_config
from videomock.contracts import Catalog, validate_request
from videomock.contracts.schemas import CompiledSchema
from videomock.contracts.schemas.reference import reference_validator

#: Catastrophic for a backtracking engine: ~2**n steps to fail on n "a"s and a "!".
EVIL = "(a+)+$"
EVIL_TEXT = "a" * 41 + "!"
#: Seconds a check may take here; a backtracking engine needs hours for EVIL_TEXT, the linear one microseconds.
BOUND = 10


def metadata_field(schema: Any, name: str = "code", model: str = "veo_3_1") -> dict[str, Any]:
    return {"models": {model: {"metadata": {name: schema}}}}


# --- patterns -------------------------------------------------------------------------------------------------

def test_a_backtracking_pattern_from_the_admin_api_is_answered_at_once(tmp_path: Path) -> None:
    with serve("--workers", "1", "--store", "memory", "--cache-dir", str(tmp_path / "videos")) as server, \
            requests.Session() as session:
        session.headers["Authorization"] = "Bearer sk-test"
        changed = session.patch(f"{server.url}/__admin/config", json=metadata_field({"type": "string", "pattern": EVIL}), timeout=BOUND)
        assert changed.status_code == 200, changed.text
        for value in (EVIL_TEXT, "a" * 100_000 + "!"):
            body = {"model": "veo_3_1", "prompt": "p", "metadata": {"code": value}}
            error = assert_error(session.post(f"{server.url}/v1/video/generations", json=body, timeout=BOUND),
                                 400, param="metadata.code", code="invalid_value")
            assert error["message"].endswith(f"does not match the pattern {EVIL}")
        accepted = session.post(f"{server.url}/v1/video/generations", timeout=BOUND,
                                json={"model": "veo_3_1", "prompt": "p", "metadata": {"code": "xaaa"}})
        assert accepted.status_code == 200, accepted.text


def _violations(field: Any, value: Any) -> list[dict[str, Any]]:
    """Runs in the pool's process: the contracts' verdict on one metadata value."""
    catalog = Catalog.load(metadata_field(field)["models"])
    return [v.as_dict() for v in validate_request({"model": "veo_3_1", "prompt": "p", "metadata": {"code": value}}, catalog)]


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[Pool]:
    """A process to run checks in, killed on the way out even if a check is still matching."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        yield pool


@pytest.mark.parametrize("field, value, pointer, words", [
    ({"type": "string", "pattern": EVIL}, EVIL_TEXT, "/metadata/code", f"does not match the pattern {EVIL}"),
    ({"type": "object", "patternProperties": {EVIL: {"type": "integer"}}, "additionalProperties": False},
     {"xaaa": 1, EVIL_TEXT: 1}, f"/metadata/code/{EVIL_TEXT}", "unknown field"),
    ({"type": "object", "patternProperties": {EVIL: {"type": "integer"}}}, {"xaaa": "1", EVIL_TEXT: "2"},
     "/metadata/code/xaaa", "must be of type integer"),
    ({"type": "object", "propertyNames": {"pattern": EVIL}}, {EVIL_TEXT: 1}, "/metadata/code", "does not match the pattern"),
])
def test_the_contracts_match_patterns_in_linear_time(elsewhere: Pool, field: Any, value: Any, pointer: str, words: str) -> None:
    violations = elsewhere.apply_async(_violations, (field, value)).get(timeout=BOUND)
    assert [v["pointer"] for v in violations] == [pointer]
    assert words in violations[0]["message"]


@pytest.mark.parametrize("field", [
    {"type": "string", "pattern": "^(?=a)"},
    {"type": "string", "pattern": "(?<!x)a"},
    {"type": "string", "pattern": r"(a)\1"},
    {"type": "object", "patternProperties": {"^(?!x)": True}},
])
def test_patterns_the_linear_engine_cannot_run_are_config_errors(fake: Fake, field: Any) -> None:
    refused = fake.session().patch(f"{fake.url}/__admin/config", json=metadata_field(field), timeout=BOUND)
    error = assert_error(refused, 400, param="models.veo_3_1.metadata.code", code="invalid_config")
    assert "models.veo_3_1.metadata.code" in error["message"]
    assert "lookaround and backreferences are not supported" in error["message"]


def test_unevaluated_properties_next_to_pattern_properties_is_a_config_error(fake: Fake) -> None:
    # jsonschema's unevaluatedProperties matches patternProperties with Python's re; nothing can route it elsewhere.
    field = {"type": "object", "patternProperties": {"^x": True}, "unevaluatedProperties": False}
    refused = fake.session().patch(f"{fake.url}/__admin/config", json=metadata_field(field), timeout=BOUND)
    error = assert_error(refused, 400, param="models.veo_3_1.metadata.code", code="invalid_config")
    assert "unevaluatedProperties" in error["message"] and "patternProperties" in error["message"]


# --- references -----------------------------------------------------------------------------------------------

class SchemaHost:
    """A real loopback HTTP server that would serve any schema asked for, and remembers every request."""

    def __init__(self) -> None:
        hits = self.hits = list[str]()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/schema+json")
                self.end_headers()
                self.wfile.write(b'{"type": "string"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def schema_host() -> Iterator[SchemaHost]:
    host = SchemaHost()
    thread = threading.Thread(target=host.server.serve_forever, daemon=True)
    thread.start()
    yield host
    host.server.shutdown()
    host.server.server_close()
    thread.join(BOUND)


def outside_references(url: str) -> list[Any]:
    return [
        {"$ref": f"{url}/style.json"},
        {"$ref": "file:///etc/passwd"},
        {"$ref": "style.json"},
        {"anyOf": [{"type": "integer"}, {"$ref": f"{url}/style.json#/$defs/x"}]},
        {"$dynamicRef": f"{url}/meta.json#meta"},
        {"type": "string", "$schema": f"{url}/meta.json"},
    ]


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("case", range(6))
def test_references_out_of_a_schema_are_config_errors_and_never_fetched(fake: Fake, schema_host: SchemaHost,
                                                                       method: str, case: int) -> None:
    field = outside_references(schema_host.url)[case]
    config = {**metadata_field(field, "style"), "clock": {"mode": "manual"}}
    refused = fake.session().request(method, f"{fake.url}/__admin/config", json=config, timeout=BOUND)
    error = assert_error(refused, 400, param="models.veo_3_1.metadata.style", code="invalid_config")
    assert error["message"].startswith("invalid configuration: models.veo_3_1.metadata.style: ")
    assert "nothing is ever fetched" in error["message"]
    assert fake.submit({"model": "veo_3_1", "prompt": "p", "metadata": {"style": "x"}}).status_code == 400
    assert schema_host.hits == []


def test_references_out_of_a_schema_are_refused_at_start_up(schema_host: SchemaHost) -> None:
    with pytest.raises(ConfigError, match="models.veo_3_1.metadata.style: \\$ref 'file:///etc/passwd'") as refused:
        build_config(metadata_field({"$ref": "file:///etc/passwd"}, "style"))
    assert refused.value.param == "models.veo_3_1.metadata.style"


def test_neither_validator_retrieves_a_reference_that_slipped_through(schema_host: SchemaHost) -> None:
    for ref in (f"{schema_host.url}/style.json", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="never retrieved"):
            CompiledSchema({"$ref": ref}, check=False)
        with pytest.raises(Unresolvable):
            reference_validator({"properties": {"a": {"$ref": ref}}}).is_valid({"a": 1})
    assert schema_host.hits == []


def test_a_reference_within_the_field_schema_works(fake: Fake) -> None:
    field = {"$schema": "https://json-schema.org/draft/2020-12/schema#", "$defs": {"style": {"enum": ["noir", "pastel"]}},
             "$ref": "#/$defs/style"}
    changed = fake.session().patch(f"{fake.url}/__admin/config", json=metadata_field(field, "style"), timeout=BOUND)
    assert changed.status_code == 200, changed.text
    assert fake.submit({"model": "veo_3_1", "prompt": "p", "metadata": {"style": "noir"}}).status_code == 200
    error = assert_error(fake.submit({"model": "veo_3_1", "prompt": "p", "metadata": {"style": "neon"}}), 400,
                         param="metadata.style", code="unsupported_value")
    assert error["message"] == 'metadata.style "neon" is not supported by veo_3_1; allowed: "noir", "pastel"'


def test_a_reference_within_the_field_schema_that_leads_nowhere_is_a_config_error(fake: Fake) -> None:
    field = {"$defs": {"style": {"enum": ["noir"]}}, "$ref": "#/$defs/styles"}
    refused = fake.session().patch(f"{fake.url}/__admin/config", json=metadata_field(field, "style"), timeout=BOUND)
    error = assert_error(refused, 400, param="models.veo_3_1.metadata.style", code="invalid_config")
    assert "/$defs/styles' does not exist" in error["message"]


def test_a_field_schema_may_not_name_itself(fake: Fake) -> None:
    # videomock gives each field that refers within itself an $id; one of the user's could collide with it.
    field = {"$id": "urn:videomock:model:veo_3_1:metadata:other", "type": "string"}
    refused = fake.session().patch(f"{fake.url}/__admin/config", json=metadata_field(field, "style"), timeout=BOUND)
    error = assert_error(refused, 400, param="models.veo_3_1.metadata.style", code="invalid_config")
    assert "$id is not allowed" in error["message"]
