"""Standard Webhooks signatures, and where the signing secrets come from.

A signed delivery carries ``webhook-id`` (the message id, the same on every attempt and duplicate),
``webhook-timestamp`` (real unix seconds: a receiver checks it against its own clock, whatever the virtual
clock says) and ``webhook-signature``, ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed by the
bytes the secret's base64 (after ``whsec_``) encodes; what the openai SDK's ``webhooks.unwrap`` and the
``standardwebhooks`` library verify.

Secrets. A secret given in the configuration is never kept as given: the configuration names it by its
fingerprint and the store's vault keeps it sealed (:mod:`videomock.core.vault`). An endpoint configured
without one, and a callback URL (Veo's ``webhookConfig``) that is no configured endpoint's, signs with
:func:`default_secret`: one per URL, drawn from the store's own random key, so nothing the fake makes public
(its seed, its ids) gives it away. A test in the fake's process reads it (``FakeProvider.webhook_secret``);
a receiver in another process is given the secret it verifies with by configuring its endpoint with one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from videomock.core import links, vault
from videomock.store import Store

SECRET_PREFIX = "whsec_"
#: Seconds a receiver accepts a timestamp off its own clock, as the Standard Webhooks libraries do.
TOLERANCE_SECONDS = 300


def default_secret(store: Store, url: str) -> str:
    """The secret deliveries to ``url`` are signed with when no configured one applies: fixed for the store,
    drawn from its random key (:mod:`videomock.core.links`), and the same in every worker."""
    key = hmac.new(links.signing_key(store), f"webhook-secret:{url}".encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """Why a delivery does not verify with ``secret`` at real time ``now`` (None: it does). ``headers`` are
    looked up in lower case."""
    message_id, stamp, signatures = (headers.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (message_id and stamp and signatures):
        return "a webhook-id, webhook-timestamp or webhook-signature header is missing"
    if not stamp.isdecimal():
        return f"webhook-timestamp {stamp!r} is not unix seconds"
    if abs(now - int(stamp)) > TOLERANCE_SECONDS:
        return f"webhook-timestamp {stamp} is {now - int(stamp):+.0f} s off the receiver's clock (tolerance {TOLERANCE_SECONDS} s)"
    expected = signature(secret_key(secret), message_id, int(stamp), body)
    if not any(hmac.compare_digest(expected, given) for given in signatures.split()):
        return "no webhook-signature entry matches the body signed with the endpoint's secret"
    return None


def signing_key_for(store: Store, url: str, secret: str | None) -> bytes:
    """The HMAC key deliveries to ``url`` are signed with: that of the secret the fingerprint ``secret`` names
    in the vault, or (None) of :func:`default_secret`."""
    return secret_key(default_secret(store, url) if secret is None else vault.unseal(store, secret))
