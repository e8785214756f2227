"""The Gemini API dialect of Google Veo (``generativelanguage.googleapis.com``), as raw HTTP clients, the other
SDKs and google-genai's Python SDK up to 2.x call it (google-genai 3 sends generate_videos to Vertex AI only).

- ``POST /v1beta/models/{m}:predictLongRunning``: the request of :mod:`videomock.contracts.dialects.google`
  (without Vertex AI's own parameters), answered ``{"name": "models/{m}/operations/{id}"}``.
- ``GET /v1beta/{name}``: the operation (the message schema ``google_operation``). Done, its
  ``response.generateVideoResponse.generatedSamples[].video.uri`` links each video.
- ``GET /v1beta/files/{file}:download?alt=media``: the MP4 (Range and conditional requests as the documented
  download). A file id is the operation id and the video's number, so it is lowercase alphanumeric as
  google-genai's ``files.download`` expects. That SDK reduces a video's ``uri`` to its file id only when the
  uri starts with ``https://``; given the fake's plain-http one it sends the whole uri after ``files/`` (and
  its own ``:download?alt=media`` after that), which is answered too, so the SDK downloads unchanged.

Auth is ``x-goog-api-key`` (or ``?key=``), as :mod:`videomock.dialects.google` reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from videomock.contracts.dialects import google as contract
from videomock.core.backend import TaskView
from videomock.core.errors import APIError, provider_error
from videomock.core.tasks import Task
from videomock.dialects import google
from videomock.http.context import backend, exchange, public_base
from videomock.http.files import send_video

gemini = Blueprint("gemini", __name__)

#: Flask endpoint -> the endpoint names fault rules use.
FAULT_ENDPOINTS = {"gemini.submit": "submit", "gemini.poll": "poll", "gemini.download": "download",
                   "gemini.download_by_link": "download"}
#: Paths of this API, where a path no route serves answers in Google's error shape.
PREFIXES = ("/v1beta/",)
RESPONSE_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"


def operation_name(task: Task) -> str:
    return f"models/{task.reported_model}/operations/{task.id}"


def file_id(task: Task, output: int) -> str:
    return f"{task.id}{output}"


def operation_body(view: TaskView) -> dict[str, Any]:
    """The operation as ``GET /v1beta/{name}`` answers it. The filter's count is shown only when it withheld
    any video, as the Gemini API leaves it out."""
    def response() -> dict[str, Any]:
        base = public_base()
        samples = [{"video": {"uri": _video_uri(view, base, output)}}
                   for output in range(len(view.task.video_keys))]
        result = {**({"generatedSamples": samples} if samples else {}),
                  **(google.withheld(view) if view.state.withheld else {})}
        return {"@type": RESPONSE_TYPE, "generateVideoResponse": result}

    return google.operation_body(view, operation_name(view.task), response)


def _video_uri(view: TaskView, base: str, output: int) -> str:
    return f"{base}/v1beta/files/{file_id(view.task, output)}:download?alt=media"


#: The event a request's webhookConfig gets.
WEBHOOK = google.veo_shape("veo-gemini", operation_name, _video_uri)


def _answer(body: Mapping[str, Any]) -> Response:
    exchange().response = body
    return jsonify(body)


@gemini.post("/v1beta/models/<model>:predictLongRunning")
def submit(model: str) -> Response:
    task = google.create(contract.GEMINI_DIALECT, model, f"models/{model}", WEBHOOK)
    return _answer({"name": operation_name(task)})


@gemini.get("/v1beta/models/<model>/operations/<operation_id>")
def poll(model: str, operation_id: str) -> Response:
    owner = google.caller()
    exchange().task_id = operation_id
    name = f"models/{model}/operations/{operation_id}"
    return _answer(operation_body(google.operation(owner, contract.GEMINI, name, operation_id, operation_name)))


@gemini.get("/v1beta/files/<file>:download")
def download(file: str) -> Response:
    return _download(file, alt_media=request.args.get("alt") == "media")


def _download(file: str, *, alt_media: bool) -> Response:
    owner = google.caller()
    if not alt_media:
        raise provider_error("invalid_value", f"alt must be media to download the file's bytes, not {request.args.get('alt')!r}.",
                             param="alt")
    task_id, number = file[:google.IDS.length], file[google.IDS.length:]
    exchange().task_id = task_id
    if not (number.isascii() and number.isdecimal()):
        raise google.not_found(f"File files/{file}")
    try:
        path = backend().video_file(owner, task_id, exchange(), output=int(number))
    except APIError as error:
        if error.code != "task_not_found":
            raise
        raise google.not_found(f"File files/{file}") from None
    return send_video(path, file)


#: The path google-genai sends for a plain-http video uri: the uri itself after files/ (see the module's doc).
_SDK_LINK = re.compile(r"https?:/{1,2}[^/]+/v1beta/files/([a-z0-9]+):download")


@gemini.get("/v1beta/files/<path:link>")
def download_by_link(link: str) -> Response:
    found = _SDK_LINK.fullmatch(link)
    if found is None:
        raise google.not_found(f"File files/{link[:200]}")
    return _download(found[1], alt_media=request.args.get("alt", "").startswith("media"))
