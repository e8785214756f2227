"""The error table (contracts/errors.json), the OpenAPI document and the server agree.

The table lists every error code the fake answers with, its status and the routes that can answer it; the
server takes each code's status from it, and the document derives each operation's error responses from it.
The tests here check the three against each other: the table's own consistency, the document against the
table, and every answer the live fake can give against both.
"""

from __future__ import annotations

import base64
import functools
import http.client
import http.server
import io
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import requests
from jsonschema import Draft202012Validator
from PIL import Image
from requests.structures import CaseInsensitiveDict

from tests.conftest import BASELINE_CONFIG, Fake
from tests.serve_process import serve
from tests.test_hostile_clients import _non_loopback_address
from tests.test_media_library import TINY_MODEL, noise_png
from videomock import create_app
from videomock.contracts import Catalog, openapi_document
from videomock.contracts.dialects import google, kling
from videomock.contracts.errors import ErrorCode, UnknownErrorCode, error_code, error_codes, error_type, routes
from videomock.contracts.openapi import OPERATIONS, error_shape
from videomock.contracts.schemas import load_schema
from videomock.contracts.validation import validate_against, validate_response
from videomock.core import idempotency
from videomock.core.errors import provider_error
from videomock.core.faults.actions import ENDPOINTS, HTTP_ERROR_DEFAULTS
from videomock.core.faults.header import HEADER
from videomock.http.dashboard import link_signature
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

CATALOG = Catalog.load()

# --- the table ------------------------------------------------------------------------------------------------


def test_an_error_takes_its_status_from_the_table_and_a_code_it_lacks_is_refused() -> None:
    error = provider_error("url_expired", "This link has expired.")
    assert (error.status, error.code) == (error_code("url_expired").status, "url_expired") == (403, "url_expired")
    with pytest.raises(UnknownErrorCode, match="'link_gone' is not in the error table"):
        provider_error("link_gone", "This link has gone.")


def test_every_status_an_http_error_fault_may_inject_has_a_default_code_from_the_table() -> None:
    """An injected status with no default code would answer with a KeyError, as a 500."""
    (branch,) = [b for b in load_schema("config")["$defs"]["action"]["oneOf"]
                 if b["properties"]["type"]["const"] == "http_error"]
    assert sorted(HTTP_ERROR_DEFAULTS) == sorted(branch["properties"]["status"]["enum"])
    for status, (code, _message) in HTTP_ERROR_DEFAULTS.items():
        assert error_code(code).status == status


def test_the_status_type_table_types_exactly_the_statuses_of_the_code_table() -> None:
    """A status with no type would be rendered with a guessed one; a typed status no code has is one the
    fake never answers with (as 410 was), which the client would still be told to expect."""
    assert set(load_schema("error")["x-status-types"]) == {str(entry.status) for entry in error_codes().values()}


def test_the_endpoints_fault_rules_name_are_routes_of_the_table() -> None:
    """A fault can fire on each of them, so the table must be able to say which codes it answers there."""
    assert set(ENDPOINTS) <= set(routes())


# --- the OpenAPI document ---------------------------------------------------------------------------------------

def _statuses(document: dict[str, Any]) -> set[str]:
    return {status for item in document["paths"].values() for operation in item.values()
            for status in operation["responses"]}


def test_the_download_documents_403_for_expired_and_forged_links_and_410_for_a_video_gone_for_good() -> None:
    """An expired link is refused as a forged one is (403), not as 410, which is what a video whose input image
    has left the media cache gets: it cannot be made again."""
    responses = openapi_document(CATALOG)["paths"]["/v1/videos/{task_id}/content"]["get"]["responses"]
    for code in ("url_expired", "invalid_signature", "insufficient_user_quota"):
        assert f"`{code}`" in responses["403"]["description"]
    assert responses["410"]["description"].startswith("- `video_expired`")


@pytest.mark.parametrize("route", sorted(OPERATIONS))
def test_each_operation_documents_the_error_statuses_of_exactly_the_codes_its_route_can_answer_with(route: str) -> None:
    """Each in its dialect's shape: Kling answers a code with the status Kling pairs with its service code."""
    path, method = OPERATIONS[route]
    responses = openapi_document(CATALOG)["paths"][path][method]["responses"]
    codes = [entry for entry in error_codes().values() if entry.answers_on(route)]
    statuses = error_shape(route).statuses
    assert {s for s in responses if int(s) >= 400} == {str(status) for entry in codes for status in statuses(entry)}
    for entry in codes:
        for status in statuses(entry):
            assert f"`{entry.code}`" in responses[str(status)]["description"]


def test_every_operation_of_the_document_names_its_route_and_each_route_has_one() -> None:
    """So an answer of any path a route is served at is checked against the codes that route can answer with."""
    document = openapi_document(CATALOG)
    named = {operation["x-videomock-route"] for item in document["paths"].values() for operation in item.values()}
    assert named == set(OPERATIONS)
    for route, (path, method) in OPERATIONS.items():
        assert document["paths"][path][method]["x-videomock-route"] == route


# --- the live fake against the document and the table -----------------------------------------------------------
#
# Each provocation makes the fake answer one way (an error code, or a status that comes with none) on one route,
# through its real HTTP interface: the session's fake over a socket, faults injected with X-Videomock-Fault and
# the admin API. Where a startup-only setting is needed, a fake of its own: a small body limit, fetched images,
# an ffmpeg that fails, one listening beyond loopback, and `videomock serve` for what gunicorn answers itself.
# Every answer is checked against the document served at /openapi.json (its status listed for the route's
# operation, its body valid against the documented schema) and against the table (its code there, with that
# status, for that route). The claims of the provocations are checked against the table and the document in
# turn: a code or status nobody provokes fails the suite. Transport faults (reset, empty, truncate, malformed,
# dribble) are left out: they break the exchange below HTTP on purpose, and test_faults checks them.

BODY = {"model": "veo_3_1", "prompt": "conformance", "duration": 4}
#: What the openai SDK sends for ``videos.create(prompt=...)``: a multipart form, even without a file.
SDK_FORM = {"prompt": (None, "conformance")}
FAULT_ROUTES = ("submit", "poll", "download", "models", "model", "create", "retrieve", "list", "delete", "remix", "cdn")
#: Google's routes and Kling's, where faults fire too (as the submit, poll, download and list they are).
GOOGLE_ROUTES = ("vertex_submit", "vertex_fetch", "gemini_submit", "gemini_poll", "gemini_download")
KLING_ROUTES = ("kling_text2video", "kling_image2video", "kling_query", "kling_list")
DIALECT_ROUTES = GOOGLE_ROUTES + KLING_ROUTES
VEO = "veo-3.1-generate-preview"
#: Where each Google API keeps its models: Vertex AI's in a project (its express form has none), the Gemini API's.
VEO_MODELS = {"vertex": "/v1/projects/conformance/locations/us-central1/publishers/google/models",
              "express": "/v1beta1/publishers/google/models", "gemini": "/v1beta/models"}
VEO_BODY: dict[str, Any] = {"instances": [{"prompt": "conformance"}], "parameters": {"durationSeconds": 4}}
#: Kling's routes, at its own paths and under /kling: each request carries a token its client signs.
KLING_PATH = re.compile(r"/v1/videos/(text2video|image2video)(/|$|\?)")
KLING_ACCESS, KLING_SECRET = "AK-conformance", "SK-conformance-secret-of-32-bytes"
TURBO = "kling-v2-5-turbo"
KLING_BODY: dict[str, Any] = {"model_name": TURBO, "prompt": "conformance"}


def kling_token(secret: str = KLING_SECRET, *, exp: float = 1800, nbf: float = -5) -> str:
    """A token as Kling's reference signs one, ``exp`` and ``nbf`` seconds from now."""
    now = time.time()
    return jwt.encode({"iss": KLING_ACCESS, "exp": int(now + exp), "nbf": int(now + nbf)}, secret, algorithm="HS256")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, read off a requests response or a raw socket."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def of(cls, response: requests.Response) -> Answer:
        return cls(response.status_code, response.headers, response.content)

    @property
    def media_type(self) -> str:
        return self.headers.get("Content-Type", "").partition(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``videomock serve``: gunicorn parses requests its own way, and answers some the fixtures' server passes on."""
    with serve("--workers", "1", "--store", "memory", "--cache-dir", str(tmp_path_factory.mktemp("videos")),
               "--read-timeout", "0.5") as server:
        yield server.url


def _own_fake(config: dict[str, Any], video_library: VideoLibrary) -> Iterator[Fake]:
    app = create_app({**BASELINE_CONFIG, **config}, videos=video_library)
    with LiveServer(app) as server:
        yield Fake(server.url, app.extensions["videomock"])


@pytest.fixture(scope="module")
def small_fake(video_library: VideoLibrary) -> Iterator[Fake]:
    """A fake that takes bodies of at most 1 KiB (server.max_body_bytes is startup-only)."""
    yield from _own_fake({"server": {"max_body_bytes": 1024}}, video_library)


@pytest.fixture(scope="module")
def fetching_fake(video_library: VideoLibrary) -> Iterator[Fake]:
    """A fake that fetches image URLs from this machine (video.image_fetch is startup-only)."""
    fetch = {"enabled": True, "allow_hosts": ["127.0.0.1"], "allow_private_networks": ["127.0.0.1/32"]}
    yield from _own_fake({"video": {"image_fetch": fetch}}, video_library)


@pytest.fixture(scope="module")
def forgetful_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    """A fake whose media cache holds one video and one input image (its sizes are startup-only), so that each
    render pushes every other video out and each new image the other images; tasks complete by their first poll."""
    videos = VideoLibrary(tmp_path_factory.mktemp("forgetful"), max_bytes=1,
                          image_max_bytes=len(noise_png(300, 0)) * 3 // 2)
    app = create_app({**BASELINE_CONFIG, "clock": {"mode": "instant"}, "models": TINY_MODEL}, videos=videos)
    with LiveServer(app) as server:
        yield Fake(server.url, app.extensions["videomock"])
    videos.close()


@pytest.fixture(scope="module")
def public_fake(video_library: VideoLibrary) -> Iterator[str]:
    """A fake listening on every address, with no admin token; its URL at this machine's own non-loopback
    address, so that requests to it come from a non-loopback client."""
    own_address = _non_loopback_address()
    if own_address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    app = create_app({**BASELINE_CONFIG, "server": {"host": "0.0.0.0"}}, videos=video_library)
    with LiveServer(app, host="0.0.0.0") as server:
        yield f"http://{own_address}:{server.url.rsplit(':', 1)[1]}"


@pytest.fixture(scope="module")
def broken_renderer(live_fake: Fake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server on the session fake's store whose ffmpeg always fails and whose video cache is empty, as
    a server of a shared store whose ffmpeg broke would be: each video it serves must be rendered again."""
    videos = VideoLibrary(tmp_path_factory.mktemp("no-videos"), max_bytes=1 << 30, ffmpeg="/bin/false")
    app = create_app(BASELINE_CONFIG, store=live_fake.backend.store, videos=videos)
    with LiveServer(app) as server:
        yield server.url
    videos.close()


def served_document(fake: Fake, query: str = "") -> dict[str, Any]:
    response = requests.get(f"{fake.url}/openapi.json{query}", timeout=10)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="module")
def document(live_fake: Fake) -> dict[str, Any]:
    return served_document(live_fake)


class Scene:
    """What a provocation works with: the session's fake (reset for each test), the other servers on demand,
    and the requests most provocations start from."""

    def __init__(self, fake: Fake, request: pytest.FixtureRequest) -> None:
        self.fake = fake
        self.request = request

    def other(self, name: str) -> Any:
        return self.request.getfixturevalue(name)

    def call(self, method: str, path: str, *, key: str | bool = True, base: str | None = None,
             **kwargs: Any) -> Answer:
        """``key``: True sends the fake's key, False none, a string that key."""
        headers = dict(kwargs.pop("headers", None) or {})
        if key is not False:
            headers.setdefault("Authorization", self.authorization(path) if key is True else f"Bearer {key}")
        response = requests.request(method, (base or self.fake.url) + path, headers=headers, timeout=30,
                                    allow_redirects=False, **kwargs)
        return Answer.of(response)

    def authorization(self, path: str) -> str:
        """The default credential for ``path``: the fake's key, or on Kling's routes a token freshly signed."""
        return f"Bearer {kling_token()}" if KLING_PATH.search(path) else f"Bearer {self.fake.key}"

    def admin(self, method: str, path: str, body: Any = None) -> None:
        answer = self.call(method, f"/__admin/{path}", key=False, json=body)
        assert answer.status == 200, answer.body

    def configure(self, changes: dict[str, Any]) -> None:
        self.admin("PATCH", "config", changes)

    def advance(self, seconds: float) -> None:
        self.admin("POST", "clock/advance", {"seconds": seconds})

    def submit(self, body: dict[str, Any] = BODY, **kwargs: Any) -> Answer:
        return self.call("POST", "/v1/video/generations", json=body, **kwargs)

    def task(self) -> str:
        """A queued task of the default key."""
        answer = self.submit()
        assert answer.status == 200, answer.body
        task_id: str = answer.json()["task_id"]
        return task_id

    def completed(self) -> str:
        task_id = self.task()
        self.advance(3600)
        assert self.call("GET", f"/v1/video/generations/{task_id}").json()["status"] == "completed"
        return task_id

    def cdn_link(self, task_id: str, *, ttl: float | None = None) -> str:
        """The path of the signed CDN link a redirect fault sends the download of ``task_id`` to."""
        if ttl is None:
            answer = self.call("GET", f"/v1/videos/{task_id}/content", headers={HEADER: "redirect"})
        else:
            self.admin("POST", "faults", {"endpoint": "download", "times": 1, "action": {"type": "redirect", "ttl": ttl}})
            answer = self.call("GET", f"/v1/videos/{task_id}/content")
        assert answer.status == 302, answer.body
        return answer.headers["Location"].removeprefix(self.fake.url)

    def create(self, body: dict[str, Any] | None = None, **kwargs: Any) -> Answer:
        """POST /v1/videos: ``body`` as JSON, or by default the openai SDK's form (``files`` sends another)."""
        if body is not None:
            kwargs["json"] = body
        elif "files" not in kwargs and "data" not in kwargs:
            kwargs["files"] = SDK_FORM
        return self.call("POST", "/v1/videos", **kwargs)

    def video(self, body: dict[str, Any] | None = None, **kwargs: Any) -> str:
        """A queued video of the default key (the openai SDK's form unless ``body``)."""
        answer = self.create(body, **kwargs)
        assert answer.status == 200, answer.body
        video_id: str = answer.json()["id"]
        return video_id

    def completed_video(self, body: dict[str, Any] | None = None, **kwargs: Any) -> str:
        video_id = self.video(body, **kwargs)
        self.advance(3600)
        assert self.call("GET", f"/v1/videos/{video_id}", **kwargs).json()["status"] == "completed"
        return video_id

    def remix(self, video_id: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.call("POST", f"/v1/videos/{video_id}/remix", json={"prompt": "remixed"} if body is None else body,
                         **kwargs)

    def veo(self, dialect: str = "vertex", body: Any = VEO_BODY, model: str = VEO, **kwargs: Any) -> Answer:
        """A predictLongRunning of Vertex AI (its project form) or of the Gemini API."""
        return self.call("POST", f"{VEO_MODELS[dialect]}/{model}:predictLongRunning", json=body, **kwargs)

    def operation(self, dialect: str = "vertex", body: Any = VEO_BODY, **kwargs: Any) -> str:
        """The name of a started operation of the default key."""
        answer = self.veo(dialect, body, **kwargs)
        assert answer.status == 200, answer.body
        name: str = answer.json()["name"]
        return name

    def fetch(self, name: str, model: str = VEO, **kwargs: Any) -> Answer:
        """Vertex AI's poll of the operation ``name``."""
        return self.call("POST", f"{VEO_MODELS['vertex']}/{model}:fetchPredictOperation", json={"operationName": name},
                         **kwargs)

    def gemini_file(self, body: Any = VEO_BODY, model: str = VEO, **kwargs: Any) -> str:
        """The download link (path and query) of a done Gemini operation's first video."""
        name = self.operation("gemini", body, model=model, **kwargs)
        self.advance(3600)
        done = self.call("GET", f"/v1beta/{name}", **kwargs).json()
        uri: str = done["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
        return uri.removeprefix(kwargs.get("base") or self.fake.url)

    def kling(self, kind: str = "text2video", body: Any = None, **kwargs: Any) -> Answer:
        """A Kling create (text2video or image2video; by default a body of each)."""
        default = KLING_IMAGE_BODY if kind == "image2video" else KLING_BODY
        return self.call("POST", f"/v1/videos/{kind}", json=default if body is None else body, **kwargs)

    def kling_task(self, kind: str = "text2video", **kwargs: Any) -> str:
        answer = self.kling(kind, **kwargs)
        assert answer.status == 200, answer.body
        task_id: str = answer.json()["data"]["task_id"]
        return task_id

    def to(self, route: str, headers: Mapping[str, str] | None = None, key: str | bool = True) -> Answer:
        """A plain request to one of the routes faults can fire on."""
        if route in DIALECT_REQUESTS:
            return DIALECT_REQUESTS[route](self, {"headers": headers, "key": key})
        if route == "submit":
            return self.submit(headers=headers, key=key)
        if route == "models":
            return self.call("GET", "/v1/models", headers=headers, key=key)
        if route == "model":
            return self.call("GET", "/v1/models/veo_3_1", headers=headers, key=key)
        if route == "poll":
            return self.call("GET", f"/v1/video/generations/{self.task()}", headers=headers, key=key)
        if route == "create":
            return self.create(headers=headers, key=key)
        if route == "list":
            return self.call("GET", "/v1/videos", headers=headers, key=key)
        if route in ("retrieve", "delete"):
            return self.call("GET" if route == "retrieve" else "DELETE", f"/v1/videos/{self.video()}", headers=headers,
                             key=key)
        if route == "remix":
            return self.remix(self.completed_video(), headers=headers, key=key)
        task_id = self.completed()
        if route == "download":
            return self.call("GET", f"/v1/videos/{task_id}/content", headers=headers, key=key)
        assert route == "cdn"
        return self.call("GET", self.cdn_link(task_id), headers=headers, key=False)

    def raw(self, request_bytes: bytes, *, served: bool = False) -> Answer:
        """``request_bytes`` sent as they are, to the fake or to ``videomock serve``."""
        url = self.other("served") if served else self.fake.url
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request_bytes)
            response = http.client.HTTPResponse(sock)
            response.begin()
            return Answer(response.status, CaseInsensitiveDict(response.getheaders()), response.read())


@dataclass(frozen=True)
class Provocation:
    route: str
    #: The error code the fake answers with, or the status of an answer that has no code.
    expect: str | int
    send: Callable[[Scene], Answer]
    how: str = ""

    @property
    def id(self) -> str:
        return "-".join(str(part) for part in (self.route, self.expect, self.how) if part)

    @property
    def injected(self) -> bool:
        """Whether the answer is an http_error fault's (which keeps its status whatever the dialect)."""
        return self.how == "injected"


def _injected(route: str, status: int) -> Provocation:
    return Provocation(route, HTTP_ERROR_DEFAULTS[status][0], lambda s: s.to(route, {HEADER: f"status={status}"}),
                       "injected")


def _invalid_body(body: Any) -> Callable[[Scene], Answer]:
    return lambda s: s.submit(body)


def _redirect(status: int) -> Provocation:
    return Provocation("download", status, lambda s: s.call("GET", f"/v1/videos/{s.completed()}/content",
                                                            headers={HEADER: f"redirect={status}"}))


def png_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 20)).save(out, "PNG")
    return out.getvalue()


def png_file(width: int, height: int) -> dict[str, Any]:
    """The openai SDK's form with ``input_reference`` uploaded: a PNG of that size."""
    return {**SDK_FORM, "input_reference": ("cat.png", png_bytes(width, height), "image/png")}


def _unsupported_mode(route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        s.configure({"models": {"text-only": {"extends": "veo_3_1", "image_to_video": False}}})
        if route == "create":
            return s.create(files={**png_file(400, 300), "model": (None, "text-only")})
        return s.submit({"model": "text-only", "prompt": "x", "image": "https://example.com/cat.png"})
    return send


def _idempotency_key_in_use(route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        return _retried_while_fetching(s, route)
    return send


def _retried_while_fetching(s: Scene, route: str) -> Answer:
    """A retry that arrives while the first submit (or create) with its key is still fetching its image. The
    retry waits for it (here a moment: it would wait seconds) and is then told to come back."""
    fake: Fake = s.other("fetching_fake")
    fake.backend.reset()
    s.other("monkeypatch").setattr(idempotency, "WAIT_SECONDS", 0.05)
    asked, release = threading.Event(), threading.Event()
    image = png_bytes(400, 300)

    class SlowImage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.set()
            release.wait(10)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            self.wfile.write(image)

        def log_message(self, *args: Any) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowImage) as images, ThreadPoolExecutor(2) as pool:
        pool.submit(images.serve_forever, 0.02)
        image_url = f"http://127.0.0.1:{images.server_address[1]}/cat.png"
        def submit() -> Answer:
            if route == "create":
                return s.create({"prompt": "x", "input_reference": {"image_url": image_url}}, base=fake.url,
                                headers={"Idempotency-Key": "order-1"})
            return s.submit({**BODY, "image": image_url}, base=fake.url, headers={"Idempotency-Key": "order-1"})
        first = pool.submit(submit)
        try:
            assert asked.wait(10), "the first submit never fetched its image"
            retry = submit()
        finally:
            release.set()
            images.shutdown()
        assert first.result(timeout=30).status == 200
    return retry


def _reused_idempotency_key(route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        if route == "create":
            assert s.create(headers={"Idempotency-Key": "order-1"}).status == 200
            return s.create({"prompt": "another"}, headers={"Idempotency-Key": "order-1"})
        assert s.submit(headers={"Idempotency-Key": "order-1"}).status == 200
        return s.submit({**BODY, "seed": 1}, headers={"Idempotency-Key": "order-1"})
    return send


def _cdn_after_reset(then_submit: bool) -> Callable[[Scene], Answer]:
    """A CDN link, still signed and unexpired, to a task the admin API has since forgotten; with
    ``then_submit``, to the new task that has taken its id (ids start again after a reset)."""
    def send(s: Scene) -> Answer:
        link = s.cdn_link(s.completed())
        s.admin("POST", "reset")
        if then_submit:
            s.task()
        return s.call("GET", link, key=False)
    return send


def _expired(route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        task_id = s.completed()
        if route == "cdn":
            link = s.cdn_link(task_id, ttl=10)
        else:
            url = s.call("GET", f"/v1/video/generations/{task_id}", headers={HEADER: "expire=10"}).json()["url"]
            link = url.removeprefix(s.fake.url)
        s.advance(11)
        return s.call("GET", link, key=route != "cdn")
    return send


def _forged(route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        task_id = s.completed()
        path = s.cdn_link(task_id) if route == "cdn" else f"/v1/videos/{task_id}/content"
        return s.call("GET", path.partition("?")[0] + "?expires=9999999999&signature=forged", key=route != "cdn")
    return send


def _dashboard_video(request: Callable[[Scene, str, str], Answer]) -> Callable[[Scene], Answer]:
    """``request(scene, task_id, link)`` with the link the dashboard is given to a completed task's video."""
    def send(s: Scene) -> Answer:
        task_id = s.completed()
        return request(s, task_id, s.call("GET", f"/__admin/tasks/{task_id}", key=False).json()["media"]["video"])
    return send


def _expired_dashboard_link(s: Scene, task_id: str, link: str) -> Answer:
    signature = link_signature(s.fake.backend.store, task_id, 1)
    return s.call("GET", f"{link.partition('?')[0]}?expires=1&signature={signature}", key=False)


def _on_video(route: str, headers: Callable[[Scene, str], dict[str, str]]) -> Callable[[Scene], Answer]:
    """A download or CDN request for a completed task's video with ``headers(scene, task_id)``."""
    def send(s: Scene) -> Answer:
        task_id = s.completed()
        path = s.cdn_link(task_id) if route == "cdn" else f"/v1/videos/{task_id}/content"
        return s.call("GET", path, headers=headers(s, task_id), key=route != "cdn")
    return send


def _etag(s: Scene, task_id: str) -> dict[str, str]:
    return {"If-None-Match": s.call("GET", f"/v1/videos/{task_id}/content").headers["ETag"]}


def _rendered_again(route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        task_id = s.completed()
        path = s.cdn_link(task_id) if route == "cdn" else f"/v1/videos/{task_id}/content"
        return s.call("GET", path, base=s.other("broken_renderer"), key=route != "cdn")
    return send


def _limited(limits: dict[str, Any], attempts: int, route: str = "submit") -> Callable[[Scene], Answer]:
    """``attempts`` requests that each make a task, under ``limits``; the last one's answer."""
    def send(s: Scene) -> Answer:
        again = {"submit": s.submit, "create": s.create}.get(route) or functools.partial(s.remix, s.completed_video())
        s.configure({"limits": limits})
        for _ in range(attempts - 1):
            assert again().status == 200
        return again()
    return send


def _with_keys(route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        s.configure({"auth": {"api_keys": [s.fake.key]}})
        return s.to(route, key="sk-someone-else")
    return send


def _admin_token(s: Scene) -> Answer:
    s.configure({"auth": {"admin_token": "admin-secret"}})
    return s.call("GET", "/__admin/config", key=False)


def _too_large(route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        small: Fake = s.other("small_fake")
        body = {**BODY, "prompt": "x" * 2000}
        if route == "admin":
            return s.call("PUT", "/__admin/config", base=small.url, key=False, json=body)
        path = {"submit": "/v1/video/generations", "create": "/v1/videos", "remix": "/v1/videos/video_x/remix"}[route]
        return s.call("POST", path, base=small.url, json=body)
    return send


def _model_gone(s: Scene) -> Answer:
    """A remix of a video whose model the catalog has since dropped."""
    s.configure({"models": {"short-lived": {"extends": "veo_3_1"}}})
    video_id = s.completed_video({"model": "short-lived", "prompt": "x"})
    s.configure({"models": {"short-lived": {"disabled": True}}})
    return s.remix(video_id)


def _evicted(route: str) -> Callable[[Scene], Answer]:
    """A video made from an image, asked for (downloaded, by its CDN link or the dashboard's, or remixed) once another
    video from another image has pushed both the video and its image out of a media cache that holds one of each."""
    def send(s: Scene) -> Answer:
        forgetful: Fake = s.other("forgetful_fake")
        forgetful.backend.reset()
        first, second = (base64.b64encode(noise_png(300, seed)).decode() for seed in (1, 2))
        here = {"base": forgetful.url}
        video_id = s.completed_video({"model": "tiny", "prompt": "x", "input_reference": first}, **here)
        link = f"/v1/videos/{video_id}/content"
        if route == "cdn":
            link = s.call("GET", link, headers={HEADER: "redirect"}, **here).headers["Location"].removeprefix(forgetful.url)
        elif route == "admin":   # the dashboard's player
            link = s.call("GET", f"/__admin/tasks/{video_id}", key=False, **here).json()["media"]["video"]
        s.completed_video({"model": "tiny", "prompt": "y", "input_reference": second}, **here)
        if route == "remix":
            return s.remix(video_id, **here)
        if route == "download":
            return s.call("GET", link, **here)
        return s.call("GET", link, key=False, **here)
    return send


def _failed_video(s: Scene) -> Answer:
    video_id = s.video(headers={HEADER: "fail=content_policy@0"})
    s.advance(3600)
    return s.call("GET", f"/v1/videos/{video_id}")


def _failed_task(s: Scene) -> Answer:
    task_id = s.submit(headers={HEADER: "fail=content_policy@0"}).json()["task_id"]
    s.advance(3600)
    return s.call("GET", f"/v1/video/generations/{task_id}")


def _signed_url_poll(s: Scene) -> Answer:
    return s.call("GET", f"/v1/video/generations/{s.completed()}", headers={HEADER: "expire=60"})


#: Requests the HTTP server refuses itself, before the app sees them.
_LONG_LINE = b"GET /v1/video/generations/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
_BIG_HEADER = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n"
_BAD_VERSION = b"GET /v1/models HTTP/x.y\r\nHost: x\r\n\r\n"
_HTTP_2 = b"GET /v1/models HTTP/2.0\r\nHost: x\r\n\r\n"
_EXPECT = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nExpect: a-pony\r\n\r\n"
_TRANSFER_CODING = b"POST /v1/video/generations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: pony\r\n\r\n"
_HALF_A_HEAD = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n"


def _broken_chunks(method: str, path: str) -> Callable[[Scene], Answer]:
    """A JSON body whose chunked framing is broken (a chunk size that is not hexadecimal)."""
    def send(s: Scene) -> Answer:
        return s.raw(f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {s.authorization(path)}\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".encode())
    return send


_UTF_16 = {"Content-Type": "application/json; charset=utf-16"}
#: The routes that need an API key (a CDN link is signed instead).
KEYED_ROUTES = tuple(route for route in FAULT_ROUTES if route != "cdn")
#: The OpenAI Videos API's routes that read a body, and a path of each (bodies are read before the video is looked up).
OPENAI_BODIES = (("create", "/v1/videos"), ("remix", "/v1/videos/video_x/remix"))


PROVOCATIONS: list[Provocation] = [
    # what each documented operation answers when all is well
    Provocation("submit", 200, lambda s: s.submit()),
    Provocation("poll", 200, lambda s: s.call("GET", f"/v1/video/generations/{s.task()}"), "queued"),
    Provocation("poll", 200, lambda s: s.call("GET", f"/v1/video/generations/{s.completed()}"), "completed"),
    Provocation("poll", 200, _failed_task, "failed"),
    Provocation("poll", 200, _signed_url_poll, "signed-url"),
    Provocation("models", 200, lambda s: s.call("GET", "/v1/models")),
    Provocation("model", 200, lambda s: s.to("model")),
    Provocation("model", "unknown_model", lambda s: s.call("GET", "/v1/models/veo_9")),
    Provocation("download", 200, lambda s: s.to("download")),
    Provocation("download", 206, _on_video("download", lambda s, t: {"Range": "bytes=0-99"})),
    Provocation("download", 304, _on_video("download", _etag)),
    *[_redirect(status) for status in (301, 302, 303, 307, 308)],
    Provocation("cdn", 200, lambda s: s.to("cdn")),
    *[Provocation("download", 200, lambda s, variant=variant: s.call("GET", f"/v1/videos/{s.completed()}/content",
                                                                       params={"variant": variant}), variant)
      for variant in ("thumbnail", "spritesheet")],
    Provocation("create", 200, lambda s: s.create(), "sdk-form"),
    Provocation("create", 200, lambda s: s.create(files=png_file(400, 300)), "uploaded-image"),
    Provocation("create", 200, lambda s: s.create({"model": "veo_3_1", "prompt": "x", "seconds": "8", "size": "1920x1080",
                                                   "input_reference": {"image_url": "https://example.com/cat.png"}}),
                "json"),
    Provocation("retrieve", 200, lambda s: s.call("GET", f"/v1/videos/{s.video()}"), "queued"),
    Provocation("retrieve", 200, lambda s: s.call("GET", f"/v1/videos/{s.completed_video()}"), "completed"),
    Provocation("retrieve", 200, _failed_video, "failed"),
    Provocation("list", 200, lambda s: [s.video() for _ in range(3)] and s.call("GET", "/v1/videos?limit=2&order=asc")),
    Provocation("delete", 200, lambda s: s.call("DELETE", f"/v1/videos/{s.video()}")),
    Provocation("remix", 200, lambda s: s.remix(s.completed_video())),
    # the HTTP server's own answers
    Provocation("models", "bad_request", lambda s: s.raw(_BAD_VERSION), "version"),
    Provocation("models", "bad_request", lambda s: s.raw(_HTTP_2, served=True), "serve-version"),
    Provocation("submit", "bad_request", lambda s: s.raw(b"GET /v1/mo dels HTTP/1.1\r\nHost: x\r\n\r\n", served=True),
                "serve-request-line"),
    Provocation("poll", "uri_too_long", lambda s: s.raw(_LONG_LINE)),
    Provocation("poll", "uri_too_long", lambda s: s.raw(_LONG_LINE, served=True), "serve"),
    Provocation("models", "request_header_fields_too_large", lambda s: s.raw(_BIG_HEADER)),
    Provocation("models", "request_header_fields_too_large", lambda s: s.raw(_BIG_HEADER, served=True), "serve"),
    Provocation("models", "http_version_not_supported", lambda s: s.raw(_HTTP_2)),
    Provocation("models", "expectation_failed", lambda s: s.raw(_EXPECT, served=True), "serve"),
    Provocation("submit", "not_implemented", lambda s: s.raw(_TRANSFER_CODING, served=True), "serve"),
    Provocation("models", "request_timeout", lambda s: s.raw(_HALF_A_HEAD, served=True), "serve"),
    # routing and limits
    Provocation("unrouted", "not_found", lambda s: s.call("GET", "/v1/nothing-here")),
    Provocation("unrouted", "method_not_allowed", lambda s: s.call("DELETE", "/v1/video/generations")),
    *[Provocation(route, "request_too_large", _too_large(route)) for route in ("submit", "create", "remix", "admin")],
    # keys
    *[Provocation(route, "missing_api_key", lambda s, route=route: s.to(route, key=False)) for route in KEYED_ROUTES],
    *[Provocation(route, "invalid_api_key", _with_keys(route)) for route in KEYED_ROUTES],
    Provocation("admin", "invalid_admin_token", _admin_token),
    Provocation("admin", "admin_loopback_only", lambda s: s.call("GET", "/__admin/clock", key=False,
                                                                 base=s.other("public_fake"))),
    # bodies and validation
    Provocation("submit", "invalid_json", lambda s: s.submit(None, data=b'{"model": ', headers={"Content-Type": "application/json"})),
    Provocation("submit", "unsupported_content_type", lambda s: s.submit(None, data=b"{}", headers={"Content-Type": "text/plain"})),
    Provocation("submit", "unsupported_charset", lambda s: s.submit(None, data=b"{}", headers=_UTF_16)),
    Provocation("submit", "malformed_body", _broken_chunks("POST", "/v1/video/generations")),
    Provocation("submit", "invalid_type", _invalid_body(["veo_3_1"])),
    Provocation("submit", "missing_required_parameter", _invalid_body({"prompt": "no model"})),
    Provocation("submit", "unknown_parameter", _invalid_body({**BODY, "colour": "red"})),
    Provocation("submit", "unsupported_value", _invalid_body({**BODY, "duration": 5})),
    Provocation("submit", "string_above_max_length", _invalid_body({**BODY, "prompt": "x" * 4001})),
    Provocation("submit", "string_below_min_length", _invalid_body({**BODY, "prompt": ""})),
    Provocation("submit", "value_out_of_range", _invalid_body({**BODY, "seed": -1})),
    Provocation("submit", "invalid_value", _invalid_body({"model": "kling-v2-5-turbo", "prompt": "x",
                                                          "metadata": {"callback_url": "ftp://example.com"}})),
    Provocation("submit", "invalid_image", _invalid_body({**BODY, "image": "data:image/png;base64,AAAA"})),
    *[Provocation(route, "unsupported_mode", _unsupported_mode(route)) for route in ("submit", "create")],
    Provocation("submit", "model_not_found", _invalid_body({**BODY, "model": "veo_9"})),
    # the OpenAI Videos API's bodies: the create's (forms as the openai SDK sends them, and JSON) and the remix's
    *[Provocation(route, "invalid_json", lambda s, path=path: s.call("POST", path, data=b'{"prompt": ',
                                                                     headers={"Content-Type": "application/json"}))
      for route, path in OPENAI_BODIES],
    *[Provocation(route, "unsupported_content_type", lambda s, path=path: s.call("POST", path, data=b"prompt",
                                                                                 headers={"Content-Type": "text/plain"}))
      for route, path in OPENAI_BODIES],
    *[Provocation(route, "unsupported_charset", lambda s, path=path: s.call("POST", path, data=b"{}", headers=_UTF_16))
      for route, path in OPENAI_BODIES],
    *[Provocation(route, "malformed_body", _broken_chunks("POST", path)) for route, path in OPENAI_BODIES],
    *[Provocation(route, "invalid_type", lambda s, path=path: s.call("POST", path, json=["prompt"]))
      for route, path in OPENAI_BODIES],
    *[Provocation(route, "invalid_value", lambda s, path=path: s.call("POST", path, files=[("prompt", (None, "a")),
                                                                                          ("prompt", (None, "b"))]),
                  "form-field-twice") for route, path in OPENAI_BODIES],
    Provocation("create", "invalid_type", lambda s: s.create(files={**SDK_FORM, "seconds": ("4.txt", b"4", "text/plain")}),
                "file-part"),
    Provocation("create", "missing_required_parameter", lambda s: s.create(files={"seconds": (None, "4")})),
    Provocation("create", "unknown_parameter", lambda s: s.create({"prompt": "x", "duration": 4})),
    Provocation("create", "unsupported_value", lambda s: s.create(files={**SDK_FORM, "seconds": (None, "5")})),
    Provocation("create", "string_above_max_length", lambda s: s.create({"prompt": "x" * 32001})),
    Provocation("create", "string_below_min_length", lambda s: s.create(files={"prompt": (None, "")})),
    Provocation("create", "invalid_image", lambda s: s.create(files=png_file(100, 100))),
    Provocation("create", "model_not_found", lambda s: s.create({"model": "sora-9", "prompt": "x"})),
    Provocation("remix", "missing_required_parameter", lambda s: s.remix("video_x", {})),
    Provocation("remix", "unknown_parameter", lambda s: s.remix("video_x", {"prompt": "x", "seconds": "8"})),
    Provocation("remix", "string_below_min_length", lambda s: s.remix("video_x", {"prompt": ""})),
    Provocation("remix", "string_above_max_length",
                lambda s: s.remix(s.completed_video({"model": "kling-v2-5-turbo", "prompt": "x"}), {"prompt": "x" * 2501})),
    Provocation("remix", "model_not_found", _model_gone),
    Provocation("list", "unknown_parameter", lambda s: s.call("GET", "/v1/videos?colour=red")),
    Provocation("list", "invalid_value", lambda s: s.call("GET", "/v1/videos?limit=0"), "limit"),
    Provocation("list", "invalid_value", lambda s: s.call("GET", "/v1/videos?order=newest"), "order"),
    Provocation("download", "invalid_value", lambda s: s.call("GET", f"/v1/videos/{s.completed()}/content?variant=poster")),
    # the admin API
    Provocation("admin", "invalid_json", lambda s: s.call("PUT", "/__admin/config", key=False, data=b"{",
                                                          headers={"Content-Type": "application/json"})),
    Provocation("admin", "unsupported_content_type", lambda s: s.call("PUT", "/__admin/config", key=False, data=b"{}",
                                                                      headers={"Content-Type": "text/plain"})),
    Provocation("admin", "unsupported_charset", lambda s: s.call("PUT", "/__admin/config", key=False, data=b"{}",
                                                                 headers=_UTF_16)),
    Provocation("admin", "malformed_body", _broken_chunks("PUT", "/__admin/config")),
    Provocation("admin", "invalid_type", lambda s: s.call("PUT", "/__admin/config", key=False, json=[])),
    Provocation("admin", "unknown_parameter", lambda s: s.call("GET", "/__admin/requests?colour=red", key=False)),
    Provocation("admin", "invalid_value", lambda s: s.call("POST", "/__admin/clock/advance", key=False, json={"seconds": -1})),
    Provocation("admin", "invalid_config", lambda s: s.call("PATCH", "/__admin/config", key=False,
                                                            json={"clock": {"mode": "warp"}})),
    Provocation("admin", "fault_rule_not_found", lambda s: s.call("DELETE", "/__admin/faults/no-such-rule", key=False)),
    Provocation("admin", "webhook_delivery_not_found",
                lambda s: s.call("POST", "/__admin/webhooks/deliveries/dlv_nope/redeliver", key=False)),
    Provocation("admin", "webhook_endpoint_not_found",
                lambda s: s.call("DELETE", "/__admin/webhooks/endpoints/no-such-endpoint", key=False)),
    # tasks, limits and idempotency
    Provocation("poll", "task_not_found", lambda s: s.call("GET", "/v1/video/generations/task_nope")),
    Provocation("download", "task_not_found", lambda s: s.call("GET", "/v1/videos/task_nope/content")),
    *[Provocation(route, "task_not_found", lambda s, method=method, path=path: s.call(method, path))
      for route, method, path in (("retrieve", "GET", "/v1/videos/video_nope"), ("delete", "DELETE", "/v1/videos/video_nope"),
                                  ("list", "GET", "/v1/videos?after=video_nope"))],
    Provocation("remix", "task_not_found", lambda s: s.remix("video_nope")),
    Provocation("remix", "video_not_ready", lambda s: s.remix(s.video())),
    Provocation("cdn", "task_not_found", _cdn_after_reset(then_submit=False)),
    Provocation("download", "video_not_ready", lambda s: s.call("GET", f"/v1/videos/{s.task()}/content")),
    Provocation("cdn", "video_not_ready", _cdn_after_reset(then_submit=True)),
    *[Provocation(route, "concurrency_limit_exceeded", _limited({"max_in_flight": 1}, 2, route))
      for route in ("submit", "create", "remix")],
    *[Provocation(route, "insufficient_user_quota", _limited({"credits": 1}, 1, route), "credits")
      for route in ("submit", "create", "remix")],
    *[Provocation(route, "idempotency_key_reused", _reused_idempotency_key(route)) for route in ("submit", "create")],
    *[Provocation(route, "idempotency_key_in_use", _idempotency_key_in_use(route)) for route in ("submit", "create")],
    # the video: links, preconditions, ranges, renders
    *[Provocation(route, "url_expired", _expired(route)) for route in ("download", "cdn")],
    *[Provocation(route, "invalid_signature", _forged(route)) for route in ("download", "cdn")],
    *[Provocation(route, "precondition_failed", _on_video(route, lambda s, t: {"If-Match": '"another-video"'}))
      for route in ("download", "cdn")],
    *[Provocation(route, "requested_range_not_satisfiable", _on_video(route, lambda s, t: {"Range": "bytes=99999999-"}))
      for route in ("download", "cdn")],
    *[Provocation(route, "render_failed", _rendered_again(route)) for route in ("download", "cdn")],
    *[Provocation(route, "video_expired", _evicted(route)) for route in ("download", "cdn", "remix", "admin")],
    # the dashboard's task page and its player
    Provocation("admin", "task_not_found", lambda s: s.call("GET", "/__admin/tasks/task_nope", key=False)),
    Provocation("admin", "video_not_ready", lambda s: s.call("GET", f"/__admin/tasks/{s.task()}/video", key=False)),
    Provocation("admin", "url_expired", _dashboard_video(_expired_dashboard_link)),
    Provocation("admin", "invalid_signature", _dashboard_video(
        lambda s, task_id, link: s.call("GET", link.partition("?")[0] + "?expires=9999999999&signature=forged", key=False))),
    Provocation("admin", "precondition_failed", _dashboard_video(
        lambda s, task_id, link: s.call("GET", link, key=False, headers={"If-Match": '"another-video"'}))),
    Provocation("admin", "requested_range_not_satisfiable", _dashboard_video(
        lambda s, task_id, link: s.call("GET", link, key=False, headers={"Range": "bytes=99999999-"}))),
    Provocation("admin", "render_failed", _dashboard_video(
        lambda s, task_id, link: s.call("GET", link, key=False, base=s.other("broken_renderer")))),
    # faults: every status an http_error fault can inject, and a fault header that does not parse, on every route
    *[_injected(route, status) for route in FAULT_ROUTES for status in sorted(HTTP_ERROR_DEFAULTS)],
    *[Provocation(route, "invalid_fault_header", lambda s, route=route: s.to(route, {HEADER: "status=teapot"}))
      for route in FAULT_ROUTES],
]


# --- Google's and Kling's routes ------------------------------------------------------------------------------

KLING_IMAGE_BODY: dict[str, Any] = {**KLING_BODY, "image": base64.b64encode(png_bytes(400, 300)).decode()}
_GOOGLE_IMAGE = {"bytesBase64Encoded": base64.b64encode(png_bytes(400, 300)).decode(), "mimeType": "image/png"}


def _veo(body: Any, dialect: str = "vertex") -> Callable[[Scene], Answer]:
    return lambda s: s.veo(dialect, body)


def _veo_instance(dialect: str, **instance: Any) -> Callable[[Scene], Answer]:
    return _veo({**VEO_BODY, "instances": [{**VEO_BODY["instances"][0], **instance}]}, dialect)


def _veo_parameters(dialect: str, **parameters: Any) -> Callable[[Scene], Answer]:
    return _veo({**VEO_BODY, "parameters": {**VEO_BODY["parameters"], **parameters}}, dialect)


def _kling(kind: str, **changes: Any) -> Callable[[Scene], Answer]:
    default = KLING_IMAGE_BODY if kind == "image2video" else KLING_BODY
    return lambda s: s.kling(kind, {key: value for key, value in {**default, **changes}.items() if value is not None})


def _gemini_poll(s: Scene, **kwargs: Any) -> Answer:
    return s.call("GET", f"/v1beta/{s.operation('gemini')}", **kwargs)


#: A plain request to each of Google's and Kling's routes (``to``'s, with its headers and key).
DIALECT_REQUESTS: dict[str, Callable[[Scene, dict[str, Any]], Answer]] = {
    "vertex_submit": lambda s, kw: s.veo("vertex", **kw),
    "vertex_fetch": lambda s, kw: s.fetch(s.operation(), **kw),
    "gemini_submit": lambda s, kw: s.veo("gemini", **kw),
    "gemini_poll": lambda s, kw: _gemini_poll(s, **kw),
    "gemini_download": lambda s, kw: s.call("GET", s.gemini_file(), **kw),
    "kling_text2video": lambda s, kw: s.kling("text2video", **kw),
    "kling_image2video": lambda s, kw: s.kling("image2video", **kw),
    "kling_query": lambda s, kw: s.call("GET", f"/v1/videos/text2video/{s.kling_task()}", **kw),
    "kling_list": lambda s, kw: s.call("GET", "/v1/videos/text2video", **kw),
}
#: Each body-reading route of Google's and Kling's, and a path of it (bodies are read after the credentials).
DIALECT_BODIES = (("vertex_submit", f"{VEO_MODELS['vertex']}/{VEO}:predictLongRunning"),
                  ("vertex_fetch", f"{VEO_MODELS['vertex']}/{VEO}:fetchPredictOperation"),
                  ("gemini_submit", f"{VEO_MODELS['gemini']}/{VEO}:predictLongRunning"),
                  ("kling_text2video", "/v1/videos/text2video"), ("kling_image2video", "/v1/videos/image2video"))
#: The routes that start a task, and how each does it.
DIALECT_SUBMITS: dict[str, Callable[..., Answer]] = {
    "vertex_submit": lambda s, **kw: s.veo("vertex", **kw),
    "gemini_submit": lambda s, **kw: s.veo("gemini", **kw),
    "kling_text2video": lambda s, **kw: s.kling("text2video", **kw),
    "kling_image2video": lambda s, **kw: s.kling("image2video", **kw),
}


def _dialect_limited(limits: dict[str, Any], attempts: int, route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        s.configure({"limits": limits})
        for _ in range(attempts - 1):
            assert DIALECT_SUBMITS[route](s).status == 200
        return DIALECT_SUBMITS[route](s)
    return send


def _text_only(route: str) -> Callable[[Scene], Answer]:
    """An image sent to a model (of the route's dialect) that does not animate images."""
    def send(s: Scene) -> Answer:
        s.configure({"models": {"text-only": {"extends": "veo_3_1" if route.endswith("submit") else TURBO,
                                              "image_to_video": False,
                                              "names": {"vertex": ["veo-text-only"], "gemini": ["veo-text-only"],
                                                        "kling": ["kling-text-only"]}}}})
        if route == "kling_image2video":
            return s.kling("image2video", {**KLING_IMAGE_BODY, "model_name": "kling-text-only"})
        if route == "kling_text2video":   # a model of images only, asked for text
            s.configure({"models": {"text-only": {"image_to_video": True, "text_to_video": False}}})
            return s.kling("text2video", {**KLING_BODY, "model_name": "kling-text-only"})
        dialect = route.removesuffix("_submit")
        return s.veo(dialect, {"instances": [{"prompt": "x", "image": _GOOGLE_IMAGE}]}, model="veo-text-only")
    return send


def _google_with_keys(route: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        s.configure({"auth": {"api_keys": [s.fake.key]}})
        return s.to(route, headers={"x-goog-api-key": "sk-someone-else"}, key=False)
    return send


def _kling_token_refused(route: str, token: Callable[[], str], keys: bool = False) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        if keys:
            s.configure({"auth": {"kling_keys": [f"{KLING_ACCESS}:{KLING_SECRET}"]}})
        return s.to(route, key=token())
    return send


def _gemini_download(headers: Callable[[Scene, str], dict[str, str]] | None = None) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        link = s.gemini_file()
        return s.call("GET", link, headers=headers(s, link) if headers else None)
    return send


def _gemini_not_ready(s: Scene) -> Answer:
    name = s.operation("gemini")
    return s.call("GET", f"/v1beta/files/{name.rpartition('/')[2]}0:download?alt=media")


def _gemini_rendered_again(s: Scene) -> Answer:
    return s.call("GET", s.gemini_file(), base=s.other("broken_renderer"))


def _gemini_evicted(s: Scene) -> Answer:
    """A video made from an image, downloaded once another video from another image has pushed both the video and
    its image out of a media cache that holds one of each."""
    forgetful: Fake = s.other("forgetful_fake")
    forgetful.backend.reset()
    s.call("PATCH", "/__admin/config", base=forgetful.url, key=False,
           json={"models": {"tiny-veo": {"extends": "tiny", "names": {"gemini": ["tiny-veo"]}}}})
    first, second = ({"instances": [{"prompt": "x", "image": {"bytesBase64Encoded": base64.b64encode(noise_png(300, seed)).decode(),
                                                              "mimeType": "image/png"}}]} for seed in (1, 2))
    here = {"base": forgetful.url}
    link = s.gemini_file(first, model="tiny-veo", **here)
    s.gemini_file(second, model="tiny-veo", **here)
    return s.call("GET", link, **here)


def _kling_failed(s: Scene) -> Answer:
    task_id = s.kling_task(headers={HEADER: "fail=content_policy@0"})
    s.advance(3600)
    return s.call("GET", f"/v1/videos/text2video/{task_id}")


def _vertex_done(headers: Mapping[str, str] | None = None, body: Any = VEO_BODY) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        name = s.operation(body=body, headers=headers)
        s.advance(3600)
        return s.fetch(name)
    return send


def _gemini_done(headers: Mapping[str, str] | None = None) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        name = s.operation("gemini", headers=headers)
        s.advance(3600)
        return s.call("GET", f"/v1beta/{name}")
    return send


def _kling_by_external_id(s: Scene) -> Answer:
    s.kling_task(body={**KLING_BODY, "external_task_id": "mine"})
    s.advance(3600)
    return s.call("GET", "/v1/videos/text2video/mine")


def _kling_duplicate_external_id(kind: str) -> Callable[[Scene], Answer]:
    def send(s: Scene) -> Answer:
        assert _kling(kind, external_task_id="order-1")(s).status == 200
        return _kling(kind, external_task_id="order-1")(s)
    return send


_LONGEST_VEO_PROMPT = CATALOG["veo_3_1"].prompt_max_length
_LONGEST_KLING_PROMPT = CATALOG[TURBO].prompt_max_length

DIALECT_PROVOCATIONS: list[Provocation] = [
    # what each operation answers when all is well: the lifecycle of a task
    Provocation("vertex_submit", 200, _veo(VEO_BODY), "project"),
    Provocation("vertex_submit", 200, lambda s: s.call("POST", f"{VEO_MODELS['express']}/{VEO}:predictLongRunning",
                                                       json=VEO_BODY), "express"),
    Provocation("vertex_fetch", 200, lambda s: s.fetch(s.operation()), "running"),
    Provocation("vertex_fetch", 200, _vertex_done(), "done"),
    Provocation("vertex_fetch", 200, _vertex_done(body={**VEO_BODY, "parameters": {"sampleCount": 2, "storageUri": "gs://bucket/veo"}}),
                "storage-uri"),
    Provocation("vertex_fetch", 200, _vertex_done({HEADER: "fail=content_policy@0"}), "failed"),
    Provocation("vertex_fetch", 200, _vertex_done({HEADER: "filter"}), "filtered"),
    Provocation("gemini_submit", 200, _veo(VEO_BODY, "gemini")),
    Provocation("gemini_poll", 200, _gemini_poll, "running"),
    Provocation("gemini_poll", 200, _gemini_done(), "done"),
    Provocation("gemini_poll", 200, _gemini_done({HEADER: "fail=content_policy@0"}), "failed"),
    Provocation("gemini_poll", 200, _gemini_done({HEADER: "filter"}), "filtered"),
    Provocation("gemini_download", 200, _gemini_download()),
    Provocation("gemini_download", 206, _gemini_download(lambda s, link: {"Range": "bytes=0-99"})),
    Provocation("gemini_download", 304, _gemini_download(lambda s, link: {"If-None-Match": s.call("GET", link).headers["ETag"]})),
    Provocation("kling_text2video", 200, _kling("text2video")),
    Provocation("kling_image2video", 200, _kling("image2video")),
    Provocation("kling_query", 200, lambda s: s.to("kling_query"), "submitted"),
    Provocation("kling_query", 200, lambda s: s.call("GET", f"/kling/v1/videos/image2video/{s.kling_task('image2video')}"),
                "passthrough"),
    Provocation("kling_query", 200, _kling_by_external_id, "succeeded-by-external-id"),
    Provocation("kling_query", 200, _kling_failed, "failed"),
    Provocation("kling_list", 200, lambda s: [s.kling_task() for _ in range(3)] and s.call("GET", "/v1/videos/text2video?pageSize=2")),
    # credentials
    *[Provocation(route, "missing_api_key", lambda s, route=route: s.to(route, key=False)) for route in GOOGLE_ROUTES],
    *[Provocation(route, "invalid_api_key", _google_with_keys(route)) for route in GOOGLE_ROUTES],
    *[Provocation(route, "missing_token", lambda s, route=route: s.to(route, key=False)) for route in KLING_ROUTES],
    *[Provocation(route, "invalid_token", _kling_token_refused(route, lambda: "not-a-jwt")) for route in KLING_ROUTES],
    *[Provocation(route, "token_not_yet_valid", _kling_token_refused(route, lambda: kling_token(nbf=3600)))
      for route in KLING_ROUTES],
    *[Provocation(route, "token_expired", _kling_token_refused(route, lambda: kling_token(exp=-3600))) for route in KLING_ROUTES],
    *[Provocation(route, "invalid_api_key", _kling_token_refused(route, lambda: kling_token("SK-another-secret-of-32-bytes-xx"),
                                                                  keys=True)) for route in KLING_ROUTES],
    # bodies
    *[Provocation(route, "invalid_json", lambda s, path=path: s.call("POST", path, data=b'{"instances": ',
                                                                     headers={"Content-Type": "application/json"}))
      for route, path in DIALECT_BODIES],
    *[Provocation(route, "unsupported_content_type", lambda s, path=path: s.call("POST", path, data=b"{}",
                                                                                 headers={"Content-Type": "text/plain"}))
      for route, path in DIALECT_BODIES],
    *[Provocation(route, "unsupported_charset", lambda s, path=path: s.call("POST", path, data=b"{}", headers=_UTF_16))
      for route, path in DIALECT_BODIES],
    *[Provocation(route, "malformed_body", _broken_chunks("POST", path)) for route, path in DIALECT_BODIES],
    *[Provocation(route, "invalid_type", lambda s, path=path: s.call("POST", path, json=["x"])) for route, path in DIALECT_BODIES],
    *[Provocation(route, "request_too_large", lambda s, path=path: s.call(
        "POST", path, base=s.other("small_fake").url, json={**KLING_BODY, "prompt": "x" * 2000})) for route, path in DIALECT_BODIES],
    *[Provocation(route, "string_below_min_length", send) for route, send in (
        ("vertex_submit", _veo_instance("vertex", prompt="")), ("gemini_submit", _veo_instance("gemini", prompt="")),
        ("vertex_fetch", lambda s: s.fetch("")),
        ("kling_text2video", _kling("text2video", prompt="")), ("kling_image2video", _kling("image2video", prompt="")))],
    *[Provocation(route, "missing_required_parameter", send) for route, send in (
        ("vertex_submit", _veo({"parameters": {}})), ("gemini_submit", _veo({}, "gemini")),
        ("vertex_fetch", lambda s: s.call("POST", DIALECT_BODIES[1][1], json={})),
        ("kling_text2video", _kling("text2video", prompt=None)), ("kling_image2video", _kling("image2video", image=None)))],
    *[Provocation(route, "unknown_parameter", send) for route, send in (
        ("vertex_submit", _veo_parameters("vertex", colour="red")), ("gemini_submit", _veo_parameters("gemini", seed=1)),
        ("vertex_fetch", lambda s: s.call("POST", DIALECT_BODIES[1][1], json={"operationName": "x", "colour": "red"})),
        ("kling_text2video", _kling("text2video", colour="red")), ("kling_image2video", _kling("image2video", colour="red")),
        ("kling_list", lambda s: s.call("GET", "/v1/videos/text2video?colour=red")))],
    *[Provocation(route, "unsupported_value", send) for route, send in (
        ("vertex_submit", _veo_parameters("vertex", durationSeconds=5)),
        ("gemini_submit", _veo_parameters("gemini", durationSeconds=5)),
        ("kling_text2video", _kling("text2video", duration="7")), ("kling_image2video", _kling("image2video", duration="7")))],
    *[Provocation(route, "string_above_max_length", send) for route, send in (
        ("vertex_submit", _veo_instance("vertex", prompt="x" * (_LONGEST_VEO_PROMPT + 1))),
        ("gemini_submit", _veo_instance("gemini", prompt="x" * (_LONGEST_VEO_PROMPT + 1))),
        ("kling_text2video", _kling("text2video", prompt="x" * (_LONGEST_KLING_PROMPT + 1))),
        ("kling_image2video", _kling("image2video", prompt="x" * (_LONGEST_KLING_PROMPT + 1))))],
    *[Provocation(route, "value_out_of_range", send) for route, send in (
        ("vertex_submit", _veo_parameters("vertex", seed=-1)), ("gemini_submit", _veo_parameters("gemini", sampleCount=5)),
        ("kling_text2video", _kling("text2video", cfg_scale=2)), ("kling_image2video", _kling("image2video", cfg_scale=-1)))],
    *[Provocation(route, "invalid_value", send, how) for route, send, how in (
        ("vertex_submit", _veo_instance("vertex", image={**_GOOGLE_IMAGE, "gcsUri": "gs://bucket/cat.png"}), "image-source"),
        ("gemini_submit", _veo({**VEO_BODY, "webhookConfig": {"uris": ["ftp://example.com"]}}, "gemini"), "pattern"),
        ("kling_text2video", _kling("text2video", callback_url="ftp://example.com"), "pattern"),
        ("kling_text2video", _kling_duplicate_external_id("text2video"), "external-task-id"),
        ("kling_image2video", _kling_duplicate_external_id("image2video"), "external-task-id"),
        ("kling_list", lambda s: s.call("GET", "/v1/videos/text2video?pageNum=0"), "page"),
        ("gemini_download", lambda s: s.call("GET", s.gemini_file().replace("alt=media", "alt=json")), "alt"),
        ("openapi", lambda s: s.call("GET", "/openapi.json?profile=nobody"), ""))],
    *[Provocation(route, "invalid_image", send) for route, send in (
        ("vertex_submit", _veo_instance("vertex", image={**_GOOGLE_IMAGE, "bytesBase64Encoded": "AAAA"})),
        ("gemini_submit", _veo_instance("gemini", image={**_GOOGLE_IMAGE, "bytesBase64Encoded": "AAAA"})),
        ("kling_image2video", _kling("image2video", image="data:image/png;base64," + KLING_IMAGE_BODY["image"])))],
    *[Provocation(route, "unsupported_mode", _text_only(route)) for route in DIALECT_SUBMITS],
    *[Provocation(route, "model_not_found", _kling(route.removeprefix("kling_"), model_name="kling-v9"))
      for route in ("kling_text2video", "kling_image2video")],
    # tasks, limits and idempotency
    *[Provocation(route, "concurrency_limit_exceeded", _dialect_limited({"max_in_flight": 1}, 2, route)) for route in DIALECT_SUBMITS],
    *[Provocation(route, "insufficient_user_quota", _dialect_limited({"credits": 1}, 1, route), "credits")
      for route in DIALECT_SUBMITS],
    Provocation("vertex_fetch", "task_not_found", lambda s: s.fetch(f"{VEO_MODELS['vertex'].lstrip('/').partition('/')[2]}/{VEO}/operations/nope")),
    Provocation("vertex_fetch", "task_not_found", lambda s: s.fetch(s.operation(), model="veo-3.1-generate-001"), "another-model"),
    Provocation("gemini_poll", "task_not_found", lambda s: s.call("GET", f"/v1beta/models/{VEO}/operations/nope")),
    Provocation("gemini_download", "task_not_found", lambda s: s.call("GET", "/v1beta/files/nope0:download?alt=media")),
    Provocation("kling_query", "task_not_found", lambda s: s.call("GET", "/v1/videos/text2video/800000000000000000")),
    Provocation("gemini_download", "video_not_ready", _gemini_not_ready),
    Provocation("gemini_download", "precondition_failed", _gemini_download(lambda s, link: {"If-Match": '"another-video"'})),
    Provocation("gemini_download", "requested_range_not_satisfiable", _gemini_download(lambda s, link: {"Range": "bytes=99999999-"})),
    Provocation("gemini_download", "render_failed", _gemini_rendered_again),
    Provocation("gemini_download", "video_expired", _gemini_evicted),
    Provocation("vertex_submit", "not_found", lambda s: s.veo("vertex", model="veo-9"), "model"),
    Provocation("gemini_submit", "not_found", lambda s: s.veo("gemini", model="veo-3.1-generate-001"), "vertex-model"),
    # faults: every status an http_error fault can inject, and a fault header that does not parse, on every route
    *[_injected(route, status) for route in DIALECT_ROUTES for status in sorted(HTTP_ERROR_DEFAULTS)],
    *[Provocation(route, "invalid_fault_header", lambda s, route=route: s.to(route, {HEADER: "status=teapot"}))
      for route in DIALECT_ROUTES],
]
PROVOCATIONS += DIALECT_PROVOCATIONS


def _check_against_document(document: dict[str, Any], route: str, answer: Answer) -> dict[str, Any]:
    """The answer's status is listed for the route's operation, and its body, and each header it documents that
    the answer has, is what that response documents. Returns the documented response."""
    path, method = OPERATIONS[route]
    responses = document["paths"][path][method]["responses"]
    assert str(answer.status) in responses, f"{method.upper()} {path} answered {answer.status}, which its document does not list"
    documented: dict[str, Any] = responses[str(answer.status)]
    for name, header in documented.get("headers", {}).items():
        if name in answer.headers:
            errors = [e.message for e in Draft202012Validator(header["schema"]).iter_errors(answer.headers[name])]
            assert errors == [], (name, errors)
    content = documented.get("content", {})
    if not content:
        assert answer.body == b"", f"{answer.status} documents no body, but one came ({answer.media_type})"
        return documented
    assert answer.media_type in content, f"{answer.status} documents {sorted(content)}, not {answer.media_type}"
    if answer.media_type == "application/json":
        schema = {**content["application/json"]["schema"], "components": document["components"]}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(answer.json())]
        assert errors == [], errors
    return documented


@pytest.mark.parametrize("provocation", PROVOCATIONS, ids=lambda p: p.id)
def test_each_answer_is_documented_for_its_route_and_each_error_code_is_the_tables(
        fake: Fake, request: pytest.FixtureRequest, document: dict[str, Any], provocation: Provocation) -> None:
    answer = provocation.send(Scene(fake, request))
    documented = _check_against_document(document, provocation.route, answer) if provocation.route in OPERATIONS else None
    if isinstance(provocation.expect, int):
        assert answer.status == provocation.expect, answer.body[:500]
        return
    entry = error_code(provocation.expect)
    _check_error(provocation, entry, answer)
    assert entry.answers_on(provocation.route), f"the table does not list {entry.code} for {provocation.route}"
    if documented is not None:
        assert f"`{entry.code}`" in documented["description"]


def _check_error(provocation: Provocation, entry: ErrorCode, answer: Answer) -> None:
    """The answer is the table's code in the shape of the route's dialect: the documented one's code and status;
    Google's status with its canonical name and the code as its ErrorInfo reason; Kling's service code for the
    code, with the status Kling pairs with it (an injected error's own status)."""
    body = answer.json()
    shape = error_shape(provocation.route).schema if provocation.route in OPERATIONS else "Error"
    if shape == "GoogleError":
        assert validate_against("google_error", body) == [], body
        assert (answer.status, body["error"]["code"]) == (entry.status, entry.status), body
        assert body["error"]["status"] == google.status_name(entry.status), body
        reasons = [detail["reason"] for detail in body["error"].get("details", []) if "reason" in detail]
        assert reasons == [google.error_reason(entry.code)], body
    elif shape == "Kling_error":
        assert kling.validate_message("error", body) == [], body
        assert (body["code"], answer.status) == kling.service_status(entry.code, entry.status, injected=provocation.injected), body
    else:
        assert validate_response("error", body) == [], body
        assert body["error"]["code"] == entry.code, body
        assert answer.status == entry.status, body
        assert body["error"]["type"] == error_type(answer.status)


def _expected_status(provocation: Provocation) -> int:
    """The status a provocation's answer has: its own, its code's, or Kling's for its code."""
    if isinstance(provocation.expect, int):
        return provocation.expect
    entry = error_code(provocation.expect)
    if provocation.route.startswith("kling_"):
        return kling.service_status(entry.code, entry.status, injected=provocation.injected)[1]
    return entry.status


# --- the new-api gateway profile, against its variant of the document --------------------------------------------

NEW_API = {"X-Videomock-Gateway": "new-api"}


def _new_api_task(s: Scene, *, complete: bool = False, fault: str | None = None) -> str:
    headers = {**NEW_API, **({HEADER: fault} if fault else {})}
    task_id: str = s.submit(headers=headers).json()["task_id"]
    if complete or fault:
        s.advance(3600)
    return task_id


def _new_api_configured(s: Scene, changes: dict[str, Any], **kwargs: Any) -> Answer:
    s.configure(changes)
    return s.submit(headers=NEW_API, **kwargs)


NEW_API_PROVOCATIONS = [
    Provocation("submit", 200, lambda s: s.submit(headers=NEW_API)),
    Provocation("submit", 200, lambda s: s.submit({**BODY, "width": 1, "height": 1, "duration": "8"}, headers=NEW_API),
                "lenient"),
    Provocation("poll", 200, lambda s: s.call("GET", f"/v1/video/generations/{_new_api_task(s)}", headers=NEW_API), "queued"),
    Provocation("poll", 200, lambda s: s.call("GET", f"/v1/video/generations/{_new_api_task(s, complete=True)}",
                                              headers=NEW_API), "completed"),
    Provocation("poll", 200, lambda s: s.call("GET", f"/v1/video/generations/{_new_api_task(s, fault='fail=content_policy@0')}",
                                              headers=NEW_API), "failed"),
    Provocation("retrieve", 200, lambda s: s.call("GET", f"/v1/videos/{_new_api_task(s, complete=True)}", headers=NEW_API)),
    Provocation("download", 200, lambda s: s.call("GET", f"/v1/videos/{_new_api_task(s, complete=True)}/content",
                                                  headers=NEW_API)),
    Provocation("poll", "task_not_exist", lambda s: s.call("GET", "/v1/video/generations/task_nope", headers=NEW_API)),
    Provocation("submit", "invalid_request", lambda s: s.submit({**BODY, "prompt": " "}, headers=NEW_API)),
    Provocation("submit", "unsupported_value", lambda s: s.submit({**BODY, "duration": 5}, headers=NEW_API)),
    Provocation("submit", "invalid_api_key", lambda s: _new_api_configured(s, {"auth": {"api_keys": [s.fake.key]}},
                                                                      key="sk-nobody")),
    Provocation("submit", "insufficient_user_quota", lambda s: _new_api_configured(s, {"limits": {"credits": 0}})),
    Provocation("list", "invalid_gateway_header", lambda s: s.call("GET", "/v1/videos", headers={"X-Videomock-Gateway": "kong"})),
]


@pytest.fixture(scope="module")
def new_api_document(live_fake: Fake) -> dict[str, Any]:
    return served_document(live_fake, "?profile=new-api")


@pytest.mark.parametrize("provocation", NEW_API_PROVOCATIONS, ids=lambda p: p.id)
def test_the_new_api_profile_answers_as_its_variant_of_the_document_says(
        fake: Fake, request: pytest.FixtureRequest, new_api_document: dict[str, Any], provocation: Provocation) -> None:
    """Its wrapper, its video object and its errors in their shapes, each code listed for its status there."""
    answer = provocation.send(Scene(fake, request))
    documented = _check_against_document(new_api_document, provocation.route, answer)
    if isinstance(provocation.expect, int):
        assert answer.status == provocation.expect, answer.body[:500]
        return
    body = answer.json()
    code = body["code"] if "data" in body else body["error"]["code"]
    assert (code, answer.status) == (provocation.expect, error_code(provocation.expect).status), body
    assert f"`{code}`" in documented["description"]


@pytest.mark.parametrize("route", FAULT_ROUTES + DIALECT_ROUTES)
def test_an_injected_error_with_a_code_of_its_own_is_documented_by_its_status(
        fake: Fake, request: pytest.FixtureRequest, document: dict[str, Any], route: str) -> None:
    answer = Scene(fake, request).to(route, {HEADER: "status=429; code=slow_down; retry-after=3"})
    assert (answer.status, answer.headers["Retry-After"]) == (429, "3")
    body = answer.json()
    if route in GOOGLE_ROUTES:
        assert [d.get("reason") for d in body["error"]["details"]] == ["SLOW_DOWN"], body
    elif route in KLING_ROUTES:
        assert body["code"] == kling.service_code(None, 429), body   # a code Kling has not: its code for the status
    else:
        assert body["error"]["code"] == "slow_down", body
    if route in OPERATIONS:
        _check_against_document(document, route, answer)


def test_every_code_of_the_table_is_provoked_on_every_route_it_names() -> None:
    """So the table lists no code the fake cannot answer with, nor a route where it cannot."""
    provoked: dict[str, set[str]] = {}
    for provocation in PROVOCATIONS:
        if isinstance(provocation.expect, str):
            provoked.setdefault(provocation.expect, set()).add(provocation.route)
    for entry in error_codes().values():
        assert entry.code in provoked, f"no request provokes {entry.code}"
        if entry.routes is not None:
            assert provoked[entry.code] == entry.routes, entry.code
    assert set(provoked) <= set(error_codes())


@pytest.mark.parametrize("route", sorted(OPERATIONS))
def test_every_status_the_document_lists_for_an_operation_is_provoked(document: dict[str, Any], route: str) -> None:
    """So the document lists no status the fake cannot answer with there (an error that can come from any route
    is provoked on one)."""
    path, method = OPERATIONS[route]
    listed = set(document["paths"][path][method]["responses"])
    provoked = {str(_expected_status(p)) for p in PROVOCATIONS if p.route == route}
    provoked |= {str(error_code(p.expect).status) for p in PROVOCATIONS if isinstance(p.expect, str)
                 and error_code(p.expect).routes is None}
    assert listed == provoked
