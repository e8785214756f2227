"""The store's vault: the secrets a configuration names only by their fingerprints.

Some secrets must be kept whole, because checking or making a signature needs them: a webhook endpoint's
signing secret, a Kling secret key. The configuration keeps each as its fingerprint (``key_...``, as for API
keys), so no answer, journal entry or log line holds it, and the vault keeps the secret itself sealed: XORed
with a keystream drawn from the store's own random key (:mod:`videomock.core.links`), so the store file does
not show it either. That key is in the same file (its owner's only): sealing keeps a secret out of sight, not
away from whoever owns the file. A reset keeps the vault, since the configuration refers to it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from videomock.config import ConfigError
from videomock.core import links
from videomock.core.keys import fingerprint, is_fingerprint
from videomock.store import Store

#: The named state holding the sealed secrets by fingerprint.
VAULT_STATE = "secrets"


def _xor(key: bytes, name: str, data: bytes) -> bytes:
    """``data`` XORed with a keystream of its own: drawn from the store's key and the secret's name, so that two
    sealed secrets never share one (their XOR would be the XOR of the secrets)."""
    blocks = (hmac.new(key, f"vault-seal:{name}:{n}".encode(), hashlib.sha256).digest() for n in range(len(data) // 32 + 1))
    return bytes(a ^ b for a, b in zip(data, b"".join(blocks)))


def seal(store: Store, secret: str) -> str:
    """Keep ``secret`` sealed in the vault; returns the fingerprint that names it."""
    name = fingerprint(secret)
    sealed = base64.b64encode(_xor(links.signing_key(store), name, secret.encode("utf-8"))).decode("ascii")
    while True:   # other workers may seal theirs at the same time
        vault = store.get_state(VAULT_STATE)
        if (vault or {}).get(name) == sealed or store.compare_and_set_state(VAULT_STATE, vault, {**(vault or {}), name: sealed}):
            return name


def holds(store: Store, name: str) -> bool:
    return name in (store.get_state(VAULT_STATE) or {})


def unseal(store: Store, name: str) -> str:
    """The secret the fingerprint ``name`` stands for (KeyError: the vault does not hold it)."""
    sealed = (store.get_state(VAULT_STATE) or {}).get(name)
    if sealed is None:
        raise KeyError(f"the secret {name} is not in the store's vault")
    return _xor(links.signing_key(store), name, base64.b64decode(sealed)).decode("utf-8")


def seal_config(store: Store, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` (checked) as the store keeps it: each secret given in full sealed into the vault and replaced
    by its fingerprint."""
    sealed: dict[str, Any] = copy.deepcopy(dict(config))
    for index, endpoint in enumerate(sealed.get("webhooks", {}).get("endpoints", ())):
        if endpoint.get("secret") is not None:
            endpoint["secret"] = _kept(store, endpoint["secret"], f"webhooks.endpoints.{index}.secret", "the whsec_ secret")
    pairs = sealed.get("auth", {}).get("kling_keys", [])
    for index, entry in enumerate(pairs):
        access, _, secret = entry.partition(":")
        pairs[index] = f"{access}:" + _kept(store, secret, f"auth.kling_keys.{index}",
                                            f"the secret key of access key {access!r}")
    return sealed


def _kept(store: Store, secret: str, param: str, what: str) -> str:
    """The fingerprint ``secret`` is kept as; one given already must name a secret the vault holds (ConfigError,
    naming the setting, otherwise: it may come from another server's ``GET /__admin/config``)."""
    if not is_fingerprint(secret):
        return seal(store, secret)
    if not holds(store, secret):
        raise ConfigError(f"invalid configuration: {param} is given as a fingerprint ({secret}) that stands for no "
                          f"secret this server holds; give {what} itself", param)
    return secret
