"""Review and graph show the deployer, the hub and which runner reaches which API."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

from tkestack import critical_path, engine, graph


def test_the_estimate_names_each_clusters_path_and_the_resources_that_open_it(
    rendered: Callable[[str], engine.Rendering],
) -> None:
    estimate = critical_path.estimate(rendered("prod"))
    assert estimate.deployer_cidrs == ("10.100.0.0/22",)
    reach = {r.cluster: r for r in estimate.reach}
    assert sorted(reach) == ["prod-euc1", "prod-onprem", "prod-sh", "prod-use1"]
    assert reach["prod-use1"].paths == (
        "private endpoint through transit gateway tgw-0a1b2c3d4e5f60003 from 10.100.0.0/22",
    )
    assert reach["prod-use1"].path_resources == ("prod-use1-api-from-deployer-0", "prod-use1-hub")
    assert reach["prod-sh"].path_resources == ("prod-sh-hub",)
    assert "kubeconfig" in reach["prod-onprem"].paths[0]
    assert estimate.unreachable == ()
    assert "run from 10.100.0.0/22: prod-euc1 (private)" in estimate.summary()


def test_installs_inside_a_cluster_wait_for_the_deployers_path(
    rendered: Callable[[str], engine.Rendering],
) -> None:
    # The Kubernetes provider reaches a private endpoint only once the hub and 443 are open.
    rendering = rendered("dev")
    (ingress,) = rendering.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    (attachment,) = rendering.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    inside = [r for r in rendering.resources if r.type.startswith("kubernetes:")]
    assert inside
    waiting = [r.name for r in inside if {ingress.urn, attachment.urn} <= set(r.dependencies)]
    assert sorted(waiting) == sorted(r.name for r in inside)


def test_the_graph_draws_deployer_hubs_and_reach(
    rendered: Callable[[str], engine.Rendering],
) -> None:
    text = graph.mermaid(rendered("prod"))
    assert 'deployer[/"deployer: 10.100.0.0/22"/]' in text
    assert "deployer --> hub_tgw_0a1b2c3d4e5f60003" in text
    assert 'hub_tgw_0a1b2c3d4e5f60003 -->|"443 private"| cluster_prod_use1' in text
    assert 'hub_ccn_prd00001 -->|"443 private"| cluster_prod_sh' in text
    assert 'deployer -.->|"kubeconfig"| cluster_prod_onprem' in text
    assert "NO PATH" not in text
    assert 'hub_tgw_0a1b2c3d4e5f60004 -> cluster_prod_euc1 [label="443 private"];' in graph.dot(
        rendered("prod")
    )


def test_a_cluster_without_a_route_is_drawn_unreached(
    rendered: Callable[[str], engine.Rendering],
) -> None:
    rendering = rendered("staging")
    outputs = copy.deepcopy(rendering.stack_outputs)
    outputs["deployer"]["reach"]["stg-gz"]["routes"] = []
    outputs["deployer"]["reach"]["stg-gz"]["paths"] = []
    changed = dataclasses.replace(rendering, stack_outputs=outputs)
    assert 'deployer -.->|"NO PATH"| cluster_stg_gz' in graph.mermaid(changed)
    assert critical_path.estimate(changed).unreachable == ("stg-gz",)
