"""Fleet topology (issue 15): prod and a generated fleet split into a shared stack and one
stack per cluster lose and duplicate no resource against their single-stack render, every
stack reference is answered from the render of the stack it reads, and the `pulumi state
move` commands carry each cluster's resources."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, stack_config

from tkestack import engine, fleet
from tkestack.stacks.program import validate

sys.path.insert(0, str(ROOT / "bench"))
from fleet import RECEIVER_TLS_KEY, fleet_environment, scaled_tenants


def _split(config: engine.StackConfig) -> tuple[engine.Rendering, dict[str, engine.Rendering]]:
    single = engine.render(fleet.with_topology(config, "single"))
    split = fleet.with_topology(config, "per-cluster")
    env = validate(split.values["tkestack:environment"], split.display, split.text).spec
    return single, fleet.render_fleet(split, env)


@pytest.fixture(scope="module")
def prod_split() -> tuple[engine.Rendering, dict[str, engine.Rendering]]:
    return _split(stack_config(ROOT / "Pulumi.prod.yaml"))


@pytest.mark.slow
def test_prod_splits_into_a_shared_stack_and_one_per_cluster(prod_split) -> None:
    _, parts = prod_split
    assert sorted(parts) == [
        "prod",
        "prod.prod-euc1",
        "prod.prod-onprem",
        "prod.prod-sh",
        "prod.prod-use1",
    ]
    # The shared stack holds no cluster's resource, only the environment's references.
    assert parts["prod"].resources == []
    assert set(parts["prod"].stack_outputs) == {"environment", "deployer"}


def test_prod_split_loses_and_duplicates_nothing(prod_split) -> None:
    single, parts = prod_split
    assert fleet.split_differences(single, parts) == []
    moved = sum(len(p.resources) for p in parts.values())
    providers = sum(
        1 for p in parts.values() for r in p.resources if r.type.startswith("pulumi:providers:")
    )
    single_providers = len([r for r in single.resources if r.type.startswith("pulumi:providers")])
    assert moved - providers == len(single.resources) - single_providers


def test_the_central_cluster_admits_its_peers_through_stack_references(prod_split) -> None:
    single, parts = prod_split
    # prod-use1 is central: its stack reads the three peers' push credentials (secret), so the
    # receivers' htpasswd is the same secret document as in the single stack.
    name = "prod-use1-observability-receiver-htpasswd"
    [split_secret] = [r for r in parts["prod.prod-use1"].resources if r.name == name]
    [single_secret] = [r for r in single.resources if r.name == name]
    data = split_secret.inputs["stringData"]
    assert isinstance(data, engine.SecretValue)
    assert engine.revealed(data)[".htpasswd"].count(":") == 3
    assert data == single_secret.inputs["stringData"]


def test_a_difference_is_reported() -> None:
    resource = engine.RenderedResource(
        urn="urn:pulumi:x::tkestack::t::a",
        type="t",
        name="a",
        custom=True,
        parent=None,
        provider=None,
        dependencies=[],
        protect=False,
        inputs={"k": 1},
    )
    changed = copy.deepcopy(resource)
    changed.urn = "urn:pulumi:x.c::tkestack::t::a"
    changed.inputs = {"k": 2}
    single = engine.Rendering("tkestack", "x", [resource], {})
    assert fleet.split_differences(
        single, {"x.c": engine.Rendering("tkestack", "x.c", [changed], {})}
    ) == ["x.c: urn:pulumi:::tkestack::t::a differs from the single stack's"]
    assert fleet.split_differences(single, {}) == [
        "urn:pulumi:::tkestack::t::a is in no stack of the split"
    ]
    twice = {s: engine.Rendering("tkestack", s, [resource], {}) for s in ("x.a", "x.b")}
    assert fleet.split_differences(single, twice) == [
        "urn:pulumi:::tkestack::t::a is in both x.a and x.b"
    ]


def test_state_moves_name_every_resource_of_each_cluster_stack(prod_split) -> None:
    single, parts = prod_split
    commands = fleet.state_move_commands(single, parts)
    assert len(commands) == 4
    use1 = next(c for c in commands if "--dest prod.prod-use1 " in c)
    assert use1.startswith("pulumi state move --source prod --dest prod.prod-use1 ")
    top = {r.urn for r in single.resources if r.parent is None}
    named = [word.strip("'") for c in commands for word in c.split()[7:]]
    # Every top-level resource but the region providers (copied by the CLI) is moved exactly
    # once; the CLI moves children with their parent, and every resource is a descendant of
    # a top-level one.
    assert sorted(named) == sorted(u for u in top if "::pulumi:providers:" not in u)
    parents = {r.urn: r.parent for r in single.resources}
    for urn in parents:
        while parents[urn] is not None:
            urn = parents[urn]
        assert urn in top


def _fleet_config(write_stack, clusters: int) -> engine.StackConfig:
    environment: dict[str, Any] = fleet_environment(clusters, scaled_tenants(clusters))
    return stack_config(write_stack(environment, "fleet", **{RECEIVER_TLS_KEY: {"secure": "v1:x"}}))


@pytest.mark.slow
def test_a_fleet_sharing_regional_registries_splits_without_loss(write_stack) -> None:
    # 10 clusters over 6 AWS and 5 TKE regions: two clusters share each of four regional
    # registries (the second reads the first's registry through a stack reference) and
    # tenants' registry namespaces live with their first cluster on that registry.
    single, parts = _split(_fleet_config(write_stack, 10))
    assert len(parts) == 11
    assert fleet.split_differences(single, parts) == []


def test_a_stack_of_an_unknown_cluster_is_refused(write_stack) -> None:
    config = fleet.with_topology(stack_config(ROOT / "Pulumi.prod.yaml"), "per-cluster")
    with pytest.raises(engine.RenderError, match="no cluster 'nope' in prod"):
        engine.render_stack(config, "prod.nope", {})


def test_a_cluster_stack_of_a_single_topology_is_refused() -> None:
    config = fleet.with_topology(stack_config(ROOT / "Pulumi.prod.yaml"), "single")
    with pytest.raises(engine.RenderError, match="has topology: single"):
        engine.render_stack(config, "prod.prod-use1", {})


def test_a_reference_to_a_stack_not_rendered_fails_loudly() -> None:
    config = fleet.with_topology(stack_config(ROOT / "Pulumi.prod.yaml"), "per-cluster")
    with pytest.raises(Exception, match=r"no render of stack 'prod\.prod-euc1'"):
        engine.render_stack(config, "prod.prod-use1", {})


def test_relative_urn_drops_only_the_stack() -> None:
    assert fleet.relative_urn("urn:pulumi:prod.a::tkestack::t::n") == "urn:pulumi:::tkestack::t::n"
    assert fleet.relative_urn(None) is None
    assert Path(ROOT / "Pulumi.prod.yaml").is_file()
