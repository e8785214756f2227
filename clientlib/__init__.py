"""A thin client for OpenAI-style video-generation gateways, checked against videomock's contracts."""

from videomock.client.client import VideoClient
from videomock.client.errors import (
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
from videomock.client.generation_request import GenerationRequest, image_data_uri
from videomock.client.retry import RetryPolicy
from videomock.client.task import Task

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
