"""videomock's fake provider: a Flask app that behaves like an OpenAI-style video-generation gateway.

``create_app`` is imported on first use, so that tools needing only part of the package (the ``videomock``
command, gunicorn's master process) don't load Flask and the whole app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mock_server.app import create_app

        return create_app
    raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
