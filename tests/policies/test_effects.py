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
from policy_cases import (
    EKS,
    KMS,
    LAUNCH_TEMPLATE,
    NODE_GROUP,
    TAGS,
    TKE_POOL,
    eks,
    launch_template,
    node_group,
    res,
    tke,
    tke_pool,
)

from tkestack import review as reviewing
from tkestack.policies.rules import evaluate
from tkestack.policies.rules.base import Subject

POLICY = "cluster-endpoint-public-cidrs"
ENDPOINT = "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint"
GROUP = "tencentcloud:Security/group:Group"
RULE_SET = "tencentcloud:Security/groupRuleSet:GroupRuleSet"
TENCENT_KMS = "tencentcloud:Kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CLS_TOPIC = "tencentcloud:Cls/topic:Topic"


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
            "deployer": {"cidrs": ["52.0.0.0/24"]},  # a public runner reaches the endpoint
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
    assert messages(["52.0.0.0/24"]) == []


# ---------------------------------------------------------------- one effect, every cloud


def _eks_bad(**overrides: Any) -> list[Subject]:
    return [res(EKS, "eks", eks(**overrides))]


def _without(props: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != key}


EFFECTS: list[tuple[str, str, list[Subject]]] = [
    # public exposure of the API server
    (
        "cluster-endpoint-private",
        "aws",
        _eks_bad(vpcConfig={"subnetIds": ["s"], "endpointPrivateAccess": True}),
    ),
    ("cluster-endpoint-private", "tencentcloud", [tke(clusterInternet=True)]),
    # encryption of Kubernetes secrets at rest
    (
        "cluster-secrets-encryption",
        "aws",
        [res(EKS, "eks", _without(eks(), "encryptionConfig"))],
    ),
    ("cluster-secrets-encryption", "tencentcloud", [tke()]),  # no EncryptionProtection
    # control-plane audit logging
    ("cluster-control-plane-logging", "aws", _eks_bad(enabledClusterLogTypes=["api"])),
    ("cluster-control-plane-logging", "tencentcloud", [tke(clusterAudit={"enabled": False})]),
    # node disks encrypted
    (
        "node-disk-encrypted",
        "aws",
        [res(NODE_GROUP, "ng", node_group(launchTemplate=None))],
    ),
    (
        "node-disk-encrypted",
        "tencentcloud",
        [
            res(
                TKE_POOL,
                "tp",
                tke_pool(autoScalingConfig={"instanceType": "S5.LARGE8", "dataDisks": [{}]}),
            )
        ],
    ),
    # nodes reachable from the internet
    (
        "node-pool-no-public-ip",
        "aws",
        [
            res(
                LAUNCH_TEMPLATE,
                "lt",
                launch_template(networkInterfaces=[{"associatePublicIpAddress": "true"}]),
            )
        ],
    ),
    (
        "node-pool-no-public-ip",
        "tencentcloud",
        [
            res(
                TKE_POOL,
                "tp",
                tke_pool(autoScalingConfig={"instanceType": "S5.LARGE8", "publicIpAssigned": True}),
            )
        ],
    ),
    # interactive login to nodes
    (
        "node-no-ssh",
        "aws",
        [res(NODE_GROUP, "ng", node_group(remoteAccess={"ec2SshKey": "ops"}))],
    ),
    (
        "node-no-ssh",
        "tencentcloud",
        [
            res(
                TKE_POOL,
                "tp",
                tke_pool(autoScalingConfig={"instanceType": "S5.LARGE8", "keyIds": ["skey-1"]}),
            )
        ],
    ),
    (
        "node-no-ssh",
        "tencentcloud-password",
        [
            res(
                TKE_POOL,
                "tp",
                tke_pool(autoScalingConfig={"instanceType": "S5.LARGE8", "password": "x"}),
            )
        ],
    ),
    # key rotation
    ("kms-key-rotation", "aws", [res(KMS, "key", {"tags": TAGS})]),
    ("kms-key-rotation", "tencentcloud", [res(TENCENT_KMS, "key", {"tags": TAGS})]),
    # log retention
    ("log-retention-set", "aws", [res(LOG_GROUP, "lg", {"tags": TAGS})]),
    ("log-retention-set", "tencentcloud", [res(CLS_TOPIC, "topic", {"tags": TAGS})]),
]


@pytest.mark.parametrize(
    ("policy", "cloud", "resources"), EFFECTS, ids=[f"{p}-{c}" for p, c, _ in EFFECTS]
)
def test_each_effect_fails_on_each_cloud(policy: str, cloud: str, resources) -> None:
    found = [f.message for f in evaluate(resources, {}) if f.policy == policy]
    assert found, f"{policy} does not catch the {cloud} way of writing it"


def test_every_cloud_has_a_failing_case_per_cross_cloud_policy() -> None:
    clouds: dict[str, set[str]] = {}
    for policy, cloud, _ in EFFECTS:
        clouds.setdefault(policy, set()).add(cloud.split("-")[0])
    assert all(found == {"aws", "tencentcloud"} for found in clouds.values()), clouds


def test_a_tke_pool_without_login_keys_passes_node_no_ssh() -> None:
    assert [
        f for f in evaluate([res(TKE_POOL, "tp", tke_pool())], {}) if f.policy == "node-no-ssh"
    ] == []
