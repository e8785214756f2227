"""Schemathesis, a test suite nobody here wrote, against a live fake's own /openapi.json: all of its checks
(server errors, documented statuses, content types, headers and bodies against the schemas, unsupported
methods, ignored authentication, resource lifecycles) including positive and negative data acceptance,
in every phase (examples, coverage, fuzzing, stateful).

One run per dialect (the document's tags), each against a fake of its own, so that pytest-xdist spreads them
over the workers, and the new-api gateway profile against its variant of the document (?profile=new-api).

It runs Schemathesis's command line rather than its pytest plugin: the plugin of Schemathesis 4.32 writes
``Node._nodeid``, which pytest 9.2 no longer has. Its settings, shared with anyone who runs it by hand, are
in tests/schemathesis.toml; the credentials (an API key, and a Kling key pair that signs a fresh JWT for each
request) come from tests/schemathesis_hooks.py.
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
KLING_KEY = "AK-schemathesis:SK-schemathesis-secret-of-32-bytes"
#: The whole run must finish well within this; a hang would otherwise stall the suite.
TIMEOUT_SECONDS = 3600
#: Each run: the fake's gateway profile (whose variant of the document it serves), the tags of the operations it
#: covers, the operations it leaves out, and the phases it skips. Kling's routes under /kling are its own paths
#: again (new-api's passthrough, the same views): the conformance test reaches them, and fuzzing them twice would
#: double the run. The Gemini API's operation and file ids are parts of names no OpenAPI link can take apart, so
#: it has no stateful phase (its lifecycle is the conformance test's).
RUNS: dict[str, tuple[str, str, str | None, str | None]] = {
    "documented": ("documented", "documented|openai|models", None, None),
    "vertex": ("documented", "vertex", None, None),
    "gemini": ("documented", "gemini", None, "examples,coverage,fuzzing"),
    "kling": ("documented", "kling", "Passthrough$", None),
    "new-api": ("new-api", "documented|openai", None, None),
}


@pytest.fixture
def api_url(video_library: VideoLibrary, run: str) -> Iterator[str]:
    """A fake that accepts one key and one Kling key pair, so that Schemathesis's invalid-credentials check has
    something to check, whose clock is instant, so that a task it creates can be downloaded at once, and that
    speaks the run's gateway profile."""
    config = {"clock": {"mode": "instant"}, "auth": {"api_keys": [API_KEY], "kling_keys": [KLING_KEY]},
              "gateway": {"profile": RUNS[run][0]}}
    app = create_app(config, videos=video_library)
    with LiveServer(app) as server:
        yield server.url


@pytest.mark.parametrize("run", sorted(RUNS))
def test_schemathesis_finds_nothing_wrong_with_the_api_or_its_openapi_document(api_url: str, run: str) -> None:
    _profile, tags, excluded, phases = RUNS[run]
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
        "run", f"{api_url}/openapi.json",
        "--include-tag-regex", f"^({tags})$",
        *(["--exclude-operation-id-regex", excluded] if excluded else []),
        *(["--phases", phases] if phases else []),
        # The Hypothesis profile's, per operation; half of it for the dialects' runs, whose coverage phase (its
        # boundary values, however many) costs the most, so that the suite stays within minutes on two cores.
        "--max-examples", str(settings.default.max_examples if run == "documented" else max(1, settings.default.max_examples // 2)),
    ]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                   "VIDEOMOCK_API_KEY": API_KEY, "VIDEOMOCK_KLING_KEY": KLING_KEY}
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stdout[-30_000:] + result.stderr[-5_000:]
    # A warning is no failure: with no link to them, Schemathesis polls and downloads the Gemini API's operations
    # and files by ids it made up, all 404s, and says so (the conformance test polls and downloads real ones).
    assert "Failures:" not in result.stdout and " passed" in result.stdout, result.stdout[-30_000:]
