"""The error table (contracts/errors.json), the OpenAPI document and the server agree.

The table lists every error code the fake answers with, its status and the routes that can answer it; the
server takes each code's status from it. The tests here check that nothing can bypass it.
"""

from __future__ import annotations

from typing import Any

import pytest

from videomock.contracts import Catalog, openapi_document
from videomock.contracts.errors import UnknownErrorCode, error_code, error_codes, routes
from videomock.contracts.openapi import OPERATIONS
from videomock.contracts.schemas import load_schema
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
