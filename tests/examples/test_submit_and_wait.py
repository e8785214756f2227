"""Submit a job, wait for it, download the video. The fixtures default to the instant clock, so nothing waits."""

from pathlib import Path

from videomock.client import VideoClient
from videomock.contracts.media import probe


def test_generate_a_video(video_client: VideoClient, tmp_path: Path) -> None:
    task = video_client.generate(model="kling-v2-5-turbo", prompt="a paper boat on a river",
                                 duration=5, width=1280, height=720, fps=30, out=tmp_path / "boat.mp4")

    assert task.status == "completed"
    video = probe(tmp_path / "boat.mp4")  # decodes the file with the bundled ffmpeg
    assert (video.width, video.height, video.fps, video.frame_count) == (1280, 720, 30, 150)


def test_submit_then_poll_step_by_step(video_client: VideoClient) -> None:
    task = video_client.submit(model="veo_3_1", prompt="a lighthouse at night")
    assert task.status == "queued"

    done = video_client.wait(task, timeout=600)
    assert done.url and done.metadata["duration"] == 8  # veo_3_1's default duration
