"""`review --base`'s base render when the base commit runs this process's own code: its stack
files are rendered by this code in a forked process, and the document is the one the
checkout's subprocess renders (tkestack/review/base.py)."""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from review_support import git, prod_environment, write_stack

from tkestack.review import ReviewError
from tkestack.review import base as base_render

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not base_render._can_fork(), reason="the forked base render is Linux-only"
)


def _package_folders() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return sorted({"tkestack", *data["tool"]["setuptools"]["package-dir"].values()})


def _repository_of_this_code(directory: Path, base: dict[str, Any], head: dict[str, Any]) -> Path:
    """A repository holding the code this process runs (its files as they are, committed or
    not) with stack `difftest` at `base` in `HEAD~1` and at `head` in `HEAD`."""
    repo = directory / "repo"
    repo.mkdir()
    for folder in _package_folders():
        shutil.copytree(
            ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for name in ("pyproject.toml", "Pulumi.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "ci")
    for environment, message in ((base, "base"), (head, "head")):
        write_stack(repo, "difftest", environment)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", message)
    return repo


@pytest.fixture
def spec_change(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TKESTACK_CACHE_DIR", "")
    return _repository_of_this_code(
        tmp_path,
        prod_environment(),
        prod_environment(network={"vpc_cidr": "10.41.0.0/16"}),
    )


@pytest.mark.slow
def test_a_spec_change_renders_the_base_as_the_checkout_does(spec_change, monkeypatch) -> None:
    base = base_render._Base("HEAD~1", "difftest", spec_change)
    assert base_render._runs_this_code(base)
    assert base_render.renders_forked("HEAD~1", "difftest", spec_change)
    checkout = base_render._render_commit(
        base.repo_root, base.commit, "HEAD~1", "difftest", base.relative, 600
    )

    def no_checkout(*args: Any) -> dict[str, Any]:
        raise AssertionError("the base ran this code: no checkout expected")

    monkeypatch.setattr(base_render, "_render_commit", no_checkout)
    forked = base_render.render_at_ref("HEAD~1", "difftest", spec_change)
    assert forked == checkout
    vpcs = [r for r in forked["resources"] if r["type"] == "aws:ec2/vpc:Vpc"]
    assert [vpc["inputs"]["cidrBlock"] for vpc in vpcs] == ["10.40.0.0/16"]  # the base's


def test_a_changed_added_or_removed_file_goes_through_the_checkout(spec_change) -> None:
    def runs_this_code() -> bool:
        return base_render._runs_this_code(base_render._Base("HEAD", "difftest", spec_change))

    assert runs_this_code()
    module = spec_change / "tkestack" / "report.py"
    module.write_text(module.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
    git(spec_change, "commit", "-q", "-am", "a module changes")
    assert not runs_this_code()
    git(spec_change, "revert", "--no-edit", "HEAD")
    assert runs_this_code()
    (spec_change / "components" / "catalog" / "extra.yaml").write_text("{}\n", encoding="utf-8")
    git(spec_change, "add", "-A")
    git(spec_change, "commit", "-q", "-m", "a catalog file is added")
    assert not runs_this_code()
    git(spec_change, "rm", "-q", "components/catalog/extra.yaml", "stacks/base.yaml")
    git(spec_change, "commit", "-q", "-m", "a file is removed")
    assert not runs_this_code()
    git(spec_change, "checkout", "-q", "HEAD~3")
    (spec_change / "Pulumi.yaml").write_text("name: another\n", encoding="utf-8")
    git(spec_change, "commit", "-q", "-am", "the project is renamed (every URN changes)")
    assert not runs_this_code()


def test_a_base_spec_the_loader_refuses_is_a_review_error(spec_change) -> None:
    write_stack(spec_change, "difftest", {**prod_environment(), "no_such_key": 1})
    git(spec_change, "commit", "-q", "-am", "a bad spec")
    with pytest.raises(ReviewError, match="no_such_key"):
        base_render.render_at_ref("HEAD", "difftest", spec_change)


def test_a_base_without_the_stack_file_is_missing(spec_change) -> None:
    git(spec_change, "rm", "-q", "Pulumi.difftest.yaml")
    git(spec_change, "commit", "-q", "-m", "the stack goes")
    document = base_render.render_at_ref("HEAD", "difftest", spec_change)
    assert document == {"resources": [], "outputs": {}, "missing": True}


def test_the_forked_render_is_not_used_off_linux(monkeypatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not base_render._can_fork()
