"""Shared test fixtures: one live fake per session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.profiles import load_profile
from videomock import create_app
from videomock.core.backend import VideoBackend
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

HYPOTHESIS_PROFILE = load_profile()


def pytest_report_header() -> str:
    return f"hypothesis profile: {HYPOTHESIS_PROFILE} (set VIDEOMOCK_HYPOTHESIS_PROFILE to change)"


@dataclass
class Fake:
    """A running fake: its URL, its backend (for clock control), and an authenticated session."""

    url: str
    backend: VideoBackend
    key: str = "sk-test"

    def session(self, key: str | None = None) -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {key or self.key}"
        return s

    def submit(self, body: dict[str, Any], key: str | None = None) -> requests.Response:
        return self.session(key).post(f"{self.url}/v1/video/generations", json=body, timeout=10)

    def poll(self, task_id: str, key: str | None = None) -> requests.Response:
        return self.session(key).get(f"{self.url}/v1/video/generations/{task_id}", timeout=30)


@pytest.fixture(scope="session")
def video_library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VideoLibrary]:
    library = VideoLibrary(tmp_path_factory.mktemp("videos"), max_bytes=1 << 30)
    yield library
    library.close()


BASELINE_CONFIG = {"clock": {"mode": "manual"}}


@pytest.fixture(scope="session")
def live_fake(video_library: VideoLibrary) -> Iterator[Fake]:
    app = create_app(BASELINE_CONFIG, videos=video_library)
    with LiveServer(app) as server:
        yield Fake(server.url, app.extensions["videomock"])


@pytest.fixture
def fake(live_fake: Fake) -> Fake:
    """The session's fake with its baseline configuration, no tasks, an empty journal and a fresh clock."""
    live_fake.backend.configure(BASELINE_CONFIG)
    live_fake.backend.reset()
    return live_fake
