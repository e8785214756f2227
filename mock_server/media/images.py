"""Fetching ``image`` URLs: opt-in, for servers configured to check what a URL points to.

What makes an image valid is the contract's (:mod:`videomock.contracts.images`); this module only downloads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import requests

from videomock.contracts.images import ImageError, ImageInput, check_url, inspect_image_bytes, too_big
from videomock.core.waits import waiting


def fetch_image(url: str, *, allow_hosts: Sequence[str], max_bytes: int, timeout: float) -> ImageInput:
    """Download an http(s) image (opt-in; the server keeps it off by default) and validate it exactly like an
    inline one; every failure is an ImageError.

    The host must equal an ``allow_hosts`` entry (case-insensitive, port ignored). Wildcards such as
    '*.example.com' are NOT supported: list every host, so the allow list reads as exactly what is reachable.
    Redirects are refused rather than followed, since following one could leave the allow list. The body is
    streamed and cut off past ``max_bytes``; the time limit is checked between chunks, so a single stalled
    read can add up to ``timeout`` more."""
    host = urlsplit(check_url(url)).hostname or ""
    if host.lower() not in {allowed.lower() for allowed in allow_hosts}:
        raise ImageError(f"image URL host {host!r} is not allowed; this server fetches images only from: "
                         f"{', '.join(allow_hosts) or '(no hosts)'}")
    deadline = time.monotonic() + timeout
    try:
        with waiting(), requests.get(url, stream=True, timeout=timeout, allow_redirects=False) as response:
            if response.status_code != 200:
                raise ImageError(f"image URL answered HTTP {response.status_code}; it must answer 200 with the "
                                 "image (redirects are not followed)")
            declared = response.headers.get("Content-Length", "")
            # isascii: str.isdigit() takes "²" (byte 0xB2 read as Latin-1) for a digit, and int() refuses it
            if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
                raise ImageError(too_big(int(declared), max_bytes))
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    raise ImageError(too_big(len(data), max_bytes, at_least=True))
                if time.monotonic() > deadline:
                    raise ImageError(f"image URL took longer than {timeout:g} s to download")
    except requests.RequestException as exc:
        raise ImageError(f"image URL could not be fetched ({type(exc).__name__})") from None
    image = inspect_image_bytes(bytes(data), max_bytes)
    return ImageInput(data=image.data, url=url, format=image.format, width=image.width, height=image.height)
