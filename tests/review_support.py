"""Helpers of the review tests: small environments, their stack files, and a git repository
of this distribution's code where a stack changes between two commits (for `review --base`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from conftest import ROOT, TEST_ACCOUNTS, TEST_DEPLOYER

DEPLOYER = {**TEST_DEPLOYER, "cidrs": [*TEST_DEPLOYER["cidrs"], "52.94.0.0/22"]}
"""Runners behind the hub and on the internet: private and public endpoints are reached."""


def prod_environment(**cluster: Any) -> dict[str, Any]:
    """A small prod environment: one EKS cluster with a CPU and a GPU pool."""
    spec: dict[str, Any] = {
        "name": "prodlike",
        "tier": "prod",
        "identity": dict(TEST_ACCOUNTS),
        "deployer": DEPLOYER,
        "tags": {"owner": "platform-team", "cost-center": "platform-prod"},
        "allowed_regions": ["us-east-1"],
        "clusters": [
            {
                "name": "pl-use1",
                "cloud": "aws",
                "region": "us-east-1",
                "kubernetes_version": "1.33",
                "network": {"vpc_cidr": "10.40.0.0/16"},
                "node_pools": [
                    {
                        "name": "general",
                        "instance_types": ["m7i.xlarge"],
                        "min_size": 1,
                        "max_size": 3,
                    },
                    {
                        "name": "gpu",
                        "instance_types": ["g4dn.xlarge"],
                        "min_size": 0,
                        "max_size": 2,
                        "accelerator": {"model": "t4"},
                    },
                ],
                **cluster,
            }
        ],
    }
    return spec


def write_stack(directory: Path, stack: str, environment: dict[str, Any]) -> Path:
    """`Pulumi.<stack>.yaml` in `directory` holding `environment` (no default providers)."""
    path = directory / f"Pulumi.{stack}.yaml"
    config = {"pulumi:disable-default-providers": ["*"], "tkestack:environment": environment}
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return path


def git(repo: Path, *args: str) -> None:
    """Run git in `repo` (quiet; fails the test on an error)."""
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def repository_with_changes(
    directory: Path, base: dict[str, Any], changes: dict[str, tuple[dict[str, Any], str]]
) -> Path:
    """A git repository of this distribution's code with stack `difftest` at `base` in the
    first commit (branch `main`, checked out) and, per entry of `changes`, a branch of that
    name with one more commit: the stack at that environment, with that message. Reviews of
    several branches against `HEAD~1` share one base commit, so the base-render cache renders
    it once."""
    repo = directory / "repo"
    repo.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    for folder in ("tests", "docs", "bench", ".github"):
        shutil.rmtree(repo / folder, ignore_errors=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "ci")
    write_stack(repo, "difftest", base)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    for branch, (head, message) in changes.items():
        git(repo, "checkout", "-q", "-b", branch, "main")
        write_stack(repo, "difftest", head)
        git(repo, "commit", "-q", "-am", message)
    git(repo, "checkout", "-q", "main")
    return repo


def repository_with_change(
    directory: Path, base: dict[str, Any], head: dict[str, Any], message: str
) -> Path:
    """`repository_with_changes` with one change, checked out (`HEAD~1` is the base)."""
    repo = repository_with_changes(directory, base, {"head": (head, message)})
    git(repo, "checkout", "-q", "head")
    return repo
