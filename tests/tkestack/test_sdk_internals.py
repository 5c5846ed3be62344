"""The Pulumi SDK internals tkestack relies on are all still where it expects them.

When this fails, a `pulumi` or `pulumi-policy` release moved something the offline engine
or the pack's once-per-call analyzer uses (tkestack/sdk_internals.py lists each one and why):
keep the cap in pyproject.toml and the pin in constraints.txt until the code is adapted.
"""

from __future__ import annotations

import ast

import pytest
from conftest import ROOT

from tkestack import engine, sdk_internals
from tkestack.sdk_internals import INTERNALS, Internal


def test_every_internal_in_use_is_present_in_the_installed_sdks() -> None:
    moved = sdk_internals.missing()
    assert not moved, "SDK internals moved: " + ", ".join(i.name for i in moved)


def sdk_imports(path: str) -> set[str]:
    """Modules under `pulumi.runtime` / `pulumi_policy` that a file imports from."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "pulumi.runtime":  # `from pulumi.runtime import mocks`
                found.update(f"pulumi.runtime.{alias.name}" for alias in node.names)
            elif node.module.startswith(("pulumi.runtime.", "pulumi_policy.")):
                found.add(node.module)
    return found


@pytest.mark.parametrize(
    "path",
    [
        "tkestack/engine.py",
        *(
            str(path.relative_to(ROOT))
            for path in sorted((ROOT / "tkestack/analyzer").glob("*.py"))
        ),
        "policies/servicer.py",
    ],
)
def test_every_sdk_internal_module_imported_is_listed(path: str) -> None:
    listed = {internal.module for internal in INTERNALS}
    listed |= {module.rsplit(".", 1)[0] for module in listed if ".proto." in module}
    assert sdk_imports(path) - listed == set()


def test_a_moved_internal_is_named_and_stops_the_engine(monkeypatch) -> None:
    gone = Internal("pulumi.runtime.settings", "NO_SUCH_ATTRIBUTE", "tkestack/engine.py", "test")
    monkeypatch.setattr(sdk_internals, "INTERNALS", (*INTERNALS, gone))
    assert sdk_internals.missing() == [gone]
    with pytest.raises(RuntimeError, match=r"pulumi\.runtime\.settings:NO_SUCH_ATTRIBUTE"):
        engine.run_program(lambda: None)


def test_a_missing_module_is_reported_too(monkeypatch) -> None:
    gone = Internal("pulumi.runtime.no_such_module", "", "tkestack/engine.py", "test")
    monkeypatch.setattr(sdk_internals, "INTERNALS", (gone,))
    assert [internal.name for internal in sdk_internals.missing()] == [
        "pulumi.runtime.no_such_module"
    ]
