"""One exception hierarchy for everything the client can report.

API errors are chosen by HTTP status through the error contract's ``x-status-types`` table, so the client
and the fake cannot disagree about which status means what. A few gateway error codes are more specific
than their status (new-api answers an unknown task with 400 ``task_not_exist``; out of quota is a 403
``insufficient_user_quota``); those are listed in :data:`CODE_CLASSES`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from videomock.contracts import Violation
from videomock.contracts.errors import error_type

if TYPE_CHECKING:
    from videomock.client.task import Task


class VideoClientError(Exception):
    """Base class of every error raised by :mod:`videomock.client`."""


class APIError(VideoClientError):
    """The provider answered with an error. ``body`` is the raw body (parsed JSON, or text if it was not
    JSON); the other fields come from its ``error`` object, or from the gateway's ``{code, message}``."""

    def __init__(self, status: int, message: str, *, type: str | None = None, code: str | int | None = None,
                 param: str | None = None, body: Any = None, headers: Mapping[str, str] | None = None,
                 violations: Sequence[Violation] = ()) -> None:
        super().__init__(f"{status} {type or 'error'}: {message}")
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.body = body
        self.headers = dict(headers or {})
        #: How the error body breaks the error contract; empty when it keeps to it.
        self.violations = tuple(violations)


class AuthenticationError(APIError):
    """401: the API key is missing or not accepted."""


class PermissionDenied(APIError):
    """403: the key may not do this."""


class QuotaExceeded(PermissionDenied):
    """403 because the account is out of credit."""


class NotFound(APIError):
    """No such task for this key (404, or the gateway's 400 ``task_not_exist``)."""


class InvalidRequest(APIError):
    """400/413/...: the request was refused; ``param`` names the field when the provider says which."""


class RateLimited(APIError):
    """429. ``retry_after`` is the server's Retry-After in seconds, or None."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the provider failed; the outcome of a non-idempotent call is unknown."""


class TransportError(VideoClientError):
    """The connection failed (refused, reset, timed out, cut mid-body) and retries did not help."""


class TaskFailed(VideoClientError):
    """The task finished with status failed. ``error`` is the task's ``{code, message}``."""

    def __init__(self, task: Task) -> None:
        error = task.error or {}
        super().__init__(f"task {task.id} failed: {error.get('message') or 'no reason given'} (code {error.get('code')})")
        self.task = task
        self.error = error


class WaitTimeout(VideoClientError):
    """The task was not finished when the wait gave up. ``task`` is the last state seen."""

    def __init__(self, task: Task, timeout: float) -> None:
        progress = "" if task.progress is None else f" ({task.progress}%)"
        super().__init__(f"task {task.id} still {task.status}{progress} after {timeout:g} s")
        self.task = task
        self.timeout = timeout


class ContractViolation(VideoClientError):
    """A message breaks the contract. For a request, caught before sending: ``message``, ``param`` and
    ``code`` are exactly what the server's 400 would say. For a response, ``kind`` names the message
    (submit, task, error, ...) and ``dialect`` the shape it arrived in."""

    def __init__(self, kind: str, violations: Sequence[Violation], body: Any, *, dialect: str | None = None) -> None:
        self.kind = kind
        self.violations = tuple(violations)
        self.body = body
        self.dialect = dialect
        self.message = "; ".join(v.message for v in self.violations)
        first = self.violations[0] if self.violations else None
        self.param = first.param if first else None
        self.code = first.code if first else None
        where = "request" if kind == "request" else f"{kind} response" + (f" ({dialect} dialect)" if dialect else "")
        super().__init__(f"{where} breaks the contract: {self.message}")


class ContractWarning(UserWarning):
    """A response broke the contract and the client is in lenient mode."""


#: Error type -> exception class.
TYPE_CLASSES: Mapping[str, type[APIError]] = {
    "invalid_request_error": InvalidRequest,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDenied,
    "not_found_error": NotFound,
    "rate_limit_error": RateLimited,
    "server_error": ServerError,
}

#: Error codes that say more than their status does.
CODE_CLASSES: Mapping[str, type[APIError]] = {
    "task_not_exist": NotFound,
    "task_not_found": NotFound,
    "insufficient_user_quota": QuotaExceeded,
    "insufficient_quota": QuotaExceeded,
}


def error_class(status: int, code: Any) -> type[APIError]:
    """The exception for a status and error code: the code's class when it is a known one, else the
    class of the status's contract type (never of the body's ``type``, which a gateway may get wrong)."""
    if isinstance(code, str) and code in CODE_CLASSES:
        return CODE_CLASSES[code]
    type_ = error_type(status)
    return TYPE_CLASSES[type_] if type_ is not None else APIError
