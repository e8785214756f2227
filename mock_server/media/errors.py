"""The media layer's one failure: a placeholder could not be made."""

from __future__ import annotations

from videomock.contracts.media import MediaError


class RenderError(MediaError):
    """ffmpeg could not produce the video; the message says which step failed and ends with its stderr."""
