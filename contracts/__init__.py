"""Contracts: the JSON Schemas and model catalog that the fake, the client and recordings are checked against."""

from contracts.catalog import Catalog, CatalogError, ModelSpec, Size
from contracts.openapi import openapi_document
from contracts.schemas import MESSAGE_SCHEMAS, load_schema
from contracts.validation import Violation, default_catalog, validate_request, validate_response

__all__ = [
    "Catalog",
    "CatalogError",
    "MESSAGE_SCHEMAS",
    "ModelSpec",
    "Size",
    "Violation",
    "default_catalog",
    "load_schema",
    "openapi_document",
    "validate_request",
    "validate_response",
]
