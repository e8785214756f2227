"""The Gemini API dialect of Veo over raw HTTP, as its REST clients call it: submit, poll the operation by its
name, download each video by its file id with the API key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Fake
from videomock.contracts import validate_response
from videomock.contracts.media import probe
from videomock.core.keys import fingerprint

MODEL = "veo-3.1-generate-preview"
BODY: dict[str, Any] = {"instances": [{"prompt": "a heron at dawn"}],
                       "parameters": {"durationSeconds": 4, "aspectRatio": "9:16"}}
NAME = re.compile(rf"models/{re.escape(MODEL)}/operations/[a-z0-9]{{12}}")


def _session(key: str = "gm-key") -> requests.Session:
    session = requests.Session()
    session.headers["x-goog-api-key"] = key
    return session


def _submit(fake: Fake, body: dict[str, Any] = BODY, *, model: str = MODEL, key: str = "gm-key",
            fault: str | None = None) -> requests.Response:
    return _session(key).post(f"{fake.url}/v1beta/models/{model}:predictLongRunning", json=body, timeout=10,
                              headers={"X-Videomock-Fault": fault} if fault else {})


def _name(fake: Fake, body: dict[str, Any] = BODY, fault: str | None = None) -> str:
    submitted = _submit(fake, body, fault=fault)
    assert submitted.status_code == 200, submitted.text
    assert validate_response("google_operation", submitted.json()) == []
    return str(submitted.json()["name"])


def _poll(fake: Fake, name: str, key: str = "gm-key") -> requests.Response:
    return _session(key).get(f"{fake.url}/v1beta/{name}", timeout=30)


def _done(fake: Fake, name: str) -> dict[str, Any]:
    fake.backend.advance(3600)
    operation = _poll(fake, name).json()
    assert validate_response("google_operation", operation) == [], operation
    assert operation["done"] is True
    return operation


def google_error(response: requests.Response, code: int, status: str, field: str | None = None) -> dict[str, Any]:
    """The response is an error in Google's shape, with this HTTP status and status name (and field)."""
    assert response.status_code == code, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert validate_response("google_error", body) == [], body
    assert (body["error"]["code"], body["error"]["status"]) == (code, status), body
    if field is not None:
        violations = [d for d in body["error"]["details"] if d["@type"].endswith("BadRequest")]
        assert violations[0]["fieldViolations"][0]["field"] == field, body
    return dict(body["error"])


def test_submit_poll_and_download_each_video_by_its_file_id(fake: Fake, tmp_path: Path) -> None:
    name = _name(fake, {**BODY, "parameters": {**BODY["parameters"], "sampleCount": 2}})
    assert NAME.fullmatch(name)
    assert _poll(fake, name).json() == {"name": name}                      # running: its name only
    samples = _done(fake, name)["response"]["generateVideoResponse"]["generatedSamples"]
    assert "raiMediaFilteredCount" not in _poll(fake, name).json()["response"]["generateVideoResponse"]
    videos = []
    for sample in samples:
        uri = sample["video"]["uri"]
        # google-genai's files.download takes the file id after files/ as [a-z0-9]+
        file_id = re.match("[a-z0-9]+", uri.split("files/")[1])
        assert file_id is not None and uri == f"{fake.url}/v1beta/files/{file_id[0]}:download?alt=media"
        downloaded = _session().get(uri, timeout=30)
        assert (downloaded.status_code, downloaded.headers["Content-Type"]) == (200, "video/mp4")
        path = tmp_path / f"{file_id[0]}.mp4"
        path.write_bytes(downloaded.content)
        info = probe(path)
        assert (info.width, info.height, info.duration) == (720, 1280, 4.0)
        videos.append(downloaded.content)
    assert len(videos) == 2 and videos[0] != videos[1]
    part = _session().get(samples[0]["video"]["uri"], headers={"Range": "bytes=0-99"}, timeout=30)
    assert (part.status_code, part.content) == (206, videos[0][:100])


def test_operation_ids_come_from_the_seed(fake: Fake) -> None:
    first = [_name(fake) for _ in range(2)]
    fake.backend.reset()
    assert [_name(fake) for _ in range(2)] == first and first[0] != first[1]


def test_operations_and_files_belong_to_the_key_that_created_them(fake: Fake) -> None:
    name = _name(fake)
    uri = _done(fake, name)["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    google_error(_poll(fake, name, key="someone-else"), 404, "NOT_FOUND")
    google_error(_session("someone-else").get(uri, timeout=10), 404, "NOT_FOUND")
    google_error(requests.get(f"{fake.url}/v1beta/{name}", timeout=10), 401, "UNAUTHENTICATED")
    assert _poll(fake, name.replace(MODEL, "veo-3.1-fast-generate-preview")).status_code == 404


def test_the_key_may_come_as_a_query_parameter_and_the_journal_keeps_its_fingerprint_only(fake: Fake) -> None:
    submitted = requests.post(f"{fake.url}/v1beta/models/{MODEL}:predictLongRunning?key=gm-secret", json=BODY, timeout=10)
    assert submitted.status_code == 200, submitted.text
    assert _poll(fake, submitted.json()["name"], key="gm-secret").status_code == 200
    entry = fake.backend.store.journal()[0]
    assert entry["query"] == f"key={fingerprint('gm-secret')}" and "gm-secret" not in str(entry)


def test_a_safety_filter_shows_as_filtered_samples(fake: Fake) -> None:
    two = {**BODY, "parameters": {**BODY["parameters"], "sampleCount": 2}}
    partly = _done(fake, _name(fake, two, fault="filter=1"))["response"]["generateVideoResponse"]
    assert len(partly["generatedSamples"]) == 1 and partly["raiMediaFilteredCount"] == 1
    wholly = _done(fake, _name(fake, two, fault="filter"))["response"]["generateVideoResponse"]
    assert "generatedSamples" not in wholly and wholly["raiMediaFilteredCount"] == 2
    assert wholly["raiMediaFilteredReasons"][0].startswith("Unable to show the generated videos")


@pytest.mark.parametrize(("fault", "code", "status"), [
    ("fail=content_policy@30", 3, "INVALID_ARGUMENT"), ("fail=timeout", 4, "DEADLINE_EXCEEDED"),
    ("fail=upstream_error", 13, "INTERNAL")])
def test_a_failed_job_is_a_done_operation_with_an_error(fake: Fake, fault: str, code: int, status: str) -> None:
    operation = _done(fake, _name(fake, fault=fault))
    assert (operation["error"]["code"], operation["error"]["status"]) == (code, status)
    assert "response" not in operation


def test_a_bad_request_is_a_400_naming_the_field(fake: Fake) -> None:
    error = google_error(_submit(fake, {**BODY, "parameters": {"durationSeconds": 5}}), 400, "INVALID_ARGUMENT",
                         "parameters.durationSeconds")
    assert error["message"] == "parameters.durationSeconds 5 is not supported by veo_3_1; allowed: 4, 6, 8"
    google_error(_submit(fake, {**BODY, "parameters": {"seed": 3}}), 400, "INVALID_ARGUMENT", "parameters.seed")
    google_error(_submit(fake, {"instances": [{}]}), 400, "INVALID_ARGUMENT", "instances.0.prompt")
    google_error(_session().post(f"{fake.url}/v1beta/models/{MODEL}:predictLongRunning", data="{", timeout=10,
                                 headers={"Content-Type": "application/json"}), 400, "INVALID_ARGUMENT")
    assert "veo-3.1-generate-preview" in google_error(_submit(fake, model="veo_3_1"), 404, "NOT_FOUND")["message"]


def test_a_download_needs_alt_media(fake: Fake) -> None:
    uri = _done(fake, _name(fake))["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    google_error(_session().get(uri.removesuffix("?alt=media"), timeout=10), 400, "INVALID_ARGUMENT", "alt")
    google_error(_session().get(uri.replace("0:download", "7:download"), timeout=10), 404, "NOT_FOUND")
    google_error(_session().get(uri.replace("0:download", "x:download"), timeout=10), 404, "NOT_FOUND")


def test_every_error_under_the_api_is_in_googles_shape(fake: Fake) -> None:
    google_error(_session().get(f"{fake.url}/v1beta/models/{MODEL}:generateVideos", timeout=10), 404, "NOT_FOUND")
    google_error(_session().delete(f"{fake.url}/v1beta/models/{MODEL}:predictLongRunning", timeout=10), 405, "UNIMPLEMENTED")
    limited = google_error(_submit(fake, fault="status=429; retry-after=7"), 429, "RESOURCE_EXHAUSTED")
    assert {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "videomock", "reason": "RATE_LIMIT_EXCEEDED"} \
        in limited["details"]
    google_error(_submit(fake, fault="status=teapot"), 400, "INVALID_ARGUMENT", "X-Videomock-Fault")
    unavailable = _session().get(f"{fake.url}/v1beta/{_name(fake)}", headers={"X-Videomock-Fault": "status=503"}, timeout=10)
    google_error(unavailable, 503, "UNAVAILABLE")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 502, 503, 504])
def test_every_injected_http_error_is_in_googles_shape(fake: Fake, status: int) -> None:
    name = _name(fake)
    uri = _done(fake, name)["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
    fake.backend.update_config({"faults": [{"endpoint": ["submit", "poll", "download"],
                                            "action": {"type": "http_error", "status": status}}]})
    for response in (_submit(fake), _poll(fake, name), _session().get(uri, timeout=10)):
        google_error(response, status, {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                                        404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE",
                                        503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}[status])
