"""Webhook deliveries from a real ``videomock serve`` to a real receiver on a loopback port, checked the way
an app checks them: with the openai SDK's ``webhooks.unwrap`` and with the ``standardwebhooks`` library.

Every wait here is for a delivery to arrive (a condition the receiver signals) or for the server's own answer;
time moves through the admin API under the manual clock.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import standardwebhooks
from openai import InvalidWebhookSignatureError, OpenAI

from tests.serve_process import ServeProcess, serve
from videomock.core.faults.header import HEADER
from videomock.pytest_plugin.webhooks import Delivery, Recorder, serving

SECRET = "whsec_" + base64.b64encode(b"videomock's test signing secret!").decode()
KEY = {"Authorization": "Bearer sk-test"}


@contextmanager
def receiver_and_server(tmp_path: Path, *args: str, store: Path | None = None) -> Iterator[tuple[Recorder, str, ServeProcess]]:
    """A receiver, and a server whose one webhook endpoint is it (signed with SECRET)."""
    recorder = Recorder(SECRET)
    with serving(recorder) as base:
        config = tmp_path / "webhooks.toml"
        config.write_text(f'[[webhooks.endpoints]]\nname = "app"\nurl = "{base}/events"\nsecret = "{SECRET}"\n')
        with serve("--config", str(config), "--store", str(store or tmp_path / "store.db"), *args) as server:
            yield recorder, base, server


def submit(server: ServeProcess, body: dict[str, Any] | None = None, fault: str | None = None) -> str:
    answer = requests.post(f"{server.url}/v1/video/generations", headers={**KEY, **({HEADER: fault} if fault else {})},
                           json=body or {"model": "veo_3_1", "prompt": "a lighthouse"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["task_id"])


def admin(server: ServeProcess, method: str, path: str, body: Any = None) -> Any:
    answer = requests.request(method, f"{server.url}/__admin/{path}", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def unwrap(delivery: Delivery) -> Any:
    return OpenAI(api_key="unused", webhook_secret=SECRET).webhooks.unwrap(delivery.body, dict(delivery.headers))


def test_events_from_serve_verify_with_the_openai_sdk_and_standardwebhooks_and_a_bad_signature_fails_both(
        tmp_path: Path) -> None:
    with receiver_and_server(tmp_path, "--clock", "instant") as (recorder, _, server):
        good = submit(server)
        bad = submit(server, fault="webhook-bad-signature")
        deliveries = {d.task_id: d for d in recorder.wait_until(2)}

    event = unwrap(deliveries[good])
    assert (event.type, event.data.id, event.object) == ("video.completed", good, "event")
    assert event.id.startswith("evt_")
    verified = standardwebhooks.Webhook(SECRET).verify(deliveries[good].body, dict(deliveries[good].headers))
    assert verified["data"] == {"id": good}

    with pytest.raises(InvalidWebhookSignatureError):
        unwrap(deliveries[bad])
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="No matching signature"):
        standardwebhooks.Webhook(SECRET).verify(deliveries[bad].body, dict(deliveries[bad].headers))


def test_a_kling_callback_sees_each_status_in_order_and_a_failing_task_its_failure(tmp_path: Path) -> None:
    with receiver_and_server(tmp_path, "--clock", "instant") as (recorder, base, server):
        kling = {"model": "kling-v2-5-turbo", "prompt": "a paper boat",
                 "metadata": {"callback_url": f"{base}/kling", "external_task_id": "order-7"}}
        done = submit(server, kling)
        failed = submit(server, kling, fault="fail=content_policy@50")
        # Three Kling callbacks for each, and the endpoint's video.completed and video.failed.
        arrived = recorder.wait_until(8)
        callbacks = [d for d in arrived if d.path == "/kling"]
        succeed = next(d.json for d in callbacks if d.event == "succeed")
        (video,) = succeed["task_result"]["videos"]
        assert requests.get(video["url"], headers=KEY, timeout=30).content[4:8] == b"ftyp"

    assert [d.event for d in callbacks if d.task_id == done] == ["submitted", "processing", "succeed"]
    assert [d.event for d in callbacks if d.task_id == failed] == ["submitted", "processing", "failed"]
    assert succeed["task_info"] == {"external_task_id": "order-7"}
    assert video["url"] == f"{server.url}/v1/videos/{done}/content" and video["duration"] == "5"
    failure = next(d.json for d in callbacks if d.event == "failed")
    assert failure["task_status_msg"] == "The generated content was blocked by the provider's safety filter. (code 1301)"   # as a query says
    assert "task_result" not in failure and "webhook-signature" not in callbacks[0].headers
    assert isinstance(failure["created_at"], int) and failure["created_at"] > 10**12   # milliseconds, as Kling's


def test_under_the_manual_clock_two_500s_are_retried_at_the_documented_backoff_and_the_record_shows_three_attempts(
        tmp_path: Path) -> None:
    with receiver_and_server(tmp_path, "--clock", "manual") as (recorder, _, server):
        recorder.respond(500, 500)
        task_id = submit(server, fault="duration=10")
        start = admin(server, "GET", "clock")["now"]
        admin(server, "POST", "clock/advance", {"seconds": 10})
        recorder.wait_until(1)
        (record,) = admin(server, "GET", f"webhooks/deliveries?task_id={task_id}")["deliveries"]
        assert (record["state"], record["due"]) == ("pending", start + 10 + 5)   # first_retry_seconds: 5

        admin(server, "POST", "clock/advance", {"seconds": 4.5})
        (record,) = admin(server, "GET", f"webhooks/deliveries?task_id={task_id}")["deliveries"]
        assert len(record["attempts"]) == 1, "the second attempt is not due before the back-off has passed"
        admin(server, "POST", "clock/advance", {"seconds": 0.5})
        recorder.wait_until(2)
        admin(server, "POST", "clock/advance", {"seconds": 10})   # the wait doubles: 10 s
        third = recorder.wait_until(3)[2]
        (record,) = admin(server, "GET", f"webhooks/deliveries?task_id={task_id}&state=delivered")["deliveries"]

    assert [a["status"] for a in record["attempts"]] == [500, 500, 200]
    assert [a["at"] - start for a in record["attempts"]] == [10, 15, 25]
    assert all(a["latency_ms"] >= 0 and a["error"] is None for a in record["attempts"])
    assert len({d.webhook_id for d in recorder.deliveries}) == 1   # one message, retried
    assert unwrap(third).data.id == task_id


def test_two_workers_send_each_event_exactly_once(tmp_path: Path) -> None:
    with receiver_and_server(tmp_path, "--clock", "instant", "--workers", "2") as (recorder, _, server):
        tasks = {submit(server) for _ in range(8)}
        arrived = recorder.wait_until(8)
        records = admin(server, "GET", "webhooks/deliveries")["deliveries"]

    assert {d.task_id for d in arrived} == tasks
    assert len({d.webhook_id for d in arrived}) == len(arrived) == 8
    assert [(r["state"], len(r["attempts"])) for r in records] == [("delivered", 1)] * 8


def test_deliveries_survive_a_kill_and_a_restart(tmp_path: Path) -> None:
    store = tmp_path / "kept.db"
    with receiver_and_server(tmp_path, "--clock", "manual", store=store) as (recorder, _, server):
        task_id = submit(server, fault="duration=60")
        server.kill()
        config = tmp_path / "webhooks.toml"
        with serve("--config", str(config), "--store", str(store), "--clock", "manual") as restarted:
            (record,) = admin(restarted, "GET", "webhooks/deliveries")["deliveries"]
            assert (record["task_id"], record["state"]) == (task_id, "pending")
            admin(restarted, "POST", "clock/advance", {"seconds": 60})
            (delivery,) = recorder.wait_until(1)

    assert unwrap(delivery).data.id == task_id
    for path in tmp_path.glob(f"{store.name}*"):   # the database, its write-ahead log and its lock file
        assert SECRET.removeprefix("whsec_").encode() not in path.read_bytes(), path
