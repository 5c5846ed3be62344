"""Project files: Pulumi.yaml valid against Pulumi's own schema; stack files well-formed."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import ROOT

SCHEMA_PATH = ROOT.parent / "shared" / "schemas" / "pulumi-project.schema.json"


@pytest.mark.skipif(not SCHEMA_PATH.exists(), reason="shared/schemas is not beside the repo")
def test_pulumi_yaml_is_valid_against_the_project_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    jsonschema.Draft202012Validator(schema).validate(project)
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert (ROOT / project["main"] / "__main__.py").is_file()


def test_schema_check_rejects_a_broken_project() -> None:
    """The schema test above can fail: a project without a runtime is rejected."""
    if not SCHEMA_PATH.exists():
        pytest.skip("shared/schemas is not beside the repo")
    schema = json.loads(SCHEMA_PATH.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({"name": "tkestack"})


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_stack_files_disable_default_providers(env: str) -> None:
    path = ROOT / f"Pulumi.{env}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} not written yet")
    config = yaml.safe_load(path.read_text())["config"]
    assert config["pulumi:disable-default-providers"] == ["*"]
    assert config["tkestack:environment"]["name"] == env


def editable_installs(requirements: Path) -> list[Path]:
    """The directories `requirements` installs editable, resolved the way Pulumi's pip
    toolchain resolves them: pip runs in the directory holding the file (the program
    directory), so relative paths are relative to it."""
    directories = []
    for line in requirements.read_text().split("\n"):
        if line.startswith("-e "):
            directories.append((requirements.parent / line.removeprefix("-e ").strip()).resolve())
    return directories


def test_requirements_install_the_project_into_the_stack_virtualenv() -> None:
    """Pulumi's pip toolchain reads `requirements.txt` in the program directory (`main`),
    not at the project root, and creates the virtualenv relative to the project root
    (pulumi/pulumi sdk/python/toolchain/pip.go: InstallDependencies runs `pip install -r
    requirements.txt` with cwd = program directory; resolveVirtualEnvironmentPath joins the
    root)."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    requirements = ROOT / project["main"] / "requirements.txt"
    assert editable_installs(requirements) == [ROOT.resolve()]
    assert not (ROOT / "requirements.txt").exists(), "Pulumi never reads a root requirements.txt"


def test_component_package_requirements_install_the_project() -> None:
    """A plugin's program directory is its own folder: `components/requirements.txt` is read
    there, and its virtualenv (`../.venv`) is the project's."""
    manifest = yaml.safe_load((ROOT / "components" / "PulumiPlugin.yaml").read_text())
    assert (ROOT / "components" / manifest["runtime"]["options"]["virtualenv"]).resolve() == (
        ROOT / ".venv"
    ).resolve()
    assert editable_installs(ROOT / "components" / "requirements.txt") == [ROOT.resolve()]


def test_dependencies_are_pinned_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert ">=" in requirement and "<" in requirement, requirement


def test_no_module_of_the_component_package_shadows_the_standard_library() -> None:
    """`python components/` (the plugin run as a script) puts `components/` first on
    `sys.path`, where a module named like a standard one (`profile.py` was) shadows it for
    every later import in the process: no top-level module there is named after one
    (`sys.stdlib_module_names`). `stacks/` (Pulumi's program folder, also first on the path)
    has `platform.py`, which is harmless only because Pulumi's executor imports the standard
    `platform` (through `pulumi`) before it runs the program."""
    import sys

    folder = ROOT / "components"
    names = {
        entry.stem
        for entry in folder.iterdir()
        if (entry.suffix == ".py" or (entry / "__init__.py").is_file())
        and entry.stem not in ("__init__", "__main__")
    }
    assert {"catalog", "contracts", "package"} <= names  # the walk sees the modules
    assert sorted(names & sys.stdlib_module_names) == []
