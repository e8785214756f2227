"""Where clients reach the fake, for the links its answers carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def base_url(environ: Mapping[str, Any], public_url: str | None) -> str:
    """The configured public URL, else the scheme and Host of this request (read from the environ directly;
    werkzeug's host_url re-parses and re-encodes it on every call)."""
    if public_url:
        return public_url.rstrip("/")
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{environ['wsgi.url_scheme']}://{host}{environ.get('SCRIPT_NAME', '')}".rstrip("/")
