"""Webhook deliveries seen by a real receiver: each delivery fault, Veo's webhookConfig, the endpoints and the
sink of the admin API, where deliveries may go, and what is never shown of a signing secret.

The receiver is the ``videomock_webhooks`` fixture on the live fake (``videomock_server``): a real HTTP server
on a loopback port, getting what the fake sends over real sockets. Its waits move the fake's clock; none sleeps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import jwt
import pytest
import requests

import videomock
from videomock.core.faults.header import HEADER
from videomock.pytest_plugin.provider import FakeProvider
from videomock.pytest_plugin.webhooks import Recorder, WebhookReceiver, serving

VEO = {"model": "veo_3_1", "prompt": "a lighthouse at night"}


def submit(fake: FakeProvider, body: dict[str, Any] | None = None, fault: str | None = None) -> str:
    answer = requests.post(f"{fake.url}/v1/video/generations", json=body or VEO, timeout=30,
                           headers={**fake.headers, **({HEADER: fault} if fault else {})})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["task_id"])


def poll(fake: FakeProvider, task_id: str) -> str:
    return str(requests.get(f"{fake.url}/v1/video/generations/{task_id}", headers=fake.headers, timeout=30).json()["status"])


def kling(callback_url: str) -> dict[str, Any]:
    return {"model": "kling-v2-5-turbo", "prompt": "a paper boat", "metadata": {"callback_url": callback_url}}


# --- each delivery fault, observed by the receiver -----------------------------------------------------------

def test_a_duplicate_arrives_twice_with_the_same_webhook_id_and_body(videomock_server: FakeProvider,
                                                                      videomock_webhooks: WebhookReceiver) -> None:
    task_id = submit(videomock_server, fault="webhook-duplicate")
    videomock_webhooks.wait_for("video.completed", task_id=task_id)

    first, second = videomock_webhooks.received("video.completed", task_id=task_id)
    assert first.webhook_id == second.webhook_id and first.body == second.body
    assert first.verified and second.verified
    assert videomock_server.requests_where(endpoint="submit", fault="webhook_duplicate")


@pytest.mark.videomock(clock="manual")
def test_a_delayed_event_arrives_that_many_virtual_seconds_after_the_task_finished(
        videomock_server: FakeProvider, videomock_webhooks: WebhookReceiver) -> None:
    task_id = submit(videomock_server, fault="duration=10; webhook-delay=30")
    videomock_server.advance(10)
    assert poll(videomock_server, task_id) == "completed"
    assert not videomock_webhooks.received(task_id=task_id)

    start = videomock_server.now
    videomock_webhooks.wait_for("video.completed", task_id=task_id)   # moves the clock to the delivery

    (record,) = videomock_server.deliveries(task_id=task_id)
    assert record["attempts"][0]["at"] - start == 30


def test_out_of_order_events_arrive_newest_first(videomock_server: FakeProvider, videomock_webhooks: WebhookReceiver) -> None:
    task_id = submit(videomock_server, kling(f"{videomock_webhooks.url}/kling"), fault="webhook-out-of-order")
    videomock_webhooks.wait_for("submitted", task_id=task_id)

    assert [d.event for d in videomock_webhooks.received(task_id=task_id) if d.path.endswith("/kling")] == [
        "succeed", "processing", "submitted"]


def test_a_dropped_event_never_arrives_and_its_record_says_so(videomock_server: FakeProvider,
                                                               videomock_webhooks: WebhookReceiver) -> None:
    dropped = submit(videomock_server, fault="webhook-drop")
    sent = submit(videomock_server)
    videomock_webhooks.wait_for("video.completed", task_id=sent)

    with pytest.raises(AssertionError, match=f"no video.completed delivery about {dropped}"):
        videomock_webhooks.wait_for("video.completed", task_id=dropped)
    (record,) = videomock_server.deliveries(task_id=dropped)
    assert (record["state"], record["attempts"]) == ("dropped", [])


@pytest.mark.videomock(clock="manual")
def test_a_bad_signature_is_caught_by_the_receiver_and_the_retry_is_signed_right(
        videomock_server: FakeProvider, videomock_webhooks: WebhookReceiver) -> None:
    videomock_webhooks.respond(400)   # what an app answers to a delivery that does not verify
    task_id = submit(videomock_server, fault="duration=0; webhook-bad-signature")

    with pytest.raises(AssertionError, match="does not verify: no webhook-signature entry matches"):
        videomock_webhooks.wait_for("video.completed", task_id=task_id, advance=False)
    videomock_server.advance(5)   # first_retry_seconds
    videomock_webhooks.wait_for("video.completed", task_id=task_id, advance=False)
    forged, retried = videomock_webhooks.received(task_id=task_id)
    assert (forged.verified, retried.verified) == (False, True)
    assert [a["status"] for a in videomock_server.deliveries(task_id=task_id)[0]["attempts"]] == [400, 200]


def test_a_stale_timestamp_is_outside_the_tolerance(videomock_server: FakeProvider, videomock_webhooks: WebhookReceiver) -> None:
    task_id = submit(videomock_server, fault="webhook-stale=900")
    delivery = videomock_webhooks.wait_for("video.completed", task_id=task_id, verify=False)

    assert delivery.verified is False
    assert "s off the receiver's clock (tolerance 300 s)" in (delivery.problem or "")


@pytest.mark.videomock(clock="manual")
def test_a_truncated_body_arrives_cut_short_and_the_retry_whole(videomock_server: FakeProvider,
                                                                 videomock_webhooks: WebhookReceiver) -> None:
    task_id = submit(videomock_server, fault="webhook-truncate=0.3")
    videomock_webhooks.wait_for("video.completed", task_id=task_id)   # the retry, 5 s later

    # The receiver's thread for the cut attempt may record it after the retry's: sorted, not in arrival order.
    cut, whole = sorted(videomock_webhooks.wait_until(2), key=lambda delivery: delivery.complete)
    assert (cut.complete, cut.json) == (False, None) and len(cut.body) == int(len(whole.body) * 0.3)
    assert whole.complete and whole.verified
    first, second = videomock_server.deliveries(task_id=task_id)[0]["attempts"]
    assert first["status"] is None and "then closed the connection" in first["error"] and second["status"] == 200


@pytest.mark.videomock(clock="manual")
def test_an_early_event_arrives_before_the_poll_shows_the_task_finished(
        videomock_server: FakeProvider, videomock_webhooks: WebhookReceiver) -> None:
    task_id = submit(videomock_server, fault="duration=10; webhook-early=20")
    videomock_server.advance(10)
    delivery = videomock_webhooks.wait_for("video.completed", task_id=task_id, advance=False)

    assert delivery.verified and poll(videomock_server, task_id) == "in_progress"
    videomock_server.advance(20)
    assert poll(videomock_server, task_id) == "completed"


def test_a_fault_rule_shapes_the_deliveries_of_the_jobs_it_matches(videomock_server: FakeProvider,
                                                                   videomock_webhooks: WebhookReceiver) -> None:
    videomock_server.add_fault(id="twice", endpoint="submit", model="veo_3_1", times=1,
                               action={"type": "webhook_duplicate", "events": ["completed"]})
    twice, once = submit(videomock_server), submit(videomock_server)
    videomock_webhooks.wait_for("video.completed", task_id=once)

    assert len(videomock_webhooks.received(task_id=twice)) == 2 and len(videomock_webhooks.received(task_id=once)) == 1
    assert videomock_server.faults[0]["fired"] == 1
    (entry,) = videomock_server.requests_where(fault="twice")
    assert entry["task_id"] == twice


# --- Veo's webhookConfig -------------------------------------------------------------------------------------

def test_a_gemini_operation_posts_video_generated_to_its_webhook_uris_with_its_user_metadata(
        videomock_server: FakeProvider, videomock_webhooks: WebhookReceiver) -> None:
    body = {"instances": [{"prompt": "a fox"}], "parameters": {"durationSeconds": 4},
            "webhookConfig": {"uris": [videomock_webhooks.url], "userMetadata": {"job": "42"}}}
    answer = requests.post(f"{videomock_server.url}/v1beta/models/veo-3.1-generate-preview:predictLongRunning",
                           json=body, headers={"x-goog-api-key": "k"}, timeout=30)
    name = answer.json()["name"]
    delivery = videomock_webhooks.wait_for("video.generated", task_id=name.rsplit("/", 1)[1])

    event = delivery.json
    assert delivery.verified and event["version"] == "v1" and event["timestamp"].endswith("Z")
    assert event["data"]["id"] == name and event["data"]["user_metadata"] == {"job": "42"}
    video = requests.get(event["data"]["video_uri"], headers={"x-goog-api-key": "k"}, timeout=30)
    assert video.content[4:8] == b"ftyp"


def test_a_veo_uri_that_is_a_configured_endpoints_url_is_signed_with_that_endpoints_secret(
        videomock_server: FakeProvider) -> None:
    """How a receiver in another process is given the secret it verifies a Veo delivery with."""
    secret = "whsec_" + base64.b64encode(b"the receiver app's own secret!!").decode()
    recorder = Recorder(secret)
    with serving(recorder) as base:
        videomock_server.configure(webhooks={"endpoints": [{"url": f"{base}/veo", "secret": secret}]})
        body = {"instances": [{"prompt": "a fox"}], "parameters": {"durationSeconds": 4},
                "webhookConfig": {"uris": [f"{base}/veo"]}}
        requests.post(f"{videomock_server.url}/v1beta/models/veo-3.1-generate-preview:predictLongRunning",
                      json=body, headers={"x-goog-api-key": "k"}, timeout=30).raise_for_status()
        videomock_server.deliveries()   # settles the deliveries due
        received = recorder.wait_until(1)

    assert [d.event for d in received] == ["video.generated"] * len(received)
    assert all(d.verified for d in received), [d.problem for d in received]


def test_the_default_signing_secret_is_the_stores_own_and_no_seed_gives_it_away() -> None:
    url = "http://127.0.0.1:3000/hooks/video"
    with videomock.fake(seed=7) as first, videomock.fake(seed=7) as second:
        secrets = {first.webhook_secret(url), second.webhook_secret(url)}
        assert first.webhook_secret(url) == first.webhook_secret(url)
    seed_derived = hmac.new(b"videomock-webhook-secret:7", url.encode(), hashlib.sha256).digest()  # what it once was
    assert len(secrets) == 2 and "whsec_" + base64.b64encode(seed_derived).decode() not in secrets


def test_a_bad_webhook_config_is_refused_naming_the_field(videomock_server: FakeProvider) -> None:
    body = {"instances": [{"prompt": "a fox"}], "webhookConfig": {"uris": []}}
    answer = requests.post(f"{videomock_server.url}/v1beta/models/veo-3.1-generate-preview:predictLongRunning",
                           json=body, headers={"x-goog-api-key": "k"}, timeout=30)
    assert answer.status_code == 400 and "webhookConfig.uris" in answer.text


# --- where deliveries may go ---------------------------------------------------------------------------------

def test_a_callback_to_a_host_that_is_not_allowed_is_never_called_and_its_record_says_why(
        videomock_server: FakeProvider, videomock_webhooks: WebhookReceiver) -> None:
    task_id = submit(videomock_server, kling("http://example.com/callback"))
    videomock_webhooks.wait_for("video.completed", task_id=task_id)

    callbacks = videomock_server.deliveries(task_id=task_id, endpoint="http://example.com/callback")
    assert [r["state"] for r in callbacks] == ["failed"] * 3
    assert all("host 'example.com' is not allowed" in r["attempts"][0]["error"] for r in callbacks)


def test_an_endpoint_the_allow_list_refuses_is_a_config_error(videomock_server: FakeProvider) -> None:
    answer = requests.post(f"{videomock_server.url}/__admin/webhooks/endpoints", json={"url": "http://10.1.2.3/hook"},
                           timeout=30)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "webhooks.endpoints.0.url"


@pytest.mark.parametrize("secret, words", [
    ("whsec_" + "A" * 17, "is not whsec_ followed by base64"),
    ("key_0123456789abcdef", "stands for no secret this server holds; give the whsec_ secret itself"),
])
def test_an_endpoint_secret_that_is_not_one_is_a_config_error_naming_it(videomock_server: FakeProvider, secret: str,
                                                                        words: str) -> None:
    answer = requests.post(f"{videomock_server.url}/__admin/webhooks/endpoints",
                           json={"url": f"{videomock_server.url}/__admin/webhook-sink/x", "secret": secret}, timeout=30)
    assert answer.status_code == 400 and words in answer.json()["error"]["message"]
    assert answer.json()["error"]["param"] == "webhooks.endpoints.0.secret"


# --- the admin API -------------------------------------------------------------------------------------------

def test_endpoints_registered_through_the_admin_api_sign_with_a_secret_no_route_shows(
        videomock_server: FakeProvider) -> None:
    secret = "whsec_" + base64.b64encode(b"a secret of this test's own!!").decode()
    admin = f"{videomock_server.url}/__admin"
    sink = f"{admin}/webhook-sink/registered"
    added = requests.post(f"{admin}/webhooks/endpoints", json={"name": "mine", "url": sink, "secret": secret}, timeout=30)
    task_id = submit(videomock_server)
    videomock_server.deliveries()   # settles the deliveries due

    (received,) = requests.get(sink, timeout=30).json()["received"]
    from videomock.core.webhooks.signing import verify

    assert verify(secret, received["headers"], received["body"].encode(), received["wall"]) is None
    assert received["json"]["data"]["id"] == task_id
    for answer in (added, requests.get(f"{admin}/webhooks/endpoints", timeout=30), requests.get(f"{admin}/config", timeout=30),
                   requests.get(f"{admin}/webhooks/deliveries", timeout=30)):
        assert secret not in answer.text and secret.removeprefix("whsec_") not in answer.text
    assert requests.get(f"{admin}/webhooks/endpoints", timeout=30).json()["endpoints"][0]["secret"].startswith("key_")

    config = requests.get(f"{admin}/config", timeout=30).json()
    assert requests.put(f"{admin}/config", json=config, timeout=30).status_code == 200   # sent back unchanged
    assert requests.delete(f"{admin}/webhooks/endpoints/mine", timeout=30).json() == {"endpoints": []}


def test_deliveries_are_listed_by_task_endpoint_and_state_and_one_is_redelivered(
        videomock_server: FakeProvider, videomock_webhooks: WebhookReceiver) -> None:
    admin = f"{videomock_server.url}/__admin/webhooks/deliveries"
    first, dropped = submit(videomock_server), submit(videomock_server, fault="webhook-drop")
    videomock_webhooks.wait_for("video.completed", task_id=first)

    assert [r["task_id"] for r in requests.get(admin, params={"state": "dropped"}, timeout=30).json()["deliveries"]] == [dropped]
    listed = requests.get(admin, params={"endpoint": "videomock_webhooks", "task_id": first}, timeout=30).json()["deliveries"]
    assert [(r["state"], r["type"], r["target"]["url"]) for r in listed] == [
        ("delivered", "video.completed", videomock_webhooks.url)]
    (record,) = requests.get(admin, params={"task_id": dropped}, timeout=30).json()["deliveries"]
    assert requests.post(f"{admin}/{record['id']}/redeliver", timeout=30).json()["state"] in ("pending", "sending", "delivered")
    assert videomock_webhooks.wait_for("video.completed", task_id=dropped).verified
    assert requests.get(f"{admin}/{record['id']}", timeout=30).json()["state"] == "delivered"
    assert requests.get(admin, params={"state": "lost"}, timeout=30).status_code == 400


def test_the_sink_takes_deliveries_without_the_admin_token_that_guards_reading_it(videomock_server: FakeProvider) -> None:
    videomock_server.configure(auth={"admin_token": "admin-secret"})
    sink = f"{videomock_server.url}/__admin/webhook-sink/guarded"
    videomock_server.configure(webhooks={"endpoints": [{"url": sink}]})
    task_id = submit(videomock_server)
    (record,) = videomock_server.deliveries(task_id=task_id)

    assert record["state"] == "delivered"
    assert requests.get(sink, timeout=30).status_code == 401
    (kept,) = requests.get(sink, headers={"X-Videomock-Admin-Token": "admin-secret"}, timeout=30).json()["received"]
    assert kept["json"]["data"]["id"] == task_id


def test_the_sink_keeps_what_it_is_sent_without_the_credentials(videomock_server: FakeProvider) -> None:
    sink = f"{videomock_server.url}/__admin/webhook-sink/smoke"
    requests.post(sink, data=b'{"hello": 1}', headers={"Authorization": "Bearer sk-secret", "X-Trace": "t1"}, timeout=30)
    (kept,) = requests.get(sink, timeout=30).json()["received"]

    assert kept["json"] == {"hello": 1} and kept["headers"]["x-trace"] == "t1" and "authorization" not in kept["headers"]
    assert requests.delete(sink, timeout=30).json() == {"received": []}
    assert requests.get(f"{videomock_server.url}/__admin/webhook-sink/bad%20name", timeout=30).status_code == 400


def test_the_in_process_fake_delivers_to_its_receiver_with_no_socket(videomock: FakeProvider,
                                                                     videomock_webhooks: WebhookReceiver) -> None:
    task_id = submit(videomock, kling(f"{videomock_webhooks.url}/kling"))
    assert videomock_webhooks.wait_for("video.completed", task_id=task_id).verified
    assert [d.event for d in videomock_webhooks.received(task_id=task_id)] == [
        "submitted", "processing", "succeed", "video.completed"]
    assert videomock_webhooks.url.startswith("http://webhooks.videomock.test/")


def test_klings_own_api_calls_back_with_the_videos_its_query_shows(videomock_server: FakeProvider,
                                                                     videomock_webhooks: WebhookReceiver) -> None:
    """A Kling-native request's callback_url gets each status, and the succeed callback's video (id, duration,
    link) is the query's, downloadable without a token as Kling's CDN links are."""
    now = int(time.time())
    auth = {"Authorization": "Bearer " + jwt.encode({"iss": "AK-callbacks", "exp": now + 1800, "nbf": now - 5},
                                                    "SK-callbacks-secret-of-32-bytes-x", algorithm="HS256")}
    body = {"model_name": "kling-v2-5-turbo", "prompt": "a paper boat", "external_task_id": "boat-1",
            "callback_url": f"{videomock_webhooks.url}/kling-native"}
    created = requests.post(f"{videomock_server.url}/v1/videos/text2video", json=body, headers=auth, timeout=30)
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["task_id"]

    succeed = videomock_webhooks.wait_for("succeed", task_id=task_id).json
    queried = requests.get(f"{videomock_server.url}/v1/videos/text2video/{task_id}", headers=auth, timeout=30).json()

    assert [d.event for d in videomock_webhooks.received(task_id=task_id)] == ["submitted", "processing", "succeed"]
    assert succeed["task_info"] == {"external_task_id": "boat-1"}
    (video,) = succeed["task_result"]["videos"]
    (shown,) = queried["data"]["task_result"]["videos"]
    assert (video["id"], video["duration"]) == (shown["id"], shown["duration"])
    download = requests.get(video["url"], timeout=30)
    assert download.status_code == 200 and download.content[4:8] == b"ftyp"


@pytest.mark.videomock(clock="manual")
def test_a_retry_is_due_its_back_off_after_the_attempt_was_sent_however_long_the_answer_takes(
        videomock_server: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that advances the clock as soon as a delivery arrives moves it while the receiver answers; the
    back-off still counts from when the attempt was sent."""
    videomock_server.configure(webhooks={"endpoints": [{"url": "http://127.0.0.1:9/slow-receiver"}]})

    calls: list[str] = []

    def first_answer_after_30_virtual_seconds(url: str, body: bytes, headers: Any, policy: Any, *,
                                              send: int | None = None) -> int:
        calls.append(url)
        if len(calls) == 1:
            videomock_server.advance(30)
        return 500

    monkeypatch.setattr(videomock_server.backend.webhooks, "transport", first_answer_after_30_virtual_seconds)
    task_id = submit(videomock_server, fault="duration=10")
    start = videomock_server.now
    videomock_server.advance(10)

    (record,) = videomock_server.deliveries(task_id=task_id)
    # The first retry was due 5 s (first_retry_seconds) after the first send, long past when it was answered:
    # it went at once, and the next is due 10 s after it.
    assert [a["at"] - start for a in record["attempts"]] == [10, 40]
    assert (record["state"], record["due"] - start) == ("pending", 40 + 10)


# --- the rules of the schedule and of the header -------------------------------------------------------------

def test_the_back_off_doubles_from_the_first_retry_up_to_its_cap_and_stops_after_the_last_attempt() -> None:
    from videomock.core.webhooks.schedule import Schedule

    schedule = Schedule(max_attempts=8, first_retry=5, max_retry=60)
    assert [schedule.retry_after(n) for n in range(1, 9)] == [5, 10, 20, 40, 60, 60, 60, None]


@pytest.mark.parametrize(("directive", "message"), [
    ("webhook-drop=2", "directive 'webhook-drop' takes no value"),
    ("webhook-delay", "directive 'webhook-delay' needs a value"),
    ("webhook-truncate=1.5", "webhook_truncated: "),
    ("webhook-early=soon", "webhook-early='soon': expected a number"),
])
def test_a_bad_webhook_directive_is_a_400_naming_it(videomock_server: FakeProvider, directive: str, message: str) -> None:
    answer = requests.post(f"{videomock_server.url}/v1/video/generations", json=VEO, timeout=30,
                           headers={**videomock_server.headers, HEADER: directive})
    assert answer.status_code == 400 and message in answer.json()["error"]["message"]


def test_webhook_directives_apply_to_submits_only(videomock_server: FakeProvider) -> None:
    task_id = submit(videomock_server)
    answer = requests.get(f"{videomock_server.url}/v1/video/generations/{task_id}", timeout=30,
                          headers={**videomock_server.headers, HEADER: "webhook-drop"})
    assert answer.status_code == 400 and "webhook_drop applies only to: submit requests" in answer.text
