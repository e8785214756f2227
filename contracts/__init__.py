"""Contracts: the JSON Schemas and model catalog that the fake, the client and recordings are checked against."""

from videomock.contracts.catalog import Catalog, CatalogError, ModelSpec, Size
from videomock.contracts.openapi import openapi_document
from videomock.contracts.schemas import MESSAGE_SCHEMAS, load_schema
from videomock.contracts.validation import Violation, default_catalog, validate_request, validate_response

__all__ = [
    "MESSAGE_SCHEMAS",
    "Catalog",
    "CatalogError",
    "ModelSpec",
    "Size",
    "Violation",
    "default_catalog",
    "load_schema",
    "openapi_document",
    "validate_request",
    "validate_response",
]
