"""The control API under /__admin/: configuration, clock, reset, the journal and tasks.

Tests drive the fake through it (or through the same backend methods, in-process). When an admin token is
configured, only that token opens it: a provider API key alone never does. Without one, a server that listens
beyond loopback answers admin requests from loopback clients only, so that a fake started with
``--host 0.0.0.0`` on a shared machine cannot be reconfigured by its neighbours.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, request

from videomock.config import ConfigError
from videomock.core.backend import TaskView
from videomock.core.clock import ClockError
from videomock.core.errors import provider_error
from videomock.core.keys import fingerprint, owner_of
from videomock.http.auth import bearer_token, is_loopback
from videomock.http.bodies import parse_json_body
from videomock.http.context import backend

admin = Blueprint("admin", __name__, url_prefix="/__admin")

ADMIN_TOKEN_HEADER = "X-Videomock-Admin-Token"


@admin.before_request
def _require_admin_token() -> None:
    check_admin_access()


def check_admin_access(*, token_needed: bool = True) -> None:
    """Either header carrying the token opens the API: a client may send a provider key as its bearer token
    and the admin token in the other header, or a stale admin header next to a right bearer token. A route
    that needs no token (``token_needed`` False) still answers loopback clients only, on a server without one."""
    config = backend().config
    token = config["auth"]["admin_token"]   # its fingerprint: the config keeps no secret
    if token is None:
        if not is_loopback(config["server"]["host"]) and not is_loopback(request.remote_addr or ""):
            raise provider_error("admin_loopback_only", "The admin API answers loopback clients only on this server, "
                                 "which has no admin token; start it with --admin-token to administer it remotely.")
        return
    if not token_needed:
        return
    given = (request.headers.get(ADMIN_TOKEN_HEADER), bearer_token(request.headers.get("Authorization")))
    if not any(value is not None and hmac.compare_digest(fingerprint(value), token) for value in given):
        raise provider_error("invalid_admin_token",
                             f"The admin API needs the admin token (Authorization: Bearer <token> or {ADMIN_TOKEN_HEADER}).")


def _query(allowed: Sequence[str]) -> dict[str, str]:
    """The query parameters, each at most once and all among ``allowed``. A misspelt filter that were ignored
    would answer with every entry, which reads as if they all matched."""
    args = request.args
    for name in args:
        if name not in allowed:
            raise provider_error("unknown_parameter", f"Unknown query parameter {name!r}; allowed: {', '.join(allowed)}.",
                                 param=name)
        if len(args.getlist(name)) > 1:
            raise provider_error("invalid_value", f"Query parameter {name!r} is given more than once; give it once.",
                                 param=name)
        if not args[name]:
            raise provider_error("invalid_value", f"Query parameter {name!r} is empty; give it a value or leave it "
                                 "out.", param=name)
    return args.to_dict()


def _whole_number(args: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """``args[name]`` as a number from ``low`` to ``high`` in ASCII digits (str.isdigit also takes "²", which
    int() refuses), or None when not given."""
    text = args.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(high)) and low <= int(text) <= high):
        raise provider_error("invalid_value", f"{name} must be a whole number from {low} to {high}, not {text[:20]!r}.",
                             param=name)
    return int(text)


def _object_body() -> dict[str, Any]:
    body = parse_json_body(request)
    if not isinstance(body, dict):
        raise provider_error("invalid_type", "The request body must be a JSON object.")
    return body


def _configured(apply: Any, body: Any) -> dict[str, Any]:
    try:
        return apply(body)
    except ConfigError as exc:
        raise provider_error("invalid_config", str(exc), param=exc.param) from None


@admin.get("/config")
def get_config() -> Any:
    return backend().config


@admin.put("/config")
def put_config() -> Any:
    """Replace the runtime configuration (startup-only sections may be omitted, not changed)."""
    return _configured(backend().configure, _object_body())


@admin.patch("/config")
def patch_config() -> Any:
    """Merge into the runtime configuration: tables merge, lists and values replace."""
    return _configured(backend().update_config, _object_body())


@admin.post("/faults")
def add_faults() -> Any:
    """Append one rule (an object) or several (an array) to the configured fault rules."""
    body = parse_json_body(request)
    rules = body if isinstance(body, list) else [body]
    b = backend()
    return {"faults": _configured(b.update_config, {"faults": [*b.config["faults"], *rules]})["faults"]}


@admin.get("/faults")
def list_faults() -> Any:
    """The rules, each with its id and how often it matched and fired since the last reset."""
    return {"faults": backend().fault_rules()}


@admin.delete("/faults")
def clear_faults() -> Any:
    return {"faults": _configured(backend().update_config, {"faults": []})["faults"]}


@admin.delete("/faults/<rule_id>")
def remove_fault(rule_id: str) -> Any:
    """Remove one rule; the answer is the rules left, with their counts."""
    backend().remove_fault_rule(rule_id)
    return {"faults": backend().fault_rules()}


@admin.post("/reset")
def reset() -> Any:
    """Forget tasks, the journal, rule counters, balances and the clock; keep the configuration."""
    backend().reset()
    return {"status": "reset"}


@admin.get("/clock")
def get_clock() -> Any:
    clock = backend().clock
    state = clock.state()
    return {"mode": state.mode, "speed": state.speed, "now": clock.now()}


@admin.post("/clock/advance")
def advance_clock() -> Any:
    seconds = _object_body().get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        raise provider_error("invalid_value", "seconds must be a number >= 0, as in {\"seconds\": 60}.", param="seconds")
    try:
        return {"now": backend().advance(float(seconds))}
    except ClockError as exc:
        raise provider_error("invalid_value", f"{exc}.", param="seconds") from None


#: The journal's query parameters: its filters, and how many of the newest entries to keep.
JOURNAL_QUERY = ("method", "path", "status", "key", "task_id", "fault", "limit")


def _journal_filter(args: Mapping[str, str]) -> Any:
    """A predicate for journal entries from the (checked) query parameters."""
    method = args.get("method")
    if method is not None:
        if not (method.isascii() and method.isalpha()):
            raise provider_error("invalid_value", f"method must be an HTTP method such as GET or POST, not "
                                 f"{method[:20]!r}.", param="method")
        method = method.upper()
    path = args.get("path")
    if path is not None and not path.startswith("/"):
        raise provider_error("invalid_value", f"path must start with / (a trailing * matches a prefix), not "
                             f"{path[:40]!r}.", param="path")
    key = owner_of(args["key"]) if "key" in args else None
    task_id = args.get("task_id")
    fault = args.get("fault")
    status = _whole_number(args, "status", 100, 599)

    def keep(entry: Mapping[str, Any]) -> bool:
        if method is not None and entry["method"] != method:
            return False
        if path is not None and not (entry["path"] == path or (path.endswith("*") and entry["path"].startswith(path[:-1]))):
            return False
        if status is not None and entry["status"] != status:
            return False
        if key is not None and entry["key"] != key:
            return False
        if task_id is not None and entry["task_id"] != task_id:
            return False
        return fault is None or any(fault in (f["rule"], f["type"]) for f in entry["fault"] or ())

    return keep


@admin.get("/requests")
def requests_journal() -> Any:
    """The journal, oldest first. Filters: method, path (a trailing * matches a prefix), status, key
    (the API key or its fingerprint), task_id, fault (rule id or action type); limit keeps the newest N."""
    args = _query(JOURNAL_QUERY)
    keep = _journal_filter(args)
    limit = _whole_number(args, "limit", 0, 1_000_000_000)
    entries = [e for e in backend().store.journal() if keep(e)]
    if limit is not None:
        entries = entries[-limit:] if limit else []
    return {"requests": entries}


def task_summary(view: TaskView) -> dict[str, Any]:
    task, state = view.task, view.state
    return {
        "task_id": task.id, "dialect": task.dialect, "key": task.owner, "model": task.model, "status": state.status,
        "progress": state.progress, "error": state.error, "params": task.params,
        "created_at": task.created_at, "completed_at": state.completed_at,
        "queue_seconds": task.queue_seconds, "render_seconds": task.render_seconds,
        "plan": {k: v for k, v in vars(task.plan).items() if v is not None}, "rendered": task.rendered,
    }


@admin.get("/tasks")
def tasks() -> Any:
    key = _query(("key",)).get("key")
    return {"tasks": [task_summary(v) for v in backend().views(None if key is None else owner_of(key))]}
