"""Schemathesis, a test suite nobody here wrote, against a live fake's own /openapi.json: all of its checks
(server errors, documented statuses, content types, headers and bodies against the schemas, unsupported
methods, ignored authentication, resource lifecycles) including positive and negative data acceptance,
in every phase (examples, coverage, fuzzing, stateful).

It runs Schemathesis's command line rather than its pytest plugin: the plugin of Schemathesis 4.32 writes
``Node._nodeid``, which pytest 9.2 no longer has. Its settings, shared with anyone who runs it by hand, are
in tests/schemathesis.toml.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from videomock import create_app
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "schemathesis.toml"
API_KEY = "sk-schemathesis"
#: The whole run must finish well within this; a hang would otherwise stall the suite.
TIMEOUT_SECONDS = 3600


@pytest.fixture(scope="module")
def api_url(video_library: VideoLibrary) -> Iterator[str]:
    """A fake that accepts one key, so that Schemathesis's invalid-credentials check has something to check,
    and whose clock is instant, so that a task it creates can be downloaded at once."""
    app = create_app({"clock": {"mode": "instant"}, "auth": {"api_keys": [API_KEY]}}, videos=video_library)
    with LiveServer(app) as server:
        yield server.url


def test_schemathesis_finds_nothing_wrong_with_the_api_or_its_openapi_document(api_url: str) -> None:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
        "run", f"{api_url}/openapi.json",
        "--header", f"Authorization: Bearer {API_KEY}",
        "--max-examples", str(settings.default.max_examples),  # the Hypothesis profile's, per operation
    ]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stdout[-30_000:] + result.stderr[-5_000:]
    assert "No issues found" in result.stdout, result.stdout[-30_000:]
