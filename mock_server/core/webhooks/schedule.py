"""When a failed delivery is tried again, and where deliveries may go at all (the config's ``webhooks``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from videomock.core.outbound import Policy, parse_networks

#: The most of an answer's body a delivery reads (and drops): a receiver's answer is not kept.
ANSWER_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Schedule:
    """Exponential back-off on the virtual clock: the wait after failed attempt ``n`` is
    ``first_retry * 2 ** (n - 1)`` seconds, at most ``max_retry``, and there are ``max_attempts`` in all."""

    max_attempts: int
    first_retry: float
    max_retry: float

    @classmethod
    def of(cls, webhooks: Mapping[str, Any]) -> Schedule:
        return cls(webhooks["max_attempts"], webhooks["first_retry_seconds"], webhooks["max_retry_seconds"])

    def retry_after(self, attempts: int) -> float | None:
        """Virtual seconds from failed attempt number ``attempts`` to the next; None when none is left."""
        if attempts >= self.max_attempts:
            return None
        return float(min(self.first_retry * 2 ** (attempts - 1), self.max_retry))


def delivery_policy(webhooks: Mapping[str, Any]) -> Policy:
    """The outbound policy of deliveries: the same URL and address checks as image fetching, under their own
    allow-lists (loopback by default: the app under test usually runs on the same machine)."""
    return Policy(label="webhook delivery", setting="webhooks", allow_hosts=tuple(webhooks["allow_hosts"]),
                  allow_networks=parse_networks(webhooks["allow_private_networks"]), timeout=webhooks["timeout"],
                  max_bytes=ANSWER_MAX_BYTES)
