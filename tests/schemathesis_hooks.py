"""Schemathesis hooks for the fake's OpenAPI document (loaded through tests/schemathesis.toml).

The request's images have custom formats (videomock.contracts.images): ``image-reference`` (a data URI, raw
base64 or a URL of a PNG, JPEG or WebP) and Kling's ``image-reference-raw-jpeg-png`` (raw base64 JPEG or PNG, or
a URL); and the OpenAI create form's ``input_reference`` is a file part of an image type. No tool can invent a
decodable image of at least 300 px a side from a format or a media type (Schemathesis's own samples are 1x1), so
Schemathesis is given the contract's own generators for them, as any user of the document would register theirs.

The form's ``prompt`` is its one text/plain part, given the contract's prompts, of a length every model takes:
Schemathesis 4.32 fills the required parts of a form it builds from registered media types with empty strings
(and calls that valid data), unless a part has a generator of its own.

Credentials: Kling's routes take a JWT the client signs for each request (HS256, ``iss`` the access key, ``exp``
half an hour ahead), which no static header can be, so an auth provider signs a fresh one per request with the
pair in ``VIDEOMOCK_KLING_KEY`` (``ACCESS:SECRET``); every other route gets the API key in ``VIDEOMOCK_API_KEY``
as a Bearer token. By hand: ``videomock serve --api-key sk-st --kling-key AK-st:SK-st --clock instant``, and the
defaults below match it.
"""

import os
import re
import time
from typing import Any

import jwt
import schemathesis

from videomock.contracts.dialects import openai
from videomock.contracts.images import FORMATS, IMAGE_RULES
from videomock.contracts.strategies.images import image_files, image_references
from videomock.contracts.strategies.jsonschema import from_schema
from videomock.contracts.validation import default_catalog

for schema_format, rules in IMAGE_RULES.items():
    schemathesis.openapi.format(schema_format, image_references(rules))
for image_format in FORMATS:
    schemathesis.openapi.media_type(f"image/{image_format.lower()}", image_files(formats=[image_format]))
_SHORTEST = min(default_catalog().values(), key=lambda spec: spec.prompt_max_length)
schemathesis.openapi.media_type("text/plain", from_schema(openai.request_schema(_SHORTEST)["properties"]["prompt"]))

API_KEY = os.environ.get("VIDEOMOCK_API_KEY", "sk-st")
KLING_ACCESS, _, KLING_SECRET = os.environ.get("VIDEOMOCK_KLING_KEY", "AK-st:SK-st").partition(":")
#: Kling's routes, under its own paths and new-api's passthrough.
_KLING_PATH = re.compile(r"^(/kling)?/v1/videos/(text2video|image2video)(/|$)")


def kling_token() -> str:
    """A token as Kling's reference signs one: exp 30 min ahead, nbf 5 s back."""
    now = int(time.time())
    return jwt.encode({"iss": KLING_ACCESS, "exp": now + 1800, "nbf": now - 5}, KLING_SECRET, algorithm="HS256")


@schemathesis.auth(refresh_interval=None)
class Credentials:
    """A fresh Kling token for each request to Kling's routes (none is cached: refresh_interval=None), the API
    key for every other."""

    def get(self, case: Any, ctx: Any) -> str:
        return kling_token() if _KLING_PATH.match(ctx.operation.path) else API_KEY

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
