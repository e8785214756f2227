"""The ``X-Videomock-Fault`` header: one request scripting its own faults.

The header's directives become the same actions fault rules carry, checked against the same schema, so a
directive and a rule with the same parameters behave alike.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from videomock.contracts.schemas import CompiledSchema, load_schema
from videomock.contracts.validation import violations_of
from videomock.core.faults.actions import (
    Action,
    CorruptMedia,
    FaultSpecError,
    number_text,
    parse_action,
    where_it_applies,
)

HEADER = "X-Videomock-Fault"

HEADER_GRAMMAR = (
    f"{HEADER}: directive[; directive...], each name or name=value. Per request: status=429 "
    "[retry-after=S] [code=C] [message=M], delay=S or delay=MIN-MAX (at most limits.max_delay_seconds), reset, empty, malformed, truncate[=FRACTION], "
    "dribble[=BYTES[/SECONDS]], expire=TTL, redirect[=30X]. Per job (submit only): fail=REASON[@PROGRESS] "
    "(content_policy, upstream_error, timeout), stuck, stall=PROGRESS, slow=FACTOR, duration=SECONDS [queue=SECONDS], "
    "filter[=COUNT] (a safety filter withholds COUNT of the job's videos, default all), "
    "corrupt_media=KIND[:VALUE] (the job's files arrive damaged: no_moov[:FRACTION], zero_bytes, "
    "wrong_content_type[:TYPE], duration_mismatch[:SECONDS], bad_frame, wrong_codec[:hevc|vp9]). "
    "Per job, on its webhook events: "
    "webhook-duplicate, webhook-delay=SECONDS, webhook-out-of-order, webhook-drop, webhook-bad-signature, "
    "webhook-stale[=SECONDS], webhook-truncate[=FRACTION], webhook-early[=SECONDS]."
)

#: The webhook directives: name -> (action type, the field its value sets, whether a value is required).
WEBHOOK_DIRECTIVES: dict[str, tuple[str, str | None, bool]] = {
    "webhook-duplicate": ("webhook_duplicate", None, False),
    "webhook-delay": ("webhook_delay", "seconds", True),
    "webhook-out-of-order": ("webhook_out_of_order", None, False),
    "webhook-drop": ("webhook_drop", None, False),
    "webhook-bad-signature": ("webhook_bad_signature", None, False),
    "webhook-stale": ("webhook_stale_timestamp", "seconds", False),
    "webhook-truncate": ("webhook_truncated", "fraction", False),
    "webhook-early": ("webhook_early", "seconds", False),
}


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


def parse_fault_header(value: str, endpoint: str, *, max_delay: float) -> list[Action]:
    """Actions from an ``X-Videomock-Fault`` header; raises FaultSpecError naming the bad directive.
    ``max_delay`` is the ``limits.max_delay_seconds`` cap: a request asking to wait longer is told so rather
    than cut short, which would test something other than what it asked for."""
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
    actions = []
    for raw in _actions_from(directives, endpoint, max_delay):
        violations = violations_of(_action_validator(), raw)
        if violations:
            raise FaultSpecError(f"{raw['type']}: {violations[0].message}")
        action = parse_action(raw)
        if endpoint not in action.endpoints:
            raise FaultSpecError(f"{action.type} applies only to: {where_it_applies(action)} requests")
        actions.append(action)
    return actions


def _actions_from(d: dict[str, str | None], endpoint: str, max_delay: float) -> list[dict[str, Any]]:
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
    if "filter" in d:
        count = take("filter")
        actions.append({"type": "filter_outputs", **({"count": _integer("filter", count)} if count else {})})
    if "corrupt-media" in d:
        actions.append(_corruption(need("corrupt-media")))
    if "delay" in d:
        text = need("delay")
        low, dash, high = text.partition("-")
        if dash and low:
            action = {"type": "delay", "distribution": "uniform", "min": _number("delay", low), "max": _number("delay", high)}
            longest = max(action["min"], action["max"])
        else:
            action = {"type": "delay", "seconds": _number("delay", text)}
            longest = action["seconds"]
        if longest > max_delay:
            raise FaultSpecError(f"delay={text}: at most {number_text(max_delay)} s (limits.max_delay_seconds)")
        actions.append(action)
    for name in ("reset", "empty", "malformed"):
        if name in d:
            take(name)
            actions.append({"type": "malformed_json" if name == "malformed" else name})
    if "truncate" in d:
        fraction = take("truncate")
        kind = "truncated_download" if endpoint == "download" else "truncated_json"
        actions.append({"type": kind, **({"fraction": _number("truncate", fraction)} if fraction else {})})
    if "dribble" in d:
        pace = take("dribble")
        action = {"type": "dribble"}
        if pace:
            size, _, interval = pace.partition("/")
            action["bytes_per_chunk"] = _integer("dribble", size)
            if interval:
                action["interval"] = _number("dribble", interval)
        actions.append(action)
    if "expire" in d:
        actions.append({"type": "expire_url", "ttl": _number("expire", need("expire"))})
    if "redirect" in d:
        status = take("redirect")
        actions.append({"type": "redirect", **({"status": _integer("redirect", status)} if status else {})})
    for name, (kind, field, required) in WEBHOOK_DIRECTIVES.items():
        if name in d:
            given = need(name) if required else take(name)
            if field is None and given:
                raise FaultSpecError(f"directive {name!r} takes no value")
            actions.append({"type": kind, **({field: _number(name, given)} if field and given else {})})
    if d:
        raise FaultSpecError(f"unknown directive {next(iter(d))!r}")
    return actions


def _corruption(text: str) -> dict[str, Any]:
    """``KIND[:VALUE]``, the value being the one field the kind reads (a number where the schema wants one)."""
    kind, has_value, value = (part.strip() for part in text.partition(":"))
    action: dict[str, Any] = {"type": "corrupt_media", "kind": kind}
    if has_value:
        name = CorruptMedia.PARAMETERS.get(kind)
        if name is None:
            raise FaultSpecError(f"corrupt_media={text}: {kind} takes no value")
        parsers = {"fraction": _number, "seconds": _integer}
        action[name] = parsers[name]("corrupt_media", value) if name in parsers else value
    return action


@cache
def _action_validator() -> CompiledSchema:
    config = load_schema("config")
    return CompiledSchema({"$defs": config["$defs"], "$ref": "#/$defs/action"}, check=False)
