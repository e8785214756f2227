"""Properties of the fake over real HTTP, for bodies drawn by contracts.strategies and for arbitrary input:
every valid body is accepted and reported as requested, every invalid one is refused for the field its
label names with the client's own verdict, and nothing at all makes the server answer outside its contract."""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import BASELINE_CONFIG, Fake
from tests.profiles import examples
from tests.test_server import assert_error
from videomock import create_app
from videomock.contracts import Catalog, load_schema, validate_request, validate_response
from videomock.contracts.media import probe
from videomock.contracts.strategies import Breakage, invalid_requests, valid_requests
from videomock.contracts.strategies.jsonschema import json_values
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

CATALOG = Catalog.load()
METADATA_FIELDS = ("duration", "fps", "width", "height")
STATUS_TYPES = load_schema("error")["x-status-types"]


@pytest.fixture(scope="module")
def live_fake(video_library: VideoLibrary) -> Iterator[Fake]:
    """This module's own fake with a manual clock (tasks stay queued, so checking one renders nothing). The
    session's is reconfigured by other modules' tests, which may run between these in the same process: one
    left a credit limit that refused these submits."""
    app = create_app(BASELINE_CONFIG, videos=video_library)
    with LiveServer(app) as server:
        yield Fake(server.url, app.extensions["videomock"])


@pytest.fixture(scope="module")
def client(live_fake: Fake) -> requests.Session:
    return live_fake.session()


@pytest.fixture(scope="module")
def instant_fake(video_library: VideoLibrary) -> Iterator[Fake]:
    """A fake whose tasks complete by their next poll, for the examples that go as far as the video."""
    app = create_app({"clock": {"mode": "instant"}}, videos=video_library)
    with LiveServer(app) as server:
        yield Fake(server.url, app.extensions["videomock"])


def expected_metadata(body: dict[str, Any]) -> dict[str, Any]:
    resolved = CATALOG[body["model"]].resolve(body)
    return {field: resolved[field] for field in METADATA_FIELDS}


# --- valid bodies -------------------------------------------------------------------------------------------

@examples(1)
@given(body=valid_requests())
def test_every_valid_body_is_accepted_and_its_task_reports_what_was_asked(live_fake: Fake, client: requests.Session,
                                                                           body: dict[str, Any]) -> None:
    assert validate_request(body) == []
    submitted = client.post(f"{live_fake.url}/v1/video/generations", json=body, timeout=30)
    assert submitted.status_code == 200, submitted.text
    task = client.get(f"{live_fake.url}/v1/video/generations/{submitted.json()['task_id']}", timeout=30).json()
    assert validate_response("task", task) == []
    assert task["model"] == body["model"]
    assert {field: task["metadata"][field] for field in METADATA_FIELDS} == expected_metadata(body)
    if "seed" in body:
        assert task["metadata"]["seed"] == body["seed"]


@examples(0.1)
@given(body=valid_requests())
def test_valid_bodies_complete_with_a_playable_video_as_asked(instant_fake: Fake, body: dict[str, Any]) -> None:
    """The costly one: every example renders a new video (50-250 ms), so the profile's smallest share."""
    session = instant_fake.session()
    task_id = session.post(f"{instant_fake.url}/v1/video/generations", json=body, timeout=30).json()["task_id"]
    task = session.get(f"{instant_fake.url}/v1/video/generations/{task_id}", timeout=120).json()
    assert task["status"] == "completed", task
    assert {field: task["metadata"][field] for field in METADATA_FIELDS} == expected_metadata(body)

    video = session.get(task["url"], timeout=120)
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "video.mp4"
        path.write_bytes(video.content)
        info = probe(path)
    meta = task["metadata"]
    assert (info.width, info.height, info.fps) == (meta["width"], meta["height"], meta["fps"])
    assert info.frame_count == meta["duration"] * meta["fps"]


# --- invalid bodies -----------------------------------------------------------------------------------------

@examples(3)
@given(case=invalid_requests())
def test_every_invalid_body_is_refused_naming_the_broken_field_as_the_client_does(
        live_fake: Fake, client: requests.Session, case: tuple[dict[str, Any], Breakage]) -> None:
    body, breakage = case
    violations = validate_request(body)
    assert violations and violations[0].pointer == breakage.pointer, [v.as_dict() for v in violations]

    error = assert_error(client.post(f"{live_fake.url}/v1/video/generations", json=body, timeout=30), 400)
    assert error["param"] == breakage.param == violations[0].param
    assert error["code"] == violations[0].code
    assert error["message"] == "; ".join(v.message for v in violations)


# --- arbitrary input ----------------------------------------------------------------------------------------

#: The server's routes, so that most requests reach a real handler; the rest get arbitrary paths.
_ROUTES = ["/v1/video/generations", "/v1/video/generations/{}", "/v1/videos/{}/content", "/v1/models",
           "/openapi.json", "/healthz"]
_SEGMENTS = ["v1", "video", "generations", "videos", "content", "models", "openapi.json", "healthz", "task_x",
             "..", ".", "", "%00", "%ff", "%2F", "~", "a b", "é", "\u202e"]
_TOKEN = st.from_regex(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}", fullmatch=True)
_SEGMENT = st.sampled_from(_SEGMENTS) | _TOKEN
_PATHS = (st.sampled_from(_ROUTES).flatmap(lambda template: _SEGMENT.map(template.format))
          | st.lists(_SEGMENT, min_size=1, max_size=6).map(lambda parts: "/" + "/".join(parts)))
_QUERIES = st.sampled_from(["", "?a=1", "?task_id=x&task_id=y", "?%ff=%00"])
_METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO"])
_HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(str.strip)
#: Headers that frame the message itself; random values would only desynchronise the connection.
_FRAMING = {"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade", "te", "trailer"}
_HEADERS = st.dictionaries(_TOKEN, _HEADER_VALUE, max_size=4).map(
    lambda headers: {name: value for name, value in headers.items() if name.lower() not in _FRAMING})
_AUTHORIZATIONS = st.sampled_from(["Bearer sk-fuzz", "Bearer", "Basic eA==", None])
_JSON_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8", "application/json; charset=utf-16",
                               "application/json; charset=latin-1", "application/json; charset=nope",
                               "application/json; charset=rot13", "application/merge-patch+json"])
_OTHER_TYPES = st.sampled_from([None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                "application/octet-stream", "*/*", ";;", "application/"]) | _HEADER_VALUE
_TEXT_TOKENS = ["true", "false", "null", "NaN", "-Infinity", '"\\ud800"', '"\\u0000"', '"x"', "{}", "[]"]


def _json_tokens() -> st.SearchStrategy[str]:
    """One JSON value as text, including what no JSON encoder writes: very long numbers, NaN, lone surrogates."""
    numbers = st.from_regex(r"-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,10})?([eE][+-]?[0-9]{1,5})?", fullmatch=True)
    return st.one_of(numbers, st.integers(300, 20_000).map(lambda n: "9" * n), st.sampled_from(_TEXT_TOKENS),
                     st.text(max_size=10).map(json.dumps))


def _json_texts() -> st.SearchStrategy[str]:
    """JSON-like text made of tokens: random documents (duplicate keys, cut short) and valid bodies with one
    value replaced by a raw token, which reach the deepest code."""
    def nest(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        array = st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]")
        members = st.lists(st.tuples(st.sampled_from(['"model"', '"prompt"', '"seed"', '"metadata"', '"a"']), inner), max_size=4)
        return array | members.map(lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}")

    documents = st.recursive(_json_tokens(), nest, max_leaves=12)
    near_valid = st.tuples(valid_requests(), _json_tokens()).flatmap(
        lambda pair: st.sampled_from(sorted(pair[0])).map(lambda key: json.dumps({**pair[0], key: "\0"}).replace('"\\u0000"', pair[1])))
    return st.one_of(near_valid, documents, documents.map(lambda text: text[: len(text) // 2]))


@functools.cache
def _bodies() -> st.SearchStrategy[bytes]:
    """Anything a client could put in a body: raw bytes, JSON-like text, JSON values, and the strategies' bodies."""
    return st.one_of(
        st.binary(max_size=256),
        _json_texts().map(lambda text: text.encode("utf-8", "surrogatepass")),
        json_values().map(lambda value: json.dumps(value).encode()),
        valid_requests().map(lambda body: json.dumps(body).encode()),
        invalid_requests().map(lambda case: json.dumps(case[0]).encode()),
    )


@st.composite
def _submissions(draw: st.DrawFn) -> dict[str, Any]:
    """Authenticated submits with a JSON content type: whatever the body, it reaches the parser and validation."""
    headers = draw(_HEADERS) | {"Authorization": "Bearer sk-fuzz", "Content-Type": draw(_JSON_TYPES)}
    return {"method": "POST", "path": "/v1/video/generations", "headers": headers, "data": draw(_bodies())}


@st.composite
def _anything(draw: st.DrawFn) -> dict[str, Any]:
    headers = draw(_HEADERS)
    for name, value in (("Authorization", draw(_AUTHORIZATIONS)), ("Content-Type", draw(_JSON_TYPES | _OTHER_TYPES))):
        if value is not None:
            headers[name] = value
    return {"method": draw(_METHODS), "path": draw(_PATHS) + draw(_QUERIES), "headers": headers, "data": draw(_bodies())}


def _submission(data: bytes) -> dict[str, Any]:
    return {"method": "POST", "path": "/v1/video/generations", "data": data,
            "headers": {"Authorization": "Bearer sk-fuzz", "Content-Type": "application/json"}}


def test_no_request_gets_a_server_error_or_an_answer_outside_the_contract(live_fake: Fake) -> None:
    @examples(3)
    @given(request=_submissions() | _anything())
    @example(request=_submission(b'{"model": "veo_3_1", "prompt": "x", "seed": ' + b"9" * 5000 + b"}"))
    @example(request=_submission(b'{"model": "veo_3_1", "image": "http://[::1/cat.png"}'))
    def answered_within_the_contract(request: dict[str, Any]) -> None:
        response = requests.request(request["method"], live_fake.url + request["path"], headers=request["headers"],
                                    data=request["data"], timeout=30, allow_redirects=False)
        assert response.status_code < 500, response.text
        if request["method"] == "OPTIONS" and response.status_code == 204:
            assert "Allow" in response.headers and "Content-Type" not in response.headers  # the methods, no body
            return
        assert response.headers["Content-Type"].startswith("application/json"), response.headers
        if request["method"] == "HEAD":
            return  # the headers of a GET, without its body
        body = response.json()
        if response.status_code >= 400:
            assert validate_response("error", body) == [], body
            assert body["error"]["type"] == STATUS_TYPES[str(response.status_code)]

    answered_within_the_contract()
    health = requests.get(f"{live_fake.url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    still_served = live_fake.session().post(f"{live_fake.url}/v1/video/generations",
                                            json={"model": "veo_3_1", "prompt": "still here"}, timeout=10)
    assert still_served.status_code == 200
