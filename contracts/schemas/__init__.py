"""The JSON Schema files, one per message, and the one place they are loaded and compiled.

Schemas are read once and shared; callers that change a schema must copy it first.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from contracts.images import SCHEMA_FORMAT, ImageError, parse_image

#: Message schemas by short name; the file is ``<name>.schema.json`` next to this module.
MESSAGE_SCHEMAS = ("generation_request", "submit_response", "task", "error", "model_list")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema ``<name>.schema.json``. Shared: do not mutate the result."""
    path = resources.files(__name__).joinpath(f"{name}.schema.json")
    if not path.is_file():
        known = sorted(p.name.removesuffix(".schema.json") for p in resources.files(__name__).iterdir() if p.name.endswith(".schema.json"))
        raise KeyError(f"no schema named {name!r}; known: {', '.join(known)}")
    return json.loads(path.read_text(encoding="utf-8"))


def _is_image_reference(value: Any) -> bool:
    """Formats constrain strings only; a wrong type is the ``type`` keyword's to report."""
    return not isinstance(value, str) or parse_image(value) is not None


#: Asserts only our own formats: standard ones ("uri", "email", ...) stay annotations, as 2020-12 defaults
#: to, so a metadata schema from config that uses them behaves as it always did.
FORMAT_CHECKER = FormatChecker(formats=())
FORMAT_CHECKER.checks(SCHEMA_FORMAT, raises=ImageError)(_is_image_reference)


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    """A 2020-12 validator; the schema itself is checked first so a broken catalog fails loudly at load."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
