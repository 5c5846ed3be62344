"""Load a typed cloud SDK's service package one module at a time (issue 21, target 4).

The generated Pulumi SDKs (pulumi_aws, pulumi_kubernetes, tencentcloud_iac_pulumi) already
load each service package (`pulumi_aws.ec2`, `pulumi_kubernetes.core.v1`) on first use
(`_utilities.lazy_import`), but a service package's `__init__.py` then star-imports every
module of the service: naming `aws.ec2.Vpc` builds the ~180 resource and function classes
of EC2, and their argument classes, although prod uses 9 of them. That was about a fifth of
a cold `tkestack render prod` (CPU seconds, measured side by side: bench/run.py).

`install()` puts a finder first on `sys.meta_path` that gives such a package a loader which,
instead of running its `__init__.py`, answers each name on first access (the module's class
becomes `_ServicePackage`, whose `__getattr__` runs when a name is not bound yet) from the
one module that exports it, read from that module's `__all__` line: the same object the
star import would have bound (a later module's name wins, as there, and a function module
`get_x` binds its function `get_x`, not itself). `_enums` and `_inputs` (whose names are
many) are imported when a name is in no other module; `outputs` and every star-imported
module name give the submodule, as the package's own import binds it.

The loader is used only when the package's `__init__.py` has exactly the generated shape
(header, `import typing`, `from .. import _utilities`, `from .X import *` lines and
`from . import outputs`), and every star-imported module has an `__all__` list or only
top-level statements whose bindings are known without running them (`bound_names`:
pulumi_kubernetes' hand-written `helm/v3/helm.py`, the v3 `Chart`, whose import pulls in
`pulumi_kubernetes.yaml` and `requests`, ~30 ms of a cold render that uses only `Release`;
its top-level statements are the same in 4.20.0 and 4.34.2); anything else runs the
package's own `__init__.py` unchanged. Checked at both ends of the ranges
pyproject.toml allows: pulumi_aws 7.5.0 and 7.51.1, pulumi_kubernetes 4.20.0 and 4.34.2,
tencentcloud_iac_pulumi 0.2.3 (floors and constraints.txt pins; their generators,
pulumi-language-python and pulumigen, write this shape): every public name of eight service
packages resolved to the same object lazily and as shipped (tests/tkestack/test_lazy_sdk.py
checks the installed versions).

Only the offline engine's process installs it (`tkestack.engine` on import): `pulumi up`
runs `stacks/__main__.py`, which never imports the engine, so the SDKs load as shipped.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGES = ("pulumi_aws", "pulumi_kubernetes", "tencentcloud_iac_pulumi")
"""Top-level SDK packages whose service packages load module by module."""

AGGREGATES = ("_enums", "_inputs")
"""Star-imported modules holding many names (enums, argument types): imported on a miss."""

_HEADER_LINES = frozenset(
    {
        "import builtins as _builtins",
        "import typing",
        "from . import outputs",
        "from .. import _utilities",
        "from ... import _utilities",
        "from .... import _utilities",
    }
)
_STAR_IMPORT = re.compile(r"from \.([A-Za-z_][A-Za-z0-9_]*) import \*")
_ALL = re.compile(r"^__all__ = \[([^\]]*)\]", re.MULTILINE)
_QUOTED_NAME = re.compile(r"['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]")


def star_imported(init_file: Path) -> list[str] | None:
    """The modules a generated service package's `__init__.py` star-imports, in order; None
    when the file has any other statement (then it is not one of ours to load lazily)."""
    modules = []
    for raw in init_file.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line in _HEADER_LINES:
            continue
        match = _STAR_IMPORT.fullmatch(line)
        if match is None:
            return None
        modules.append(match.group(1))
    return modules


def exported_names(module_file: Path) -> list[str] | None:
    """The names a star import of a generated module binds, without importing it: its
    `__all__` list, or for a module without one (pulumi_kubernetes' hand-written
    `helm/v3/helm.py`) its public top-level bindings (`bound_names`); None when neither
    can be read."""
    with module_file.open(encoding="utf-8") as handle:
        text = handle.read(8192)
    found = _ALL.search(text)
    if found is None:
        text = module_file.read_text(encoding="utf-8")
        found = _ALL.search(text)
    if found is None:
        return bound_names(text)
    return _QUOTED_NAME.findall(found.group(1))


def bound_names(text: str) -> list[str] | None:
    """The public names a module without `__all__` binds at top level, which is what `from
    module import *` binds (every name not starting with `_`): its imports (`import a.b`
    binds `a`), classes, functions and assignments to plain names. None when the module has
    any other top-level statement (a conditional, a loop, a star import, an assignment to
    anything but names): then what it binds is not known without running it."""
    names: list[str] = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.Import):
            names += [alias.asname or alias.name.partition(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                return None
            names += [alias.asname or alias.name for alias in node.names]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(target, ast.Name) for target in targets):
                return None
            if isinstance(node, ast.AnnAssign) and node.value is None:
                continue  # an annotation alone binds nothing
            names += [target.id for target in targets if isinstance(target, ast.Name)]
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            return None  # a docstring is the only other statement that binds nothing
    return [name for name in dict.fromkeys(names) if not name.startswith("_")]


def name_index(package_dir: Path, modules: Sequence[str]) -> dict[str, str] | None:
    """Which star-imported module binds each name (the last one, as the star imports would),
    aggregates left out; None when a module's exports cannot be read."""
    index: dict[str, str] = {}
    for module in modules:
        if module in AGGREGATES:
            continue
        names = exported_names(package_dir / f"{module}.py")
        if names is None:
            return None
        for name in names:
            index[name] = module
    return index


class _ServicePackage(ModuleType):
    """A generated service package whose names resolve on first access."""

    _tkestack_index: dict[str, str]
    """Name -> the star-imported module that binds it."""
    _tkestack_modules: frozenset[str]
    """Every star-imported module."""
    _tkestack_aggregates: tuple[str, ...]
    """`_enums`, `_inputs` (those the package has), in star-import order."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_tkestack_"):
            raise AttributeError(name)
        package = self.__name__
        index = self._tkestack_index
        if name in index:
            value = getattr(importlib.import_module(f"{package}.{index[name]}"), name)
        elif name == "outputs" or name in self._tkestack_modules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            for aggregate in reversed(self._tkestack_aggregates):  # `_inputs` comes last
                source = importlib.import_module(f"{package}.{aggregate}")
                if name in getattr(source, "__all__", ()):
                    value = getattr(source, name)
                    break
            else:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
        ModuleType.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # The import system binds a submodule on its package once it is imported. In the
        # package's own `__init__.py` the star import then rebinds that name to what the
        # module exports under it (`get_ami` the function, not the module): keep doing so.
        index = self.__dict__.get("_tkestack_index", {})
        if (
            isinstance(value, ModuleType)
            and value.__name__ == f"{self.__name__}.{name}"
            and index.get(name) == name
            and hasattr(value, name)
        ):
            value = getattr(value, name)
        ModuleType.__setattr__(self, name, value)

    def __dir__(self) -> list[str]:
        return sorted({*self.__dict__, *self._tkestack_index, *self._tkestack_modules})


class _ModuleByModuleLoader(importlib.abc.Loader):
    """Loads a generated service package with its names resolved on first access."""

    def __init__(self, original: Any, init_file: Path) -> None:
        self.original = original
        self.init_file = init_file

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        """The default module (with `__path__`, so its submodules import as usual)."""
        return None

    def exec_module(self, module: ModuleType) -> None:
        """Make `module` a `_ServicePackage`, or run the package's own `__init__.py` if it
        is not in the generated shape."""
        modules = star_imported(self.init_file)
        index = None if modules is None else name_index(self.init_file.parent, modules)
        if modules is None or index is None:
            self.original.exec_module(module)
            return
        top = module.__name__.partition(".")[0]
        module.__dict__.update(
            _tkestack_index=index,
            _tkestack_modules=frozenset(modules),
            _tkestack_aggregates=tuple(name for name in AGGREGATES if name in modules),
            _builtins=importlib.import_module("builtins"),
            typing=importlib.import_module("typing"),
            _utilities=importlib.import_module(f"{top}._utilities"),
        )
        module.__class__ = _ServicePackage


class ModuleByModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the service packages of `PACKAGES` as the path finder does, with the lazy
    loader; everything else (top-level packages, modules, other packages) is left to it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """The path finder's spec, its loader wrapped for a generated service package."""
        top, _, rest = fullname.partition(".")
        if top not in PACKAGES or not rest:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.submodule_search_locations is None or spec.origin is None:
            return spec
        if not spec.origin.endswith("__init__.py"):
            return spec
        spec.loader = _ModuleByModuleLoader(spec.loader, Path(spec.origin))
        return spec


def install() -> None:
    """Put the finder first on `sys.meta_path` (once). Service packages imported before keep
    their loader."""
    if not any(isinstance(finder, ModuleByModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, ModuleByModuleFinder())


def installed() -> bool:
    """Whether this process loads the SDKs' service packages module by module."""
    return any(isinstance(finder, ModuleByModuleFinder) for finder in sys.meta_path)
