"""videomock as it is installed: one top-level package, and a plugin that never collides with its users.

A pytest plugin is imported into every test session of the environment it is installed in, so generic
top-level names (``fixtures``, ``contracts``) would shadow the user's own packages of those names.
"""

from __future__ import annotations

import os
import shutil
import string
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(ROOT)], check=True, capture_output=True, timeout=TIMEOUT_SECONDS)
    (built,) = out.glob("videomock-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_installs_nothing_at_the_top_level_but_videomock(wheel: zipfile.ZipFile) -> None:
    top = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in top if not t.endswith(".dist-info")} == {"videomock"}


def test_the_wheel_holds_every_module_and_data_file_of_the_mapped_folders(wheel: zipfile.ZipFile) -> None:
    """A sub-package missing from pyproject's package list would be left out of the wheel silently."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    expected = set()
    for package, folder in mapping.items():
        nested = [f for p, f in mapping.items() if p != package and Path(f).is_relative_to(folder)]
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT)
            if (path.is_file() and path.suffix in (".py", ".json", ".ttf", ".html", ".js", ".css") and "__pycache__" not in path.parts
                    and not any(relative.is_relative_to(n) for n in nested)):
                expected.add("/".join([*package.split("."), *path.relative_to(ROOT / folder).parts]))
    assert expected - set(wheel.namelist()) == set()


def test_the_pytest_entry_point_names_the_namespaced_plugin(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "videomock = videomock.pytest_plugin.plugin" in text and "videomock = videomock.cli:main" in text


#: The user's own packages: named as two folders of this repository are, which must not shadow them.
USER_ROOT_PACKAGE, USER_TESTS_PACKAGE = "contracts", "fixtures"
USER_TEST = string.Template('''
    import requests

    from $root import RULES
    from $tests.data import GREETING


    def test_my_packages_and_the_fake_get_along(videomock):
        assert GREETING == "hello" and RULES == ["mine"]
        headers = {"Authorization": f"Bearer {videomock.api_key}"}
        body = {"model": "veo_3_1", "prompt": "a fox", "duration": 4}
        task = requests.post(f"{videomock.url}/v1/video/generations", json=body, headers=headers).json()
        polled = requests.get(f"{videomock.url}/v1/video/generations/{task['task_id']}", headers=headers).json()
        assert polled["status"] == "completed"


    def test_the_live_fixture_too(videomock_server):
        assert requests.get(f"{videomock_server.url}/healthz").json()["status"] == "ok"
''').substitute(root=USER_ROOT_PACKAGE, tests=USER_TESTS_PACKAGE)


def test_a_user_project_with_its_own_fixtures_and_contracts_packages(tmp_path: Path) -> None:
    """The project has a root ``contracts`` package and a ``tests/fixtures`` package that its tests import as
    ``fixtures``; both are the names of folders in this repository."""
    assert (ROOT / USER_ROOT_PACKAGE).is_dir() and (ROOT / USER_TESTS_PACKAGE).is_dir()
    (tmp_path / USER_ROOT_PACKAGE).mkdir()
    (tmp_path / USER_ROOT_PACKAGE / "__init__.py").write_text('RULES = ["mine"]\n')
    fixtures = tmp_path / "tests" / USER_TESTS_PACKAGE
    fixtures.mkdir(parents=True)
    (fixtures / "__init__.py").write_text("")
    (fixtures / "data.py").write_text('GREETING = "hello"\n')
    (tmp_path / "tests" / "test_mine.py").write_text(textwrap.dedent(USER_TEST))
    (tmp_path / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=tmp_path,
                            env=environment, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout


def test_a_fresh_user_project_runs_the_how_to_tests_from_the_installed_wheel(wheel: zipfile.ZipFile,
                                                                                tmp_path: Path) -> None:
    """The how-to tests (openai in-process sync and async, responses beside the fake, both fixtures in one
    test, an overridden videomock_config, videomock.fake() from unittest) in a project of their own: its own
    venv with the wheel installed into it, under ``pytest -n 2``. The venv borrows this one's third-party
    packages through a .pth line (no network), which does not activate this checkout's editable install."""
    import sysconfig

    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=TIMEOUT_SECONDS)
    python = env / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(site),
                    str(wheel.filename)], check=True, capture_output=True, timeout=TIMEOUT_SECONDS)
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    project = tmp_path / "project"
    tests = project / "tests"
    tests.mkdir(parents=True)
    for example in (ROOT / "tests" / "examples").glob("test_*.py"):
        (tests / example.name).write_text(example.read_text())
    shutil.copytree(ROOT / "tests" / "examples" / "cassettes", tests / "cassettes")
    (tests / "test_installed.py").write_text(textwrap.dedent(f"""
        import videomock

        def test_videomock_is_the_installed_wheel():
            assert videomock.__file__.startswith({str(site)!r})
    """))
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "tests"],
                            cwd=project, env=environment, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    expected = sum(path.read_text().count("\ndef test_") + path.read_text().count("\n    def test_")
                   for path in tests.glob("test_*.py"))
    expected += len(list((tests / "cassettes").glob("*.json"))) - 1   # cassette_cases: a test per cassette
    assert f"{expected} passed" in result.stdout, result.stdout[-2000:]
