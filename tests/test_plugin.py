"""The pytest plugin as users meet it: installed, no conftest, fixtures and the marker. Each case runs a
real inner pytest session (pytester), and the xdist case a real subprocess with two workers."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest("-p", "no:cacheprovider", *args)


COMMON = """
    import pytest, requests

    def submit(fake, **body):
        body = {"model": "veo_3_1", "prompt": "x"} | body
        return requests.post(f"{fake.url}/v1/video/generations", json=body, headers=fake.headers, timeout=10)

    def poll(fake, task_id, **headers):
        return requests.get(f"{fake.url}/v1/video/generations/{task_id}", headers=fake.headers | headers, timeout=10)
"""


def test_both_fixtures_work_with_no_conftest(pytester: pytest.Pytester) -> None:
    result = run(pytester, COMMON + """
    @pytest.fixture(params=["videomock_server", "videomock"])
    def fake(request):
        return request.getfixturevalue(request.param)

    def test_submit_poll_download(fake):
        task_id = submit(fake).json()["task_id"]
        task = poll(fake, task_id).json()
        assert task["status"] == "completed"  # instant clock by default
        video = requests.get(task["url"], headers=fake.headers, timeout=10)
        assert video.headers["Content-Type"] == "video/mp4" and video.content[4:8] == b"ftyp"
        part = requests.get(task["url"], headers=fake.headers | {"Range": "bytes=20000-20099"}, timeout=10)
        assert part.status_code == 206 and part.content == video.content[20000:20100]
        assert [e["status"] for e in fake.requests] == [200, 200, 200, 206]
        assert [t["task_id"] for t in fake.tasks] == [task_id]
    """)
    result.assert_outcomes(passed=2)


def test_state_is_reset_between_tests(pytester: pytest.Pytester) -> None:
    result = run(pytester, COMMON + """
    @pytest.mark.parametrize("attempt", [1, 2, 3])
    @pytest.mark.parametrize("name", ["videomock_server", "videomock"])
    def test_sees_only_its_own_tasks(request, name, attempt):
        fake = request.getfixturevalue(name)
        assert fake.tasks == [] and fake.requests == []
        submit(fake)
        fake.add_fault(endpoint="submit", action={"type": "http_error", "status": 500})
        fake.advance(100)
        assert len(fake.tasks) == 1
    """)
    result.assert_outcomes(passed=6)


def test_marker_configures_one_test(pytester: pytest.Pytester) -> None:
    result = run(pytester, COMMON + """
    @pytest.mark.videomock(clock="manual", seed=7, faults=[
        {"endpoint": "submit", "times": 1, "action": {"type": "http_error", "status": 429, "retry_after": 2}}])
    def test_marker(videomock):
        assert submit(videomock).status_code == 429
        task_id = submit(videomock).json()["task_id"]
        assert poll(videomock, task_id).json()["status"] == "queued"
        videomock.advance(3600)
        assert poll(videomock, task_id).json()["status"] == "completed"
        assert videomock.config["seed"] == 7

    @pytest.mark.videomock(speed=1000)
    def test_speed(videomock_server):
        assert videomock_server.config["clock"] == {"mode": "speed", "speed": 1000, "jitter": 0}

    @pytest.mark.videomock(models={"my-model": {"extends": "veo_3_1", "durations": [8]}}, api_keys=["sk-only"])
    def test_models_and_keys(videomock):
        assert videomock.api_key == "sk-only"
        assert submit(videomock, model="my-model").status_code == 200
        assert submit(videomock, model="my-model", duration=4).status_code == 400

    def test_after_a_marked_test_the_baseline_is_back(videomock):
        assert videomock.config["clock"]["mode"] == "instant" and videomock.config["faults"] == []
        assert submit(videomock, model="my-model").status_code == 400
    """)
    result.assert_outcomes(passed=4)


def test_bad_marker_is_a_clear_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
    import pytest

    @pytest.mark.videomock(clock="warp")
    def test_bad(videomock):
        pass

    @pytest.mark.videomock(colour="red")
    def test_unknown(videomock):
        pass
    """)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*clock.mode*warp*not supported*", "*unknown arguments*colour*"])


def test_seed_option_fixes_ids(pytester: pytest.Pytester) -> None:
    result = run(pytester, COMMON + """
    def test_ids(videomock):
        print("IDS", [submit(videomock).json()["task_id"] for _ in range(3)])
    """, "-s", "--videomock-seed", "5")
    printed = next(line for line in result.outlines if "IDS" in line).split("IDS", 1)[1].strip()

    from videomock import create_app

    client = create_app({"seed": 5}).test_client()
    expected = [client.post("/v1/video/generations", json={"model": "veo_3_1", "prompt": "x"},
                            headers={"Authorization": "Bearer k"}).get_json()["task_id"] for _ in range(3)]
    assert printed == str(expected)
    assert create_app({"seed": 6}).test_client().post("/v1/video/generations", json={"model": "veo_3_1", "prompt": "x"},
                                                      headers={"Authorization": "Bearer k"}).get_json()["task_id"] != expected[0]


def test_in_process_blocks_or_passes_other_hosts(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
    import pytest, requests
    from flask import Flask
    from videomock.pytest_plugin.live import LiveServer

    @pytest.fixture(scope="module")
    def other_host():
        app = Flask("other")
        app.get("/")(lambda: "real network")
        with LiveServer(app) as server:
            yield server.url

    def test_blocked(videomock, other_host):
        with pytest.raises(requests.ConnectionError, match="only the in-process fake is reachable"):
            requests.get(other_host, timeout=5)

    @pytest.mark.videomock(passthrough=True)
    def test_passthrough(videomock, other_host):
        assert requests.get(other_host, timeout=5).text == "real network"
    """)
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("directive, error", [
    ("reset", "requests.ConnectionError"),
    ("empty", "requests.ConnectionError"),
    ("truncate", "requests.exceptions.ChunkedEncodingError"),
    ("delay=30", "requests.exceptions.ReadTimeout"),
    ("dribble=4/5", "requests.ConnectionError"),
])
def test_in_process_transport_faults_raise_what_requests_would(pytester: pytest.Pytester, directive: str, error: str) -> None:
    result = run(pytester, COMMON + f"""
    def test_fault(videomock):
        task_id = submit(videomock).json()["task_id"]
        with pytest.raises({error}):
            requests.get(f"{{videomock.url}}/v1/video/generations/{{task_id}}",
                         headers=videomock.headers | {{"X-Videomock-Fault": "{directive}"}}, timeout=1)
    """)
    result.assert_outcomes(passed=1)


def test_xdist_workers_do_not_share_state(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_parallel=textwrap.dedent(COMMON + """
    @pytest.mark.parametrize("n", range(8))
    @pytest.mark.parametrize("name", ["videomock_server", "videomock"])
    def test_isolated(request, name, n):
        fake = request.getfixturevalue(name)
        for _ in range(n + 1):
            submit(fake, prompt=f"test {n}")
        prompts = {t["params"]["prompt"] for t in fake.tasks}
        assert prompts == {f"test {n}"} and len(fake.tasks) == n + 1
    """))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=16)
    result.stdout.fnmatch_lines(["*2 workers*"])
