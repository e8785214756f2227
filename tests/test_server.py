"""The fake provider over real HTTP: routes, statuses, bodies and the task lifecycle, checked against the
contracts. The clock is manual here so each step of the lifecycle can be observed."""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flask
import pytest
import requests
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import BASELINE_CONFIG, Fake
from tests.profiles import examples
from tests.test_contracts import doc_example_for
from videomock import create_app
from videomock.contracts import Catalog, openapi_document, validate_response
from videomock.contracts.strategies import invalid_requests, valid_requests
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

CATALOG = Catalog.load()
TASK_KEYS = {"task_id", "status", "progress", "url", "format", "metadata", "error", "model", "created_at", "completed_at"}


def assert_error(response: requests.Response, status: int, *, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """The response is a JSON error in the contract's shape with the given status."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert validate_response("error", body) == [], body
    if param is not None:
        assert body["error"]["param"] == param, body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def finish(fake: Fake, task_id: str) -> dict[str, Any]:
    """Advance virtual time past the task's timeline and poll once."""
    fake.backend.advance(3600)
    response = fake.poll(task_id)
    assert response.status_code == 200
    return response.json()


# --- submit and poll ------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", list(CATALOG))
def test_provider_doc_example_round_trips(fake: Fake, model: str) -> None:
    body = doc_example_for(CATALOG[model])
    submitted = fake.submit(body)
    assert submitted.status_code == 200
    assert set(submitted.json()) == {"task_id", "status"}
    assert submitted.json()["status"] == "queued"
    assert validate_response("submit", submitted.json()) == []

    task = finish(fake, submitted.json()["task_id"])
    assert set(task) == TASK_KEYS
    assert validate_response("task", task) == []
    assert task["status"] == "completed" and task["progress"] == 100
    assert task["metadata"] == {k: body[k] for k in ("duration", "fps", "width", "height", "seed")}
    assert task["model"] == model and task["format"] == "mp4" and task["error"] is None
    assert task["completed_at"] >= task["created_at"]

    video = fake.session().get(task["url"], timeout=30)
    assert video.status_code == 200
    assert video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


def test_lifecycle_goes_queued_in_progress_completed(fake: Fake) -> None:
    spec = CATALOG["kling-v2-5-turbo"]
    task_id = fake.submit({"model": spec.id, "prompt": "lifecycle"}).json()["task_id"]
    first = fake.poll(task_id).json()
    assert (first["status"], first["progress"], first["url"], first["completed_at"]) == ("queued", 0, None, None)

    fake.backend.advance(spec.queue_seconds + spec.render_seconds * 0.25)
    quarter = fake.poll(task_id).json()
    assert quarter["status"] == "in_progress" and 20 <= quarter["progress"] <= 30
    assert validate_response("task", quarter) == []

    fake.backend.advance(spec.render_seconds * 0.5)
    three_quarters = fake.poll(task_id).json()
    assert three_quarters["status"] == "in_progress" and three_quarters["progress"] > quarter["progress"]

    fake.backend.advance(spec.render_seconds)
    done = fake.poll(task_id).json()
    assert done["status"] == "completed" and done["progress"] == 100 and done["url"].endswith(f"/v1/videos/{task_id}/content")


@pytest.mark.parametrize("model", list(CATALOG))
def test_omitted_fields_get_the_models_defaults(fake: Fake, model: str) -> None:
    task_id = fake.submit({"model": model, "prompt": "defaults"}).json()["task_id"]
    metadata = fake.poll(task_id).json()["metadata"]
    defaults = CATALOG[model].defaults
    assert {k: metadata[k] for k in defaults} == dict(defaults)
    assert 0 <= metadata["seed"] <= 2**32 - 1


def test_generated_seeds_and_ids_are_deterministic(video_library: Any) -> None:
    def run() -> list[tuple[str, int]]:
        app = create_app({"seed": 7, "clock": {"mode": "manual"}}, videos=video_library)
        client = app.test_client()
        out = []
        for _ in range(3):
            task_id = client.post("/v1/video/generations", json={"model": "veo_3_1", "prompt": "x"},
                                  headers={"Authorization": "Bearer k"}).get_json()["task_id"]
            task = client.get(f"/v1/video/generations/{task_id}", headers={"Authorization": "Bearer k"}).get_json()
            out.append((task_id, task["metadata"]["seed"]))
        return out

    first, second = run(), run()
    assert first == second
    assert len({task_id for task_id, _ in first}) == 3


def test_a_given_seed_is_kept(fake: Fake) -> None:
    task_id = fake.submit({"model": "veo_3_1", "prompt": "x", "seed": 4294967295}).json()["task_id"]
    assert fake.poll(task_id).json()["metadata"]["seed"] == 4294967295


def test_invalid_request_names_the_field_and_what_is_allowed(fake: Fake) -> None:
    error = assert_error(fake.submit({"model": "veo_3_1", "prompt": "x", "duration": 5}), 400, param="duration")
    assert error["message"] == "duration 5 is not supported by veo_3_1; allowed: 4, 6, 8"
    assert error["type"] == "invalid_request_error"


def test_nothing_is_stored_for_a_rejected_request(fake: Fake) -> None:
    fake.submit({"model": "veo_3_1", "prompt": "x", "duration": 5})
    assert fake.backend.store.tasks() == []


# --- downloads ------------------------------------------------------------------------------------------

def test_download_before_completion_is_a_documented_error(fake: Fake) -> None:
    task_id = fake.submit({"model": "veo_3_1", "prompt": "x"}).json()["task_id"]
    assert_error(fake.session().get(f"{fake.url}/v1/videos/{task_id}/content", timeout=10), 400, code="video_not_ready")


def test_download_unknown_task_is_404(fake: Fake) -> None:
    assert_error(fake.session().get(f"{fake.url}/v1/videos/task_nope/content", timeout=10), 404)


def documented_range_pattern() -> str:
    download = openapi_document(CATALOG)["paths"]["/v1/videos/{task_id}/content"]["get"]
    pattern: str = next(p for p in download["parameters"] if p["name"] == "Range")["schema"]["pattern"]
    return pattern


@pytest.mark.parametrize("value", ["bytes=0-99", "BYTES = 0 - 99", "bytes=100-", "bytes=-100", "bytes=0-1,5-9",
                                   "bytes=5-9, 0-1", "bytes=0-", "items=0-99", "bytes=", "0-99", "bytes=abc",
                                   "bytes=0-1,abc", "bytes=0--0", "bytes=00 - -00", "bytes=-0", "bytes=1--0",
                                   "bytes=+1-2", "bytes=0--0,5-9", "bytes=-0,5-9"])
def test_the_range_header_is_served_exactly_as_documented(fake: Fake, value: str) -> None:
    task = finish(fake, fake.submit({"model": "veo_3_1", "prompt": "ranges"}).json()["task_id"])
    response = fake.session().get(task["url"], headers={"Range": value}, timeout=30)
    if re.search(documented_range_pattern(), value) and "," in value:  # several ranges: the whole file
        assert response.status_code == 200 and "Content-Range" not in response.headers
    elif re.search(documented_range_pattern(), value):
        assert response.status_code == 206 and response.headers["Content-Range"].startswith("bytes ")
    else:
        assert_error(response, 416)


def _fits(value: str, length: int) -> bool:
    """Whether one range the pattern admits lies within a video of ``length`` bytes, as the document says: a
    suffix no longer than the video does, a range starting at or past the end or after its last position
    does not."""
    spec = value.partition("=")[2].strip(" \t")
    if spec.startswith("-"):
        return int(spec[1:]) <= length
    first, _, last = (part.strip(" \t") for part in spec.partition("-"))
    return int(first) < length and (not last or last.startswith("-") or int(first) <= int(last))


#: Range values, most of them near misses of the documented pattern.
_RANGE_VALUES = st.builds(lambda unit, equals, rest: unit + equals + "".join(rest),
                          st.sampled_from(["bytes", "BYTES", "bYtEs", "bytes\t", "items", ""]),
                          st.sampled_from(["=", " = ", "", "=="]),
                          st.lists(st.sampled_from(["0", "00", "7", "99999999", "-", "--", ",", " ", "\t", "+", "x"]),
                                   max_size=6))


def test_the_server_serves_a_range_exactly_when_the_documented_pattern_admits_it(fake: Fake) -> None:
    pattern = documented_range_pattern()
    url = finish(fake, fake.submit({"model": "veo_3_1", "prompt": "ranges"}).json()["task_id"])["url"]
    length = int(fake.session().head(url, timeout=30).headers["Content-Length"])
    session = fake.session()

    @examples(2)
    # HTTP drops the blanks before a header's value (requests refuses to send them).
    @given(value=(st.from_regex(pattern, fullmatch=True) | _RANGE_VALUES).map(lambda text: text.lstrip(" \t")))
    @example(value="bytes=0--0")        # werkzeug reads it as the first byte
    @example(value="bytes=-0")          # an empty suffix
    @example(value="bytes=-99999999")   # a suffix longer than the video
    @example(value="bytes=0--0,-0")     # several ranges, one of them not one
    def served_as_documented(value: str) -> None:
        response = session.get(url, headers={"Range": value}, timeout=30)
        if re.search(pattern, value) and "," in value:
            assert response.status_code == 200, (value, response.status_code)   # several ranges: the whole file
        elif re.search(pattern, value) and _fits(value, length):
            assert response.status_code == 206, (value, response.status_code)
        else:
            assert_error(response, 416)

    served_as_documented()


# --- auth -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "sk-test"])
def test_missing_or_malformed_key_is_401(fake: Fake, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = requests.post(f"{fake.url}/v1/video/generations", json={"model": "veo_3_1", "prompt": "x"}, headers=headers, timeout=10)
    assert assert_error(response, 401)["type"] == "authentication_error"


def test_tasks_are_private_to_their_key(fake: Fake) -> None:
    task_id = fake.submit({"model": "veo_3_1", "prompt": "x"}, key="sk-alice").json()["task_id"]
    assert fake.poll(task_id, key="sk-alice").status_code == 200
    assert_error(fake.poll(task_id, key="sk-bob"), 404, param="task_id")
    fake.backend.advance(3600)
    fake.poll(task_id, key="sk-alice")
    assert_error(fake.session("sk-bob").get(f"{fake.url}/v1/videos/{task_id}/content", timeout=10), 404)


def test_configured_keys_restrict_access(video_library: Any) -> None:
    app = create_app({"auth": {"api_keys": ["sk-one", "sk-two"]}}, videos=video_library)
    with LiveServer(app) as server:
        body = {"model": "veo_3_1", "prompt": "x"}
        ok = requests.post(f"{server.url}/v1/video/generations", json=body, headers={"Authorization": "Bearer sk-two"}, timeout=10)
        assert ok.status_code == 200
        denied = requests.post(f"{server.url}/v1/video/generations", json=body, headers={"Authorization": "Bearer sk-three"}, timeout=10)
        assert_error(denied, 401, code="invalid_api_key")


# --- malformed input never yields a 500 or HTML -----------------------------------------------------------

@pytest.mark.parametrize("data, content_type, code", [
    (b'{"model": "veo_3_1", "prompt": ', "application/json", "invalid_json"),
    (b'{"model": "veo_3_1", "prompt": "x"}', "text/plain", "unsupported_content_type"),
    (b'{"model": "veo_3_1", "prompt": "x"}', None, "unsupported_content_type"),
    (b"[1, 2, 3]", "application/json", "invalid_type"),
    (b'"just a string"', "application/json", "invalid_type"),
    (b'{"model": "veo_3_1", "prompt": "x", "seed": NaN}', "application/json", "invalid_json"),
    (b'{"model": "veo_3_1", "prompt": "x", "seed": Infinity}', "application/json", "invalid_json"),
    (b'{"model": "veo_3_1", "prompt": "x", "prompt": "y"}', "application/json", "invalid_json"),
    (b'{"model": "veo_3_1", "prompt": "x", "seed": ' + b"9" * 5000 + b"}", "application/json", "invalid_json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", "invalid_json"),
    (b'{"a":' * 40 + b"1" + b"}" * 40, "application/json", "invalid_json"),
    (b"", "application/json", "invalid_json"),
    (b"\xff\xfe\x00", "application/json", "invalid_json"),
])
def test_malformed_bodies_get_json_400s(fake: Fake, data: bytes, content_type: str | None, code: str) -> None:
    headers = {"Authorization": "Bearer sk-test"} | ({"Content-Type": content_type} if content_type else {})
    response = requests.post(f"{fake.url}/v1/video/generations", data=data, headers=headers, timeout=10)
    assert_error(response, 400, code=code)


def test_oversized_body_is_413(video_library: Any) -> None:
    app = create_app({"server": {"max_body_bytes": 2048}}, videos=video_library)
    with LiveServer(app) as server:
        body = json.dumps({"model": "veo_3_1", "prompt": "x" * 5000})
        response = requests.post(f"{server.url}/v1/video/generations", data=body, timeout=10,
                                 headers={"Authorization": "Bearer k", "Content-Type": "application/json"})
        assert "2048" in assert_error(response, 413)["message"]


def assert_unparsable_request_refused(url: str, raw: bytes, status: int) -> None:
    """Send ``raw`` (a request the HTTP server itself refuses) and check the answer is a JSON error in the
    contract's shape, not the server's default HTML page."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == status
        assert response.getheader("Content-Type") == "application/json"
        body = json.loads(response.read())
    assert validate_response("error", body) == [], body
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["message"]


@pytest.mark.parametrize(("raw", "status"), [
    (b"GET /v1/models HTTP/x.y\r\n\r\n", 400),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET /healthz HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431),
])
def test_a_request_the_live_server_cannot_parse_gets_a_json_error(fake: Fake, raw: bytes, status: int) -> None:
    assert_unparsable_request_refused(fake.url, raw, status)


def test_unknown_route_is_a_json_404(fake: Fake) -> None:
    response = fake.session().get(f"{fake.url}/v1/nothing-here", timeout=10)
    assert "/v1/nothing-here" in assert_error(response, 404)["message"]


def test_wrong_method_is_a_json_405_with_allow(fake: Fake) -> None:
    response = fake.session().delete(f"{fake.url}/v1/video/generations", timeout=10)
    assert_error(response, 405)
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/v1//video/generations", "/v1/video//generations/x", "/v1/models//"])
def test_doubled_slashes_get_a_json_404_not_a_redirect(fake: Fake, path: str) -> None:
    response = fake.session().post(fake.url + path, json={"model": "veo_3_1", "prompt": "x"}, timeout=10, allow_redirects=False)
    assert_error(response, 404)


def test_trailing_slash_does_not_redirect(fake: Fake) -> None:
    response = fake.session().post(f"{fake.url}/v1/video/generations/", json={"model": "veo_3_1", "prompt": "x"}, timeout=10, allow_redirects=False)
    assert response.status_code == 200


# --- models, openapi, health ------------------------------------------------------------------------------

def test_models_lists_the_catalog_in_the_openai_shape(fake: Fake) -> None:
    body = fake.session().get(f"{fake.url}/v1/models", timeout=10).json()
    assert validate_response("model_list", body) == []
    assert [m["id"] for m in body["data"]] == list(CATALOG)
    assert {m["owned_by"] for m in body["data"]} == {"kling", "google", "openai"}


def test_models_requires_a_key(fake: Fake) -> None:
    assert_error(requests.get(f"{fake.url}/v1/models", timeout=10), 401)


def test_openapi_json_is_served_and_valid(fake: Fake) -> None:
    from openapi_spec_validator import validate

    document = requests.get(f"{fake.url}/openapi.json", timeout=10).json()
    validate(document)
    assert document["servers"] == [{"url": fake.url}]


def test_healthz(fake: Fake) -> None:
    body = requests.get(f"{fake.url}/healthz", timeout=10).json()
    assert body["status"] == "ok" and body["models"] == len(CATALOG)


@contextmanager
def flask_requests() -> Iterator[list[str]]:
    """The paths of the requests Flask handles meanwhile (the fast path's answers never reach it)."""
    handled: list[str] = []

    def started(sender: Any, **extra: Any) -> None:
        handled.append(flask.request.path)

    flask.request_started.connect(started)
    try:
        yield handled
    finally:
        flask.request_started.disconnect(started)


#: Journal fields that differ between two requests whatever they are.
VOLATILE = ("time", "virtual_time", "duration_ms", "seq")


def test_the_fast_poll_path_answers_exactly_as_flask_does(fake: Fake) -> None:
    """Plain polls skip Flask (videomock.http.fastpath); any X-Videomock-Fault header, even an empty one,
    sends a poll through Flask. Both must answer and journal byte for byte alike."""
    task_id = fake.submit({"model": "veo_3_1", "prompt": "fast"}).json()["task_id"]
    for advance in (0, 3600):
        fake.backend.advance(advance)
        with flask_requests() as handled:
            fast = fake.poll(task_id)
            assert handled == []
            full = fake.session().get(f"{fake.url}/v1/video/generations/{task_id}", headers={"X-Videomock-Fault": ";"}, timeout=10)
            assert handled == [f"/v1/video/generations/{task_id}"]
        assert (fast.status_code, fast.content) == (full.status_code, full.content)
        assert {k: fast.headers[k] for k in ("Content-Type", "Content-Length")} == \
               {k: full.headers[k] for k in ("Content-Type", "Content-Length")}
    fast_entry, full_entry = ({k: v for k, v in e.items() if k not in VOLATILE} for e in fake.backend.store.journal()[-2:])
    assert fast_entry == full_entry


def test_a_fast_path_failure_is_logged_and_the_full_path_answers(fake: Fake, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """On ``videomock serve``'s event loop no Flask stands behind the fast path to turn an exception into a JSON
    500; a failure before it has answered hands the request to the full path instead."""
    def broken(endpoint: str) -> bool:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(fake.backend, "plain", broken)
    with flask_requests() as handled:
        submitted = fake.submit({"model": "veo_3_1", "prompt": "still answered"})
        polled = fake.poll(submitted.json()["task_id"])
    assert (submitted.status_code, polled.status_code) == (200, 200), (submitted.text, polled.text)
    assert handled == ["/v1/video/generations", f"/v1/video/generations/{submitted.json()['task_id']}"]
    logged = [r.getMessage() for r in caplog.records if r.name == "videomock.http.fastpath"]
    # Once per request, or twice for the submit through the serving layer: its thread tries the fast path again.
    assert set(logged) == {"the fast path failed; the full path answers the request"} and len(logged) >= 2


def test_a_failure_after_a_fast_submit_made_its_task_is_a_json_500_and_one_task(
        fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the backend's submit the task exists: the full path must not be handed the request, or it would make
    the task again (and charge for it again)."""
    journal = fake.backend.journal

    def broken_once(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(fake.backend, "journal", journal)
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(fake.backend, "journal", broken_once)
    failed = fake.submit({"model": "veo_3_1", "prompt": "made once"})
    assert_error(failed, 500, code="internal_error")
    assert len(fake.backend.store.tasks()) == 1


#: The wall clock of the twin tests' fake: a task reports its times from the wall clock at its submit, and two
#: submits astride a second would differ there.
PINNED_WALL_CLOCK = 1_796_000_000.0


@pytest.fixture(scope="module")
def twin_fake(video_library: VideoLibrary) -> Iterator[Fake]:
    app = create_app(BASELINE_CONFIG, videos=video_library, real_time=lambda: PINNED_WALL_CLOCK)
    with LiveServer(app) as server:
        yield Fake(server.url, app.extensions["videomock"])


#: Bodies that are not a generation request at all, each refused by the strict JSON reader.
BROKEN_JSON = [b"", b"  ", b"{", b"[]", b'{"model": "veo_3_1", "model": "veo_3_1"}', b'{"duration": NaN}',
               b'{"width": 1e400}', b'{"prompt": "\xff"}', b"[" * 40 + b"]" * 40]


@examples(1)
@given(raw=st.one_of(valid_requests().map(lambda body: json.dumps(body).encode()),
                     invalid_requests().map(lambda case: json.dumps(case[0]).encode()),
                     st.sampled_from(BROKEN_JSON)),
       profile=st.sampled_from([{}, {"X-Videomock-Gateway": "new-api"}]))
@example(raw=json.dumps({"model": "veo_3_1", "prompt": "fast"}).encode(), profile={})
def test_the_fast_submit_path_answers_and_journals_exactly_as_flask_does(twin_fake: Fake, raw: bytes,
                                                                          profile: dict[str, str]) -> None:
    """A plain JSON submit skips Flask too, accepted or refused; the same request with an X-Videomock-Fault
    header goes through Flask. From the same state, both answer, journal and make the same task, id and all."""
    headers = {"Content-Type": "application/json", **profile}

    def submitted(extra: dict[str, str]) -> tuple[requests.Response, list[str], list[dict[str, Any]]]:
        twin_fake.backend.configure(BASELINE_CONFIG)
        twin_fake.backend.reset()
        answer = twin_fake.session().post(f"{twin_fake.url}/v1/video/generations", data=raw, timeout=10,
                                          headers={**headers, **extra})
        journal = [{k: v for k, v in entry.items() if k not in VOLATILE} for entry in twin_fake.backend.store.journal()]
        return answer, [task.id for task in twin_fake.backend.store.tasks()], journal

    with flask_requests() as handled:
        fast, fast_tasks, fast_journal = submitted({})
        assert handled == []
        full, full_tasks, full_journal = submitted({"X-Videomock-Fault": ";"})
        assert handled == ["/v1/video/generations"]
    assert (fast.status_code, fast.text) == (full.status_code, full.text)
    assert {k: fast.headers[k] for k in ("Content-Type", "Content-Length")} == \
           {k: full.headers[k] for k in ("Content-Type", "Content-Length")}
    assert fast_tasks == full_tasks and len(fast_tasks) == (fast.status_code == 200)
    assert fast_journal == full_journal and len(fast_journal) == 1


# --- the JSON of every answer -------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


@given(json_values)
@example({"prompt": "一只纸船 🚣", "n": 10**30, "nested": [{"é": 1.5}]})
def test_answers_are_flasks_compact_json_with_non_ascii_escaped(value: Any) -> None:
    """orjson encodes the answers; what a client reads is what Flask's json module wrote before."""
    app = create_app({"clock": {"mode": "instant"}})
    text = app.json.dumps(value)
    with app.app_context():   # jsonify and a view's dict answer: what Flask's views send
        assert app.json.response(value).get_data(as_text=True) == text + "\n"
    assert json.loads(text) == value and text.isascii()
    if not any(isinstance(leaf, float) for leaf in _leaves(value)):   # floats may write their exponents shorter
        assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=True)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]
