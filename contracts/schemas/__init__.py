"""The JSON Schema files, one per message, and the one place they are loaded and compiled.

Schemas are read once and shared; callers that change a schema must copy it first.

Metadata field schemas come from config, so every validator built here is safe for a schema nobody vetted:
nothing a schema refers to is ever retrieved (a schema is self-contained), and every ``pattern`` runs on a
linear-time regex engine, because Python's ``re`` and jsonschema-rs's default engine backtrack, and one
pattern such as ``(a+)+$`` would otherwise hold a worker for hours. :func:`check_untrusted_schema` refuses,
when config is loaded, what these validators would refuse or could not run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, NoReturn

import jsonschema_rs

from videomock.contracts.images import IMAGE_RULES, ImageError, ImageRules, parse_image

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker, ValidationError

#: Message schemas by short name; the file is ``<name>.schema.json`` next to this module.
MESSAGE_SCHEMAS = ("generation_request", "submit_response", "task", "error", "model_list",
                   "openai_video", "openai_video_list", "openai_video_deleted", "openai_remix_request",
                   "google_error", "google_operation", "vertex_fetch_operation")

#: The one dialect a schema may name in ``$schema``: any other would be a document to retrieve.
DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: jsonschema-rs's ``regex`` crate engine: matching time is linear in the text, which is worth its price (no
#: lookaround, no backreferences) when patterns come from config and the texts from requests.
LINEAR_REGEX = jsonschema_rs.RegexOptions()

#: Keywords whose values are data, not schemas: a ``$ref`` inside an ``enum`` value is only a value.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
#: Keywords whose values map names (which may spell keywords, like a property called "pattern") to schemas.
_NAMED_SUBSCHEMAS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})


class UnusableSchema(ValueError):
    """A schema (from config) that refers outside itself, or that the validators could not run safely."""


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema ``<name>.schema.json``. Shared: do not mutate the result."""
    path = resources.files(__name__).joinpath(f"{name}.schema.json")
    if not path.is_file():
        known = sorted(p.name.removesuffix(".schema.json") for p in resources.files(__name__).iterdir() if p.name.endswith(".schema.json"))
        raise KeyError(f"no schema named {name!r}; known: {', '.join(known)}")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _image_check(rules: ImageRules) -> Callable[[Any], bool]:
    """The check of one image format. Formats constrain strings only; a wrong type is the ``type`` keyword's
    to report."""
    return lambda value: not isinstance(value, str) or parse_image(value, rules=rules) is not None


def _quiet(check: Callable[[Any], bool]) -> Callable[[str], bool]:
    def ok(value: str) -> bool:
        try:
            return check(value)
        except ImageError:
            return False
    return ok


#: Each image format's check, by format name (the images' rules: :data:`videomock.contracts.images.IMAGE_RULES`).
_IMAGE_CHECKS = {name: _image_check(rules) for name, rules in IMAGE_RULES.items()}
_FAST_FORMATS = {name: _quiet(check) for name, check in _IMAGE_CHECKS.items()}


@cache
def format_checker() -> FormatChecker:
    """Asserts only our own formats: standard ones ("uri", "email", ...) stay annotations, as 2020-12
    defaults to, so a metadata schema from config that uses them behaves as it always did."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in _IMAGE_CHECKS.items():
        checker.checks(name, raises=ImageError)(check)
    return checker


def never_retrieve(uri: str) -> NoReturn:
    """The retriever of both validators. A reference out of a schema is refused when config is loaded
    (:func:`check_untrusted_schema`); this is the backstop, so that no schema can make a validator open a URL
    or read a file."""
    raise UnusableSchema(f"{uri!r} is never retrieved: a schema may refer only within itself ('#...')")


@lru_cache(maxsize=1024)
def _linear_pattern(pattern: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for({"pattern": pattern}, pattern_options=LINEAR_REGEX)


def pattern_matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` as JSON Schema's ``pattern`` means it (a search, not anchored), in
    time linear in ``text``. The reference validator and the strategies match through here, on the engine the
    fast validator uses, so they cannot hang on a pattern and all three agree on what matches."""
    return _linear_pattern(pattern).is_valid(text)


def unmatched_properties(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The members of ``instance`` that neither ``properties`` nor ``patternProperties`` of ``schema`` names:
    the ones ``additionalProperties`` applies to."""
    named, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    return [key for key in instance if key not in named and not any(pattern_matches(p, key) for p in patterns)]


def _fast_validator(schema: dict[str, Any] | bool) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(schema, formats=_FAST_FORMATS, validate_formats=True,
                                       pattern_options=LINEAR_REGEX, retriever=never_retrieve)


class CompiledSchema:
    """One schema, two validators. jsonschema-rs (compiled) answers "is this valid?" in about a
    microsecond, which matters because every request and response on the hot path is checked; the
    reference Python implementation explains what is wrong and has the last word: it runs whenever the
    fast one says no. (jsonschema-rs asserts standard formats too, which the reference treats as
    annotations; a document it refuses for that alone is therefore still judged valid, only slower.)
    Neither retrieves anything, and both match patterns in linear time (see the module's docstring)."""

    def __init__(self, schema: dict[str, Any], *, check: bool = True) -> None:
        if check:  # the meta-schema check is slow; shipped schemas are checked by the test suite instead
            check_schema(schema)
        self.schema = schema
        self._reference: Draft202012Validator | None = None
        self._fast = _fast_validator(schema)

    @property
    def _explainer(self) -> Draft202012Validator:
        """Built on first need (most documents are valid, and many processes never see an invalid one)."""
        if self._reference is None:
            from videomock.contracts.schemas.reference import reference_validator

            self._reference = reference_validator(self.schema, format_checker=format_checker())
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
    return CompiledSchema(bundled(name), check=False)


@cache
def bundled(name: str) -> dict[str, Any]:
    """The schema ``<name>.schema.json`` with every message schema it refers to by ``$id`` (a list's items,
    say) embedded in its ``$defs``, as JSON Schema bundles resources: so a message is written once, and
    a validator of one that refers to another still retrieves nothing. Shared: do not mutate the result."""
    by_id = {load_schema(other)["$id"]: other for other in MESSAGE_SCHEMAS}
    schema = dict(load_schema(name))
    embedded: dict[str, Any] = {}
    pending = [schema]
    while pending:
        for _, target in (ref for node in _schema_objects(pending.pop()) for ref in _references(node)):
            if target in by_id and target not in embedded and target != schema.get("$id"):
                embedded[target] = load_schema(by_id[target])
                pending.append(embedded[target])
    if embedded:
        schema["$defs"] = {**schema.get("$defs", {}), **embedded}
    return schema


def check_schema(schema: Any) -> None:
    """Raise jsonschema.SchemaError if ``schema`` is not a valid 2020-12 schema."""
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema)


def check_untrusted_schema(schema: Any) -> None:
    """Vet a schema from config before any request meets it. Raises jsonschema's SchemaError if it is not
    valid 2020-12, and UnusableSchema if it refers outside itself (only "#..." references: nothing is ever
    fetched), names itself (``$id``) or another dialect, uses a pattern the linear engine cannot run, or
    does not compile (a reference within it that leads nowhere): so a bad schema is a config error, never
    a failed request."""
    check_schema(schema)
    keywords: set[str] = set()
    for node in _schema_objects(schema):
        keywords.update(node)
        for keyword, target in _references(node):
            if not target.startswith("#"):
                raise UnusableSchema(f"{keyword} {target!r} points outside the schema: only references within it, "
                                     "such as '#/$defs/name', are allowed, and nothing is ever fetched")
        if "$id" in node:
            raise UnusableSchema(f"$id is not allowed ({node['$id']!r}): the schema is identified by where it is "
                                 "configured, and '#' refers to its root")
        if str(node.get("$schema", DIALECT)).removesuffix("#") != DIALECT:
            raise UnusableSchema(f"$schema {node['$schema']!r} is not allowed: schemas here are JSON Schema 2020-12 "
                                 f"({DIALECT}), and nothing is ever fetched")
        for pattern in _patterns(node):
            try:
                _linear_pattern(pattern)
            except jsonschema_rs.ValidationError:
                raise UnusableSchema(f"pattern {pattern!r} cannot be used: patterns are matched in linear time, so "
                                     "lookaround and backreferences are not supported") from None
    if {"unevaluatedProperties", "patternProperties"} <= keywords:
        # jsonschema's unevaluatedProperties matches patternProperties with Python's re, out of our reach.
        raise UnusableSchema("unevaluatedProperties cannot be combined with patternProperties; "
                             "use additionalProperties instead")
    try:
        _fast_validator(schema)
    except jsonschema_rs.ValidationError as exc:
        raise UnusableSchema(f"the schema cannot be compiled: {exc.message}") from None


def refers_within(schema: Any) -> bool:
    """Whether ``schema`` has a ``$ref`` or ``$dynamicRef`` (after :func:`check_untrusted_schema`, a local one)."""
    return any(any(_references(node)) for node in _schema_objects(schema))


def _schema_objects(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every object in a schema that may be a (sub)schema: a reference may point anywhere in the document, so
    any object counts, except inside values that are data (``const``, ``enum``, ...)."""
    if isinstance(node, list):
        for item in node:
            yield from _schema_objects(item)
    elif isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key in _NAMED_SUBSCHEMAS and isinstance(value, dict):
                yield from _schema_objects(list(value.values()))
            elif key not in _DATA_KEYWORDS:
                yield from _schema_objects(value)


def _references(node: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for keyword in ("$ref", "$dynamicRef"):
        target = node.get(keyword)
        if isinstance(target, str):
            yield keyword, target


def _patterns(node: Mapping[str, Any]) -> Iterator[str]:
    if isinstance(node.get("pattern"), str):
        yield node["pattern"]
    if isinstance(node.get("patternProperties"), dict):
        yield from node["patternProperties"]
