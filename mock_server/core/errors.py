"""The one error the domain raises: what the provider refuses, and with which HTTP status.

The status is part of the domain's answer (a quota is a 403, a rate limit a 429 with Retry-After) because
every dialect's real API pairs the same conditions with the same statuses; each dialect adapter renders
the error in its own shape (:mod:`videomock.http.errors` for the documented one). Which status goes with
which code is the contract's error table (:mod:`videomock.contracts.errors`); :func:`provider_error` takes
it from there. Only an error whose status is chosen by someone else (an injected fault, which may also
name a code of its own) is built as a bare :class:`APIError`.
"""

from __future__ import annotations

from collections.abc import Mapping

from videomock.contracts.errors import error_code


class APIError(Exception):
    """An error the provider would return. Raised anywhere in request handling."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type: str | None = None, headers: Mapping[str, str] | None = None, injected: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type
        self.headers = dict(headers or {})
        #: Raised by an injected http_error fault: the status is the one its rule asked for, which a dialect
        #: that answers the same condition with another status than the table's must still keep.
        self.injected = injected


def provider_error(code: str, message: str, *, param: str | None = None,
                   headers: Mapping[str, str] | None = None) -> APIError:
    """The APIError for ``code``, with the status the error table gives it, so that what the server answers
    and what the OpenAPI document and the client expect cannot drift apart. A code the table does not list
    raises UnknownErrorCode: add it to the table first."""
    return APIError(error_code(code).status, message, param=param, code=code, headers=headers)
