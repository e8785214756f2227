"""The dashboard in a real headless Chromium, driven by Playwright: tasks appear and complete without a reload,
a video plays, a rule added from the form fires, the clock moves, reset empties the table; and the page logs
no console error while doing so.

One fake (with an admin token, as the page has to deal with one) and one browser serve the whole module; each
test gets a fresh browser context, signed in through the token form. Waits are on DOM conditions, never
sleeps. Screenshots of the main views go to ``$VIDEOMOCK_SCREENSHOTS`` if set, else to pytest's temporary
directory; the path is printed (``pytest -s`` shows it). Skipped, saying why, where no Chromium is installed
(CI installs Debian's) or Playwright is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Fake
from tests.test_browser_cors import BROWSER
from videomock import create_app
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium on PATH (apt-get install chromium) to run the page in")

ADMIN_TOKEN = "dashboard-token"
#: Milliseconds a DOM condition has to come true; one that does not fails the test then.
DEADLINE_MS = 20_000
BODY = {"model": "veo_3_1", "prompt": "a lighthouse at dusk", "duration": 4}


@pytest.fixture(scope="module")
def server(video_library: VideoLibrary) -> Iterator[Fake]:
    app = create_app({"clock": {"mode": "manual"}, "auth": {"admin_token": ADMIN_TOKEN}}, videos=video_library)
    with LiveServer(app) as live:
        yield Fake(live.url, app.extensions["videomock"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ["VIDEOMOCK_SCREENSHOTS"]) if os.environ.get("VIDEOMOCK_SCREENSHOTS") else \
        tmp_path_factory.mktemp("dashboard-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"dashboard screenshots: {folder}")
    return folder


class Dashboard:
    """A signed-in page on the dashboard, the console errors it logged, and the fake behind it."""

    def __init__(self, page: Any, fake: Fake, screenshots: Path) -> None:
        self.page = page
        self.fake = fake
        self.screenshots = screenshots
        self.errors: list[str] = []
        #: Console errors a test provokes on purpose (a request the server refuses logs one).
        self.expected: list[str] = []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.set_default_timeout(DEADLINE_MS)

    def open(self, view: str) -> None:
        """Go to a view the way a user does, by its link in the navigation."""
        self.page.click(f"nav a[href='#{view}']")
        sync_api.expect(self.page.locator(f"#view-{view}")).to_be_visible()

    def task_row(self, task_id: str) -> Any:
        return self.page.locator(f"#tasks-table tr[data-key='{task_id}']")

    def wait_for(self, condition: str, argument: Any = None) -> Any:
        """Wait for a JavaScript condition (a function, which the page's policy allows where it forbids eval)."""
        return self.page.wait_for_function(condition, arg=argument).json_value()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=self.screenshots / f"{name}.png", full_page=True)


def submit(fake: Fake, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10,
                         headers={"Authorization": "Bearer sk-dashboard", **(headers or {})})


@pytest.fixture
def dashboard(server: Fake, browser: Any, screenshots: Path) -> Iterator[Dashboard]:
    server.backend.update_config({"clock": {"mode": "manual"}, "faults": [], "webhooks": {"endpoints": []}})
    server.backend.reset()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    board = Dashboard(context.new_page(), server, screenshots)
    board.page.goto(f"{server.url}/__admin/ui")
    board.page.fill("#token-input", ADMIN_TOKEN)
    board.page.click("#token-form button[type=submit]")
    sync_api.expect(board.page.locator("#view-tasks")).to_be_visible()
    yield board
    context.close()
    unexpected = [error for error in board.errors if not any(part in error for part in board.expected)]
    assert unexpected == [], unexpected


def test_a_submitted_task_appears_and_completes_without_a_reload_and_its_page_shows_all_of_it(
        dashboard: Dashboard) -> None:
    """Its video plays, its thumbnail loads, its webhook delivery (to the fake's own sink) and the fault its submit
    asked for are listed."""
    page = dashboard.page
    page.evaluate("() => { window.notReloaded = true; }")
    sink = {"name": "sink", "url": f"{dashboard.fake.url}/__admin/webhook-sink/dashboard"}
    dashboard.fake.backend.update_config({"clock": {"mode": "speed", "speed": 10}, "webhooks": {"endpoints": [sink]}})
    task_id = submit(dashboard.fake, {"X-Videomock-Fault": "duration=10"}).json()["task_id"]
    row = dashboard.task_row(task_id)
    sync_api.expect(row.locator(".status")).to_have_text("completed")
    sync_api.expect(row.locator("progress")).to_have_attribute("value", "100")
    assert page.evaluate("() => window.notReloaded") is True
    dashboard.shot("tasks")

    row.locator("a").click()
    sync_api.expect(page.locator("#task-title")).to_contain_text(task_id)
    sync_api.expect(page.locator("#task-video")).to_be_visible()
    page.evaluate("() => document.querySelector('#task-video').play()")
    started = dashboard.wait_for("() => { const v = document.querySelector('#task-video');"
                                 " return v.readyState >= 2 && v.currentTime > 0 && v.currentTime; }")
    dashboard.wait_for("(t) => document.querySelector('#task-video').currentTime > t", started)
    dashboard.wait_for("() => { const img = document.querySelector('#task-thumbnail');"
                       " return img.complete && img.naturalWidth > 0; }")
    sync_api.expect(page.locator("#task-request")).to_contain_text("a lighthouse at dusk")
    sync_api.expect(page.locator("#task-requests details")).to_have_count(1)
    sync_api.expect(page.locator("#task-faults")).to_contain_text("duration")
    sync_api.expect(page.locator("#task-deliveries tbody")).to_contain_text("video.completed")
    sync_api.expect(page.locator("#task-deliveries .status")).to_have_text("delivered")
    dashboard.shot("task")


def test_a_429_rule_added_from_the_form_fires_on_the_next_submit_and_counts_it(dashboard: Dashboard) -> None:
    page = dashboard.page
    dashboard.open("faults")
    page.fill("#fault-rule-id", "busy")
    page.check("input[name='fault-rule-endpoint'][value='submit']")
    page.select_option("#fault-action-type", "http_error")
    page.select_option("#fault-action-http_error-status", "429")
    page.fill("#fault-action-http_error-retry_after", "3")
    page.click("#fault-form button[type=submit]")
    rule = page.locator("#faults-table tr[data-key='busy']")
    sync_api.expect(rule).to_contain_text("http_error")

    refused = submit(dashboard.fake)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "3")
    sync_api.expect(rule.locator(".fired")).to_have_text("1")
    dashboard.shot("faults")

    page.select_option("#fault-action-type", "stuck")
    page.fill("#fault-rule-id", "never-starts")
    page.click("#fault-form button[type=submit]")
    sync_api.expect(page.locator("#faults-table tbody tr")).to_have_count(2)
    rule.get_by_role("button", name="Remove rule busy").click()
    sync_api.expect(page.locator("#faults-table tbody tr")).to_have_count(1)
    page.click("#clear-faults")
    page.click("#confirm-ok")
    sync_api.expect(page.locator("#faults-empty")).to_be_visible()
    assert dashboard.fake.backend.fault_rules() == []


def test_a_rule_the_server_refuses_is_explained_in_the_page(dashboard: Dashboard) -> None:
    """The form takes what the schema's types allow; the server's own checks (a delay over the cap) still speak."""
    page = dashboard.page
    dashboard.expected.append("status of 400")
    dashboard.open("faults")
    page.select_option("#fault-action-type", "delay")
    page.fill("#fault-action-delay-seconds", "3600")
    page.click("#fault-form button[type=submit]")
    sync_api.expect(page.locator("#notice")).to_contain_text("max_delay_seconds")
    assert dashboard.fake.backend.fault_rules() == []


def test_advancing_the_manual_clock_completes_a_waiting_task(dashboard: Dashboard) -> None:
    page = dashboard.page
    task_id = submit(dashboard.fake).json()["task_id"]
    sync_api.expect(dashboard.task_row(task_id).locator(".status")).to_have_text("queued")
    dashboard.open("clock")
    sync_api.expect(page.locator("#clock-state")).to_contain_text("manual")
    page.fill("#advance-seconds", "3600")
    page.click("#advance-form button[type=submit]")
    sync_api.expect(page.locator("#notice")).to_contain_text("Advanced 3600 s")
    dashboard.shot("clock")
    dashboard.open("tasks")
    sync_api.expect(dashboard.task_row(task_id).locator(".status")).to_have_text("completed")


def test_reset_asks_first_then_empties_the_table(dashboard: Dashboard) -> None:
    page = dashboard.page
    for _ in range(2):
        submit(dashboard.fake)
    sync_api.expect(page.locator("#tasks-table tbody tr")).to_have_count(2)
    dashboard.open("clock")
    page.click("#reset")
    page.get_by_role("button", name="Cancel").click()
    assert len(dashboard.fake.backend.views()) == 2
    page.click("#reset")
    sync_api.expect(page.locator("#confirm")).to_be_visible()
    page.click("#confirm-ok")
    sync_api.expect(page.locator("#notice")).to_contain_text("reset")
    dashboard.open("tasks")
    sync_api.expect(page.locator("#tasks-table tbody tr")).to_have_count(0)
    sync_api.expect(page.locator("#tasks-empty")).to_be_visible()


def test_the_journal_filters_and_expands_to_bodies_and_applied_faults(dashboard: Dashboard) -> None:
    page = dashboard.page
    submit(dashboard.fake)
    assert submit(dashboard.fake, {"X-Videomock-Fault": "status=503"}).status_code == 503
    dashboard.open("journal")
    sync_api.expect(page.locator("#journal-entries details")).to_have_count(2)
    page.fill("#journal-filters [name=status]", "503")
    page.click("#journal-filters button[type=submit]")
    entry = page.locator("#journal-entries details")
    sync_api.expect(entry).to_have_count(1)
    entry.locator("summary").click()
    sync_api.expect(entry).to_contain_text("a lighthouse at dusk")
    sync_api.expect(entry).to_contain_text('"status": 503')
    dashboard.shot("journal")


def test_filters_narrow_windows_and_the_keyboard(dashboard: Dashboard) -> None:
    page = dashboard.page
    queued = submit(dashboard.fake).json()["task_id"]
    dashboard.fake.backend.update_config({"faults": [{"endpoint": "submit", "action": {"type": "stuck"}}]})
    stuck = submit(dashboard.fake).json()["task_id"]
    dashboard.fake.backend.advance(3600)
    sync_api.expect(dashboard.task_row(queued).locator(".status")).to_have_text("completed")
    page.select_option("#task-filters [name=status]", "queued")
    sync_api.expect(page.locator("#tasks-table tbody tr")).to_have_count(1)
    sync_api.expect(dashboard.task_row(stuck)).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    dashboard.shot("tasks-narrow")
    page.focus("nav a[href='#journal']")
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#view-journal")).to_be_visible()
    page.keyboard.press("Tab")   # focus moved to the view: the next Tab reaches its first control
    assert page.evaluate("() => document.activeElement.name") == "method"


def test_the_page_asks_for_the_token_and_says_when_it_is_refused(server: Fake, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(DEADLINE_MS)
    page.goto(f"{server.url}/__admin/ui")
    sync_api.expect(page.locator("#token-form")).to_be_visible()
    sync_api.expect(page.locator("#view-tasks")).to_be_hidden()
    page.fill("#token-input", "not-the-token")
    page.click("#token-form button[type=submit]")
    sync_api.expect(page.locator("#notice")).to_contain_text("admin token")
    sync_api.expect(page.locator("#token-form")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0
    context.close()
