"""Broken media on demand: each ``corrupt_media`` kind makes the file it promises while the task's polls
describe the video asked for, and the client and ``verify`` name each one. Files are read with the bundled
ffmpeg, as a user's pipeline would read them."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import requests

from videomock.client import ContractViolation, ContractWarning, VideoClient
from videomock.client.verify import verify_provider
from videomock.contracts.marks import frame_number
from videomock.contracts.media import MediaError, probe, top_level_boxes
from videomock.core.faults.actions import FaultSpecError
from videomock.core.faults.header import parse_fault_header
from videomock.pytest_plugin.provider import FakeProvider

BODY = {"model": "veo_3_1", "prompt": "a paper lantern rising", "duration": 4, "seed": 5}
ASKED = {"duration": 4, "fps": 24, "width": 1280, "height": 720}


def delivered(fake: FakeProvider, tmp_path: Path, fault: str | None) -> tuple[dict[str, Any], requests.Response, Path]:
    """Submit (with the header, if any), poll and download: the poll's answer, the download and its file."""
    headers = {**fake.headers, **({"X-Videomock-Fault": fault} if fault else {})}
    task = requests.post(f"{fake.url}/v1/video/generations", json=BODY, headers=headers).json()
    polled = requests.get(f"{fake.url}/v1/video/generations/{task['task_id']}", headers=fake.headers).json()
    response = requests.get(polled["url"], headers=fake.headers)
    path = tmp_path / f"{task['task_id']}.mp4"
    path.write_bytes(response.content)
    return polled, response, path


def intact(fake: FakeProvider, tmp_path: Path) -> Path:
    return delivered(fake, tmp_path, None)[2]


# --- each kind makes the file it promises --------------------------------------------------------------------

def test_no_moov_is_cut_before_an_index_written_last(videomock: FakeProvider, tmp_path: Path) -> None:
    polled, response, video = delivered(videomock, tmp_path, "corrupt_media=no_moov")
    kinds = [kind for kind, _, _ in top_level_boxes(video)]
    assert polled["status"] == "completed" and response.status_code == 200
    assert b"moov" not in kinds and kinds[:1] == [b"ftyp"]
    assert 0 < len(response.content) < intact(videomock, tmp_path).stat().st_size
    with pytest.raises(MediaError):
        probe(video)


def test_zero_bytes_is_an_empty_200(videomock: FakeProvider, tmp_path: Path) -> None:
    polled, response, _ = delivered(videomock, tmp_path, "corrupt_media=zero_bytes")
    assert polled["metadata"]["duration"] == 4
    assert (response.status_code, response.headers["Content-Length"], response.content) == (200, "0", b"")


@pytest.mark.parametrize("given, served", [("", "application/octet-stream"), (":binary/octet-stream", "binary/octet-stream")])
def test_wrong_content_type_serves_the_good_file_as_something_else(videomock: FakeProvider, tmp_path: Path,
                                                                  given: str, served: str) -> None:
    _, response, video = delivered(videomock, tmp_path, f"corrupt_media=wrong_content_type{given}")
    assert response.headers["Content-Type"] == served
    assert video.read_bytes() == intact(videomock, tmp_path).read_bytes()


@pytest.mark.parametrize("seconds", [2, -3])
def test_duration_mismatch_is_a_whole_video_of_another_length(videomock: FakeProvider, tmp_path: Path,
                                                              seconds: int) -> None:
    polled, _, video = delivered(videomock, tmp_path, f"corrupt_media=duration_mismatch:{seconds:+d}")
    info = probe(video)
    assert polled["metadata"]["duration"] == 4                       # the poll says what was asked
    assert info.duration == 4 + seconds and info.frame_count == 24 * (4 + seconds) and info.decode_errors == ()
    assert info.audio is not None and info.audio.duration == pytest.approx(4 + seconds, abs=0.001)
    assert frame_number(video, info.frame_count - 1) == info.frame_count - 1


def test_bad_frame_garbles_the_middle_second_only(videomock: FakeProvider, tmp_path: Path) -> None:
    _, _, video = delivered(videomock, tmp_path, "corrupt_media=bad_frame")
    info = probe(video)
    assert (info.codec, info.frame_count, info.duration, info.faststart) == ("h264", 96, 4.0, True)
    assert info.decode_errors
    assert frame_number(video, 0) == 0 and frame_number(video, 95) == 95   # the other seconds are intact


@pytest.mark.parametrize("codec", ["hevc", "vp9"])
def test_wrong_codec_is_the_same_video_in_another_codec(videomock: FakeProvider, tmp_path: Path, codec: str) -> None:
    _, response, video = delivered(videomock, tmp_path, f"corrupt_media=wrong_codec:{codec}")
    info = probe(video)
    assert response.headers["Content-Type"] == "video/mp4"
    assert (info.codec, info.width, info.height, info.frame_count, info.decode_errors) == (codec, 1280, 720, 96, ())
    assert info.audio is not None and frame_number(video, 50) == 50


# --- as a fault rule: per task, seeded, journaled ---------------------------------------------------------------

def test_a_rule_damages_the_tasks_it_fires_for_and_the_journal_says_so(videomock: FakeProvider, tmp_path: Path) -> None:
    videomock.add_fault(endpoint="submit", times=1, action={"type": "corrupt_media", "kind": "duration_mismatch",
                                                            "seconds": 1})
    first, second = (probe(delivered(videomock, tmp_path, None)[2]).duration for _ in range(2))
    assert (first, second) == (5.0, 4.0)
    (submit,) = videomock.requests_where(path="/v1/video/generations", fault="corrupt_media")
    assert submit["fault"][0]["kind"] == "duration_mismatch" and submit["fault"][0]["seconds"] == 1


def test_probability_rules_damage_the_same_tasks_for_the_same_seed(videomock: FakeProvider, tmp_path: Path) -> None:
    def damaged() -> list[bool]:
        videomock.reset()
        videomock.clear_faults()
        videomock.add_fault(endpoint="submit", probability=0.5, action={"type": "corrupt_media", "kind": "zero_bytes"})
        return [delivered(videomock, tmp_path, None)[1].content == b"" for _ in range(8)]

    first = damaged()
    assert first == damaged() and any(first) and not all(first)


def test_thumbnails_of_a_damaged_video_stay_intact(videomock: FakeProvider) -> None:
    headers = {**videomock.headers, "X-Videomock-Fault": "corrupt_media=zero_bytes"}
    created = requests.post(f"{videomock.url}/v1/videos", data={"prompt": "a lighthouse"}, headers=headers).json()
    thumbnail = requests.get(f"{videomock.url}/v1/videos/{created['id']}/content", params={"variant": "thumbnail"},
                             headers=videomock.headers)
    assert thumbnail.status_code == 200 and thumbnail.content[8:12] == b"WEBP"


@pytest.mark.parametrize(("header", "message"), [
    ("corrupt_media=melted", "kind"),
    ("corrupt_media=bad_frame:3", "bad_frame takes no value"),
    ("corrupt_media=wrong_codec:av1", "codec"),
    ("corrupt_media=duration_mismatch:soon", "expected a number"),
])
def test_a_malformed_directive_names_what_is_wrong(header: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault_header(header, "submit", max_delay=60)


def test_the_directive_is_a_submits(videomock: FakeProvider) -> None:
    task = requests.post(f"{videomock.url}/v1/video/generations", json=BODY, headers=videomock.headers).json()
    polled = requests.get(f"{videomock.url}/v1/video/generations/{task['task_id']}",
                          headers={**videomock.headers, "X-Videomock-Fault": "corrupt_media=zero_bytes"})
    assert polled.status_code == 400 and "corrupt_media applies only to: submit" in polled.json()["error"]["message"]


# --- the client and verify name each kind -------------------------------------------------------------------

REPORTED = {
    "no_moov": "no index (moov box)",
    "zero_bytes": "the video is empty",
    "wrong_content_type": "served as 'application/octet-stream', not video/mp4",
    "duration_mismatch:2": "s longer than expected",
    "bad_frame": "frames decode with errors",
    "wrong_codec:vp9": "the video is vp9, not H.264",
}


@pytest.mark.parametrize(("kind", "message"), REPORTED.items(), ids=REPORTED.keys())
def test_the_client_refuses_each_damaged_download_naming_it(videomock: FakeProvider, video_client: VideoClient,
                                                           tmp_path: Path, kind: str, message: str) -> None:
    task = submitted_with_fault(video_client, kind)
    with pytest.raises(ContractViolation) as caught:
        video_client.download(task, tmp_path / "video.mp4")
    assert caught.value.kind == "video" and caught.value.code == kind.partition(":")[0]
    assert message in str(caught.value)
    assert list(tmp_path.iterdir()) == []      # a broken file is not left looking like a video


def test_a_lenient_client_keeps_the_file_and_warns(videomock: FakeProvider, tmp_path: Path) -> None:
    with VideoClient(videomock.url, videomock.api_key, validate_responses="lenient") as client:
        task = submitted_with_fault(client, "wrong_codec")
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", ContractWarning)
            client.download(task, tmp_path / "video.mp4")
    assert [str(w.message) for w in seen] == ["video response breaks the contract: the video is hevc, not H.264"]
    assert probe(tmp_path / "video.mp4").codec == "hevc"


@pytest.mark.parametrize(("kind", "message"), REPORTED.items(), ids=REPORTED.keys())
def test_verify_reports_each_damaged_video(videomock: FakeProvider, tmp_path: Path, kind: str, message: str) -> None:
    name, _, value = kind.partition(":")
    action = {"type": "corrupt_media", "kind": name,
              **({"seconds": int(value)} if name == "duration_mismatch" else {"codec": value} if value else {})}
    videomock.add_fault(endpoint="submit", model="veo_3_1", action=action)
    with VideoClient(videomock.url, videomock.api_key, validate_responses="lenient") as client:
        rows = {row.subject: row for row in verify_provider(client, ["veo_3_1", "kling-v2-5-turbo"], workdir=tmp_path)}
    assert rows["kling-v2-5-turbo"].ok and not rows["veo_3_1"].ok
    checks = {check.name: check for check in rows["veo_3_1"].checks}
    assert checks["submit"].ok and checks["poll"].ok and checks["metadata"].ok
    assert message in checks["download"].detail
    if name != "wrong_content_type":        # the file itself is fine then
        assert message in checks["video"].detail


def submitted_with_fault(client: VideoClient, kind: str) -> Any:
    """A completed task whose submit carried ``corrupt_media=kind``."""
    client.session.headers["X-Videomock-Fault"] = f"corrupt_media={kind}"
    try:
        task = client.submit(**BODY)
    finally:
        del client.session.headers["X-Videomock-Fault"]
    return client.wait(task)
