"""The control API under /__admin/: configuration, clock, reset, the journal and tasks.

Tests drive the fake through it (or through the same backend methods, in-process). When an admin token is
configured, only that token opens it: a provider API key alone never does.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, request

from videomock.config import ConfigError
from videomock.core.backend import TaskView
from videomock.core.clock import ClockError
from videomock.core.errors import APIError
from videomock.core.keys import owner_of
from videomock.http.auth import bearer_token
from videomock.http.bodies import parse_json_body
from videomock.http.context import backend

admin = Blueprint("admin", __name__, url_prefix="/__admin")

ADMIN_TOKEN_HEADER = "X-Videomock-Admin-Token"


@admin.before_request
def _require_admin_token() -> None:
    token = backend().config["auth"]["admin_token"]
    if token is None:
        return
    given = request.headers.get(ADMIN_TOKEN_HEADER) or bearer_token(request.headers.get("Authorization")) or ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise APIError(401, f"The admin API needs the admin token (Authorization: Bearer <token> or {ADMIN_TOKEN_HEADER}).",
                       code="invalid_admin_token")


def _object_body() -> dict[str, Any]:
    body = parse_json_body(request)
    if not isinstance(body, dict):
        raise APIError(400, "The request body must be a JSON object.", code="invalid_type")
    return body


def _configured(apply: Any, body: Any) -> dict[str, Any]:
    try:
        return apply(body)
    except ConfigError as exc:
        raise APIError(400, str(exc), param=exc.param, code="invalid_config") from None


@admin.get("/config")
def get_config() -> Any:
    return dict(backend().config)


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


@admin.delete("/faults")
def clear_faults() -> Any:
    return {"faults": _configured(backend().update_config, {"faults": []})["faults"]}


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
        raise APIError(400, "seconds must be a number >= 0, as in {\"seconds\": 60}.", param="seconds", code="invalid_value")
    try:
        return {"now": backend().advance(float(seconds))}
    except ClockError as exc:
        raise APIError(400, f"{exc}.", param="seconds", code="invalid_value") from None


def _journal_filter(args: Mapping[str, str]) -> Any:
    """A predicate for journal entries from the query parameters."""
    method = args.get("method", "").upper() or None
    path = args.get("path")
    key = owner_of(args["key"]) if "key" in args else None
    task_id = args.get("task_id")
    fault = args.get("fault")
    status = None
    if "status" in args:
        if not args["status"].isdigit():
            raise APIError(400, "status must be an HTTP status code.", param="status", code="invalid_value")
        status = int(args["status"])

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
    keep = _journal_filter(request.args)
    entries = [e for e in backend().store.journal() if keep(e)]
    limit = request.args.get("limit")
    if limit is not None:
        if not limit.isdigit():
            raise APIError(400, "limit must be a whole number.", param="limit", code="invalid_value")
        entries = entries[-int(limit):] if int(limit) else []
    return {"requests": entries}


def task_summary(view: TaskView) -> dict[str, Any]:
    task, state = view.task, view.state
    return {
        "task_id": task.id, "key": task.owner, "model": task.model, "status": state.status,
        "progress": state.progress, "error": state.error, "params": task.params,
        "created_at": task.created_at, "queue_seconds": task.queue_seconds, "render_seconds": task.render_seconds,
        "plan": {k: v for k, v in vars(task.plan).items() if v is not None}, "rendered": task.rendered,
    }


@admin.get("/tasks")
def tasks() -> Any:
    key = request.args.get("key")
    return {"tasks": [task_summary(v) for v in backend().views(None if key is None else owner_of(key))]}
