"""The Vertex AI dialect of Google Veo: what google-genai calls with ``vertexai=True``.

- ``POST /{v1|v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{m}:predictLongRunning``, or in
  express mode (an API key, no project) ``/{v1|v1beta1}/publishers/google/models/{m}:predictLongRunning``:
  the request of :mod:`videomock.contracts.dialects.google`, answered ``{"name": "<model resource>/operations/<id>"}``.
- ``POST <model resource>:fetchPredictOperation`` with ``{"operationName"}``: the operation (the message schema
  ``google_operation``). Done, its response lists each video's bytes, ``{"bytesBase64Encoded", "mimeType"}``,
  or, when the submit gave a ``storageUri``, the Cloud Storage object it would be in,
  ``{"gcsUri": "<storageUri>/<operation id>/sample_<n>.mp4"}``, which nobody can download from the fake.

An operation is read under the resource it was created under: another project, location or model name is a 404.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from videomock.contracts.dialects import google as contract
from videomock.contracts.validation import validate_against
from videomock.core.backend import TaskView, bad_request
from videomock.core.errors import provider_error
from videomock.core.tasks import Task
from videomock.dialects import google
from videomock.http.bodies import parse_json_body
from videomock.http.context import backend, exchange

vertex = Blueprint("vertex", __name__)

#: Flask endpoint -> the endpoint names fault rules use.
FAULT_ENDPOINTS = {"vertex.submit": "submit", "vertex.fetch": "poll"}
#: Paths of this API, where a path no route serves answers in Google's error shape.
PREFIXES = ("/v1beta1/", "/v1/projects/", "/v1/publishers/")
RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"

_VERSION = "/<any(v1, v1beta1):version>"
_PROJECT_MODEL = _VERSION + "/projects/<project>/locations/<location>/publishers/google/models/<model>"
_EXPRESS_MODEL = _VERSION + "/publishers/google/models/<model>"


def _resource(model: str, project: str | None, location: str | None) -> str:
    scope = f"projects/{project}/locations/{location}/" if project is not None else ""
    return f"{scope}publishers/google/models/{model}"


def operation_name(task: Task) -> str:
    data = task.dialect_data or {}
    return f"{data.get('resource')}/operations/{task.id}"


def _gcs_uri(view: TaskView, base: str, output: int) -> str | None:
    """Where the request's storageUri puts video ``output`` (None: the videos are answered as bytes)."""
    storage = (view.task.dialect_data or {}).get("storage_uri")
    return None if storage is None else f"{storage.rstrip('/')}/{view.task.id}/sample_{output}.mp4"


#: The event a request's webhookConfig gets (it links the video only where a storageUri put it).
WEBHOOK = google.veo_shape("veo-vertex", operation_name, _gcs_uri)


def _video(view: TaskView, output: int) -> dict[str, Any]:
    uri = _gcs_uri(view, "", output)
    if uri is not None:
        return {"gcsUri": uri, "mimeType": google.VIDEO_MIME_TYPE}
    data = backend().rendered_file(view, output).read_bytes()
    return {"bytesBase64Encoded": base64.b64encode(data).decode("ascii"), "mimeType": google.VIDEO_MIME_TYPE}


def operation_body(view: TaskView) -> dict[str, Any]:
    """The operation as fetchPredictOperation answers it."""
    def response() -> dict[str, Any]:
        videos = [_video(view, output) for output in range(len(view.task.video_keys))]
        return {"@type": RESPONSE_TYPE, **({"videos": videos} if videos else {}), **google.withheld(view)}

    return google.operation_body(view, operation_name(view.task), response)


def _answer(body: Mapping[str, Any]) -> Response:
    exchange().response = body
    return jsonify(body)


def _kept(resource: str) -> Any:
    def keep(body: Mapping[str, Any]) -> dict[str, Any]:
        storage = body.get("parameters", {}).get("storageUri")
        return {"resource": resource, **({"storage_uri": storage} if storage is not None else {})}
    return keep


@vertex.post(_PROJECT_MODEL + ":predictLongRunning")
@vertex.post(_EXPRESS_MODEL + ":predictLongRunning")
def submit(version: str, model: str, project: str | None = None, location: str | None = None) -> Response:
    resource = _resource(model, project, location)
    task = google.create(contract.VERTEX_DIALECT, model, resource, WEBHOOK, _kept(resource))
    return _answer({"name": operation_name(task)})


@vertex.post(_PROJECT_MODEL + ":fetchPredictOperation")
@vertex.post(_EXPRESS_MODEL + ":fetchPredictOperation")
def fetch(version: str, model: str, project: str | None = None, location: str | None = None) -> Response:
    owner = google.caller()
    ex = exchange()
    ex.body = body = parse_json_body(request)
    violations = validate_against("vertex_fetch_operation", body)
    if violations:
        raise bad_request(violations)
    name = body["operationName"]
    resource, found, task_id = name.rpartition("/operations/")
    if not found or resource != _resource(model, project, location):
        raise provider_error("task_not_found", f"Operation {name} is not one of {_resource(model, project, location)}: "
                                               "fetch it from the model resource its name begins with.",
                             param="operationName")
    ex.task_id = task_id
    return _answer(operation_body(google.operation(owner, contract.VERTEX, name, task_id, operation_name)))
