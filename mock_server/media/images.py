"""Fetching ``image`` URLs: opt-in, for servers configured to check what a URL points to.

What makes an image valid is the contract's (:mod:`videomock.contracts.images`); how a URL may be fetched at
all (allow-list, public addresses only, no redirects, one deadline, a byte cap) is
:mod:`videomock.core.outbound`'s, shared with every other request the fake makes. This module joins the two.
"""

from __future__ import annotations

from collections.abc import Sequence

from videomock.contracts.images import ImageError, ImageInput, inspect_image_bytes, too_big
from videomock.core.outbound import OutboundError, Policy, TooLarge, fetch, parse_networks


def fetch_image(url: str, *, allow_hosts: Sequence[str], allow_private_networks: Sequence[str], max_bytes: int,
                timeout: float) -> ImageInput:
    """Download an http(s) image (opt-in; the server keeps it off by default) and validate it exactly like an
    inline one; every failure is an ImageError.

    The host must equal an ``allow_hosts`` entry (case-insensitive). Wildcards such as '*.example.com' are
    NOT supported: list every host, so the allow list reads as exactly what is reachable. Loopback, private
    and link-local addresses are reached only inside ``allow_private_networks``. ``timeout`` bounds the whole
    fetch, from the name lookup to the last byte."""
    policy = Policy(label="image URL", setting="video.image_fetch", allow_hosts=tuple(allow_hosts),
                    allow_networks=parse_networks(allow_private_networks), timeout=timeout, max_bytes=max_bytes)
    try:
        data = fetch(url, policy)
    except TooLarge as exc:  # in the words inline images get
        raise ImageError(too_big(exc.size, max_bytes, at_least=exc.at_least)) from None
    except OutboundError as exc:
        raise ImageError(str(exc)) from None
    image = inspect_image_bytes(data, max_bytes)
    return ImageInput(data=image.data, url=url, format=image.format, width=image.width, height=image.height)
