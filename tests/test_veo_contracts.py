"""The Google Veo dialects' contracts: the create request derived from the catalog (Vertex AI's and the Gemini
API's), its mapping onto the canonical request, and the message schemas of their answers and errors."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from videomock.contracts import Catalog, load_schema, validate_request, validate_response
from videomock.contracts.dialects.google import (
    GEMINI_DIALECT,
    VERTEX_DIALECT,
    camel,
    status_name,
    to_generation_request,
)
from videomock.contracts.errors import error_codes
from videomock.contracts.schemas import check_schema
from videomock.contracts.validation import validate_against, validate_dialect_request

CATALOG = Catalog.load()
PREVIEW = "veo-3.1-generate-preview"


def _png(width: int = 400, height: int = 300) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _violations(body: dict[str, Any], dialect: Any = VERTEX_DIALECT, model: str = PREVIEW) -> dict[str, str]:
    _, violations = validate_dialect_request(dialect, body, CATALOG, model=model)
    return {v.pointer: v.message for v in violations}


def test_google_names_are_the_catalogs_veo_models_and_catalog_ids_are_not_names_there() -> None:
    assert {name: spec.id for name in CATALOG.names_for("vertex", by_id=False)
            if (spec := CATALOG.named(name, "vertex", by_id=False))} == {
        "veo-3.1-generate-preview": "veo_3_1", "veo-3.1-generate-001": "veo_3_1",
        "veo-3.1-fast-generate-preview": "veo_3_1-fast", "veo-3.1-fast-generate-001": "veo_3_1-fast"}
    spec, violations = validate_dialect_request(VERTEX_DIALECT, {"instances": [{"prompt": "x"}]}, CATALOG, model="veo_3_1")
    assert spec is None and [v.code for v in violations] == ["model_not_found"]


def test_everything_the_sdk_sends_maps_onto_the_canonical_request_the_core_accepts() -> None:
    image = {"bytesBase64Encoded": _png(), "mimeType": "image/png"}
    body: dict[str, Any] = {
        "instances": [{"prompt": "a cat", "image": image,
                       "lastFrame": {"gcsUri": "gs://my-bucket/last.png", "mimeType": "image/png"},
                       "referenceImages": [{"image": {"gcsUri": "gs://my-bucket/ref.png"}, "referenceType": "asset"}]}],
        "parameters": {"sampleCount": 2, "durationSeconds": 8, "aspectRatio": "9:16", "resolution": "1080p",
                       "seed": 7, "fps": 24, "negativePrompt": "rain", "personGeneration": "allow_adult",
                       "generateAudio": True, "enhancePrompt": False, "storageUri": "gs://my-bucket/out/",
                       "compressionQuality": "optimized", "resizeMode": "pad", "pubsubTopic": "projects/p/topics/t"},
        "labels": {"team": "video"},
    }
    spec, violations = validate_dialect_request(VERTEX_DIALECT, body, CATALOG, model=PREVIEW)
    assert spec is not None and violations == []
    canonical = to_generation_request(body, spec)
    assert validate_request(canonical, CATALOG) == []
    assert canonical == {"model": "veo_3_1", "prompt": "a cat", "image": image["bytesBase64Encoded"],
                         "duration": 8, "n": 2, "seed": 7, "fps": 24,
                         "metadata": {"negative_prompt": "rain", "person_generation": "allow_adult", "generate_audio": True,
                                      "enhance_prompt": False, "resolution": "1080p", "aspect_ratio": "9:16"}}
    assert spec.resolve(canonical)["width"] == 1080


def test_enum_values_are_read_in_either_case_and_reach_the_core_as_the_catalog_spells_them() -> None:
    body = {"instances": [{"prompt": "x", "referenceImages": [{"image": {"gcsUri": "gs://abc/1.png"}, "referenceType": "ASSET"}]}],
            "parameters": {"personGeneration": "ALLOW_ADULT", "resolution": "1080P", "compressionQuality": "LOSSLESS",
                           "resizeMode": "CROP", "durationSeconds": 8}}
    spec = CATALOG["veo_3_1"]
    assert _violations(body) == {}
    canonical = to_generation_request(body, spec)
    assert canonical["metadata"] == {"person_generation": "allow_adult", "resolution": "1080p"}
    assert validate_request(canonical, CATALOG) == []
    four = _violations({**body, "parameters": {"resolution": "1080P", "durationSeconds": 4}})
    assert four == {"/parameters/durationSeconds": "parameters.durationSeconds 4 is not supported by veo_3_1 at "
                                                   "resolution 1080p; allowed: 8"}


def test_a_cloud_storage_image_becomes_its_https_url() -> None:
    body = {"instances": [{"image": {"gcsUri": "gs://my-bucket/frame.png", "mimeType": "image/png"}}]}
    assert to_generation_request(body, CATALOG["veo_3_1"])["image"] == "https://storage.googleapis.com/my-bucket/frame.png"


@pytest.mark.parametrize(("parameters", "pointer", "message"), [
    ({"durationSeconds": 5}, "/parameters/durationSeconds",
     "parameters.durationSeconds 5 is not supported by veo_3_1; allowed: 4, 6, 8"),
    ({"durationSeconds": 4, "resolution": "1080p"}, "/parameters/durationSeconds",
     "parameters.durationSeconds 4 is not supported by veo_3_1 at resolution 1080p; allowed: 8"),
    ({"durationSeconds": 6, "resolution": "1080p", "aspectRatio": "9:16"}, "/parameters/durationSeconds",
     "parameters.durationSeconds 6 is not supported by veo_3_1 at resolution 1080p, aspectRatio 9:16; allowed: 8"),
    ({"aspectRatio": "1:1"}, "/parameters/aspectRatio",
     'parameters.aspectRatio "1:1" is not supported by veo_3_1; allowed: "16:9", "9:16"'),
    ({"sampleCount": 5}, "/parameters/sampleCount", "parameters.sampleCount 5 is out of range; allowed: 1..4"),
    ({"seed": -1}, "/parameters/seed", "parameters.seed -1 is out of range; allowed: 0..4294967295"),
    ({"durationSeconds": "8"}, "/parameters/durationSeconds", "parameters.durationSeconds must be of type integer, not string"),
    ({"storageUri": "s3://bucket/x"}, "/parameters/storageUri", None),
    ({"sampleSize": 1}, "/parameters/sampleSize", None),
])
def test_a_bad_parameter_is_named_in_its_own_spelling(parameters: dict[str, Any], pointer: str, message: str | None) -> None:
    found = _violations({"instances": [{"prompt": "x"}], "parameters": parameters})
    assert list(found) == [pointer], found
    if message is not None:
        assert found[pointer] == message


def test_a_1080p_request_without_a_duration_takes_the_8_seconds_1080p_allows() -> None:
    body = {"instances": [{"prompt": "x"}], "parameters": {"resolution": "1080p"}}
    spec = CATALOG["veo_3_1"]
    assert _violations(body) == {}
    assert spec.resolve(to_generation_request(body, spec))["duration"] == 8


@pytest.mark.parametrize(("instance", "pointer"), [
    ({}, "/instances/0/prompt"),
    ({"prompt": ""}, "/instances/0/prompt"),
    ({"prompt": "x" * 4001}, "/instances/0/prompt"),
    ({"prompt": "x", "image": {"mimeType": "image/png"}}, "/instances/0/image"),
    ({"prompt": "x", "image": {"bytesBase64Encoded": _png()}}, "/instances/0/image"),
    ({"prompt": "x", "image": {"bytesBase64Encoded": _png(), "mimeType": "image/png", "gcsUri": "gs://abc/x.png"}},
     "/instances/0/image"),
    ({"prompt": "x", "image": {"bytesBase64Encoded": _png(200, 200), "mimeType": "image/png"}},
     "/instances/0/image/bytesBase64Encoded"),
    ({"prompt": "x", "lastFrame": {"bytesBase64Encoded": "bm90IGFuIGltYWdl", "mimeType": "image/png"}},
     "/instances/0/lastFrame/bytesBase64Encoded"),
    ({"prompt": "x", "referenceImages": [{"image": {"gcsUri": "gs://abc/1.png"}}] * 4}, "/instances/0/referenceImages"),
    ({"prompt": "x", "video": {"gcsUri": "gs://abc/v.mp4"}}, "/instances/0/video"),
])
def test_a_bad_instance_is_named_in_its_own_spelling(instance: dict[str, Any], pointer: str) -> None:
    assert list(_violations({"instances": [instance]})) == [pointer]


def test_the_image_source_and_image_rules_are_explained_in_words() -> None:
    found = _violations({"instances": [{"prompt": "x", "image": {"bytesBase64Encoded": _png()}}]})
    assert found["/instances/0/image"] == ("instances.0.image needs exactly one of bytesBase64Encoded (with mimeType) "
                                           "and gcsUri")
    small = _violations({"instances": [{"image": {"bytesBase64Encoded": _png(200, 200), "mimeType": "image/png"}}]})
    assert small["/instances/0/image/bytesBase64Encoded"].startswith("instances.0.image.bytesBase64Encoded ")
    assert "300" in small["/instances/0/image/bytesBase64Encoded"]


def test_one_instance_exactly() -> None:
    assert list(_violations({"instances": []})) == ["/instances"]
    assert list(_violations({"instances": [{"prompt": "a"}, {"prompt": "b"}]})) == ["/instances"]
    assert list(_violations({"parameters": {}})) == ["/instances"]


@pytest.mark.parametrize("name", ["seed", "fps", "generateAudio", "storageUri", "compressionQuality", "resizeMode",
                                  "pubsubTopic"])
def test_the_gemini_api_refuses_the_parameters_only_vertex_takes(name: str) -> None:
    value = {"seed": 1, "fps": 24, "generateAudio": True, "storageUri": "gs://abc/x", "compressionQuality": "optimized",
             "resizeMode": "pad", "pubsubTopic": "projects/p/topics/t"}[name]
    body = {"instances": [{"prompt": "x"}], "parameters": {name: value}}
    assert _violations(body) == {}
    assert list(_violations(body, GEMINI_DIALECT)) == [f"/parameters/{name}"]
    assert list(_violations({"instances": [{"prompt": "x"}], "labels": {}}, GEMINI_DIALECT)) == ["/labels"]


def test_each_catalog_metadata_field_is_a_parameter_in_camel_case() -> None:
    assert camel("negative_prompt") == "negativePrompt" and camel("resolution") == "resolution"
    schema = VERTEX_DIALECT.request_schema(CATALOG["veo_3_1"])
    assert {camel(name) for name in CATALOG["veo_3_1"].metadata_fields} <= set(schema["properties"]["parameters"]["properties"])


# --- the message schemas --------------------------------------------------------------------------------------

def test_the_google_schemas_are_valid_2020_12_and_so_is_each_derived_request() -> None:
    for name in ("google_error", "google_operation", "vertex_fetch_operation"):
        check_schema(load_schema(name))
    for spec in CATALOG.values():
        check_schema(VERTEX_DIALECT.request_schema(spec))
        check_schema(GEMINI_DIALECT.request_schema(spec))


def test_every_status_the_fake_answers_with_has_a_google_status_name() -> None:
    names = load_schema("google_error")["x-status-names"]
    assert {str(entry.status) for entry in error_codes().values()} <= set(names)
    allowed = load_schema("google_error")["properties"]["error"]["properties"]["status"]["enum"]
    assert set(names.values()) <= set(allowed)
    assert (status_name(400), status_name(429), status_name(599), status_name(418)) == (
        "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "INTERNAL", "INVALID_ARGUMENT")


@pytest.mark.parametrize("operation", [
    {"name": "projects/p/locations/us-central1/publishers/google/models/veo-3.1-generate-preview/operations/abc123"},
    {"name": "publishers/google/models/veo-3.1-generate-preview/operations/abc123", "done": True,
     "response": {"@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                  "videos": [{"gcsUri": "gs://b/o/abc123/sample_0.mp4", "mimeType": "video/mp4"}], "raiMediaFilteredCount": 0}},
    {"name": "models/veo-3.1-generate-preview/operations/abc123", "done": True,
     "error": {"code": 3, "message": "blocked", "status": "INVALID_ARGUMENT"}},
    {"name": "models/veo-3.1-generate-preview/operations/abc123", "done": True,
     "response": {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                  "generateVideoResponse": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["blocked"]}}},
])
def test_the_operation_schema_takes_both_apis_operations(operation: dict[str, Any]) -> None:
    assert validate_response("google_operation", operation) == []


@pytest.mark.parametrize("operation", [
    {"name": "models/veo/operations/ABC"},                                              # ids are lowercase
    {"name": "models/veo/operations/abc", "done": True},                                # done with neither
    {"name": "models/veo/operations/abc", "response": {}},                              # a response, not done
    {"name": "models/veo/operations/abc", "done": True, "error": {"code": 3, "message": "x"},
     "response": {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                  "generateVideoResponse": {}}},
    {"name": "publishers/google/models/veo/operations/abc", "done": True,               # a Gemini response on Vertex
     "response": {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                  "generateVideoResponse": {}}},
])
def test_the_operation_schema_refuses_what_neither_api_answers(operation: dict[str, Any]) -> None:
    assert validate_response("google_operation", operation) != []


def test_the_fetch_request_needs_the_operation_name() -> None:
    assert validate_against("vertex_fetch_operation", {"operationName": "x/operations/y"}) == []
    assert [v.pointer for v in validate_against("vertex_fetch_operation", {})] == ["/operationName"]
    assert [v.pointer for v in validate_against("vertex_fetch_operation", {"operationName": "x", "name": "y"})] == ["/name"]


def test_a_size_parameter_the_model_does_not_offer_is_named_not_the_other_size_parameter() -> None:
    """A resolution no size has is the resolution's fault, whatever the aspect ratio beside it (the size rule
    named the aspect ratio, which is valid)."""
    from videomock.contracts.dialects import google
    from videomock.contracts.validation import validate_dialect_request

    body = {"instances": [{"prompt": "x"}], "parameters": {"aspectRatio": "16:9", "resolution": ""}}
    violations = validate_dialect_request(google.GEMINI_DIALECT, body, model="veo-3.1-generate-preview")[1]
    assert [v.pointer for v in violations] == ["/parameters/resolution"], [v.as_dict() for v in violations]
