"""Kling's native API as a Kling client sees it: a JWT signed with PyJWT on every request, text2video and
image2video created, queried and listed, videos downloaded from their unauthenticated links, and every
error in Kling's shape with its service code. The OpenAI dialect's /v1/videos routes answer beside it."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from PIL import Image

from tests.conftest import Fake
from tests.serve_process import serve
from videomock import create_app
from videomock.contracts import default_catalog
from videomock.contracts.dialects.kling import DIALECTS, request_schema, service_codes, validate_message
from videomock.contracts.media import probe
from videomock.contracts.schemas import check_schema, load_schema
from videomock.pytest_plugin.live import LiveServer

ACCESS, SECRET = "AK-test-0001", "SK-test-secret-key-of-32-bytes-x"
OTHER_ACCESS, OTHER_SECRET = "AK-test-0002", "SK-another-secret-key-32-bytes-y"
TURBO, MASTER = "kling-v2-5-turbo", "kling-v2-1-master"


def token(access: str | None = ACCESS, secret: str = SECRET, *, lifetime: float | None = 1800, **claims: Any) -> str:
    """A token as Kling's reference signs one: HS256, iss the access key, exp 30 min ahead, nbf 5 s back
    (a claim given as None is left out)."""
    now = int(time.time())
    payload = {"iss": access, "exp": None if lifetime is None else now + lifetime, "nbf": now - 5, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, headers={"alg": "HS256", "typ": "JWT"})


def image_base64(width: int = 400, height: int = 320, kind: str = "PNG") -> str:
    """An image as Kling takes it: the Base64 string itself, with no data: prefix."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 90, 30)).save(out, kind)
    return base64.b64encode(out.getvalue()).decode()


class KlingClient:
    """What a Kling user writes: a fresh token per request, polls until the task is done."""

    def __init__(self, base: str, access: str = ACCESS, secret: str = SECRET) -> None:
        self.base, self.access, self.secret = base, access, secret
        self.http = requests.Session()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(self.access, self.secret)}", "Content-Type": "application/json"}

    def create(self, kind: str, body: dict[str, Any], **headers: str) -> requests.Response:
        return self.http.post(f"{self.base}/v1/videos/{kind}", json=body, headers={**self.headers(), **headers},
                              timeout=30)

    def query(self, kind: str, task_id: str) -> requests.Response:
        return self.http.get(f"{self.base}/v1/videos/{kind}/{task_id}", headers=self.headers(), timeout=30)

    def list(self, kind: str, **params: Any) -> requests.Response:
        return self.http.get(f"{self.base}/v1/videos/{kind}", params=params, headers=self.headers(), timeout=30)

    def generate(self, kind: str, body: dict[str, Any], *, polls: int = 20) -> dict[str, Any]:
        created = self.create(kind, body)
        assert created.status_code == 200, created.text
        assert validate_message("submit_response", created.json()) == []
        task_id = created.json()["data"]["task_id"]
        for _ in range(polls):   # the instant clock: done by the first poll; a few more allow for the render
            answer = self.query(kind, task_id)
            assert answer.status_code == 200, answer.text
            assert validate_message("task_response", answer.json()) == []
            data: dict[str, Any] = answer.json()["data"]
            if data["task_status"] in ("succeed", "failed"):
                return data
        raise AssertionError(f"task {task_id} did not finish in {polls} polls: {data}")


def kling_error(response: requests.Response, status: int, code: int) -> str:
    """The response is a Kling error with this status and service code (one Kling pairs with that status,
    whenever Kling has a code for it); returns its message."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert validate_message("error", body) == [], body
    assert body["code"] == code, body
    assert service_codes()[code] == status or status not in service_codes().values()
    return str(body["message"])


@pytest.fixture
def kling(fake: Fake) -> KlingClient:
    """A Kling client of the session's fake, which takes any well-formed token (no key pairs configured)."""
    return KlingClient(fake.url)


def finished(fake: Fake, client: KlingClient, kind: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    created = client.create(kind, body, **headers)
    assert created.status_code == 200, created.text
    fake.backend.advance(3600)
    answer = client.query(kind, created.json()["data"]["task_id"])
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


# --- the client's journey, against videomock serve ------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    videos = tmp_path_factory.mktemp("kling-videos")
    with serve("--kling-key", f"{ACCESS}:{SECRET}", "--clock", "instant", "--store", "memory",
               "--cache-dir", str(videos)) as server:
        yield server.url


@pytest.mark.parametrize("prefix", ["", "/kling"])
def test_a_pyjwt_client_generates_and_downloads_text_and_image_videos(served: str, prefix: str, tmp_path: Path) -> None:
    client = KlingClient(served + prefix)
    external = f"fox{prefix.replace('/', '-')}"
    jobs = {
        "text2video": ({"model_name": TURBO, "prompt": "a red fox in snow", "duration": "5", "mode": "std",
                        "aspect_ratio": "9:16", "negative_prompt": "blur", "cfg_scale": 0.5,
                        "callback_url": "https://example.com/hook", "external_task_id": external}, (720, 1280, 5)),
        "image2video": ({"model_name": MASTER, "image": image_base64(), "prompt": "the fox turns", "duration": "10"},
                        (1920, 1080, 10)),
    }
    for kind, (body, (width, height, seconds)) in jobs.items():
        data = client.generate(kind, body)
        assert data["task_status"] == "succeed", data
        assert data["task_id"].isdecimal() and len(data["task_id"]) == 18
        assert data["updated_at"] >= data["created_at"] > 1_600_000_000_000   # milliseconds
        (video,) = data["task_result"]["videos"]
        download = requests.get(video["url"], timeout=30)   # a CDN link: no token
        assert download.status_code == 200 and download.headers["Content-Type"] == "video/mp4"
        path = tmp_path / f"{kind}.mp4"
        path.write_bytes(download.content)
        info = probe(path)
        assert (info.width, info.height) == (width, height)
        assert video["duration"] == f"{seconds:.3f}"   # what the file says, three decimals
        assert float(video["duration"]) == pytest.approx(info.duration, abs=0.02)
        listed = client.list(kind, pageNum=1, pageSize=30).json()
        assert validate_message("task_list_response", listed) == []
        assert data["task_id"] in [task["task_id"] for task in listed["data"]]
    by_external = client.query("text2video", external)
    assert by_external.json()["data"]["task_info"] == {"external_task_id": external}


def test_a_token_signed_with_the_wrong_secret_or_expired_is_refused(served: str) -> None:
    body = {"model_name": TURBO, "prompt": "refused"}
    url = f"{served}/v1/videos/text2video"
    for bad, code in ((token(secret="a-wrong-secret-that-is-32-bytes!"), 1000), (token(lifetime=-60), 1004),
                      (token(access="AK-nobody"), 1000)):
        kling_error(requests.post(url, json=body, headers={"Authorization": f"Bearer {bad}"}, timeout=10), 401, code)
    assert requests.post(url, json=body, headers={"Authorization": f"Bearer {token()}"}, timeout=10).status_code == 200


# --- authentication -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("authorization, code, words", [
    (None, 1001, "Authorization is empty"),
    ("Basic abc", 1001, "Authorization is empty"),
    ("Bearer sk-not-a-jwt", 1002, "not a JWT"),
    (f"Bearer {jwt.encode({'iss': ACCESS, 'exp': int(time.time()) + 60}, SECRET * 2, algorithm='HS512')}", 1002, "HS256"),
    (f"Bearer {token(access=None)}", 1002, "iss"),
    (f"Bearer {token(lifetime=None)}", 1002, "exp"),
    (f"Bearer {token(exp='soon')}", 1002, "exp"),
    (f"Bearer {token(nbf=int(time.time()) + 3600)}", 1003, "not yet valid"),
    (f"Bearer {token(lifetime=-3600)}", 1004, "expired"),
])
def test_each_bad_token_gets_its_own_service_code(kling: KlingClient, authorization: str | None, code: int, words: str) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = requests.get(f"{kling.base}/v1/videos/text2video", headers=headers, timeout=10)
    assert words in kling_error(response, 401, code)


def test_a_little_clock_skew_is_forgiven(kling: KlingClient) -> None:
    headers = {"Authorization": f"Bearer {token(lifetime=-5, nbf=int(time.time()) + 5)}"}
    assert requests.get(f"{kling.base}/v1/videos/text2video", headers=headers, timeout=10).status_code == 200


def test_configured_key_pairs_are_the_only_ones_taken(fake: Fake, kling: KlingClient) -> None:
    fake.backend.update_config({"auth": {"kling_keys": [f"{ACCESS}:{SECRET}", f"{OTHER_ACCESS}:{OTHER_SECRET}"]}})
    assert kling.list("text2video").status_code == 200
    assert KlingClient(fake.url, OTHER_ACCESS, OTHER_SECRET).list("text2video").status_code == 200
    assert "not one this server knows" in kling_error(KlingClient(fake.url, "AK-x", SECRET).list("text2video"), 401, 1000)
    assert "does not verify" in kling_error(KlingClient(fake.url, ACCESS, OTHER_SECRET).list("text2video"), 401, 1000)


def test_tasks_belong_to_their_access_key(fake: Fake, kling: KlingClient) -> None:
    task_id = kling.create("text2video", {"model_name": TURBO, "prompt": "mine"}).json()["data"]["task_id"]
    other = KlingClient(fake.url, OTHER_ACCESS, OTHER_SECRET)
    kling_error(other.query("text2video", task_id), 404, 1203)
    assert other.list("text2video").json()["data"] == []
    # The access key is no secret (every token carries it): as a Bearer key of another dialect it sees nothing.
    assert fake.session(ACCESS).get(f"{fake.url}/v1/video/generations/{task_id}", timeout=10).status_code == 404
    journal = requests.get(f"{fake.url}/__admin/requests", params={"key": f"kling:{ACCESS}"}, timeout=10).json()
    assert [entry["task_id"] for entry in journal["requests"]] == [task_id]


# --- requests -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, body, status, code, words", [
    ("text2video", {"model_name": TURBO, "prompt": "x", "duration": 5}, 400, 1201, "duration must be of type string"),
    ("text2video", {"model_name": TURBO, "prompt": "x", "duration": "7"}, 400, 1201, '"5", "10"'),
    ("text2video", {"model_name": TURBO, "prompt": "x" * 2501}, 400, 1201, "at most 2500"),
    ("text2video", {"model_name": TURBO}, 400, 1201, "prompt is required"),
    ("text2video", {"model_name": TURBO, "prompt": "x", "cfg_scale": 2}, 400, 1201, "cfg_scale 2 is out of range"),
    ("text2video", {"model_name": MASTER, "prompt": "x", "mode": "std"}, 400, 1201, "allowed: \"pro\""),
    ("text2video", {"model_name": TURBO, "prompt": "x", "image": image_base64()}, 400, 1201, "unknown field 'image'"),
    ("text2video", {"model_name": "kling-v9", "prompt": "x"}, 404, 1203, "kling-v2-5-turbo, kling-v2-1-master"),
    ("text2video", {"prompt": "x"}, 404, 1203, "'kling-v1' (the default)"),
    ("text2video", {"model_name": "veo_3_1", "prompt": "x"}, 404, 1203, "not supported"),
    ("image2video", {"model_name": TURBO, "prompt": "x"}, 400, 1201, "image is required (or image_tail)"),
    ("image2video", {"model_name": TURBO, "image": "data:image/png;base64," + image_base64()}, 400, 1201, "without the data:"),
    ("image2video", {"model_name": TURBO, "image": image_base64(kind="WEBP")}, 400, 1201, "use JPEG or PNG"),
    ("image2video", {"model_name": TURBO, "image": image_base64(1000, 300)}, 400, 1201, "aspect ratio"),
    ("image2video", {"model_name": TURBO, "image": image_base64(), "image_tail": image_base64(200, 200)}, 400, 1201,
     "image_tail is 200x200"),
    ("image2video", {"model_name": TURBO, "image": image_base64(), "static_mask": "x"}, 400, 1201, "unknown field 'static_mask'"),
])
def test_a_bad_body_is_a_kling_error_naming_the_field(kling: KlingClient, kind: str, body: dict[str, Any], status: int,
                                                       code: int, words: str) -> None:
    assert words in kling_error(kling.create(kind, body), status, code)


def test_a_body_that_is_not_json_is_a_1200(kling: KlingClient) -> None:
    response = kling.http.post(f"{kling.base}/v1/videos/text2video", data="{", headers=kling.headers(), timeout=10)
    assert "not valid JSON" in kling_error(response, 400, 1200)


def test_what_new_api_sends_is_taken(kling: KlingClient) -> None:
    """new-api's Kling adaptor copies model_name into model and always sends cfg_scale and aspect_ratio."""
    body = {"model_name": TURBO, "model": TURBO, "prompt": "via new-api", "image": image_base64(), "mode": "std",
            "duration": "5", "aspect_ratio": "1:1", "cfg_scale": 0.5}
    assert kling.http.post(f"{kling.base}/kling/v1/videos/image2video", json=body, headers=kling.headers(),
                           timeout=10).status_code == 200


@pytest.mark.parametrize("sound", ["on", "off"])
def test_kling_2_6_sound_on_gives_the_video_a_soundtrack(fake: Fake, kling: KlingClient, tmp_path: Path,
                                                        sound: str) -> None:
    data = finished(fake, kling, "text2video", {"model_name": "kling-v2-6", "prompt": "a bell", "sound": sound})
    (video,) = data["task_result"]["videos"]
    (tmp_path / "v.mp4").write_bytes(requests.get(video["url"], timeout=30).content)
    audio = probe(tmp_path / "v.mp4").audio
    assert (audio is not None and audio.duration == pytest.approx(5, abs=0.001)) == (sound == "on")


def test_callback_url_and_external_task_id_are_kept_with_the_task(fake: Fake, kling: KlingClient) -> None:
    body = {"model_name": TURBO, "prompt": "hooked", "callback_url": "https://example.com/kling", "external_task_id": "job-7"}
    created = kling.create("text2video", body).json()["data"]
    assert created["task_info"] == {"external_task_id": "job-7"}
    (task,) = requests.get(f"{fake.url}/__admin/tasks", timeout=10).json()["tasks"]
    assert task["params"]["metadata"]["callback_url"] == "https://example.com/kling"
    assert kling.query("text2video", "job-7").json()["data"]["task_id"] == created["task_id"]
    assert "already the id" in kling_error(kling.create("text2video", body), 400, 1201)
    kling_error(kling.query("image2video", "job-7"), 404, 1203)   # a text2video task is not an image2video one


def test_a_task_moves_submitted_processing_succeed(fake: Fake, kling: KlingClient) -> None:
    created = kling.create("text2video", {"model_name": TURBO, "prompt": "steps"}).json()["data"]
    assert created["task_status"] == "submitted" and created["updated_at"] == created["created_at"]
    fake.backend.advance(20)
    running = kling.query("text2video", created["task_id"]).json()["data"]
    assert running["task_status"] == "processing" and "task_result" not in running
    assert running["updated_at"] > running["created_at"]
    fake.backend.advance(3600)
    done = kling.query("text2video", created["task_id"]).json()["data"]
    assert done["task_status"] == "succeed" and done["task_status_msg"] == ""


def test_the_list_pages_newest_first_by_kind(fake: Fake, kling: KlingClient) -> None:
    ids = [kling.create("text2video", {"model_name": TURBO, "prompt": f"n{n}"}).json()["data"]["task_id"] for n in range(3)]
    kling.create("image2video", {"model_name": TURBO, "image": image_base64()})
    pages = [[t["task_id"] for t in kling.list("text2video", pageNum=n, pageSize=2).json()["data"]] for n in (1, 2, 3)]
    assert pages == [ids[:0:-1], ids[:1], []]
    assert len(kling.list("image2video").json()["data"]) == 1
    kling_error(kling.list("text2video", pageSize=501), 400, 1201)
    assert "allowed: pageNum, pageSize" in kling_error(kling.list("text2video", page=1), 400, 1201)


# --- failures, faults and limits ----------------------------------------------------------------------------------

def test_a_failed_task_says_why_with_a_service_code(fake: Fake, kling: KlingClient) -> None:
    data = finished(fake, kling, "text2video", {"model_name": TURBO, "prompt": "blocked"},
                    **{"X-Videomock-Fault": "fail=content_policy@30"})
    assert data["task_status"] == "failed" and "task_result" not in data
    assert data["task_status_msg"].endswith("(code 1301)")


@pytest.mark.parametrize("header, status, code", [
    ("status=429; retry-after=7", 429, 1302),
    ("status=429; code=1303", 429, 1303),
    ("status=400", 400, 1301),
    ("status=401", 401, 1000),
    ("status=403", 403, 1103),
    ("status=500", 500, 5000),
    ("status=502", 502, 5000),
    ("status=503", 503, 5001),
    ("status=504", 504, 5002),
    ("bogus", 400, 1201),
])
def test_an_injected_http_error_keeps_its_status_in_klings_shape(kling: KlingClient, header: str, status: int,
                                                                  code: int) -> None:
    kling.http.headers["X-Videomock-Fault"] = header
    for response in (kling.create("text2video", {"model_name": TURBO, "prompt": "faulty"}), kling.list("text2video")):
        kling_error(response, status, code)
    if "retry-after" in header:
        assert response.headers["Retry-After"] == "7"


def test_fault_rules_reach_kling_routes_by_endpoint_and_key(fake: Fake, kling: KlingClient) -> None:
    task_id = kling.create("text2video", {"model_name": TURBO, "prompt": "polled"}).json()["data"]["task_id"]
    fake.backend.update_config({"faults": [{"endpoint": "poll", "key": f"kling:{ACCESS}", "times": 1,
                                            "action": {"type": "http_error", "status": 503}}]})
    kling_error(kling.query("text2video", task_id), 503, 5001)
    assert kling.query("text2video", task_id).status_code == 200


def test_quota_and_concurrency_answer_as_kling_does(fake: Fake, kling: KlingClient) -> None:
    body = {"model_name": TURBO, "prompt": "limited"}
    fake.backend.update_config({"limits": {"max_in_flight": 1}})
    assert kling.create("text2video", body).status_code == 200
    kling_error(kling.create("text2video", body), 429, 1303)
    fake.backend.update_config({"limits": {"max_in_flight": None, "credits": 4}})   # a 5 s turbo video costs 5
    kling_error(kling.create("text2video", body), 429, 1102)   # out of credits: Kling's 429, not the table's 403


def test_an_expired_video_link_stops_working(fake: Fake, kling: KlingClient) -> None:
    created = kling.create("text2video", {"model_name": TURBO, "prompt": "fleeting"}).json()["data"]
    fake.backend.advance(3600)
    url = kling.query("text2video", created["task_id"]).json()["data"]["task_result"]["videos"][0]["url"]
    assert requests.get(url, timeout=30).status_code == 200
    fake.backend.advance(31 * 86400)   # Kling clears videos after 30 days
    assert requests.get(url, timeout=30).status_code == 403


def test_unknown_paths_and_methods_under_klings_routes_answer_in_its_shape(kling: KlingClient) -> None:
    kling_error(requests.get(f"{kling.base}/kling/v1/videos/lip-sync", timeout=10), 404, 1202)
    kling_error(requests.put(f"{kling.base}/v1/videos/text2video", timeout=10), 405, 1202)
    kling_error(requests.post(f"{kling.base}/v1/videos/image2video/123", timeout=10), 405, 1202)


@pytest.mark.parametrize("method, path", [("DELETE", "/v1/videos/text2video"), ("POST", "/v1/videos/image2video/remix"),
                                          ("OPTIONS", "/v1/videos/text2video")])
def test_the_openai_videos_routes_never_take_a_kling_path_for_a_video_id(kling: KlingClient, method: str, path: str) -> None:
    """/v1/videos/text2video is Kling's whatever the method: a DELETE there is Kling's 405, not the OpenAI delete of a
    video called text2video, and the methods its Allow header lists are Kling's (as Schemathesis checks them)."""
    answer = requests.request(method, kling.base + path, headers=kling.headers(), timeout=10)
    if method == "OPTIONS":
        assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    else:
        kling_error(answer, 405, 1202)


# --- the same seed, the same answers ------------------------------------------------------------------------------

def test_one_seed_fixes_task_ids_request_ids_and_video_ids(video_library: Any) -> None:
    def run() -> list[Any]:
        with LiveServer(create_app({"seed": 7, "clock": {"mode": "instant"}}, videos=video_library)) as server:
            client = KlingClient(server.url)
            created = client.create("text2video", {"model_name": TURBO, "prompt": "again"}).json()
            queried = client.query("text2video", created["data"]["task_id"]).json()
            error = client.query("text2video", "nope").json()
            return [created["request_id"], created["data"]["task_id"], queried["request_id"],
                    queried["data"]["task_result"]["videos"][0]["id"], error["request_id"]]

    first = run()
    assert run() == first and len(set(first)) == 5


# --- secrets ------------------------------------------------------------------------------------------------------

def test_secret_keys_are_never_shown_and_survive_a_round_trip_of_the_config(fake: Fake, kling: KlingClient) -> None:
    fake.backend.update_config({"auth": {"kling_keys": [f"{ACCESS}:{SECRET}"]}})
    shown = requests.get(f"{fake.url}/__admin/config", timeout=10)
    assert SECRET not in shown.text
    (pair,) = shown.json()["auth"]["kling_keys"]
    assert pair.startswith(f"{ACCESS}:key_")
    put = requests.put(f"{fake.url}/__admin/config", json=shown.json(), timeout=10)
    assert put.status_code == 200 and SECRET not in put.text and put.json() == shown.json()
    assert kling.list("text2video").status_code == 200   # the secret it stands for is still the one checked
    forged = {"auth": {"kling_keys": [f"{ACCESS}:key_0123456789abcdef"]}}
    refused = requests.patch(f"{fake.url}/__admin/config", json=forged, timeout=10)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "auth.kling_keys.0"


@pytest.mark.parametrize("pairs, words", [
    ([f"{ACCESS}{SECRET}"], "is not ACCESS_KEY:SECRET_KEY"),
    ([f"{ACCESS}:{SECRET}", f"{ACCESS}:{OTHER_SECRET}"], "given twice"),
    ([f"{ACCESS}:key_0123456789abcdef"], "stands for no secret this server holds; give the secret key of access key"),
])
def test_a_bad_key_pair_is_refused_without_showing_its_secret(fake: Fake, pairs: list[str], words: str) -> None:
    refused = requests.patch(f"{fake.url}/__admin/config", json={"auth": {"kling_keys": pairs}}, timeout=10)
    assert refused.status_code == 400 and words in refused.json()["error"]["message"]
    assert SECRET not in refused.text and OTHER_SECRET not in refused.text


def test_klings_schemas_are_valid_and_its_error_schema_lists_its_service_codes() -> None:
    kling = load_schema("kling")
    check_schema(kling)
    for spec in default_catalog().values():
        for kind in DIALECTS if spec.names_in("kling") else ():
            check_schema(request_schema(spec, kind))
    assert kling["$defs"]["error"]["properties"]["code"]["enum"] == sorted(service_codes())


# --- beside the OpenAI dialect --------------------------------------------------------------------------------------

def test_the_openai_videos_routes_still_answer_beside_klings(fake: Fake, kling: KlingClient) -> None:
    openai = fake.session("sk-openai")
    created = openai.post(f"{fake.url}/v1/videos", files={"prompt": (None, "beside"), "seconds": (None, "4")}, timeout=10)
    assert created.status_code == 200 and created.json()["object"] == "video", created.text
    video_id = created.json()["id"]
    fake.backend.advance(3600)
    assert openai.get(f"{fake.url}/v1/videos/{video_id}", timeout=10).json()["status"] == "completed"
    assert [v["id"] for v in openai.get(f"{fake.url}/v1/videos", timeout=10).json()["data"]] == [video_id]
    content = openai.get(f"{fake.url}/v1/videos/{video_id}/content", timeout=30)
    assert content.status_code == 200 and content.content[4:8] == b"ftyp"
    assert openai.delete(f"{fake.url}/v1/videos/{video_id}", timeout=10).json()["deleted"] is True
    # Kling's paths are Kling's whatever the method (no video is called text2video): another method is its 405.
    kling_error(openai.get(f"{fake.url}/v1/videos/text2video", timeout=10), 401, 1002)   # an API key is no JWT
    kling_error(openai.get(f"{fake.url}/v1/videos/image2video/content", timeout=10), 401, 1002)
    for response in (openai.delete(f"{fake.url}/v1/videos/text2video", timeout=10),
                     openai.post(f"{fake.url}/v1/videos/text2video/remix", json={"prompt": "x"}, timeout=10)):
        kling_error(response, 405, 1202)
    assert kling.list("text2video").json()["data"] == []   # the OpenAI video is no Kling task
