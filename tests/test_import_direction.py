"""Layers import one way (docs/architecture.md, "Layers").

Every `import` in the four source folders is read with `ast` and resolved to the
`tkestack.*` module it names; each layer may reach only the layers below it:

    tkestack.components.catalog,     the core: data, version parsing, input formats,
      .validation, .limits,          cloud limits, cluster ownership; no Pulumi
      .ownership
    tkestack.stacks spec layer       spec, rules(_access), loader, problems, suggest: the core only
    tkestack.policies rules          the core and policy code only
    tkestack.components              the core and components only
    tkestack.stacks (composition)    components and the spec layer
    tkestack (CLI, engine, review)   anything
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

FOLDERS = {
    "components": "tkestack.components",
    "stacks": "tkestack.stacks",
    "policies": "tkestack.policies",
    "tkestack": "tkestack",
}
CORE = (
    "tkestack.metadata",  # the project's version and links (importlib.metadata, no Pulumi)
    "tkestack.components.catalog",
    "tkestack.components.validation",
    "tkestack.components.limits",
    "tkestack.components.ownership",  # which cluster owns a resource, from recorded data
    "tkestack.components.wire",  # the Pulumi wire signatures and unknown sentinels
)
SPEC_LAYER = tuple(
    f"tkestack.stacks.{name}"
    for name in ("spec", "rules", "rules_access", "loader", "problems", "suggest")
)

# (modules a rule applies to, prefixes they may import from tkestack)
RULES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (CORE, CORE),
    (SPEC_LAYER, (*CORE, *SPEC_LAYER)),
    (("tkestack.policies",), (*CORE, "tkestack.policies")),
    (("tkestack.components",), ("tkestack.components",)),
    (("tkestack.stacks",), ("tkestack.components", "tkestack.stacks")),
]


def module_name(path: Path) -> str:
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = [FOLDERS[folder], *rest]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    """Whether `name` is a module or package of this project."""
    root, *rest = name.split(".")
    if root != "tkestack" or not rest:
        return False
    folder = {package: folder for folder, package in FOLDERS.items()}
    for package, directory in sorted(folder.items(), key=lambda item: -len(item[0])):
        if name == package or name.startswith(package + "."):
            tail = name[len(package) :].lstrip(".").split(".") if name != package else []
            path = ROOT.joinpath(directory, *tail)
            return path.with_suffix(".py").exists() or (path / "__init__.py").exists()
    return False


def imported(path: Path) -> set[str]:
    """The `tkestack.*` modules a source file imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                # `from ..components import catalog` imports the submodule (the package's
                # `__init__` loads nothing eagerly); `from .spec import X` imports `.spec`.
                submodule = f"{target}.{alias.name}"
                found.add(submodule if is_module(submodule) else target)
    return {module for module in found if module == "tkestack" or module.startswith("tkestack.")}


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def sources() -> list[Path]:
    return sorted(
        path
        for folder in FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def violations(name: str, targets: set[str]) -> list[str]:
    """The imports of module `name` that its layer does not allow."""
    for applies, allowed in RULES:
        if within(name, applies):
            return sorted(
                f"{name} imports {target}"
                for target in targets
                if not within(target, allowed) and target != "tkestack"
            )
    return []


@pytest.mark.parametrize("path", sources(), ids=lambda path: str(path.relative_to(ROOT)))
def test_layers_import_one_way(path: Path) -> None:
    assert violations(module_name(path), imported(path)) == []


def test_an_upward_import_is_a_violation() -> None:
    assert violations("tkestack.components.catalog", {"tkestack.components.cluster"}) == [
        "tkestack.components.catalog imports tkestack.components.cluster"
    ]
    assert violations("tkestack.stacks.spec", {"tkestack.stacks.compose"}) != []
    assert violations("tkestack.policies.rules.clusters", {"tkestack.components.contracts"}) != []
    assert violations("tkestack.components.tenant", {"tkestack.stacks.spec"}) != []
    assert violations("tkestack.stacks.compose", {"tkestack.components.cluster"}) == []
    assert violations("tkestack.cli", {"tkestack.stacks.compose"}) == []


def test_imports_resolve_relative_forms() -> None:
    found = imported(ROOT / "stacks" / "spec.py")
    assert "tkestack.components.catalog" in found and "tkestack.components" not in found
