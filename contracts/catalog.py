"""The model catalog: which models exist and what each one accepts.

The catalog is data (``contracts/models.json`` plus the user's ``[models]`` config table). Everything that
enforces or describes per-model rules (server and client validation, the OpenAPI document, the Hypothesis
strategies) is derived from :meth:`ModelSpec.request_schema`, so a model added through config is handled
everywhere with no code change.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any
from urllib.parse import quote

from videomock.contracts.schemas import (
    CompiledSchema,
    UnusableSchema,
    check_untrusted_schema,
    compiled,
    load_schema,
    refers_within,
)

CATALOG_FILE = "models.json"

#: Keys an override entry may carry besides the fields of a model spec.
_OVERRIDE_ONLY_KEYS = ("extends", "disabled")


class CatalogError(ValueError):
    """The catalog (built-in or from config) is inconsistent; raised at start-up, never per request.
    ``param`` is the dotted config path at fault (``models.<id>...``)."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    #: Durations allowed at this size, when narrower than the model's (Veo allows 1080p only at 8 s).
    durations: tuple[int, ...] | None = None
    #: Metadata values this size implies, e.g. {"aspect_ratio": "16:9", "mode": "std"}.
    selectors: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class ModelSpec:
    """One model's rules, resolved from catalog data. ``entry`` keeps the data it came from."""

    entry: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.entry["id"])

    @property
    def vendor(self) -> str:
        return str(self.entry["vendor"])

    @property
    def description(self) -> str:
        return str(self.entry.get("description", ""))

    @property
    def text_to_video(self) -> bool:
        return bool(self.entry["text_to_video"])

    @property
    def image_to_video(self) -> bool:
        return bool(self.entry["image_to_video"])

    @property
    def durations(self) -> tuple[int, ...]:
        return tuple(self.entry["durations"])

    @property
    def fps(self) -> tuple[int, ...]:
        return tuple(self.entry["fps"])

    @property
    def prompt_max_length(self) -> int:
        return int(self.entry["prompt_max_length"])

    @property
    def max_n(self) -> int:
        return int(self.entry["max_n"])

    @property
    def metadata_fields(self) -> Mapping[str, Any]:
        fields: Mapping[str, Any] = self.entry["metadata"]
        return fields

    @property
    def defaults(self) -> Mapping[str, int]:
        defaults: Mapping[str, int] = self.entry["defaults"]
        return defaults

    @property
    def queue_seconds(self) -> float:
        return float(self.entry["timing"]["queue_seconds"])

    @property
    def render_seconds(self) -> float:
        return float(self.entry["timing"]["render_seconds"])

    @property
    def credits_per_second(self) -> float:
        return float(self.entry["credits_per_second"])

    def has_audio(self, params: Mapping[str, Any]) -> bool:
        """Whether the video of a request (resolved or not) has a soundtrack, as the catalog's ``audio`` says:
        real models differ (Veo 3.1 and Sora 2 produce sound, Kling only on request, older models never), and
        code that extracts or mixes audio breaks on a file without it."""
        audio = self.entry.get("audio", False)
        if isinstance(audio, bool):
            return audio
        metadata = params.get("metadata") or {}
        return bool(metadata.get(audio["field"], audio["default"]) == audio["on"])

    def names_in(self, dialect: str) -> tuple[str, ...]:
        """What ``dialect`` calls this model besides its id (the catalog's ``names``)."""
        return tuple(self.entry.get("names", {}).get(dialect, ()))

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(self.entry.get("notes", ()))

    @cached_property
    def sizes(self) -> tuple[Size, ...]:
        sizes = []
        for raw in self.entry["sizes"]:
            selectors = {k: v for k, v in raw.items() if k not in ("width", "height", "durations")}
            durations = tuple(raw["durations"]) if "durations" in raw else None
            sizes.append(Size(raw["width"], raw["height"], durations, selectors))
        return tuple(sizes)

    def durations_at(self, size: Size) -> tuple[int, ...]:
        return size.durations if size.durations is not None else self.durations

    def describe_size(self, size: Size) -> str:
        """A size as users read it in error messages: '1920x1080 (16:9, 1080p; 8 s only)'."""
        tags = [v for k, v in size.selectors.items() if k in self.metadata_fields]
        text = size.label + (f" ({', '.join(tags)})" if tags else "")
        if size.durations is not None:
            text += f" at {'/'.join(map(str, size.durations))} s"
        return text

    @cached_property
    def request_schema(self) -> dict[str, Any]:
        """This model's request body as standard JSON Schema 2020-12.

        Standard keywords only (plus ``x-videomock-*`` annotations for messages), so third-party tools
        such as Schemathesis generate exactly the bodies our server accepts.
        """
        schema = copy.deepcopy(load_schema("generation_request"))
        schema.pop("$id", None)
        schema["title"] = f"GenerationRequest[{self.id}]"
        schema["description"] = f"Request body for {self.id} ({self.vendor}). {self.description}".strip()
        props = schema["properties"]
        props["model"] = {**props["model"], "const": self.id}
        props["prompt"] = {**props["prompt"], "maxLength": self.prompt_max_length}
        props["duration"] = {**props["duration"], "enum": list(self.durations)}
        props["fps"] = {**props["fps"], "enum": list(self.fps)}
        props["width"] = {**props["width"], "enum": sorted({s.width for s in self.sizes})}
        props["height"] = {**props["height"], "enum": sorted({s.height for s in self.sizes})}
        props["n"] = {**props["n"], "maximum": self.max_n}
        props["metadata"] = {
            **props["metadata"],
            "properties": {name: self._field_schema(name, field) for name, field in self.metadata_fields.items()},
            "additionalProperties": False,
        }
        if not self.image_to_video:
            props["image"] = {"not": {}, "x-videomock-rule": "image_to_video_unsupported"}
        if not self.text_to_video:
            schema["anyOf"] = [{"required": ["image"]}]
        schema["allOf"] = [{"anyOf": [self._size_branch(s) for s in self.sizes], "x-videomock-rule": "size"}]
        return schema

    def _field_schema(self, name: str, field: Any) -> Any:
        """A metadata field's schema as the request schema embeds it.

        A field refused with `false` is written {"not": {}}: the same rule, but jsonschema reports a `false`
        subschema without its path, so the violation would name `metadata` instead of the field. A field that
        refers within itself ("#/$defs/...") becomes a resource of its own (an `$id`, which config may not
        set), so that "#" is the field's schema, as its author wrote it, not the request schema around it.
        """
        if field is False:
            return {"not": {}}
        field = copy.deepcopy(field)
        if isinstance(field, dict) and refers_within(field):
            field["$id"] = f"urn:videomock:model:{quote(self.id, safe='')}:metadata:{quote(name, safe='')}"
        return field

    def _size_branch(self, size: Size) -> dict[str, Any]:
        branch: dict[str, Any] = {
            "properties": {"width": {"const": size.width}, "height": {"const": size.height}},
        }
        if size.durations is not None:
            branch["properties"]["duration"] = {"enum": list(size.durations)}
        selectors = {k: v for k, v in size.selectors.items() if k in self.metadata_fields}
        if selectors:
            branch["properties"]["metadata"] = {"properties": {k: {"const": v} for k, v in selectors.items()}}
        return branch

    @cached_property
    def validator(self) -> CompiledSchema:
        # Built from the shipped request schema and metadata field schemas that _checked already vetted.
        return CompiledSchema(self.request_schema, check=False)

    def dialect_validator(self, dialect: str, schema: Callable[[ModelSpec], dict[str, Any]]) -> CompiledSchema:
        """The validator of this model's request in another dialect (``schema`` derives it), built once."""
        built = self._dialect_validators.get(dialect)
        if built is None:
            built = self._dialect_validators[dialect] = CompiledSchema(schema(self), check=False)
        return built

    @cached_property
    def _dialect_validators(self) -> dict[str, CompiledSchema]:
        return {}

    def resolve(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Fill omitted fields with this model's defaults. ``body`` must already be valid.

        When no size is given, metadata selectors (aspect_ratio, mode, resolution) choose among the sizes,
        preferring the model's default size, so `{"metadata": {"aspect_ratio": "9:16"}}` gets a portrait video.
        """
        size = self._pick_size(body)
        duration = body.get("duration")
        if duration is None:
            allowed = self.durations_at(size)
            duration = self.defaults["duration"] if self.defaults["duration"] in allowed else allowed[0]
        resolved = dict(body)
        resolved.update(
            duration=int(duration),
            width=size.width,
            height=size.height,
            fps=int(body.get("fps", self.defaults["fps"])),
            n=int(body.get("n", 1)),
            response_format=body.get("response_format", "url"),
        )
        if "seed" in body:
            resolved["seed"] = int(body["seed"])
        return resolved

    def _pick_size(self, body: Mapping[str, Any]) -> Size:
        if "width" in body and "height" in body:
            for size in self.sizes:
                if (size.width, size.height) == (body["width"], body["height"]):
                    return size
        metadata = body.get("metadata") or {}
        duration = body.get("duration")

        def fits(size: Size) -> bool:
            if duration is not None and duration not in self.durations_at(size):
                return False
            return all(metadata.get(k, v) == v for k, v in size.selectors.items() if k in self.metadata_fields)

        candidates = [s for s in self.sizes if fits(s)] or list(self.sizes)
        default = (self.defaults["width"], self.defaults["height"])
        return next((s for s in candidates if (s.width, s.height) == default), candidates[0])

    def example_request(self, prompt: str = "A lighthouse on a cliff at dusk, slow aerial orbit") -> dict[str, Any]:
        """A valid text-to-video body with the model's defaults spelled out (used by verify and docs)."""
        d = self.defaults
        return {"model": self.id, "prompt": prompt, "duration": d["duration"], "width": d["width"],
                "height": d["height"], "fps": d["fps"]}


class Catalog(Mapping[str, ModelSpec]):
    """An immutable set of models. Build one with :meth:`load`; overrides come from config."""

    def __init__(self, specs: Mapping[str, ModelSpec]):
        self._specs = dict(specs)

    def __getitem__(self, model_id: str) -> ModelSpec:
        return self._specs[model_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"Catalog({list(self._specs)!r})"

    def named(self, name: str, dialect: str, *, by_id: bool = True) -> ModelSpec | None:
        """The model a client of ``dialect`` means by ``name``: one the catalog names so for that dialect, or,
        when the dialect takes them (``by_id``), the model with that catalog id."""
        if by_id and name in self._specs:
            return self._specs[name]
        return next((spec for spec in self._specs.values() if name in spec.names_in(dialect)), None)

    def names_for(self, dialect: str, *, by_id: bool = True) -> list[str]:
        """Every model name a client of ``dialect`` may send, for messages and documents."""
        return [name for spec in self._specs.values()
                for name in ([spec.id] if by_id else []) + list(spec.names_in(dialect))]

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]]) -> Catalog:
        """A catalog of complete entries (the model schema's shape), as a server reports them in its model
        list's ``x-videomock`` field. Each is checked as a config entry is: it comes from outside."""
        specs: dict[str, ModelSpec] = {}
        for raw in entries:
            if not isinstance(raw, Mapping):
                raise CatalogError(f"a model entry must be an object, not {type(raw).__name__}", "models")
            entry = copy.deepcopy(dict(raw))
            model_id = str(entry.get("id", ""))
            specs[model_id] = ModelSpec(_checked(entry, from_config=True))
        if not specs:
            raise CatalogError("no model entries", "models")
        return cls(specs)

    @classmethod
    def load(cls, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Catalog:
        """The built-in catalog with ``overrides`` applied.

        An override for an existing id is deep-merged into it (tables merge, lists replace); a new id is a
        new model, usually with ``extends = "<id>"`` to start from another one; ``disabled = true`` removes
        a model. Every resulting entry is checked against the model schema and for internal consistency.
        """
        raw = builtin_entries()
        for model_id, override in (overrides or {}).items():
            if not isinstance(override, Mapping):
                raise CatalogError(f"models.{model_id}: expected a table of model fields", f"models.{model_id}")
            raw[model_id] = _deep_merge(raw.get(model_id, {}), override)
        specs: dict[str, ModelSpec] = {}
        for model_id in raw:
            entry = _resolve_extends(model_id, raw, ())
            disabled = entry.pop("disabled", False)
            if not isinstance(disabled, bool):
                raise CatalogError(f"models.{model_id}: disabled must be true or false, not {disabled!r}",
                                   f"models.{model_id}.disabled")
            if disabled:
                continue
            entry["id"] = model_id
            specs[model_id] = ModelSpec(_checked(entry, from_config=model_id in (overrides or {})))
        if not specs:
            raise CatalogError("the catalog has no models left; at least one model must be enabled", "models")
        return cls(specs)


def builtin_entries() -> dict[str, dict[str, Any]]:
    text = resources.files(__package__).joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    entries: dict[str, dict[str, Any]] = json.loads(text)
    return entries


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any], *, depth: int = 0) -> dict[str, Any]:
    """Tables merge and lists replace. Under ``metadata`` only one level merges: an override replaces a
    field's whole schema (merging two schemas key by key would produce schemas nobody wrote)."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping) and depth == 0:
            merged[key] = _deep_merge(current, value, depth=1 if key == "metadata" else 0)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _resolve_extends(model_id: str, raw: Mapping[str, Mapping[str, Any]], seen: tuple[str, ...]) -> dict[str, Any]:
    entry = dict(raw[model_id])
    parent_id = entry.pop("extends", None)
    if parent_id is None:
        return copy.deepcopy(entry)
    if not isinstance(parent_id, str):
        raise CatalogError(f"models.{model_id}: extends must be the id of another model (a string), not {parent_id!r}",
                           f"models.{model_id}.extends")
    if parent_id in seen or parent_id == model_id:
        raise CatalogError(f"models.{model_id}: 'extends' forms a cycle through {parent_id!r}", f"models.{model_id}.extends")
    if parent_id not in raw:
        raise CatalogError(f"models.{model_id}: extends unknown model {parent_id!r}; known: {', '.join(raw)}",
                           f"models.{model_id}.extends")
    parent = _resolve_extends(parent_id, raw, (*seen, model_id))
    parent.pop("disabled", None)
    parent.pop("notes", None)
    return _deep_merge(parent, entry)


@functools.lru_cache(maxsize=1024)
def _check_field_schema(text: str) -> None:
    """Vet one metadata field schema (cached: the same catalog is loaded on every config change)."""
    check_untrusted_schema(json.loads(text))


def _checked(entry: dict[str, Any], *, from_config: bool) -> dict[str, Any]:
    """Schema-check one resolved entry and the cross-field rules a schema can't express."""
    model_id = entry.get("id")
    validator = compiled("model")
    if not validator.is_valid(entry):
        errors = sorted(validator.iter_errors(entry), key=lambda e: list(e.path))
        detail = "; ".join(f"{'.'.join(map(str, e.path)) or '(entry)'}: {e.message}" for e in errors)
        raise CatalogError(f"models.{model_id}: {detail}", ".".join(["models", str(model_id), *map(str, errors[0].path)]))
    if from_config:  # shipped field schemas are checked by the test suite; config's are checked here
        from jsonschema import SchemaError

        for name, field_schema in entry["metadata"].items():
            where = f"models.{model_id}.metadata.{name}"
            try:
                _check_field_schema(json.dumps(field_schema, sort_keys=True))
            except SchemaError as exc:
                raise CatalogError(f"{where} is not a valid JSON Schema: {exc.message}", where) from None
            except UnusableSchema as exc:
                raise CatalogError(f"{where}: {exc}", where) from None
    spec = ModelSpec(entry)
    d = spec.defaults
    problems = []
    if d["duration"] not in spec.durations:
        problems.append(f"default duration {d['duration']} is not among durations {list(spec.durations)}")
    if d["fps"] not in spec.fps:
        problems.append(f"default fps {d['fps']} is not among fps {list(spec.fps)}")
    if not any((s.width, s.height) == (d["width"], d["height"]) for s in spec.sizes):
        problems.append(f"default size {d['width']}x{d['height']} is not among sizes")
    for size in spec.sizes:
        if size.durations is not None and not set(size.durations) <= set(spec.durations):
            problems.append(f"size {size.label} allows durations outside the model's {list(spec.durations)}")
        for key in size.selectors:
            field_schema = spec.metadata_fields.get(key)
            allowed = field_schema.get("enum") if isinstance(field_schema, Mapping) else None
            if allowed is not None and size.selectors[key] not in allowed:
                problems.append(f"size {size.label} selects {key}={size.selectors[key]!r}, not allowed by metadata.{key}")
    audio = entry.get("audio")
    if isinstance(audio, Mapping) and audio["field"] not in spec.metadata_fields:
        problems.append(f"audio.field {audio['field']!r} is not among the metadata fields")
    if not (spec.text_to_video or spec.image_to_video):
        problems.append("a model must support text_to_video or image_to_video")
    if problems:
        raise CatalogError(f"models.{model_id}: " + "; ".join(problems), f"models.{model_id}")
    return entry
