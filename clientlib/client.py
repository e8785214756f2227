"""The client: submit, poll, wait, download, each checked against the contracts.

Retries. Polls and downloads are idempotent, so they are retried on 429, 5xx and connection errors. A
submit is a POST that may start a paid job: if the connection drops or the server answers 5xx, the job may
or may not exist, and sending the body again could create a second one. So a submit is retried only when
the outcome is known to be "nothing happened" (429: the server refused it), or when it carries an
``Idempotency-Key``, which makes the server answer a repeat with the original task instead of a new one.
Give ``idempotency_key=...`` per call, or ``idempotency_keys=True`` to have one generated per submit.

Requests are validated locally with the same function the server uses, so a bad body fails fast with the
server's own words. A model that the catalog does not know is checked against the generic request shape
only: a real gateway may offer models our catalog lacks, and the gateway is the judge of those.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import quote, urlsplit

import requests

from videomock.client.dialects import normalise, read_error
from videomock.client.errors import (
    APIError,
    ContractViolation,
    ContractWarning,
    RateLimited,
    TaskFailed,
    TransportError,
    WaitTimeout,
    error_class,
)
from videomock.client.generation_request import GenerationRequest
from videomock.client.retry import RETRYABLE_STATUSES, RetryPolicy
from videomock.client.task import Task
from videomock.contracts import Catalog, Violation, default_catalog, validate_request, validate_response
from videomock.contracts.media import MediaProblem, delivery_problems, file_problems

ResponseValidation = Literal["strict", "lenient", "off"]
ProgressCallback = Callable[[Task], None]
DownloadCallback = Callable[[int, "int | None"], None]

SUBMIT_PATH = "/v1/video/generations"
#: Small enough that a cut connection loses little: urllib3 drops a partly read chunk when the body ends early.
DOWNLOAD_CHUNK = 16 * 1024
#: Each wait interval is this much longer than the last, up to ``max_poll_interval``.
POLL_BACKOFF = 1.5
#: Transport failures worth another try (a connection refused, reset, timed out or cut mid-body).
TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class VideoClient:
    """A client for ``base_url`` (the server root, e.g. ``http://127.0.0.1:8000``).

    ``validate_responses``: ``strict`` raises :class:`ContractViolation` for a response that breaks the
    contract, ``lenient`` warns (:class:`ContractWarning`) and records the violations on the Task, ``off``
    skips the check. Error bodies never raise ContractViolation (the error they carry matters more); their
    violations are warned about and kept on the exception's ``violations``.
    """

    def __init__(self, base_url: str, api_key: str | None, *, timeout: float = 30.0,
                 session: requests.Session | None = None, retry: RetryPolicy | None = None,
                 catalog: Catalog | None = None, validate_requests: bool = True,
                 validate_responses: ResponseValidation = "strict", idempotency_keys: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if validate_responses not in ("strict", "lenient", "off"):
            raise ValueError(f"validate_responses must be strict, lenient or off, not {validate_responses!r}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.catalog = catalog if catalog is not None else default_catalog()
        self.validate_requests = validate_requests
        self.validate_responses = validate_responses
        self.idempotency_keys = idempotency_keys
        self.clock = clock
        self._own_session = session is None
        self.session = session or requests.Session()

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> VideoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the API -------------------------------------------------------------------------------------

    def check_request(self, body: Any) -> list[Violation]:
        """What the server would reject in ``body``; per-model rules only for models in the catalog."""
        if not self.validate_requests:
            return []
        violations = validate_request(body, self.catalog)
        return [v for v in violations if v.code != "model_not_found"]

    def submit(self, request: GenerationRequest | Mapping[str, Any] | None = None, /, *,
               idempotency_key: str | None = None, **fields: Any) -> Task:
        """Start a task. ``request`` and ``fields`` merge (fields win). Raises ContractViolation before
        sending a body the contract rejects."""
        base = request.to_body() if isinstance(request, GenerationRequest) else dict(request or {})
        body = base | fields
        violations = self.check_request(body)
        if violations:
            raise ContractViolation("request", violations, body)
        key = idempotency_key or (uuid.uuid4().hex if self.idempotency_keys else None)
        headers = {"Idempotency-Key": key} if key else {}
        response = self._call("POST", self._url(SUBMIT_PATH), json=body, headers=headers, idempotent=key is not None)
        return self._task("submit", response)

    def get(self, task_id: str) -> Task:
        response = self._call("GET", self._url(f"{SUBMIT_PATH}/{quote(task_id, safe='')}"), idempotent=True)
        return self._task("task", response)

    def list_models(self) -> list[dict[str, Any]]:
        """``GET /v1/models``: the models the provider offers, in the OpenAI list shape."""
        response = self._call("GET", self._url("/v1/models"), idempotent=True)
        body = self._json(response, "model_list")
        self._report("model_list", validate_response("model_list", body), body)
        return list(body.get("data") or []) if isinstance(body, dict) else []

    def server_catalog(self) -> Catalog | None:
        """The catalog of the server this client talks to, from the capabilities its model list carries
        (videomock's ``x-videomock`` field), or None for a provider that does not describe its models so.
        Raises CatalogError for capabilities that do not form a consistent catalog."""
        entries = [model["x-videomock"] for model in self.list_models()
                   if isinstance(model, dict) and isinstance(model.get("x-videomock"), dict)]
        return Catalog.from_entries(entries) if entries else None

    def wait(self, task: Task | str, *, timeout: float = 600.0, poll_interval: float = 1.0,
             max_poll_interval: float = 10.0, on_progress: ProgressCallback | None = None) -> Task:
        """Poll until the task finishes; returns it completed, raises TaskFailed or WaitTimeout.

        Intervals start short (a fast job returns quickly) and grow to ``max_poll_interval`` (the provider
        asks for polls every 5-10 s). ``on_progress`` gets every Task polled."""
        task_id = task.id if isinstance(task, Task) else task
        deadline = self.clock() + timeout
        interval = poll_interval
        while True:
            current = self.get(task_id)
            if on_progress is not None:
                on_progress(current)
            if current.succeeded:
                return current
            if current.failed:
                raise TaskFailed(current)
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise WaitTimeout(current, timeout)
            self.retry.sleep(min(interval, remaining))
            interval = min(interval * POLL_BACKOFF, max_poll_interval)

    def download(self, source: Task | str, dest: str | os.PathLike[str] | BinaryIO, *,
                 on_progress: DownloadCallback | None = None) -> int:
        """Stream the video to a path or a binary file; returns the bytes written.

        ``source`` is a Task, a URL, or a task id. After a dropped connection the download resumes with a
        Range request (If-Range guards against the file having changed; a server that ignores Range sends
        it whole and the file is rewritten). A path is written via ``<path>.part`` and renamed when
        complete, so a failed download never looks like a video.

        The video is checked as responses are (``validate_responses``): an empty body or a Content-Type other
        than ``video/mp4`` always; and when ``source`` is a completed Task and ``dest`` a path, the file is
        decoded whole and held to the task's ``metadata`` (no index, not H.264, frames that decode with errors,
        another size, rate or duration). Each problem is a violation whose ``code`` is its
        :class:`~videomock.contracts.media.MediaProblem` kind. In strict mode a broken file is not kept."""
        url = self._video_url(source)
        if not isinstance(dest, (str, os.PathLike)):
            written, content_type = self._stream(url, dest, on_progress)
            self._report_media(delivery_problems(written, content_type))
            return written
        path = Path(dest)
        part = path.with_name(path.name + ".part")
        try:
            with part.open("wb") as file:
                written, content_type = self._stream(url, file, on_progress)
            problems = delivery_problems(written, content_type)
            if isinstance(source, Task) and written and self.validate_responses != "off":
                problems += file_problems(part, expected=source.metadata)
            self._report_media(problems)
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)
        return written

    def generate(self, request: GenerationRequest | Mapping[str, Any] | None = None, /, *,
                 out: str | os.PathLike[str] | BinaryIO, timeout: float = 600.0, poll_interval: float = 1.0,
                 on_progress: ProgressCallback | None = None, on_download: DownloadCallback | None = None,
                 idempotency_key: str | None = None, **fields: Any) -> Task:
        """Submit, wait, download to ``out``; returns the completed Task."""
        task = self.submit(request, idempotency_key=idempotency_key, **fields)
        if on_progress is not None:
            on_progress(task)
        done = self.wait(task, timeout=timeout, poll_interval=poll_interval, on_progress=on_progress)
        self.download(done, out, on_progress=on_download)
        return done

    # --- HTTP ----------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _headers(self, url: str) -> dict[str, str]:
        """The API key goes only to our own origin: a video link may point at a CDN that must not see it."""
        if self.api_key is None or urlsplit(url)[:2] != urlsplit(self.base_url)[:2]:
            return {}
        return {"Authorization": f"Bearer {self.api_key}"}

    def _pause(self, failures: int, retry_after: float | None) -> bool:
        """Sleep before another attempt and return True, or return False when the policy gives up."""
        delay = self.retry.delay(failures, retry_after)
        if delay is None:
            return False
        self.retry.sleep(delay)
        return True

    def _call(self, method: str, url: str, *, idempotent: bool, json: Any = None,
              headers: Mapping[str, str] | None = None) -> requests.Response:
        """One API call with retries; raises the mapped APIError for an error status."""
        failures = 0
        while True:
            try:
                response = self.session.request(method, url, json=json, timeout=self.timeout,
                                                headers={**self._headers(url), **(headers or {})})
            except TRANSIENT as exc:
                failures += 1
                if idempotent and self._pause(failures, None):
                    continue
                raise TransportError(f"{method} {url}: {exc}") from exc
            if response.status_code < 400:
                return response
            if response.status_code in RETRYABLE_STATUSES and (idempotent or response.status_code == 429):
                failures += 1
                if self._pause(failures, self.retry.retry_after(response.headers.get("Retry-After"))):
                    response.close()
                    continue
            raise self._api_error(response)

    def _api_error(self, response: requests.Response) -> APIError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        fields = read_error(response.status_code, body)
        cls = error_class(response.status_code, fields.code)
        extra = {"retry_after": self.retry.retry_after(response.headers.get("Retry-After"))} if issubclass(cls, RateLimited) else {}
        error = cls(response.status_code, fields.message, type=fields.type, code=fields.code, param=fields.param,
                    body=body, headers=response.headers, violations=fields.violations, **extra)
        if fields.violations and self.validate_responses != "off":
            warnings.warn(f"error response breaks the contract: {'; '.join(v.message for v in fields.violations)}",
                          ContractWarning, stacklevel=4)
        return error

    def _json(self, response: requests.Response, kind: str) -> Any:
        try:
            return response.json()
        except ValueError:
            snippet = response.text[:200]
            raise ContractViolation(kind, [Violation("", f"the body is not JSON: {snippet!r}", "invalid_json")], response.text) from None

    def _task(self, kind: str, response: requests.Response) -> Task:
        body = self._json(response, kind)
        read = normalise(kind, body)
        if not read.usable:
            raise ContractViolation(kind, read.violations, body, dialect=read.dialect)
        violations = read.violations if self.validate_responses != "off" else []
        self._report(kind, violations, body, dialect=read.dialect)
        return Task(**read.fields, dialect=read.dialect, raw=body, violations=tuple(violations))

    def _report(self, kind: str, violations: list[Violation], body: Any, *, dialect: str | None = None) -> None:
        """Raise or warn about a response's violations, as the validation mode says."""
        if not violations or self.validate_responses == "off":
            return
        violation = ContractViolation(kind, violations, body, dialect=dialect)
        if self.validate_responses == "strict":
            raise violation
        warnings.warn(str(violation), ContractWarning, stacklevel=4)

    def _report_media(self, problems: list[MediaProblem]) -> None:
        self._report("video", [Violation("", problem.message, problem.kind) for problem in problems], None)

    # --- downloads -----------------------------------------------------------------------------------

    def _video_url(self, source: Task | str) -> str:
        if isinstance(source, Task):
            return source.url or self._url(f"/v1/videos/{quote(source.id, safe='')}/content")
        if source.startswith(("http://", "https://")):
            return source
        return self._url(f"/v1/videos/{quote(source, safe='')}/content")

    def _stream(self, url: str, file: BinaryIO, on_progress: DownloadCallback | None) -> tuple[int, str | None]:
        """The bytes written and the Content-Type they came with."""
        start = file.tell() if file.seekable() else 0
        written, total, validator, failures, content_type = 0, None, None, 0, None
        while True:
            headers = {**self._headers(url), "Accept-Encoding": "identity"}  # byte offsets must be the file's
            if written:
                headers["Range"] = f"bytes={written}-"
                if validator:
                    headers["If-Range"] = validator
            received = 0
            try:
                with self.session.get(url, headers=headers, stream=True, timeout=self.timeout) as response:
                    if response.status_code in RETRYABLE_STATUSES:
                        failures += 1
                        if self._pause(failures, self.retry.retry_after(response.headers.get("Retry-After"))):
                            continue
                    if response.status_code >= 400:
                        raise self._api_error(response)
                    if written and response.status_code != 206:
                        _rewind(file, start, url)
                        written = 0
                    total = _total_size(response, written, url)
                    validator = _range_validator(response)
                    content_type = response.headers.get("Content-Type")
                    for chunk in response.iter_content(DOWNLOAD_CHUNK):
                        file.write(chunk)
                        written += len(chunk)
                        received += len(chunk)
                        if on_progress is not None:
                            on_progress(written, total)
            except TRANSIENT as exc:
                failures = 1 if received else failures + 1
                if self._pause(failures, None):
                    continue
                raise TransportError(f"download of {url} failed after {written} bytes: {exc}") from exc
            if total is None or written == total:
                return written, content_type
            failures = 1 if received else failures + 1
            if not self._pause(failures, None):
                raise TransportError(f"download of {url} ended at {written} of {total} bytes")


def _rewind(file: BinaryIO, start: int, url: str) -> None:
    """The server sent the whole file again (it ignored Range, or the file changed): start over."""
    if not file.seekable():
        raise TransportError(f"{url} cannot be resumed (no 206 to a Range request) and the output cannot be rewound")
    file.seek(start)
    file.truncate()


def _total_size(response: requests.Response, offset: int, url: str) -> int | None:
    """The whole file's size, from Content-Range on a 206 (which must start where we asked) or Content-Length."""
    if response.status_code == 206:
        unit, _, spec = response.headers.get("Content-Range", "").partition(" ")
        span, _, size = spec.partition("/")
        first = span.partition("-")[0]
        if unit != "bytes" or not _digits(first) or int(first) != offset:
            raise TransportError(f"{url} answered a range request for byte {offset} with Content-Range {response.headers.get('Content-Range')!r}")
        return int(size) if _digits(size) else None
    length = response.headers.get("Content-Length", "")
    return int(length) if _digits(length) else None


def _digits(text: str) -> bool:
    """Whether a header's number is ASCII digits: str.isdigit() alone also takes "²" (byte 0xB2 read as
    Latin-1), which int() refuses."""
    return text.isascii() and text.isdigit()


def _range_validator(response: requests.Response) -> str | None:
    """What If-Range may carry: a strong ETag, else Last-Modified (RFC 9110 13.1.5)."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")
