"""The request's backend, exchange, caller and public address, read from Flask's contexts.

Views of every blueprint (the dialects, the meta routes, the admin API) share these; behaviour stays in the
backend, and per-request facts stay on the Exchange.
"""

from __future__ import annotations

from flask import current_app, request

from videomock.core.backend import VideoBackend
from videomock.core.exchange import Exchange
from videomock.http.auth import authenticate
from videomock.http.middleware import ENVIRON_KEY
from videomock.http.urls import base_url


def backend() -> VideoBackend:
    found: VideoBackend = current_app.extensions["videomock"]
    return found


def exchange() -> Exchange:
    """This request's Exchange, opened for every request by :mod:`videomock.http.middleware`."""
    found: Exchange = request.environ[ENVIRON_KEY]
    return found


def caller() -> str:
    """Authenticate the request's bearer key; its fingerprint is kept on the exchange for the journal."""
    owner = authenticate(request.headers.get("Authorization"), backend().config["auth"]["api_keys"])
    exchange().owner = owner
    return owner


def public_base() -> str:
    return base_url(request.environ, backend().config["server"]["public_url"])
