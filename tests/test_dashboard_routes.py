"""The dashboard's routes over HTTP, without a browser: who is served the page, and the task page's media links
(Range, signatures, expiry; no fault fired, no journal entry). The browser drives the page in
test_dashboard_browser.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import BASELINE_CONFIG, Fake
from tests.test_hostile_clients import _non_loopback_address
from videomock import create_app
from videomock.contracts.schemas import load_schema
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

BODY = {"model": "veo_3_1", "prompt": "a fox", "duration": 4}
ADMIN_TOKEN = "dashboard-secret"


def completed(fake: Fake) -> str:
    task_id: str = fake.submit(BODY).json()["task_id"]
    fake.backend.advance(3600)
    return task_id


def task_page(fake: Fake, task_id: str) -> dict[str, Any]:
    answer = requests.get(f"{fake.url}/__admin/tasks/{task_id}", timeout=10)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_the_page_and_its_files_are_served_with_a_policy_that_runs_no_inline_script(fake: Fake) -> None:
    page = requests.get(f"{fake.url}/__admin/ui", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'data-admin-token="none"' in page.text and "/__admin/ui/app.js" in page.text
    for name, media_type in (("app.js", "text/javascript"), ("app.css", "text/css")):
        asset = requests.get(f"{fake.url}/__admin/ui/{name}", timeout=10)
        assert asset.status_code == 200 and asset.headers["Content-Type"].startswith(media_type)
    assert requests.get(f"{fake.url}/__admin/ui/secrets.txt", timeout=10).status_code == 404


def test_the_config_schema_the_fault_form_is_built_from_is_the_contracts_own(fake: Fake) -> None:
    assert requests.get(f"{fake.url}/__admin/config/schema", timeout=10).json() == load_schema("config")


def test_a_task_page_links_its_video_once_completed_and_the_link_serves_ranges(fake: Fake) -> None:
    task_id = fake.submit(BODY).json()["task_id"]
    queued = task_page(fake, task_id)
    assert (queued["status"], queued["media"], queued["dialect"]) == ("queued", None, "documented")
    assert queued["started_at"] == queued["created_at"] + queued["queue_seconds"]
    fake.backend.advance(3600)
    media = task_page(fake, task_id)["media"]
    whole = requests.get(fake.url + media["video"], timeout=10)
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "video/mp4" and whole.content[4:8] == b"ftyp"
    part = requests.get(fake.url + media["video"], headers={"Range": "bytes=0-99"}, timeout=10)
    assert part.status_code == 206 and part.content == whole.content[:100]
    thumbnail = requests.get(fake.url + media["thumbnail"], timeout=10)
    assert thumbnail.status_code == 200 and thumbnail.headers["Content-Type"] == "image/webp"
    assert task_page(fake, task_id)["media"] == media   # the same links while they last: the browser's cache holds


def test_looking_at_a_video_fires_no_download_fault_and_writes_no_journal_entry(fake: Fake) -> None:
    task_id = completed(fake)
    fake.backend.update_config({"faults": [{"id": "cut", "endpoint": "download", "times": 1,
                                            "action": {"type": "truncated_download"}}]})
    before = len(fake.backend.store.journal())
    assert requests.get(fake.url + task_page(fake, task_id)["media"]["video"], timeout=10).ok
    assert fake.backend.fault_rules()[0]["fired"] == 0 and len(fake.backend.store.journal()) == before


def test_a_provider_link_does_not_open_the_dashboards_player(fake: Fake) -> None:
    task_id = completed(fake)
    answer = requests.get(f"{fake.url}/__admin/tasks/{task_id}/video?{fake.backend.signed_query(task_id, 60)}", timeout=10)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "invalid_signature"


@pytest.fixture(scope="module")
def guarded(video_library: VideoLibrary) -> Iterator[Fake]:
    app = create_app({**BASELINE_CONFIG, "auth": {"admin_token": ADMIN_TOKEN}}, videos=video_library)
    with LiveServer(app) as server:
        yield Fake(server.url, app.extensions["videomock"])


def test_with_an_admin_token_the_data_needs_it_but_the_page_and_its_signed_links_do_not(guarded: Fake) -> None:
    """A browser that opens the page or plays a video cannot send a header; what they show is fetched with it."""
    page = requests.get(f"{guarded.url}/__admin/ui", timeout=10)
    assert page.status_code == 200 and 'data-admin-token="required"' in page.text
    task_id = completed(guarded)
    assert requests.get(f"{guarded.url}/__admin/tasks/{task_id}", timeout=10).status_code == 401
    assert requests.get(f"{guarded.url}/__admin/tasks/{task_id}/video", timeout=10).status_code == 401
    token = {"X-Videomock-Admin-Token": ADMIN_TOKEN}
    media = requests.get(f"{guarded.url}/__admin/tasks/{task_id}", headers=token, timeout=10).json()["media"]
    assert ADMIN_TOKEN not in media["video"]
    assert requests.get(guarded.url + media["video"], timeout=10).ok
    assert requests.get(f"{guarded.url}/__admin/tasks/{task_id}/thumbnail", headers=token, timeout=10).ok


@pytest.fixture(scope="module")
def public(video_library: VideoLibrary) -> Iterator[tuple[str, str]]:
    """A fake on every address with no admin token: (its loopback URL, its URL at this machine's own address)."""
    own_address = _non_loopback_address()
    if own_address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    app = create_app({**BASELINE_CONFIG, "server": {"host": "0.0.0.0"}}, videos=video_library)
    with LiveServer(app, host="0.0.0.0") as server:
        port = server.url.rsplit(":", 1)[1]
        yield f"http://127.0.0.1:{port}", f"http://{own_address}:{port}"


def test_with_an_admin_token_a_public_server_serves_the_page_to_remote_browsers_and_its_data_with_the_token(
        video_library: VideoLibrary) -> None:
    own_address = _non_loopback_address()
    if own_address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    app = create_app({**BASELINE_CONFIG, "server": {"host": "0.0.0.0"}, "auth": {"admin_token": ADMIN_TOKEN}},
                     videos=video_library)
    with LiveServer(app, host="0.0.0.0") as server:
        remote = f"http://{own_address}:{server.url.rsplit(':', 1)[1]}"
        assert requests.get(f"{remote}/__admin/ui", timeout=10).status_code == 200
        assert requests.get(f"{remote}/__admin/tasks", timeout=10).status_code == 401
        assert requests.get(f"{remote}/__admin/tasks", headers={"X-Videomock-Admin-Token": ADMIN_TOKEN}, timeout=10).ok


@pytest.mark.parametrize("path", ["/__admin/ui", "/__admin/ui/app.js", "/__admin/config/schema"])
def test_without_an_admin_token_a_public_server_serves_the_page_to_loopback_clients_only(
        public: tuple[str, str], path: str) -> None:
    loopback, remote = public
    assert requests.get(loopback + path, timeout=10).status_code == 200
    refused = requests.get(remote + path, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_loopback_only"
