"""Schemathesis hooks for the fake's OpenAPI document (loaded through tests/schemathesis.toml).

The request's ``image`` field has a custom format, ``image-reference`` (contracts.images): no tool can invent
a decodable PNG from a format name, so Schemathesis is given the contract's own generator for it, as any user
of the document would register theirs.
"""

import schemathesis

from contracts.image_strategies import image_references
from contracts.images import SCHEMA_FORMAT

schemathesis.openapi.format(SCHEMA_FORMAT, image_references())
