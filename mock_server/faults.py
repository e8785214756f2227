"""Fault rules: which requests they match, when they fire, and what they do.

Rules come from the config (and so from the config file or ``PUT /__admin/config``); one request can also
script its own faults with the ``X-Videomock-Fault`` header (grammar in :func:`parse_fault_header`). Firing
is decided from the seed and a per-rule match counter kept in the store, never from a shared random
generator, so the same seed and request sequence give the same faults in any process.

The backend decides; the HTTP layer renders. Decisions are written to the request's
:class:`~mock_server.exchange.Exchange`, so the journal and the transport layer can act on them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.schemas import CompiledSchema, load_schema
from contracts.validation import violations_of
from mock_server import rng
from mock_server.exchange import Exchange

HEADER = "X-Videomock-Fault"

ENDPOINTS = ("submit", "poll", "download", "models")

#: Actions that shape a task's future; decided at submit and kept in the task's plan.
JOB_ACTIONS = frozenset({"fail_task", "stuck", "stall", "slow", "duration"})
#: Actions that break the HTTP exchange itself; applied by :mod:`mock_server.transport`.
TRANSPORT_ACTIONS = frozenset({"reset", "empty", "truncated_json", "malformed_json", "dribble", "truncated_download"})
#: Where an action can take effect, when not everywhere.
ACTION_ENDPOINTS: Mapping[str, frozenset[str]] = {
    **{a: frozenset({"submit"}) for a in JOB_ACTIONS},
    "truncated_json": frozenset({"submit", "poll", "models"}),
    "malformed_json": frozenset({"submit", "poll", "models"}),
    "truncated_download": frozenset({"download"}),
    "expire_url": frozenset({"poll"}),
    "redirect": frozenset({"download"}),
}

#: The task error for each failure reason. Codes follow Kling's numbering where it has one (1301).
FAILURE_REASONS: Mapping[str, tuple[int, str]] = {
    "content_policy": (1301, "The generated content was blocked by the provider's safety filter."),
    "upstream_error": (5000, "The upstream model provider returned an error."),
    "timeout": (5004, "The upstream model provider timed out."),
}

#: Defaults for injected HTTP errors: (code, message).
HTTP_ERROR_DEFAULTS: Mapping[int, tuple[str, str]] = {
    400: ("content_policy_violation", "Your request was rejected by the safety system; the prompt or image may contain content that is not allowed."),
    401: ("invalid_api_key", "Incorrect API key provided."),
    403: ("insufficient_user_quota", "Insufficient quota for this request."),
    404: ("not_found", "The requested resource was not found."),
    429: ("rate_limit_exceeded", "Rate limit reached for requests. Please retry after a while."),
    500: ("internal_error", "The server had an error while processing your request."),
    502: ("bad_gateway", "Bad gateway: the upstream provider returned an invalid response."),
    503: ("service_unavailable", "No available channel for this model; the service is temporarily unavailable."),
    504: ("gateway_timeout", "Gateway timeout: the upstream provider did not answer in time."),
}


class FaultSpecError(ValueError):
    """A fault rule or header is malformed; the message says what is allowed."""


@dataclass(frozen=True)
class Rule:
    id: str
    endpoints: frozenset[str]
    action: Mapping[str, Any]
    model: str | None = None
    key: str | None = None            # fingerprint (key_...) of the API key the rule is for
    prompt_contains: str | None = None
    probability: float | None = None
    times: int | None = None
    every: int | None = None
    after: int = 0
    #: Names the rule's match counter: a changed rule starts counting afresh, a re-sent identical one does not.
    counter: str = ""

    def matches(self, facts: RequestFacts) -> bool:
        if facts.endpoint not in self.endpoints:
            return False
        if self.model is not None and facts.model != self.model:
            return False
        if self.key is not None and facts.owner != self.key:
            return False
        return self.prompt_contains is None or self.prompt_contains in (facts.prompt or "")


@dataclass(frozen=True)
class RequestFacts:
    """What rules match on."""

    endpoint: str
    owner: str | None = None
    model: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class Firing:
    rule: str
    action: Mapping[str, Any]
    match: int | None = None          # which matching request this was (None for the header)

    def journal(self) -> dict[str, Any]:
        return {"rule": self.rule, "match": self.match, **self.action}


def compile_rules(rules: Sequence[Mapping[str, Any]], fingerprint: Any) -> list[Rule]:
    """Rules from their config form (already schema-checked). ``fingerprint`` maps an API key to its id.
    Raises FaultSpecError for a rule whose action can never apply to the endpoints it names."""
    compiled = []
    for index, raw in enumerate(rules):
        rule_id = raw.get("id") or f"rule-{index + 1}"
        endpoint = raw.get("endpoint", "any")
        named = frozenset(ENDPOINTS) if endpoint == "any" else frozenset([endpoint] if isinstance(endpoint, str) else endpoint)
        action = dict(raw["action"])
        endpoints = named & ACTION_ENDPOINTS.get(action["type"], frozenset(ENDPOINTS))
        if not endpoints:
            allowed = ", ".join(sorted(ACTION_ENDPOINTS[action["type"]]))
            raise FaultSpecError(f"fault rule {rule_id!r}: a {action['type']} action applies only to: {allowed}")
        key = raw.get("key")
        digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:12]
        compiled.append(Rule(
            id=rule_id, endpoints=endpoints, action=action, model=raw.get("model"),
            key=(key if key is None or key.startswith("key_") else fingerprint(key)),
            prompt_contains=raw.get("prompt_contains"), probability=raw.get("probability"),
            times=raw.get("times"), every=raw.get("every"), after=raw.get("after", 0),
            counter=f"fault:{rule_id}:{digest}",
        ))
    return compiled


def fire(rules: Iterable[Rule], facts: RequestFacts, *, seed: int, next_match: Any) -> list[Firing]:
    """The rules that fire for this request. ``next_match(counter)`` atomically counts a match (store.next_id)."""
    fired = []
    for rule in rules:
        if not rule.matches(facts):
            continue
        n = next_match(rule.counter)
        k = n - rule.after
        if k <= 0:
            continue
        if rule.times is not None and k > rule.times:
            continue
        if rule.every is not None and k % rule.every:
            continue
        if rule.probability is not None and rng.unit(seed, "fault", rule.counter, n) >= rule.probability:
            continue
        fired.append(Firing(rule.id, rule.action, n))
    return fired


def delay_seconds(action: Mapping[str, Any], seed: int, *parts: object) -> float:
    """The real seconds a delay action waits, drawn from the seed."""
    kind = action.get("distribution", "fixed")
    if kind == "uniform":
        low, high = action.get("min", 0.0), action.get("max", action.get("min", 0.0))
        return low + (high - low) * rng.unit(seed, "delay", *parts)
    if kind == "lognormal":
        return rng.lognormal(seed, action.get("median", 0.1), action.get("sigma", 0.5), "delay", *parts)
    return float(action.get("seconds", 0.0))


def record(exchange: Exchange, firings: Iterable[Firing], seed: int, endpoint: str) -> Mapping[str, Any] | None:
    """Note the firings on the exchange. Returns the HTTP error action to answer with, if any.

    Several faults may fire at once: delays add up, the first HTTP error and the first transport fault
    win, and job actions all apply (see :func:`job_plan`)."""
    http_error = None
    for firing in firings:
        action = firing.action
        kind = action["type"]
        if endpoint not in ACTION_ENDPOINTS.get(kind, ENDPOINTS):
            continue
        exchange.applied.append(firing)
        if kind == "delay":
            exchange.delay += delay_seconds(action, seed, firing.rule, firing.match)
        elif kind == "http_error":
            http_error = http_error or action
        elif kind in TRANSPORT_ACTIONS:
            exchange.transport = exchange.transport or action
        elif kind == "expire_url":
            exchange.expire_ttl = action["ttl"]
        elif kind == "redirect":
            exchange.redirect = action
    return http_error


def http_error_parts(action: Mapping[str, Any]) -> tuple[int, str, str, dict[str, str]]:
    """(status, message, code, headers) for an injected HTTP error."""
    status = int(action["status"])
    code, message = HTTP_ERROR_DEFAULTS[status]
    headers = {}
    if status == 429 or "retry_after" in action:
        headers["Retry-After"] = str(math.ceil(action.get("retry_after", 1)))
    return status, action.get("message", message), action.get("code", code), headers


# --- the X-Videomock-Fault header -------------------------------------------------------------------------

HEADER_GRAMMAR = (
    f"{HEADER}: directive[; directive...], each name or name=value. Per request: status=429 "
    "[retry-after=S] [code=C] [message=M], delay=S or delay=MIN-MAX, reset, empty, malformed, truncate[=FRACTION], "
    "dribble[=BYTES[/SECONDS]], expire=TTL, redirect[=30X]. Per job (submit only): fail=REASON[@PROGRESS] "
    "(content_policy, upstream_error, timeout), stuck, stall=PROGRESS, slow=FACTOR, duration=SECONDS [queue=SECONDS]."
)


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{name}={text!r}: expected a number") from None
    if not math.isfinite(value):
        raise FaultSpecError(f"{name}={text!r}: expected a finite number")
    return value


def _integer(name: str, text: str) -> int:
    value = _number(name, text)
    if value != int(value):
        raise FaultSpecError(f"{name}={text!r}: expected a whole number")
    return int(value)


def parse_fault_header(value: str, endpoint: str) -> list[dict[str, Any]]:
    """Actions from an ``X-Videomock-Fault`` header; raises FaultSpecError naming the bad directive."""
    directives: dict[str, str | None] = {}
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        name, has_value, text = part.partition("=")
        name = name.strip().lower().replace("_", "-")
        if name in directives:
            raise FaultSpecError(f"directive {name!r} is given twice")
        directives[name] = text.strip() if has_value else None
    actions = _actions_from(directives, endpoint)
    validator = _action_validator()
    for action in actions:
        violations = violations_of(validator, action)
        if violations:
            raise FaultSpecError(f"{action['type']}: {violations[0].message}")
        kind = action["type"]
        if endpoint not in ACTION_ENDPOINTS.get(kind, ENDPOINTS):
            allowed = ", ".join(sorted(ACTION_ENDPOINTS[kind]))
            raise FaultSpecError(f"{kind} applies only to: {allowed} requests")
    return actions


def _actions_from(d: dict[str, str | None], endpoint: str) -> list[dict[str, Any]]:
    def take(name: str) -> str | None:
        return d.pop(name)

    def need(name: str) -> str:
        text = d.pop(name)
        if not text:
            raise FaultSpecError(f"directive {name!r} needs a value, as in {name}=...")
        return text

    actions: list[dict[str, Any]] = []
    if "status" in d:
        action: dict[str, Any] = {"type": "http_error", "status": _integer("status", need("status"))}
        for name, key in (("retry-after", "retry_after"), ("code", "code"), ("message", "message")):
            if name in d:
                text = need(name)
                action[key] = _number(name, text) if key == "retry_after" else text
        actions.append(action)
    if "fail" in d:
        reason, _, progress = need("fail").partition("@")
        action = {"type": "fail_task", "reason": reason.strip()}
        if "at" in d:
            progress = need("at")
        if progress:
            action["at_progress"] = _integer("at", progress)
        actions.append(action)
    if "stuck" in d:
        take("stuck")
        actions.append({"type": "stuck"})
    if "stall" in d:
        actions.append({"type": "stall", "at_progress": _integer("stall", need("stall"))})
    if "slow" in d:
        actions.append({"type": "slow", "factor": _number("slow", need("slow"))})
    if "duration" in d:
        action = {"type": "duration", "seconds": _number("duration", need("duration"))}
        if "queue" in d:
            action["queue_seconds"] = _number("queue", need("queue"))
        actions.append(action)
    if "delay" in d:
        text = need("delay")
        low, dash, high = text.partition("-")
        if dash and low:
            actions.append({"type": "delay", "distribution": "uniform", "min": _number("delay", low), "max": _number("delay", high)})
        else:
            actions.append({"type": "delay", "seconds": _number("delay", text)})
    for name in ("reset", "empty", "malformed"):
        if name in d:
            take(name)
            actions.append({"type": "malformed_json" if name == "malformed" else name})
    if "truncate" in d:
        text = take("truncate")
        kind = "truncated_download" if endpoint == "download" else "truncated_json"
        actions.append({"type": kind, **({"fraction": _number("truncate", text)} if text else {})})
    if "dribble" in d:
        text = take("dribble")
        action = {"type": "dribble"}
        if text:
            size, _, interval = text.partition("/")
            action["bytes_per_chunk"] = _integer("dribble", size)
            if interval:
                action["interval"] = _number("dribble", interval)
        actions.append(action)
    if "expire" in d:
        actions.append({"type": "expire_url", "ttl": _number("expire", need("expire"))})
    if "redirect" in d:
        text = take("redirect")
        actions.append({"type": "redirect", **({"status": _integer("redirect", text)} if text else {})})
    if d:
        raise FaultSpecError(f"unknown directive {next(iter(d))!r}")
    return actions


_VALIDATORS: list[Any] = []


def _action_validator() -> Any:
    if not _VALIDATORS:
        config = load_schema("config")
        _VALIDATORS.append(CompiledSchema({"$defs": config["$defs"], "$ref": "#/$defs/action"}, check=False))
    return _VALIDATORS[0]


def header_firings(actions: Iterable[Mapping[str, Any]]) -> list[Firing]:
    return [Firing("header", action) for action in actions]


# --- job faults become the task's plan ---------------------------------------------------------------------

@dataclass(frozen=True)
class JobShape:
    """How job actions change a task: its plan and its timeline."""

    outcome: str = "complete"
    at_progress: int = 0
    reason: str | None = None
    message: str | None = None
    slow: float = 1.0
    total_seconds: float | None = None
    queue_seconds: float | None = None


def job_shape(firings: Iterable[Firing]) -> JobShape:
    """Merge every job action that fired. The first outcome-changing action (fail, stuck, stall) wins."""
    shape: dict[str, Any] = {}
    for firing in firings:
        action = firing.action
        kind = action["type"]
        if kind not in JOB_ACTIONS:
            continue
        if kind in ("fail_task", "stuck", "stall") and "outcome" not in shape:
            shape["outcome"] = {"fail_task": "fail", "stuck": "stuck", "stall": "stall"}[kind]
            shape["at_progress"] = action.get("at_progress", 0)
            shape["reason"] = action.get("reason")
            shape["message"] = action.get("message")
        elif kind == "slow":
            shape["slow"] = shape.get("slow", 1.0) * action["factor"]
        elif kind == "duration":
            shape["total_seconds"] = action["seconds"]
            shape["queue_seconds"] = action.get("queue_seconds")
    return JobShape(**shape)
