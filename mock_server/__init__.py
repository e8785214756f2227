"""videomock's fake provider: a Flask app that behaves like an OpenAI-style video-generation gateway."""

from mock_server.app import create_app

__all__ = ["create_app"]
