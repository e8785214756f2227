"""The JSON Schema files, one per message, and the one place they are loaded and compiled.

Schemas are read once and shared; callers that change a schema must copy it first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from videomock.contracts.images import SCHEMA_FORMAT, ImageError, parse_image

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker, ValidationError

#: Message schemas by short name; the file is ``<name>.schema.json`` next to this module.
MESSAGE_SCHEMAS = ("generation_request", "submit_response", "task", "error", "model_list")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema ``<name>.schema.json``. Shared: do not mutate the result."""
    path = resources.files(__name__).joinpath(f"{name}.schema.json")
    if not path.is_file():
        known = sorted(p.name.removesuffix(".schema.json") for p in resources.files(__name__).iterdir() if p.name.endswith(".schema.json"))
        raise KeyError(f"no schema named {name!r}; known: {', '.join(known)}")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _is_image_reference(value: Any) -> bool:
    """Formats constrain strings only; a wrong type is the ``type`` keyword's to report."""
    return not isinstance(value, str) or parse_image(value) is not None


def _image_reference_ok(value: str) -> bool:
    try:
        return _is_image_reference(value)
    except ImageError:
        return False


@cache
def format_checker() -> FormatChecker:
    """Asserts only our own formats: standard ones ("uri", "email", ...) stay annotations, as 2020-12
    defaults to, so a metadata schema from config that uses them behaves as it always did."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks(SCHEMA_FORMAT, raises=ImageError)(_is_image_reference)
    return checker


class CompiledSchema:
    """One schema, two validators. jsonschema-rs (compiled) answers "is this valid?" in about a
    microsecond, which matters because every request and response on the hot path is checked; the
    reference Python implementation explains what is wrong and has the last word: it runs whenever the
    fast one says no. (jsonschema-rs asserts standard formats too, which the reference treats as
    annotations; a document it refuses for that alone is therefore still judged valid, only slower.)"""

    def __init__(self, schema: dict[str, Any], *, check: bool = True) -> None:
        if check:  # the meta-schema check is slow; shipped schemas are checked by the test suite instead
            check_schema(schema)
        self.schema = schema
        self._reference: Draft202012Validator | None = None
        self._fast = jsonschema_rs.validator_for(schema, formats={SCHEMA_FORMAT: _image_reference_ok},
                                                 validate_formats=True)

    @property
    def _explainer(self) -> Draft202012Validator:
        """Built on first need (most documents are valid, and many processes never see an invalid one)."""
        if self._reference is None:
            from jsonschema import Draft202012Validator

            self._reference = Draft202012Validator(self.schema, format_checker=format_checker())
        return self._reference

    def is_valid(self, document: Any) -> bool:
        try:
            if self._fast.is_valid(document):
                return True
        except Exception:  # a Python value with no JSON form (a tuple key, a set): let the reference decide
            pass
        return self._explainer.is_valid(document)

    def iter_errors(self, document: Any) -> Iterator[ValidationError]:
        return self._explainer.iter_errors(document)


@cache
def compiled(name: str) -> CompiledSchema:
    """The validator for a shipped schema file, compiled once per process."""
    return CompiledSchema(load_schema(name), check=False)


def check_schema(schema: Any) -> None:
    """Raise jsonschema.SchemaError if ``schema`` is not a valid 2020-12 schema."""
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema)
