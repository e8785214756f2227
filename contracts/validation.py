"""Validation against the contracts, reporting every violation with a JSON pointer and a sentence.

The server and the client both call :func:`validate_request`, so a bad body gets the same verdict and the
same words whether it is caught locally or by the fake. Messages name the field and say what is allowed,
because the first reader of most of them is a developer looking at a failed test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import ValidationError

    from videomock.contracts.dialects import RequestDialect

from videomock.contracts.catalog import Catalog, ModelSpec
from videomock.contracts.images import IMAGE_RULES
from videomock.contracts.schemas import compiled, unmatched_properties

#: How a dialect's ``x-videomock-rule`` annotations are explained: rule -> (error, body, model) -> violation.
#: Dialect modules add theirs (the documented dialect's ``size`` rule is built in).
RULE_EXPLAINERS: dict[str, Callable[[ValidationError, Any, ModelSpec], Violation]] = {}

#: Response kinds accepted by :func:`validate_response`, mapped to their schema: the documented dialect's, then
#: the OpenAI Videos API's (its errors are the shared ``error``), then Google's.
RESPONSE_SCHEMAS = {"submit": "submit_response", "task": "task", "error": "error", "model_list": "model_list",
                    "openai_video": "openai_video", "openai_video_list": "openai_video_list",
                    "openai_video_deleted": "openai_video_deleted",
                    "google_operation": "google_operation", "google_error": "google_error"}


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``pointer`` is an RFC 6901 JSON pointer; ``param`` is the dotted field name used
    in the error body's ``param`` (None when the whole body is at fault)."""

    pointer: str
    message: str
    code: str

    @property
    def param(self) -> str | None:
        return param_name(self.pointer)

    def as_dict(self) -> dict[str, Any]:
        return {"pointer": self.pointer, "param": self.param, "message": self.message, "code": self.code}


def validate_request(body: Any, catalog: Catalog | None = None) -> list[Violation]:
    """Every violation in a generation request, most important first; an empty list means valid."""
    catalog = catalog if catalog is not None else default_catalog()
    model_id = body.get("model") if isinstance(body, dict) else None
    if isinstance(model_id, str) and model_id in catalog:
        spec = catalog[model_id]
        if spec.validator.is_valid(body):
            return []
        return _violations(spec.validator.iter_errors(body), body, spec)
    violations = violations_of(_schema_validator("generation_request"), body)
    if isinstance(model_id, str) and model_id:
        violations.insert(0, Violation(
            "/model",
            f"model {model_id!r} is not supported; available: {', '.join(catalog)}",
            "model_not_found",
        ))
    return violations


def validate_dialect_request(dialect: RequestDialect, body: Any, catalog: Catalog | None = None, *,
                             model: str | None = None) -> tuple[ModelSpec | None, list[Violation]]:
    """The model a create request of ``dialect`` asks for (``model``, where the dialect names it in the path),
    and every violation of the request, in the dialect's own field names (an empty list means valid)."""
    catalog = catalog if catalog is not None else default_catalog()
    if not isinstance(body, dict):
        return None, [Violation("", f"the request body must be a JSON object, not {json_type(body)}", "invalid_type")]
    name, spec = dialect.model_of(body, catalog, model)
    field = dialect.model_field
    if spec is None:
        if name is None:
            return None, [Violation(f"/{field}", f"{field} must be of type string, not {json_type(body.get(field))}",
                                    "invalid_type")]
        available = ", ".join(catalog.names_for(dialect.name, by_id=dialect.by_id))
        given = "" if field in body else " (the default)"
        return None, [Violation(f"/{field}", f"{field} {name!r}{given} is not supported; available: {available}",
                                "model_not_found")]
    validator = spec.dialect_validator(dialect.key, dialect.request_schema)
    if validator.is_valid(body):
        return spec, []
    return spec, _violations(validator.iter_errors(body), body, spec)


def validate_response(kind: str, body: Any) -> list[Violation]:
    """Check a response body (ours, or a recording of the real API) against its contract."""
    if kind not in RESPONSE_SCHEMAS:
        raise ValueError(f"unknown response kind {kind!r}; expected one of {', '.join(RESPONSE_SCHEMAS)}")
    return validate_against(RESPONSE_SCHEMAS[kind], body)


def validate_against(schema_name: str, document: Any) -> list[Violation]:
    """Every violation of ``document`` against the named schema file (see :mod:`videomock.contracts.schemas`)."""
    return violations_of(_schema_validator(schema_name), document)


def violations_of(validator: Any, document: Any) -> list[Violation]:
    """Every violation of ``document`` against a compiled validator, explained like request violations."""
    if validator.is_valid(document):
        return []
    return _violations(validator.iter_errors(document), document, None)


@cache
def default_catalog() -> Catalog:
    """The built-in catalog, loaded once."""
    return Catalog.load()


def _schema_validator(name: str) -> Any:
    return compiled(name)


# --- turning jsonschema errors into violations -------------------------------------------------------

_RANK = {"type": 0, "required": 1, "additionalProperties": 1, "dependentRequired": 1}


def _violations(errors: Iterable[ValidationError], body: Any, spec: ModelSpec | None) -> list[Violation]:
    """One violation per field, the most basic problem winning (a wrong type hides a wrong value)."""
    found: dict[str, tuple[int, Violation]] = {}
    for error in errors:
        for violation in _explain(error, body, spec):
            rank = _RANK.get(error.validator, 2)  # type: ignore[arg-type]
            current = found.get(violation.pointer)
            if current is None or rank < current[0]:
                found[violation.pointer] = (rank, violation)
    ordered = sorted(found.values(), key=lambda rv: (rv[1].pointer.count("/"), rv[0], rv[1].pointer))
    return [v for _, v in ordered]


def json_pointer(path: Iterable[Any]) -> str:
    """The RFC 6901 pointer of a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def first_non_finite(document: Any) -> list[Any] | None:
    """The path of the first number in ``document`` that is infinite or NaN, or None. JSON has no such
    numbers, yet Python's json reads 1e309 as infinity and TOML writes ``inf`` and ``nan``; comparisons with
    NaN are all false, so a schema's bounds never catch it, and infinity overflows whatever converts it."""
    stack: list[tuple[Any, list[Any]]] = [(document, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path
        if isinstance(item, dict):
            stack.extend((v, [*path, k]) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((v, [*path, i]) for i, v in reversed(list(enumerate(item))))
    return None


def param_name(pointer: str) -> str | None:
    """The error body's ``param`` for a pointer: dotted keys, None for the whole body."""
    if not pointer:
        return None
    return ".".join(p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:])


def _name(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "request body"


def json_type(value: Any) -> str:
    """The JSON Schema type of a Python value; integral floats count as integers, as validators count them."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _show(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _choices(values: Iterable[Any]) -> str:
    return ", ".join(str(v) if isinstance(v, (int, float)) else _show(v) for v in values)


def _by(spec: ModelSpec | None) -> str:
    return f" by {spec.id}" if spec is not None else ""


def _explain(error: ValidationError, body: Any, spec: ModelSpec | None) -> list[Violation]:
    path = list(error.absolute_path)
    pointer, name = json_pointer(path), _name(path)
    # jsonschema types these as "or unset"; in an error from iter_errors they are always set.
    value: Any = error.instance
    schema: Any = error.schema
    expected: Any = error.validator_value
    rule = schema.get("x-videomock-rule") if isinstance(schema, dict) else None
    kind = error.validator

    if rule in RULE_EXPLAINERS and spec is not None:
        return [RULE_EXPLAINERS[rule](error, body, spec)]

    if rule == "size" and spec is not None:
        return [_explain_size(error, body, spec)]
    if rule == "image_to_video_unsupported":
        return [Violation(pointer, f"image-to-video is not supported{_by(spec)}; send a prompt without image", "unsupported_mode")]
    if kind == "type":
        if not path:
            return [Violation("", f"the request body must be a JSON object, not {json_type(value)}", "invalid_type")]
        wanted = expected
        wanted_text = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return [Violation(pointer, f"{name} must be of type {wanted_text}, not {json_type(value)}", "invalid_type")]
    if kind == "required":
        missing = [p for p in expected if isinstance(value, dict) and p not in value]
        return [Violation(json_pointer([*path, p]), f"{_name([*path, p])} is required", "missing_required_parameter") for p in missing]
    if kind == "anyOf" and not path and _is_prompt_or_image(schema):
        if spec is not None and not spec.text_to_video:
            return [Violation("/image", f"image is required: {spec.id} supports image-to-video only", "missing_required_parameter")]
        return [Violation("/prompt", "prompt is required (or image, for image-to-video)", "missing_required_parameter")]
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = unmatched_properties(value, schema)
        where = "metadata field" if path == ["metadata"] else "field"
        return [Violation(json_pointer([*path, k]), f"unknown {where} {k!r}{' for ' + spec.id if spec and path else ''}; allowed: {', '.join(allowed) or 'none'}", "unknown_parameter") for k in extra]
    if kind == "dependentRequired":
        return [Violation(json_pointer([*path, missing]), f"{_name([*path, missing])} is required when {_name([*path, present])} is given (width and height go together)", "missing_required_parameter")
                for present, needs in expected.items() if isinstance(value, dict) and present in value
                for missing in needs if missing not in value]
    if kind in ("enum", "const"):
        allowed = expected if kind == "enum" else [expected]
        return [Violation(pointer, f"{name} {_show(value)} is not supported{_by(spec)}; allowed: {_choices(allowed)}", "unsupported_value")]
    if kind == "maxLength":
        return [Violation(pointer, f"{name} is too long ({len(value)} characters); at most {expected} allowed{_by(spec)}", "string_above_max_length")]
    if kind == "minLength":
        return [Violation(pointer, f"{name} must not be empty" if expected == 1 else f"{name} is too short; at least {expected} characters", "string_below_min_length")]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
        return [Violation(pointer, f"{name} {_show(value)} is out of range; allowed: {bounds}", "value_out_of_range")]
    if kind == "pattern":
        return [Violation(pointer, f"{name} {_show(value)} does not match the pattern {expected}", "invalid_value")]
    if kind == "format":
        if error.cause is not None:  # the format's own check explains itself (videomock.contracts.images)
            message = str(error.cause)
            if expected in IMAGE_RULES and name != "image" and message.startswith("image "):
                message = f"{name} {message.removeprefix('image ')}"   # in the dialect's own field name
            return [Violation(pointer, message, "invalid_image" if expected in IMAGE_RULES else "invalid_value")]
        return [Violation(pointer, f"{name} is not a valid {expected}", "invalid_value")]
    if kind == "not":
        return [Violation(pointer, f"{name} is not allowed here", "invalid_value")]
    if kind in ("oneOf", "anyOf") and error.context:
        consts = [e for e in error.context if e.validator == "const"]
        if consts and len({e.schema_path[0] for e in consts}) == len({e.schema_path[0] for e in error.context}):
            field_path = list(consts[0].absolute_path)
            return [Violation(json_pointer(field_path), f"{_name(field_path)} {_show(consts[0].instance)} is not supported; "
                              f"allowed: {_choices(e.validator_value for e in consts)}", "unsupported_value")]
        wrong_types: list[Any] = [e.validator_value for e in error.context if e.validator == "type" and not e.relative_path]
        if path and len(wrong_types) == len({e.schema_path[0] for e in error.context}):
            wanted_text = " or ".join(t for types in wrong_types for t in ([types] if isinstance(types, str) else types))
            return [Violation(pointer, f"{name} must be of type {wanted_text}, not {json_type(value)}", "invalid_type")]
        return _explain(_closest_branch_error(error), body, spec)
    return [Violation(pointer, f"{name}: {error.message}", "invalid_value")]


def _closest_branch_error(error: ValidationError) -> ValidationError:
    """For a value that fits none of several alternatives, the error of the alternative it came closest
    to: the one whose discriminating ``const`` it satisfies, else one of the value's type (an object is
    explained by the object alternative's rules, not by "must be a string"), else the one with the fewest
    errors."""
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.schema_path[0], []).append(sub)
    def distance(errors: list[ValidationError]) -> tuple[int, int, int]:
        discriminator_failed = any(e.validator == "const" for e in errors)
        other_type = any(e.validator == "type" and not e.relative_path for e in errors)
        return (int(discriminator_failed), int(other_type), len(errors))
    return min(branches.values(), key=distance)[0]


def _is_prompt_or_image(schema: Mapping[str, Any]) -> bool:
    branches = schema.get("anyOf", [])
    return all(set(b) == {"required"} for b in branches) and {"prompt", "image"} >= {r for b in branches for r in b["required"]}


def _explain_size(error: ValidationError, body: Any, spec: ModelSpec) -> Violation:
    """Say which of width/height/duration/metadata breaks the model's size table, and list the table.

    A request matches the table when some row's width and height equal the request's (or the request
    leaves them to the default) and that row's duration and metadata conditions hold too."""
    table = "; ".join(spec.describe_size(s) for s in spec.sizes)
    width, height = body.get("width"), body.get("height")
    rows = [s for s in spec.sizes if width in (None, s.width) and height in (None, s.height)]
    if not rows:
        return Violation("/width", f"size {width}x{height} is not supported by {spec.id}; allowed: {table}", "unsupported_value")
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    for key, value in metadata.items():
        if key not in spec.metadata_fields:
            continue
        narrowed = [s for s in rows if s.selectors.get(key, value) == value]
        if not narrowed:
            options = sorted({s.selectors[key] for s in rows if key in s.selectors})
            return Violation(f"/metadata/{key}", f"metadata.{key} {_show(value)} does not fit the requested size; allowed here: {_choices(options)} (sizes: {table})", "unsupported_value")
        rows = narrowed
    duration = body.get("duration")
    if duration is not None and all(duration not in spec.durations_at(s) for s in rows):
        allowed = sorted({d for s in rows for d in spec.durations_at(s)})
        where = f" at {rows[0].label}" if len(rows) == 1 else ""
        return Violation("/duration", f"duration {duration} is not supported by {spec.id}{where}; allowed: {_choices(allowed)} (sizes: {table})", "unsupported_value")
    return Violation("/metadata", f"no size of {spec.id} fits this combination of size, duration and metadata; allowed: {table}", "unsupported_value")
