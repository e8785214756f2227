"""videomock: a faithful, deterministic fake of asynchronous video-generation APIs.

The everyday API is importable from here: the app factory, the client, the pytest plugin's fake, the
contracts' validation and the Hypothesis strategies. Each name is imported on first use, so that what needs
only part of the package (the ``videomock`` command, gunicorn's master, a test suite that never asks for a
fixture) does not load Flask, the renderer or Hypothesis.

Sub-packages, by concern (README "Layout" says what each may import):

- ``videomock.core``: the domain (tasks, clock, faults, limits, journal entries), no HTTP in it;
- ``videomock.store``, ``videomock.media``: state, and the placeholder videos;
- ``videomock.http``, ``videomock.dialects``: the Flask app, and one adapter per API dialect;
- ``videomock.serving``: ``videomock serve`` under gunicorn;
- ``videomock.contracts``, ``videomock.client``, ``videomock.pytest_plugin``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from videomock.client import GenerationRequest, RetryPolicy, Task, VideoClient
    from videomock.contracts import (
        Catalog,
        Violation,
        default_catalog,
        openapi_document,
        validate_request,
        validate_response,
    )
    from videomock.contracts.media import VideoInfo, probe
    from videomock.contracts.strategies import image_data_uris, invalid_requests, valid_requests
    from videomock.http.app import create_app
    from videomock.pytest_plugin.live import LiveServer
    from videomock.pytest_plugin.provider import FakeProvider
    from videomock.pytest_plugin.standalone import fake, serve_in_thread

#: Public name -> the module that defines it.
_EXPORTS = {
    "create_app": "videomock.http.app",
    "VideoClient": "videomock.client",
    "GenerationRequest": "videomock.client",
    "RetryPolicy": "videomock.client",
    "Task": "videomock.client",
    "FakeProvider": "videomock.pytest_plugin.provider",
    "LiveServer": "videomock.pytest_plugin.live",
    "fake": "videomock.pytest_plugin.standalone",
    "serve_in_thread": "videomock.pytest_plugin.standalone",
    "Catalog": "videomock.contracts",
    "Violation": "videomock.contracts",
    "default_catalog": "videomock.contracts",
    "openapi_document": "videomock.contracts",
    "validate_request": "videomock.contracts",
    "validate_response": "videomock.contracts",
    "VideoInfo": "videomock.contracts.media",
    "probe": "videomock.contracts.media",
    "valid_requests": "videomock.contracts.strategies",
    "invalid_requests": "videomock.contracts.strategies",
    "image_data_uris": "videomock.contracts.strategies",
}

__all__ = [
    "Catalog",
    "FakeProvider",
    "GenerationRequest",
    "LiveServer",
    "RetryPolicy",
    "Task",
    "VideoClient",
    "VideoInfo",
    "Violation",
    "create_app",
    "default_catalog",
    "fake",
    "image_data_uris",
    "invalid_requests",
    "openapi_document",
    "probe",
    "serve_in_thread",
    "valid_requests",
    "validate_request",
    "validate_response",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'videomock' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
