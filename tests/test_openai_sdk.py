"""The official openai SDK, unchanged, against a real ``videomock serve``: the judge of the OpenAI Videos dialect.

The Sora API itself was shut down in September 2026; the SDK still speaks it, and gateways serve the same
shape for every video model, so the SDK's videos resource is what many clients call.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.serve_process import serve
from videomock.contracts.media import probe

openai = pytest.importorskip("openai")

API_KEY = "sk-openai-sdk"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("openai-sdk")
    with serve("--store", str(folder / "store.db"), "--cache-dir", str(folder / "videos"), "--clock", "instant") as running:
        yield running.url


@pytest.fixture
def client(server: str) -> Iterator[openai.OpenAI]:
    requests.post(f"{server}/__admin/reset", timeout=10)
    requests.delete(f"{server}/__admin/faults", timeout=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # the SDK marks the Sora API as shut down
        yield openai.OpenAI(base_url=f"{server}/v1", api_key=API_KEY, max_retries=2)


def _png(width: int = 640, height: int = 360) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def test_create_and_poll_then_download_a_video_of_the_requested_size_and_length(client: openai.OpenAI,
                                                                                tmp_path: Path) -> None:
    video = client.videos.create_and_poll(prompt="a fox in the snow", seconds="8", size="1280x720")
    assert (video.status, video.progress, video.seconds, video.size, video.model) == ("completed", 100, "8", "1280x720", "sora-2")
    assert video.id.startswith("video_") and len(video.id) == len("video_") + 32
    (tmp_path / "fox.mp4").write_bytes(client.videos.download_content(video.id).content)
    info = probe(tmp_path / "fox.mp4")
    assert (info.width, info.height, round(info.duration)) == (1280, 720, 8)


def test_an_uploaded_image_becomes_image_to_video(client: openai.OpenAI, tmp_path: Path) -> None:
    video = client.videos.create_and_poll(prompt="the sea moves", input_reference=("sea.png", _png(), "image/png"),
                                          model="sora-2-pro", size="1792x1024")
    assert video.status == "completed" and video.model == "sora-2-pro"
    (tmp_path / "sea.mp4").write_bytes(client.videos.download_content(video.id).content)
    assert (probe(tmp_path / "sea.mp4").width, probe(tmp_path / "sea.mp4").height) == (1792, 1024)


def test_the_thumbnail_and_the_spritesheet_decode(client: openai.OpenAI) -> None:
    video = client.videos.create_and_poll(prompt="a lighthouse", size="720x1280")
    thumbnail = Image.open(io.BytesIO(client.videos.download_content(video.id, variant="thumbnail").content))
    sheet = Image.open(io.BytesIO(client.videos.download_content(video.id, variant="spritesheet").content))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (720, 1280))
    assert sheet.format == "JPEG" and sheet.width == 5 * 256
    thumbnail.load()
    sheet.load()


def test_the_list_pages_through_every_video_by_cursor(client: openai.OpenAI) -> None:
    made = [client.videos.create(prompt=f"scene {n}").id for n in range(25)]
    first = client.videos.list(limit=10)
    assert len(first.data) == 10 and first.has_more and first.data[0].id == made[-1]   # newest first
    assert [video.id for video in client.videos.list(limit=10)] == made[::-1]   # the SDK follows last_id
    assert [video.id for video in client.videos.list(limit=10, order="asc")] == made


def test_a_deleted_video_is_not_found(client: openai.OpenAI) -> None:
    video = client.videos.create(prompt="gone soon")
    deleted = client.videos.delete(video.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (video.id, True, "video.deleted")
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)


def test_a_remix_is_a_new_video_of_the_same_request(client: openai.OpenAI) -> None:
    source = client.videos.create_and_poll(prompt="a red car", seconds="4", size="1280x720")
    remix = client.videos.remix(source.id, prompt="a blue car")
    done = client.videos.poll(remix.id)
    assert (done.remixed_from_video_id, done.status, done.size, done.seconds) == (source.id, "completed", "1280x720", "4")
    assert done.prompt == "a blue car" and done.id != source.id


def test_a_rate_limited_create_is_retried_by_the_sdk(client: openai.OpenAI, server: str) -> None:
    requests.post(f"{server}/__admin/faults", timeout=10, json={
        "endpoint": "submit", "times": 1, "action": {"type": "http_error", "status": 429, "retry_after": 1}})
    video = client.videos.create(prompt="after a 429")
    assert video.status in ("queued", "in_progress", "completed")
    creates = [e for e in requests.get(f"{server}/__admin/requests?method=POST&path=/v1/videos", timeout=10).json()["requests"]]
    assert [e["status"] for e in creates] == [429, 200]


def test_a_failing_job_reaches_the_sdk_as_failed_with_a_string_code(client: openai.OpenAI, server: str) -> None:
    requests.post(f"{server}/__admin/faults", timeout=10, json={
        "endpoint": "submit", "action": {"type": "fail_task", "reason": "content_policy", "at_progress": 40}})
    video = client.videos.create_and_poll(prompt="not allowed")
    assert video.status == "failed" and video.error is not None
    assert (video.error.code, isinstance(video.error.message, str)) == ("moderation_blocked", True)


def test_a_bad_request_is_a_400_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.create(prompt="x", seconds="5")
    assert caught.value.body["param"] == "seconds" and "4, 8, 12" in caught.value.body["message"].replace('"', "")


def test_the_same_task_reads_through_both_route_families(client: openai.OpenAI, server: str) -> None:
    video = client.videos.create_and_poll(prompt="both ways")
    documented = requests.get(f"{server}/v1/video/generations/{video.id}", timeout=10,
                              headers={"Authorization": f"Bearer {API_KEY}"}).json()
    assert (documented["task_id"], documented["status"]) == (video.id, "completed")
