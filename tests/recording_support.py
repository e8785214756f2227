"""What the recording tests share: a client per dialect that runs one task's lifecycle against any base URL
(the recording proxy, or a replaying fake), the secrets it sends, and a recording proxy in a thread.

Each client does what that API's users do: submit, poll three times, download the video from the link the
last poll gave. Between polls it calls ``between(n)``, which moves whichever clock paces the task.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests

from videomock.pytest_plugin.live import in_thread
from videomock.recording.cassette import Book
from videomock.recording.proxy import RecordingProxy, check_on_record, make_proxy_server, media_facts

API_KEY = "sk-record-secret-0123456789abcdef"
GOOGLE_KEY = "AIzaRecordSecret0123456789abcdefgh"
KLING_ACCESS, KLING_SECRET = "AKrecordaccess0123", "SKrecordsecret0123456789abcdef0123456789"
POLLS = 3


def kling_token() -> str:
    now = int(time.time())
    return jwt.encode({"iss": KLING_ACCESS, "exp": now + 3600, "nbf": now - 5}, KLING_SECRET, algorithm="HS256",
                      headers={"typ": "JWT"})


@dataclass
class Seen:
    """What a client was answered, in order: (what, status, body bytes), and the task's id."""

    task_id: str = ""
    answers: list[tuple[str, int, bytes]] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def add(self, what: str, response: requests.Response) -> requests.Response:
        self.answers.append((what, response.status_code, response.content))
        return response


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def run_lifecycle(dialect: str, base: str, between: Callable[[int], None], *, prompt: str = "a fox in the snow") -> Seen:
    """One task's lifecycle in ``dialect`` against ``base``."""
    seen = Seen()
    http = _session()
    if dialect in ("documented", "new-api"):
        headers = {"Authorization": f"Bearer {API_KEY}"}
        seen.secrets.add(API_KEY)
        task = seen.add("submit", http.post(f"{base}/v1/video/generations", headers=headers,
                                             json={"model": "kling-v2-5-turbo", "prompt": prompt})).json()
        seen.task_id = task["task_id"]
        for n in range(POLLS):
            between(n)
            body = seen.add("poll", http.get(f"{base}/v1/video/generations/{seen.task_id}", headers=headers)).json()
        link = body["url"] if dialect == "documented" else body["data"]["result_url"]
        seen.add("download", http.get(link, headers=headers))
    elif dialect == "openai":
        headers = {"Authorization": f"Bearer {API_KEY}"}
        seen.secrets.add(API_KEY)
        fields = {"prompt": (None, prompt), "model": (None, "sora-2"), "seconds": (None, "4")}
        video = seen.add("submit", http.post(f"{base}/v1/videos", headers=headers, files=fields)).json()
        seen.task_id = video["id"]
        for n in range(POLLS):
            between(n)
            seen.add("poll", http.get(f"{base}/v1/videos/{seen.task_id}", headers=headers))
        seen.add("download", http.get(f"{base}/v1/videos/{seen.task_id}/content", headers=headers))
    elif dialect == "gemini":
        key = {"key": GOOGLE_KEY}
        seen.secrets.add(GOOGLE_KEY)
        operation = seen.add("submit", http.post(f"{base}/v1beta/models/veo-3.1-generate-preview:predictLongRunning",
                                                 params=key, json={"instances": [{"prompt": prompt}],
                                                                   "parameters": {"durationSeconds": 4}})).json()
        seen.task_id = operation["name"].rsplit("/", 1)[1]
        for n in range(POLLS):
            between(n)
            body = seen.add("poll", http.get(f"{base}/v1beta/{operation['name']}", params=key)).json()
        uri = body["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
        seen.add("download", http.get(uri, params=key))
    elif dialect == "vertex":
        headers = {"x-goog-api-key": GOOGLE_KEY}
        seen.secrets.add(GOOGLE_KEY)
        model = f"{base}/v1beta1/publishers/google/models/veo-3.1-generate-preview"
        operation = seen.add("submit", http.post(f"{model}:predictLongRunning", headers=headers, json={
            "instances": [{"prompt": prompt}], "parameters": {"durationSeconds": 4, "sampleCount": 1}})).json()
        seen.task_id = operation["name"].rsplit("/", 1)[1]
        for n in range(POLLS):
            between(n)
            seen.add("poll", http.post(f"{model}:fetchPredictOperation", headers=headers,
                                       json={"operationName": operation["name"]}))
    elif dialect == "kling":
        token = kling_token()
        seen.secrets.update({token, KLING_SECRET})
        headers = {"Authorization": f"Bearer {token}"}
        task = seen.add("submit", http.post(f"{base}/v1/videos/text2video", headers=headers, json={
            "model_name": "kling-v2-5-turbo", "prompt": prompt, "duration": "5"})).json()
        seen.task_id = task["data"]["task_id"]
        for n in range(POLLS):
            between(n)
            body = seen.add("poll", http.get(f"{base}/v1/videos/text2video/{seen.task_id}", headers=headers)).json()
        link = body["data"]["task_result"]["videos"][0]["url"]
        seen.secrets.add(re.search(r"signature=([^&]+)", link)[1])  # type: ignore[index]
        seen.add("download", http.get(link))
    else:
        raise ValueError(dialect)
    http.close()
    return seen


@contextmanager
def recording(upstream: str, folder: Path, **book_options: Any) -> Iterator[str]:
    """A recording proxy in front of ``upstream``, writing into ``folder``; yields its base URL."""
    book = Book(folder, upstream, probe=media_facts, **book_options)
    book.on_recorded = check_on_record(book)
    server = make_proxy_server("127.0.0.1", 0, RecordingProxy(upstream, book))
    with in_thread(server, "videomock-recording-proxy") as url:
        yield url


def normalised(seen: Seen, origin: str) -> list[tuple[str, int, bytes]]:
    """The answers with the origin, the task's id and links' signatures (which a cassette keeps redacted) put
    the same way, so a recording and its replay compare byte for byte."""
    out = []
    for what, status, body in seen.answers:
        body = body.replace(origin.encode(), b"ORIGIN").replace(seen.task_id.encode(), b"TASK")
        out.append((what, status, re.sub(rb"(signature=)[^&\"]+", rb"\1SIG", body)))
    return out
