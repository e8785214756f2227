"""Hypothesis strategies for generation requests: valid bodies for any model, and invalid ones labelled with the
rule they break. Use them to fuzz your own client code, as our property tests fuzz the fake::

    from hypothesis import given
    from videomock.contracts.strategies import invalid_requests, valid_requests

    @given(valid_requests("veo_3_1"))
    def test_my_client_sends_any_valid_request(body): ...

    @given(invalid_requests())
    def test_my_client_reports_the_broken_field(case):
        body, breakage = case          # breakage.rule == "out_of_range", breakage.param == "seed", ...

Nothing here is written per model. Field types, ranges, lengths, enums, patterns, required and unknown fields
and the text/image modes come from :attr:`ModelSpec.request_schema`; size combinations that break the size
table come from :attr:`ModelSpec.sizes`. A model added through config gets strategies by passing its catalog:
``valid_requests("my-model", catalog=Catalog.load({"my-model": {"extends": "veo_3_1"}}))``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from videomock.contracts.catalog import Catalog, ModelSpec
from videomock.contracts.images import SCHEMA_FORMAT
from videomock.contracts.schemas import load_schema, pattern_matches
from videomock.contracts.schemas.reference import reference_validator
from videomock.contracts.strategies.images import (
    bad_image_references,
    image_data_uris,
    image_files,
    image_references,
    image_urls,
)
from videomock.contracts.strategies.jsonschema import (
    Schema,
    alternatives,
    bounds,
    constraints,
    from_schema,
    json_values,
    merge,
    values_not_of_type,
)
from videomock.contracts.validation import default_catalog, json_pointer, json_type, param_name

__all__ = [
    "MODES",
    "RULES",
    "Breakage",
    "bad_image_references",
    "image_data_uris",
    "image_files",
    "image_references",
    "image_urls",
    "invalid_requests",
    "valid_requests",
]

#: Request modes, named as in the catalog: text-to-video sends no ``image``; image-to-video sends one.
MODES = ("text_to_video", "image_to_video")
_MODE_SCHEMAS: dict[str, Schema] = {
    "text_to_video": {"properties": {"image": False}},
    "image_to_video": {"required": ["image"]},
}

#: The rules an invalid body can break, as :attr:`Breakage.rule`.
RULES = (
    "wrong_type",          # a field of the wrong JSON type
    "missing_required",    # a required field left out (model; prompt or image; height without width; ...)
    "unknown_field",       # a field the schema does not define, at the top level or in metadata
    "out_of_range",        # a number past its minimum or maximum (seed, n, cfg_scale, ...)
    "not_allowed",         # a value outside the field's allowed values (duration, fps, width, metadata enums, ...)
    "too_long",            # a string over its maximum length (prompt, user, negative_prompt, ...)
    "too_short",           # a string under its minimum length (an empty prompt, ...)
    "pattern_mismatch",    # a string not matching its pattern (callback_url, ...)
    "size_mismatch",       # allowed values that the size table does not allow together (a pair, a duration, a selector)
    "bad_image",           # an image the contract refuses (too small, wrong format, truncated, bad URL, ...)
    "forbidden_field",     # a field the model does not accept at all (image for a text-only model)
    "unknown_model",       # a model id that is not in the catalog
)


@dataclass(frozen=True)
class Breakage:
    """What is wrong with an invalid body: the ``rule`` broken, at ``pointer`` (RFC 6901), the field the
    server names in its 400. A size pair missing from the size table is named by its width, as the server does."""

    rule: str
    pointer: str

    @property
    def param(self) -> str | None:
        """The error body's ``param`` that names this field: "duration", "metadata.cfg_scale", ..."""
        return param_name(self.pointer)


def valid_requests(model: str | None = None, *, catalog: Catalog | None = None,
                   mode: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies the model accepts: any allowed duration, size, fps and metadata field, optional fields present or
    not. ``model=None`` draws from every model; ``mode`` ("text_to_video" or "image_to_video") picks one kind
    of request, otherwise both kinds the model supports are drawn. Raises ValueError for a mode the model
    does not support."""
    catalog = _catalog(catalog)
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if model is None:
        specs = [spec for spec in catalog.values() if mode is None or _mode_alternatives(spec, mode)]
        if not specs:
            raise ValueError(f"no model in the catalog supports {mode}")
        return st.one_of([valid_requests(spec.id, catalog=catalog, mode=mode) for spec in specs])
    spec = _spec(catalog, model)
    modes = [mode] if mode is not None else [m for m in MODES if _mode_alternatives(spec, m)]
    options = [alt for m in modes for alt in _mode_alternatives(spec, m)]
    if not options:
        raise ValueError(f"{spec.id} does not support {mode}")
    return st.one_of([_bodies(alt) for alt in options])


def invalid_requests(model: str | None = None, *, catalog: Catalog | None = None,
                     rules: Iterable[str] | None = None) -> st.SearchStrategy[tuple[dict[str, Any], Breakage]]:
    """``(body, breakage)`` pairs: a body that is valid but for exactly one broken rule, and that rule. The
    fake answers each with a 400 whose ``param`` is ``breakage.param``. ``rules`` narrows the rules drawn
    (see :data:`RULES`); a rule no chosen model can break raises ValueError."""
    catalog = _catalog(catalog)
    wanted = set(RULES) if rules is None else set(rules)
    unknown = wanted - set(RULES)
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(sorted(unknown))}; known: {', '.join(RULES)}")
    specs = [_spec(catalog, model)] if model is not None else list(catalog.values())
    by_rule: dict[str, list[st.SearchStrategy[tuple[dict[str, Any], Breakage]]]] = {}
    for spec in specs:
        for site in _sites(spec, catalog):
            option = site.strategy(spec) if site.rule in wanted else None
            if option is not None:
                by_rule.setdefault(site.rule, []).append(option)
    if not by_rule:
        raise ValueError(f"no model among {', '.join(s.id for s in specs)} can break {', '.join(sorted(wanted))}")
    # Rule first, then where: every rule is drawn as often, however many fields it applies to.
    per_rule = {rule: st.one_of(options) for rule, options in by_rule.items()}
    return st.sampled_from([rule for rule in RULES if rule in per_rule]).flatmap(per_rule.__getitem__)


# --- valid bodies ---------------------------------------------------------------------------------------

def _catalog(catalog: Catalog | None) -> Catalog:
    return catalog if catalog is not None else default_catalog()


def _spec(catalog: Catalog, model: str) -> ModelSpec:
    if model not in catalog:
        raise ValueError(f"model {model!r} is not in the catalog; available: {', '.join(catalog)}")
    return catalog[model]


def _mode_alternatives(spec: ModelSpec, mode: str) -> list[Schema]:
    return alternatives(merge(spec.request_schema, _MODE_SCHEMAS[mode]))


def _bodies(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    return from_schema(schema, formats={SCHEMA_FORMAT: image_references()})


# --- invalid bodies: where each rule can be broken, and how ------------------------------------------------

Path = tuple[str, ...]
#: Breaks a valid body (its own copy) in place, drawing what it needs; returns the pointer of the field at fault.
Mutation = Callable[[st.DrawFn, dict[str, Any]], str]


@dataclass(frozen=True)
class _Site:
    """One way to break one rule: the valid bodies to start from (the model's schema narrowed by ``needs``,
    e.g. the field must be present) and the mutation that breaks them."""

    rule: str
    needs: Schema
    mutation: Mutation

    def strategy(self, spec: ModelSpec) -> st.SearchStrategy[tuple[dict[str, Any], Breakage]] | None:
        options = alternatives(merge(spec.request_schema, self.needs))
        if not options:
            return None
        return _broken(st.one_of([_bodies(alt) for alt in options]), self.rule, self.mutation)


@st.composite
def _broken(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]], rule: str,
            mutation: Mutation) -> tuple[dict[str, Any], Breakage]:
    body = copy.deepcopy(draw(bodies))
    return body, Breakage(rule, mutation(draw, body))


def _sites(spec: ModelSpec, catalog: Catalog) -> Iterator[_Site]:
    schema = constraints(spec.request_schema)
    assert isinstance(schema, dict)
    generic = constraints(load_schema("generation_request"))
    for path, node in _walk(schema, ()):
        if node is False:
            yield _Site("forbidden_field", _require(path[:-1]), _set_value(path, _valid_value(generic, path)))
        if not isinstance(node, dict):
            continue
        if path:
            yield from _value_sites(path, node)
        if "properties" in node:
            yield from _object_sites(path, node)
    yield from _size_sites(spec)
    yield _Site("unknown_model", True, _set_value(("model",), st.text(min_size=1).filter(lambda m: m not in catalog)))


def _walk(schema: Schema, path: Path) -> Iterator[tuple[Path, Schema]]:
    yield path, schema
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield from _walk(constraints(sub), (*path, name))


def _value_sites(path: Path, node: Mapping[str, Any]) -> Iterator[_Site]:
    needs = _require(path)
    if "type" in node:
        yield _Site("wrong_type", needs, _set_value(path, values_not_of_type(node["type"])))
    if any(k in node for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        yield _Site("out_of_range", needs, _set_value(path, _out_of_range(node)))
    if ("enum" in node or "const" in node) and path != ("model",):  # another model id is unknown_model
        yield _Site("not_allowed", needs, _set_value(path, _not_allowed(node)))
    if "maxLength" in node:
        yield _Site("too_long", needs, _set_value(path, _strings_of_length(node["maxLength"] + 1, node["maxLength"] + 40)))
    if node.get("minLength", 0) >= 1:
        yield _Site("too_short", needs, _set_value(path, st.text(max_size=node["minLength"] - 1)))
    if "pattern" in node:
        pattern = node["pattern"]
        yield _Site("pattern_mismatch", needs, _set_value(path, st.text().filter(lambda s: not pattern_matches(pattern, s))))
    if node.get("format") == SCHEMA_FORMAT:
        yield _Site("bad_image", needs, _set_value(path, bad_image_references()))


def _object_sites(path: Path, node: Mapping[str, Any]) -> Iterator[_Site]:
    needs = _require(path)
    for name in node.get("required", []):
        yield _Site("missing_required", _require((*path, name)), _delete((*path, name)))
    for present, needed in node.get("dependentRequired", {}).items():
        for name in needed:
            yield _Site("missing_required", _require((*path, present)), _delete((*path, name)))
    branches = node.get("anyOf", [])
    if branches and all(set(b) == {"required"} for b in branches):
        # None of the alternatives given: the first one is what is missing ("prompt", or "image" when the
        # model takes images only), as the validator reports it.
        names = [name for b in branches for name in b["required"]]
        yield _Site("missing_required", needs, _delete(*[(*path, n) for n in names], report=(*path, names[0])))
    if node.get("additionalProperties") is False:
        known = set(node["properties"])
        keys = st.text(max_size=20).filter(lambda key: key not in known)
        yield _Site("unknown_field", needs, lambda draw, body: _set_value((*path, draw(keys)), json_values(max_leaves=3))(draw, body))


def _size_sites(spec: ModelSpec) -> Iterator[_Site]:
    """For each row of the size table: a pair the table lacks, a duration the row does not allow, and a
    metadata selector that contradicts the row, each starting from a body that names the row's size."""
    pairs = {(s.width, s.height) for s in spec.sizes}
    widths, heights = sorted({w for w, _ in pairs}), sorted({h for _, h in pairs})
    for row in spec.sizes:
        needs = {"required": ["width", "height"],
                 "properties": {"width": {"const": row.width}, "height": {"const": row.height}}}
        other_pairs = ([{"width": w} for w in widths if (w, row.height) not in pairs]
                       + [{"height": h} for h in heights if (row.width, h) not in pairs])
        if other_pairs:
            yield _Site("size_mismatch", needs, _update(st.sampled_from(other_pairs), "/width"))
        durations = [d for d in spec.durations if d not in spec.durations_at(row)]
        if durations:
            yield _Site("size_mismatch", needs, _set_value(("duration",), st.sampled_from(durations)))
        for key, value in row.selectors.items():
            others = [v for v in spec.metadata_fields.get(key, {}).get("enum", []) if v != value]
            if others:
                yield _Site("size_mismatch", needs, _set_value(("metadata", key), st.sampled_from(others)))


def _require(path: Path) -> Schema:
    """A schema that makes every key along ``path`` present."""
    schema: Schema = True
    for name in reversed(path):
        schema = {"required": [name]} | ({"properties": {name: schema}} if schema is not True else {})
    return schema


def _valid_value(schema: Schema, path: Path) -> st.SearchStrategy[Any]:
    """A value the generic request schema (no model's limits) allows at ``path``: an image where a model
    refuses images, so that only the refusal is wrong. Any value, for a field only a model's schema names."""
    for name in path:
        properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
        if name not in properties:
            return json_values(max_leaves=3)
        schema = constraints(properties[name])
    return _bodies(schema)


def _out_of_range(node: Mapping[str, Any]) -> st.SearchStrategy[int | float]:
    integral = node.get("type") == "integer"
    low, high = bounds(node)
    options = [_numbers_beyond(value, below=below, exclusive=exclusive, integral=integral)
               for bound, below in ((low, True), (high, False)) if bound is not None for value, exclusive in [bound]]
    return st.one_of(options)


def _numbers_beyond(bound: float, *, below: bool, exclusive: bool, integral: bool) -> st.SearchStrategy[int | float]:
    """Numbers a bound rules out: under a minimum (or at an exclusive one), over a maximum (or at an exclusive one)."""
    if below:
        ints = st.integers(max_value=math.floor(bound) if exclusive else math.ceil(bound) - 1)
        floats = st.floats(max_value=bound, exclude_max=not exclusive, allow_nan=False, allow_infinity=False)
    else:
        ints = st.integers(min_value=math.ceil(bound) if exclusive else math.floor(bound) + 1)
        floats = st.floats(min_value=bound, exclude_min=not exclusive, allow_nan=False, allow_infinity=False)
    return ints if integral else ints | floats


def _not_allowed(node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    allowed = list(node["enum"]) if "enum" in node else [node["const"]]
    types = node.get("type") or sorted({json_type(v) for v in allowed})
    typed = from_schema({"type": types})
    return typed.filter(lambda value: not reference_validator({"enum": allowed}).is_valid(value))


def _strings_of_length(low: int, high: int) -> st.SearchStrategy[str]:
    """Long strings without drawing every character: a short text repeated to a drawn length."""
    return st.integers(low, high).flatmap(
        lambda n: st.text(min_size=1, max_size=4).map(lambda unit: (unit * n)[:n]))


# --- mutations ---------------------------------------------------------------------------------------------

def _set_value(path: Path, values: st.SearchStrategy[Any]) -> Mutation:
    def mutation(draw: st.DrawFn, body: dict[str, Any]) -> str:
        _parent(body, path)[path[-1]] = draw(values)
        return json_pointer(path)
    return mutation


def _update(changes: st.SearchStrategy[dict[str, Any]], pointer: str) -> Mutation:
    def mutation(draw: st.DrawFn, body: dict[str, Any]) -> str:
        body.update(draw(changes))
        return pointer
    return mutation


def _delete(*paths: Path, report: Path | None = None) -> Mutation:
    def mutation(draw: st.DrawFn, body: dict[str, Any]) -> str:
        for path in paths:
            _parent(body, path).pop(path[-1], None)
        return json_pointer(report if report is not None else paths[0])
    return mutation


def _parent(body: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    """The object holding ``path``'s last key, created empty where missing (a selector needs ``metadata``)."""
    node = body
    for name in path[:-1]:
        node = node.setdefault(name, {})
    return node
