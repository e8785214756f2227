"""Schemathesis hooks for the fake's OpenAPI document (loaded through tests/schemathesis.toml).

The request's ``image`` field has a custom format, ``image-reference`` (videomock.contracts.images), and the OpenAI
create form's ``input_reference`` is a file part of an image type: no tool can invent a decodable PNG of at least
300 px a side from a format or a media type (Schemathesis's own samples are 1x1), so Schemathesis is given the
contract's own generators for them, as any user of the document would register theirs.

The form's ``prompt`` is its one text/plain part, given the contract's prompts, of a length every model takes:
Schemathesis 4.32 fills the required parts of a form it builds from registered media types with empty strings
(and calls that valid data), unless a part has a generator of its own.
"""

import schemathesis

from videomock.contracts.dialects import openai
from videomock.contracts.images import FORMATS, SCHEMA_FORMAT
from videomock.contracts.strategies.images import image_files, image_references
from videomock.contracts.strategies.jsonschema import from_schema
from videomock.contracts.validation import default_catalog

schemathesis.openapi.format(SCHEMA_FORMAT, image_references())
for image_format in FORMATS:
    schemathesis.openapi.media_type(f"image/{image_format.lower()}", image_files(formats=[image_format]))
_SHORTEST = min(default_catalog().values(), key=lambda spec: spec.prompt_max_length)
schemathesis.openapi.media_type("text/plain", from_schema(openai.request_schema(_SHORTEST)["properties"]["prompt"]))
