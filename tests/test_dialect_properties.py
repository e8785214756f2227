"""Properties of Google's and Kling's create requests over real HTTP, for bodies drawn by contracts.strategies:
every valid body is accepted (Vertex AI's and the Gemini API's under each name the catalog gives its model there),
and every invalid one is refused with a 4xx in the dialect's error shape naming the labelled field: Google's
google.rpc.BadRequest names it, Kling's message does (its errors carry no field of their own)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import requests
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Fake
from tests.profiles import examples
from videomock.contracts import Catalog, validate_response
from videomock.contracts.dialects import google, kling
from videomock.contracts.strategies import Breakage, invalid_requests, valid_requests
from videomock.contracts.validation import validate_against

CATALOG = Catalog.load()
#: Where each Google API's models are.
MODELS = {google.VERTEX: "/v1/projects/properties/locations/us-central1/publishers/google/models",
          google.GEMINI: "/v1beta/models"}


def _named(dialect: str, strategy: Callable[[str], st.SearchStrategy[Any]]) -> st.SearchStrategy[tuple[str, Any]]:
    """A name the dialect gives a model, with what ``strategy`` draws for that model."""
    specs = [spec for spec in CATALOG.values() if spec.names_in(dialect)]
    return st.sampled_from(specs).flatmap(lambda spec: st.tuples(st.sampled_from(spec.names_in(dialect)), strategy(spec.id)))


def _veo(fake: Fake, dialect: str, name: str, body: Any) -> requests.Response:
    return fake.session().post(f"{fake.url}{MODELS[dialect]}/{name}:predictLongRunning", json=body, timeout=60)


def _kling(fake: Fake, operation: str, body: Any) -> requests.Response:
    now = int(time.time())
    token = jwt.encode({"iss": "AK-properties", "exp": now + 1800, "nbf": now - 5}, "SK-properties-secret-of-32-bytes",
                       algorithm="HS256")
    return requests.post(f"{fake.url}/v1/videos/{operation}", json=body, headers={"Authorization": f"Bearer {token}"},
                         timeout=60)


def _google_field(response: requests.Response) -> str:
    """The field a Google error names (its google.rpc.BadRequest), checked to be in Google's shape."""
    body = response.json()
    assert validate_against("google_error", body) == [], body
    assert body["error"]["code"] == response.status_code and body["error"]["status"] == google.status_name(response.status_code)
    found = [d["fieldViolations"] for d in body["error"].get("details", []) if "fieldViolations" in d]
    assert len(found) == 1, body
    violations = found[0]
    field: str = violations[0]["field"]
    return field


# --- Google Veo -------------------------------------------------------------------------------------------------

@examples(0.5)
@given(case=st.sampled_from([google.VERTEX, google.GEMINI]).flatmap(
    lambda dialect: st.tuples(st.just(dialect), _named(dialect, lambda model: valid_requests(model, dialect=dialect)))))
def test_every_valid_veo_body_is_accepted_under_each_name_of_its_model(live_fake: Fake, case: tuple[str, Any]) -> None:
    dialect, (name, body) = case
    response = _veo(live_fake, dialect, name, body)
    assert response.status_code == 200, (response.text, body)
    assert validate_response("google_operation", response.json()) == [], response.text
    assert response.json()["name"].split("/operations/")[0].endswith(f"models/{name}")


@examples(1)
@given(case=st.sampled_from([google.VERTEX, google.GEMINI]).flatmap(
    lambda dialect: st.tuples(st.just(dialect), _named(dialect, lambda model: invalid_requests(model, dialect=dialect)))))
def test_every_invalid_veo_body_is_a_400_naming_the_broken_field(live_fake: Fake, case: tuple[str, Any]) -> None:
    dialect, (name, (body, breakage)) = case
    response = _veo(live_fake, dialect, name, body)
    assert response.status_code == 400, (response.text, breakage)
    if breakage.param == "":   # a field named "" has no name a google.rpc.BadRequest can give: the message quotes it
        assert "unknown field ''" in response.json()["error"]["message"], (response.text, breakage)
        return
    assert _google_field(response) == breakage.param, (response.text, breakage)


# --- Kling --------------------------------------------------------------------------------------------------------

KLING_DIALECTS = [dialect.key for dialect in kling.DIALECTS.values()]


@examples(0.5)
@given(case=st.sampled_from(KLING_DIALECTS).flatmap(lambda key: st.tuples(st.just(key), valid_requests(dialect=key))))
def test_every_valid_kling_body_is_accepted(live_fake: Fake, case: tuple[str, dict[str, Any]]) -> None:
    """With no task before it each time: an external_task_id must be unique among the caller's tasks."""
    key, body = case
    live_fake.backend.reset()
    response = _kling(live_fake, key.partition(":")[2], body)
    assert response.status_code == 200, (response.text, body)
    assert kling.validate_message("submit_response", response.json()) == [], response.text


@examples(1)
@given(case=st.sampled_from(KLING_DIALECTS).flatmap(lambda key: st.tuples(st.just(key), invalid_requests(dialect=key))))
def test_every_invalid_kling_body_is_refused_in_klings_shape_naming_the_broken_field(
        live_fake: Fake, case: tuple[str, tuple[dict[str, Any], Breakage]]) -> None:
    key, (body, breakage) = case
    response = _kling(live_fake, key.partition(":")[2], body)
    answer = response.json()
    assert kling.validate_message("error", answer) == [], answer
    unknown_model = breakage.rule == "unknown_model"
    assert (response.status_code, answer["code"]) == ((404, 1203) if unknown_model else (400, 1201)), (answer, breakage)
    field = str(breakage.param).split(".")[-1]
    assert field in answer["message"] or repr(field)[1:-1] in answer["message"], (answer, breakage)   # as it is, or escaped
