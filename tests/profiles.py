"""Hypothesis profiles for the whole suite, in one place; VIDEOMOCK_HYPOTHESIS_PROFILE picks one.

``quick`` (the default, what ``make test`` and CI run) keeps every property test to a bounded number of
examples so the suite takes seconds; ``fuzz`` (``make fuzz``) runs thousands. Tests differ in what one
example costs (validating a body, an HTTP round trip, rendering a video), so each asks for a share of the
profile's baseline with :func:`examples` rather than a number of its own.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_VARIABLE = "VIDEOMOCK_HYPOTHESIS_PROFILE"
#: HTTP round trips and renders make example times vary with the machine's load; that is not a bug.
_COMMON = {"deadline": None, "print_blob": True, "suppress_health_check": [HealthCheck.too_slow]}

settings.register_profile("quick", max_examples=40, **_COMMON)
settings.register_profile("fuzz", max_examples=2500, **_COMMON)


def load_profile() -> str:
    """Load the profile the environment names (default: quick) and return its name."""
    name = os.environ.get(PROFILE_VARIABLE, "quick")
    settings.load_profile(name)
    return name


def examples(share: float) -> settings:
    """Settings for a test that can afford ``share`` times the profile's baseline number of examples:
    more for tests that only validate, fewer for those that render a video per example."""
    return settings(max_examples=max(1, round(settings.default.max_examples * share)))
