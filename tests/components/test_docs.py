"""docs/components/*.md cannot drift from the code.

Each page's reference sections (inputs, types, requiredness, defaults, outputs and their
secrecy) are generated from the code by components/reference.py, and docs/components/package.md
from the golden package schema; a page that differs fails here. Regenerate them with
`TKESTACK_UPDATE_DOCS=1 pytest tests/components/test_docs.py` and review the diff. Python
examples in the pages import only what `tkestack.components` offers, and the ones marked
`# example: runs` run under the mock engine.
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import pytest
from conftest import ROOT

import tkestack.components as components
from tkestack import engine
from tkestack.components import reference

PAGES = ROOT / "docs" / "components"
UPDATE = "TKESTACK_UPDATE_DOCS"
HOW_TO_UPDATE = f"regenerate with `{UPDATE}=1 pytest tests/components/test_docs.py`, review"
RUNS = "# example: runs"
"""First line of a page's Python example that runs under the mock engine in this test."""


def pages() -> list[str]:
    return sorted({entry.page for entry in reference.COMPONENTS})


def check_or_update(path: Path, expected: str) -> None:
    if os.environ.get(UPDATE) == "1":
        path.write_text(expected, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == expected, f"{path.name} is stale: {HOW_TO_UPDATE}"


@pytest.mark.parametrize("page", pages())
def test_reference_sections_match_the_code(page: str) -> None:
    path = PAGES / page
    entries = [entry for entry in reference.COMPONENTS if entry.page == page]
    check_or_update(path, reference.with_references(path.read_text(encoding="utf-8"), entries))


def test_package_page_matches_the_golden_schema() -> None:
    path = PAGES / "package.md"
    schema = json.loads((ROOT / "tests" / "golden" / "schema.json").read_text())
    section = reference.package_reference(schema)
    check_or_update(
        path, reference.with_section(path.read_text(encoding="utf-8"), "package", section)
    )


def test_a_reference_shows_inputs_defaults_and_secret_outputs() -> None:
    section = reference.reference_section(reference.entry(components.Cluster))
    assert (
        "| `existing_network` | `ExistingNetwork | None` | no | none, a network is created |"
        in section.replace("\\|", "|")
    )
    assert "| `kubeconfig` | `pulumi.Output[str]` | yes |" in section
    assert "| `endpoint` | `pulumi.Output[str]` | no |" in section


def python_examples() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(PAGES.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"```python\n(.*?)```", text, re.S):
            line = text[: match.start()].count("\n") + 2
            found.append((path.name, line, match.group(1)))
    return found


EXAMPLES = python_examples()


@pytest.mark.parametrize(
    ("page", "line", "code"), EXAMPLES, ids=[f"{p}:{n}" for p, n, _ in EXAMPLES]
)
def test_python_examples_use_only_the_public_surface(page: str, line: int, code: str) -> None:
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tkestack"):
            module = __import__(node.module, fromlist=["_"])
            for alias in node.names:
                assert hasattr(module, alias.name), f"{page}:{line}: {node.module}.{alias.name}"


RUNNABLE = [example for example in EXAMPLES if example[2].startswith(RUNS)]


@pytest.mark.parametrize(
    ("page", "line", "code"), RUNNABLE, ids=[f"{p}:{n}" for p, n, _ in RUNNABLE]
)
def test_runnable_examples_render(page: str, line: int, code: str) -> None:
    compiled = compile(code, f"{page}:{line}", "exec")
    rendering = engine.run_program(lambda: exec(compiled, {"__name__": "example"}))
    assert any(resource.type.startswith("tkestack:index:") for resource in rendering.resources)


def test_the_embedding_pages_have_runnable_examples() -> None:
    runnable = {page for page, _, _ in RUNNABLE}
    assert {"cluster.md", "node_pool.md", "platform_services.md", "tenant.md"} <= runnable
