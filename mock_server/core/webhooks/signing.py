"""Standard Webhooks signatures, and where the signing secrets come from.

A signed delivery carries ``webhook-id`` (the message id, the same on every attempt and duplicate),
``webhook-timestamp`` (real unix seconds: a receiver checks it against its own clock, whatever the virtual
clock says) and ``webhook-signature``, ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed by the
bytes the secret's base64 (after ``whsec_``) encodes; what the openai SDK's ``webhooks.unwrap`` and the
``standardwebhooks`` library verify.

Secrets. An endpoint configured without one signs with a secret derived from the seed and its URL
(:func:`webhook_secret`), so a test knows it without being told and a fixed seed gives a fixed secret; anyone
who can read the seed can derive it, which is what a fake's test secret may be. A secret given in the
configuration is never kept as given: the configuration keeps its fingerprint (``key_...``, as for API keys),
so no answer and no journal entry holds it, and the store keeps it sealed (XORed with a keystream drawn from
the store's own random key, :mod:`videomock.core.links`), so the store file does not show it either. The
store file (its owner's only) holds that key, as it holds the link-signing key: sealing keeps the secret out
of sight, not away from whoever owns the file.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from videomock.config import ConfigError
from videomock.core import links
from videomock.core.keys import fingerprint, is_fingerprint
from videomock.store import Store

SECRET_PREFIX = "whsec_"
#: The named state holding sealed secrets by fingerprint (a reset keeps it: the configuration refers to it).
VAULT_STATE = "webhook_secrets"
#: Seconds a receiver accepts a timestamp off its own clock, as the Standard Webhooks libraries do.
TOLERANCE_SECONDS = 300


def webhook_secret(seed: int, url: str) -> str:
    """The secret of an endpoint configured without one: fixed by the seed and the endpoint's URL."""
    key = hmac.new(f"videomock-webhook-secret:{seed}".encode(), url.encode(), hashlib.sha256).digest()
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


def _keystream(key: bytes, length: int) -> bytes:
    blocks = (hmac.new(key, f"webhook-secret-seal:{n}".encode(), hashlib.sha256).digest() for n in range(length // 32 + 1))
    return b"".join(blocks)[:length]


def _sealed(key: bytes, data: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, _keystream(key, len(data))))


def seal_config(store: Store, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as the store keeps it: each endpoint secret given in full is sealed into the store's vault and
    replaced by its fingerprint. A fingerprint must name a secret the vault holds (ConfigError otherwise)."""
    sealed_config: dict[str, Any] = copy.deepcopy(dict(config))
    key = links.signing_key(store)
    for index, endpoint in enumerate(sealed_config.get("webhooks", {}).get("endpoints", ())):
        secret = endpoint.get("secret")
        if secret is None:
            continue
        param = f"webhooks.endpoints.{index}.secret"
        if is_fingerprint(secret):
            if secret not in (store.get_state(VAULT_STATE) or {}):
                raise ConfigError(f"invalid configuration: {param} {secret} is the fingerprint of no secret this "
                                  "server was given; give the whsec_ secret itself", param)
            continue
        try:
            raw = secret_key(secret)
        except binascii.Error:
            raise ConfigError(f"invalid configuration: {param} is not whsec_ followed by base64", param) from None
        name = fingerprint(secret)
        sealed = base64.b64encode(_sealed(key, raw)).decode("ascii")
        while True:   # other workers may seal theirs at the same time
            vault = store.get_state(VAULT_STATE)
            if (vault or {}).get(name) == sealed or store.compare_and_set_state(VAULT_STATE, vault, {**(vault or {}), name: sealed}):
                break
        endpoint["secret"] = name
    return sealed_config


def signing_key_for(store: Store, seed: int, url: str, secret: str | None) -> bytes:
    """The HMAC key deliveries to ``url`` are signed with: the sealed secret ``secret`` names, or (None) the
    one derived from the seed."""
    if secret is None:
        return secret_key(webhook_secret(seed, url))
    sealed = (store.get_state(VAULT_STATE) or {}).get(secret)
    if sealed is None:
        raise KeyError(f"the signing secret {secret} is no longer in the store")
    return _sealed(links.signing_key(store), base64.b64decode(sealed))
