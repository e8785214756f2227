"""Requests the fake makes to the outside world (today: fetching ``image`` URLs), against real loopback servers.

What a user relies on: a URL reaches only the host the allow-list names, at an address that was checked
(loopback and private ones only when allowed), a redirect never leaves it, one timeout bounds the whole
fetch however slowly the server answers, and a failed fetch says nothing about what is listening where.
"""

from __future__ import annotations

import http.server
import io
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import Fake
from tests.serving_thread import ServingThread
from tests.test_server import assert_error
from videomock import create_app
from videomock.config import ConfigError, build_config
from videomock.contracts.images import ImageError, ImageInput
from videomock.media.images import fetch_image
from videomock.media.library import VideoLibrary
from videomock.pytest_plugin.live import LiveServer

#: The fetch timeout under test, and how far past it a failing fetch may return.
DEADLINE = 1.0
MARGIN = 0.5
#: A trickling server's pace: every single read returns well within any per-read timeout.
TICK = 0.1
#: Bytes a trickling server sends before it gives up, so a fetcher without a total deadline still ends.
TRICKLE_BYTES = 40
#: How long a test waits for what must happen at once (a wait that ends with it is a failure).
SLOW = 10.0
#: What a test's own image server needs: 127.0.0.1 is refused unless explicitly allowed.
LOCAL = ["127.0.0.1/32"]
UNREACHABLE = (f"image URL could not be fetched from an allowed host within {DEADLINE:g} s; the host must "
               "answer HTTP 200 (redirects are not followed, https certificates are verified)")


def png(width: int = 400, height: int = 300) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 160, 90)).save(out, "PNG")
    return out.getvalue()


PNG = png()

# --- real servers on loopback ---------------------------------------------------------------------------------

class _Origin(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records the path of every request it gets."""

    daemon_threads = True

    def __init__(self, routes: dict[str, Route]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = routes
        self.hits: list[str] = []
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Origin

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        self.server.routes.get(self.path, lambda handler: answer(handler, 404, b"missing"))(self)

    def log_message(self, *args: object) -> None:
        pass


Route = Callable[[_Handler], None]


def answer(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def image(handler: http.server.BaseHTTPRequestHandler) -> None:
    answer(handler, 200, PNG, Content_Type="image/png")


def reset(handler: http.server.BaseHTTPRequestHandler) -> None:
    """Hang up with a TCP reset instead of answering."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True


def trickle(head: bytes, tail: bytes) -> Route:
    """Send ``head`` at once, then ``tail`` one byte per TICK until it is sent, the client hangs up or the
    test ends."""
    def route(handler: _Handler) -> None:
        stopping = handler.server.stopping
        try:
            handler.wfile.write(head)
            for byte in tail:
                if stopping.wait(TICK):
                    return
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
        except ConnectionError:
            pass
        handler.close_connection = True
    return route


SLOW_BODY = trickle(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % len(PNG),
                    PNG[:TRICKLE_BYTES])
SLOW_HEADERS = trickle(b"HTTP/1.1 200 OK\r\n", b"X-Padding: " + b"a" * TRICKLE_BYTES)


@contextmanager
def serving(routes: dict[str, Route], *, tls: ssl.SSLContext | None = None) -> Iterator[_Origin]:
    origin = _Origin(routes)
    if tls is not None:
        origin.socket = tls.wrap_socket(origin.socket, server_side=True)
    thread = threading.Thread(target=origin.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        origin.stopping.set()
        origin.shutdown()
        origin.server_close()
        thread.join(timeout=5)


ROUTES: dict[str, Route] = {
    "/cat.png": image,
    "/error": lambda handler: answer(handler, 500, b"boom"),
    "/reset": reset,
    "/slow-body": SLOW_BODY,
    "/slow-headers": SLOW_HEADERS,
}


@pytest.fixture(scope="module")
def origin() -> Iterator[_Origin]:
    with serving(ROUTES) as server:
        yield server


@pytest.fixture
def hits(origin: _Origin) -> list[str]:
    """The origin's request log, empty at the start of the test."""
    origin.hits.clear()
    return origin.hits


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str, **options: Any) -> ImageInput:
    settings: dict[str, Any] = {"allow_hosts": ["127.0.0.1"], "allow_private_networks": LOCAL,
                                "max_bytes": 10 * 1024 * 1024, "timeout": DEADLINE}
    return fetch_image(url, **{**settings, **options})


def refusal(url: str, **options: Any) -> str:
    with pytest.raises(ImageError) as refused:
        fetch(url, **options)
    return str(refused.value)


@contextmanager
def fake_with(video_library: VideoLibrary, **image_fetch: Any) -> Iterator[Fake]:
    """A running fake that fetches image URLs with these settings."""
    config = {"clock": {"mode": "instant"}, "video": {"image_fetch": {"enabled": True, **image_fetch}}}
    app = create_app(config, videos=video_library)
    with LiveServer(app) as server:
        yield Fake(server.url, app.extensions["videomock"])


# --- the allow-list reads the URL the way the connection does ------------------------------------------------------

def test_a_backslash_before_the_at_sign_does_not_reach_another_host(video_library: VideoLibrary, origin: _Origin,
                                                                    hits: list[str]) -> None:
    """The reported bypass: urlsplit read the host as cdn.example.com, requests connected to 127.0.0.1."""
    url = f"http://127.0.0.1:{origin.server_port}\\@cdn.example.com/cat.png"
    with fake_with(video_library, allow_hosts=["cdn.example.com"]) as fake:
        refused = fake.submit({"model": "veo_3_1", "image": url})
    error = assert_error(refused, 400, param="image", code="invalid_image")
    assert "backslash" in error["message"], error
    assert hits == []


@pytest.mark.parametrize(("url", "message"), [
    ("http://user@{host}/cat.png", "must not contain a user name or password"),
    ("http://user:secret@{host}/cat.png", "must not contain a user name or password"),
    ("http://{host}/cat\\x.png", "contains a backslash"),
    ("http://{host}/a cat.png", "contains whitespace or a control character"),
    ("http://{host}/cat.png\t", "contains whitespace or a control character"),
    ("http://{host}/\x00cat.png", "contains whitespace or a control character"),
    ("http://127.0.0.1:/cat.png", "port '' is not allowed"),
    ("http://127.0.0.1:0/cat.png", "port '0' is not allowed"),
    ("http://127.0.0.1:080/cat.png", "port '080' is not allowed"),
    ("http://127.0.0.1:70000/cat.png", "port '70000' is not allowed"),
    ("http://127.0.0.1:8o/cat.png", "port '8o' is not allowed"),
    ("ftp://{host}/cat.png", "scheme 'ftp' is not supported"),
    ("http://bücher.example/cat.png", "host must be ASCII"),
])
def test_urls_that_parsers_could_read_differently_are_refused(origin: _Origin, hits: list[str], url: str,
                                                              message: str) -> None:
    assert message in refusal(url.format(host=f"127.0.0.1:{origin.server_port}"))
    assert hits == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1", "0177.0.0.1", "127.0.0.1."])
def test_other_spellings_of_loopback_are_refused_even_when_listed(origin: _Origin, hits: list[str], host: str) -> None:
    """A resolver reads all of these as 127.0.0.1; only the canonical a.b.c.d form is taken."""
    message = refusal(f"http://{host}:{origin.server_port}/cat.png", allow_hosts=[host])
    assert f"host {host!r} is not a DNS name or an IP address in canonical form" in message
    assert hits == []


@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"),
    ("localhost", "127.0.0.1"),
    ("[::ffff:127.0.0.1]", "127.0.0.1"),
    ("[::1]", "::1"),
])
def test_loopback_is_refused_unless_allowed_explicitly(origin: _Origin, hits: list[str], host: str, address: str) -> None:
    message = refusal(f"http://{host}:{origin.server_port}/cat.png", allow_hosts=[host], allow_private_networks=[])
    assert message == (f"image URL host {host.strip('[]')!r} resolves to {address}, which is not a public address; "
                       "loopback, private, link-local and other non-public addresses are reached only if "
                       "video.image_fetch.allow_private_networks lists them")
    assert hits == []


def answering(*addresses: str) -> Callable[..., Any]:
    """A resolver that answers every name with these addresses, as a DNS server pointing a name inward would."""
    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (address, port, 0, 0) if ":" in address else (address, port)) for address in addresses]
    return resolve


@pytest.mark.parametrize("addresses", [
    ["10.1.2.3"], ["172.16.0.1"], ["192.168.1.1"], ["169.254.169.254"], ["100.64.0.1"], ["0.0.0.0"],
    ["224.0.0.1"], ["255.255.255.255"], ["fe80::1"], ["fc00::1"], ["::ffff:10.0.0.1"], ["2002:7f00:1::"],
    ["::127.0.0.1"], ["93.184.216.34", "127.0.0.1"],
], ids=str)
def test_a_listed_name_that_resolves_inward_is_refused(monkeypatch: pytest.MonkeyPatch, addresses: list[str]) -> None:
    """Cloud metadata, private ranges, 6to4 and mapped forms of them, and any one inward address among
    public ones: refused before connecting, whatever the allow-list says about the name."""
    monkeypatch.setattr(socket, "getaddrinfo", answering(*addresses))
    message = refusal("http://cdn.example.com/cat.png", allow_hosts=["cdn.example.com"], allow_private_networks=[])
    assert message.startswith("image URL host 'cdn.example.com' resolves to ")
    assert "which is not a public address" in message


def test_an_allowed_network_makes_a_local_name_reachable(origin: _Origin, hits: list[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """localhost is looked up once, and the address checked is the address connected to."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def counted(host: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counted)
    fetched = fetch(f"http://localhost:{origin.server_port}/cat.png", allow_hosts=["LocalHost"])
    assert (fetched.format, fetched.width, fetched.height, fetched.data) == ("PNG", 400, 300, PNG)
    assert lookups == ["localhost"]
    assert hits == ["/cat.png"]


def test_a_host_not_listed_is_refused_naming_the_allowed_ones() -> None:
    assert refusal("http://localhost/cat.png", allow_hosts=["cdn.example.com", "127.0.0.1"]) == (
        "image URL host 'localhost' is not allowed; allowed hosts (video.image_fetch.allow_hosts): "
        "cdn.example.com, 127.0.0.1")


def test_a_redirect_to_an_unchecked_host_is_not_followed(origin: _Origin, hits: list[str]) -> None:
    with serving({"/cat.png": image}) as elsewhere:
        origin.routes["/moved"] = lambda handler: answer(handler, 302, Location=f"http://localhost:{elsewhere.server_port}/cat.png")
        try:
            assert refusal(f"{origin.url}/moved") == UNREACHABLE
        finally:
            del origin.routes["/moved"]
        assert elsewhere.hits == []
    assert hits == ["/moved"]


# --- failures look alike ----------------------------------------------------------------------------------------------

def test_every_network_failure_gives_the_same_message(origin: _Origin, caplog: pytest.LogCaptureFixture) -> None:
    """Refused, reset, missing, failing, unknown or too slow: a client cannot tell them apart, so the fake
    cannot be used to map what listens where. The operator's log says which it was."""
    caplog.set_level("INFO", logger="videomock")
    urls = {
        "refused": f"http://127.0.0.1:{closed_port()}/cat.png",
        "not found": f"{origin.url}/missing.png",
        "server error": f"{origin.url}/error",
        "reset": f"{origin.url}/reset",
        "no such name": "http://nothing.invalid/cat.png",
        "too slow": f"{origin.url}/slow-headers",
    }
    messages = {name: refusal(url, allow_hosts=["127.0.0.1", "nothing.invalid"]) for name, url in urls.items()}
    assert messages == dict.fromkeys(urls, UNREACHABLE)
    logged = [record.getMessage() for record in caplog.records]
    assert f"image URL from 127.0.0.1:{origin.server_port} could not be fetched: HTTP 404" in logged
    assert any("refused" in line.lower() for line in logged), logged


def test_size_and_content_problems_stay_specific(origin: _Origin) -> None:
    """They describe what the allowed host served, not the network."""
    assert refusal(f"{origin.url}/cat.png", max_bytes=100) == f"image is {len(PNG):,} bytes; at most 100 bytes allowed"
    origin.routes["/text"] = lambda handler: answer(handler, 200, b"not pixels")
    try:
        assert refusal(f"{origin.url}/text") == "image data is not a PNG, JPEG or WebP image"
    finally:
        del origin.routes["/text"]


# --- one deadline for the whole fetch ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/slow-headers", "/slow-body"])
def test_a_trickling_server_cannot_hold_a_fetch_past_the_timeout(origin: _Origin, path: str) -> None:
    started = time.monotonic()
    message = refusal(f"{origin.url}{path}")
    assert time.monotonic() - started < DEADLINE + MARGIN
    assert message == UNREACHABLE


def test_a_trickling_server_cannot_hold_a_submit_past_the_timeout(video_library: VideoLibrary, origin: _Origin) -> None:
    with fake_with(video_library, allow_hosts=["127.0.0.1"], allow_private_networks=LOCAL, timeout=DEADLINE) as fake:
        started = time.monotonic()
        refused = fake.submit({"model": "veo_3_1", "image": f"{origin.url}/slow-body"})
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + MARGIN
    assert assert_error(refused, 400, param="image", code="invalid_image")["message"] == UNREACHABLE


def test_a_submit_whose_image_is_fetched_waits_in_a_thread_while_the_event_loop_serves_others(
        video_library: VideoLibrary, origin: _Origin) -> None:
    """``videomock serve`` answers a plain submit on its event loop; one whose image is to be fetched goes to a
    thread instead before anything is done (WouldWait), so a slow image host holds no other client up."""
    fetching, released = threading.Event(), threading.Event()

    def held_image(handler: http.server.BaseHTTPRequestHandler) -> None:
        fetching.set()
        released.wait(SLOW)
        image(handler)

    origin.routes["/held.png"] = held_image
    config = {"clock": {"mode": "instant"}, "video": {"image_fetch": {
        "enabled": True, "allow_hosts": ["127.0.0.1"], "allow_private_networks": LOCAL, "timeout": SLOW}}}
    app = create_app(config, videos=video_library)
    with ServingThread(app) as server, ThreadPoolExecutor(1) as pool:
        fake = Fake(server.url, app.extensions["videomock"])
        with_image = pool.submit(fake.submit, {"model": "veo_3_1", "image": f"{origin.url}/held.png"})
        assert fetching.wait(SLOW)
        try:
            plain = fake.session().post(f"{server.url}/v1/video/generations", json={"model": "veo_3_1", "prompt": "meanwhile"},
                                        timeout=SLOW / 2)
        finally:
            released.set()
        assert plain.status_code == 200, plain.text
        assert with_image.result().status_code == 200, with_image.result().text
    tasks = app.extensions["videomock"].store.tasks()   # the plain one was made first, while the other waited
    assert [(task.params.get("image") or {}).get("width") for task in tasks] == [None, 400]


def test_a_hanging_name_lookup_counts_against_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    released = threading.Event()
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hangs.example":
            released.wait(30)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    started = time.monotonic()
    try:
        message = refusal("http://hangs.example/cat.png", allow_hosts=["hangs.example"])
        assert time.monotonic() - started < DEADLINE + MARGIN
        assert message == UNREACHABLE
    finally:
        released.set()


# --- https: connected to the checked address, verified against the name ----------------------------------------------

@pytest.fixture(scope="module")
def tls_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_Origin, Path]]:
    """An https server on 127.0.0.1 whose self-signed certificate names only 'localhost'."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True, timeout=30)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with serving({"/cat.png": image}, tls=context) as server:
        yield server, cert


@pytest.fixture
def trusting(tls_origin: tuple[_Origin, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The test certificate is the trusted one (SSL_CERT_FILE), for fetches made during the test."""
    from videomock.core import outbound

    server, cert = tls_origin
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    outbound._tls_context.cache_clear()
    yield server.server_port
    outbound._tls_context.cache_clear()


def test_https_is_verified_against_the_name_while_connecting_to_the_checked_address(trusting: int) -> None:
    fetched = fetch(f"https://localhost:{trusting}/cat.png", allow_hosts=["localhost"])
    assert fetched.data == PNG
    # The same server by its address: the certificate does not name 127.0.0.1, so the fetch fails.
    assert refusal(f"https://127.0.0.1:{trusting}/cat.png") == UNREACHABLE


def test_an_untrusted_certificate_fails_like_any_network_failure(tls_origin: tuple[_Origin, Path]) -> None:
    server, _ = tls_origin
    assert refusal(f"https://localhost:{server.server_port}/cat.png", allow_hosts=["localhost"]) == UNREACHABLE


# --- the setting --------------------------------------------------------------------------------------------------------

def test_allowed_networks_must_be_addresses_or_networks() -> None:
    with pytest.raises(ConfigError) as error:
        build_config({"video": {"image_fetch": {"allow_private_networks": ["127.0.0.1/32", "localhost"]}}})
    assert error.value.param == "video.image_fetch.allow_private_networks"
    assert "'localhost' is not an IP address or network" in str(error.value)
    config = build_config({"video": {"image_fetch": {"allow_private_networks": ["10.0.0.1/8", "::1"]}}})
    assert config["video"]["image_fetch"]["allow_private_networks"] == ["10.0.0.1/8", "::1"]
    assert build_config()["video"]["image_fetch"]["allow_private_networks"] == []


@pytest.mark.parametrize("entry", ["https://cdn.example.com", "cdn.example.com:8080", "cdn.example.com/images",
                                   "*.example.com", "127.1", "user@cdn.example.com"])
def test_allowed_hosts_that_no_url_could_match_are_refused_at_start(entry: str) -> None:
    """Such an entry used to be accepted and then matched nothing, so every fetch was refused."""
    with pytest.raises(ConfigError) as error:
        build_config({"video": {"image_fetch": {"allow_hosts": ["cdn.example.com", entry]}}})
    assert error.value.param == "video.image_fetch.allow_hosts"
    assert f"{entry!r} is not a host a URL can name" in str(error.value)


def test_allowed_hosts_take_names_and_addresses() -> None:
    hosts = ["CDN.example.com", "127.0.0.1", "::1", "[::1]"]
    assert build_config({"video": {"image_fetch": {"allow_hosts": hosts}}})["video"]["image_fetch"]["allow_hosts"] == hosts
