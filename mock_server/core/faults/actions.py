"""What a fault does, as typed values parsed once from the config's (or the header's) JSON form.

Every default comes from the config schema (``$defs/action``), so the documentation users read, the
admin API's validation and the behaviour cannot drift apart; nothing downstream calls ``.get(key, default)``.
Actions are grouped by where they take effect:

- **job** actions shape a task's future and are decided at submit (they end up in the task's plan);
- **HTTP** actions answer with an error in the dialect's shape;
- **transport** actions break the exchange below HTTP (see :mod:`videomock.core.faults.fate`);
- **link** actions change the download links a poll or download hands out;
- a **delay** holds the answer back.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from videomock.contracts.errors import error_code
from videomock.contracts.schemas import load_schema
from videomock.core import rng

#: The endpoints fault rules name. Dialects map their routes onto these.
ENDPOINTS = ("submit", "poll", "download", "models", "list", "delete")
_ANYWHERE = frozenset(ENDPOINTS)


class FaultSpecError(ValueError):
    """A fault rule or header is malformed; the message says what is allowed, ``param`` (when known) is the
    dotted path of the offending setting."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@cache
def _branches() -> Mapping[str, Mapping[str, Any]]:
    """The config schema's action branches, by ``type``."""
    return {branch["properties"]["type"]["const"]: branch for branch in load_schema("config")["$defs"]["action"]["oneOf"]}


def schema_default(kind: str, name: str) -> Any:
    """The config schema's default for field ``name`` of action ``kind`` (None when it has none)."""
    return _branches()[kind]["properties"].get(name, {}).get("default")


def number_text(value: float) -> str:
    """``value`` as short as it reads exactly: a message comparing a value with its limit must not show two
    different numbers alike (``:g`` shows 60.0000001 as 60)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def schema_maximum(kind: str, name: str) -> float:
    """The config schema's maximum for field ``name`` of action ``kind``."""
    maximum: float = _branches()[kind]["properties"][name]["maximum"]
    return maximum


@dataclass(frozen=True)
class Action:
    """One fault action. Subclasses are frozen dataclasses whose fields mirror the schema's."""

    type: ClassVar[str]
    #: Where the action can take effect.
    endpoints: ClassVar[frozenset[str]] = _ANYWHERE

    def journal(self) -> dict[str, Any]:
        """The action as the journal shows it: its type and every field that has a value."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"type": self.type, **{k: v for k, v in fields.items() if v is not None}}


# --- job actions: decided at submit, kept in the task's plan --------------------------------------------------

_SUBMIT = frozenset({"submit"})


@dataclass(frozen=True)
class FailTask(Action):
    type: ClassVar[str] = "fail_task"
    endpoints: ClassVar[frozenset[str]] = _SUBMIT
    reason: str
    at_progress: int
    message: str | None = None


@dataclass(frozen=True)
class Stuck(Action):
    type: ClassVar[str] = "stuck"
    endpoints: ClassVar[frozenset[str]] = _SUBMIT


@dataclass(frozen=True)
class Stall(Action):
    type: ClassVar[str] = "stall"
    endpoints: ClassVar[frozenset[str]] = _SUBMIT
    at_progress: int


@dataclass(frozen=True)
class Slow(Action):
    type: ClassVar[str] = "slow"
    endpoints: ClassVar[frozenset[str]] = _SUBMIT
    factor: float


@dataclass(frozen=True)
class Duration(Action):
    type: ClassVar[str] = "duration"
    endpoints: ClassVar[frozenset[str]] = _SUBMIT
    seconds: float
    queue_seconds: float | None = None


@dataclass(frozen=True)
class FilterOutputs(Action):
    """A safety filter withholds videos once they are made: ``count`` of the task's (None: all of them)."""

    type: ClassVar[str] = "filter_outputs"
    endpoints: ClassVar[frozenset[str]] = _SUBMIT
    reason: str
    count: int | None = None


@dataclass(frozen=True)
class CorruptMedia(Action):
    """The job's video files arrive damaged (:mod:`videomock.media.damage` does the damage), while its polls
    describe the video asked for. Each kind reads at most one of the other fields."""

    type: ClassVar[str] = "corrupt_media"
    endpoints: ClassVar[frozenset[str]] = _SUBMIT
    #: The field each kind reads; the rest keep their schema defaults and do nothing.
    PARAMETERS: ClassVar[Mapping[str, str]] = {"no_moov": "fraction", "duration_mismatch": "seconds",
                                               "wrong_codec": "codec", "wrong_content_type": "content_type"}
    kind: str
    fraction: float
    seconds: int
    codec: str
    content_type: str

    @property
    def value(self) -> Any:
        """The one field this kind reads, None for the kinds that read none."""
        name = self.PARAMETERS.get(self.kind)
        return getattr(self, name) if name is not None else None

    def journal(self) -> dict[str, Any]:
        """The kind and the field it read: the other fields' defaults would only mislead."""
        name = self.PARAMETERS.get(self.kind)
        return {"type": self.type, "kind": self.kind, **({name: self.value} if name is not None else {})}


JobAction = FailTask | Stuck | Stall | Slow | Duration | FilterOutputs | CorruptMedia


# --- webhook actions: decided at submit, they shape the job's deliveries (videomock.core.webhooks.faults) -------

@dataclass(frozen=True)
class WebhookAction(Action):
    """What happens to some of the job's webhook events."""

    endpoints: ClassVar[frozenset[str]] = _SUBMIT

    def applies_to(self, status: str) -> bool:
        """Whether the action acts on the job's event that reports task status ``status``."""
        raise NotImplementedError


@dataclass(frozen=True)
class WebhookEventsAction(WebhookAction):
    """An action on the job's events whose task status is in ``events`` (None: all of them)."""

    events: tuple[str, ...] | None = None

    def applies_to(self, status: str) -> bool:
        return self.events is None or status in self.events


@dataclass(frozen=True)
class WebhookDuplicate(WebhookEventsAction):
    type: ClassVar[str] = "webhook_duplicate"


@dataclass(frozen=True)
class WebhookDelay(WebhookEventsAction):
    type: ClassVar[str] = "webhook_delay"
    seconds: float = 0.0


@dataclass(frozen=True)
class WebhookOutOfOrder(WebhookEventsAction):
    type: ClassVar[str] = "webhook_out_of_order"


@dataclass(frozen=True)
class WebhookDrop(WebhookEventsAction):
    type: ClassVar[str] = "webhook_drop"


@dataclass(frozen=True)
class WebhookBadSignature(WebhookEventsAction):
    type: ClassVar[str] = "webhook_bad_signature"


@dataclass(frozen=True)
class WebhookStaleTimestamp(WebhookEventsAction):
    type: ClassVar[str] = "webhook_stale_timestamp"
    seconds: float = 0.0


@dataclass(frozen=True)
class WebhookTruncated(WebhookEventsAction):
    type: ClassVar[str] = "webhook_truncated"
    fraction: float = 0.5


@dataclass(frozen=True)
class WebhookEarly(WebhookAction):
    """The terminal event goes out ``seconds`` before the task's end, which moves that much later."""

    type: ClassVar[str] = "webhook_early"
    seconds: float = 0.0

    def applies_to(self, status: str) -> bool:
        return status in ("completed", "failed")


# --- answering with an error --------------------------------------------------------------------------------

#: Defaults for injected HTTP errors, by status: (code, message). The status of each is the error table's
#: for its code, so an injected error with its default code answers as the table (and the OpenAPI document) say.
HTTP_ERROR_DEFAULTS: Mapping[int, tuple[str, str]] = {error_code(code).status: (code, message) for code, message in (
    ("content_policy_violation", "Your request was rejected by the safety system; the prompt or image may "
                                 "contain content that is not allowed."),
    ("invalid_api_key", "Incorrect API key provided."),
    ("insufficient_user_quota", "Insufficient quota for this request."),
    ("not_found", "The requested resource was not found."),
    ("rate_limit_exceeded", "Rate limit reached for requests. Please retry after a while."),
    ("internal_error", "The server had an error while processing your request."),
    ("bad_gateway", "Bad gateway: the upstream provider returned an invalid response."),
    ("service_unavailable", "No available channel for this model; the service is temporarily unavailable."),
    ("gateway_timeout", "Gateway timeout: the upstream provider did not answer in time."),
)}


@dataclass(frozen=True)
class HttpError(Action):
    type: ClassVar[str] = "http_error"
    status: int
    #: The schema's default applies to a 429 only, so it is not filled in here (see retry_after_header).
    retry_after: float | None = dataclasses.field(default=None, metadata={"fill_default": False})
    message: str | None = None
    code: str | None = None

    @property
    def retry_after_header(self) -> str | None:
        """Retry-After: always with a 429 (the schema's default when not given), otherwise when given."""
        if self.retry_after is None and self.status != 429:
            return None
        seconds = self.retry_after if self.retry_after is not None else schema_default(self.type, "retry_after")
        return str(math.ceil(seconds))

    @property
    def error_code(self) -> str:
        return self.code or HTTP_ERROR_DEFAULTS[self.status][0]

    @property
    def error_message(self) -> str:
        return self.message or HTTP_ERROR_DEFAULTS[self.status][1]


# --- holding the answer back ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Delay(Action):
    type: ClassVar[str] = "delay"
    distribution: str
    seconds: float
    min: float
    median: float
    sigma: float
    max: float | None = None

    def sample(self, seed: int, *parts: object) -> float:
        """The real seconds this delay waits, drawn from the seed and ``parts`` (the rule and its match)."""
        if self.distribution == "uniform":
            high = self.min if self.max is None else self.max
            return self.min + (high - self.min) * rng.unit(seed, "delay", *parts)
        if self.distribution == "lognormal":
            return rng.lognormal(seed, self.median, self.sigma, "delay", *parts)
        return float(self.seconds)


# --- breaking the exchange below HTTP ---------------------------------------------------------------------------

_JSON_ANSWERS = frozenset({"submit", "poll", "models", "list", "delete"})


@dataclass(frozen=True)
class Reset(Action):
    type: ClassVar[str] = "reset"


@dataclass(frozen=True)
class Empty(Action):
    type: ClassVar[str] = "empty"


@dataclass(frozen=True)
class TruncatedJson(Action):
    type: ClassVar[str] = "truncated_json"
    endpoints: ClassVar[frozenset[str]] = _JSON_ANSWERS
    fraction: float


@dataclass(frozen=True)
class MalformedJson(Action):
    type: ClassVar[str] = "malformed_json"
    endpoints: ClassVar[frozenset[str]] = _JSON_ANSWERS


@dataclass(frozen=True)
class Dribble(Action):
    type: ClassVar[str] = "dribble"
    bytes_per_chunk: int
    interval: float


@dataclass(frozen=True)
class TruncatedDownload(Action):
    type: ClassVar[str] = "truncated_download"
    endpoints: ClassVar[frozenset[str]] = frozenset({"download"})
    fraction: float


TransportAction = Reset | Empty | TruncatedJson | MalformedJson | Dribble | TruncatedDownload


# --- download links -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpireUrl(Action):
    type: ClassVar[str] = "expire_url"
    endpoints: ClassVar[frozenset[str]] = frozenset({"poll"})
    ttl: float


@dataclass(frozen=True)
class Redirect(Action):
    type: ClassVar[str] = "redirect"
    endpoints: ClassVar[frozenset[str]] = frozenset({"download"})
    status: int
    ttl: float


ACTIONS: Mapping[str, type[Action]] = {cls.type: cls for cls in (
    FailTask, Stuck, Stall, Slow, Duration, FilterOutputs, CorruptMedia, HttpError, Delay, Reset, Empty, TruncatedJson,
    MalformedJson, Dribble, TruncatedDownload, ExpireUrl, Redirect, WebhookDuplicate, WebhookDelay, WebhookOutOfOrder,
    WebhookDrop, WebhookBadSignature, WebhookStaleTimestamp, WebhookTruncated, WebhookEarly,
)}


def parse_action(raw: Mapping[str, Any]) -> Action:
    """The typed action of a schema-valid JSON action, every omitted field at the schema's default."""
    cls = ACTIONS[raw["type"]]
    values = {}
    for field in dataclasses.fields(cls):
        value = raw.get(field.name)
        if value is None and field.metadata.get("fill_default", True):
            value = schema_default(cls.type, field.name)
        if isinstance(value, list):   # JSON arrays (the events a webhook action applies to) as hashable tuples
            value = tuple(value)
        if value is not None or field.default is dataclasses.MISSING:
            values[field.name] = value
    return cls(**values)


def where_it_applies(action: type[Action] | Action) -> str:
    return ", ".join(sorted(action.endpoints))
