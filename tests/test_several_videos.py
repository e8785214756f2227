"""Tasks of several videos (``n``) and the safety filter fault, through the dialects that are not Google's: what a
user of the documented API or the OpenAI Videos API sees of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Fake
from tests.test_server import assert_error
from videomock.contracts import validate_response
from videomock.contracts.media import probe
from videomock.core.faults.actions import FilterOutputs, parse_action, schema_default
from videomock.core.faults.header import parse_fault_header
from videomock.core.tasks import Task

BODY = {"model": "veo_3_1", "prompt": "two foxes", "duration": 4, "width": 720, "height": 1280}
FILTER_REASON = schema_default("filter_outputs", "reason")


def _submit(fake: Fake, body: dict[str, Any], fault: str | None = None) -> str:
    headers = {"X-Videomock-Fault": fault} if fault else {}
    response = fake.session().post(f"{fake.url}/v1/video/generations", json=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["task_id"])


def _finished(fake: Fake, task_id: str) -> dict[str, Any]:
    fake.backend.advance(3600)
    task = fake.poll(task_id).json()
    assert validate_response("task", task) == [], task
    return task


def test_n_videos_are_distinct_videos_of_the_request_and_the_url_gives_the_first(fake: Fake, tmp_path: Path) -> None:
    task_id = _submit(fake, {**BODY, "n": 3, "seed": 42})
    task = _finished(fake, task_id)
    assert task["status"] == "completed" and task["metadata"]["seed"] == 42
    stored = fake.backend.store.get_task(task_id)
    assert stored is not None and stored.outputs == 3
    paths = [fake.backend.videos.path(key) for key in stored.video_keys]
    assert len({path.read_bytes() for path in paths}) == 3          # each a video of its own
    for path in paths:
        info = probe(path)
        assert (info.width, info.height, info.duration) == (720, 1280, 4.0)
    video = fake.session().get(task["url"], timeout=30)
    assert video.content == paths[0].read_bytes()


def test_the_same_seed_gives_the_same_videos(fake: Fake) -> None:
    first, second = (fake.backend.store.get_task(_submit(fake, {**BODY, "n": 2, "seed": 7})) for _ in range(2))
    assert first is not None and second is not None
    assert first.video_keys == second.video_keys and first.video_key != first.extra_video_keys[0]


def test_a_task_of_n_videos_costs_n_times_one(fake: Fake) -> None:
    fake.backend.update_config({"limits": {"credits": 4 * 4 * 2}})      # veo_3_1: 4 credits a second
    _submit(fake, {**BODY, "n": 2})
    assert_error(fake.submit({**BODY, "n": 1}), 403, code="insufficient_user_quota")


def test_more_videos_than_the_model_makes_is_a_400_naming_n(fake: Fake) -> None:
    assert_error(fake.submit({**BODY, "n": 5}), 400, param="n")
    assert_error(fake.submit({**BODY, "model": "kling-v2-5-turbo", "duration": 5, "width": 1280, "height": 720, "n": 2}),
                 400, param="n")


# --- the safety filter ------------------------------------------------------------------------------------------

def test_a_filter_that_withholds_every_video_fails_the_task_as_a_content_policy_failure(fake: Fake) -> None:
    task = _finished(fake, _submit(fake, {**BODY, "n": 2}, fault="filter"))
    assert (task["status"], task["progress"], task["url"]) == ("failed", 100, None)
    assert task["error"] == {"code": 1301, "message": FILTER_REASON}
    assert fake.session().get(f"{fake.url}/v1/videos/{task['task_id']}/content", timeout=10).status_code == 400


def test_a_filter_that_leaves_a_video_completes_the_task_with_it(fake: Fake) -> None:
    task = _finished(fake, _submit(fake, {**BODY, "n": 2}, fault="filter=1"))
    assert task["status"] == "completed"
    stored = fake.backend.store.get_task(task["task_id"])
    assert stored is not None and len(stored.video_keys) == 1 and stored.plan.filtered == 1
    assert fake.session().get(task["url"], timeout=30).content == fake.backend.videos.path(stored.video_key).read_bytes()


def test_a_filter_rule_from_config_takes_its_own_reason(fake: Fake) -> None:
    fake.backend.update_config({"faults": [{"endpoint": "submit", "prompt_contains": "fox",
                                            "action": {"type": "filter_outputs", "reason": "no foxes"}}]})
    task = _finished(fake, _submit(fake, BODY))
    assert task["error"] == {"code": 1301, "message": "no foxes"}
    assert fake.backend.store.journal()[0]["fault"][0]["type"] == "filter_outputs"


def test_the_openai_videos_api_shows_a_filtered_video_as_blocked_by_moderation(fake: Fake) -> None:
    created = fake.session().post(f"{fake.url}/v1/videos", json={"model": "veo_3_1", "prompt": "a fox", "seconds": "4"},
                                  headers={"X-Videomock-Fault": "filter"}, timeout=10)
    assert created.status_code == 200, created.text
    fake.backend.advance(3600)
    video = fake.session().get(f"{fake.url}/v1/videos/{created.json()['id']}", timeout=10).json()
    assert (video["status"], video["error"]) == ("failed", {"code": "moderation_blocked", "message": FILTER_REASON})


def test_the_filter_directive_is_the_filter_action_and_only_a_submit_takes_it(fake: Fake) -> None:
    assert parse_fault_header("filter=2", "submit", max_delay=60) == [FilterOutputs(reason=FILTER_REASON, count=2)]
    assert parse_fault_header("filter", "submit", max_delay=60) == [parse_action({"type": "filter_outputs"})]
    session = fake.session()
    for header in ("filter=two", "filter=0"):
        refused = session.post(f"{fake.url}/v1/video/generations", json=BODY, headers={"X-Videomock-Fault": header}, timeout=10)
        assert_error(refused, 400, param="X-Videomock-Fault")
    poll = session.get(f"{fake.url}/v1/video/generations/{_submit(fake, BODY)}", headers={"X-Videomock-Fault": "filter"},
                       timeout=10)
    assert "applies only to: submit" in assert_error(poll, 400, param="X-Videomock-Fault")["message"]


@pytest.mark.parametrize("record", [
    {},                                                                              # a task stored before outputs
    {"extra_video_keys": ["k1"], "dialect_data": {"resource": "r"}, "plan": {"outcome": "complete", "at_progress": 0,
                                                                              "reason": None, "code": 1301,
                                                                              "message": "m", "filtered": 1}},
])
def test_a_task_record_reads_back_the_same_whatever_version_stored_it(record: dict[str, Any]) -> None:
    base = {"id": "t", "seq": 1, "owner": "o", "model": "veo_3_1", "params": {}, "created_at": 0.0, "queue_seconds": 0.0,
            "render_seconds": 1.0, "video_key": "k0",
            "plan": {"outcome": "complete", "at_progress": 0, "reason": None, "code": None, "message": None}}
    task = Task.from_record({**base, **record})
    assert Task.from_record(task.to_record()) == task
    assert task.video_keys == ("k0",)                                              # the filter withholds k1
