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
import resource
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
from videomock.media.fonts import FULL_FONT
from videomock.media.render import VideoSpec, render


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
        Case("text-to-video 1280x720 30fps 5s, with sound", 0.10,
             VideoSpec("veo_3_1", prompt, 1280, 720, 30, 5, seed=4, audio=True)),
        Case("text-to-video 1280x720 30fps 5s, Chinese, Arabic, emoji", 0.10,
             VideoSpec("kling-v2-6", "一只柯基在日落时冲浪 كلب يركب الأمواج 🐶🌊", 1280, 720, 30, 5, seed=5, audio=True)),
        Case("text-to-video 1920x1080 30fps 8s", 0.20,
             VideoSpec("kling-v2-5-turbo", prompt, 1920, 1080, 30, 8, seed=2)),
        Case("image-to-video 1280x720 30fps 5s", 0.50,
             VideoSpec("kling-v2-5-turbo", prompt, 1280, 720, 30, 5, seed=3, image=sample_image())),
    ]


def naive(spec: VideoSpec, out: Path) -> None:
    """Every frame drawn and encoded at libx264's default preset (what the renderer avoids doing), and the sound
    encoded beside it when there is any."""
    exe = ffmpeg_executable()
    label = {"fontfile": str(FULL_FONT), "fontcolor": "white", "fontsize": 40, "x": 40}
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
    streams = [frames]
    if spec.audio:
        streams.append(ffmpeg.input(f"sine=frequency=440:duration={spec.duration}", f="lavfi"))
    cmd = ffmpeg.output(*streams, str(out), vcodec="libx264", pix_fmt="yuv420p", movflags="+faststart",
                        **{"frames:v": spec.fps * spec.duration})
    subprocess.run(ffmpeg.compile(cmd.global_args("-loglevel", "error"), cmd=exe, overwrite_output=True),
                   check=True)


def cpu_seconds() -> float:
    """CPU used so far by this process and the ffmpeg runs it waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(job: Callable[[VideoSpec, Path], None], spec: VideoSpec, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run, each in a fresh directory; the output is decoded once to prove it is
    what was asked for. CPU moves much less than wall time with the shared machine's load."""
    times, cpus = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.mp4"
            start, cpu = time.perf_counter(), cpu_seconds()
            job(spec, out)
            times.append(time.perf_counter() - start)
            cpus.append(cpu_seconds() - cpu)
            if len(times) == 1:
                info = probe(out)
                assert info.frame_count == spec.fps * spec.duration, f"{info.frame_count} frames"
                assert (info.audio is not None) == spec.audio, "a soundtrack exactly where asked"
    return times, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (at least 5)")
    runs = max(5, parser.parse_args().runs)
    all_cases = cases()
    timed(render, all_cases[0].spec, 1)  # warm-up
    print(f"{runs} cold runs per case; baseline = naive full-length libx264 (default preset) encode, "
          f"{max(3, runs // 2)} runs\n")
    print("| case | target | median | min | max | meets | CPU median | naive median | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case in all_cases:
        ours, cpus = timed(render, case.spec, runs)
        baseline = statistics.median(timed(naive, case.spec, max(3, runs // 2))[0])
        median = statistics.median(ours)
        print(f"| {case.name} | <= {case.target:.2f} s | {median:.3f} s | {min(ours):.3f} s | {max(ours):.3f} s "
              f"| {'yes' if median <= case.target else 'NO'} | {statistics.median(cpus):.3f} s | {baseline:.3f} s "
              f"| {baseline / median:.0f}x |")


if __name__ == "__main__":
    main()
