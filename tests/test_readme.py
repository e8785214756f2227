"""The README's pytest section is run, not only read: each of its Python snippets is a test file in a fresh
pytest session (pytester), as a user pasting it would have it, and its how-to table lists exactly the files
of tests/examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Testing with pytest"


def pytest_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION + "\n")
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end != -1 else len(text)]


def snippets() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", pytest_section(), flags=re.S | re.M)


def test_the_section_has_snippets_for_each_way_in() -> None:
    joined = "\n".join(snippets())
    for needle in ("(videomock)", "httpx_client()", "def videomock_config", "videomock.fake(", "serve_in_thread("):
        assert needle in joined


def test_every_snippet_passes_as_a_test_file(pytester: pytest.Pytester) -> None:
    found = snippets()
    pytester.makepyfile(**{f"test_readme_{n}": code for n, code in enumerate(found)})
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    tests = sum(len(re.findall(r"^\s*def test_", code, flags=re.M)) for code in found)
    result.assert_outcomes(passed=tests)


def test_the_how_to_table_lists_every_example_file() -> None:
    listed = set(re.findall(r"^\| `(test_\w+\.py)` \|", pytest_section(), flags=re.M))
    assert listed == {path.name for path in (ROOT / "tests" / "examples").glob("test_*.py")}


def test_the_models_table_shows_each_catalog_models_limits_and_names() -> None:
    """The table is written by hand for reading; the catalog is the truth, and the table must not drift from it."""
    from videomock.contracts import default_catalog

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([\w.-]+)` \|(.*)\|$", text[text.index("### Models"):
                                                                                     text.index("\n## ", text.index("### Models"))], flags=re.M)}
    catalog = default_catalog()
    assert set(rows) == set(catalog)
    for model_id, spec in catalog.items():
        cells = [cell.strip() for cell in rows[model_id].split("|")]
        assert cells[2] == ", ".join(map(str, spec.fps)) and cells[3] == str(spec.prompt_max_length), model_id
        for dialect in ("kling", "gemini", "vertex", "openai"):
            assert all(f"`{name}`" in cells[4] for name in spec.names_in(dialect)), (model_id, dialect)
        assert (cells[5] == "none") == (spec.entry.get("audio", False) is False), model_id   # the Sound column
