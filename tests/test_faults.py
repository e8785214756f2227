"""Faults under the test's control, each observed by a real HTTP client over a real socket."""

from __future__ import annotations

import http.client
import time
from typing import Any

import pytest
import requests

from tests.conftest import Fake
from tests.test_server import CATALOG, assert_error
from videomock.config import ConfigError, check_config
from videomock.contracts import validate_response

BODY = {"model": "kling-v2-5-turbo", "prompt": "a red fox in the snow"}


def rule(action: dict[str, Any], **match: Any) -> dict[str, Any]:
    return {"action": action, **match}


def set_faults(fake: Fake, *rules: dict[str, Any]) -> None:
    fake.backend.update_config({"faults": list(rules)})


def submit_id(fake: Fake, body: dict[str, Any] = BODY, **headers: str) -> str:
    response = fake.session().post(f"{fake.url}/v1/video/generations", json=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


def complete(fake: Fake, body: dict[str, Any] = BODY) -> str:
    task_id = submit_id(fake, body)
    fake.backend.advance(3600)
    assert fake.poll(task_id).json()["status"] == "completed"
    return task_id


# --- HTTP errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, error_type, code", [
    (400, "invalid_request_error", "content_policy_violation"),
    (401, "authentication_error", "invalid_api_key"),
    (403, "permission_error", "insufficient_user_quota"),
    (404, "not_found_error", "not_found"),
    (429, "rate_limit_error", "rate_limit_exceeded"),
    (500, "server_error", "internal_error"),
    (502, "server_error", "bad_gateway"),
    (503, "server_error", "service_unavailable"),
    (504, "server_error", "gateway_timeout"),
])
def test_http_error_faults_use_the_documented_shape(fake: Fake, status: int, error_type: str, code: str) -> None:
    set_faults(fake, rule({"type": "http_error", "status": status}, endpoint="submit"))
    error = assert_error(fake.submit(BODY), status, code=code)
    assert error["type"] == error_type
    assert fake.backend.store.tasks() == []


def test_429_carries_retry_after_and_fires_for_the_next_n_only(fake: Fake) -> None:
    set_faults(fake, rule({"type": "http_error", "status": 429, "retry_after": 7}, endpoint="submit", times=2))
    for _ in range(2):
        response = fake.submit(BODY)
        assert_error(response, 429)
        assert response.headers["Retry-After"] == "7"
    assert fake.submit(BODY).status_code == 200


def test_every_nth_and_after(fake: Fake) -> None:
    set_faults(fake, rule({"type": "http_error", "status": 503}, endpoint="poll", every=3, after=1))
    task_id = submit_id(fake)
    statuses = [fake.poll(task_id).status_code for _ in range(8)]
    assert statuses == [200, 200, 200, 503, 200, 200, 503, 200]


def test_rules_match_on_model_key_and_prompt(fake: Fake) -> None:
    set_faults(fake,
               rule({"type": "http_error", "status": 500}, model="veo_3_1"),
               rule({"type": "http_error", "status": 502}, key="sk-mallory"),
               rule({"type": "http_error", "status": 400}, prompt_contains="forbidden"))
    assert fake.submit({"model": "veo_3_1", "prompt": "x"}).status_code == 500
    assert fake.submit(BODY, key="sk-mallory").status_code == 502
    assert fake.submit(BODY | {"prompt": "a forbidden scene"}).status_code == 400
    assert fake.submit(BODY).status_code == 200


def test_a_content_policy_rejection_names_the_prompt(fake: Fake) -> None:
    set_faults(fake, rule({"type": "http_error", "status": 400}, prompt_contains="gore"))
    assert assert_error(fake.submit(BODY | {"prompt": "gore"}), 400)["param"] == "prompt"


# --- task outcomes -------------------------------------------------------------------------------------------

def test_a_job_fails_at_sixty_percent_with_the_reason(fake: Fake) -> None:
    set_faults(fake, rule({"type": "fail_task", "reason": "content_policy", "at_progress": 60}))
    task_id = submit_id(fake)
    spec = fake.backend.catalog[BODY["model"]]
    fake.backend.advance(spec.queue_seconds + spec.render_seconds * 0.55)
    running = fake.poll(task_id).json()
    assert running["status"] == "in_progress" and 50 <= running["progress"] < 60
    fake.backend.advance(spec.render_seconds * 0.1)
    failed = fake.poll(task_id).json()
    assert validate_response("task", failed) == []
    assert (failed["status"], failed["progress"], failed["url"]) == ("failed", 60, None)
    assert failed["error"]["code"] == 1301 and "safety" in failed["error"]["message"]
    assert failed["completed_at"] is not None


@pytest.mark.parametrize("reason, code", [("upstream_error", 5000), ("timeout", 5004)])
def test_other_failure_reasons(fake: Fake, reason: str, code: int) -> None:
    task_id = submit_id(fake, **{"X-Videomock-Fault": f"fail={reason}"})
    fake.backend.advance(3600)
    assert fake.poll(task_id).json()["error"]["code"] == code


def test_a_stuck_job_stays_queued(fake: Fake) -> None:
    set_faults(fake, rule({"type": "stuck"}, times=1))
    stuck, normal = submit_id(fake), submit_id(fake)
    fake.backend.advance(86_400)
    assert (fake.poll(stuck).json()["status"], fake.poll(stuck).json()["progress"]) == ("queued", 0)
    assert fake.poll(normal).json()["status"] == "completed"


def test_a_stalled_job_stops_at_its_progress(fake: Fake) -> None:
    task_id = submit_id(fake, **{"X-Videomock-Fault": "stall=40"})
    fake.backend.advance(86_400)
    task = fake.poll(task_id).json()
    assert (task["status"], task["progress"]) == ("in_progress", 40)


def test_a_slow_job_takes_longer(fake: Fake) -> None:
    slow, normal = submit_id(fake, **{"X-Videomock-Fault": "slow=4"}), submit_id(fake)
    spec = fake.backend.catalog[BODY["model"]]
    fake.backend.advance(spec.queue_seconds + spec.render_seconds)
    assert fake.poll(normal).json()["status"] == "completed"
    quarter_time = fake.poll(slow).json()
    assert quarter_time["status"] == "in_progress" and quarter_time["progress"] < 25
    fake.backend.advance((spec.queue_seconds + spec.render_seconds) * 3)
    assert fake.poll(slow).json()["status"] == "completed"


def test_a_ten_minute_job_in_instant_mode_waits_for_the_clock(fake: Fake) -> None:
    fake.backend.update_config({"clock": {"mode": "instant"}})
    quick = submit_id(fake)
    long = submit_id(fake, **{"X-Videomock-Fault": "duration=600; queue=60"})
    assert fake.poll(quick).json()["status"] == "completed"
    assert fake.poll(long).json()["status"] == "queued"
    fake.backend.advance(330)
    assert fake.poll(long).json()["progress"] == 50
    fake.backend.advance(270)
    assert fake.poll(long).json()["status"] == "completed"


# --- transport faults --------------------------------------------------------------------------------------------

def test_connection_reset(fake: Fake) -> None:
    set_faults(fake, rule({"type": "reset"}, endpoint="poll"))
    task_id = submit_id(fake)
    with pytest.raises(requests.ConnectionError) as caught:
        fake.poll(task_id)
    assert isinstance(caught.value.args[0].args[1], ConnectionResetError)


def test_empty_response(fake: Fake) -> None:
    set_faults(fake, rule({"type": "empty"}, endpoint="poll"))
    task_id = submit_id(fake)
    with pytest.raises(requests.ConnectionError) as caught:
        fake.poll(task_id)
    assert isinstance(caught.value.args[0].args[1], http.client.RemoteDisconnected)


def test_truncated_json(fake: Fake) -> None:
    set_faults(fake, rule({"type": "truncated_json", "fraction": 0.3}, endpoint="poll"))
    task_id = submit_id(fake)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        fake.poll(task_id)


def test_malformed_json(fake: Fake) -> None:
    set_faults(fake, rule({"type": "malformed_json"}, endpoint="poll"))
    task_id = submit_id(fake)
    response = fake.poll(task_id)
    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_a_submit_whose_answer_is_lost_still_created_the_task(fake: Fake) -> None:
    with pytest.raises(requests.ConnectionError):
        fake.session().post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10, headers={"X-Videomock-Fault": "reset"})
    assert len(fake.backend.store.tasks()) == 1


def test_dribble_is_seen_as_a_read_timeout(fake: Fake) -> None:
    task_id = submit_id(fake)
    with pytest.raises(requests.exceptions.ConnectionError, match="Read timed out"):
        # requests raises ConnectionError(ReadTimeoutError) when the timeout hits while the body streams
        fake.session().get(f"{fake.url}/v1/video/generations/{task_id}", timeout=(5, 0.2),
                           headers={"X-Videomock-Fault": "dribble=4/0.5"})


def test_fixed_delay(fake: Fake) -> None:
    task_id = submit_id(fake)
    with pytest.raises(requests.exceptions.ReadTimeout):
        fake.session().get(f"{fake.url}/v1/video/generations/{task_id}", timeout=(5, 0.1),
                           headers={"X-Videomock-Fault": "delay=0.6"})
    started = time.perf_counter()
    ok = fake.session().get(f"{fake.url}/v1/video/generations/{task_id}", timeout=5, headers={"X-Videomock-Fault": "delay=0.2"})
    assert ok.status_code == 200 and time.perf_counter() - started >= 0.2


@pytest.mark.parametrize("distribution", [
    {"distribution": "uniform", "min": 0.05, "max": 0.1},
    {"distribution": "lognormal", "median": 0.05, "sigma": 0.3},
])
def test_random_delays_are_seeded(fake: Fake, distribution: dict[str, Any]) -> None:
    set_faults(fake, rule({"type": "delay", **distribution}, endpoint="poll"))
    task_id = submit_id(fake)
    fake.poll(task_id)
    fake.poll(task_id)
    applied = [e["fault"][0] for e in fake.backend.store.journal() if e["fault"]]
    assert [f["match"] for f in applied] == [1, 2]
    from videomock.core.faults.actions import parse_action
    delays = [parse_action(f).sample(fake.backend.seed, f["rule"], f["match"]) for f in applied]
    assert delays[0] != delays[1] and all(0 < d < 1 for d in delays)


def test_truncated_download_then_resume_with_range(fake: Fake) -> None:
    task_id = complete(fake)
    url = fake.poll(task_id).json()["url"]
    full = fake.session().get(url, timeout=10).content
    set_faults(fake, rule({"type": "truncated_download", "fraction": 0.4}, times=1))
    received = b""
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with fake.session().get(url, timeout=10, stream=True) as response:
            for chunk in response.iter_content(4096):
                received += chunk
    assert 0 < len(received) < len(full)
    rest = fake.session().get(url, headers={"Range": f"bytes={len(received)}-"}, timeout=10)
    assert rest.status_code == 206
    assert received + rest.content == full


# --- download-path faults -----------------------------------------------------------------------------------------

def test_url_expires_after_its_ttl(fake: Fake) -> None:
    task_id = complete(fake)
    set_faults(fake, rule({"type": "expire_url", "ttl": 60}))
    url = fake.poll(task_id).json()["url"]
    assert "expires=" in url and "signature=" in url
    assert fake.session().get(url, timeout=10).status_code == 200
    fake.backend.advance(61)
    assert_error(fake.session().get(url, timeout=10), 403, code="url_expired")
    assert fake.session().get(fake.poll(task_id).json()["url"], timeout=10).status_code == 200


def test_tampered_link_is_refused(fake: Fake) -> None:
    task_id = complete(fake)
    url = fake.poll(task_id, ).json()["url"] + "?expires=9999999999&signature=forged"
    assert_error(fake.session().get(url, timeout=10), 403, code="invalid_signature")


def test_redirect_to_a_cdn_link(fake: Fake) -> None:
    task_id = complete(fake)
    url = fake.poll(task_id).json()["url"]
    set_faults(fake, rule({"type": "redirect", "status": 307}, endpoint="download"))
    hop = fake.session().get(url, timeout=10, allow_redirects=False)
    assert hop.status_code == 307 and "/cdn/videos/" in hop.headers["Location"]
    video = requests.get(hop.headers["Location"], timeout=10)  # no API key: the signature is the credential
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert fake.session().get(url, timeout=10).content == video.content
    assert_error(requests.get(f"{fake.url}/cdn/videos/{task_id}.mp4", timeout=10), 403)


# --- the per-request header -----------------------------------------------------------------------------------------

def test_header_forces_a_429_on_one_submit(fake: Fake) -> None:
    response = fake.session().post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10,
                                   headers={"X-Videomock-Fault": "status=429; retry-after=3"})
    assert_error(response, 429)
    assert response.headers["Retry-After"] == "3"
    assert fake.submit(BODY).status_code == 200


@pytest.mark.parametrize("header", ["fail=meteor", "status=418", "stall", "bogus", "delay=abc", "fail=timeout; fail=timeout", "duration=-5"])
def test_bad_header_is_a_400_naming_it(fake: Fake, header: str) -> None:
    response = fake.session().post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10, headers={"X-Videomock-Fault": header})
    error = assert_error(response, 400, param="X-Videomock-Fault", code="invalid_fault_header")
    assert "Grammar" in error["message"]


def test_job_directives_are_refused_on_a_poll(fake: Fake) -> None:
    task_id = submit_id(fake)
    response = fake.session().get(f"{fake.url}/v1/video/generations/{task_id}", headers={"X-Videomock-Fault": "fail=timeout"}, timeout=10)
    assert "submit" in assert_error(response, 400, param="X-Videomock-Fault")["message"]


# --- the cap on fault-induced waits -------------------------------------------------------------------------------

def set_cap(fake: Fake, seconds: float) -> None:
    fake.backend.update_config({"limits": {"max_delay_seconds": seconds}})


@pytest.mark.parametrize("directive", ["delay=61", "delay=1-61", "delay=1e308", "delay=100-200"])
def test_a_delay_directive_above_the_cap_is_a_400_naming_the_header_and_the_cap(fake: Fake, directive: str) -> None:
    response = fake.session().post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10,
                                   headers={"X-Videomock-Fault": directive})
    message = assert_error(response, 400, param="X-Videomock-Fault", code="invalid_fault_header")["message"]
    assert "at most 60 s" in message and "limits.max_delay_seconds" in message


def test_the_cap_is_a_setting(fake: Fake) -> None:
    set_cap(fake, 0.1)
    task_id = submit_id(fake)
    refused = fake.session().get(f"{fake.url}/v1/video/generations/{task_id}", timeout=10,
                                 headers={"X-Videomock-Fault": "delay=0.2"})
    assert "at most 0.1 s" in assert_error(refused, 400, param="X-Videomock-Fault")["message"]
    ok = fake.session().get(f"{fake.url}/v1/video/generations/{task_id}", timeout=10, headers={"X-Videomock-Fault": "delay=0.05"})
    assert ok.status_code == 200


def test_a_fixed_delay_rule_above_the_cap_is_a_config_error_at_start_and_at_runtime(fake: Fake) -> None:
    too_long = rule({"type": "delay", "seconds": 61}, endpoint="models")
    with pytest.raises(ConfigError, match="max_delay_seconds") as refused:
        check_config({"faults": [too_long]})
    assert refused.value.param == "faults.0.action.seconds"
    admin = f"{fake.url}/__admin/config"
    config = requests.get(admin, timeout=10).json()
    for response in (requests.put(admin, json={**config, "faults": [too_long]}, timeout=10),
                     requests.patch(admin, json={"faults": [too_long]}, timeout=10),
                     requests.post(f"{fake.url}/__admin/faults", json=too_long, timeout=10)):
        assert "at most 60 s" in assert_error(response, 400, param="faults.0.action.seconds", code="invalid_config")["message"]
    set_faults(fake, rule({"type": "delay", "seconds": 1}, endpoint="models"))
    lowered = requests.patch(admin, json={"limits": {"max_delay_seconds": 0.5}}, timeout=10)
    assert_error(lowered, 400, param="faults.0.action.seconds")
    raised = requests.patch(admin, json={"limits": {"max_delay_seconds": 120}, "faults": [too_long]}, timeout=10)
    assert raised.status_code == 200, raised.text


def test_sampled_delays_their_sum_and_dribble_intervals_are_cut_to_the_cap(fake: Fake) -> None:
    set_cap(fake, 0.05)
    set_faults(fake, rule({"type": "delay", "distribution": "lognormal", "median": 3600, "sigma": 0.1}, endpoint="poll"),
               rule({"type": "delay", "distribution": "uniform", "min": 3600, "max": 7200}, endpoint="poll"),
               rule({"type": "dribble", "bytes_per_chunk": 100, "interval": 3600}, endpoint="poll"))
    task_id = submit_id(fake)
    started = time.perf_counter()
    response = fake.session().get(f"{fake.url}/v1/video/generations/{task_id}", timeout=5,
                                  headers={"X-Videomock-Fault": "delay=0.05"})
    assert response.status_code == 200 and validate_response("task", response.json()) == []
    assert time.perf_counter() - started < 4


@pytest.mark.parametrize(("directive", "bound"), [
    ("slow=1e308", "factor 1e+308 is out of range; allowed: 0..1000"),
    ("duration=1e308", "seconds 1e+308 is out of range; allowed: 0..31536000"),
    ("duration=10; queue=1e308", "queue_seconds 1e+308 is out of range; allowed: 0..31536000"),
])
def test_job_directives_beyond_their_bound_are_a_400_naming_it(fake: Fake, directive: str, bound: str) -> None:
    response = fake.session().post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10,
                                   headers={"X-Videomock-Fault": directive})
    assert bound in assert_error(response, 400, param="X-Videomock-Fault")["message"]


def test_slow_factors_multiply_up_to_the_largest_one_allowed(fake: Fake) -> None:
    set_faults(fake, rule({"type": "slow", "factor": 1000}, endpoint="submit"))
    task_id = submit_id(fake, **{"X-Videomock-Fault": "slow=1000"})
    task = next(t for t in requests.get(f"{fake.url}/__admin/tasks", timeout=10).json()["tasks"] if t["task_id"] == task_id)
    spec = CATALOG[BODY["model"]]
    assert (task["queue_seconds"], task["render_seconds"]) == (spec.queue_seconds * 1000, spec.render_seconds * 1000)


# --- quota and concurrency -----------------------------------------------------------------------------------------

def test_too_many_tasks_in_flight_is_429(fake: Fake) -> None:
    fake.backend.update_config({"limits": {"max_in_flight": 2, "retry_after": 4}})
    submit_id(fake), submit_id(fake)
    response = fake.submit(BODY)
    assert_error(response, 429, code="concurrency_limit_exceeded")
    assert response.headers["Retry-After"] == "4"
    assert fake.submit(BODY, key="sk-other").status_code == 200
    fake.backend.advance(3600)
    assert fake.submit(BODY).status_code == 200


def test_spent_credits_are_403(fake: Fake) -> None:
    spec = fake.backend.catalog[BODY["model"]]
    cost = spec.credits_per_second * spec.defaults["duration"]
    fake.backend.update_config({"limits": {"credits": cost * 2}})
    submit_id(fake), submit_id(fake)
    error = assert_error(fake.submit(BODY), 403, code="insufficient_user_quota")
    assert error["type"] == "permission_error"
    assert fake.submit(BODY, key="sk-rich").status_code == 200


# --- idempotency ---------------------------------------------------------------------------------------------------

def test_idempotency_key_makes_submit_safe_to_retry(fake: Fake) -> None:
    first = submit_id(fake, **{"Idempotency-Key": "abc"})
    assert submit_id(fake, **{"Idempotency-Key": "abc"}) == first
    assert len(fake.backend.store.tasks()) == 1
    response = fake.session().post(f"{fake.url}/v1/video/generations", json=BODY | {"prompt": "other"}, timeout=10,
                                   headers={"Idempotency-Key": "abc"})
    assert_error(response, 400, param="Idempotency-Key", code="idempotency_key_reused")
    assert submit_id(fake, **{"Idempotency-Key": "def"}) != first


def test_simultaneous_submits_with_one_idempotency_key_make_one_task(fake: Fake) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: submit_id(fake, **{"Idempotency-Key": "same-order"}), range(16)))
    assert len(set(ids)) == 1 and len(fake.backend.store.tasks()) == 1


def test_a_refused_idempotent_submit_can_be_retried_with_the_same_key(fake: Fake) -> None:
    spec = fake.backend.catalog[BODY["model"]]
    fake.backend.update_config({"limits": {"credits": spec.credits_per_second * spec.defaults["duration"] / 2}})
    refused = fake.session().post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10, headers={"Idempotency-Key": "k1"})
    assert_error(refused, 403)
    fake.backend.update_config({"limits": {"credits": None}})
    assert submit_id(fake, **{"Idempotency-Key": "k1"}) == fake.backend.store.tasks()[0].id


# --- determinism ---------------------------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_outcomes(fake: Fake) -> None:
    def run(seed: int) -> list[Any]:
        fake.backend.configure({"seed": seed, "clock": {"mode": "manual", "jitter": 0.5}, "faults": [
            rule({"type": "http_error", "status": 503}, endpoint="submit", probability=0.3),
            rule({"type": "fail_task", "reason": "timeout", "at_progress": 30}, probability=0.3),
        ]})
        fake.backend.reset()
        outcomes = []
        for i in range(30):
            response = fake.submit(BODY | {"prompt": f"clip {i}"})
            outcomes.append(response.status_code)
            if response.status_code == 200:
                task_id = response.json()["task_id"]
                outcomes.append(task_id)
        fake.backend.advance(3600)
        for task in fake.backend.store.tasks():
            outcomes.append((task.id, task.queue_seconds, task.render_seconds, task.params["seed"], fake.poll(task.id).json()["status"]))
        return outcomes

    first, second, other = run(11), run(11), run(12)
    assert first == second
    assert first != other
    assert 503 in first and any(o[-1] == "failed" for o in first if isinstance(o, tuple))


# --- the admin API ---------------------------------------------------------------------------------------------------

def test_admin_config_round_trip_and_validation(fake: Fake) -> None:
    admin = f"{fake.url}/__admin"
    config = requests.get(f"{admin}/config", timeout=10).json()
    config["faults"] = [rule({"type": "http_error", "status": 502}, endpoint="submit", id="upstream-down")]
    assert requests.put(f"{admin}/config", json=config, timeout=10).status_code == 200
    assert fake.submit(BODY).status_code == 502
    bad = requests.patch(f"{admin}/config", json={"clock": {"speed": -1}}, timeout=10)
    assert assert_error(bad, 400, param="clock.speed")
    startup = requests.patch(f"{admin}/config", json={"server": {"port": 1}}, timeout=10)
    assert "restart" in assert_error(startup, 400)["message"]


def test_admin_reset_clears_tasks_journal_counters_and_clock(fake: Fake) -> None:
    set_faults(fake, rule({"type": "http_error", "status": 500}, times=1, endpoint="submit"))
    assert fake.submit(BODY).status_code == 500
    task_id = submit_id(fake)
    before = requests.get(f"{fake.url}/__admin/clock", timeout=10).json()["now"]
    requests.post(f"{fake.url}/__admin/clock/advance", json={"seconds": 1000}, timeout=10)
    assert requests.post(f"{fake.url}/__admin/reset", timeout=10).json() == {"status": "reset"}
    assert requests.get(f"{fake.url}/__admin/tasks", timeout=10).json() == {"tasks": []}
    assert requests.get(f"{fake.url}/__admin/requests", timeout=10).json() == {"requests": []}
    assert requests.get(f"{fake.url}/__admin/clock", timeout=10).json()["now"] < before + 1000
    assert fake.submit(BODY).status_code == 500  # the rule's counter started again
    assert_error(fake.poll(task_id), 404)


def test_admin_clock_advance(fake: Fake) -> None:
    task_id = submit_id(fake)
    response = requests.post(f"{fake.url}/__admin/clock/advance", json={"seconds": 3600}, timeout=10)
    assert response.status_code == 200
    assert fake.poll(task_id).json()["status"] == "completed"
    for bad in ({"seconds": -1}, {"seconds": "10"}, {}, {"seconds": True}):
        assert_error(requests.post(f"{fake.url}/__admin/clock/advance", json=bad, timeout=10), 400, param="seconds")


def test_admin_journal_filters_and_hides_keys(fake: Fake) -> None:
    set_faults(fake, rule({"type": "http_error", "status": 429}, endpoint="submit", times=1, id="burst"))
    fake.submit(BODY)
    task_id = submit_id(fake)
    fake.poll(task_id, key="sk-other")
    journal = f"{fake.url}/__admin/requests"
    everything = requests.get(journal, timeout=10).json()["requests"]
    assert [(e["method"], e["status"]) for e in everything] == [("POST", 429), ("POST", 200), ("GET", 404)]
    assert "sk-test" not in str(everything) and everything[0]["key"].startswith("key_")
    assert everything[0]["fault"] == [{"rule": "burst", "match": 1, "type": "http_error", "status": 429}]
    assert everything[1]["request_body"] == BODY and everything[1]["response_body"]["task_id"] == task_id
    assert len(requests.get(journal, params={"status": 429}, timeout=10).json()["requests"]) == 1
    assert len(requests.get(journal, params={"fault": "burst"}, timeout=10).json()["requests"]) == 1
    assert len(requests.get(journal, params={"key": "sk-other"}, timeout=10).json()["requests"]) == 1
    assert len(requests.get(journal, params={"method": "post", "path": "/v1/video/*"}, timeout=10).json()["requests"]) == 2
    assert len(requests.get(journal, params={"task_id": task_id}, timeout=10).json()["requests"]) == 2


def test_admin_tasks_shows_state_and_plan(fake: Fake) -> None:
    submit_id(fake, **{"X-Videomock-Fault": "fail=timeout@30"})
    tasks = requests.get(f"{fake.url}/__admin/tasks", timeout=10).json()["tasks"]
    assert tasks[0]["status"] == "queued" and tasks[0]["plan"]["outcome"] == "fail"


def test_admin_token_keeps_provider_keys_out(live_fake: Fake) -> None:
    backend = live_fake.backend
    backend.update_config({"auth": {"admin_token": "s3cret"}})
    try:
        assert_error(requests.get(f"{live_fake.url}/__admin/config", timeout=10), 401)
        assert_error(requests.get(f"{live_fake.url}/__admin/config", headers={"Authorization": "Bearer sk-test"}, timeout=10), 401)
        assert requests.get(f"{live_fake.url}/__admin/config", headers={"Authorization": "Bearer s3cret"}, timeout=10).status_code == 200
        assert requests.get(f"{live_fake.url}/__admin/tasks", headers={"X-Videomock-Admin-Token": "s3cret"}, timeout=10).status_code == 200
    finally:
        backend.update_config({"auth": {"admin_token": None}})
