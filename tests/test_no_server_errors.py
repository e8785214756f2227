"""Inputs that once got a 500 (or an HTML page, or the wrong answer): every one is now a 4xx in the error
contract's shape that names what was wrong and says what is allowed, or the answer HTTP prescribes."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Fake
from tests.serve_process import serve
from tests.test_server import assert_error
from videomock import create_app
from videomock.config import ConfigError, load_config
from videomock.contracts import validate_response
from videomock.contracts.schemas import load_schema
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer
from videomock.pytest_plugin.provider import FakeProvider

BODY = {"model": "veo_3_1", "prompt": "a fox", "duration": 4}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def sqlite_fake(tmp_path_factory: pytest.TempPathFactory, video_library: VideoLibrary) -> Iterator[Fake]:
    """A live fake whose store is a SQLite file, as ``videomock serve`` keeps it: its journal refuses what JSON
    cannot hold."""
    store = tmp_path_factory.mktemp("store") / "store.db"
    app = create_app({"clock": {"mode": "manual"}, "server": {"store": str(store)}}, videos=video_library)
    with LiveServer(app) as server:
        yield Fake(server.url, app.extensions["videomock"])


# --- numbers JSON cannot hold ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "text", "param"), [
    ("POST", "/v1/video/generations", '{"model": "veo_3_1", "prompt": "x", "duration": 1e309}', "duration"),
    ("POST", "/v1/video/generations", '{"model": "veo_3_1", "prompt": "x", "metadata": {"a": [1, -1e999]}}', "metadata.a.1"),
    ("PATCH", "/__admin/config", '{"limits": {"credits": 1e309}}', "limits.credits"),
    ("PATCH", "/__admin/config", '{"limits": {"retry_after": 1e309}}', "limits.retry_after"),
    ("POST", "/__admin/faults", '{"action": {"type": "delay", "seconds": 1e309}}', "action.seconds"),
    ("POST", "/__admin/clock/advance", '{"seconds": 1' + "0" * 400 + "}", "seconds"),
])
def test_a_number_beyond_a_double_anywhere_in_a_body_is_a_400_naming_it(sqlite_fake: Fake, method: str, path: str,
                                                                         text: str, param: str) -> None:
    before = requests.get(f"{sqlite_fake.url}/__admin/config", timeout=10).json()
    response = sqlite_fake.session().request(method, sqlite_fake.url + path, data=text, headers=JSON, timeout=10)
    assert "finite" in assert_error(response, 400, param=param, code="invalid_json")["message"]
    assert requests.get(f"{sqlite_fake.url}/__admin/config", timeout=10).json() == before
    assert sqlite_fake.submit(BODY).status_code == 200


# --- charsets -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("charset", ["punycode", "undefined", "idna", "rot13", "zlib", "no-such-charset"])
def test_a_charset_that_is_not_a_text_encoding_for_json_is_a_400_naming_it(fake: Fake, charset: str) -> None:
    response = fake.session().post(f"{fake.url}/v1/video/generations", data=b'{"model": "veo_3_1", "prompt": "x"}',
                                   headers={"Content-Type": f"application/json; charset={charset}"}, timeout=10)
    message = assert_error(response, 400, param="Content-Type", code="unsupported_charset")["message"]
    assert charset in message and "utf-8" in message


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "us-ascii", "iso-8859-1"])
def test_utf8_and_its_usual_kin_are_accepted(fake: Fake, charset: str) -> None:
    response = fake.session().post(f"{fake.url}/v1/video/generations", data=b'{"model": "veo_3_1", "prompt": "x"}',
                                   headers={"Content-Type": f"application/json; charset={charset}"}, timeout=10)
    assert response.status_code == 200, response.text


def test_a_body_that_is_not_text_in_its_charset_is_a_400_naming_the_charset(fake: Fake) -> None:
    response = fake.session().post(f"{fake.url}/v1/video/generations", data=b'{"prompt": "\xff"}',
                                   headers={"Content-Type": "application/json; charset=us-ascii"}, timeout=10)
    assert "us-ascii" in assert_error(response, 400, code="invalid_json")["message"]



# --- settings beyond what the code downstream can hold ----------------------------------------------------------

@pytest.mark.parametrize(("change", "param", "words"), [
    ({"limits": {"credits": 1e308}}, "limits.credits", "allowed: 0..1000000000000"),
    ({"limits": {"retry_after": 1e308}}, "limits.retry_after", "allowed: 0..86400"),
    ({"faults": [{"action": {"type": "http_error", "status": 503, "retry_after": 1e308}}]}, "faults.0.action.retry_after",
     "allowed: 0..86400"),
    ({"faults": [{"action": {"type": "delay", "distribution": "lognormal", "median": 1e300}}]}, "faults.0.action.median",
     "allowed: 0..86400"),
    ({"faults": [{"action": {"type": "delay", "distribution": "lognormal", "sigma": 1e300}}]}, "faults.0.action.sigma",
     "allowed: 0..10"),
    ({"faults": [{"endpoint": "submit", "action": {"type": "slow", "factor": 1e308}}]}, "faults.0.action.factor",
     "allowed: 0..1000"),
    ({"models": {"veo_3_1": {"credits_per_second": 1e308}}}, None, "credits_per_second"),
    ({"models": {"veo_3_1": {"timing": {"queue_seconds": 1e308, "render_seconds": 1}}}}, None, "queue_seconds"),
])
def test_a_setting_beyond_its_bound_is_a_400_naming_it_and_the_bound(fake: Fake, change: dict[str, Any],
                                                                      param: str | None, words: str) -> None:
    before = requests.get(f"{fake.url}/__admin/config", timeout=10).json()
    response = requests.patch(f"{fake.url}/__admin/config", json=change, timeout=10)
    assert words in assert_error(response, 400, param=param, code="invalid_config")["message"]
    assert requests.get(f"{fake.url}/__admin/config", timeout=10).json() == before
    assert fake.submit(BODY).status_code == 200
    assert fake.session().get(f"{fake.url}/v1/models", timeout=10).status_code == 200


def test_every_number_a_setting_or_a_model_holds_is_bounded() -> None:
    """A number without a maximum reaches arithmetic that overflows (credits x 1000, exp(sigma), a sleep)."""
    def unbounded(schema: Any, path: str) -> Iterator[str]:
        if isinstance(schema, dict):
            types = schema.get("type", [])
            if "number" in ([types] if isinstance(types, str) else types) and not (
                    "maximum" in schema or "exclusiveMaximum" in schema):
                yield path
            for key, value in schema.items():
                yield from unbounded(value, f"{path}/{key}")
        elif isinstance(schema, list):
            for index, value in enumerate(schema):
                yield from unbounded(value, f"{path}/{index}")

    assert [*unbounded(load_schema("config"), "config"), *unbounded(load_schema("model"), "model")] == []


@pytest.mark.parametrize(("toml", "param"), [
    ("[limits]\nretry_after = inf\n", "limits.retry_after"),
    ("[clock]\njitter = nan\n", "clock.jitter"),
    ("[[faults]]\naction = {type = \"delay\", seconds = nan}\n", "faults.0.action.seconds"),
])
def test_a_config_file_number_that_is_not_finite_fails_at_start_naming_it(tmp_path: Path, toml: str, param: str) -> None:
    path = tmp_path / "videomock.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match="finite") as refused:
        load_config(config_file=path, environ={})
    assert refused.value.param == param


def test_a_flag_or_variable_that_is_not_finite_fails_at_start_naming_it() -> None:
    with pytest.raises(ConfigError, match="finite") as refused:
        load_config(environ={"VIDEOMOCK_JITTER": "nan"})
    assert refused.value.param == "clock.jitter"
    with pytest.raises(ConfigError, match="clock.speed"):
        load_config(environ={}, flags={"speed": float("inf")})


@pytest.mark.parametrize(("directive", "words"), [("delay=1e308", "at most 60 s"), ("slow=1e308", "allowed: 0..1000")])
def test_a_fault_header_number_beyond_its_bound_is_a_400_naming_the_header_and_the_bound(fake: Fake, directive: str,
                                                                                          words: str) -> None:
    response = fake.session().post(f"{fake.url}/v1/video/generations", json=BODY, timeout=10,
                                   headers={"X-Videomock-Fault": directive})
    assert words in assert_error(response, 400, param="X-Videomock-Fault", code="invalid_fault_header")["message"]


# --- the clock ------------------------------------------------------------------------------------------------

def test_the_clock_cannot_be_moved_past_the_year_9999(fake: Fake) -> None:
    before = requests.get(f"{fake.url}/__admin/clock", timeout=10).json()["now"]
    for _ in range(2):
        response = requests.post(f"{fake.url}/__admin/clock/advance", json={"seconds": 1e308}, timeout=10)
        assert "9999" in assert_error(response, 400, param="seconds", code="invalid_value")["message"]
    assert requests.get(f"{fake.url}/__admin/clock", timeout=10).json()["now"] == before
    with pytest.raises(ValueError, match="9999"):
        fake.backend.advance(1e308)
    latest = fake.backend.clock.LATEST
    moved = requests.post(f"{fake.url}/__admin/clock/advance", json={"seconds": latest - before - 1}, timeout=10)
    assert moved.status_code == 200 and latest - 2 < moved.json()["now"] < latest
    assert fake.submit(BODY).status_code == 200
    assert_error(requests.post(f"{fake.url}/__admin/clock/advance", json={"seconds": 2}, timeout=10), 400, param="seconds")


# --- the admin API ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "param"), [
    ("limit=%C2%B2", "limit"),           # a superscript two: str.isdigit() says it is a digit, int() disagrees
    ("status=%C2%B2", "status"),
    ("limit=" + "9" * 5000, "limit"),     # more digits than int() converts
    ("status=9999", "status"),
    ("status=", "status"),
    ("method=", "method"),
    ("method=G%C3%89T", "method"),
    ("path=v1/*", "path"),
    ("status=200&status=404", "status"),
    ("bogus=1", "bogus"),
    ("Status=200", "Status"),
])
def test_a_journal_query_outside_its_filters_is_a_400_naming_the_parameter(fake: Fake, query: str, param: str) -> None:
    response = requests.get(f"{fake.url}/__admin/requests?{query}", timeout=10)
    assert_error(response, 400, param=param)


def test_an_unknown_journal_filter_is_named_with_the_ones_there_are(fake: Fake) -> None:
    response = requests.get(f"{fake.url}/__admin/requests", params={"bogus": "1"}, timeout=10)
    message = assert_error(response, 400, param="bogus", code="unknown_parameter")["message"]
    assert "method, path, status, key, task_id, fault, limit" in message
    assert_error(requests.get(f"{fake.url}/__admin/tasks", params={"bogus": "1"}, timeout=10), 400, param="bogus")


def test_the_journal_filters_still_filter(fake: Fake) -> None:
    fake.submit(BODY)
    fake.submit({"model": "no-such-model", "prompt": "x"})
    journal = f"{fake.url}/__admin/requests"
    assert [e["status"] for e in requests.get(journal, params={"status": "400"}, timeout=10).json()["requests"]] == [400]
    assert len(requests.get(journal, params={"limit": "1", "method": "post", "path": "/v1/*"}, timeout=10).json()["requests"]) == 1


@pytest.mark.parametrize(("bearer", "header", "status"), [
    ("s3cret", "wrong", 200),
    ("wrong", "s3cret", 200),
    ("s3cret", None, 200),
    (None, "s3cret", 200),
    ("wrong", "wrong", 401),
    ("wrong", None, 401),
])
def test_the_admin_token_in_either_header_opens_the_admin_api(live_fake: Fake, bearer: str | None, header: str | None,
                                                              status: int) -> None:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    if header:
        headers["X-Videomock-Admin-Token"] = header
    live_fake.backend.update_config({"auth": {"admin_token": "s3cret"}})
    try:
        response = requests.get(f"{live_fake.url}/__admin/config", headers=headers, timeout=10)
    finally:
        live_fake.backend.update_config({"auth": {"admin_token": None}})
    assert response.status_code == status, response.text


# --- what an image host answers -------------------------------------------------------------------------------

@pytest.fixture
def odd_image_host() -> Iterator[str]:
    """An image host whose Content-Length is a superscript two (byte 0xB2, which http.client reads as Latin-1):
    str.isdigit() takes it for a digit, int() does not."""
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.rfile.readline()
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: \xb2\r\n"
                             b"Connection: close\r\n\r\nnot a png")

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()


def test_an_image_host_whose_content_length_is_not_ascii_digits_is_a_400_naming_image(
        odd_image_host: str, video_library: VideoLibrary) -> None:
    config = {"clock": {"mode": "manual"}, "video": {"image_fetch": {"enabled": True, "allow_hosts": ["127.0.0.1"]}}}
    app = create_app(config, videos=video_library)
    with LiveServer(app) as server:
        fake = Fake(server.url, app.extensions["videomock"])
        response = fake.submit({"model": "veo_3_1", "image": f"{odd_image_host}/cat.png"})
    assert_error(response, 400, param="image", code="invalid_image")


# --- chunked bodies, under both servers ---------------------------------------------------------------------------

LIMIT = 1024
CHUNKED = (b"POST /v1/video/generations HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-test\r\n"
           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")


@pytest.fixture(scope="module", params=["werkzeug", "gunicorn"])
def small_server(request: pytest.FixtureRequest, video_library: VideoLibrary,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fake taking bodies of at most LIMIT bytes: werkzeug's server (the fixtures') or gunicorn's (serve)."""
    if request.param == "werkzeug":
        app = create_app({"clock": {"mode": "manual"}, "server": {"max_body_bytes": LIMIT}}, videos=video_library)
        with LiveServer(app) as server:
            yield server.url
    else:
        with serve("--max-body-bytes", str(LIMIT), "--store", "memory", "--clock", "manual",
                   "--cache-dir", str(tmp_path_factory.mktemp("videos"))) as process:
            yield process.url


def body_of(size: int) -> bytes:
    """A valid submit body of exactly ``size`` bytes."""
    empty = json.dumps({"model": "veo_3_1", "prompt": ""}).encode()
    return json.dumps({"model": "veo_3_1", "prompt": "x" * (size - len(empty))}).encode()


def chunks(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def answer(url: str, raw: bytes) -> tuple[int, Any]:
    """Send ``raw`` on a fresh connection; the status and the JSON body of the answer."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.getheader("Content-Type") == "application/json"
        return response.status, json.loads(response.read())


@pytest.mark.parametrize("framing", [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"-2\r\n{}\r\n0\r\n\r\n"])
def test_a_malformed_chunked_body_is_a_json_400_saying_so(small_server: str, framing: bytes) -> None:
    status, body = answer(small_server, CHUNKED + framing)
    assert status == 400 and validate_response("error", body) == [], body
    assert body["error"]["code"] == "malformed_body" and "chunk" in body["error"]["message"], body


@pytest.mark.parametrize("parts", [(body_of(LIMIT + 1),), (body_of(LIMIT + 200)[:600], body_of(LIMIT + 200)[600:])])
def test_a_chunked_body_over_the_limit_is_a_json_413(small_server: str, parts: tuple[bytes, ...]) -> None:
    status, body = answer(small_server, CHUNKED + chunks(*parts))
    assert status == 413 and validate_response("error", body) == [], body
    assert body["error"]["code"] == "request_too_large" and str(LIMIT) in body["error"]["message"]


def test_a_chunked_body_of_exactly_the_limit_is_served(small_server: str) -> None:
    whole = body_of(LIMIT)
    status, body = answer(small_server, CHUNKED + chunks(whole[:100], whole[100:]))
    assert status == 200 and body["status"] == "queued", body


# --- answers without a body ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "allowed"), [
    ("/v1/video/generations", {"POST", "OPTIONS"}),
    ("/v1/video/generations/task_x", {"GET", "HEAD", "OPTIONS"}),
    ("/v1/models", {"GET", "HEAD", "OPTIONS"}),
    ("/__admin/config", {"GET", "HEAD", "PUT", "PATCH", "OPTIONS"}),
])
def test_options_is_a_204_with_allow_and_no_html(fake: Fake, path: str, allowed: set[str]) -> None:
    response = requests.options(fake.url + path, timeout=10)
    assert response.status_code == 204 and response.content == b""
    assert "Content-Type" not in response.headers
    assert {method.strip() for method in response.headers["Allow"].split(",")} == allowed


def test_options_on_an_unknown_route_is_a_json_404(fake: Fake) -> None:
    assert_error(requests.options(f"{fake.url}/v1/nothing-here", timeout=10), 404)


def test_the_redirect_fault_sends_no_html(fake: Fake) -> None:
    task_id = fake.submit(BODY).json()["task_id"]
    fake.backend.advance(3600)
    url = fake.poll(task_id).json()["url"]
    hop = fake.session().get(url, headers={"X-Videomock-Fault": "redirect=302"}, timeout=10, allow_redirects=False)
    assert hop.status_code == 302 and "/cdn/videos/" in hop.headers["Location"]
    assert hop.content == b"" and "Content-Type" not in hop.headers


# --- a value and its limit never read alike ---------------------------------------------------------------------

@pytest.mark.parametrize(("size", "words"), [
    (int(10.01 * 2**20), "image is 10.01 MB; at most 10 MB allowed"),
    (10 * 2**20 + 3, "image is 10,485,763 bytes; at most 10,485,760 bytes allowed"),
])
def test_an_image_just_over_the_limit_does_not_read_as_the_limit(fake: Fake, size: int, words: str) -> None:
    image = base64.b64encode(b"\0" * size).decode()
    response = fake.submit({"model": "veo_3_1", "image": image})
    assert assert_error(response, 400, param="image", code="invalid_image")["message"] == words


def test_a_task_just_over_the_remaining_credits_does_not_read_as_affordable(fake: Fake) -> None:
    fake.backend.update_config({"limits": {"credits": 1000.0004},
                                "models": {"veo_3_1": {"credits_per_second": 250.00025}}})
    message = assert_error(fake.submit(BODY), 403, code="insufficient_user_quota")["message"]
    assert message == "Insufficient quota: this task costs 1000.001 credits and 1000 of 1000 remain."


# --- downloads ------------------------------------------------------------------------------------------------

def test_a_request_for_several_ranges_gets_the_whole_file(fake: Fake) -> None:
    task_id = fake.submit(BODY).json()["task_id"]
    fake.backend.advance(3600)
    url = fake.poll(task_id).json()["url"]
    whole = fake.session().get(url, timeout=10)
    for ranges in ("bytes=0-9,20-29", "bytes=20-29, 0-9"):
        several = fake.session().get(url, headers={"Range": ranges}, timeout=10)
        assert several.status_code == 200 and several.content == whole.content
        assert "Content-Range" not in several.headers and several.headers["ETag"] == whole.headers["ETag"]
    unchanged = fake.session().get(url, headers={"Range": "bytes=0-9,20-29", "If-None-Match": whole.headers["ETag"]},
                                   timeout=10)
    assert unchanged.status_code == 304
    one = fake.session().get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert one.status_code == 206 and one.content == whole.content[10:20]


@pytest.mark.parametrize(("override", "words"), [
    ({"new-model": {"extends": []}}, "models.new-model: extends must be the id of another model"),
    ({"new-model": {"extends": {"id": "veo_3_1"}}}, "models.new-model: extends must be the id of another model"),
    ({"veo_3_1": {"disabled": "yes"}}, "models.veo_3_1: disabled must be true or false"),
])
def test_a_catalog_override_of_the_wrong_shape_is_a_400_naming_it(fake: Fake, override: dict[str, Any], words: str) -> None:
    response = requests.patch(f"{fake.url}/__admin/config", json={"models": override}, timeout=10)
    assert words in assert_error(response, 400, code="invalid_config")["message"]


def test_a_chunked_body_is_read_whole_in_process_too(videomock: FakeProvider, tmp_path: Path) -> None:
    """requests sends a generator or a file chunked; the in-process fake took only bytes (a TypeError)."""
    whole = body_of(200)
    (tmp_path / "body.json").write_bytes(whole)
    headers = {**videomock.headers, "Content-Type": "application/json"}
    url = f"{videomock.url}/v1/video/generations"
    with (tmp_path / "body.json").open("rb") as file:
        for data in ((part for part in (whole[:50], whole[50:])), file):
            response = requests.post(url, data=data, headers=headers, timeout=10)
            assert response.status_code == 200 and response.json()["status"] == "queued", response.text
