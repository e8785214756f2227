"""``videomock generate | validate | verify`` through click's CliRunner against live servers, and once as
a real subprocess through the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from tests.clientlib_support import RECORDINGS, ScriptedServer, reply, serve_fake
from videomock.cli import main
from videomock.client.cli import ProgressLine
from videomock.client.verify import MISSING_TASK_ID
from videomock.contracts import default_catalog
from videomock.contracts.media import probe
from videomock.media.library import VideoLibrary
from videomock.media.render import VideoSpec

CATALOG = default_catalog()


@pytest.fixture(scope="module")
def instant(video_library: VideoLibrary) -> Iterator[str]:
    with serve_fake({"clock": {"mode": "instant"}}, video_library) as (url, _):
        yield url


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Invoke ``videomock`` with no connection settings leaking in from the environment."""
    return CliRunner(env={"VIDEOMOCK_API_KEY": None, "VIDEOMOCK_BASE_URL": None, **(env or {})}).invoke(main, list(args))


# --- generate -----------------------------------------------------------------------------------------------

def test_generate_writes_the_video_and_logs_progress_lines_off_a_terminal(instant: str, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = run("generate", "--base-url", instant, "--api-key", "sk-cli", "--model", "veo_3_1", "--prompt", "cli",
                 "--duration", "4", "--width", "720", "--height", "1280", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    task_id, path, size, unit = result.stdout.split()
    assert task_id.startswith("task_") and (path, int(size), unit) == (str(out), out.stat().st_size, "bytes")
    info = probe(out)
    assert (info.width, info.height, info.duration) == (720, 1280, 4.0)
    lines = result.stderr.splitlines()
    assert lines[0].startswith("queued ") and any(line.startswith("completed ") for line in lines)
    assert lines[-1].startswith("downloading ") and lines[-1].split("]")[1].split()[0] == "100%"
    assert "\r" not in result.stderr


def test_generate_animates_an_image_file(instant: str, tmp_path: Path) -> None:
    Image.new("RGB", (640, 360), (200, 40, 40)).save(tmp_path / "still.png")
    result = run("generate", "--base-url", instant, "--api-key", "k", "--model", "kling-v2-5-turbo",
                 "--image", str(tmp_path / "still.png"), "--metadata", '{"negative_prompt": "blur"}',
                 "--out", str(tmp_path / "moving.mp4"))
    assert result.exit_code == 0, result.output
    assert probe(tmp_path / "moving.mp4").frame_count == 5 * 30


def test_generate_reads_an_image_files_type_from_its_bytes(instant: str, tmp_path: Path) -> None:
    Image.new("RGB", (640, 360), (40, 200, 40)).save(tmp_path / "still", "JPEG")  # no extension to go by
    result = run("generate", "--base-url", instant, "--api-key", "k", "--model", "kling-v2-5-turbo",
                 "--image", str(tmp_path / "still"), "--out", str(tmp_path / "moving.mp4"))
    assert result.exit_code == 0, result.output
    assert probe(tmp_path / "moving.mp4").frame_count == 5 * 30


@pytest.mark.parametrize("where, words", [
    ("missing/x.mp4", "directory {tmp}/missing does not exist"),
    ("a-file/x.mp4", "{tmp}/a-file is not a directory"),
])
def test_generate_refuses_an_output_it_cannot_write_before_submitting(video_library: VideoLibrary, tmp_path: Path,
                                                                      where: str, words: str) -> None:
    (tmp_path / "a-file").write_text("")
    with serve_fake({"clock": {"mode": "instant"}}, video_library) as (url, backend):
        result = run("generate", "--base-url", url, "--api-key", "k", "--model", "veo_3_1", "--prompt", "x",
                     "--out", str(tmp_path / where))
        assert backend.store.tasks() == []
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[-1] == f"Error: Invalid value for '--out': {words.format(tmp=tmp_path)}"


def test_generate_refuses_an_invalid_body_before_sending_it(instant: str, tmp_path: Path) -> None:
    result = run("generate", "--base-url", instant, "--api-key", "k", "--model", "veo_3_1", "--prompt", "x",
                 "--duration", "5", "--fps", "30", "--out", str(tmp_path / "x.mp4"))
    assert result.exit_code == 1
    assert "  /duration: duration 5 is not supported by veo_3_1; allowed: 4, 6, 8" in result.stderr
    assert "  /fps: fps 30 is not supported by veo_3_1; allowed: 24" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_generate_needs_an_api_key(instant: str, tmp_path: Path) -> None:
    result = run("generate", "--base-url", instant, "--model", "veo_3_1", "--prompt", "x", "--out", str(tmp_path / "x.mp4"))
    assert result.exit_code == 2 and "--api-key" in result.stderr


def test_generate_reports_api_errors(video_library: VideoLibrary, tmp_path: Path) -> None:
    with serve_fake({"auth": {"api_keys": ["sk-good"]}}, video_library) as (url, _):
        result = run("generate", "--base-url", url, "--model", "veo_3_1", "--prompt", "x", "--out", str(tmp_path / "x.mp4"),
                     env={"VIDEOMOCK_API_KEY": "sk-bad"})
    assert result.exit_code == 1 and "401 authentication_error: Incorrect API key provided." in result.stderr


def test_generate_as_a_subprocess_through_the_console_script(instant: str, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("videomock")
    env = {**os.environ, "VIDEOMOCK_API_KEY": "sk-subprocess", "VIDEOMOCK_BASE_URL": instant}
    done = subprocess.run([str(script), "generate", "--model", "kling-v2-5-turbo", "--prompt", "subprocess",
                           "--out", str(tmp_path / "sub.mp4")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1] == str(tmp_path / "sub.mp4") and "completed " in done.stderr
    assert probe(tmp_path / "sub.mp4").frame_count == 150


def test_progress_redraws_one_line_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    line = ProgressLine()
    line.tty = True
    line.show("in_progress", 40)
    line.show("in_progress", 45)
    line.end()
    assert capsys.readouterr().err == (f"\rin_progress  [{'#' * 12}{'-' * 18}]  40%"
                                       f"\rin_progress  [{'#' * 13}{'-' * 17}]  45%\n")


# --- validate -----------------------------------------------------------------------------------------------

def test_validate_accepts_the_documented_recordings() -> None:
    files = sorted(str(p) for p in RECORDINGS.glob("documented_*.json"))
    result = run("validate", *files)
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": ok (") == len(files)


def test_validate_reports_each_variant_and_which_dialect_it_is() -> None:
    result = run("validate", *sorted(str(p) for p in RECORDINGS.glob("new_api_*.json")))
    assert result.exit_code == 1
    out = result.stdout
    assert "new_api_task_in_progress.json response: INVALID (task)\n  /: the body is in the new-api dialect, not the documented one" in out
    assert "new_api_submit.json response: INVALID (submit)\n  /: the body is in the openai-video dialect" in out
    assert "new_api_quota.json response: INVALID (error)\n  /error/type: error.type \"new_api_error\" is not supported" in out


def test_validate_reads_bare_bodies_lists_and_envelopes(tmp_path: Path) -> None:
    session = [
        {"model": "veo_3_1", "prompt": "x", "duration": 5},
        {"task_id": "task_1", "status": "queued"},
        {"request": {"model": "veo_3_1", "prompt": "x"}, "response": {"task_id": "task_1", "status": "queued"}},
        {"response": {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}}, "status": 404},
        {"something": "else"},
    ]
    (tmp_path / "session.json").write_text(json.dumps(session))
    (tmp_path / "broken.json").write_text("{not json")
    result = run("validate", str(tmp_path / "session.json"), str(tmp_path / "broken.json"))
    assert result.exit_code == 1
    lines = [line.replace(str(tmp_path) + "/", "") for line in result.stdout.splitlines()]
    assert lines[:9] == [
        "session.json[0]: INVALID (request)",
        "  /duration: duration 5 is not supported by veo_3_1; allowed: 4, 6, 8",
        "session.json[1]: ok (submit)",
        "session.json[2] request: ok (request)",
        "session.json[2] response: ok (submit)",
        "session.json[3] response: INVALID (error)",
        "  /error/type: error type 'invalid_request_error' does not match HTTP 404; expected 'not_found_error'",
        "session.json[4]: INVALID (unknown kind)",
        '  /: cannot tell what this body is; wrap it as {"response": ..., "kind": ...} or {"request": ...}',
    ]
    assert lines[9].startswith("broken.json: INVALID (not readable JSON")
    assert "4 invalid" in result.stderr


def test_validate_tells_a_task_by_its_fields_and_an_error_by_its_error_object(tmp_path: Path) -> None:
    queued = {"task_id": "task_1", "status": "queued", "progress": 0, "url": None, "format": "mp4", "error": None,
              "metadata": {"duration": 5, "fps": 30, "width": 1280, "height": 720, "seed": 7}}
    failed = {**queued, "status": "failed", "error": {"code": 5010, "message": "rendering the video failed"}}
    error = {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}}
    (tmp_path / "bodies.json").write_text(json.dumps([queued, failed, error, {"error": None}]))
    result = run("validate", str(tmp_path / "bodies.json"))
    lines = [line.replace(str(tmp_path) + "/", "") for line in result.stdout.splitlines()]
    assert lines[:4] == ["bodies.json[0]: ok (task)", "bodies.json[1]: ok (task)", "bodies.json[2]: ok (error)",
                         "bodies.json[3]: INVALID (unknown kind)"]


# --- verify -------------------------------------------------------------------------------------------------

def test_verify_passes_against_the_fake(instant: str) -> None:
    result = run("verify", "--base-url", instant, "--api-key", "k")
    assert result.exit_code == 0, result.output
    table = result.stdout.splitlines()
    for model in CATALOG:
        row = next(line for line in table if line.startswith(model + " "))
        assert row.split()[1:] == ["ok"] * 5 + ["PASS"]
    assert f"{len(CATALOG) + 1} of {len(CATALOG) + 1} passed" in result.stdout
    assert [line for line in result.stderr.splitlines()] == [f"verifying {m} ..." for m in CATALOG]


def test_verify_fails_when_the_providers_model_no_longer_matches_the_catalog(video_library: VideoLibrary,
                                                                             tmp_path: Path) -> None:
    """--config gives the rules to hold the provider to (here the built-in ones), whatever it says of itself."""
    drifted = {"models": {"kling-v2-1-master": {"fps": [30], "defaults": {"fps": 30}}}}
    (tmp_path / "expected.toml").write_text("")
    with serve_fake({"clock": {"mode": "instant"}, **drifted}, video_library) as (url, _):
        result = run("verify", "--base-url", url, "--api-key", "k", "--model", "kling-v2-1-master", "--model", "veo_3_1",
                     "--config", str(tmp_path / "expected.toml"))
    assert result.exit_code == 1
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.startswith(("kling", "veo"))}
    assert rows == {"kling-v2-1-master": ["FAIL", "-", "-", "-", "-", "FAIL"], "veo_3_1": ["ok"] * 5 + ["PASS"]}
    assert "kling-v2-1-master submit: 400 invalid_request_error: fps 24 is not supported by kling-v2-1-master; allowed: 30" in result.stdout


def test_verify_fails_on_a_wrong_body_and_a_wrong_video(video_library: VideoLibrary) -> None:
    spec = CATALOG["veo_3_1"]
    wrong_spec = VideoSpec(model=spec.id, prompt="wrong", width=640, height=360, fps=24, duration=8, seed=1)
    wrong = video_library.ensure(wrong_spec.cache_key(), lambda: wrong_spec)
    asked = spec.example_request()
    task = {"task_id": "task_w", "status": "completed", "progress": 100, "url": None,
            "metadata": {**{k: asked[k] for k in ("duration", "fps", "width", "height")}, "seed": 1}}
    with ScriptedServer() as server:
        task["url"] = f"{server.url}/v1/videos/task_w/content"
        server.on("GET", "/v1/models", reply(200, {"object": "list", "data": [
            {"id": m, "object": "model", "created": 0, "owned_by": CATALOG[m].vendor} for m in CATALOG]}))
        server.on("GET", f"/v1/video/generations/{MISSING_TASK_ID}", reply(404, {"error": {
            "message": "no such task", "type": "not_found_error", "param": "task_id", "code": "task_not_found"}}))
        server.on("POST", "/v1/video/generations", reply(200, {"task_id": "task_w", "status": "queued"}))
        server.on("GET", "/v1/video/generations/task_w", reply(200, task))
        server.on("GET", "/v1/videos/task_w/content", reply(200, wrong.read_bytes(), {"Content-Type": "video/mp4"}))
        result = run("verify", "--base-url", server.url, "--api-key", "k", "--model", "veo_3_1")
    assert result.exit_code == 1
    assert [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("veo_3_1")] == \
        [["ok", "FAIL", "ok", "FAIL", "FAIL", "FAIL"]]
    assert "veo_3_1 poll: task response (documented dialect) breaks the contract: format is required" in result.stdout
    assert ("veo_3_1 download: video response breaks the contract: the video's width is 640, expected 1280; "
            "the video's height is 360, expected 720") in result.stdout
    assert ("veo_3_1 video: the video's width is 640, expected 1280; the video's height is 360, expected 720; "
            "the video has no audio stream, and its model produces sound") in result.stdout
    assert "1 of 2 passed" in result.stdout


CUSTOM_CATALOG = {"models": {"veo_3_1": {"fps": [24, 30]}, "kling-v2-5-turbo": {"disabled": True}}}


@pytest.fixture(scope="module")
def custom(video_library: VideoLibrary) -> Iterator[str]:
    with serve_fake({"clock": {"mode": "instant"}, **CUSTOM_CATALOG}, video_library) as (url, _):
        yield url


def test_generate_follows_the_rules_of_the_server_it_talks_to(custom: str, tmp_path: Path) -> None:
    result = run("generate", "--base-url", custom, "--api-key", "k", "--model", "veo_3_1", "--prompt", "a fox",
                 "--fps", "30", "--out", str(tmp_path / "fox.mp4"))
    assert result.exit_code == 0, result.output
    assert probe(tmp_path / "fox.mp4").fps == 30
    refused = run("generate", "--base-url", custom, "--api-key", "k", "--model", "veo_3_1", "--prompt", "a fox",
                  "--fps", "25", "--out", str(tmp_path / "fox.mp4"))
    assert refused.exit_code == 1 and "/fps: fps 25 is not supported by veo_3_1; allowed: 24, 30" in refused.stderr


def test_generate_takes_the_rules_from_a_config_file_offline(custom: str, tmp_path: Path) -> None:
    (tmp_path / "videomock.toml").write_text('[models.veo_3_1]\nfps = [24, 60]\n')
    result = run("generate", "--base-url", custom, "--api-key", "k", "--model", "veo_3_1", "--prompt", "a fox",
                 "--fps", "30", "--out", str(tmp_path / "fox.mp4"), "--config", str(tmp_path / "videomock.toml"))
    assert result.exit_code == 1 and "allowed: 24, 60" in result.stderr
    assert not (tmp_path / "fox.mp4").exists()
    (tmp_path / "bad.toml").write_text('[models.veo_3_1]\nfps = "fast"\n')
    bad = run("generate", "--base-url", custom, "--api-key", "k", "--model", "veo_3_1", "--prompt", "a fox",
              "--out", str(tmp_path / "fox.mp4"), "--config", str(tmp_path / "bad.toml"))
    assert bad.exit_code == 2 and "models.veo_3_1: fps: 'fast' is not of type 'array'" in bad.stderr


def test_verify_runs_the_models_the_server_offers_by_its_rules(custom: str) -> None:
    result = run("verify", "--base-url", custom, "--api-key", "k")
    assert result.exit_code == 0, result.output
    verified = [line.split()[0] for line in result.stdout.splitlines() if line.split()[-1:] == ["PASS"]]
    assert "kling-v2-5-turbo" not in verified and "veo_3_1" in verified
    disabled = run("verify", "--base-url", custom, "--api-key", "k", "--model", "kling-v2-5-turbo")
    assert disabled.exit_code == 2 and "kling-v2-5-turbo not in the catalog" in disabled.stderr


def test_generate_refuses_a_server_whose_capabilities_contradict_themselves(tmp_path: Path) -> None:
    entry = {**CATALOG["veo_3_1"].entry, "defaults": {**CATALOG["veo_3_1"].defaults, "fps": 99}}
    with ScriptedServer() as server:
        server.on("GET", "/v1/models", reply(200, {"object": "list", "data": [
            {"id": "veo_3_1", "object": "model", "created": 0, "owned_by": "google", "x-videomock": entry}]}))
        result = run("generate", "--base-url", server.url, "--api-key", "k", "--model", "veo_3_1", "--prompt", "x",
                     "--out", str(tmp_path / "x.mp4"))
    assert result.exit_code == 1
    assert "the server's model list describes an inconsistent catalog: models.veo_3_1: default fps 99" in result.stderr


def test_verify_refuses_a_model_it_has_no_rules_for(instant: str) -> None:
    result = run("verify", "--base-url", instant, "--api-key", "k", "--model", "sora-9")
    assert result.exit_code == 2 and "sora-9 not in the catalog" in result.stderr


def test_a_directory_the_cli_cannot_make_is_a_one_line_error(instant: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    result = run("verify", "--base-url", instant, "--api-key", "k", "--model", "veo_3_1",
                 "--keep-videos", str(tmp_path / "a-file" / "videos"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr == f"Error: {tmp_path}/a-file/videos: Not a directory\n"
