"""Time cold placeholder renders against the issue's targets and against a naive single full-length encode.

Run: .venv/bin/python bench/bench_render.py [--runs N]

"Cold" means nothing is cached: every run renders into a fresh, empty directory. One untimed warm-up render
first pays the one-off costs a long-running server pays once (imports, font loading, page cache).
The baseline is what one would write first: one ffmpeg run that draws the labels on every frame and
encodes all of them with libx264's default preset.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videomock.contracts.media import ffmpeg_executable, probe
from videomock.media.render import FONT_FILE, VideoSpec, render


@dataclass(frozen=True)
class Case:
    name: str
    target: float
    spec: VideoSpec


def sample_image() -> bytes:
    """A busy 1600x1000 PNG (gradient plus shapes), harder to encode than a flat test card."""
    image = Image.new("RGB", (1600, 1000))
    draw = ImageDraw.Draw(image)
    for y in range(1000):
        draw.line([(0, y), (1600, y)], fill=(y * 255 // 1000, 90, 255 - y * 255 // 1000))
    for i in range(40):
        x, y, r = (i * 397) % 1600, (i * 211) % 1000, 30 + (i * 37) % 120
        draw.ellipse([x - r, y - r, x + r, y + r], fill=((i * 53) % 256, (i * 97) % 256, (i * 151) % 256))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def cases() -> list[Case]:
    prompt = "A corgi surfing a wave at sunset, cinematic lighting, 35mm film"
    return [
        Case("text-to-video 1280x720 30fps 5s", 0.10,
             VideoSpec("kling-v2-5-turbo", prompt, 1280, 720, 30, 5, seed=1)),
        Case("text-to-video 1920x1080 30fps 8s", 0.20,
             VideoSpec("kling-v2-5-turbo", prompt, 1920, 1080, 30, 8, seed=2)),
        Case("image-to-video 1280x720 30fps 5s", 0.50,
             VideoSpec("kling-v2-5-turbo", prompt, 1280, 720, 30, 5, seed=3, image=sample_image())),
    ]


def naive(spec: VideoSpec, out: Path) -> None:
    """Every frame drawn and encoded at libx264's default preset (what the renderer avoids doing)."""
    exe = ffmpeg_executable()
    label = {"fontfile": str(FONT_FILE), "fontcolor": "white", "fontsize": 40, "x": 40}
    if spec.image is None:
        frames = ffmpeg.input(f"color=c=0x336699:s={spec.width}x{spec.height}:r={spec.fps}", f="lavfi")
    else:
        still = out.with_suffix(".png")
        still.write_bytes(spec.image)
        frames = (ffmpeg.input(str(still), loop=1, framerate=spec.fps)
                  .filter("scale", int(spec.width * 1.06), int(spec.height * 1.06),
                          force_original_aspect_ratio="increase")
                  .filter("crop", spec.width, spec.height, x="(iw-ow)*t/10", y="(ih-oh)*t/10"))
    frames = (frames.filter("drawtext", text=f"{spec.model} seed {spec.seed}", y=40, **label)
              .filter("drawtext", text="t=%{pts:hms}", y=120, **label))
    cmd = ffmpeg.output(frames, str(out), vcodec="libx264", pix_fmt="yuv420p", movflags="+faststart",
                        **{"frames:v": spec.fps * spec.duration})
    subprocess.run(ffmpeg.compile(cmd.global_args("-loglevel", "error"), cmd=exe, overwrite_output=True),
                   check=True)


def timed(job: Callable[[VideoSpec, Path], None], spec: VideoSpec, runs: int) -> list[float]:
    """Each run in a fresh directory; the output is decoded once to prove it is what was asked for."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.mp4"
            start = time.perf_counter()
            job(spec, out)
            times.append(time.perf_counter() - start)
            if len(times) == 1:
                frames = probe(out).frame_count
                assert frames == spec.fps * spec.duration, f"{frames} frames, expected {spec.fps * spec.duration}"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (at least 5)")
    runs = max(5, parser.parse_args().runs)
    all_cases = cases()
    timed(render, all_cases[0].spec, 1)  # warm-up
    print(f"{runs} cold runs per case; baseline = naive full-length libx264 (default preset) encode, "
          f"{max(3, runs // 2)} runs\n")
    print("| case | target | median | min | max | meets | naive median | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for case in all_cases:
        ours = timed(render, case.spec, runs)
        baseline = statistics.median(timed(naive, case.spec, max(3, runs // 2)))
        median = statistics.median(ours)
        print(f"| {case.name} | <= {case.target:.2f} s | {median:.3f} s | {min(ours):.3f} s | {max(ours):.3f} s "
              f"| {'yes' if median <= case.target else 'NO'} | {baseline:.3f} s | {baseline / median:.0f}x |")


if __name__ == "__main__":
    main()
