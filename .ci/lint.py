"""`make lint`: ruff, the layer contracts (import-linter) and mypy, over the `videomock` namespace.

The repository keeps the folders the customer fixed (mock_server/, contracts/, ...), and setuptools maps them
onto one import namespace (``[tool.setuptools.package-dir]``). Import-linter and mypy find modules by walking
directories, so they are run over a mirror of the installed layout: a tree of links to the source files,
built here in milliseconds. Their reports are translated back to the source paths.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT / "build" / "lint"
BIN = Path(sys.executable).parent


def package_dirs() -> dict[str, Path]:
    """Package name -> its folder, as pyproject.toml maps them."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in settings.items()}


def build_mirror() -> dict[Path, Path]:
    """Link every source file into MIRROR at its installed place; returns mirror path -> source path."""
    shutil.rmtree(MIRROR, ignore_errors=True)
    mapped = package_dirs()
    links: dict[Path, Path] = {}
    for name, folder in sorted(mapped.items()):
        others = [other for other in mapped.values() if other != folder and other.is_relative_to(folder)]
        for source in folder.rglob("*.py"):
            if "__pycache__" in source.parts or any(source.is_relative_to(o) for o in others):
                continue
            target = MIRROR.joinpath(*name.split("."), source.relative_to(folder))
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(source, target)
            links[target] = source
    return links


def run(command: list[str], links: dict[Path, Path], *, cwd: Path = ROOT) -> int:
    """Run a checker and print its output with mirror paths shown as source paths."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONPATH": str(MIRROR)})
    by_text = {str(m.relative_to(cwd) if m.is_relative_to(cwd) else m): str(s.relative_to(ROOT)) for m, s in links.items()}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(by_text, key=len, reverse=True)))
    output = pattern.sub(lambda m: by_text[m.group(0)], result.stdout + result.stderr)
    sys.stdout.write(output)
    return result.returncode


def main() -> int:
    links = build_mirror()
    failed = 0
    print("== ruff", flush=True)
    failed |= run([str(BIN / "ruff"), "check", "."], links)
    print("== layers (import-linter)", flush=True)
    failed |= run([str(BIN / "lint-imports"), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")], links, cwd=MIRROR)
    print("== mypy", flush=True)
    failed |= run([str(BIN / "mypy"), "--config-file", str(ROOT / "pyproject.toml"),
                   "--cache-dir", str(ROOT / "build" / "mypy-cache"), "-p", "videomock"], links, cwd=MIRROR)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
