"""The new-api gateway profile over real HTTP: chosen by the X-Videomock-Gateway header, by the key
(gateway.keys) or for the whole server (--gateway); new-api's lenient request; its answers and errors against
their schemas (contracts/schemas/newapi_*), and against the real gateway's recordings
(tests/data/recordings/new_api_*.json); one task through both route families; and the thin client running a
whole generation against it. The documented profile's own behaviour is the rest of the suite's."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.clientlib_support import RECORDINGS, VirtualTime, load_recording
from tests.conftest import Fake
from tests.serve_process import serve
from videomock.client import ContractWarning, NotFound, VideoClient
from videomock.client.dialects import dialect_violation
from videomock.contracts.errors import error_code, error_codes, profile_error_codes
from videomock.contracts.schemas import check_schema, load_schema
from videomock.contracts.validation import validate_against, validate_response
from videomock.core.keys import fingerprint

HEADER = {"X-Videomock-Gateway": "new-api"}
BODY = {"model": "kling-v2-5-turbo", "prompt": "a lighthouse at dusk"}


def call(fake: Fake, method: str, path: str, *, key: str | None = None, profile: str | None = "new-api",
         **kwargs: Any) -> requests.Response:
    """A request to the fake, asking for ``profile`` with the header (None: no header)."""
    headers = {**({"X-Videomock-Gateway": profile} if profile else {}), **kwargs.pop("headers", {})}
    return fake.session(key).request(method, f"{fake.url}{path}", headers=headers, timeout=30, **kwargs)


def submit(fake: Fake, body: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
    return call(fake, "POST", "/v1/video/generations", json=BODY if body is None else body, **kwargs)


def poll(fake: Fake, task_id: str, **kwargs: Any) -> requests.Response:
    return call(fake, "GET", f"/v1/video/generations/{task_id}", **kwargs)


def valid(schema: str, response: requests.Response, status: int = 200) -> Any:
    """The response's JSON body, which must have ``status`` and be valid against the named schema."""
    assert response.status_code == status, response.text
    body = response.json()
    assert validate_against(schema, body) == [], body
    return body


def submitted(fake: Fake, body: dict[str, Any] | None = None, **kwargs: Any) -> str:
    video = valid("newapi_video", submit(fake, body, **kwargs))
    assert video["task_id"] == video["id"] and video["status"] == "queued"
    return str(video["id"])


def dto(fake: Fake, task_id: str, **kwargs: Any) -> dict[str, Any]:
    """The TaskDto a new-api poll answers."""
    body = valid("newapi_task", poll(fake, task_id, **kwargs))
    assert (body["code"], body["message"]) == ("success", "")
    data: dict[str, Any] = body["data"]
    return data


def task_error(response: requests.Response, status: int, code: str) -> str:
    """new-api's relay's error: its wrapper, with no data. Returns the message."""
    body = valid("newapi_error", response, status)
    assert set(body) == {"code", "message", "data"} and body["code"] == code and body["data"] is None, body
    return str(body["message"])


def gateway_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """An error new-api answers outside its relay: the OpenAI shape, typed new_api_error."""
    body = valid("newapi_error", response, status)
    assert body["error"]["type"] == "new_api_error" and body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


def test_the_schemas_of_new_apis_messages_are_valid_2020_12() -> None:
    for name in ("newapi_task", "newapi_video", "newapi_error"):
        assert load_schema(name)["$schema"].endswith("2020-12/schema")
        check_schema(load_schema(name))


def test_the_profile_codes_stay_out_of_the_documented_apis_table_but_take_their_status_from_it() -> None:
    gateway_codes = {code for code, entry in profile_error_codes().items() if entry.profile != "replay"}
    assert gateway_codes == {"invalid_gateway_header", "invalid_request", "task_not_exist"}
    assert not set(profile_error_codes()) & set(error_codes())
    assert error_code("task_not_exist").status == 400 and error_code("task_not_exist").profile == "new-api"


# --- choosing the profile ---------------------------------------------------------------------------------------

def test_the_header_picks_the_profile_of_one_request(fake: Fake) -> None:
    task_id = submitted(fake)
    assert dto(fake, task_id)["task_id"] == task_id
    documented = poll(fake, task_id, profile=None)
    assert validate_response("task", documented.json()) == [] and documented.json()["status"] == "queued"
    assert poll(fake, task_id, profile="documented").json() == documented.json()
    assert poll(fake, task_id, profile="New-API").json()["code"] == "success"


def test_a_key_listed_in_gateway_keys_gets_its_profile_and_the_config_keeps_its_fingerprint(fake: Fake) -> None:
    changed = requests.patch(f"{fake.url}/__admin/config", json={"gateway": {"keys": {"sk-legacy": "new-api"}}}, timeout=10)
    assert changed.status_code == 200, changed.text
    assert requests.get(f"{fake.url}/__admin/config", timeout=10).json()["gateway"]["keys"] == {fingerprint("sk-legacy"): "new-api"}
    task_id = submitted(fake, key="sk-legacy", profile=None)
    assert dto(fake, task_id, key="sk-legacy", profile=None)["status"] == "SUBMITTED"
    assert poll(fake, task_id, key="sk-legacy", profile="documented").json()["status"] == "queued"   # the header wins
    assert set(submit(fake, profile=None).json()) == {"task_id", "status"}   # another key: the documented profile


def test_a_bad_profile_header_is_a_400_naming_it_and_the_profiles(fake: Fake) -> None:
    response = poll(fake, "task_whatever", profile="old-api")
    assert response.status_code == 400 and validate_response("error", response.json()) == []
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("X-Videomock-Gateway", "invalid_gateway_header")
    assert "'old-api'" in error["message"] and "documented, new-api" in error["message"]
    download = call(fake, "GET", "/v1/videos/task_whatever/content", profile="old-api")   # a route that needs no profile
    assert (download.status_code, download.json()["error"]["code"]) == (400, "invalid_gateway_header")
    assert fake.backend.store.tasks() == []


def test_a_bad_profile_in_the_config_is_refused_naming_the_setting(fake: Fake) -> None:
    response = requests.patch(f"{fake.url}/__admin/config", json={"gateway": {"profile": "old-api"}}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["param"] == "gateway.profile"


def test_serve_with_the_gateway_flag_answers_every_request_as_new_api(tmp_path: Path) -> None:
    with serve("--gateway", "new-api", "--store", "memory", "--clock", "instant", "--cache-dir", str(tmp_path)) as running:
        session = requests.Session()
        session.headers["Authorization"] = "Bearer sk-serve"
        video = session.post(f"{running.url}/v1/video/generations", json=BODY, timeout=30).json()
        assert validate_against("newapi_video", video) == []
        polled = session.get(f"{running.url}/v1/video/generations/{video['id']}", timeout=30).json()
        assert validate_against("newapi_task", polled) == [] and polled["data"]["status"] == "SUCCESS"
        assert requests.get(f"{running.url}/__admin/config", timeout=10).json()["gateway"]["profile"] == "new-api"


# --- what it answers --------------------------------------------------------------------------------------------

def test_a_task_polled_through_its_life_as_new_apis_task_dto(fake: Fake) -> None:
    task_id = submitted(fake)
    queued = dto(fake, task_id)
    assert (queued["status"], queued["progress"], queued["start_time"], queued["finish_time"]) == ("SUBMITTED", "10%", 0, 0)
    assert (queued["result_url"], queued["fail_reason"]) == ("", "") and queued["submit_time"] > 0
    fake.backend.advance(10)
    running = dto(fake, task_id)
    assert (running["status"], running["progress"]) == ("IN_PROGRESS", "30%")
    assert running["start_time"] > running["submit_time"] and running["finish_time"] == 0 and running["result_url"] == ""
    fake.backend.advance(3600)
    done = dto(fake, task_id)
    assert (done["status"], done["progress"]) == ("SUCCESS", "100%")
    assert done["finish_time"] > done["start_time"] == running["start_time"] and done["fail_reason"] == ""
    video = call(fake, "GET", done["result_url"].removeprefix(fake.url))
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


def test_a_failed_task_reports_failure_its_reason_and_its_end(fake: Fake) -> None:
    task_id = submitted(fake, headers={"X-Videomock-Fault": "fail=content_policy@40"})
    fake.backend.advance(3600)
    failed = dto(fake, task_id)
    assert failed["status"] == "FAILURE" and failed["result_url"] == ""
    assert failed["fail_reason"] and failed["finish_time"] >= failed["start_time"] > 0


@pytest.mark.parametrize(("fault", "progress", "started"), [
    ("fail=content_policy@40", "30%", True),   # failed while IN_PROGRESS, which new-api shows at 30%
    ("fail=content_policy@99", "30%", True),
    ("fail=content_policy@0", "10%", False),   # failed as it would have started: it was SUBMITTED
    ("filter", "30%", True),                   # a safety filter withholding the video fails the task at its end
])
def test_a_failed_task_keeps_the_progress_it_had_when_it_failed(fake: Fake, fault: str, progress: str,
                                                                started: bool) -> None:
    task_id = submitted(fake, headers={"X-Videomock-Fault": fault})
    fake.backend.advance(3600)
    failed = dto(fake, task_id)
    assert (failed["status"], failed["progress"]) == ("FAILURE", progress)
    assert (failed["start_time"] > 0) is started and failed["finish_time"] >= failed["start_time"]


def test_the_fast_path_answers_a_poll_exactly_as_the_full_path_does(fake: Fake) -> None:
    task_id = submitted(fake)
    fake.backend.advance(3600)
    plain = poll(fake, task_id)
    full = poll(fake, task_id, headers={"X-Videomock-Fault": "delay=0"})   # a fault header takes the full path
    assert plain.content == full.content and plain.json()["data"]["status"] == "SUCCESS"
    video = call(fake, "GET", f"/v1/videos/{task_id}")
    assert video.content == call(fake, "GET", f"/v1/videos/{task_id}", headers={"X-Videomock-Fault": "delay=0"}).content


def test_the_same_task_is_readable_through_both_route_families(fake: Fake) -> None:
    made_here = submitted(fake)
    made_there = valid("newapi_video", call(fake, "POST", "/v1/videos", json={"model": "sora-2", "prompt": "over there"}))["id"]
    queued = valid("newapi_video", call(fake, "GET", f"/v1/videos/{made_here}"))
    assert queued["status"] == "queued" and "metadata" not in queued
    assert dto(fake, made_there)["status"] == "SUBMITTED"
    fake.backend.advance(3600)
    for task_id in (made_here, made_there):
        video = valid("newapi_video", call(fake, "GET", f"/v1/videos/{task_id}"))
        assert video["status"] == "completed" and video["metadata"]["url"] == dto(fake, task_id)["result_url"]
    listed = call(fake, "GET", "/v1/videos").json()["data"]
    assert {v["id"]: v["metadata"]["url"] for v in listed} == {t: dto(fake, t)["result_url"] for t in (made_here, made_there)}


# --- what it reads -------------------------------------------------------------------------------------------

def params_of(fake: Fake, task_id: str) -> dict[str, Any]:
    """The canonical request a task was made with (the admin API's view of it)."""
    tasks = requests.get(f"{fake.url}/__admin/tasks", timeout=10).json()["tasks"]
    params: dict[str, Any] = next(t for t in tasks if t["task_id"] == task_id)["params"]
    return params


def test_a_size_the_model_does_not_offer_is_dropped_for_the_models_default(fake: Fake) -> None:
    body = {**BODY, "width": 640, "height": 480, "fps": 60, "seed": 7, "n": 3, "response_format": "b64", "user": "u1"}
    assert submit(fake, body, profile=None).status_code == 400   # the documented profile refuses it
    params = params_of(fake, submitted(fake, body))
    assert (params["width"], params["height"], params["fps"], params["duration"]) == (1280, 720, 30, 5)
    assert params["seed"] != 7


def test_new_apis_own_fields_reach_the_task(fake: Fake) -> None:
    body = {**BODY, "size": "720x1280", "duration": "10", "mode": "std", "images": ["https://example.com/a.png"],
            "metadata": '{"negative_prompt": "blur", "watermark": true}'}
    params = params_of(fake, submitted(fake, body))
    assert (params["width"], params["height"], params["duration"]) == (720, 1280, 10)
    assert params["metadata"] == {"negative_prompt": "blur", "mode": "std"}   # a field the model lacks is dropped
    assert params["image"]["url"] == "https://example.com/a.png"


def test_seconds_count_when_duration_reads_as_none(fake: Fake) -> None:
    task_id = submitted(fake, {**BODY, "duration": 10.5, "seconds": "10", "metadata": ["not", "an", "object"]})
    assert params_of(fake, task_id)["duration"] == 10


@pytest.mark.parametrize("prompt", ["", "   ", None])
def test_a_missing_or_blank_prompt_is_prompt_is_required(fake: Fake, prompt: str | None) -> None:
    body = {"model": BODY["model"]} if prompt is None else {**BODY, "prompt": prompt}
    assert task_error(submit(fake, body), 400, "invalid_request") == "prompt is required"
    assert fake.backend.store.tasks() == []


@pytest.mark.parametrize(("field", "value", "message"), [
    ("prompt", 5, "prompt must be of type string, not integer"),
    ("images", "a.png", "images must be of type array, not string"),
    ("seconds", 10, "seconds must be of type string, not integer"),
])
def test_a_field_new_api_reads_with_the_wrong_type_is_named(fake: Fake, field: str, value: Any, message: str) -> None:
    assert task_error(submit(fake, {**BODY, field: value}), 400, "invalid_request") == message


def test_what_the_upstream_refuses_is_refused_naming_the_field(fake: Fake) -> None:
    message = task_error(submit(fake, {**BODY, "duration": 7}), 400, "unsupported_value")
    assert message == "duration 7 is not supported by kling-v2-5-turbo; allowed: 5, 10"


def test_the_middleware_refuses_the_key_the_body_and_the_model_in_the_openai_shape(fake: Fake) -> None:
    no_key = requests.post(f"{fake.url}/v1/video/generations", json=BODY, headers=HEADER, timeout=10)
    gateway_error(no_key, 401, "missing_api_key")
    not_json = call(fake, "POST", "/v1/video/generations", data=b'{"model": ', headers={"Content-Type": "application/json"})
    gateway_error(not_json, 400, "invalid_json")
    assert gateway_error(submit(fake, {**BODY, "model": "kling-v9"}), 400, "model_not_found")["param"] == "model"


# --- errors, limits, faults -------------------------------------------------------------------------------------

def test_an_unknown_task_is_a_400_task_not_exist(fake: Fake) -> None:
    assert task_error(poll(fake, "task_nope"), 400, "task_not_exist") == "task_not_exist"
    assert poll(fake, "task_nope", profile=None).status_code == 404
    assert task_error(poll(fake, submitted(fake), key="sk-another"), 400, "task_not_exist") == "task_not_exist"
    gateway_error(call(fake, "GET", "/v1/videos/task_nope"), 404, "task_not_found")   # the OpenAI dialect's route


def test_out_of_quota_is_a_403_insufficient_user_quota_in_the_openai_shape(fake: Fake) -> None:
    fake.backend.update_config({"limits": {"credits": 5}})
    submitted(fake)   # 5 s of kling at one credit a second
    error = gateway_error(submit(fake), 403, "insufficient_user_quota")
    assert "Insufficient quota" in error["message"] and error["param"] == ""   # Go's string: never null


def test_the_gateways_limits_and_injected_failures_are_in_the_openai_shape(fake: Fake) -> None:
    fake.backend.update_config({"limits": {"max_in_flight": 1}})
    task_id = submitted(fake)
    too_many = submit(fake)
    assert gateway_error(too_many, 429, "concurrency_limit_exceeded")["param"] == "" and too_many.headers["Retry-After"]
    for status, code in ((503, "service_unavailable"), (502, "bad_gateway"), (500, "internal_error")):
        gateway_error(submit(fake, headers={"X-Videomock-Fault": f"status={status}"}), status, code)
        gateway_error(poll(fake, task_id, headers={"X-Videomock-Fault": f"status={status}"}), status, code)


def test_faults_and_idempotency_work_as_in_the_documented_profile(fake: Fake) -> None:
    limited = submit(fake, headers={"X-Videomock-Fault": "status=429; retry-after=3"})
    gateway_error(limited, 429, "rate_limit_exceeded")
    assert limited.headers["Retry-After"] == "3"
    first = submitted(fake, headers={"Idempotency-Key": "k1"})
    assert submitted(fake, headers={"Idempotency-Key": "k1"}) == first and len(fake.backend.store.tasks()) == 1
    journal = requests.get(f"{fake.url}/__admin/requests?path=/v1/video/generations*", timeout=10).json()["requests"]
    assert [entry["status"] for entry in journal] == [429, 200, 200]
    assert journal[-1]["response_body"]["task_id"] == first and journal[0]["fault"] is not None


# --- the thin client -----------------------------------------------------------------------------------------

@pytest.fixture
def new_api_client(fake: Fake) -> Iterator[tuple[VideoClient, VirtualTime]]:
    session = requests.Session()
    session.headers.update(HEADER)
    time = VirtualTime(fake.backend)
    with VideoClient(fake.url, fake.key, session=session, retry=time.policy(), clock=time.clock) as client:
        yield client, time
    session.close()


def test_the_client_runs_a_whole_generation_against_the_profile_without_a_violation(
        new_api_client: tuple[VideoClient, VirtualTime], tmp_path: Path) -> None:
    client, _ = new_api_client
    seen: list[tuple[str, str, int | None]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContractWarning)
        done = client.generate(model="kling-v2-5-turbo", prompt="through new-api", out=tmp_path / "v.mp4",
                               on_progress=lambda task: seen.append((task.dialect, task.status, task.progress)))
    assert seen[0] == ("openai-video", "queued", 0) and seen[-1] == ("new-api", "completed", 100)
    assert {dialect for dialect, _, _ in seen[1:]} == {"new-api"} and ("new-api", "in_progress", 30) in seen
    assert done.violations == () and done.raw["data"]["status"] == "SUCCESS" and done.url == done.raw["data"]["result_url"]
    assert (tmp_path / "v.mp4").read_bytes()[4:8] == b"ftyp"


def test_the_client_hears_of_new_apis_unknown_task_with_only_the_dialect_notice(
        new_api_client: tuple[VideoClient, VirtualTime]) -> None:
    client, _ = new_api_client
    with pytest.warns(ContractWarning, match="new-api dialect"), pytest.raises(NotFound) as caught:
        client.get("task_nope")
    assert (caught.value.status, caught.value.code) == (400, "task_not_exist")
    assert list(caught.value.violations) == [dialect_violation("new-api")]


# --- the real gateway's recordings ------------------------------------------------------------------------------

#: A way to bring the fake into one recorded situation: its answer there.
Situation = Callable[[Fake], requests.Response]


def _submit_answer(fake: Fake) -> requests.Response:
    return submit(fake)


def _polled_after(seconds: float, **kwargs: Any) -> Situation:
    """A poll of a fresh task ``seconds`` of virtual time after its submit."""
    def situation(fake: Fake) -> requests.Response:
        task_id = submitted(fake, **kwargs)
        fake.backend.advance(seconds)
        return poll(fake, task_id)
    return situation


def _unknown_task(fake: Fake) -> requests.Response:
    return poll(fake, "task_nope")


def _out_of_quota(fake: Fake) -> requests.Response:
    fake.backend.update_config({"limits": {"credits": 5}})
    submitted(fake)   # 5 s of kling at one credit a second: nothing is left
    return submit(fake)


#: What differs from one task to the next: its id and its times.
_TASK_VARIES = frozenset({"/data/task_id", "/data/submit_time", "/data/start_time", "/data/finish_time"})

#: Each recording of the real gateway (tests/data/recordings/new_api_*.json): how to bring the fake there,
#: and where its answer's values may differ from the recording's (everywhere else they must be the same).
SITUATIONS: dict[str, tuple[Situation, frozenset[str]]] = {
    "new_api_submit.json": (_submit_answer, frozenset({"/id", "/task_id", "/created_at"})),
    # The profile's queued task is SUBMITTED at new-api's stepped 10%, its running one at 30% (Kling's
    # adaptor reports no progress): the recordings caught a NOT_START task and one at 50%.
    "new_api_task_not_start.json": (_polled_after(0), _TASK_VARIES | {"/data/status", "/data/progress"}),
    "new_api_task_in_progress.json": (_polled_after(10), _TASK_VARIES | {"/data/progress"}),
    "new_api_task_success.json": (_polled_after(3600), _TASK_VARIES | {"/data/result_url"}),
    "new_api_task_failure.json": (_polled_after(3600, headers={"X-Videomock-Fault": "fail=content_policy@30"}),
                                  _TASK_VARIES | {"/data/fail_reason"}),
    "new_api_task_not_exist.json": (_unknown_task, frozenset()),
    "new_api_quota.json": (_out_of_quota, frozenset({"/error/message"})),
}


def json_shape(value: Any) -> Any:
    """A JSON value with every scalar replaced by its JSON type: objects keep their keys, arrays their items."""
    if isinstance(value, dict):
        return {key: json_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_shape(item) for item in value]
    if value is None or isinstance(value, bool):
        return "null" if value is None else "boolean"
    return {int: "integer", float: "number", str: "string"}[type(value)]


def json_leaves(value: Any, pointer: str = "") -> dict[str, Any]:
    """Every scalar of a JSON value, by its JSON pointer."""
    if isinstance(value, dict):
        return {p: v for key, item in value.items() for p, v in json_leaves(item, f"{pointer}/{key}").items()}
    if isinstance(value, list):
        return {p: v for i, item in enumerate(value) for p, v in json_leaves(item, f"{pointer}/{i}").items()}
    return {pointer: value}


def test_every_recording_of_the_real_gateway_has_a_situation() -> None:
    assert {path.name for path in RECORDINGS.glob("new_api_*.json")} == set(SITUATIONS)


@pytest.mark.parametrize("name", sorted(SITUATIONS))
def test_the_fake_answers_as_the_real_gateway_was_recorded(fake: Fake, name: str) -> None:
    """The same status, the same keys at every level and the same JSON type for each value as the recording;
    the same values too, but for ids, times, links and messages (and the profile's stepped progress)."""
    recording = load_recording(name)
    situation, varies = SITUATIONS[name]
    answer = situation(fake)
    assert answer.status_code == recording["status"], answer.text
    assert json_shape(answer.json()) == json_shape(recording["response"]), answer.text
    same = {p: v for p, v in json_leaves(recording["response"]).items() if p not in varies}
    assert {p: v for p, v in json_leaves(answer.json()).items() if p in same} == same
