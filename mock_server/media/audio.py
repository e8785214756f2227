"""The soundtrack's ffmpeg side: the tone and ticks of :mod:`videomock.contracts.soundtrack`, encoded to AAC.

It is encoded by the same ffmpeg run as the pictures (its encoder runs in a thread of its own there), into
an MP4 of its own: that container keeps the encoder's priming and the last frame's padding, so the muxer
stream-copies a track of exactly the video's duration (raw ADTS would lose both and come out 21 ms long
at each end). ffmpeg's ``sine`` source draws from a table, and its ``beep_factor`` is exactly the tick each
second; the native AAC encoder's fast coder at 32 kb/s mono costs ~2 ms per second of sound.
"""

from __future__ import annotations

import ffmpeg as ffmpeg_cmd

from videomock.contracts.soundtrack import CHANNELS, SAMPLE_RATE, TICK_FACTOR, tone_frequency

AUDIO_FILE = "audio.m4a"
#: The sine source's amplitude is 1/8 and a beep adds twice that: halved, the tone sits at -24 dBFS.
_VOLUME = 0.5


def soundtrack(seed: int, duration: int) -> ffmpeg_cmd.nodes.OutputStream:
    """The output that writes the soundtrack of a ``duration``-second video to AUDIO_FILE."""
    tone = ffmpeg_cmd.input(f"sine=frequency={tone_frequency(seed)}:beep_factor={TICK_FACTOR}:"
                            f"sample_rate={SAMPLE_RATE}:duration={duration},volume={_VOLUME}", f="lavfi")
    return ffmpeg_cmd.output(tone, AUDIO_FILE, format="mp4", acodec="aac",
                             ac=CHANNELS, ar=SAMPLE_RATE, aac_coder="fast", **{"b:a": "32k", "flags:a": "+bitexact"})
