"""Packaging metadata: one version source, license, typing marker, classifiers, URLs, the
policy pack's own requirements, CHANGELOG sections."""

from __future__ import annotations

import re
import tomllib

import yaml
from conftest import ROOT

import tkestack
from tkestack import metadata

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def test_the_version_is_written_once_and_everything_agrees() -> None:
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tkestack.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", tkestack.__version__)
    pack = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert str(pack["version"]) == tkestack.__version__
    requirements = (ROOT / "policies" / "requirements.txt").read_text(encoding="utf-8")
    assert f"tkestack=={tkestack.__version__}" in requirements.splitlines()


def test_the_changelog_has_a_section_for_the_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (\S+)", changelog, flags=re.MULTILINE)
    assert sections[0] == "Unreleased"
    assert tkestack.__version__ in sections


def test_license_is_an_spdx_expression_with_its_text() -> None:
    assert PROJECT["license"] == "Apache-2.0"  # PEP 639: a string, not the deprecated table
    assert PROJECT["license-files"] == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])  # PEP 639


def test_typed_and_classified() -> None:
    assert (ROOT / "tkestack" / "py.typed").is_file()
    assert "Typing :: Typed" in PROJECT["classifiers"]
    assert "Programming Language :: Python :: 3.11" in PROJECT["classifiers"]
    assert PROJECT["requires-python"] == ">=3.11"


def test_every_package_folder_with_data_is_listed() -> None:
    """setuptools warns (and may drop data) for an importable folder not in `packages`."""
    packages = set(PYPROJECT["tool"]["setuptools"]["packages"])
    dirs = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for package, data in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        assert package in packages, package
        base = next(
            (
                ROOT / folder / package.removeprefix(prefix).lstrip(".").replace(".", "/")
                for prefix, folder in sorted(dirs.items(), key=lambda i: -len(i[0]))
                if package == prefix or package.startswith(prefix + ".")
            ),
        )
        for pattern in data:
            assert list(base.glob(pattern)), f"{package}: {pattern} matches nothing in {base}"


def test_urls_are_written_once_and_read_from_metadata() -> None:
    urls = metadata.project_urls()
    assert urls == PROJECT["urls"] or set(PROJECT["urls"]) <= set(urls)
    assert metadata.docs_url("spec.md", "clusterspec").startswith(PROJECT["urls"]["Documentation"])
    for path in ("tkestack", "policies"):
        for source in (ROOT / path).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            assert "github.com/tkestack" not in text, f"{source}: a hard-coded project link"
