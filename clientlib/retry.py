"""When and how long to wait before trying a request again.

Exponential backoff with "equal jitter" (half the step fixed, half random), so delays grow for certain
while clients that failed together spread out. A server's ``Retry-After`` wins over the computed delay,
unless it asks for longer than ``max_delay``: then the client gives up and raises, leaving the decision
(and the ``retry_after`` value) to the caller instead of blocking for an unbounded time.

Randomness, sleeping and the wall clock are injected so tests run instantly and deterministically.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

#: Statuses worth another try: the request was refused for now (429) or the server failed (5xx).
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    #: Wall clock, for Retry-After given as an HTTP-date.
    now: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.base_delay <= self.max_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")

    def backoff(self, attempt: int) -> float:
        """The delay after failed attempt number ``attempt`` (1-based)."""
        step = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return step / 2 + self.rng.uniform(0, step / 2)

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_delay else None
        return self.backoff(attempt)

    def retry_after(self, header: str | None) -> float | None:
        """``Retry-After`` in seconds: delta-seconds or an HTTP-date; None if absent or unreadable."""
        if header is None or not header.strip():
            return None
        text = header.strip()
        if text.isascii() and text.isdigit():  # isdigit() alone takes "²" for a digit, and float() refuses it
            return float(text)
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by RFC 5322
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - self.now())
