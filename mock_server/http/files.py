"""Sending a task's video, or a variant of it, as a download: conditional and single-range requests.

The dialects' download routes and the dashboard's player share it, so a browser's <video> gets the same
Range and ETag answers that a client's resumed download gets.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Response, request, send_file

from videomock.contracts.openapi import RANGE_PATTERN
from videomock.core.errors import provider_error
from videomock.http.context import exchange
from videomock.media.variants import VARIANTS


def _check_if_match(etag: str) -> None:
    """If-Match as RFC 9110 evaluates it: the first precondition, true for "*" or the video's own tag.
    werkzeug answers it with a 412 whose body is the video, refuses "*", and serves a Range before looking
    at it; so it is answered here, and werkzeug no longer sees it."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    if not request.if_match.contains(etag):
        raise provider_error("precondition_failed", f"If-Match {header} names none of this video's entity tags "
                                                    f'(its ETag is "{etag}").')
    del request.environ["HTTP_IF_MATCH"]


def send_video(path: Path, task_id: str, variant: str = "video") -> Response:
    """The video, honouring conditional and single-range requests. A request for several ranges gets the whole
    file (RFC 9110 14.2 lets a server ignore Range): werkzeug serves one range only and answers 416 to more,
    which a client reads as "the file is not that long"."""
    # The file name is the render's cache key: identical bytes, identical ETag, even after a re-render.
    suffix, media_type = VARIANTS[variant]
    media_type = exchange().media_type or media_type   # a corrupt_media fault's wrong type
    key = path.name.removesuffix(suffix)
    etag = key if variant == "video" else f"{key}.{variant}"
    _check_if_match(etag)
    several = _names_several_ranges(request.headers.get("Range"))
    response = send_file(path, mimetype=media_type, conditional=not several, etag=etag, max_age=0,
                         download_name=f"{task_id}{suffix}")
    if several:
        without_range = {name: value for name, value in request.environ.items() if name != "HTTP_RANGE"}
        response.make_conditional(without_range, accept_ranges=True, complete_length=response.content_length)
    response.headers["Accept-Ranges"] = "bytes"
    return response


def _names_several_ranges(header: str | None) -> bool:
    """Whether ``header`` is a Range the OpenAPI document allows that names more than one byte range (in any
    order: werkzeug parses only ascending ones)."""
    return header is not None and "," in header and _RANGES.match(header) is not None


_RANGES = re.compile(RANGE_PATTERN)
