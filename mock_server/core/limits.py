"""Per-key quota and concurrency, as real providers enforce them.

Kling answers 429 when a key has too many tasks in flight; gateways answer 403 insufficient_user_quota
when a key's balance is spent. Credits are counted in the store (milli-credits, atomically), so several
workers share one balance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from videomock.contracts.catalog import ModelSpec
from videomock.core.errors import provider_error
from videomock.core.tasks import finished_by_timeline
from videomock.store import Store


def _credits_counter(owner: str) -> str:
    return f"credits:{owner}"


def task_cost(spec: ModelSpec, duration: int) -> int:
    """A task's price in milli-credits."""
    return round(spec.credits_per_second * duration * 1000)


def check_in_flight(limits: Mapping[str, Any], store: Store, owner: str, now: float) -> None:
    most = limits["max_in_flight"]
    if most is None:
        return
    unfinished = sum(1 for task in store.tasks(owner) if not finished_by_timeline(task, now))
    if unfinished >= most:
        raise provider_error("concurrency_limit_exceeded", f"Too many tasks in flight for this API key ({unfinished}; "
                             f"at most {most}). Wait for one to finish.",
                             headers={"Retry-After": str(max(1, round(limits["retry_after"])))})


def charge(limits: Mapping[str, Any], store: Store, owner: str, cost: int) -> None:
    """Take ``cost`` from the key's balance, or refuse with 403 when it would go negative."""
    budget = limits["credits"]
    if budget is None:
        return
    allowed = round(budget * 1000)
    spent = store.increment(_credits_counter(owner), cost)
    if spent > allowed:
        store.increment(_credits_counter(owner), -cost)
        raise provider_error("insufficient_user_quota", f"Insufficient quota: this task costs {_credits(cost)} credits "
                             f"and {_credits(max(0, allowed - (spent - cost)))} of {_credits(allowed)} remain.")


def _credits(milli: int) -> str:
    """Milli-credits as credits, every digit shown: rounded to a few digits, a cost just over the balance
    (1000.001 of 1000) would read as affordable."""
    whole, fraction = divmod(milli, 1000)
    return f"{whole}.{fraction:03d}".rstrip("0").rstrip(".")
