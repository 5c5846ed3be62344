"""The cloud SDKs' service packages as a fresh interpreter loads them: as shipped, after what
the `pulumi up` program imports (conftest's `pulumi_up_interpreter`), or through the engine's
module-by-module finder (tests/tkestack/test_lazy_sdk.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from conftest import ROOT

PACKAGES = (
    "pulumi_aws.ec2",
    "pulumi_aws.eks",
    "pulumi_aws.iam",
    "pulumi_aws.cloudwatch",
    "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.rbac.v1",
    "pulumi_kubernetes.networking.v1",
    "pulumi_kubernetes.helm.v3",
    "tencentcloud_iac_pulumi.kubernetes",
    "tencentcloud_iac_pulumi.cam",
)
"""Service packages the shipped environments use (prod renders all of them)."""

NAMES = """
import importlib, json, sys
lazy = sys.argv[1] == "lazy"
result = {}
if lazy:
    from tkestack import engine  # installs the finder
    # Naming one class loads its module, not the whole service (before anything else loads).
    import pulumi_aws as aws
    import pulumi_aws.ec2.vpc as vpc_module
    assert aws.ec2.Vpc is vpc_module.Vpc
    assert aws.ec2.LaunchTemplateBlockDeviceMappingArgs.__module__ == "pulumi_aws.ec2._inputs"
    try:
        aws.ec2.NoSuchThing
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("an unknown name resolved")
    result["ec2 modules loaded"] = sorted(m for m in sys.modules if m.startswith("pulumi_aws.ec2."))
else:
    import pulumi.runtime.resource
    import tkestack.stacks.program  # what stacks/__main__.py imports under `pulumi up`
    from tkestack import lazy_sdk
    assert not lazy_sdk.installed()
    import pulumi_aws
    assert pulumi_aws.ec2.Vpc
    result["ec2 loader"] = type(pulumi_aws.ec2.__spec__.loader).__name__
wanted = json.loads(sys.stdin.read() or "{}")
for name in json.loads(sys.argv[2]):
    package = importlib.import_module(name)
    package.outputs  # a lazy module (the SDK's lazy_import) loads on its first attribute
    public = [n for n in dir(package) if not n.startswith("_") and n != "typing"]
    names = sorted(wanted.get(name, public))
    result[name] = {
        n: f"{getattr(getattr(package, n), '__module__', '')}:"
        f"{getattr(getattr(package, n), '__qualname__', getattr(package, n).__class__.__name__)}"
        for n in names
    }
    result[name + " listed"] = sorted(public)
if not lazy:
    # Importing the engine changes nothing either: the SDK's stack-trace capture and the
    # functions the engine replaces while it runs (sdk_internals.REPLACEMENTS) stay the SDK's.
    from tkestack import engine
    from tkestack.sdk_internals import REPLACEMENTS
    where = [("pulumi.runtime.resource", "_get_stack_trace")]
    where += [(replaced.module, replaced.function) for replaced in REPLACEMENTS]
    result["sdk functions"] = {}
    for module, function in where:
        found = getattr(importlib.import_module(module), function)
        result["sdk functions"][f"{module}:{function}"] = f"{found.__module__}:{found.__qualname__}"
print(json.dumps(result))
"""
"""Run by fresh interpreters: `eager` loads the packages as shipped, after importing what
the `pulumi up` program imports (which must leave the SDKs as shipped), then imports the
engine and names the SDK functions the engine replaces while it runs; `lazy` loads them
through the engine's finder, first naming single classes, then every name `eager` found."""


def names(mode: str, wanted: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """What NAMES prints in a fresh interpreter in `mode` (`eager` or `lazy`); `wanted`: the
    names to look up per package (default: every public name)."""
    completed = subprocess.run(
        [sys.executable, "-c", NAMES, mode, json.dumps(PACKAGES)],
        cwd=ROOT,
        input=json.dumps(wanted or {}),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)
