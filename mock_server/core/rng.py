"""Seeded, order-independent randomness.

Every random decision is a pure function of (seed, purpose, counter), never a draw from a shared generator.
That is what keeps outcomes identical across runs, across workers and after a restart: a decision does
not depend on how many other decisions happened before it in this process.
"""

from __future__ import annotations

import hashlib
import math

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _digest(seed: int, parts: tuple[object, ...]) -> bytes:
    text = "\x1f".join([str(seed), *map(str, parts)])
    return hashlib.blake2b(text.encode("utf-8"), digest_size=32).digest()


def derive(seed: int, *parts: object) -> int:
    """A 64-bit integer fixed by the seed and the parts."""
    return int.from_bytes(_digest(seed, parts)[:8], "big")


def unit(seed: int, *parts: object) -> float:
    """A float in [0, 1) fixed by the seed and the parts."""
    return derive(seed, *parts) / 2**64


def token(seed: int, *parts: object, length: int = 32, alphabet: str = _ALPHABET) -> str:
    """A string of ``alphabet`` (lowercase alphanumeric by default: for ids) fixed by the seed and the parts."""
    number = int.from_bytes(_digest(seed, parts), "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def spread(seed: int, fraction: float, *parts: object) -> float:
    """A multiplier in [1 - fraction, 1 + fraction], fixed by the seed and the parts."""
    return 1.0 + fraction * (2.0 * unit(seed, *parts) - 1.0)


def lognormal(seed: int, median: float, sigma: float, *parts: object) -> float:
    """A lognormal sample with the given median, via the inverse normal CDF of a seeded uniform."""
    from statistics import NormalDist

    u = min(max(unit(seed, *parts), 1e-12), 1 - 1e-12)
    return median * math.exp(sigma * NormalDist().inv_cdf(u))
