"""What the placeholder carries beyond its geometry: a soundtrack where the catalog says the model has sound,
text in every script, and a frame counter a program can read back. All checked on real decodes by the
bundled ffmpeg (and Debian's ffprobe where it is installed), as users' pipelines would read the files.
"""

from __future__ import annotations

import array
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from videomock.contracts import Catalog
from videomock.contracts.marks import (
    SPRITE_COLUMNS,
    SPRITE_WIDTH,
    MarkError,
    frame_number,
    label,
    sprite_frame_numbers,
    sprite_frames,
)
from videomock.contracts.media import ffmpeg_executable, probe, read_luma
from videomock.contracts.soundtrack import SAMPLE_RATE, TICK_FACTOR, TICK_SECONDS, tone_frequency
from videomock.media.fonts import FULL_FONT, LATIN_FONT, font_for
from videomock.media.render import VideoSpec, render
from videomock.pytest_plugin.provider import FakeProvider

CATALOG = Catalog.load()


def spec(**changes: object) -> VideoSpec:
    fields: dict = {"model": "veo_3_1", "prompt": "a corgi surfing", "width": 320, "height": 240, "fps": 24,
                    "duration": 2, "seed": 7}
    return VideoSpec(**{**fields, **changes})


def rendered(tmp_path: Path, video: VideoSpec, name: str = "out.mp4") -> Path:
    out = tmp_path / name
    render(video, out)
    return out


def ffmpeg(*arguments: str) -> bytes:
    return subprocess.run([ffmpeg_executable(), "-hide_banner", "-v", "error", "-nostdin", *arguments],
                          capture_output=True, check=True).stdout


# --- the soundtrack ---------------------------------------------------------------------------------------------

def samples(path: Path) -> array.array[int]:
    """The soundtrack decoded to 16-bit mono PCM at its own rate."""
    return array.array("h", ffmpeg("-i", str(path), "-map", "a:0", "-f", "s16le", "-ac", "1", "-"))


def pitch(pcm: array.array[int], start: float, seconds: float) -> float:
    """Frequency from zero crossings over a window: what a tuner (or a listener) would say."""
    window = pcm[int(start * SAMPLE_RATE):int((start + seconds) * SAMPLE_RATE)]
    crossings = sum(1 for a, b in zip(window, window[1:]) if (a < 0) != (b < 0))
    return crossings / 2 / seconds


def test_a_soundtrack_lasts_exactly_as_long_as_the_video_and_sounds_the_seeds_pitch(tmp_path: Path) -> None:
    info = probe(rendered(tmp_path, spec(audio=True, duration=3, seed=11)))
    assert info.audio is not None
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", SAMPLE_RATE, "mono")
    assert info.audio.duration == pytest.approx(info.duration, abs=0.001) == pytest.approx(3)
    pcm = samples(tmp_path / "out.mp4")
    tone = tone_frequency(11)
    assert pitch(pcm, 0.3, 0.5) == pytest.approx(tone, rel=0.02)            # between ticks: the tone
    for second in range(3):                                                 # each second starts with a tick
        assert pitch(pcm, second + 0.005, TICK_SECONDS - 0.01) == pytest.approx(tone * TICK_FACTOR, rel=0.1)
    assert 500 < max(abs(value) for value in pcm[: SAMPLE_RATE // 2]) < 8000   # quiet, but there


def test_neighbouring_seeds_sound_different_pitches() -> None:
    assert len({tone_frequency(seed) for seed in range(8)}) >= 6
    assert all(220 <= tone_frequency(seed) <= 880 for seed in range(100))


def test_a_video_without_sound_has_no_audio_stream(tmp_path: Path) -> None:
    assert probe(rendered(tmp_path, spec())).audio is None


def audio_requests() -> list[tuple[str, dict, bool]]:
    """Each model as its defaults leave it, and each switch its catalog entry names, both ways."""
    cases = []
    for model in CATALOG.values():
        cases.append((model.id, {}, model.has_audio({})))
        switch = model.entry.get("audio")
        if isinstance(switch, dict):
            other = next(v for v in model.metadata_fields[switch["field"]].get("enum", [True, False])
                         if v != switch["default"])
            cases.append((model.id, {switch["field"]: other}, model.has_audio({"metadata": {switch["field"]: other}})))
    return cases


@pytest.mark.parametrize(("model", "metadata", "sound"), audio_requests(),
                         ids=[f"{m}-{json.dumps(d)}" for m, d, _ in audio_requests()])
def test_audio_is_present_exactly_where_the_catalog_says(videomock: FakeProvider, tmp_path: Path, model: str,
                                                         metadata: dict, sound: bool) -> None:
    spec_ = CATALOG[model]
    body = {"model": model, "prompt": "a bell", "duration": min(spec_.durations), **({"metadata": metadata} if metadata else {})}
    task = requests.post(f"{videomock.url}/v1/video/generations", json=body, headers=videomock.headers).json()
    polled = requests.get(f"{videomock.url}/v1/video/generations/{task['task_id']}", headers=videomock.headers).json()
    video = tmp_path / "video.mp4"
    video.write_bytes(requests.get(polled["url"], headers=videomock.headers).content)
    info = probe(video)
    assert (info.audio is not None) == sound
    if sound:
        assert info.audio is not None and info.audio.duration == pytest.approx(body["duration"], abs=0.001)


def test_the_catalogs_sound_defaults() -> None:
    """What the issue's users met: Veo 3.1 and Sora 2 sound by default, Kling 2.6 on request, older Kling never."""
    assert [m for m in CATALOG if CATALOG[m].has_audio({})] == ["veo_3_1", "veo_3_1-fast", "sora-2", "sora-2-pro"]
    assert CATALOG["kling-v2-6"].has_audio({"metadata": {"sound": "on"}})
    assert not CATALOG["veo_3_1"].has_audio({"metadata": {"generate_audio": False}})


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="Debian's ffprobe is not installed (apt-get install ffmpeg)")
def test_ffprobe_sees_the_streams_and_their_durations(tmp_path: Path) -> None:
    def streams(video: Path) -> dict[str, float]:
        shown = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,duration",
                                "-of", "json", str(video)], capture_output=True, check=True, text=True).stdout
        return {f"{s['codec_type']}:{s['codec_name']}": float(s["duration"]) for s in json.loads(shown)["streams"]}

    assert streams(rendered(tmp_path, spec(audio=True), "sound.mp4")) == {"video:h264": 2.0, "audio:aac": 2.0}
    assert streams(rendered(tmp_path, spec(), "silent.mp4")) == {"video:h264": 2.0}


# --- every script -------------------------------------------------------------------------------------------

#: A character no font has, by the font a text is drawn with (the Latin one for Latin, Greek and Cyrillic): it
#: draws as that font's box, the tofu. U+0378 is unassigned; U+F0000 is private use.
MISSING = {LATIN_FONT: "\u0378", FULL_FONT: "\U000f0000"}
SCRIPTS = {
    "chinese": "一只猫在月球上散步",
    "japanese": "ねこ",
    "korean": "고양이",
    "arabic": "مرحبا",
    "hebrew": "שלום",
    "cyrillic": "Привет",
    "greek": "Γάτα",
    "emoji": "🐱🚀👍🎬",
    "symbols": "✓→★",
}


def prompt_frame(tmp_path: Path, prompt: str) -> bytes:
    """The one frame of a one-frame video with this prompt, as grey pixels."""
    out = tmp_path / f"{len(list(tmp_path.iterdir()))}.mp4"
    render(VideoSpec("veo_3_1", prompt, 640, 360, fps=1, duration=1, seed=3), out)
    return read_luma(out).data


@pytest.mark.parametrize("missing", MISSING.values(), ids=["latin", "full"])
def test_a_missing_glyph_draws_a_box(tmp_path: Path, missing: str) -> None:
    """The comparison below means something: tofu is drawn (one box differs from two)."""
    assert prompt_frame(tmp_path, missing) != prompt_frame(tmp_path, missing * 2)


@pytest.mark.parametrize("text", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_no_character_of_a_prompt_draws_as_tofu(tmp_path: Path, text: str) -> None:
    """Each character alone is drawn differently from the box a missing glyph gives in the same font; a single
    one drawn as tofu would make its frame identical to the missing glyph's."""
    missing = MISSING[font_for(text)]
    assert all(font_for(character) == font_for(text) for character in text)
    tofu = prompt_frame(tmp_path, missing)
    assert prompt_frame(tmp_path, text) != prompt_frame(tmp_path, missing * len(text))
    drawn_as_tofu = [character for character in text if prompt_frame(tmp_path, character) == tofu]
    assert drawn_as_tofu == []


def test_latin_greek_and_cyrillic_take_the_small_font_and_everything_else_the_full_one() -> None:
    assert [font_for(text) for text in ("Привет, Γάτα! “ok” 3 €", "猫", "a 🐱", "שלום")] == \
        [LATIN_FONT, FULL_FONT, FULL_FONT, FULL_FONT]


def test_arabic_is_shaped(tmp_path: Path) -> None:
    """Letters take their joined forms: two behs are drawn as the initial and final presentation forms."""
    assert prompt_frame(tmp_path, "بب") == prompt_frame(tmp_path, "\ufe91\ufe90")
    assert prompt_frame(tmp_path, "بب") != prompt_frame(tmp_path, "\ufe8f\ufe8f")   # not two isolated ones


def test_hebrew_runs_right_to_left(tmp_path: Path) -> None:
    """The letter written first is drawn rightmost: an alef among bets, written first, changes the line
    further right than one written last (left to right, it would be the other way round)."""
    bets = prompt_frame(tmp_path, "בבבבבב")

    def leftmost_change(prompt: str) -> int:
        return min(i % 640 for i, (a, b) in enumerate(zip(bets, prompt_frame(tmp_path, prompt))) if a != b)

    assert leftmost_change("אבבבבב") > leftmost_change("בבבבבא") + 20


# --- the frame counter --------------------------------------------------------------------------------------------

def extracted(video: Path, out: Path, *arguments: str) -> Path:
    """A frame pulled out as a user would, with ffmpeg: seeking by time, or selecting by number."""
    ffmpeg("-y", *arguments[:2], "-i", str(video), *arguments[2:], "-frames:v", "1", str(out))
    return out


@pytest.mark.parametrize(("width", "height", "fps", "duration"), [(320, 240, 24, 3), (1920, 1080, 30, 2),
                                                                  (720, 1280, 25, 2)])
def test_the_strip_reads_as_the_frame_number_at_the_start_middle_and_end(tmp_path: Path, width: int, height: int,
                                                                       fps: int, duration: int) -> None:
    video = rendered(tmp_path, spec(width=width, height=height, fps=fps, duration=duration))
    frames = fps * duration
    for n in (0, 1, frames // 2, frames - 1):
        assert frame_number(video, n) == n
        by_time = extracted(video, tmp_path / f"{n}.png", "-ss", f"{max(0, n - 0.25) / fps:.4f}")   # the next frame
        assert frame_number(by_time) == n
    assert frame_number(extracted(video, tmp_path / "mid.jpg", "-ss", "0", "-q:v", "8",
                                  "-vf", f"select=eq(n\\,{frames // 2})")) == frames // 2


def test_a_trimmed_and_reencoded_video_still_says_where_it_came_from(tmp_path: Path) -> None:
    video = rendered(tmp_path, spec(fps=24, duration=3))
    trimmed = tmp_path / "trimmed.mp4"
    ffmpeg("-y", "-ss", "1", "-i", str(video), "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", str(trimmed))
    assert probe(trimmed).frame_count == 24
    assert [frame_number(trimmed, n) for n in (0, 23)] == [24, 47]


def test_the_counter_text_is_drawn_for_people(tmp_path: Path) -> None:
    assert label(7, 150, 30) == "frame   7 / 150  t=00.233"
    assert label(149, 150, 30) == "frame 149 / 150  t=04.966"
    video = rendered(tmp_path, spec())
    luma = read_luma(video, 5)
    patch = luma.data[(luma.height - 32) * luma.width:(luma.height - 16) * luma.width]
    assert len(set(patch)) > 2            # text, not a blank row


def test_a_frame_without_a_strip_is_refused(tmp_path: Path) -> None:
    black = tmp_path / "black.png"
    ffmpeg("-y", "-f", "lavfi", "-i", "color=c=black:s=320x240", "-frames:v", "1", str(black))
    with pytest.raises(MarkError, match="no frame strip"):
        frame_number(black)


# --- thumbnails and spritesheets ------------------------------------------------------------------------------

@pytest.mark.videomock(clock="instant")
@pytest.mark.parametrize("size", ["1280x720", "720x1280"])
def test_thumbnails_and_spritesheets_carry_the_marks(videomock: FakeProvider, tmp_path: Path, size: str) -> None:
    created = requests.post(f"{videomock.url}/v1/videos", data={"prompt": "a lighthouse", "seconds": "4", "size": size},
                            headers=videomock.headers).json()
    content = f"{videomock.url}/v1/videos/{created['id']}/content"
    for variant in ("video", "thumbnail", "spritesheet"):
        (tmp_path / variant).write_bytes(requests.get(content, params={"variant": variant}, headers=videomock.headers).content)
    frames = probe(tmp_path / "video").frame_count
    assert frame_number(tmp_path / "thumbnail") == frames // 2
    assert read_luma(tmp_path / "spritesheet").width == SPRITE_COLUMNS * SPRITE_WIDTH
    assert sprite_frame_numbers(tmp_path / "spritesheet") == sprite_frames(frames) == list(range(0, frames, frames // 10))
