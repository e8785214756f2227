"""Small helpers the bench scripts share: repeated timing and a markdown table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def timings(action: Callable[[], object], runs: int, *, warmup: int = 1) -> list[float]:
    """Seconds per call, ``runs`` times, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
