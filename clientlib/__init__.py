"""A thin client for OpenAI-style video-generation gateways, checked against videomock's contracts."""

from clientlib.client import VideoClient
from clientlib.errors import (
    APIError,
    AuthenticationError,
    ContractViolation,
    ContractWarning,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServerError,
    TaskFailed,
    TransportError,
    VideoClientError,
    WaitTimeout,
)
from clientlib.generation_request import GenerationRequest, image_data_uri
from clientlib.retry import RetryPolicy
from clientlib.task import Task

__all__ = [
    "APIError",
    "AuthenticationError",
    "ContractViolation",
    "ContractWarning",
    "GenerationRequest",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "QuotaExceeded",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Task",
    "TaskFailed",
    "TransportError",
    "VideoClient",
    "VideoClientError",
    "WaitTimeout",
    "image_data_uri",
]
