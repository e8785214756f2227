"""Schemathesis hooks for the fake's OpenAPI document (loaded through tests/schemathesis.toml).

The request's ``image`` field has a custom format, ``image-reference`` (videomock.contracts.images): no tool can invent
a decodable PNG from a format name, so Schemathesis is given the contract's own generator for it, as any user
of the document would register theirs.
"""

import schemathesis

from videomock.contracts.images import SCHEMA_FORMAT
from videomock.contracts.strategies.images import image_references

schemathesis.openapi.format(SCHEMA_FORMAT, image_references())
