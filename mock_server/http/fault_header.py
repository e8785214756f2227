"""Reading the ``X-Videomock-Fault`` header of requests to routes that fault rules can name.

Each blueprint declares which of its Flask endpoints stand for which fault-rule endpoint (submit, poll,
download, models); a bad header on one of them is a 400 naming it, before the view runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, request

from videomock.core.errors import provider_error
from videomock.core.faults.actions import FaultSpecError
from videomock.core.faults.header import HEADER, HEADER_GRAMMAR, parse_fault_header
from videomock.http.context import backend, exchange


def install_fault_header(app: Flask, endpoints: Mapping[str, str]) -> None:
    """Parse the header on requests to ``endpoints`` (Flask endpoint -> fault-rule endpoint)."""

    @app.before_request
    def _read_fault_header() -> None:
        endpoint = endpoints.get(request.endpoint or "")
        if endpoint is None:
            return
        exchange().endpoint = endpoint
        header = request.headers.get(HEADER)
        if header is not None:
            try:
                exchange().header = parse_fault_header(header, endpoint,
                                                       max_delay=backend().config["limits"]["max_delay_seconds"])
            except FaultSpecError as exc:
                raise provider_error("invalid_fault_header", f"Bad {HEADER} header: {exc}. Grammar: {HEADER_GRAMMAR}",
                                     param=HEADER) from None
