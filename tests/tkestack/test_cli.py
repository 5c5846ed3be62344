"""The command line as a package user meets it: --version, `python -m tkestack`, a program
folder (`--program DIR`), usage errors away from a project, the project's own policy config."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

import tkestack
from tkestack import metadata, report, review
from tkestack.cli import app

# click < 8.2 (what typer's lowest allowed version resolves to in `make lowest`) mixes stderr
# into stdout unless told not to; click >= 8.2 always keeps them apart and dropped the flag.
runner = (
    CliRunner(mix_stderr=False)
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters
    else CliRunner()
)
EXAMPLE = ROOT / "examples" / "python-enterprise"


def test_version_prints_the_one_version_source() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"tkestack {tkestack.__version__}\n"


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("render", "review", "graph"):
        assert command in result.stdout


@pytest.mark.slow
def test_python_dash_m_tkestack_runs_the_cli(fresh_renders) -> None:
    """`python -m tkestack --version`, run in the fresh interpreter of conftest's
    `fresh_renders` (as `-m` runs a module: `runpy`), exits 0 printing the version."""
    status, printed = fresh_renders["python-m-tkestack-version"].decode().split("\n", 1)
    assert status == "0", printed
    assert printed.strip() == f"tkestack {tkestack.__version__}"


def test_render_program_renders_the_python_enterprise_example() -> None:
    result = runner.invoke(app, ["render", "--program", str(EXAMPLE), "dev", "-f", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["environment"] == {"project": "acme-payments", "stack": "dev"}
    names = {resource["name"] for resource in document["resources"]}
    assert {"acme-aws", "payments", "payments-platform", "payments-team"} <= names


def test_review_program_runs_the_pack_over_the_example() -> None:
    result = runner.invoke(app, ["review", "--program", str(EXAMPLE), "dev", "-f", "json"])
    assert result.exit_code in (0, 1), result.output  # 1: mandatory findings, still a review
    document = json.loads(result.stdout)
    assert document["environment"] == "dev"
    rendered = runner.invoke(app, ["render", "--program", str(EXAMPLE), "dev", "-f", "json"])
    # Every resource of the example's render is reviewed.
    assert document["resources"] == len(json.loads(rendered.stdout)["resources"]) > 0
    assert document["pack"]["name"] and document["policies"]


def test_program_without_pulumi_yaml_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", "--program", str(tmp_path), "dev"])
    assert result.exit_code == 2
    assert "no Pulumi.yaml" in result.stderr


def test_a_yaml_program_is_refused_naming_its_file() -> None:
    program = ROOT / "examples" / "yaml-enterprise"
    result = runner.invoke(
        app, ["render", "--program", str(program), str(EXAMPLE / "Pulumi.dev.yaml")]
    )
    assert result.exit_code == 2
    assert "runtime 'yaml'" in result.stderr and "Pulumi.yaml" in result.stderr


def test_base_with_program_is_a_usage_error() -> None:
    result = runner.invoke(app, ["review", "--program", str(EXAMPLE), "dev", "--base", "HEAD"])
    assert result.exit_code == 2
    assert "--base" in result.stderr


def test_stack_file_away_from_any_project_is_a_usage_error(tmp_path: Path, monkeypatch) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    shutil.copy(ROOT / "Pulumi.dev.yaml", stack_file)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["render", str(stack_file)])
    assert result.exit_code == 2
    assert "no Pulumi project (Pulumi.yaml)" in result.stderr
    result = runner.invoke(app, ["render", "dev"])
    assert result.exit_code == 2


def test_a_copied_project_renders_away_from_the_checkout(tmp_path: Path, monkeypatch) -> None:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["graph", "dev"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart")


def test_the_projects_own_policy_config_overrides_the_shipped_one(tmp_path: Path) -> None:
    shipped = review.config_file_for("dev", "dev", tmp_path)
    assert shipped == review.POLICY_DIR / "config" / "dev.json"
    own = tmp_path / "policies" / "config" / "dev.json"
    own.parent.mkdir(parents=True)
    own.write_text("{}", encoding="utf-8")
    assert review.config_file_for("dev", "dev", tmp_path) == own
    # The tier's file of the project wins over the shipped file of the environment name.
    assert review.config_file_for("qa", "dev", tmp_path) == own


def test_no_policy_config_anywhere_names_every_folder_searched(tmp_path: Path) -> None:
    with pytest.raises(review.ReviewError, match=str(tmp_path)):
        review.config_file_for("qa", "nonexistent-tier", tmp_path)


def test_links_in_outputs_come_from_the_project_metadata() -> None:
    documentation = metadata.project_urls()["Documentation"]
    assert f"{documentation}/policies.md" == report.INFORMATION_URI
    from tkestack.policies import pack

    assert pack.DOCS_URL == report.INFORMATION_URI
