"""Configuration: one JSON document, built from defaults, a TOML file, VIDEOMOCK_* variables and CLI flags.

The document's shape and defaults live in ``contracts/schemas/config.schema.json``; this module only merges
sources and applies the schema, so the CLI, the environment, the config file and ``PUT /__admin/config``
cannot drift apart. A bad value fails at start with a message naming the setting.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from videomock.contracts.catalog import Catalog, CatalogError
from videomock.contracts.schemas import load_schema
from videomock.contracts.validation import first_non_finite, json_pointer, param_name, validate_against
from videomock.core.faults.actions import FaultSpecError
from videomock.core.faults.rules import compile_rules
from videomock.core.keys import is_fingerprint, owner_of
from videomock.core.outbound import Refused, check_hosts, check_url, parse_networks
from videomock.core.webhooks.schedule import delivery_policy

#: Sections that only take effect at start; PUT /__admin/config may not change them.
STARTUP_ONLY = ("server", "video")


class ConfigError(ValueError):
    """A setting is invalid. The message names the setting and what is allowed; ``param`` is its dotted path."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Setting:
    """One setting reachable from the command line and the environment."""

    flag: str                      # CLI flag without leading dashes
    path: tuple[str, ...]          # where it lands in the config document
    parse: Callable[[str], Any]    # converts the string form (env / CLI)
    help: str
    multiple: bool = False         # repeatable flag; comma-separated in the environment

    @property
    def env(self) -> str:
        return "VIDEOMOCK_" + self.flag.upper().replace("-", "_") + ("S" if self.multiple else "")


def _maybe_none(text: str) -> str | None:
    return None if text.strip().lower() in ("", "none", "null") else text


def _yes_no(text: str) -> bool:
    words = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
    if text.strip().lower() not in words:
        raise ValueError(f"{text!r} is not yes or no")
    return words[text.strip().lower()]


SETTINGS: tuple[Setting, ...] = (
    Setting("host", ("server", "host"), str, "Interface to listen on."),
    Setting("port", ("server", "port"), int, "Port to listen on (0 picks a free one)."),
    Setting("public-url", ("server", "public_url"), _maybe_none, "Base URL used in task `url` links."),
    Setting("max-body-bytes", ("server", "max_body_bytes"), int, "Largest accepted request body (bytes)."),
    Setting("store", ("server", "store"), str, "Where state lives: memory, or a SQLite file kept across restarts."),
    Setting("workers", ("server", "workers"), int, "Worker processes (0: one per CPU); more than 1 needs a SQLite store."),
    Setting("read-timeout", ("server", "read_timeout"), float, "Seconds a request has to arrive in full (else a JSON 408)."),
    Setting("cors-origin", ("server", "cors_origins"), str, "Let a browser page on this origin call the fake, e.g. http://localhost:5173, or * for any (repeatable).", multiple=True),
    Setting("replay", ("server", "replay"), _maybe_none, "Answer recorded requests from this folder of cassettes "
            "(videomock record); others get a 404 naming the closest cassette."),
    Setting("replay-fallback", ("server", "replay_fallback"), _yes_no, "With --replay: yes lets the fake answer what "
            "no cassette matches."),
    Setting("threads", ("server", "threads"), int, "Threads per worker process: requests it holds at once (they compute one at a time)."),
    Setting("api-key", ("auth", "api_keys"), str, "Accept only this API key (repeatable). Default: any non-empty key.", multiple=True),
    Setting("kling-key", ("auth", "kling_keys"), str, "Accept Kling JWTs signed with this key pair, ACCESS:SECRET "
            "(repeatable). Default: any well-formed, unexpired HS256 token.", multiple=True),
    Setting("admin-token", ("auth", "admin_token"), _maybe_none, "Require this bearer token on /__admin/."),
    Setting("gateway", ("gateway", "profile"), str, "Gateway profile: documented (the provider doc) or new-api "
            "(what new-api's code accepts and returns)."),
    Setting("seed", ("seed",), int, "Seed for ids, generated seeds, jitter and fault decisions."),
    Setting("clock", ("clock", "mode"), str, "Clock mode: speed, instant or manual."),
    Setting("speed", ("clock", "speed"), float, "Virtual seconds per real second in speed mode."),
    Setting("jitter", ("clock", "jitter"), float, "Seeded spread of queue/render times (0..1)."),
    Setting("max-delay-seconds", ("limits", "max_delay_seconds"), float, "Longest wait a fault may cause (seconds)."),
    Setting("cache-dir", ("video", "cache_dir"), _maybe_none, "Directory for rendered videos and input images."),
    Setting("cache-max-bytes", ("video", "cache_max_bytes"), int, "Video cache size cap (bytes)."),
    Setting("image-cache-max-bytes", ("video", "image_cache_max_bytes"), int, "Input image cache size cap (bytes)."),
    Setting("ffmpeg", ("video", "ffmpeg"), _maybe_none, "ffmpeg binary to use instead of the bundled one."),
)


def _schema() -> dict[str, Any]:
    return load_schema("config")


def apply_defaults(schema: Mapping[str, Any], doc: Any) -> Any:
    """Fill in every ``default`` the schema declares, recursively, without touching given values."""
    if not isinstance(doc, dict) or schema.get("type") != "object":
        return doc
    for name, sub in schema.get("properties", {}).items():
        if name not in doc and "default" in sub:
            doc[name] = copy.deepcopy(sub["default"])
        if name in doc:
            doc[name] = apply_defaults(sub, doc[name])
    return doc


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        doc = doc.setdefault(part, {})
    doc[path[-1]] = value


def merge_config(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base`` in place: tables merge, everything else (lists, values) replaces."""
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge_config(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {os.fspath(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {os.fspath(path)!r} is not valid TOML: {exc}") from None


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw is None:
            continue
        try:
            value = [setting.parse(p.strip()) for p in raw.split(",") if p.strip()] if setting.multiple else setting.parse(raw)
        except ValueError:
            raise ConfigError(f"{setting.env}={raw!r}: {setting.help}") from None
        _set(doc, setting.path, value)
    return doc


def from_flags(flags: Mapping[str, Any]) -> dict[str, Any]:
    """CLI values keyed by flag name (dashes or underscores); None and empty tuples mean 'not given'."""
    doc: dict[str, Any] = {}
    for setting in SETTINGS:
        value = flags.get(setting.flag, flags.get(setting.flag.replace("-", "_")))
        if value is None or (setting.multiple and not value):
            continue
        _set(doc, setting.path, list(value) if setting.multiple else value)
    return doc


def build_config(
    *layers: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Merge layers (later wins) over the defaults and validate. Raises ConfigError."""
    doc: dict[str, Any] = {}
    for layer in layers:
        if layer:
            merge_config(doc, layer)
    return check_config(doc)


def check_config(doc: Any) -> dict[str, Any]:
    """Defaults applied, schema checked, catalog overrides checked, secrets replaced by their fingerprints;
    the returned copy is the config."""
    doc = apply_defaults(_schema(), copy.deepcopy(doc)) if isinstance(doc, dict) else doc
    where = first_non_finite(doc)
    if where is not None:
        param = param_name(json_pointer(where))
        raise ConfigError(f"invalid configuration: {param} is not a finite number; numbers must be finite", param)
    violations = validate_against("config", doc)
    if violations:
        raise ConfigError("invalid configuration: " + "; ".join(v.message for v in violations), violations[0].param)
    try:
        Catalog.load(doc["models"])
        compile_rules(doc["faults"], max_delay=doc["limits"]["max_delay_seconds"])
    except (CatalogError, FaultSpecError) as exc:
        raise ConfigError(f"invalid configuration: {exc}", exc.param) from None
    key_pairs(doc["auth"]["kling_keys"])
    _check_allow_lists(doc["video"]["image_fetch"], "video.image_fetch")
    _check_allow_lists(doc["webhooks"], "webhooks")
    _check_endpoints(doc["webhooks"])
    return without_secrets(doc)


def _check_allow_lists(section: Mapping[str, Any], setting: str) -> None:
    """The hosts and networks an outbound policy allows must be ones a URL can name and networks at all."""
    for key, check in (("allow_hosts", check_hosts), ("allow_private_networks", parse_networks)):
        try:
            check(section[key])
        except ValueError as exc:
            param = f"{setting}.{key}"
            raise ConfigError(f"invalid configuration: {param}: {exc}", param) from None


def _check_endpoints(webhooks: Mapping[str, Any]) -> None:
    """Each endpoint's URL must be one deliveries may go to, and no two endpoints may share a name (the
    admin API and the delivery records name them)."""
    policy = delivery_policy(webhooks)
    seen: set[str] = set()
    for index, endpoint in enumerate(webhooks["endpoints"]):
        try:
            check_url(endpoint["url"], policy)
        except Refused as exc:
            param = f"webhooks.endpoints.{index}.url"
            raise ConfigError(f"invalid configuration: {param}: {exc}", param) from None
        secret = endpoint.get("secret")
        if secret is not None and not is_fingerprint(secret) and len(secret.removeprefix("whsec_")) % 4:
            param = f"webhooks.endpoints.{index}.secret"
            raise ConfigError(f"invalid configuration: {param} is not whsec_ followed by base64 (its length is not a "
                              "multiple of 4)", param)
        name = endpoint.get("name") or f"endpoint-{index + 1}"
        if name in seen:
            param = f"webhooks.endpoints.{index}.name"
            raise ConfigError(f"invalid configuration: {param}: another endpoint is named {name!r} already", param)
        seen.add(name)


def key_pairs(entries: list[str]) -> dict[str, str]:
    """``auth.kling_keys`` as access key -> secret key (or, once the store keeps them, the fingerprint naming it in
    the vault). Raises ConfigError naming the entry at fault; no message shows an entry, which holds a secret."""
    pairs: dict[str, str] = {}
    for n, entry in enumerate(entries):
        param = f"auth.kling_keys.{n}"
        access, colon, secret = entry.partition(":")
        if not (access and colon and secret):
            raise ConfigError(f"invalid configuration: {param} is not ACCESS_KEY:SECRET_KEY (an access key, a colon "
                              "and its secret key; the value is not shown, as it holds a secret)", param)
        if access in pairs:
            raise ConfigError(f"invalid configuration: {param}: access key {access!r} is given twice", param)
        pairs[access] = secret
    return pairs


def without_secrets(doc: dict[str, Any]) -> dict[str, Any]:
    """The config with every API key and the admin token replaced by its fingerprint (a fingerprint stays as
    it is), so that what the store keeps and the admin API returns reveals no secret, and a document read
    from ``GET /__admin/config`` can be sent back unchanged. The secrets a signature is checked or made with
    (webhook secrets, Kling's secret keys) stay whole here: the store's vault seals them as the config is
    published (:func:`videomock.core.vault.seal_config`)."""
    auth = doc["auth"]
    auth["api_keys"] = list(dict.fromkeys(owner_of(key) for key in auth["api_keys"]))
    if auth["admin_token"] is not None:
        auth["admin_token"] = owner_of(auth["admin_token"])
    for rule in doc["faults"]:
        if "key" in rule:
            rule["key"] = owner_of(rule["key"])
    gateway = doc["gateway"]
    gateway["keys"] = {owner_of(key): profile for key, profile in gateway["keys"].items()}
    return doc


def load_config(
    *,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The config from every source, lowest precedence first: defaults, file, environment, flags, overrides.

    ``VIDEOMOCK_CONFIG`` names the file when ``config_file`` is not given.
    """
    environ = os.environ if environ is None else environ
    path = config_file or environ.get("VIDEOMOCK_CONFIG")
    file_doc = read_config_file(path) if path else None
    return build_config(file_doc, from_environment(environ), from_flags(flags or {}), overrides)


def default_cache_dir() -> Path:
    """Rendered videos live in the user's cache directory (``$XDG_CACHE_HOME/videomock/videos`` on Linux):
    deleting them costs only a re-render."""
    return platformdirs.user_cache_path("videomock") / "videos"


def default_store_path(host: str, port: int) -> Path:
    """Where ``videomock serve`` keeps its store when none is named: a file per address in the user's state
    directory (``$XDG_STATE_HOME/videomock`` on Linux), so that two servers never share state unless told to
    (the same ``--store``), while a server restarted on its address carries on with its tasks. State is not
    a cache: deleting it loses tasks."""
    address = "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in host)
    return platformdirs.user_state_path("videomock") / f"store-{address}-{port}.db"
