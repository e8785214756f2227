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

Nor per dialect: ``dialect="openai"`` draws the OpenAI Videos API's create bodies (``POST /v1/videos``) from
that dialect's per-model contract (:mod:`videomock.contracts.dialects.openai`), labelled in its field names
(``seconds``, ``size``, ``input_reference``). That API takes forms too, as the openai SDK sends them:
``invalid_requests(dialect="openai", form=True)`` draws only bodies a form can carry, and
:func:`multipart_forms` turns a body into the form's parts::

    @given(st.data())
    def test_my_client_uploads_any_valid_body(data):
        parts = data.draw(multipart_forms(data.draw(valid_requests(dialect="openai"))))
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from videomock.contracts.catalog import Catalog, ModelSpec, Size
from videomock.contracts.dialects import RequestDialect, google, kling, openai
from videomock.contracts.images import IMAGE_RULES
from videomock.contracts.schemas import load_schema, pattern_matches
from videomock.contracts.schemas.reference import reference_validator
from videomock.contracts.strategies.forms import FIELD_NAME, FormPart, carried_by_forms, multipart_forms
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
    "DIALECTS",
    "MODES",
    "RULES",
    "Breakage",
    "FormPart",
    "bad_image_references",
    "carried_by_forms",
    "image_data_uris",
    "image_files",
    "image_references",
    "image_urls",
    "invalid_requests",
    "multipart_forms",
    "valid_requests",
]

#: Request modes, named as in the catalog: text-to-video sends no image; image-to-video sends one.
MODES = ("text_to_video", "image_to_video")

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


def valid_requests(model: str | None = None, *, catalog: Catalog | None = None, mode: str | None = None,
                   dialect: str = "documented") -> st.SearchStrategy[dict[str, Any]]:
    """Bodies the model accepts: any allowed duration, size, fps and metadata field, optional fields present or
    not. ``model=None`` draws from every model; ``mode`` ("text_to_video" or "image_to_video") picks one kind
    of request, otherwise both kinds the model supports are drawn; ``dialect`` (see :data:`DIALECTS`) is the
    API whose create request is drawn. Raises ValueError for a mode the model does not support."""
    catalog = _catalog(catalog)
    rules = _dialect(dialect)
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if model is None:
        specs = [spec for spec in catalog.values() if rules.serves(spec)
                 and any(_mode_alternatives(rules, spec, catalog, m) for m in ([mode] if mode is not None else MODES))]
        if not specs:
            raise ValueError(f"no model the {dialect} dialect serves supports {mode}")
        return st.one_of([valid_requests(spec.id, catalog=catalog, mode=mode, dialect=dialect) for spec in specs])
    spec = _served(catalog, model, rules, dialect)
    modes = [mode] if mode is not None else [m for m in MODES if _mode_alternatives(rules, spec, catalog, m)]
    options = [alt for m in modes for alt in _mode_alternatives(rules, spec, catalog, m)]
    if not options:
        raise ValueError(f"{spec.id} does not support {mode or 'any kind of request'} in the {dialect} dialect")
    return st.one_of([_bodies(alt) for alt in options])


def invalid_requests(model: str | None = None, *, catalog: Catalog | None = None, rules: Iterable[str] | None = None,
                     dialect: str = "documented", form: bool = False) -> st.SearchStrategy[tuple[dict[str, Any], Breakage]]:
    """``(body, breakage)`` pairs: a body that is valid but for exactly one broken rule, and that rule. The
    fake answers each with a 400 whose ``param`` is ``breakage.param``. ``rules`` narrows the rules drawn
    (see :data:`RULES`); a rule no chosen model can break raises ValueError. ``dialect`` is the API whose
    create request is broken; ``form`` draws only bodies a form carries (:func:`carried_by_forms`: a wrong
    type is then an object where text belongs, or text where an object does), for a dialect that takes forms."""
    catalog = _catalog(catalog)
    grammar = _dialect(dialect)
    if form and not grammar.forms:
        raise ValueError(f"the {dialect} dialect takes JSON bodies only, not forms")
    wanted = set(RULES) if rules is None else set(rules)
    unknown = wanted - set(RULES)
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(sorted(unknown))}; known: {', '.join(RULES)}")
    specs = [_served(catalog, model, grammar, dialect)] if model is not None else [
        spec for spec in catalog.values() if grammar.serves(spec)]
    values = _FORM_VALUES if form else _JSON_VALUES
    by_rule: dict[str, list[st.SearchStrategy[tuple[dict[str, Any], Breakage]]]] = {}
    for spec in specs:
        request = grammar.schema(spec, catalog)
        for site in _sites(spec, catalog, grammar, values):
            option = site.strategy(request) if site.rule in wanted else None
            if option is not None:
                by_rule.setdefault(site.rule, []).append(option.filter(lambda case: carried_by_forms(case[0])) if form else option)
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


def _served(catalog: Catalog, model: str, dialect: _Dialect, name: str) -> ModelSpec:
    spec = _spec(catalog, model)
    if not dialect.serves(spec):
        raise ValueError(f"the {name} dialect does not serve {spec.id} (the catalog gives it no name there)")
    return spec


def _mode_alternatives(dialect: _Dialect, spec: ModelSpec, catalog: Catalog, mode: str) -> list[Schema]:
    if mode not in dialect.modes:
        return []
    if dialect.image is None:   # the request itself is of one mode (Kling's text2video or image2video)
        return alternatives(dialect.schema(spec, catalog))
    image: Schema = _at(dialect.image[:-1], {"properties": {dialect.image[-1]: False}}) if mode == "text_to_video" \
        else _require(dialect.image)
    return alternatives(merge(dialect.schema(spec, catalog), image))


#: Each image format's valid values: the contract's images, and Kling's raw base64 JPEG or PNG.
_FORMATS = {schema_format: image_references(rules) for schema_format, rules in IMAGE_RULES.items()}


def _bodies(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    return from_schema(schema, formats=_FORMATS)


# --- invalid bodies: where each rule can be broken, and how ------------------------------------------------

#: Keys of objects, and indexes (0) of arrays: Google's body keeps its one instance in ``instances``.
Path = tuple[str | int, ...]
#: Breaks a valid body (its own copy) in place, drawing what it needs; returns the pointer of the field at fault.
Mutation = Callable[[st.DrawFn, dict[str, Any]], str]


@dataclass(frozen=True)
class _Site:
    """One way to break one rule: the valid bodies to start from (the model's schema narrowed by ``needs``,
    e.g. the field must be present) and the mutation that breaks them."""

    rule: str
    needs: Schema
    mutation: Mutation

    def strategy(self, request: Schema) -> st.SearchStrategy[tuple[dict[str, Any], Breakage]] | None:
        """Broken bodies, from the valid bodies of ``request`` (the model's request schema) this site needs."""
        options = alternatives(merge(request, self.needs))
        if not options:
            return None
        return _broken(st.one_of([_bodies(alt) for alt in options]), self.rule, self.mutation)


@st.composite
def _broken(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]], rule: str,
            mutation: Mutation) -> tuple[dict[str, Any], Breakage]:
    body = copy.deepcopy(draw(bodies))
    return body, Breakage(rule, mutation(draw, body))


@dataclass(frozen=True)
class _Values:
    """The values mutations draw where any will do (an unknown field's name and value, a wrong type): any JSON,
    or, for bodies sent as forms, what a form carries (text, or an object of texts)."""

    any: st.SearchStrategy[Any]
    #: Field names other than the given ones.
    names: Callable[[set[str]], st.SearchStrategy[str]]
    #: Values of none of the given types; None when there are none to draw.
    not_of_type: Callable[[str | Sequence[str]], st.SearchStrategy[Any] | None]


_FORM_NAMES = st.from_regex(FIELD_NAME, fullmatch=True).filter(lambda name: len(name) <= 20)
_FORM_TEXTS = st.text(max_size=20) | st.dictionaries(_FORM_NAMES, st.text(max_size=20), min_size=1, max_size=2)


def _form_not_of_type(types: str | Sequence[str]) -> st.SearchStrategy[Any] | None:
    wanted = {types} if isinstance(types, str) else set(types)
    if {"string", "object"} <= wanted:
        return None
    return _FORM_TEXTS.filter(lambda value: json_type(value) not in wanted)


_JSON_VALUES = _Values(json_values(max_leaves=3), lambda known: st.text(max_size=20).filter(lambda key: key not in known),
                       values_not_of_type)
_FORM_VALUES = _Values(_FORM_TEXTS, lambda known: _FORM_NAMES.filter(lambda key: key not in known), _form_not_of_type)


def _sites(spec: ModelSpec, catalog: Catalog, dialect: _Dialect, values: _Values) -> Iterator[_Site]:
    schema = constraints(dialect.schema(spec, catalog))
    assert isinstance(schema, dict)
    generic = constraints(dialect.fields)
    for node in _walk(schema, (), True):
        if node.schema is False:
            yield _Site("forbidden_field", node.where, _set_value(node.path, _valid_value(generic, node.path)))
        if not isinstance(node.schema, dict):
            continue
        if node.path:
            yield from _value_sites(node, values, model_field=dialect.model_field)
        if "properties" in node.schema:
            yield from _object_sites(node, values, keep=dialect.kept)
    yield from dialect.size_sites(spec)
    knows = dialect.knows
    if knows is not None:
        yield _Site("unknown_model", True, _set_value((dialect.model_field,),
                                                      st.text(min_size=1).filter(lambda m: not knows(catalog, m))))


@dataclass(frozen=True)
class _Node:
    """A (sub)schema of a request at ``path``; ``where`` narrows the request to the bodies that have it (the
    alternative it is one of, when its field has several: ``input_reference`` is an image or an object)."""

    path: Path
    schema: Schema
    where: Schema
    #: One of several alternatives of its field, whose types the field as a whole is checked for.
    alternative: bool = False

    def needs(self, path: Path | None = None) -> Schema:
        """The bodies that have this node, with every key along ``path`` (default: the node's own) present."""
        return merge(self.where, _require(self.path if path is None else path))


def _walk(schema: Schema, path: Path, where: Schema, alternative: bool = False) -> Iterator[_Node]:
    yield _Node(path, schema, where, alternative)
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("items"), dict) and schema.get("minItems", 0) >= 1:
        # An array's first item, which every body has (Google's one instance): broken in place, at index 0.
        yield from _walk(constraints(schema["items"]), (*path, 0), where)
    for name, sub in schema.get("properties", {}).items():
        field, sub = (*path, name), constraints(sub)
        options = alternatives(sub) if isinstance(sub, dict) and {"anyOf", "oneOf"} & set(sub) else [sub]
        if len(options) == 1:
            yield from _walk(sub, field, where)
            continue
        types: list[Any] = [option.get("type") for option in options if isinstance(option, dict)]
        if len(types) == len(options) and all(types):  # the field's own type check, across its alternatives
            yield _Node(field, {"type": sorted({t for kind in types for t in ([kind] if isinstance(kind, str) else kind)})}, where)
        for option in options:
            yield from _walk(option, field, merge(where, _at(field, option)), alternative=True)


def _value_sites(node: _Node, values: _Values, *, model_field: str) -> Iterator[_Site]:
    path, schema, needs = node.path, node.schema, node.needs()
    assert isinstance(schema, dict)
    wrong = values.not_of_type(schema["type"]) if "type" in schema and not node.alternative else None
    if wrong is not None:
        yield _Site("wrong_type", needs, _set_value(path, wrong))
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        yield _Site("out_of_range", needs, _set_value(path, _out_of_range(schema)))
    if ("enum" in schema or "const" in schema) and path != (model_field,):  # another model id is unknown_model
        yield _Site("not_allowed", needs, _set_value(path, _not_allowed(schema)))
    if "maxLength" in schema:
        yield _Site("too_long", needs, _set_value(path, _strings_of_length(schema["maxLength"] + 1, schema["maxLength"] + 40)))
    if schema.get("minLength", 0) >= 1:
        yield _Site("too_short", needs, _set_value(path, st.text(max_size=schema["minLength"] - 1)))
    if "pattern" in schema:
        pattern = schema["pattern"]
        yield _Site("pattern_mismatch", needs, _set_value(path, st.text().filter(lambda s: not pattern_matches(pattern, s))))
    if schema.get("format") in IMAGE_RULES:
        yield _Site("bad_image", needs, _set_value(path, bad_image_references(IMAGE_RULES[schema["format"]])))


def _object_sites(node: _Node, values: _Values, *, keep: frozenset[Path]) -> Iterator[_Site]:
    """``keep``: fields never left out, because a body without one means something else (another model)."""
    path, schema, needs = node.path, node.schema, node.needs()
    assert isinstance(schema, dict)
    for name in schema.get("required", []):
        if (*path, name) not in keep:
            yield _Site("missing_required", node.needs((*path, name)), _delete((*path, name)))
    for present, needed in schema.get("dependentRequired", {}).items():
        for name in needed:
            yield _Site("missing_required", node.needs((*path, present)), _delete((*path, name)))
    branches = schema.get("anyOf", [])
    if branches and all(set(b) == {"required"} for b in branches):
        # None of the alternatives given: the first one is what is missing ("prompt", or "image" when the
        # model takes images only), as the validator reports it.
        names = [name for b in branches for name in b["required"]]
        yield _Site("missing_required", needs, _delete(*[(*path, n) for n in names], report=(*path, names[0])))
    if schema.get("additionalProperties") is False:
        keys = values.names(set(schema["properties"]))
        yield _Site("unknown_field", needs, lambda draw, body: _set_value((*path, draw(keys)), values.any)(draw, body))


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


def _openai_size_sites(spec: ModelSpec) -> Iterator[_Site]:
    """For each size, and for a body that names none (the default size's): seconds the model takes, but not
    at that size."""
    default = next(s for s in spec.sizes if (s.width, s.height) == (spec.defaults["width"], spec.defaults["height"]))
    rows: list[tuple[Schema, Size]] = [({"required": ["size"], "properties": {"size": {"const": s.label}}}, s)
                                       for s in spec.sizes]
    for needs, row in [*rows, ({"properties": {"size": False}}, default)]:
        seconds = [str(d) for d in spec.durations if d not in spec.durations_at(row)]
        if seconds:
            yield _Site("size_mismatch", needs, _set_value(("seconds",), st.sampled_from(seconds)))


@dataclass(frozen=True)
class _Dialect:
    """What the strategies read of a dialect's create request, all of it from its contract."""

    #: The model's request, as the bodies that ask for that model.
    schema: Callable[[ModelSpec, Catalog], Schema]
    #: Where the field is whose presence makes a request image-to-video (None: the request is of one mode).
    image: Path | None
    #: Each field's values whatever the model (so that a field a model refuses is sent it with a valid value).
    fields: Schema
    #: Whether clients of the dialect may name a model so (None: the body names no model; the path does).
    knows: Callable[[Catalog, str], bool] | None
    size_sites: Callable[[ModelSpec], Iterator[_Site]]
    #: Fields never left out of a body (see :func:`_object_sites`).
    kept: frozenset[Path] = frozenset()
    #: Whether the dialect takes forms as well as JSON.
    forms: bool = False
    #: The field that names the model.
    model_field: str = "model"
    #: The modes its requests can be of.
    modes: tuple[str, ...] = MODES
    #: Whether the dialect serves a model at all (Google's and Kling's serve the models the catalog names there).
    serves: Callable[[ModelSpec], bool] = lambda spec: True


#: The dialects strategies draw create requests for: the documented gateway API's (``POST /v1/video/generations``)
#: and the OpenAI Videos API's (``POST /v1/videos``), where a body that names no model is the default model's.
def _google(dialect: RequestDialect) -> _Dialect:
    """Vertex AI's or the Gemini API's predictLongRunning body: the model is the path's (any of the names the
    catalog gives it there), so no body names one, nor an unknown one."""
    return _Dialect(lambda spec, catalog: dialect.request_schema(spec), ("instances", 0, "image"),
                    {"properties": {"instances": {"items": {"properties": google.image_fields()}}}}, None,
                    _google_size_sites, serves=lambda spec: bool(spec.names_in(dialect.name)))


def _kling(dialect: RequestDialect) -> _Dialect:
    """Kling's text2video or image2video body, of one mode each, its model in model_name (never left out: Kling's
    default model is not the catalog's)."""
    mode = "image_to_video" if dialect.operation == kling.IMAGE2VIDEO else "text_to_video"
    return _Dialect(dialect.selecting_schema, None, True,
                    lambda catalog, name: dialect.model_of({dialect.model_field: name}, catalog)[1] is not None,
                    lambda spec: iter(()), kept=frozenset({(dialect.model_field,)}), model_field=dialect.model_field,
                    modes=(mode,), serves=lambda spec: bool(spec.names_in(dialect.name)))


def _google_size_sites(spec: ModelSpec) -> Iterator[_Site]:
    """For each aspect ratio and resolution the size table pairs: a duration the model takes, but not at that size
    (Veo's 1080p takes 8 seconds only), starting from a body that names the pair."""
    for row in spec.sizes:
        picks = {google.camel(k): v for k, v in row.selectors.items() if k in spec.metadata_fields}
        durations = [d for d in spec.durations if d not in spec.durations_at(row)]
        if picks and durations:
            needs = _at(("parameters",), {"required": list(picks), "properties": {k: {"const": v} for k, v in picks.items()}})
            yield _Site("size_mismatch", needs, _set_value(("parameters", "durationSeconds"), st.sampled_from(durations)))


#: The dialects strategies draw create requests for, by name: the documented gateway API's
#: (``POST /v1/video/generations``), the OpenAI Videos API's (``POST /v1/videos``), where a body that names no
#: model is the default model's, Google Veo's predictLongRunning (``vertex``, ``gemini``), whose model is the
#: path's, and Kling's ``kling:text2video`` and ``kling:image2video``.
_DIALECTS = {
    "documented": _Dialect(lambda spec, catalog: spec.request_schema, ("image",), load_schema("generation_request"),
                           lambda catalog, name: name in catalog, _size_sites),
    openai.NAME: _Dialect(openai.DIALECT.selecting_schema, ("input_reference",),
                          {"properties": {"input_reference": openai.INPUT_REFERENCE}},
                          lambda catalog, name: openai.DIALECT.model_of({"model": name}, catalog)[1] is not None,
                          _openai_size_sites, kept=frozenset({("model",)}), forms=True),
    google.VERTEX: _google(google.VERTEX_DIALECT),
    google.GEMINI: _google(google.GEMINI_DIALECT),
    **{dialect.key: _kling(dialect) for dialect in kling.DIALECTS.values()},
}
DIALECTS = tuple(_DIALECTS)


def _dialect(name: str) -> _Dialect:
    if name not in _DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}; got {name!r}")
    return _DIALECTS[name]


def _require(path: Path) -> Schema:
    """A schema that makes every key along ``path`` present."""
    schema: Schema = True
    for name in reversed(path):
        if isinstance(name, int):
            schema = {"minItems": name + 1} | ({"items": schema} if schema is not True else {})
        else:
            schema = {"required": [name]} | ({"properties": {name: schema}} if schema is not True else {})
    return schema


def _at(path: Path, value: Schema) -> Schema:
    """A schema that makes ``path`` present and its value valid against ``value``."""
    schema = value
    for name in reversed(path):
        schema = {"minItems": name + 1, "items": schema} if isinstance(name, int) else {"required": [name], "properties": {name: schema}}
    return schema


def _valid_value(schema: Schema, path: Path) -> st.SearchStrategy[Any]:
    """A value the dialect's fields (no model's limits) allow at ``path``: an image where a model refuses
    images, so that only the refusal is wrong. Any value, for a field only a model's schema names."""
    for name in path:
        if isinstance(name, int):
            if not isinstance(schema, dict) or "items" not in schema:
                return json_values(max_leaves=3)
            schema = constraints(schema["items"])
            continue
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


def _parent(body: dict[str, Any], path: Sequence[str | int]) -> Any:
    """The object (or array) holding ``path``'s last key, an object created empty where missing (a selector
    needs ``metadata``)."""
    node: Any = body
    for name in path[:-1]:
        node = node[name] if isinstance(name, int) else node.setdefault(name, {})
    return node
