"""The reference validator: jsonschema's 2020-12 implementation, made as safe for schemas from config as the
fast one (:mod:`videomock.contracts.schemas`).

jsonschema matches ``pattern``, ``patternProperties`` and the ``additionalProperties`` they leave with
Python's backtracking ``re``, and its default registry fetches any URL or file a ``$ref`` names. Here those
keywords match on the linear engine, and the registry refuses every retrieval. Imported only when a document
needs explaining, or by the strategies: importing jsonschema takes longer than most requests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import referencing
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from videomock.contracts.schemas import never_retrieve, pattern_matches, unmatched_properties


def reference_validator(schema: Mapping[str, Any] | bool, *,
                        format_checker: FormatChecker | None = None) -> Draft202012Validator:
    """A 2020-12 validator for ``schema`` that never retrieves a reference and matches patterns in linear time."""
    return _validator_class()(schema, format_checker=format_checker, registry=_registry())


@cache
def _validator_class() -> type[Draft202012Validator]:
    extended: type[Draft202012Validator] = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        })
    return extended


@cache
def _registry() -> referencing.Registry[Any]:
    """Empty but for what jsonschema adds itself (the meta-schemas it ships): any other resource is refused."""
    return referencing.Registry(retrieve=never_retrieve)  # type: ignore[call-arg]


def _pattern(validator: Draft202012Validator, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not pattern_matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Draft202012Validator, patterns: Mapping[str, Any], instance: Any,
                        schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if pattern_matches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Draft202012Validator, additional: Any, instance: Any,
                           schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = unmatched_properties(instance, schema)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif additional is False and extras:
        yield ValidationError(f"Additional properties are not allowed ({', '.join(map(repr, extras))} "
                              f"{'was' if len(extras) == 1 else 'were'} unexpected)")
