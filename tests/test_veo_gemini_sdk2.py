"""The Gemini API dialect judged by the real client that calls it: google-genai 2.x, the last major version whose
``generate_videos`` speaks the Gemini API (3.0 sends it to Vertex AI only; the suite's own google-genai is 3.x).
It is installed from the package index into a folder of its own, and a user's test file runs in a pytest of its
own with that folder first on its path: the SDK, unchanged, against ``videomock serve`` on a real socket, and
against the in-process fake through its httpx client."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve_process import serve

#: The last google-genai whose generate_videos calls the Gemini API.
SDK = "google-genai==2.34.0"

USER_TESTS = '''
import os

import pytest
from google import genai
from google.genai import types

MODEL = "veo-3.1-generate-preview"


def generate(client):
    operation = client.models.generate_videos(
        model=MODEL, source=types.GenerateVideosSource(prompt="a heron at dawn"),
        config=types.GenerateVideosConfig(number_of_videos=2, duration_seconds=4, aspect_ratio="9:16"))
    while not operation.done:   # the instant clock: done at the first poll
        operation = client.operations.get(operation)
    return [client.files.download(file=generated.video) for generated in operation.response.generated_videos]


def test_the_sdk_is_the_one_installed_for_this_run():
    assert genai.__version__.startswith("2.")


def test_two_videos_against_videomock_serve():
    client = genai.Client(api_key="gm-key", http_options=types.HttpOptions(base_url=os.environ["SERVE_URL"]))
    first, second = generate(client)
    assert first[4:8] == b"ftyp" and second[4:8] == b"ftyp" and first != second


def test_two_videos_in_process(videomock):
    client = genai.Client(api_key=videomock.api_key, http_options=types.HttpOptions(
        base_url=videomock.url, httpx_client=videomock.httpx_client()))
    first, second = generate(client)
    assert first[4:8] == b"ftyp" and first != second


def test_a_refused_duration_is_a_client_error_naming_the_field(videomock):
    client = genai.Client(api_key=videomock.api_key, http_options=types.HttpOptions(
        base_url=videomock.url, httpx_client=videomock.httpx_client()))
    with pytest.raises(genai.errors.ClientError) as refused:
        client.models.generate_videos(model=MODEL, source=types.GenerateVideosSource(prompt="x"),
                                      config=types.GenerateVideosConfig(duration_seconds=5))
    assert refused.value.code == 400 and "durationSeconds" in str(refused.value)
'''


@pytest.fixture(scope="module")
def sdk_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("google-genai-2")
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                "--no-deps", "--target", str(target), SDK], capture_output=True, text=True, timeout=300)
    if installed.returncode != 0:
        pytest.skip(f"{SDK} could not be installed from the package index (it is fetched for this test): "
                    f"{installed.stderr.strip()[-500:]}")
    return target


@pytest.fixture(scope="module")
def serve_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve("--clock", "instant", "--store", "memory", "--cache-dir", str(tmp_path_factory.mktemp("videos"))) as server:
        yield server.url


def test_google_genai_2_runs_unchanged_against_the_gemini_api_live_and_in_process(sdk_path: Path, serve_url: str,
                                                                                  tmp_path: Path) -> None:
    (tmp_path / "test_user_gemini.py").write_text(textwrap.dedent(USER_TESTS), encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(sdk_path), os.environ.get("PYTHONPATH")]))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          "-W", "ignore::DeprecationWarning", str(tmp_path)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env={**os.environ, "PYTHONPATH": path, "SERVE_URL": serve_url})
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-3000:]
    assert "4 passed" in run.stdout, run.stdout[-3000:]
