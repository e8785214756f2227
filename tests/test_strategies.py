"""The public strategies (videomock.contracts.strategies) against the contracts alone, no server: valid bodies are
valid, each invalid body breaks the rule and field its label names, images are what they claim to be, and
a model added through config gets all of this with no code change."""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.profiles import examples
from videomock.contracts import Catalog, validate_request
from videomock.contracts.dialects import google, kling, openai
from videomock.contracts.images import MIN_SIDE, ImageError, parse_image
from videomock.contracts.strategies import (
    RULES,
    Breakage,
    bad_image_references,
    carried_by_forms,
    image_data_uris,
    image_references,
    invalid_requests,
    multipart_forms,
    valid_requests,
)
from videomock.contracts.strategies.jsonschema import UnsupportedSchema, from_schema
from videomock.contracts.validation import validate_dialect_request

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


# --- the OpenAI Videos API's create request ---------------------------------------------------------------------

@examples(3)
@given(body=valid_requests(catalog=CONFIGURED, dialect="openai"))
def test_valid_openai_bodies_satisfy_the_dialects_contract(body: dict[str, Any]) -> None:
    assert validate_dialect_request(openai.DIALECT, body, CONFIGURED)[1] == []


@examples(3)
@given(case=invalid_requests(catalog=CONFIGURED, dialect="openai") | invalid_requests(catalog=CONFIGURED, dialect="openai",
                                                                                      form=True))
def test_invalid_openai_bodies_are_refused_first_for_the_labelled_field(case: tuple[dict[str, Any], Breakage]) -> None:
    body, breakage = case
    violations = validate_dialect_request(openai.DIALECT, body, CONFIGURED)[1]
    assert violations, f"{breakage} but the body is valid: {body}"
    assert violations[0].pointer == breakage.pointer, [v.as_dict() for v in violations]


@examples(1)
@given(case=invalid_requests(catalog=CONFIGURED, dialect="openai", form=True))
def test_invalid_openai_bodies_for_forms_are_what_a_form_carries(case: tuple[dict[str, Any], Breakage]) -> None:
    assert carried_by_forms(case[0]), case


def test_every_rule_of_the_openai_create_request_is_broken_for_some_model() -> None:
    """It has no numbers and no patterns: seconds and size are strings of allowed values."""
    for rule in set(RULES) - {"out_of_range", "pattern_mismatch"}:
        invalid_requests(catalog=CONFIGURED, rules=[rule], dialect="openai")
        invalid_requests(catalog=CONFIGURED, rules=[rule], dialect="openai", form=True)
    for rule in ("out_of_range", "pattern_mismatch"):
        with pytest.raises(ValueError, match=f"can break {rule}"):
            invalid_requests(catalog=CONFIGURED, rules=[rule], dialect="openai")


def test_openai_strategies_refuse_what_the_dialect_does_not_take() -> None:
    with pytest.raises(ValueError, match="dialect must be one of documented, openai, vertex, gemini, kling:text2video, "
                                         "kling:image2video"):
        valid_requests(dialect="kling")
    with pytest.raises(ValueError, match="takes JSON bodies only"):
        invalid_requests(form=True)


@pytest.mark.parametrize("model", ["veo_3_1", "sora-2"])
def test_valid_openai_bodies_reach_every_size_and_seconds_and_both_kinds_of_image(model: str) -> None:
    spec = CONFIGURED[model]
    default = f"{spec.defaults['width']}x{spec.defaults['height']}"
    seen = _generated(valid_requests(model, catalog=CONFIGURED, dialect="openai"), 250, {
        "size and seconds": lambda body: [(body.get("size", default), body.get("seconds"))],
        "image": lambda body: [type(body["input_reference"]).__name__] if "input_reference" in body else [],
        "named": lambda body: ["model" in body],
    })
    _assert_covered(model, seen, {
        "size and seconds": {(s.label, str(d)) for s in spec.sizes for d in spec.durations_at(s)},
        "image": {"str", "dict"},
        "named": {True} if model != openai.DEFAULT_MODEL else {True, False},
    })


def test_the_openai_sdks_form_of_a_body_sends_objects_as_bracketed_fields_and_images_as_files_or_text() -> None:
    url = {"prompt": "x", "seconds": "8", "input_reference": {"image_url": "https://example.com/cat.png"}}
    assert _generated(multipart_forms(url), 5, {"parts": lambda parts: [tuple(parts)]})["parts"] == {(
        ("prompt", (None, "x", None)), ("seconds", (None, "8", None)),
        ("input_reference[image_url]", (None, "https://example.com/cat.png", None)))}
    png = base64.b64encode(_png_bytes(320, 320)).decode()
    sent = _generated(multipart_forms({"prompt": "x", "input_reference": f"data:image/png;base64,{png}"}), 60, {
        "image": lambda parts: [parts[1][1][0] is not None]})   # a file name: an upload
    assert sent["image"] == {True, False}
    never_a_file = {"prompt": "x", "input_reference": f"data:image/jpg;base64,{png}"}   # the fake reads files as image/png
    assert _generated(multipart_forms(never_a_file), 20, {"image": lambda parts: [parts[1][1][0]]})["image"] == {None}


def _png_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 60)).save(out, "PNG")
    return out.getvalue()


# --- Google Veo's and Kling's create requests -------------------------------------------------------------------

#: The built-in models plus a text-only Veo and an image-only Kling model from config, each named for its dialects.
DIALECT_CATALOG = Catalog.load({
    "veo-text-only": {"extends": "veo_3_1", "image_to_video": False,
                      "names": {"vertex": ["veo-text-only"], "gemini": ["veo-text-only"]}},
    "kling-image-only": {"extends": "kling-v2-5-turbo", "text_to_video": False, "names": {"kling": ["kling-image-only"]}},
})
#: Each dialect's strategies' name, and its contract.
PATH_DIALECTS = {google.VERTEX: google.VERTEX_DIALECT, google.GEMINI: google.GEMINI_DIALECT}
BODY_DIALECTS = {dialect.key: dialect for dialect in kling.DIALECTS.values()}


def _path_model(dialect: str) -> st.SearchStrategy[str]:
    return st.sampled_from([spec.id for spec in DIALECT_CATALOG.values() if spec.names_in(dialect)])


@examples(1)
@given(data=st.data(), dialect=st.sampled_from(sorted(PATH_DIALECTS)))
def test_valid_veo_bodies_satisfy_the_dialects_contract_for_the_model_of_the_path(data: st.DataObject, dialect: str) -> None:
    model = data.draw(_path_model(dialect))
    body = data.draw(valid_requests(model, catalog=DIALECT_CATALOG, dialect=dialect))
    name = DIALECT_CATALOG[model].names_in(dialect)[0]
    assert validate_dialect_request(PATH_DIALECTS[dialect], body, DIALECT_CATALOG, model=name)[1] == []


@examples(1)
@given(data=st.data(), dialect=st.sampled_from(sorted(PATH_DIALECTS)))
def test_invalid_veo_bodies_are_refused_first_for_the_labelled_field(data: st.DataObject, dialect: str) -> None:
    model = data.draw(_path_model(dialect))
    body, breakage = data.draw(invalid_requests(model, catalog=DIALECT_CATALOG, dialect=dialect))
    name = DIALECT_CATALOG[model].names_in(dialect)[0]
    violations = validate_dialect_request(PATH_DIALECTS[dialect], body, DIALECT_CATALOG, model=name)[1]
    assert violations, f"{breakage} but the body is valid: {body}"
    assert violations[0].pointer == breakage.pointer, [v.as_dict() for v in violations]


@examples(1)
@given(data=st.data(), dialect=st.sampled_from(sorted(BODY_DIALECTS)))
def test_valid_kling_bodies_satisfy_the_dialects_contract(data: st.DataObject, dialect: str) -> None:
    body = data.draw(valid_requests(catalog=DIALECT_CATALOG, dialect=dialect))
    assert validate_dialect_request(BODY_DIALECTS[dialect], body, DIALECT_CATALOG)[1] == []


@examples(1)
@given(data=st.data(), dialect=st.sampled_from(sorted(BODY_DIALECTS)))
def test_invalid_kling_bodies_are_refused_first_for_the_labelled_field(data: st.DataObject, dialect: str) -> None:
    body, breakage = data.draw(invalid_requests(catalog=DIALECT_CATALOG, dialect=dialect))
    violations = validate_dialect_request(BODY_DIALECTS[dialect], body, DIALECT_CATALOG)[1]
    assert violations, f"{breakage} but the body is valid: {body}"
    assert violations[0].pointer == breakage.pointer, [v.as_dict() for v in violations]


def test_every_rule_a_veo_or_kling_body_can_break_is_drawn_and_a_path_model_is_never_in_the_body() -> None:
    """Veo's model is the path's: a body cannot name an unknown one. Kling's has no size table in the body, and an
    image2video body's image is its only kind of request (there is no text2video body to forbid it in)."""
    for dialect in PATH_DIALECTS:
        for rule in set(RULES) - {"unknown_model"}:
            invalid_requests(catalog=DIALECT_CATALOG, rules=[rule], dialect=dialect)
        with pytest.raises(ValueError, match="can break unknown_model"):
            invalid_requests(catalog=DIALECT_CATALOG, rules=["unknown_model"], dialect=dialect)
    for dialect in BODY_DIALECTS:
        unbreakable = {"size_mismatch", "forbidden_field"} | ({"bad_image"} if dialect.endswith("text2video") else set())
        for rule in set(RULES) - unbreakable:
            invalid_requests(catalog=DIALECT_CATALOG, rules=[rule], dialect=dialect)


def test_dialect_strategies_draw_only_the_models_and_modes_the_dialect_serves() -> None:
    with pytest.raises(ValueError, match="the vertex dialect does not serve sora-2"):
        valid_requests("sora-2", dialect="vertex")
    with pytest.raises(ValueError, match="does not support image_to_video"):
        valid_requests("kling-v2-5-turbo", dialect="kling:text2video", mode="image_to_video")
    with pytest.raises(ValueError, match="kling-image-only does not support"):
        valid_requests("kling-image-only", catalog=DIALECT_CATALOG, dialect="kling:text2video")
