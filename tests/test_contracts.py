"""The contracts package: catalog rules reject what they should, messages say what is allowed, and the
OpenAPI document is valid. Cases are generated from the catalog, so every rule of every model is covered."""

from __future__ import annotations

import base64
import copy
import io
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from PIL import Image

from videomock.contracts import (
    MESSAGE_SCHEMAS,
    Catalog,
    CatalogError,
    load_schema,
    openapi_document,
    validate_request,
    validate_response,
)
from videomock.contracts.catalog import ModelSpec
from videomock.contracts.dialects import openai
from videomock.contracts.schemas import check_schema
from videomock.contracts.validation import validate_dialect_request

CATALOG = Catalog.load()
MODELS = list(CATALOG)

#: The provider doc's example request body.
DOC_EXAMPLE = {
    "model": "kling-v2-5-turbo",
    "prompt": "An astronaut walking on the Moon, Earth rising in the background, cinematic shot",
    "image": "https://example.com/image.jpg",
    "duration": 5,
    "width": 1280,
    "height": 720,
    "fps": 30,
    "seed": 20231234,
    "n": 1,
    "response_format": "url",
    "user": "user-1234",
    "metadata": {"negative_prompt": "blurry"},
}


def doc_example_for(spec: ModelSpec) -> dict[str, Any]:
    """The doc example adjusted to a model: values it does not allow become its defaults."""
    body = copy.deepcopy(DOC_EXAMPLE) | {"model": spec.id}
    if body["duration"] not in spec.durations:
        body["duration"] = spec.defaults["duration"]
    if body["fps"] not in spec.fps:
        body["fps"] = spec.defaults["fps"]
    if not any((s.width, s.height) == (body["width"], body["height"]) for s in spec.sizes):
        body["width"], body["height"] = spec.defaults["width"], spec.defaults["height"]
    body["metadata"] = {k: v for k, v in body.get("metadata", {}).items() if k in spec.metadata_fields}
    return body


def only(violations: list, pointer: str) -> str:
    assert [v.pointer for v in violations] == [pointer], [v.as_dict() for v in violations]
    return violations[0].message


@pytest.mark.parametrize("model", MODELS)
def test_doc_example_adjusted_to_each_model_is_valid(model: str) -> None:
    assert validate_request(doc_example_for(CATALOG[model]), CATALOG) == []


def test_doc_example_fails_on_veo_naming_each_field() -> None:
    violations = validate_request(DOC_EXAMPLE | {"model": "veo_3_1"}, CATALOG)
    by_param = {v.param: v.message for v in violations}
    assert by_param["duration"] == "duration 5 is not supported by veo_3_1; allowed: 4, 6, 8"
    assert by_param["fps"] == "fps 30 is not supported by veo_3_1; allowed: 24"


@pytest.mark.parametrize("model", MODELS)
class TestEveryCatalogRuleRejects:
    def base(self, model: str) -> dict[str, Any]:
        return {"model": model, "prompt": "a cat"}

    def test_duration(self, model: str) -> None:
        spec = CATALOG[model]
        bad = max(spec.durations) + 1
        message = only(validate_request(self.base(model) | {"duration": bad}, CATALOG), "/duration")
        assert f"allowed: {', '.join(map(str, spec.durations))}" in message

    def test_fps(self, model: str) -> None:
        spec = CATALOG[model]
        message = only(validate_request(self.base(model) | {"fps": 7}, CATALOG), "/fps")
        assert "allowed: " + ", ".join(map(str, spec.fps)) in message

    def test_size_pair(self, model: str) -> None:
        spec = CATALOG[model]
        widths = sorted({s.width for s in spec.sizes})
        heights = sorted({s.height for s in spec.sizes})
        pair = next((w, h) for w in widths for h in heights if not any((s.width, s.height) == (w, h) for s in spec.sizes)) \
            if len(spec.sizes) < len(widths) * len(heights) else (widths[0] + 2, heights[0])
        violations = validate_request(self.base(model) | {"width": pair[0], "height": pair[1]}, CATALOG)
        assert violations and violations[0].param in ("width", "height")
        assert spec.sizes[0].label in " ".join(v.message for v in violations)

    def test_width_without_height(self, model: str) -> None:
        only(validate_request(self.base(model) | {"width": CATALOG[model].sizes[0].width}, CATALOG), "/height")

    def test_prompt_length(self, model: str) -> None:
        spec = CATALOG[model]
        message = only(validate_request(self.base(model) | {"prompt": "x" * (spec.prompt_max_length + 1)}, CATALOG), "/prompt")
        assert f"at most {spec.prompt_max_length}" in message

    def test_n(self, model: str) -> None:
        only(validate_request(self.base(model) | {"n": CATALOG[model].max_n + 1}, CATALOG), "/n")

    def test_unknown_metadata_field(self, model: str) -> None:
        message = only(validate_request(self.base(model) | {"metadata": {"quality_level": "max"}}, CATALOG), "/metadata/quality_level")
        for name in CATALOG[model].metadata_fields:
            assert name in message

    def test_each_metadata_field_checks_its_type(self, model: str) -> None:
        for name, schema in CATALOG[model].metadata_fields.items():
            wrong = ["not", "a", "valid", "value"]  # no metadata field of any seed model accepts a list
            violations = validate_request(self.base(model) | {"metadata": {name: wrong}}, CATALOG)
            assert [v.pointer for v in violations] == [f"/metadata/{name}"], (name, schema)

    def test_unknown_top_level_field(self, model: str) -> None:
        only(validate_request(self.base(model) | {"quality": "hd"}, CATALOG), "/quality")

    def test_seed_range(self, model: str) -> None:
        only(validate_request(self.base(model) | {"seed": 2**32}, CATALOG), "/seed")

    def test_response_format(self, model: str) -> None:
        only(validate_request(self.base(model) | {"response_format": "b64_json"}, CATALOG), "/response_format")

    def test_prompt_or_image_required(self, model: str) -> None:
        only(validate_request({"model": model}, CATALOG), "/prompt")


def test_size_restricted_durations() -> None:
    message = only(validate_request({"model": "veo_3_1", "prompt": "x", "width": 1920, "height": 1080, "duration": 4}, CATALOG), "/duration")
    assert message.startswith("duration 4 is not supported by veo_3_1 at 1920x1080; allowed: 8")


def test_metadata_selector_must_match_size() -> None:
    body = {"model": "veo_3_1", "prompt": "x", "width": 1280, "height": 720, "metadata": {"aspect_ratio": "9:16"}}
    only(validate_request(body, CATALOG), "/metadata/aspect_ratio")


def test_metadata_selector_picks_the_default_size() -> None:
    spec = CATALOG["veo_3_1"]
    assert validate_request({"model": "veo_3_1", "prompt": "x", "metadata": {"aspect_ratio": "9:16"}}, CATALOG) == []
    resolved = spec.resolve({"model": "veo_3_1", "prompt": "x", "metadata": {"aspect_ratio": "9:16"}})
    assert (resolved["width"], resolved["height"]) == (720, 1280)
    resolved = spec.resolve({"model": "veo_3_1", "prompt": "x", "metadata": {"resolution": "1080p"}})
    assert (resolved["width"], resolved["height"], resolved["duration"]) == (1920, 1080, 8)


@pytest.mark.parametrize("model", MODELS)
def test_defaults_fill_omitted_fields(model: str) -> None:
    spec = CATALOG[model]
    resolved = spec.resolve({"model": model, "prompt": "x"})
    assert {k: resolved[k] for k in ("duration", "width", "height", "fps")} == dict(spec.defaults)
    assert resolved["n"] == 1 and resolved["response_format"] == "url"


def test_unknown_model_lists_the_catalog() -> None:
    message = only(validate_request({"model": "sora-9", "prompt": "x"}, CATALOG), "/model")
    assert all(model in message for model in MODELS)


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_body_must_be_an_object(body: Any) -> None:
    violations = validate_request(body, CATALOG)
    assert violations[0].pointer == "" and violations[0].param is None


def test_all_violations_are_reported() -> None:
    body = {"model": "veo_3_1", "prompt": "x", "duration": "8", "fps": 30, "seed": -1, "n": 0, "extra": 1}
    pointers = {v.pointer for v in validate_request(body, CATALOG)}
    assert pointers == {"/duration", "/fps", "/seed", "/n", "/extra"}


def test_wrong_type_wins_over_wrong_value() -> None:
    message = only(validate_request({"model": "veo_3_1", "prompt": "x", "duration": "8"}, CATALOG), "/duration")
    assert message == "duration must be of type integer, not string"


# --- models from config -------------------------------------------------------------------------------

def test_config_adds_a_model_that_extends_another() -> None:
    catalog = Catalog.load({"my-veo": {"extends": "veo_3_1", "durations": [4, 8], "sizes": [{"width": 1280, "height": 720}]}})
    assert validate_request({"model": "my-veo", "prompt": "x", "duration": 8}, catalog) == []
    only(validate_request({"model": "my-veo", "prompt": "x", "duration": 6}, catalog), "/duration")
    assert catalog["my-veo"].fps == CATALOG["veo_3_1"].fps


def test_config_overrides_and_disables_models() -> None:
    catalog = Catalog.load({"veo_3_1": {"fps": [24, 30]}, "kling-v2-1-master": {"disabled": True}})
    assert validate_request({"model": "veo_3_1", "prompt": "x", "fps": 30}, catalog) == []
    assert "kling-v2-1-master" not in catalog


def test_image_only_model_requires_an_image_and_text_only_model_rejects_one() -> None:
    catalog = Catalog.load({
        "i2v": {"extends": "kling-v2-5-turbo", "text_to_video": False},
        "t2v": {"extends": "kling-v2-5-turbo", "image_to_video": False},
    })
    only(validate_request({"model": "i2v", "prompt": "x"}, catalog), "/image")
    message = only(validate_request({"model": "t2v", "prompt": "x", "image": "https://example.com/a.png"}, catalog), "/image")
    assert "image-to-video is not supported by t2v" in message


def test_a_metadata_field_refused_in_config_is_named_when_sent() -> None:
    catalog = Catalog.load({"quiet-veo": {"extends": "veo_3_1", "metadata": {"generate_audio": False}}})
    body = {"model": "quiet-veo", "prompt": "x", "metadata": {"generate_audio": True}}
    assert only(validate_request(body, catalog), "/metadata/generate_audio") == "metadata.generate_audio is not allowed here"


def test_an_unusable_image_is_caught_by_the_client_with_the_servers_words() -> None:
    tiny_png = base64.b64encode(_png(200, 200)).decode()
    message = only(validate_request({"model": "veo_3_1", "image": f"data:image/png;base64,{tiny_png}"}), "/image")
    assert message == "image is 200x200; each side must be at least 300 px"
    assert validate_request({"model": "veo_3_1", "image": f"data:image/png;base64,{base64.b64encode(_png(400, 300)).decode()}"}) == []
    assert validate_request({"model": "veo_3_1", "image": "ftp://example.com/a.png"})[0].code == "invalid_image"


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("override, words", [
    ({"broken": {"extends": "nope"}}, "extends unknown model"),
    ({"veo_3_1": {"defaults": {"duration": 5, "width": 1280, "height": 720, "fps": 24}}}, "default duration 5"),
    ({"veo_3_1": {"fps": []}}, "fps"),
    ({"odd": {"extends": "veo_3_1", "sizes": [{"width": 1281, "height": 720}]}}, "sizes"),
    ({"a": {"extends": "b"}, "b": {"extends": "a"}}, "cycle"),
])
def test_bad_catalog_overrides_fail_with_a_clear_message(override: dict, words: str) -> None:
    with pytest.raises(CatalogError, match=words):
        Catalog.load(override)


# --- responses and the OpenAPI document ------------------------------------------------------------------

def test_documented_response_examples_satisfy_the_contracts() -> None:
    assert validate_response("submit", {"task_id": "abcd1234efgh", "status": "queued"}) == []
    completed = {"task_id": "abcd1234efgh", "status": "completed", "progress": 100, "url": "https://x/video.mp4",
                 "format": "mp4", "metadata": {"duration": 5, "fps": 30, "width": 1280, "height": 720, "seed": 20231234},
                 "error": {"code": 0, "message": "string"}}
    assert validate_response("task", completed) == []
    error = {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}
    assert validate_response("error", error) == []


def test_response_contracts_catch_drift() -> None:
    assert validate_response("task", {"task_id": "t", "status": "completed", "progress": 100, "format": "mp4",
                                      "metadata": {"duration": 5, "fps": 30, "width": 1, "height": 1, "seed": 0}})
    assert validate_response("task", {"task_id": "t", "status": "done", "progress": 100, "format": "mp4",
                                      "metadata": {"duration": 5, "fps": 30, "width": 1, "height": 1, "seed": 0}})
    assert validate_response("error", {"error": "nope"})


def test_the_openai_video_contracts_catch_drift_and_check_every_video_of_a_list() -> None:
    video = {"id": "video_1", "object": "video", "model": "sora-2", "status": "completed", "progress": 100,
             "created_at": 1, "seconds": "4", "size": "720x1280"}
    assert validate_response("openai_video", video) == []
    assert [v.pointer for v in validate_response("openai_video", video | {"seconds": 4})] == ["/seconds"]
    assert [v.pointer for v in validate_response("openai_video", video | {"status": "failed"})] == ["/error"]
    page = {"object": "list", "data": [video, video | {"size": "big"}], "first_id": "video_1", "last_id": "video_1",
            "has_more": False}
    assert [v.pointer for v in validate_response("openai_video_list", page)] == ["/data/1/size"]
    assert validate_response("openai_video_deleted", {"id": "video_1", "object": "video.deleted", "deleted": False})


def test_openapi_document_is_valid_openapi_3_1() -> None:
    document = openapi_document(CATALOG, server_url="http://127.0.0.1:8000")
    validate_openapi(document)
    assert document["openapi"] == "3.1.0"
    assert set(document["components"]["schemas"]["GenerationRequest"]["discriminator"]["mapping"]) == set(MODELS)


@pytest.mark.parametrize("profile", ["documented", "new-api"])
def test_each_variant_of_the_openapi_document_is_valid_openapi_3_1(profile: str) -> None:
    validate_openapi(openapi_document(CATALOG, profile=profile))


def test_the_dialects_request_bodies_in_the_document_are_their_contracts() -> None:
    """Kling's bodies are each model's contract, discriminated by model_name; Google's are the model's, the model
    an enum of the path; new-api's submit is its contract's, in its variant of the document."""
    from videomock.contracts.dialects import google, kling, newapi

    document = openapi_document(CATALOG)
    schemas = document["components"]["schemas"]
    for operation, dialect in kling.DIALECTS.items():
        mapping = schemas[f"Kling{operation.capitalize()}Request"]["discriminator"]["mapping"]
        assert set(mapping) == set(CATALOG.names_for(kling.NAME, by_id=False))
        for name, ref in mapping.items():
            spec = CATALOG.named(name, kling.NAME, by_id=False)
            assert spec is not None
            assert schemas[ref.rsplit("/", 1)[1]] == dialect.selecting_schema(spec, CATALOG)
    submit = document["paths"]["/v1beta/models/{model}:predictLongRunning"]["post"]
    (model,) = [p for p in submit["parameters"] if p["name"] == "model"]
    assert model["schema"]["enum"] == CATALOG.names_for(google.GEMINI, by_id=False)
    assert schemas["PredictLongRunning_gemini_veo_3_1"] == google.gemini_request_schema(CATALOG["veo_3_1"])
    variant = openapi_document(CATALOG, profile=newapi.NAME)["components"]["schemas"]
    assert variant["NewApiTaskSubmit_veo_3_1"] == newapi.DIALECT.selecting_schema(CATALOG["veo_3_1"], CATALOG)


def test_openapi_request_schemas_are_the_catalog_schemas() -> None:
    document = openapi_document(CATALOG)
    for model in MODELS:
        ref = document["components"]["schemas"]["GenerationRequest"]["discriminator"]["mapping"][model]
        assert document["components"]["schemas"][ref.rsplit("/", 1)[1]] == CATALOG[model].request_schema


@pytest.mark.parametrize("kind", ["VideoCreateRequest", "VideoCreateForm"])
def test_openapi_openai_create_bodies_are_the_dialects_per_model_schemas_and_never_overlap(kind: str) -> None:
    """By every name of each model (a form's image is its file part, beside the oneOf, where tools look for it); a
    body that names no model fits the default's schema alone, so that the oneOf holds for it."""
    schemas = openapi_document(CATALOG)["components"]["schemas"]
    mapping = schemas[kind]["discriminator"]["mapping"]
    assert set(mapping) == set(CATALOG.names_for(openai.NAME))
    for model in MODELS:
        component = schemas[mapping[model].rsplit("/", 1)[1]]
        expected = openai.DIALECT.selecting_schema(CATALOG[model], CATALOG)
        if kind == "VideoCreateForm":
            assert schemas[kind]["properties"]["input_reference"]["format"] == "binary"
            assert "anyOf" not in component["properties"].pop("input_reference")
            expected["properties"].pop("input_reference")
        assert component == expected
    unnamed = {"prompt": "a lighthouse"}
    fits = [model for model in MODELS if Draft202012Validator(schemas[mapping[model].rsplit("/", 1)[1]]).is_valid(unnamed)]
    assert fits == [openai.DEFAULT_MODEL]


def test_every_shipped_schema_is_valid_2020_12() -> None:
    # The server trusts its own schema files at start (the meta-check is slow); this is where they are checked.
    for name in (*MESSAGE_SCHEMAS, "config", "model"):
        assert load_schema(name)["$schema"].endswith("2020-12/schema")
        check_schema(load_schema(name))
    for spec in CATALOG.values():
        check_schema(spec.request_schema)
        check_schema(openai.request_schema(spec))


def test_a_metadata_field_schema_from_config_is_meta_checked() -> None:
    with pytest.raises(CatalogError, match="metadata.style is not a valid JSON Schema"):
        Catalog.load({"veo_3_1": {"metadata": {"style": {"type": "colour"}}}})


@pytest.mark.parametrize("reference, pointer, message", [
    ({"image_url": "data:image/png;base64,AAAA"}, "/input_reference/image_url",
     "input_reference.image_url data is not a PNG, JPEG or WebP image"),
    ({"image_url": "https://example.com/cat.png", "detail": "high"}, "/input_reference/detail",
     "unknown field 'detail' for sora-2; allowed: image_url"),
    ({}, "/input_reference/image_url", "input_reference.image_url is required"),
    (5, "/input_reference", "input_reference must be of type string or object, not integer"),
])
def test_a_value_of_one_alternative_is_explained_by_that_alternatives_rules(reference: Any, pointer: str,
                                                                             message: str) -> None:
    """input_reference is an image or an object naming one: an object is not told it should be a string."""
    violations = validate_dialect_request(openai.DIALECT, {"prompt": "x", "input_reference": reference}, CATALOG)[1]
    assert only(violations, pointer) == message
