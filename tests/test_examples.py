"""Every example renders (and reviews) with the CLI, as a user runs it.

Python examples run through `tkestack render --program DIR <stack>` for each of their stack
files; a Pulumi YAML example needs the Pulumi CLI (not here): the CLI refuses it with a
clear message, and tests/components/test_embedding.py checks it against the component
package's schema and runs it through the package's provider instead.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from typer.testing import CliRunner

from tkestack.cli import app
from tkestack.components import catalog

runner = CliRunner()
EXAMPLES = sorted(path.parent for path in (ROOT / "examples").glob("*/Pulumi.yaml"))


def runtime_of(example: Path) -> str:
    runtime = yaml.safe_load((example / "Pulumi.yaml").read_text(encoding="utf-8"))["runtime"]
    return runtime["name"] if isinstance(runtime, dict) else runtime


def python_stacks() -> list[tuple[Path, str]]:
    return [
        (example, stack.name.removeprefix("Pulumi.").removesuffix(".yaml"))
        for example in EXAMPLES
        if runtime_of(example) == "python"
        for stack in sorted(example.glob("Pulumi.*.yaml"))
    ]


def test_there_are_examples_of_both_kinds() -> None:
    assert {runtime_of(example) for example in EXAMPLES} == {"python", "yaml"}
    assert python_stacks()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("example", "stack"), python_stacks(), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_python_example_renders_and_reviews(example: Path, stack: str) -> None:
    rendered = runner.invoke(app, ["render", "--program", str(example), stack, "-f", "json"])
    assert rendered.exit_code == 0, rendered.output
    resources = json.loads(rendered.stdout)["resources"]
    assert resources
    reviewed = runner.invoke(app, ["review", "--program", str(example), stack, "-f", "json"])
    assert reviewed.exit_code in (0, 1), reviewed.output  # 1: mandatory violations found
    assert json.loads(reviewed.stdout)["resources"] == len(resources)


def catalog_data_date() -> date:
    """The date the catalog's Kubernetes support data is as of (its header says)."""
    text = (ROOT / "components" / "catalog" / "kubernetes.yaml").read_text(encoding="utf-8")
    found = re.search(r"Data as of (\d{4}-\d{2}-\d{2})", text)
    assert found, "components/catalog/kubernetes.yaml lost its 'Data as of' date"
    return date.fromisoformat(found.group(1))


def kubernetes_versions_in(example: Path) -> set[str]:
    """Kubernetes minor versions an example asks for (`"1.NN"` strings in its code)."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(example.glob("*.y*ml"))]
    texts += [path.read_text(encoding="utf-8") for path in sorted(example.glob("*.py"))]
    return {match for text in texts for match in re.findall(r'"(1\.\d{2})"', text)}


@pytest.mark.parametrize("example", [e for e in EXAMPLES if runtime_of(e) == "python"], ids=str)
def test_python_example_declares_its_requirements(example: Path) -> None:
    lines = (example / "requirements.txt").read_text(encoding="utf-8").splitlines()
    requirements = [line for line in lines if line and not line.startswith("#")]
    assert "-e ../.." in requirements  # this project, from the checkout
    assert any(line.startswith("pulumi-aws") for line in requirements)


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_examples_use_kubernetes_in_standard_support(example: Path) -> None:
    """No example teaches a version in paid extended support (docs/upgrade-log.md)."""
    versions = kubernetes_versions_in(example)
    assert versions, "the example names its Kubernetes version"
    for version in versions:
        record = catalog.kubernetes_version("aws", version)
        assert record.end_of_standard_support is not None
        assert date.fromisoformat(record.end_of_standard_support) > catalog_data_date(), version


@pytest.mark.parametrize("example", [e for e in EXAMPLES if runtime_of(e) == "yaml"], ids=str)
def test_yaml_example_is_refused_offline_with_a_reason(example: Path) -> None:
    stack = next(iter(sorted(ROOT.glob("Pulumi.*.yaml"))))
    result = runner.invoke(app, ["render", "--program", str(example), str(stack)])
    assert result.exit_code == 2
    assert "only Python programs render offline" in result.stderr
