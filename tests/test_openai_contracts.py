"""The OpenAI Videos API dialect against its contracts, over real HTTP: every answer of its routes is the
message schema of its kind (the video object, the list page, the delete answer)."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import Fake
from videomock.contracts import validate_response
from videomock.core.faults.header import HEADER

VIDEOS = "/v1/videos"


def answer(response: requests.Response, kind: str) -> dict[str, Any]:
    """The 200 JSON body of ``response``, checked against the message schema of ``kind``; a video's answer tells
    the openai SDK's poll() how long to wait while, and only while, the video is unfinished."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert validate_response(kind, body) == [], body
    if kind == "openai_video":
        unfinished = body["status"] in ("queued", "in_progress")
        assert ("openai-poll-after-ms" in response.headers) == unfinished, (body["status"], response.headers)
    return body


def test_every_answer_of_the_openai_routes_is_its_message_schema(fake: Fake) -> None:
    """One video through its whole life, a failed one, a remix, pages of the list and a delete: each answer
    validated against its schema, multipart and JSON creates alike."""
    session, url = fake.session(), fake.url + VIDEOS
    created = answer(session.post(url, files={"prompt": (None, "a lighthouse")}, timeout=30), "openai_video")
    assert (created["object"], created["status"], created["model"]) == ("video", "queued", "sora-2")
    by_json = answer(session.post(url, json={"model": "sora-2-pro", "prompt": "x", "seconds": "8", "size": "1792x1024"},
                                  timeout=30), "openai_video")
    assert (by_json["seconds"], by_json["size"]) == ("8", "1792x1024")
    failing = answer(session.post(url, json={"prompt": "refused"}, headers={HEADER: "fail=content_policy@40"},
                                  timeout=30), "openai_video")

    fake.backend.advance(fake.backend.catalog["sora-2"].queue_seconds + 0.001)
    running = answer(session.get(f"{url}/{created['id']}", timeout=30), "openai_video")
    assert running["status"] == "in_progress"
    fake.backend.advance(3600)
    completed = answer(session.get(f"{url}/{created['id']}", timeout=30), "openai_video")
    assert completed["status"] == "completed" and completed["expires_at"] > completed["completed_at"]
    failed = answer(session.get(f"{url}/{failing['id']}", timeout=30), "openai_video")
    assert failed["status"] == "failed" and failed["error"]["code"] == "moderation_blocked"

    remix = answer(session.post(f"{url}/{created['id']}/remix", json={"prompt": "at night"}, timeout=30), "openai_video")
    assert remix["remixed_from_video_id"] == created["id"]

    first = answer(session.get(url, params={"limit": 2, "order": "asc"}, timeout=30), "openai_video_list")
    assert [video["id"] for video in first["data"]] == [created["id"], by_json["id"]] and first["has_more"]
    rest = answer(session.get(url, params={"after": first["last_id"], "order": "asc"}, timeout=30), "openai_video_list")
    assert [video["id"] for video in rest["data"]] == [failing["id"], remix["id"]] and not rest["has_more"]

    deleted = answer(session.delete(f"{url}/{by_json['id']}", timeout=30), "openai_video_deleted")
    assert deleted == {"id": by_json["id"], "object": "video.deleted", "deleted": True}
    nothing = answer(fake.session("sk-someone-else").get(url, timeout=30), "openai_video_list")
    assert (nothing["data"], nothing["first_id"], nothing["last_id"]) == ([], None, None)
