"""The Vertex AI dialect of Veo, judged by its real client: google-genai, unchanged, with ``vertexai=True`` and
``http_options`` pointing at a live ``videomock serve``; and the raw routes for what the SDK hides."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import pytest
import requests
from google import genai
from google.genai import errors, types
from PIL import Image

from tests.conftest import Fake
from tests.serve_process import serve
from tests.test_veo_gemini import google_error
from videomock.contracts import validate_response
from videomock.contracts.media import probe

MODEL = "veo-3.1-generate-preview"
#: Polls an instant-clock operation takes at most to finish (the first one, nearly always).
MOST_POLLS = 5


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve("--clock", "instant", "--store", "memory", "--cache-dir", str(tmp_path_factory.mktemp("videos"))) as server:
        yield server.url


def express(url: str, key: str = "vx-key", **options: Any) -> genai.Client:
    """A Vertex AI client in express mode (an API key, no project)."""
    return genai.Client(vertexai=True, api_key=key, http_options=types.HttpOptions(base_url=url, **options))


def generate(client: genai.Client, fault: str | None = None, **config: Any) -> types.GenerateVideosOperation:
    """generate_videos, then operations.get until done, as the SDK's documentation does it."""
    http_options = types.HttpOptions(headers={"X-Videomock-Fault": fault}) if fault else None
    operation = client.models.generate_videos(
        model=config.pop("model", MODEL),
        source=types.GenerateVideosSource(prompt=config.pop("prompt", "a red kite"), image=config.pop("image", None)),
        config=types.GenerateVideosConfig(http_options=http_options, **config))
    for _ in range(MOST_POLLS):
        if operation.done:
            return operation
        operation = client.operations.get(operation)
    raise AssertionError(f"{operation.name} was not done after {MOST_POLLS} polls")


def _probe(data: bytes | None, path: Path) -> Any:
    assert data is not None
    path.write_bytes(data)
    return probe(path)


def test_the_sdk_gets_distinct_decodable_videos_of_the_requested_duration_and_aspect(served: str, tmp_path: Path) -> None:
    operation = generate(express(served), number_of_videos=2, duration_seconds=4, aspect_ratio="9:16")
    assert re.fullmatch(rf"publishers/google/models/{MODEL}/operations/[a-z0-9]{{12}}", operation.name or "")
    assert operation.error is None and operation.result is not None
    videos = [generated.video for generated in operation.result.generated_videos or [] if generated.video]
    assert [video.mime_type for video in videos] == ["video/mp4", "video/mp4"]
    assert videos[0].video_bytes != videos[1].video_bytes
    for number, video in enumerate(videos):
        info = _probe(video.video_bytes, tmp_path / f"{number}.mp4")
        assert (info.width, info.height, info.duration, info.codec) == (720, 1280, 4.0, "h264")
    assert operation.result.rai_media_filtered_count == 0


def test_a_project_and_an_access_token_work_and_a_storage_uri_gives_cloud_storage_objects(served: str) -> None:
    client = genai.Client(vertexai=True, project="my-project", location="us-central1",
                          credentials=google.oauth2.credentials.Credentials(token="ya29.test-token"),
                          http_options=types.HttpOptions(base_url=served, api_version="v1"))
    operation = generate(client, model="veo-3.1-fast-generate-001", output_gcs_uri="gs://my-bucket/veo/",
                         number_of_videos=2)
    assert (operation.name or "").startswith("projects/my-project/locations/us-central1/publishers/google/models/"
                                             "veo-3.1-fast-generate-001/operations/")
    operation_id = (operation.name or "").rsplit("/", 1)[1]
    assert operation.result is not None
    assert [(v.video.uri, v.video.video_bytes) for v in operation.result.generated_videos or [] if v.video] == [
        (f"gs://my-bucket/veo/{operation_id}/sample_{n}.mp4", None) for n in range(2)]


def test_image_to_video_with_the_sdks_own_enums(served: str, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), (200, 40, 40)).save(buffer, format="PNG")
    image = types.Image(image_bytes=buffer.getvalue(), mime_type="image/png")
    operation = generate(express(served), prompt="the frame comes alive", image=image, duration_seconds=6,
                         last_frame=image, person_generation=types.PersonGeneration.ALLOW_ADULT,
                         compression_quality=types.VideoCompressionQuality.LOSSLESS, resize_mode=types.ImageResizeMode.PAD,
                         reference_images=[types.VideoGenerationReferenceImage(
                             image=image, reference_type=types.VideoGenerationReferenceType.ASSET)])
    assert operation.result is not None and operation.result.generated_videos
    video = operation.result.generated_videos[0].video
    info = _probe(video.video_bytes if video else None, tmp_path / "i2v.mp4")
    assert (info.width, info.height, info.duration) == (1280, 720, 6.0)


def test_a_safety_filter_fault_shows_in_the_sdks_response(served: str) -> None:
    client = express(served)
    partly = generate(client, fault="filter=1", number_of_videos=2, duration_seconds=4)
    assert partly.result is not None and partly.error is None
    assert len(partly.result.generated_videos or []) == 1
    assert partly.result.rai_media_filtered_count == 1
    assert (partly.result.rai_media_filtered_reasons or [""])[0].startswith("Unable to show the generated videos")
    wholly = generate(client, fault="filter", duration_seconds=4)
    assert wholly.result is not None and wholly.error is None
    assert (wholly.result.generated_videos, wholly.result.rai_media_filtered_count) == (None, 1)


def test_a_failed_job_is_a_done_operation_with_googles_error(served: str) -> None:
    operation = generate(express(served), fault="fail=content_policy@50", duration_seconds=4)
    assert operation.done and operation.result is None
    assert operation.error is not None and operation.error["code"] == 3 and operation.error["status"] == "INVALID_ARGUMENT"


def test_a_bad_duration_is_a_400_the_sdk_raises_as_a_client_error_naming_the_field(served: str) -> None:
    with pytest.raises(errors.ClientError) as raised:
        generate(express(served), duration_seconds=5)
    error = raised.value
    assert (error.code, error.status) == (400, "INVALID_ARGUMENT")
    assert error.message == "parameters.durationSeconds 5 is not supported by veo_3_1; allowed: 4, 6, 8"
    assert {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
        {"field": "parameters.durationSeconds", "description": error.message}]} in error.details["error"]["details"]
    with pytest.raises(errors.ClientError, match="at resolution 1080p; allowed: 8") as raised:
        generate(express(served), duration_seconds=6, resolution="1080p")


def test_an_unknown_model_is_a_404_and_an_injected_error_keeps_its_status(served: str) -> None:
    with pytest.raises(errors.ClientError) as missing:
        generate(express(served), model="veo-9.9-generate-preview")
    assert (missing.value.code, missing.value.status) == (404, "NOT_FOUND")
    with pytest.raises(errors.ClientError) as limited:
        generate(express(served), fault="status=429; retry-after=2")
    assert (limited.value.code, limited.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert limited.value.response.headers["Retry-After"] == "2"
    with pytest.raises(errors.ServerError) as failed:
        generate(express(served), fault="status=503")
    assert (failed.value.code, failed.value.status) == (503, "UNAVAILABLE")


def test_operations_belong_to_the_key_that_created_them(served: str) -> None:
    mine, theirs = express(served), express(served, key="someone-else")   # held: a dropped Client closes its connections
    operation = mine.models.generate_videos(model=MODEL, source=types.GenerateVideosSource(prompt="mine"))
    with pytest.raises(errors.ClientError) as other:
        theirs.operations.get(operation)
    assert (other.value.code, other.value.status) == (404, "NOT_FOUND")


# --- the raw routes, on the in-process fake (its clock manual) ------------------------------------------------

PROJECT_MODEL = f"projects/p1/locations/us-central1/publishers/google/models/{MODEL}"
BODY: dict[str, Any] = {"instances": [{"prompt": "a tern"}], "parameters": {"durationSeconds": 4}}


def _post(fake: Fake, path: str, body: Any, token: str = "ya29.a") -> requests.Response:
    return requests.post(f"{fake.url}/v1beta1/{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_an_operation_carries_its_name_only_until_done_and_is_read_under_its_own_resource(fake: Fake) -> None:
    name = _post(fake, f"{PROJECT_MODEL}:predictLongRunning", BODY).json()["name"]
    fetch = f"{PROJECT_MODEL}:fetchPredictOperation"
    assert _post(fake, fetch, {"operationName": name}).json() == {"name": name}
    fake.backend.advance(3600)
    done = _post(fake, fetch, {"operationName": name}).json()
    assert validate_response("google_operation", done) == [] and len(done["response"]["videos"]) == 1
    elsewhere = name.replace("projects/p1", "projects/p2")
    google_error(_post(fake, elsewhere.rsplit("/operations/", 1)[0] + ":fetchPredictOperation", {"operationName": elsewhere}),
                 404, "NOT_FOUND")
    google_error(_post(fake, f"publishers/google/models/{MODEL}:fetchPredictOperation", {"operationName": name}),
                 404, "NOT_FOUND", "operationName")
    google_error(_post(fake, fetch, {"operationName": name}, token="ya29.other"), 404, "NOT_FOUND")
    google_error(_post(fake, fetch, {}), 400, "INVALID_ARGUMENT", "operationName")


def test_every_error_under_the_api_is_in_googles_shape(fake: Fake) -> None:
    google_error(requests.post(f"{fake.url}/v1beta1/{PROJECT_MODEL}:predictLongRunning", json=BODY, timeout=10),
                 401, "UNAUTHENTICATED")
    google_error(_post(fake, f"{PROJECT_MODEL}:predict", BODY), 404, "NOT_FOUND")
    google_error(requests.get(f"{fake.url}/v1/projects/p1/locations/x/operations", timeout=10), 404, "NOT_FOUND")
    google_error(_post(fake, f"{PROJECT_MODEL}:predictLongRunning", [1]), 400, "INVALID_ARGUMENT")
    fake.backend.update_config({"auth": {"api_keys": ["vx-only"]}})
    refused = requests.post(f"{fake.url}/v1beta1/{PROJECT_MODEL}:predictLongRunning", json=BODY, timeout=10,
                            headers={"x-goog-api-key": "vx-wrong"})
    assert "API key not valid" in google_error(refused, 401, "UNAUTHENTICATED")["message"]
