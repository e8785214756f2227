"""The one error the domain raises: what the provider refuses, and with which HTTP status.

The status is part of the domain's answer (a quota is a 403, a rate limit a 429 with Retry-After) because
every dialect's real API pairs the same conditions with the same statuses; each dialect adapter renders
the error in its own shape (:mod:`videomock.http.errors` for the documented one).
"""

from __future__ import annotations

from collections.abc import Mapping


class APIError(Exception):
    """An error the provider would return. Raised anywhere in request handling."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type
        self.headers = dict(headers or {})
