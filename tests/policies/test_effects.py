"""Effect-based policies: the same risk fails on every cloud, however each cloud writes it.

Public API endpoint open to the internet (`cluster-endpoint-public-cidrs`):
- EKS: vpcConfig.endpointPublicAccess with publicAccessCidrs 0.0.0.0/0 or unset
  (terraform-provider-aws internal/service/eks/cluster.go: public_access_cidrs Optional +
  Computed, EKS's default is 0.0.0.0/0).
- TKE: a ClusterEndpoint with clusterInternet whose security group's rule set accepts TCP 443
  from 0.0.0.0/0 (terraform-provider-tencentcloud v1.82.42
  tencentcloud/services/vpc/resource_tc_security_group_rule_set.go: ingress is ordered, the
  first rule has the highest priority; protocol unset = all; port `all`, `80,443`, `80-90`).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import TEST_ACCOUNTS
from policy_cases import EKS, eks, res

from tkestack import review as reviewing
from tkestack.policies.rules import evaluate
from tkestack.policies.rules.base import Subject

POLICY = "cluster-endpoint-public-cidrs"
ENDPOINT = "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint"
GROUP = "tencentcloud:Security/group:Group"
RULE_SET = "tencentcloud:Security/groupRuleSet:GroupRuleSet"


def fired(resources: list[Subject]) -> list[str]:
    return [f.message for f in evaluate(resources, {}) if f.policy == POLICY]


def tke_public(*ingresses: dict[str, Any], link: bool = True) -> list[Subject]:
    group = res(GROUP, "api-public", {"name": "api-public"})
    rule_set = res(
        RULE_SET,
        "api-public",
        {"ingresses": list(ingresses)},
        dependencies=(group.urn,) if link else (),
    )
    endpoint = res(
        ENDPOINT,
        "endpoint",
        {"clusterId": "cls-1", "clusterInternet": True, "clusterInternetSecurityGroup": "sg-1"},
        dependencies=(group.urn,),
    )
    return [group, rule_set, endpoint]


def ingress(cidr: str, port: str | None = "443", **extra: Any) -> dict[str, Any]:
    rule = {"action": "ACCEPT", "cidrBlock": cidr, "protocol": "TCP", **extra}
    if port is not None:
        rule["port"] = port
    return rule


@pytest.mark.parametrize(
    ("cloud", "resources"),
    [
        (
            "aws",
            [res(EKS, "eks", eks(vpcConfig={"subnetIds": ["s"], "endpointPublicAccess": True}))],
        ),
        ("tencentcloud", tke_public(ingress("0.0.0.0/0"))),
        ("tencentcloud-all-ports", tke_public(ingress("0.0.0.0/0", port="all"))),
        ("tencentcloud-range", tke_public(ingress("0.0.0.0/0", port="400-500"))),
        ("tencentcloud-all-protocols", tke_public(ingress("0.0.0.0/0", port=None, protocol="ALL"))),
    ],
)
def test_an_api_endpoint_open_to_the_internet_fails_on_every_cloud(cloud, resources) -> None:
    assert any("0.0.0.0/0" in message for message in fired(resources)), cloud


@pytest.mark.parametrize(
    ("case", "resources"),
    [
        (
            "aws-listed",
            [
                res(
                    EKS,
                    "eks",
                    eks(
                        vpcConfig={
                            "subnetIds": ["s"],
                            "endpointPublicAccess": True,
                            "publicAccessCidrs": ["203.0.113.0/24"],
                        }
                    ),
                )
            ],
        ),
        ("tencentcloud-listed", tke_public(ingress("203.0.113.0/24"))),
        ("tencentcloud-other-port", tke_public(ingress("0.0.0.0/0", port="80,8080"))),
        ("tencentcloud-udp", tke_public(ingress("0.0.0.0/0", protocol="UDP"))),
        (
            "tencentcloud-dropped-first",
            tke_public(ingress("0.0.0.0/0", action="DROP"), ingress("0.0.0.0/0")),
        ),
        ("tencentcloud-other-group", tke_public(ingress("0.0.0.0/0"), link=False)),
    ],
)
def test_an_api_endpoint_limited_to_listed_sources_passes(case, resources) -> None:
    assert fired(resources) == [], case


def test_a_rendered_public_tke_cluster_open_to_the_internet_is_refused(render_spec) -> None:
    """The components' own way of writing it (a security group and rule set on 443), as the
    real program renders it: caught, where before only the EKS form was."""

    def environment(cidrs: list[str]) -> dict[str, Any]:
        return {
            "name": "tkeopen",
            "tier": "dev",
            "identity": dict(TEST_ACCOUNTS),
            "registry": {"replicate": False},  # one region: nothing to replicate to
            "clusters": [
                {
                    "name": "to-gz",
                    "cloud": "tencentcloud",
                    "region": "ap-guangzhou",
                    "kubernetes_version": "1.32",
                    "network": {"vpc_cidr": "10.70.0.0/16"},
                    "endpoint": {"exposure": "public", "public_access_cidrs": cidrs},
                    "node_pools": [{"name": "general", "instance_types": ["S5.LARGE8"]}],
                }
            ],
        }

    def messages(cidrs: list[str]) -> list[str]:
        rendering = render_spec(environment(cidrs), stack="tkeopen")
        found = evaluate(reviewing.subjects(rendering), {})
        return [f.message for f in found if f.policy == POLICY]

    assert any("accepts TCP 443 from 0.0.0.0/0" in m for m in messages(["0.0.0.0/0"]))
    assert messages(["203.0.113.0/24"]) == []
