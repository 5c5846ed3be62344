"""Shared fixtures: offline renders of the shipped environments, and of ad-hoc specs."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tkestack import engine

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "staging", "prod")


def stack_config(stack_file: Path) -> engine.StackConfig:
    """Read a stack config file of this project."""
    return engine.read_stack_config(stack_file, ROOT)


@pytest.fixture(scope="session", autouse=True)
def base_render_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`review --base` caches base renders; the suite's go to one folder per session (and
    worker), never the user's ~/.cache, so each session starts cold."""
    folder = tmp_path_factory.mktemp("tkestack-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TKESTACK_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def rendered() -> Callable[[str], engine.Rendering]:
    """Render a shipped environment (`dev`, `staging`, `prod`) once per test session."""
    cache: dict[str, engine.Rendering] = {}

    def get(env: str) -> engine.Rendering:
        if env not in cache:
            cache[env] = engine.render(stack_config(ROOT / f"Pulumi.{env}.yaml"))
        return cache[env]

    return get


@pytest.fixture
def write_stack(tmp_path: Path) -> Callable[..., Path]:
    """Write `Pulumi.<stack>.yaml` holding `environment` (and extra config) into tmp_path."""

    def write(environment: Any, stack: str = "test", **extra_config: Any) -> Path:
        config = {"tkestack:environment": environment, **extra_config}
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def render_spec(write_stack: Callable[..., Path]) -> Callable[..., engine.Rendering]:
    """Render an environment given as a dict (layered over stacks/base.yaml and its tier)."""

    def render(environment: Any, stack: str = "test", **extra_config: Any) -> engine.Rendering:
        return engine.render(stack_config(write_stack(environment, stack, **extra_config)))

    return render


TEST_ACCOUNTS: dict[str, str] = {"aws_account_id": "123456789012", "tencent_uin": "100000000001"}
"""The `identity` accounts of test specs: the spec rules require them when a cluster is on
that cloud (no default could be the real account)."""

TEST_DEPLOYER: dict[str, Any] = {
    "cidrs": ["10.250.0.0/24"],
    "hub": {
        "aws_transit_gateways": {
            region: "tgw-0123456789abcdef0"
            for region in ("us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "ap-northeast-1")
        },
        "tencent_ccn_id": "ccn-test0001",
    },
}
"""The `deployer` of test specs: private runners behind a hub that reaches every test region
(the spec rules refuse a private API endpoint no declared path reaches)."""


def minimal_environment(**overrides: Any) -> dict[str, Any]:
    """A small valid environment (one EKS cluster, one x86 pool) to build test cases from."""
    environment: dict[str, Any] = {
        "name": "test",
        "tier": "dev",
        "identity": dict(TEST_ACCOUNTS),
        "deployer": copy.deepcopy(TEST_DEPLOYER),
        "clusters": [
            {
                "name": "c1",
                "cloud": "aws",
                "region": "us-east-1",
                "kubernetes_version": "1.33",
                "network": {"vpc_cidr": "10.0.0.0/16"},
                "node_pools": [
                    {"name": "general", "instance_types": ["m7i.xlarge"], "max_size": 3}
                ],
            }
        ],
    }
    environment.update(overrides)
    return environment
