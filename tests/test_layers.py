"""Layering: loading and validating an environment spec imports no Pulumi module.

The spec layer (stacks/spec.py, rules.py, loader.py) and the catalog it reads are plain data
and rules; pulling the Pulumi SDKs in through `tkestack.components`' `__init__` made every
spec load import ~600 modules. Measured in a fresh interpreter so that nothing else this test
session imported counts.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

from conftest import ROOT

PROGRAM = """
import json, sys
from pathlib import Path
from tkestack.stacks import loader
config, text = loader.load_stack_file(Path("Pulumi.prod.yaml"))
loaded = loader.load_environment(config["tkestack:environment"], "Pulumi.prod.yaml", text)
print(json.dumps({
    "clusters": len(loaded.spec.clusters),
    "pulumi": sorted(m for m in sys.modules if m.split(".")[0].startswith("pulumi")),
}))
"""


def test_loading_and_validating_a_spec_imports_no_pulumi_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, check=True
    )
    measured = json.loads(result.stdout)
    assert measured["clusters"] == 4  # prod was really loaded and validated
    assert measured["pulumi"] == []


def test_the_public_surface_still_resolves_every_name() -> None:
    import tkestack.components as components

    assert set(components.__all__) == set(components._EXPORTS)
    for name, module in components._EXPORTS.items():
        # The same object as the defining submodule's (aliases such as ExistingNetworkArgs too).
        defining = importlib.import_module(f"tkestack.components{module}")
        assert getattr(components, name) is getattr(defining, name)
