"""The fault and download tests, unchanged, through the serving layer ``videomock serve`` runs (uvicorn with
videomock's protocol class and WSGI bridge) instead of the fixtures' werkzeug server, and the fast path's
twin tests, whose plain polls and submits the layer answers on its event loop.

The two act out transport faults in different code: werkzeug's server on the request's socket
(http/transport.py), ``videomock serve`` on its event loop's connection (serving/bridge.py). The tests that
drive the fake through its backend (the clock, the rules) can only reach an app in the test process, so the
layer runs here in a thread (tests/serving_thread.py); the tests that need the whole ``videomock serve``
(workers, restarts, hostile clients) run it as a process in their own modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BASELINE_CONFIG, Fake
from tests.serving_thread import ServingThread
from tests.test_downloads import *  # noqa: F403
from tests.test_fault_actions import *  # noqa: F403
from tests.test_faults import *  # noqa: F403
from tests.test_server import (  # noqa: F401 - answered on the event loop here
    PINNED_WALL_CLOCK,
    test_a_failure_after_a_fast_submit_made_its_task_is_a_json_500_and_one_task,
    test_a_fast_path_failure_is_logged_and_the_full_path_answers,
    test_the_fast_poll_path_answers_exactly_as_flask_does,
    test_the_fast_submit_path_answers_and_journals_exactly_as_flask_does,
)
from tests.test_veo_gemini import *  # noqa: F403
from videomock import create_app
from videomock.media.library import VideoLibrary


@pytest.fixture(scope="module")
def live_fake(video_library: VideoLibrary) -> Iterator[Fake]:
    """Every test above that uses the session's fake (through ``fake``) gets this one instead."""
    app = create_app(BASELINE_CONFIG, videos=video_library)
    with ServingThread(app) as server:
        yield Fake(server.url, app.extensions["videomock"])


@pytest.fixture(scope="module")
def twin_fake(video_library: VideoLibrary) -> Iterator[Fake]:
    """The fast path's twin tests' fake, served the same way."""
    app = create_app(BASELINE_CONFIG, videos=video_library, real_time=lambda: PINNED_WALL_CLOCK)
    with ServingThread(app) as server:
        yield Fake(server.url, app.extensions["videomock"])
