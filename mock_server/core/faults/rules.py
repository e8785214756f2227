"""Fault rules: which requests they match, and when they fire among them.

Rules come from the config (and so from the config file or the admin API). Firing is decided from the seed
and a per-rule match counter kept in the store, never from a shared random generator, so the same seed and
request sequence give the same faults in any process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from videomock.core import rng
from videomock.core.faults.actions import (
    ENDPOINTS,
    Action,
    Delay,
    FaultSpecError,
    number_text,
    parse_action,
    where_it_applies,
)
from videomock.core.hashing import content_hash
from videomock.core.keys import owner_of


@dataclass(frozen=True)
class RequestFacts:
    """What rules match on."""

    endpoint: str
    owner: str | None = None
    model: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    endpoints: frozenset[str]
    action: Action
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
class Firing:
    """A fault that fired for one request: which rule (``header`` for X-Videomock-Fault) and which of its
    matches this was (None for the header)."""

    rule: str
    action: Action
    match: int | None = None
    #: The rule's match counter (None for the header), which names its count of firings too.
    counter: str | None = None

    def journal(self) -> dict[str, Any]:
        return {"rule": self.rule, "match": self.match, **self.action.journal()}


def fired_counter(counter: str) -> str:
    """The store counter of how often the rule with match counter ``counter`` fired."""
    return f"{counter}:fired"


def compile_rules(rules: Sequence[Mapping[str, Any]], *, max_delay: float) -> list[Rule]:
    """Rules from their config form (already schema-checked). Raises FaultSpecError for a rule whose action
    can never apply to the endpoints it names, or whose fixed delay is longer than ``max_delay`` (the
    ``limits.max_delay_seconds`` cap): it could never wait as long as it says. Sampled delays are cut to the
    cap when they are drawn instead, since most of their draws are within it."""
    compiled = []
    for index, raw in enumerate(rules):
        rule_id = raw.get("id") or f"rule-{index + 1}"
        endpoint = raw.get("endpoint", "any")
        named = frozenset(ENDPOINTS) if endpoint == "any" else frozenset([endpoint] if isinstance(endpoint, str) else endpoint)
        action = parse_action(raw["action"])
        endpoints = named & action.endpoints
        if not endpoints:
            raise FaultSpecError(f"fault rule {rule_id!r}: a {action.type} action applies only to: {where_it_applies(action)}")
        if isinstance(action, Delay) and action.distribution == "fixed" and action.seconds > max_delay:
            raise FaultSpecError(f"fault rule {rule_id!r}: a fixed delay of {number_text(action.seconds)} s is longer "
                                 f"than limits.max_delay_seconds allows (at most {number_text(max_delay)} s); raise "
                                 "the cap or shorten the delay", f"faults.{index}.action.seconds")
        key = raw.get("key")
        compiled.append(Rule(
            id=rule_id, endpoints=endpoints, action=action, model=raw.get("model"),
            key=None if key is None else owner_of(key),
            prompt_contains=raw.get("prompt_contains"), probability=raw.get("probability"),
            times=raw.get("times"), every=raw.get("every"), after=raw.get("after", 0),
            counter=f"fault:{rule_id}:{content_hash(raw)[:12]}",
        ))
    return compiled


def fire(rules: Iterable[Rule], facts: RequestFacts, *, seed: int, next_match: Callable[[str], int]) -> list[Firing]:
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
        fired.append(Firing(rule.id, rule.action, n, rule.counter))
    return fired
