"""A real browser (headless Chromium) on another origin calls the fake: with ``cors_origins`` naming the page's
origin, its fetch() (a preflighted POST with Authorization, then a poll that reads a header) succeeds; without,
the browser blocks it. Skipped, saying why, where no Chromium is installed (CI installs Debian's)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

from tests.clientlib_support import serve_fake
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

BROWSER = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium on PATH (apt-get install chromium) to run the page in")

#: Seconds the browser has to load the page and report; a page that never reports fails the test then.
DEADLINE = 60

PAGE = """<!doctype html><script>
const fake = %(fake)s, headers = {"Authorization": "Bearer sk-browser", "Content-Type": "application/json"};
async function run() {
  const submitted = await fetch(fake + "/v1/video/generations", {method: "POST", headers,
    body: JSON.stringify({model: "veo_3_1", prompt: "a fox"})});
  const task = await submitted.json();
  const polled = await fetch(fake + "/v1/video/generations/" + task.task_id, {headers});
  return {status: polled.status, body: await polled.json(), type: polled.headers.get("Content-Type")};
}
run().then(r => report(r), e => report({blocked: String(e)}));
function report(result) { fetch("/result", {method: "POST", body: JSON.stringify(result)}); }
</script>"""


class Page:
    """The front-end's origin: serves the page and takes the result the page posts back."""

    def __init__(self) -> None:
        self.fake_url = ""
        self.result: dict[str, Any] | None = None
        self.reported = threading.Event()
        app = Flask("front-end")
        app.add_url_rule("/", "page", lambda: PAGE % {"fake": json.dumps(self.fake_url)})
        app.add_url_rule("/result", "result", self._take, methods=["POST"])
        self.server = LiveServer(app)

    def _take(self) -> str:
        self.result = json.loads(request.get_data())
        self.reported.set()
        return ""

    def open_in_browser(self, profile: Path) -> dict[str, Any]:
        assert BROWSER is not None
        browser = subprocess.Popen([BROWSER, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                    f"--user-data-dir={profile}", self.server.url + "/"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert self.reported.wait(DEADLINE), f"the page did not report within {DEADLINE} s"
        finally:
            browser.kill()
            browser.wait(DEADLINE)
        assert self.result is not None
        return self.result


@pytest.fixture
def page_for(tmp_path: Path) -> Iterator[Any]:
    pages: list[Page] = []

    def start() -> Page:
        page = Page()
        page.server.start()
        pages.append(page)
        return page

    yield start
    for page in pages:
        page.server.stop()


def test_a_page_on_an_allowed_origin_submits_and_polls(video_library: VideoLibrary, page_for: Any, tmp_path: Path) -> None:
    page = page_for()
    with serve_fake({"clock": {"mode": "instant"}, "server": {"cors_origins": [page.server.url]}},
                    video_library) as (page.fake_url, _):
        result = page.open_in_browser(tmp_path / "profile")
    assert result["status"] == 200 and result["body"]["status"] == "completed"
    assert result["type"] == "application/json"


def test_without_cors_the_browser_blocks_the_call(video_library: VideoLibrary, page_for: Any, tmp_path: Path) -> None:
    page = page_for()
    with serve_fake({"clock": {"mode": "instant"}}, video_library) as (page.fake_url, backend):
        result = page.open_in_browser(tmp_path / "profile")
        submits = [entry for entry in backend.store.journal() if entry["method"] == "POST"]
    assert "blocked" in result and "Failed to fetch" in result["blocked"]
    assert submits == []   # the preflight failed, so the POST was never sent
