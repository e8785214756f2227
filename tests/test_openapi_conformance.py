"""The error table (contracts/errors.json), the OpenAPI document and the server agree.

The table lists every error code the fake answers with, its status and the routes that can answer it; the
server takes each code's status from it. The tests here check that nothing can bypass it.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.serve_process import serve
from videomock.contracts import Catalog, openapi_document
from videomock.contracts.errors import UnknownErrorCode, error_code, error_codes, routes
from videomock.contracts.openapi import OPERATIONS
from videomock.contracts.schemas import load_schema
from videomock.contracts.validation import validate_response
from videomock.core.errors import provider_error
from videomock.core.faults.actions import ENDPOINTS, HTTP_ERROR_DEFAULTS

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


def test_the_endpoints_fault_rules_name_are_routes_of_the_table() -> None:
    """A fault can fire on each of them, so the table must be able to say which codes it answers there."""
    assert set(ENDPOINTS) <= set(routes())


# --- the OpenAPI document ---------------------------------------------------------------------------------------

def _statuses(document: dict[str, Any]) -> set[str]:
    return {status for item in document["paths"].values() for operation in item.values()
            for status in operation["responses"]}


def test_the_download_documents_403_for_expired_and_forged_links_and_no_status_the_server_never_answers() -> None:
    document = openapi_document(CATALOG)
    forbidden = document["paths"]["/v1/videos/{task_id}/content"]["get"]["responses"]["403"]["description"]
    for code in ("url_expired", "invalid_signature", "insufficient_user_quota"):
        assert f"`{code}`" in forbidden
    assert "410" not in _statuses(document)
    assert "410" not in load_schema("error")["x-status-types"]


@pytest.mark.parametrize("route", sorted(OPERATIONS))
def test_each_operation_documents_the_error_statuses_of_exactly_the_codes_its_route_can_answer_with(route: str) -> None:
    path, method = OPERATIONS[route]
    responses = openapi_document(CATALOG)["paths"][path][method]["responses"]
    codes = [entry for entry in error_codes().values() if entry.answers_on(route)]
    assert {s for s in responses if int(s) >= 400} == {str(entry.status) for entry in codes}
    for entry in codes:
        assert f"`{entry.code}`" in responses[str(entry.status)]["description"]


# --- requests the HTTP server answers itself -------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``videomock serve``: gunicorn parses requests its own way, and answers some the fixtures' server passes on."""
    with serve("--workers", "1", "--store", "memory", "--cache-dir", str(tmp_path_factory.mktemp("videos"))) as server:
        yield server.url


def raw_answer(url: str, raw: bytes) -> tuple[int, dict[str, Any]]:
    """Send ``raw`` as it is, and read the answer: its status and JSON body."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.getheader("Content-Type") == "application/json"
        return response.status, json.loads(response.read())


UNPARSABLE = {
    "broken request line": b"GET /v1/mo dels HTTP/1.1\r\nHost: x\r\n\r\n",
    "request line too long": b"GET /v1/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header too large": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
    "HTTP/2 request line": b"GET /v1/models HTTP/2.0\r\nHost: x\r\n\r\n",
    "unknown expectation": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nExpect: a-pony\r\n\r\n",
    "unknown transfer coding": b"POST /v1/video/generations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: pony\r\n\r\n",
}


@pytest.mark.parametrize(("server", "request_name", "status"), [
    ("fixture", "broken request line", 400),
    ("fixture", "request line too long", 414),
    ("fixture", "header too large", 431),
    ("fixture", "HTTP/2 request line", 505),
    ("serve", "broken request line", 400),
    ("serve", "request line too long", 414),
    ("serve", "header too large", 431),
    ("serve", "HTTP/2 request line", 400),
    ("serve", "unknown expectation", 417),
    ("serve", "unknown transfer coding", 501),
])
def test_a_request_the_http_server_refuses_gets_the_tables_code_for_its_status(
        request: pytest.FixtureRequest, server: str, request_name: str, status: int) -> None:
    """Both servers word their reasons differently (werkzeug's 'Request-URI Too Long', gunicorn's 'URI Too
    Long'), and gunicorn sends some statuses with another's reason (501 as 'Bad Request')."""
    url = request.getfixturevalue("fake").url if server == "fixture" else request.getfixturevalue("served")
    answered, body = raw_answer(url, UNPARSABLE[request_name])
    assert answered == status
    assert validate_response("error", body) == [], body
    entry = error_code(body["error"]["code"])
    assert entry.status == status and entry.routes is None, entry
