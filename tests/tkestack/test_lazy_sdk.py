"""The cloud SDKs' service packages load module by module in the engine's process, and every
name resolves to the object the package's own `__init__.py` binds (tkestack/lazy_sdk.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import once_per_run
from sdk_support import PACKAGES, names

from tkestack import lazy_sdk


@pytest.fixture(scope="session")
def eager(pulumi_up_interpreter) -> dict:
    """The packages' names as shipped, in a fresh interpreter (the `pulumi up` program's
    imports first: conftest's `pulumi_up_interpreter`)."""
    return pulumi_up_interpreter


@pytest.fixture(scope="session")
def lazy(eager, tmp_path_factory) -> dict:
    """The same names looked up on the lazily loaded packages, in another fresh interpreter
    (once per test run: conftest's `once_per_run`)."""

    def produce(directory: Path) -> None:
        found = names("lazy", {package: sorted(eager[package]) for package in PACKAGES})
        (directory / "lazy.json").write_text(json.dumps(found), encoding="utf-8")

    folder = once_per_run(tmp_path_factory, "lazy-sdk-interpreter", produce)
    return json.loads((folder / "lazy.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_every_name_resolves_to_the_object_the_package_binds(eager, lazy) -> None:
    """Every public name of each package loaded as shipped, looked up on the lazily loaded
    package in another fresh interpreter: the same object (module and qualified name); and
    what the lazy package lists is a subset (the `_inputs` names are listed once loaded)."""
    for package in PACKAGES:
        assert len(eager[package]) > 10  # really compared
        assert lazy[package] == eager[package], package
        assert set(lazy[package + " listed"]) <= set(eager[package + " listed"]), package


@pytest.mark.slow
def test_naming_one_class_loads_its_module_not_the_whole_service(lazy) -> None:
    # (the lookups are asserted in the lazy interpreter, before it loads anything else)
    # vpc, _enums, _inputs, outputs and what they import: a handful, not EC2's ~180.
    assert "pulumi_aws.ec2.vpc" in lazy["ec2 modules loaded"]
    assert len(lazy["ec2 modules loaded"]) < 10


def test_a_package_of_another_shape_is_not_loaded_lazily(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text("from .a import *\nfrom .b import *\nVERSION = 1\n", encoding="utf-8")
    assert lazy_sdk.star_imported(init) is None
    init.write_text(
        "# coding=utf-8\nimport builtins as _builtins\nfrom .. import _utilities\n"
        "import typing\nfrom .a import *\nfrom .b import *\nfrom . import outputs\n",
        encoding="utf-8",
    )
    assert lazy_sdk.star_imported(init) == ["a", "b"]
    (tmp_path / "a.py").write_text("__all__ = ['A', 'AArgs']\n", encoding="utf-8")
    assert lazy_sdk.exported_names(tmp_path / "a.py") == ["A", "AArgs"]
    # No __all__ and a statement whose bindings are not known without running it: the
    # package runs its own __init__.py.
    (tmp_path / "b.py").write_text("import os\nif os.name:\n    A = 1\n", encoding="utf-8")
    assert lazy_sdk.name_index(tmp_path, ["a", "b"]) is None
    for unknowable in ("from os import *\n", "A.b = 1\n", "x, y = 1, 2\n", "for i in []: pass\n"):
        assert lazy_sdk.bound_names(unknowable) is None, unknowable
    (tmp_path / "b.py").write_text("__all__ = [\n    'A',\n    'b_function',\n]\n", "utf-8")
    # The later star import wins, as in the package's own __init__.py.
    assert lazy_sdk.name_index(tmp_path, ["a", "b"]) == {
        "A": "b",
        "AArgs": "a",
        "b_function": "b",
    }


def test_a_module_without_all_exports_what_a_star_import_binds(tmp_path: Path) -> None:
    """Its public top-level bindings (pulumi_kubernetes' `helm/v3/helm.py` has no
    `__all__`): compared with what `from module import *` really binds."""
    source = (
        '"""Doc."""\nimport json\nimport os.path\nimport typing as t\n'
        "from collections import OrderedDict as OD, deque\nfrom . import _private\n"
        "X: int = 1\nY: int\nZ = W = 2\nZ += 1\n_hidden = 3\n"
        "class Chart:\n    inner = 1\n\n\ndef chart(): pass\n"
        "async def _helper(): pass\n"
    )
    names = lazy_sdk.bound_names(source)
    runnable = source.replace("from . import _private\n", "")
    namespace: dict = {}
    exec(compile(runnable, "m", "exec"), namespace)
    star = {name for name in namespace if not name.startswith("_")}
    assert names is not None and set(names) == star
    (tmp_path / "b.py").write_text(source, encoding="utf-8")
    assert lazy_sdk.exported_names(tmp_path / "b.py") == names


@pytest.mark.slow
def test_the_pulumi_up_program_loads_the_sdks_as_shipped(eager) -> None:
    # (the eager interpreter asserts that the program's imports leave the finder uninstalled)
    assert eager["ec2 loader"] != "_ModuleByModuleLoader"
