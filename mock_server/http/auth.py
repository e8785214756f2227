"""Who is calling, and whether they may: the bearer key of a request.

Functions take the header's value, not a request object, so the Flask views and the WSGI fast path share
them. The domain sees only the key's fingerprint (:mod:`videomock.core.keys`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from videomock.core.errors import provider_error
from videomock.core.keys import fingerprint


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) can only mean this machine: a loopback address or localhost."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def accepts(allowed_keys: Sequence[str], key: str) -> bool:
    """Whether the server takes ``key``: any key when none are configured. The config holds fingerprints."""
    return not allowed_keys or fingerprint(key) in allowed_keys


def authenticate(authorization: str | None, allowed_keys: Sequence[str]) -> str:
    """The caller's key fingerprint; 401 in the provider's shape when the key is missing or not accepted."""
    key = bearer_token(authorization)
    if key is None:
        raise provider_error("missing_api_key", "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.")
    if not accepts(allowed_keys, key):
        raise provider_error("invalid_api_key", "Incorrect API key provided.")
    return fingerprint(key)
