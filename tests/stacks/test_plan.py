"""The plan: the components' own argument checks, run over spec data before anything is
registered, report at the spec key the user writes. The spec is built here with the models
alone (no spec rules), to show the plan catches on its own what a component would refuse."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import minimal_environment

from tkestack.stacks.loader import load_environment
from tkestack.stacks.plan import parse_path, plan_problems
from tkestack.stacks.problems import format_path
from tkestack.stacks.spec import EnvironmentSpec


def spec_of(environment: dict[str, Any]) -> EnvironmentSpec:
    """The environment through the pydantic models only (base layers merged by the loader
    would add tags; these tests give them)."""
    return EnvironmentSpec.model_validate(
        {"tags": {"owner": "t", "cost-center": "1"}, **environment}
    )


def keys(environment: dict[str, Any]) -> list[str]:
    return [problem.dotted for problem in plan_problems(spec_of(environment))]


@pytest.mark.parametrize("path", ["a", "a.b", "a[0]", "clusters[1].node_pools[0].labels.x"])
def test_paths_parse_back(path: str) -> None:
    assert format_path(parse_path(path)) == path


def test_a_buildable_environment_has_no_plan_problem() -> None:
    loaded = load_environment(minimal_environment(), "Pulumi.test.yaml")
    assert plan_problems(loaded.spec) == []


def test_a_node_group_name_too_long_for_eks_is_found_at_the_pool_name() -> None:
    environment = minimal_environment()
    environment["clusters"][0]["name"] = "c" * 20
    environment["clusters"][0]["node_pools"][0]["name"] = "p" * 30
    assert keys(environment) == ["clusters[0].node_pools[0].name"]


def test_a_registry_the_component_refuses_is_found_at_the_registry_key() -> None:
    tencent = {
        "cloud": "tencentcloud",
        "kubernetes_version": "1.32",
        "node_pools": [{"name": "general", "instance_types": ["S5.LARGE8"]}],
    }
    environment = minimal_environment(
        clusters=[
            {
                **tencent,
                "name": "gz",
                "region": "ap-guangzhou",
                "network": {"vpc_cidr": "10.1.0.0/16"},
            },
            {
                **tencent,
                "name": "sh",
                "region": "ap-shanghai",
                "network": {"vpc_cidr": "10.2.0.0/16"},
            },
        ]
    )
    assert set(keys(environment)) == {"registry.tencent_edition"}
    environment["registry"] = {"tencent_edition": "premium"}
    assert keys(environment) == []


def test_a_tenant_the_component_refuses_is_found_at_the_tenant_key() -> None:
    environment = minimal_environment(
        tenants=[{"name": "team", "clusters": ["c1"], "quota": {"gpus": 2}}]
    )
    problems = plan_problems(spec_of(environment))
    assert [p.dotted for p in problems] == ["tenants[0].quota.gpus"]
    assert problems[0].message.startswith("Tenant on c1 quota.gpus: cluster 'c1' has no GPU")
    environment["tenants"][0]["quota"] = {"gpus": 0}
    assert keys(environment) == []
