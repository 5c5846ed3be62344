"""stacks/topology.py: stack names, dependencies and waves from the spec, and the refusals
of rollout and runner keys that cannot work."""

from __future__ import annotations

import pytest
from conftest import ROOT, stack_config

from tkestack.stacks.program import validate
from tkestack.stacks.spec import EnvironmentSpec, RolloutSpec
from tkestack.stacks.topology import (
    StackPart,
    dependencies,
    parse_stack,
    stack_parts,
    topology_problems,
    waves,
)


def _prod(**changes: object) -> EnvironmentSpec:
    config = stack_config(ROOT / "Pulumi.prod.yaml")
    env = validate(config.values["tkestack:environment"], config.display, config.text).spec
    return env.model_copy(update=changes)


def _prod_single() -> EnvironmentSpec:
    """Shipped prod as one stack: no rollout waves, no runners."""
    env = _prod(topology="single", rollout=RolloutSpec())
    env.clusters[:] = [cluster.model_copy(update={"runner": None}) for cluster in env.clusters]
    return env


def _prod_levels() -> EnvironmentSpec:
    """Shipped prod's per-cluster stacks without its `rollout.waves`: the dependency levels."""
    return _prod(rollout=RolloutSpec())


def test_shipped_prod_is_per_cluster_in_its_waves_on_its_runners() -> None:
    env = _prod()
    assert env.topology == "per-cluster"
    assert topology_problems(env) == []
    # Canary first, the rest, then the central observability cluster (it reads its peers).
    assert waves(env) == [["prod-sh"], ["prod-euc1", "prod-onprem"], ["prod-use1"]]
    assert [p.stack for p in stack_parts(env)] == [
        "prod",
        "prod.prod-sh",
        "prod.prod-euc1",
        "prod.prod-onprem",
        "prod.prod-use1",
    ]
    assert all(cluster.runner for cluster in env.clusters)


def test_stack_names_split_at_the_first_period() -> None:
    assert parse_stack("prod") == StackPart("prod")
    assert parse_stack("prod.prod-use1") == StackPart("prod", "prod-use1")
    assert StackPart("prod", "prod-use1").stack == "prod.prod-use1"


def test_the_central_cluster_reads_its_peers_and_deploys_after_them() -> None:
    env = _prod_levels()
    assert dependencies(env)["prod-use1"] == ["prod-euc1", "prod-onprem", "prod-sh"]
    assert waves(env) == [["prod-euc1", "prod-sh", "prod-onprem"], ["prod-use1"]]
    assert stack_parts(env)[0].stack == "prod"
    assert len(stack_parts(env)) == 5
    assert [p.stack for p in stack_parts(_prod_single())] == ["prod"]


def test_waves_with_rest_are_accepted_and_expanded() -> None:
    env = _prod(topology="per-cluster")
    env = env.model_copy(
        update={
            "rollout": env.rollout.model_copy(
                update={"waves": [["prod-sh"], ["prod-euc1", "prod-onprem"], ["rest"]]}
            )
        }
    )
    assert topology_problems(env) == []
    assert waves(env) == [["prod-sh"], ["prod-euc1", "prod-onprem"], ["prod-use1"]]


@pytest.mark.parametrize(
    ("waves_", "message"),
    [
        ([["prod-use1"], ["rest"]], "prod-use1 reads the stack of prod-euc1"),
        ([["nope"], ["rest"]], "no cluster named 'nope'"),
        ([["prod-sh", "prod-sh"], ["rest"]], "'prod-sh' is already in waves[0]"),
        ([["rest"], ["rest"]], "`rest` is already in waves[0]"),
        ([["prod-sh"]], "clusters in no wave"),
    ],
)
def test_waves_that_cannot_work_are_refused(waves_, message) -> None:
    env = _prod(topology="per-cluster")
    env = env.model_copy(update={"rollout": env.rollout.model_copy(update={"waves": waves_})})
    assert any(message in problem.message for problem in topology_problems(env))


def test_rollout_and_runners_need_the_per_cluster_topology() -> None:
    env = _prod_single()
    assert topology_problems(env) == []
    env = env.model_copy(update={"rollout": env.rollout.model_copy(update={"waves": [["rest"]]})})
    env.clusters[0] = env.clusters[0].model_copy(update={"runner": "net-use1"})
    paths = sorted(problem.path for problem in topology_problems(env))
    assert paths == [("clusters", 0, "runner"), ("rollout", "waves")]
