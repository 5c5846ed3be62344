"""Helpers for the Cluster and NodePool tests: render one cluster under the mock engine."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import tencentcloud_iac_pulumi as tencentcloud

from tkestack import engine
from tkestack.components.cluster import Cluster, ClusterArgs
from tkestack.mocks import fake_kubeconfig

REGIONS = {"aws": "us-east-1", "tencentcloud": "ap-guangzhou", "attached": "dc-1"}
VERSIONS = {"aws": "1.33", "tencentcloud": "1.32", "attached": "1.32"}
ONPREM_KUBECONFIG = fake_kubeconfig("onprem", "https://10.0.0.1:6443", "onprem")
DEPLOYER_ROLE_ARN = "arn:aws:iam::123456789012:role/tkestack-deployer"

CLUSTER = "tkestack:index:Cluster"
NODE_POOL = "tkestack:index:NodePool"
K8S_PROVIDER = "pulumi:providers:kubernetes"


def cluster_args(cloud: str, pools: list[dict[str, Any]], **extra: Any) -> ClusterArgs:
    """Arguments of a cluster `c1` on `cloud` (without its provider)."""
    args: dict[str, Any] = {
        "cloud": cloud,
        "kubernetes_version": VERSIONS[cloud],
        "region": REGIONS[cloud],
        "node_pools": pools,
        "tags": {"owner": "platform-team"},
    }
    if cloud == "attached":
        args["attached"] = {"kubeconfig": pulumi.Output.secret(ONPREM_KUBECONFIG)}
    else:
        args["vpc_cidr"] = "10.0.0.0/16"
    if cloud == "aws":
        args["deployer_role_arn"] = DEPLOYER_ROLE_ARN
    if cloud == "tencentcloud":
        args["pod_cidr"] = "172.16.0.0/16"
    args.update(extra)
    return args  # type: ignore[return-value]


def render_cluster(
    cloud: str, pools: list[dict[str, Any]], exports: bool = False, **extra: Any
) -> engine.Rendering:
    """Render cluster `c1` on `cloud` with `pools`; `exports` adds its outputs to the stack's."""

    def program() -> None:
        args = cluster_args(cloud, pools, **extra)
        if cloud == "aws":
            args["cloud_provider"] = aws.Provider("aws", region=REGIONS[cloud])
        elif cloud == "tencentcloud":
            args["cloud_provider"] = tencentcloud.Provider("tencentcloud", region=REGIONS[cloud])
        cluster = Cluster("c1", args)
        if exports:
            pulumi.export("kubeconfig", cluster.kubeconfig)
            pulumi.export("endpoint", cluster.endpoint)
            pulumi.export("oidc_issuer", cluster.oidc_issuer)
            pulumi.export("cloud_cluster_id", cluster.info.cloud_cluster_id)
            pulumi.export("vpc_id", cluster.info.vpc_id)
            pulumi.export("node_subnet_ids", cluster.info.node_subnet_ids)

    return engine.run_program(program)


def find(rendering: engine.Rendering, type_: str, name: str) -> engine.RenderedResource:
    """The one resource of `type_` named `name`."""
    found = [r for r in rendering.of_type(type_) if r.name == name]
    assert len(found) == 1, f"{type_} {name}: found {[r.name for r in rendering.of_type(type_)]}"
    return found[0]


def children(rendering: engine.Rendering, parent_name: str) -> list[engine.RenderedResource]:
    """Resources whose parent is the component named `parent_name`."""
    return [
        r
        for r in rendering.resources
        if r.parent is not None and r.parent.rsplit("::", 1)[-1] == parent_name
    ]
