"""The public strategies (videomock.contracts.strategies) against the contracts alone, no server: valid bodies are
valid, each invalid body breaks the rule and field its label names, images are what they claim to be, and
a model added through config gets all of this with no code change."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from hypothesis import Phase, given, settings

from tests.profiles import examples
from videomock.contracts import Catalog, validate_request
from videomock.contracts.images import MIN_SIDE, ImageError, parse_image
from videomock.contracts.strategies import (
    RULES,
    Breakage,
    bad_image_references,
    image_data_uris,
    image_references,
    invalid_requests,
    valid_requests,
)
from videomock.contracts.strategies.jsonschema import UnsupportedSchema, from_schema

#: The built-in models plus models from config: image-only, text-only with metadata fields of other kinds.
CONFIGURED = Catalog.load({
    "my-image-only": {"extends": "kling-v2-5-turbo", "text_to_video": False},
    "my-text-only": {"extends": "veo_3_1", "image_to_video": False, "metadata": {
        "enhance_prompt": False,  # a field the model refuses outright
        "style": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 12},
        "strength": {"type": "number", "exclusiveMinimum": 0, "maximum": 2.5},
        "tags": {"type": "array", "items": {"enum": ["calm", "bright"]}, "maxItems": 2},
        "steps": {"type": "integer", "multipleOf": 10, "minimum": 10, "maximum": 50},
    }},
})


@examples(3)
@given(body=valid_requests(catalog=CONFIGURED))
def test_valid_bodies_satisfy_the_contract(body: dict[str, Any]) -> None:
    assert validate_request(body, CONFIGURED) == []


@examples(3)
@given(case=invalid_requests(catalog=CONFIGURED))
def test_invalid_bodies_are_refused_first_for_the_labelled_field(case: tuple[dict[str, Any], Breakage]) -> None:
    body, breakage = case
    violations = validate_request(body, CONFIGURED)
    assert violations, f"{breakage} but the body is valid: {body}"
    assert violations[0].pointer == breakage.pointer, [v.as_dict() for v in violations]


@pytest.mark.parametrize("model", ["kling-v2-5-turbo", "veo_3_1", "my-text-only"])
def test_valid_bodies_reach_every_size_duration_fps_and_metadata_field(model: str) -> None:
    """Derandomized, so the verdict is the same on every run: it fails when something the catalog allows can
    no longer be generated. Text-to-video only, which encodes no images, to keep it fast: sizes are drawn
    the same way in both modes."""
    spec = CONFIGURED[model]
    seen = _generated(valid_requests(model, catalog=CONFIGURED, mode="text_to_video"), 800, {
        "size and duration": lambda body: [(body.get("width"), body.get("height"), body.get("duration"))],
        "fps": lambda body: [body.get("fps")],
        "metadata field": lambda body: body.get("metadata", {}),
    })
    _assert_covered(model, seen, {
        "size and duration": {(s.width, s.height, d) for s in spec.sizes for d in spec.durations_at(s)},
        "fps": set(spec.fps),
        "metadata field": {name for name, field in spec.metadata_fields.items() if field is not False},
    })


@pytest.mark.parametrize("model", list(CONFIGURED))
def test_valid_bodies_come_in_every_mode_the_model_supports(model: str) -> None:
    seen = _generated(valid_requests(model, catalog=CONFIGURED), 30, {
        "mode": lambda body: ["image_to_video" if "image" in body else "text_to_video"]})
    _assert_covered(model, seen, {"mode": {m for m in ("text_to_video", "image_to_video") if getattr(CONFIGURED[model], m)}})


def _assert_covered(model: str, seen: dict[str, set[Any]], wanted: dict[str, set[Any]]) -> None:
    for aspect, values in wanted.items():
        assert values <= seen[aspect], f"{model}: never generated {aspect} {sorted(values - seen[aspect], key=str)}"


def _generated(bodies: Any, count: int, aspects: dict[str, Any]) -> dict[str, set[Any]]:
    seen: dict[str, set[Any]] = defaultdict(set)

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate])
    @given(body=bodies)
    def record(body: dict[str, Any]) -> None:
        for aspect, values_of in aspects.items():
            seen[aspect].update(values_of(body))

    record()
    return seen


def test_every_rule_is_broken_for_some_model() -> None:
    for rule in RULES:
        invalid_requests(catalog=CONFIGURED, rules=[rule])  # raises ValueError when no model can break it


def test_strategies_refuse_what_the_catalog_does_not_support() -> None:
    with pytest.raises(ValueError, match="does not support text_to_video"):
        valid_requests("my-image-only", catalog=CONFIGURED, mode="text_to_video")
    with pytest.raises(ValueError, match="not in the catalog"):
        valid_requests("nope")
    with pytest.raises(ValueError, match="unknown rule"):
        invalid_requests(rules=["typo"])
    with pytest.raises(ValueError, match="can break pattern_mismatch"):
        invalid_requests("veo_3_1", rules=["pattern_mismatch"])


def test_a_metadata_schema_the_strategies_cannot_honour_fails_loudly() -> None:
    catalog = Catalog.load({"odd": {"extends": "veo_3_1", "metadata": {
        "weights": {"type": "object", "patternProperties": {"^w": {"type": "number"}}}}}})
    with pytest.raises(UnsupportedSchema, match="patternProperties"):
        valid_requests("odd", catalog=catalog)


def test_strings_for_a_pattern_are_what_the_contracts_match() -> None:
    # Hypothesis reads "$" as Python's re does, which also matches before a final newline; the contracts'
    # engine does not, so without the filter "abc\n" would be a "valid" body that the fake refuses.
    drawn = _generated(from_schema({"type": "string", "pattern": "^[a-z]+$"}), 60, {"text": lambda text: [text]})
    assert drawn["text"] and all(text.isalpha() for text in drawn["text"])


def test_a_schema_nothing_satisfies_generates_nothing() -> None:
    assert from_schema(False).is_empty
    assert from_schema({"type": "integer", "minimum": 3, "maximum": 2}).is_empty
    assert from_schema({"enum": [1, 2], "const": 3}).is_empty


@examples(0.5)
@given(uri=image_data_uris())
def test_image_data_uris_are_small_accepted_images(uri: str) -> None:
    image = parse_image(uri)
    assert uri.startswith("data:image/")
    assert min(image.width, image.height) >= MIN_SIDE and max(image.width, image.height) <= 400


@examples(0.5)
@given(value=image_references())
def test_image_references_are_accepted(value: str) -> None:
    parse_image(value)


@examples(1)
@given(value=bad_image_references())
def test_bad_image_references_are_refused(value: str) -> None:
    with pytest.raises(ImageError):
        parse_image(value)
