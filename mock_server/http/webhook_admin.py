"""The admin routes of webhook deliveries: their records, redelivery, the configured endpoints, and the sink.

- ``GET /__admin/webhooks/deliveries`` (``task_id``, ``endpoint``: a name or URL, ``state``, ``limit``), one by
  id, and ``POST .../{id}/redeliver``;
- ``GET|POST /__admin/webhooks/endpoints``, ``DELETE /__admin/webhooks/endpoints/{name}``: the configuration's
  ``webhooks.endpoints``, with secrets as fingerprints;
- ``POST|GET|DELETE /__admin/webhook-sink/{name}``: a receiver on the fake itself. Its POST needs no admin
  token, since what posts to it is the fake's own deliveries (the loopback rule still holds).
"""

from __future__ import annotations

import re
import time
from typing import Any

from flask import Blueprint, request

from videomock.core.errors import provider_error
from videomock.core.webhooks import sink
from videomock.core.webhooks.engine import STATES
from videomock.http.admin import _configured, _object_body, _query, _whole_number, check_admin_access
from videomock.http.context import backend

admin = Blueprint("webhook_admin", __name__, url_prefix="/__admin")

_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
DELIVERY_QUERY = ("task_id", "endpoint", "state", "limit")


@admin.before_request
def _require_admin_token() -> None:
    check_admin_access(token_needed=request.endpoint != "webhook_admin.receive_at_sink")


@admin.get("/webhooks/deliveries")
def deliveries() -> Any:
    """Delivery records in sending order, each with its attempts (status, latency, error) and final state."""
    args = _query(DELIVERY_QUERY)
    state = args.get("state")
    if state is not None and state not in STATES:
        raise provider_error("invalid_value", f"state must be one of {', '.join(STATES)}, not {state[:20]!r}.",
                             param="state")
    limit = _whole_number(args, "limit", 0, 1_000_000_000)
    found = backend().webhooks.records(task_id=args.get("task_id"), endpoint=args.get("endpoint"), state=state)
    if limit is not None:
        found = found[-limit:] if limit else []
    return {"deliveries": found}


@admin.get("/webhooks/deliveries/<delivery_id>")
def delivery(delivery_id: str) -> Any:
    found = backend().webhooks.record(delivery_id)
    if found is None:
        raise provider_error("webhook_delivery_not_found", f"No webhook delivery {delivery_id!r}.", param="delivery_id")
    return found


@admin.post("/webhooks/deliveries/<delivery_id>/redeliver")
def redeliver(delivery_id: str) -> Any:
    """Send it again now, without the faults of its first attempt."""
    return backend().webhooks.redeliver(delivery_id)


@admin.get("/webhooks/endpoints")
def endpoints() -> Any:
    return {"endpoints": backend().config["webhooks"]["endpoints"]}


@admin.post("/webhooks/endpoints")
def add_endpoint() -> Any:
    """Register an endpoint, as a provider's dashboard does: ``{"url", "events", "secret", "name"}``."""
    b = backend()
    added = [*b.config["webhooks"]["endpoints"], _object_body()]
    return {"endpoints": _configured(b.update_config, {"webhooks": {"endpoints": added}})["webhooks"]["endpoints"]}


@admin.delete("/webhooks/endpoints/<name>")
def remove_endpoint(name: str) -> Any:
    b = backend()
    current = b.config["webhooks"]["endpoints"]
    names = [endpoint.get("name") or f"endpoint-{n + 1}" for n, endpoint in enumerate(current)]
    if name not in names:
        raise provider_error("webhook_endpoint_not_found", f"No webhook endpoint {name!r}; the endpoints are: "
                             f"{', '.join(names) or 'none'}.", param="name")
    # The others keep the names they had, even those that were numbered by their place.
    kept = [{**endpoint, "name": n} for endpoint, n in zip(current, names, strict=True) if n != name]
    return {"endpoints": _configured(b.update_config, {"webhooks": {"endpoints": kept}})["webhooks"]["endpoints"]}


def _sink_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise provider_error("invalid_value", "A sink's name is 1 to 100 letters, digits, '.', '_' or '-'.", param="name")
    return name


@admin.post("/webhook-sink/<name>")
def receive_at_sink(name: str) -> Any:
    b = backend()
    count = sink.keep(b.store, _sink_name(name), dict(request.headers), request.get_data(),
                      at=b.clock.now(), wall=time.time())
    return {"received": count}


@admin.get("/webhook-sink/<name>")
def read_sink(name: str) -> Any:
    return {"received": sink.received(backend().store, _sink_name(name))}


@admin.delete("/webhook-sink/<name>")
def clear_sink(name: str) -> Any:
    sink.clear(backend().store, _sink_name(name))
    return {"received": []}
