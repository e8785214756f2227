"""The placeholder soundtrack: what a video of a model that produces sound carries, so a test can check it.

Models that produce sound (the catalog's ``audio``) get an AAC-LC track of exactly the video's duration: a
quiet sine tone whose pitch the seed picks from two octaves of semitones, 220 to 880 Hz, and at the start of
every whole second a short tick, a louder beep at ``TICK_FACTOR`` times that pitch. A listener hears which
video it is and where each second starts; a test finds the pitch by counting zero crossings and the ticks
by where the crossings come faster. Models without sound get no audio stream at all, as the real ones do.
"""

from __future__ import annotations

SAMPLE_RATE = 48_000
CHANNELS = 1
#: The tick's pitch, as a multiple of the tone's, and its length (ffmpeg's sine source beeps for 1/25 s).
TICK_FACTOR = 4
TICK_SECONDS = 0.04
#: Semitones above the lowest pitch the seed can pick, and that pitch.
_SEMITONES, _LOWEST_HZ = 25, 220.0


def tone_frequency(seed: int) -> float:
    """The tone's pitch for ``seed``: neighbouring seeds are scattered over the range, not a semitone apart."""
    step = (seed * 2654435761 >> 16) % _SEMITONES
    return round(_LOWEST_HZ * 2 ** (step / 12), 3)
