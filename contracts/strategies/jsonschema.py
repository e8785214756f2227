"""Hypothesis strategies for the JSON Schema keywords the contracts use, so request strategies can be derived
from :attr:`ModelSpec.request_schema` instead of being written per model.

Why our own: hypothesis-jsonschema, the library for this, is not maintained for current Hypothesis (0.23.1
fails with ``'many' object has no attribute 'more'`` on Hypothesis 6.170), and the catalog only needs a small,
well-defined subset of JSON Schema. A keyword outside that subset raises :class:`UnsupportedSchema` naming
it, so a metadata schema from config that we cannot generate for fails loudly instead of producing bodies
the server rejects.

``anyOf`` and ``allOf`` are expanded into alternatives (:func:`alternatives`), each an intersection made by
:func:`merge`, so generation never filters on a branch it could have built directly: every size of the
catalog's size table is its own alternative.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from videomock.contracts.schemas import pattern_matches
from videomock.contracts.schemas.reference import reference_validator
from videomock.contracts.validation import json_type

Schema = Mapping[str, Any] | bool

#: Keywords that never constrain an instance.
ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples", "default", "deprecated",
                         "readOnly", "writeOnly", "contentEncoding", "contentMediaType"})
#: Keywords :func:`from_schema` generates for (annotations and ``x-*`` extensions aside).
SUPPORTED = frozenset({"type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                       "multipleOf", "minLength", "maxLength", "pattern", "format", "properties", "required",
                       "additionalProperties", "dependentRequired", "items", "minItems", "maxItems", "uniqueItems",
                       "anyOf", "oneOf", "allOf", "not"})
_COMBINATORS = frozenset({"anyOf", "oneOf", "allOf"})
JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")

_LOWER = {"minimum": max, "exclusiveMinimum": max, "minLength": max, "minItems": max}
_UPPER = {"maximum": min, "exclusiveMaximum": min, "maxLength": min, "maxItems": min}


class UnsupportedSchema(ValueError):
    """The schema uses a keyword, or a combination, that these strategies cannot generate for."""


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Any JSON value (finite numbers, no lone surrogates: what a JSON encoder can send)."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                        max_leaves=max_leaves)


def values_not_of_type(types: str | Sequence[str]) -> st.SearchStrategy[Any]:
    """JSON values none of whose types is in ``types`` ("number" includes "integer", as in JSON Schema)."""
    wanted = {types} if isinstance(types, str) else set(types)
    if "number" in wanted:
        wanted.add("integer")
    return json_values(max_leaves=4).filter(lambda value: json_type(value) not in wanted)


def constraints(schema: Schema) -> Schema:
    """``schema`` without annotations and ``x-*`` extensions; ``{"not": {}}`` (nothing is valid) becomes False."""
    if isinstance(schema, bool):
        return schema
    kept = {k: v for k, v in schema.items() if k not in ANNOTATIONS and not k.startswith("x-")}
    if "not" in kept and kept["not"] in ({}, True):
        return False
    return kept


def merge(a: Schema, b: Schema) -> Schema:
    """The intersection of two schemas: an instance is valid against the result iff it is valid against both.

    Handles the keywords the catalog combines (properties, required, enum/const, bounds, type); anything else
    that both sides constrain differently raises UnsupportedSchema. Returns False when nothing can satisfy both.
    """
    a, b = constraints(a), constraints(b)
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key == "properties":
            out[key] = {name: merge(out[key].get(name, True), value.get(name, True)) for name in {**out[key], **value}}
        elif key == "items":
            out[key] = merge(out[key], value)
        elif key == "required":
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif key == "dependentRequired":
            out[key] = {name: list(dict.fromkeys([*out[key].get(name, []), *value.get(name, [])]))
                        for name in {**out[key], **value}}
        elif key == "enum":
            out[key] = [v for v in out[key] if _contains(value, v)]
        elif key == "type":
            out[key] = _common_types(out[key], value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out["allOf"] = [*out.get("allOf", []), {key: value}] if key != "allOf" else [*out.get("allOf", []), *value]
        elif key in _LOWER:
            out[key] = _LOWER[key](out[key], value)
        elif key in _UPPER:
            out[key] = _UPPER[key](out[key], value)
        elif out[key] != value:
            if key == "const":
                return False
            raise UnsupportedSchema(f"cannot intersect two different {key!r} constraints: {out[key]!r} and {value!r}")
    if "const" in out and "enum" in out and not _contains(out.pop("enum"), out["const"]):
        return False
    if out.get("enum") == [] or out.get("type") == []:
        return False
    return out


def _common_types(a: str | Sequence[str], b: str | Sequence[str]) -> list[str]:
    mine, theirs = ({t} if isinstance(t, str) else set(t) for t in (a, b))
    common = mine & theirs
    if ("number" in mine and "integer" in theirs) or ("integer" in mine and "number" in theirs):
        common.add("integer")
    return [t for t in JSON_TYPES if t in common]


def alternatives(schema: Schema) -> list[Schema]:
    """Schemas free of top-level anyOf/oneOf/allOf whose union is ``schema`` (oneOf is approximated as anyOf;
    :func:`from_schema` filters what it generates from such alternatives). Unsatisfiable ones are dropped."""
    schema = constraints(schema)
    if isinstance(schema, bool):
        return [True] if schema else []
    base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "allOf")}
    result: list[Schema] = [base]
    for sub in schema.get("allOf", []):
        result = [merge(r, alt) for r in result for alt in alternatives(sub)]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            result = [merge(r, alt) for r in result for branch in schema[key] for alt in alternatives(branch)]
    expanded: list[Schema] = []
    for r in result:  # a merge may have set two combinators of one kind side by side under allOf
        expanded.extend(alternatives(r) if isinstance(r, dict) and _COMBINATORS & set(r) else [r])
    return [r for r in expanded if satisfiable(r)]


def satisfiable(schema: Schema) -> bool:
    """False when the schema (an alternative) obviously admits nothing: False itself, a required property
    whose schema is False, or a required item that cannot be. Deeper contradictions are found by generation, not here."""
    if schema is False:
        return False
    if schema is True:
        return True
    props = schema.get("properties", {})
    if schema.get("minItems", 0) >= 1 and "items" in schema and not satisfiable(constraints(schema["items"])):
        return False   # an item it must have cannot be (an instance that needs an image its model refuses)
    return all(props.get(name, True) is not False and satisfiable(constraints(props.get(name, True)))
               for name in schema.get("required", []))


def from_schema(schema: Schema, *, formats: Mapping[str, st.SearchStrategy[str]] | None = None) -> st.SearchStrategy[Any]:
    """Values valid against ``schema``. ``formats`` supplies strings for custom ``format`` names (standard
    formats are annotations here, as in the contracts' validators, and are not generated for)."""
    return _from_schema_text(json.dumps(schema, sort_keys=True), tuple(sorted((formats or {}).items())))


@functools.lru_cache(maxsize=4096)
def _from_schema_text(text: str, formats: tuple[tuple[str, st.SearchStrategy[str]], ...]) -> st.SearchStrategy[Any]:
    """Strategies are immutable, and request strategies meet the same (sub)schemas many times over: build each once."""
    schema = json.loads(text)
    options = alternatives(schema)
    if not options:
        return st.nothing()
    combined = st.one_of([_from_alternative(alt, dict(formats)) for alt in options])
    if _has_keyword(schema, "oneOf"):
        combined = combined.filter(reference_validator(schema).is_valid)
    return combined


def _from_alternative(schema: Schema, formats: Mapping[str, st.SearchStrategy[str]]) -> st.SearchStrategy[Any]:
    if schema is True:
        return json_values()
    assert schema is not False
    unknown = set(schema) - SUPPORTED
    if unknown:
        raise UnsupportedSchema(f"cannot generate values for keyword(s) {', '.join(sorted(unknown))} in {json.dumps(schema)[:200]}")
    if "not" in schema:
        raise UnsupportedSchema(f"cannot generate values for 'not' other than {{\"not\": {{}}}}: {json.dumps(schema)[:200]}")
    if "const" in schema or "enum" in schema:
        candidates = [schema["const"]] if "const" in schema else list(schema["enum"])
        allowed = [v for v in candidates if reference_validator(schema).is_valid(v)]
        return st.sampled_from(allowed) if allowed else st.nothing()
    types = schema.get("type", JSON_TYPES)
    types = [types] if isinstance(types, str) else list(types)
    if "integer" in types and "number" in types:
        types.remove("integer")
    return st.one_of([_BY_TYPE[t](schema, formats) for t in types])


def _integers(schema: Mapping[str, Any], _: Any) -> st.SearchStrategy[int]:
    low, high = bounds(schema)
    low_int = None if low is None else math.ceil(low[0]) + (1 if low[1] and float(low[0]).is_integer() else 0)
    high_int = None if high is None else math.floor(high[0]) - (1 if high[1] and float(high[0]).is_integer() else 0)
    step = schema.get("multipleOf", 1)
    if float(step).is_integer():  # count in steps, so a coarse multipleOf costs no filtering
        step = int(step)
        low_int = None if low_int is None else -(-low_int // step)
        high_int = None if high_int is None else high_int // step
    if low_int is not None and high_int is not None and low_int > high_int:
        return st.nothing()
    if isinstance(step, int):
        return st.integers(low_int, high_int).map(lambda k: k * step)
    return st.integers(low_int, high_int).filter(_multiple_check(schema))


def _numbers(schema: Mapping[str, Any], formats: Any) -> st.SearchStrategy[float | int]:
    low, high = bounds(schema)
    floats = st.floats(min_value=None if low is None else low[0], max_value=None if high is None else high[0],
                       exclude_min=bool(low and low[1]), exclude_max=bool(high and high[1]),
                       allow_nan=False, allow_infinity=False)
    if "multipleOf" in schema:
        floats = floats.filter(_multiple_check(schema))
    return _integers(schema, formats) | floats


def _multiple_check(schema: Mapping[str, Any]) -> Callable[[Any], bool]:
    return reference_validator({"multipleOf": schema["multipleOf"]}).is_valid


def bounds(schema: Mapping[str, Any]) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    """``(value, exclusive)`` for the lower and the upper bound (the tighter of the inclusive and exclusive
    keyword), or None where there is none."""
    def pick(inclusive: str, exclusive: str, tighter: Callable[[float, float], bool]) -> tuple[float, bool] | None:
        bounds = [(schema[k], k == exclusive) for k in (inclusive, exclusive) if k in schema]
        if not bounds:
            return None
        best = bounds[0]
        for bound in bounds[1:]:
            if tighter(bound[0], best[0]) or (bound[0] == best[0] and bound[1]):
                best = bound
        return best
    return (pick("minimum", "exclusiveMinimum", lambda x, y: x > y),
            pick("maximum", "exclusiveMaximum", lambda x, y: x < y))


def _strings(schema: Mapping[str, Any], formats: Mapping[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in formats:
        base = formats[fmt]
    elif "pattern" in schema:
        base = st.from_regex(schema["pattern"])
    else:
        return st.text(min_size=low, max_size=high)
    if "pattern" in schema:  # from_regex reads the pattern as Python's re does: keep what the contracts' engine matches
        base = base.filter(functools.partial(pattern_matches, schema["pattern"]))
    return base.filter(lambda s: low <= len(s) and (high is None or len(s) <= high))


def _arrays(schema: Mapping[str, Any], formats: Mapping[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[Any]]:
    items = from_schema(schema.get("items", True), formats=formats)
    unique_by = (lambda v: json.dumps(v, sort_keys=True)) if schema.get("uniqueItems") else None
    return st.lists(items, min_size=schema.get("minItems", 0), max_size=schema.get("maxItems"), unique_by=unique_by)


def _objects(schema: Mapping[str, Any], formats: Mapping[str, st.SearchStrategy[str]]) -> st.SearchStrategy[dict[str, Any]]:
    """Required properties always, any subset of the optional ones, and whatever ``dependentRequired`` then
    demands; never properties the schema does not name (they are never needed to be valid)."""
    props = {name: constraints(sub) for name, sub in schema.get("properties", {}).items()}
    extra = schema.get("additionalProperties", True)
    required = list(schema.get("required", []))
    values = {name: from_schema(props.get(name, extra), formats=formats) for name in [*props, *required]}
    optional = [name for name in props if name not in required and props[name] is not False]
    return _objects_of(values, tuple(required), tuple(optional), schema.get("dependentRequired", {}))


@st.composite
def _objects_of(draw: st.DrawFn, values: Mapping[str, st.SearchStrategy[Any]], required: Sequence[str],
                optional: Sequence[str], dependent: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    chosen = [name for name in optional if draw(st.booleans())]  # each optional property half of the time
    present = _closure([*required, *chosen], dependent)
    return {name: draw(values[name]) for name in values if name in present}


def _closure(names: Iterable[str], dependent: Mapping[str, Sequence[str]]) -> set[str]:
    present = set(names)
    pending = list(present)
    while pending:
        for needed in dependent.get(pending.pop(), ()):
            if needed not in present:
                present.add(needed)
                pending.append(needed)
    return present


def _contains(values: Sequence[Any], value: Any) -> bool:
    """Membership with JSON Schema equality: booleans are not numbers."""
    return any(type(v) is type(value) or (json_type(v) in ("integer", "number") and json_type(value) in ("integer", "number")
                                          and not isinstance(v, bool) and not isinstance(value, bool))
               for v in values if v == value)


def _has_keyword(schema: Any, keyword: str) -> bool:
    if isinstance(schema, dict):
        return keyword in schema or any(_has_keyword(v, keyword) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_keyword(v, keyword) for v in schema)
    return False


_BY_TYPE: dict[str, Callable[[Mapping[str, Any], Mapping[str, st.SearchStrategy[str]]], st.SearchStrategy[Any]]] = {
    "null": lambda schema, formats: st.none(),
    "boolean": lambda schema, formats: st.booleans(),
    "integer": _integers,
    "number": _numbers,
    "string": _strings,
    "array": _arrays,
    "object": _objects,
}
