"""The OpenAI Videos API dialect against its contracts, over real HTTP: every answer of its routes is the
message schema of its kind (the video object, the list page, the delete answer), and for bodies drawn by
contracts.strategies, as JSON and as the multipart forms the openai SDK sends, every valid body is accepted
and reported as asked, and every invalid one is refused for the field its label names, in the client's words."""

from __future__ import annotations

import base64
from typing import Any

import requests
from hypothesis import given
from hypothesis import strategies as st
from urllib3.filepost import encode_multipart_formdata

from tests.conftest import Fake
from tests.profiles import examples
from tests.test_media_library import noise_png
from tests.test_server import assert_error
from videomock.contracts import Catalog, validate_response
from videomock.contracts.dialects import openai
from videomock.contracts.strategies import Breakage, FormPart, invalid_requests, multipart_forms, valid_requests
from videomock.contracts.validation import validate_dialect_request
from videomock.core.faults.header import HEADER

CATALOG = Catalog.load()
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


# --- bodies drawn from the contract ------------------------------------------------------------------------------

def create(live_fake: Fake, body: dict[str, Any], parts: list[FormPart] | None) -> requests.Response:
    """POST /v1/videos with ``body`` as JSON, or as the form ``parts`` when given: encoded here, since requests
    sends no form at all for no parts, where the openai SDK sends an empty one."""
    if parts is None:
        return live_fake.session().post(live_fake.url + VIDEOS, json=body, timeout=30)
    form, media_type = encode_multipart_formdata(parts)
    return live_fake.session().post(live_fake.url + VIDEOS, data=form, headers={"Content-Type": media_type}, timeout=30)


def as_sent(data: st.DataObject, body: dict[str, Any]) -> list[FormPart] | None:
    """Half of the bodies go as JSON, half as the openai SDK's form (an image as a file part or as text)."""
    return data.draw(multipart_forms(body)) if data.draw(st.booleans(), label="as a form") else None


@examples(1)
@given(body=valid_requests(dialect="openai"), data=st.data())
def test_every_valid_body_is_accepted_and_its_video_reports_what_was_asked(live_fake: Fake, body: dict[str, Any],
                                                                            data: st.DataObject) -> None:
    spec, violations = validate_dialect_request(openai.DIALECT, body, CATALOG)
    assert spec is not None and violations == []
    video = answer(create(live_fake, body, as_sent(data, body)), "openai_video")
    resolved = spec.resolve(openai.to_generation_request(body, spec))
    assert (video["model"], video["seconds"], video["size"], video["prompt"]) == (
        body.get("model", openai.DEFAULT_MODEL), str(resolved["duration"]), f"{resolved['width']}x{resolved['height']}",
        body["prompt"])


def refused_as_the_client_refuses(response: requests.Response, body: dict[str, Any], breakage: Breakage) -> None:
    """A 400 naming the labelled field, with the code and the words of the contract's own verdict on ``body``."""
    violations = validate_dialect_request(openai.DIALECT, body, CATALOG)[1]
    assert violations and violations[0].pointer == breakage.pointer, [v.as_dict() for v in violations]
    error = assert_error(response, 400)
    assert error["param"] == breakage.param == violations[0].param
    assert error["code"] == violations[0].code
    assert error["message"] == "; ".join(v.message for v in violations)


@examples(2)
@given(case=invalid_requests(dialect="openai"))
def test_every_invalid_json_body_is_refused_naming_the_broken_field(live_fake: Fake,
                                                                     case: tuple[dict[str, Any], Breakage]) -> None:
    body, breakage = case
    refused_as_the_client_refuses(create(live_fake, body, None), body, breakage)


@examples(2)
@given(case=invalid_requests(dialect="openai", form=True), data=st.data())
def test_every_invalid_form_is_refused_naming_the_broken_field(live_fake: Fake, case: tuple[dict[str, Any], Breakage],
                                                               data: st.DataObject) -> None:
    body, breakage = case
    refused_as_the_client_refuses(create(live_fake, body, data.draw(multipart_forms(body))), body, breakage)


def test_an_image_as_large_as_the_api_takes_is_accepted_in_a_forms_text_field(live_fake: Fake) -> None:
    """The openai SDK sends {"image_url": <data URI>} as the text field input_reference[image_url]: a form's text
    field may be as large as a body (werkzeug's default cap, 500 kB, answered such forms 413)."""
    png = noise_png(1200, 7)
    assert len(png) > 2_000_000
    form = {"prompt": (None, "x"), "input_reference[image_url]": (None, "data:image/png;base64," + base64.b64encode(png).decode())}
    video = answer(live_fake.session().post(live_fake.url + VIDEOS, files=form, timeout=60), "openai_video")
    assert video["status"] == "queued"


def test_a_form_reads_the_same_wherever_its_parts_fall_in_the_body(live_fake: Fake) -> None:
    """werkzeug parses a form 64 KiB at a time, and a piece that ended inside the closing boundary's last dash
    left a CR on the last part (pallets/werkzeug#3285, #3202): here the size "720x1280\r", refused too."""
    boundary, size = "b" * 32, "720x1280"
    def encoded(prompt: str) -> tuple[bytes, str]:
        return encode_multipart_formdata([("prompt", (None, prompt, None)), ("size", (None, size, None))], boundary=boundary)
    body = {"prompt": "x" * (65536 + len("-\r\n") - len(encoded("")[0])), "size": size}
    form, media_type = encoded(body["prompt"])
    assert form[65534:65537] == b"b--"   # the first 64 KiB end with the first dash of the closing boundary's two
    response = live_fake.session().post(live_fake.url + VIDEOS, data=form, headers={"Content-Type": media_type}, timeout=30)
    refused_as_the_client_refuses(response, body, Breakage("too_long", "/prompt"))
