"""How a recorded answer differs from its schema, field by field: the drift a gateway release brings.

Validation says whether a body breaks its contract; the response schemas allow fields they do not name and
leave many named ones optional, so a body can pass and still have drifted (a poll body that shrank, a new
field). This walks the body beside its schema and names each difference in one of five kinds, so a report
can say "fields added" rather than list pointers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from videomock.contracts.validation import json_pointer, json_type

ADDED, MISSING, NEW_ENUM_VALUE, CHANGED_TYPE, ID_FORMAT = "added", "missing", "new enum value", "changed type", "id format"
KINDS = (ADDED, MISSING, NEW_ENUM_VALUE, CHANGED_TYPE, ID_FORMAT)


@dataclass(frozen=True)
class Difference:
    kind: str
    pointer: str
    detail: str


def differences(schema: dict[str, Any], body: Any) -> list[Difference]:
    """Every difference between ``body`` and the (self-contained) ``schema``, in document order."""
    return list(_walk(Draft202012Validator(schema), schema, body, []))


def _resolve(root: Draft202012Validator, schema: Any) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#"):
        target: Any = root.schema
        for part in schema["$ref"].removeprefix("#").split("/")[1:]:
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = target
    return schema


def _view(root: Draft202012Validator, schema: Any, value: Any) -> dict[str, Any]:
    """One schema object with what its ``$ref``, ``allOf`` parts and the alternative ``value`` fits say about
    it merged in: the properties a body may have are the union of every part's."""
    schema = _resolve(root, schema)
    if not isinstance(schema, dict):
        return {}
    view = {k: v for k, v in schema.items() if k not in ("allOf", "oneOf", "anyOf", "$ref", "$defs")}
    view["properties"] = dict(schema.get("properties", {}))
    view["required"] = set(schema.get("required", ()))
    branches = schema.get("oneOf") or schema.get("anyOf")
    parts = [*schema.get("allOf", ()), *([_closest(root, branches, value)] if branches else [])]
    for part in parts:
        sub = _view(root, part, value)
        for key, sub_schema in sub.pop("properties").items():
            view["properties"].setdefault(key, sub_schema)
        view["required"] |= sub.pop("required")
        for key, item in sub.items():
            view.setdefault(key, item)
    return view


def _walk(root: Draft202012Validator, schema: Any, value: Any, path: list[Any]) -> Iterator[Difference]:
    view = _view(root, schema, value)
    pointer = json_pointer(path)
    wanted = view.get("type")
    if wanted is not None and not any(root.is_type(value, t) for t in ([wanted] if isinstance(wanted, str) else wanted)):
        yield Difference(CHANGED_TYPE, pointer, f"{json_type(value)}, the contract says {' or '.join(wanted) if isinstance(wanted, list) else wanted}")
        return
    allowed = view["enum"] if "enum" in view else [view["const"]] if "const" in view else None
    if allowed is not None and value not in allowed:
        yield Difference(NEW_ENUM_VALUE, pointer, f"{value!r}, the contract has {', '.join(map(repr, allowed))}")
    if isinstance(value, str) and "pattern" in view and path and _id_like(path[-1]) and not re.search(view["pattern"], value):
        yield Difference(ID_FORMAT, pointer, f"{value!r} does not match {view['pattern']}")
    if isinstance(value, dict):
        properties: dict[str, Any] = view["properties"]
        open_ended = isinstance(view.get("additionalProperties"), dict)
        for key, sub in value.items():
            if key in properties:
                yield from _walk(root, properties[key], sub, [*path, key])
            elif not open_ended and not any(re.search(p, key) for p in view.get("patternProperties", {})):
                yield Difference(ADDED, json_pointer([*path, key]), f"{json_type(sub)}, not in the contract")
        for key in properties:
            if key not in value:
                yield Difference(MISSING, json_pointer([*path, key]), "required" if key in view["required"] else "optional in the contract")
    elif isinstance(value, list) and isinstance(view.get("items"), dict):
        for index, item in enumerate(value):
            yield from _walk(root, view["items"], item, [*path, index])


def _closest(root: Draft202012Validator, branches: list[Any], value: Any) -> Any:
    """The alternative a value fits, else the one it breaks least (so its differences are the ones named)."""
    definitions = root.schema.get("$defs", {}) if isinstance(root.schema, dict) else {}

    def errors(branch: Any) -> int:
        branch = _resolve(root, branch)
        schema = {"$defs": definitions, **branch} if isinstance(branch, dict) else branch
        return sum(1 for _ in root.evolve(schema=schema).iter_errors(value))
    return min(branches, key=errors)


def _id_like(key: Any) -> bool:
    return isinstance(key, str) and (key in ("id", "name", "operationName") or key.endswith("_id"))
