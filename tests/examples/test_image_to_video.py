"""Image-to-video: send an image file as a data URI; the placeholder animates it at the requested size."""

from pathlib import Path

from PIL import Image

from videomock.client import VideoClient, image_data_uri
from videomock.contracts.media import probe


def test_image_to_video(video_client: VideoClient, tmp_path: Path) -> None:
    Image.new("RGB", (800, 600), (30, 90, 160)).save(tmp_path / "still.png")

    video_client.generate(model="kling-v2-1-master", image=image_data_uri(tmp_path / "still.png"),
                          prompt="the camera drifts slowly", out=tmp_path / "drift.mp4")

    video = probe(tmp_path / "drift.mp4")
    assert (video.width, video.height, video.fps) == (1920, 1080, 24)  # the model's defaults
