"""Helpers of the embedding tests (tkestack's components in an enterprise's own program):
the Python enterprise example rendered under mocks, and the component package's provider."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from typing import Any

import yaml
from conftest import ROOT

from tkestack import engine
from tkestack.components import package

PYTHON_EXAMPLE = ROOT / "examples" / "python-enterprise"


def run_python_example(
    then: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[engine.Rendering, dict[str, Any], dict[str, Any]]:
    """Render examples/python-enterprise with its stack config; (rendering, config values,
    the program's module globals). `then` runs inside the program, after it, with them."""
    project = yaml.safe_load((PYTHON_EXAMPLE / "Pulumi.yaml").read_text())["name"]
    values = yaml.safe_load((PYTHON_EXAMPLE / "Pulumi.dev.yaml").read_text())["config"]
    config = {key: v if isinstance(v, str) else json.dumps(v) for key, v in values.items()}
    module: dict[str, Any] = {}

    def program() -> None:
        module.update(runpy.run_path(str(PYTHON_EXAMPLE / "__main__.py")))
        if then is not None:
            then(module)

    rendering = engine.run_program(program, project=project, stack="dev", config=config)
    plain = {key.split(":", 1)[1]: value for key, value in values.items()}
    return rendering, plain, module


def hosted() -> package.PackageProvider:
    """The component package's provider, as `pulumi` would host it."""
    return package.PackageProvider(version="0.0.0")
