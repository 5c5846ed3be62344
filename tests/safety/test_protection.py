"""Nothing stateful is lost: in prod every stateful resource is protected.

Stateful types are those of `policies.rules.clusters.STATEFUL_TYPES` and Helm releases of
charts that own persistent data (`STATEFUL_CHARTS` there): the same lists the policy pack and
`tkestack review` use. Every type the renders contain whose name suggests it holds data must
be classified, stateful or not: a new stateful-looking type that nobody classified fails
here, so it cannot slip into prod unprotected.
"""

from __future__ import annotations

import re

import pytest
from conftest import ENVIRONMENTS

from tkestack.policies.rules.clusters import STATEFUL_TYPES, is_stateful
from tkestack.policies.rules.kube import HELM_RELEASE

NOT_STATEFUL = {
    "aws:kms/alias:Alias": "a name pointing at a key; recreated freely",
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": "settings, for new repos",
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": "settings",
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": "account settings",
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": "a rule; cached images live in repositories",
    "aws:eks/nodeGroup:NodeGroup": "replaceable nodes",
    "aws:eks/addon:Addon": "reinstallable cluster software",
    "aws:ec2/launchTemplate:LaunchTemplate": "versioned settings",
    "tencentcloud:Kubernetes/nodePool:NodePool": "replaceable nodes",
    "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint": "access settings",
    "tencentcloud:Kubernetes/encryptionProtection:EncryptionProtection": "settings over the key",
    "tencentcloud:Eip/instance:Instance": "an address; no data",
    "tencentcloud:Subnet/instance:Instance": "network; recreated with the VPC",
    "tencentcloud:Tcr/vpcAttachment:VpcAttachment": "access settings",
    "tencentcloud:Tcr/immutableTagRule:ImmutableTagRule": "a rule",
    "tencentcloud:Tcr/tagRetentionRule:TagRetentionRule": "a rule",
    "harbor:index/immutableTagRule:ImmutableTagRule": "a rule",
    "kubernetes:core/v1:Secret": "generated credentials, recreated from their sources",
    "kubernetes:core/v1:ConfigMap": "configuration",
    "kubernetes:storage.k8s.io/v1:StorageClass": "provisioning settings; volumes outlive it",
    "kubernetes:core/v1:Namespace": "stateful only through the PVCs inside, which are listed",
    "random:index/randomPassword:RandomPassword": "kept in state; replaced only on purpose",
    "aws:ec2/routeTable:RouteTable": "network configuration",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "network configuration",
    "tencentcloud:Route/table:Table": "network configuration",
    "tencentcloud:Route/tableEntry:TableEntry": "network configuration",
    "tencentcloud:Vpc/instance:Instance": "network; holds no data (prod protects it anyway)",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": "permissions from the spec",
    "tkestack:index:ClusterIdentity": "a component; its cloud resources are classified",
    "tkestack:index:Cluster": "a component; its cloud resources are classified",
    "tkestack:index:Registry": "a component; its cloud resources are classified",
    "tkestack:index:RegistryNamespace": "a component; its cloud resources are classified",
}
"""Types whose names look stateful but that hold no data of their own, with the reason."""

LOOKS_STATEFUL = re.compile(
    r"(?i)cluster|repositor|registry|key|bucket|volume|storage|filesystem|database|"
    r"instance|namespace|snapshot|secret|password|disk|table|backup"
)


def _stateful(resource) -> bool:
    return is_stateful(resource.type, resource.inputs)


def test_every_stateful_looking_type_is_classified(rendered) -> None:
    seen = {r.type for env in ENVIRONMENTS for r in rendered(env).resources}
    unclassified = sorted(
        type_
        for type_ in seen
        if LOOKS_STATEFUL.search(type_.rsplit(":", 1)[-1] + type_.split(":")[1])
        and type_ not in STATEFUL_TYPES
        and type_ not in NOT_STATEFUL
        and type_ != HELM_RELEASE
        and not type_.startswith("pulumi:providers:")
    )
    assert not unclassified, (
        f"classify these types as stateful (policies STATEFUL_TYPES) or not (NOT_STATEFUL"
        f" here, with the reason): {unclassified}"
    )


def test_prod_protects_every_stateful_resource(rendered) -> None:
    rendering = rendered("prod")
    stateful = [resource for resource in rendering.resources if _stateful(resource)]
    by_type: dict[str, int] = {}
    for resource in stateful:
        by_type[resource.type] = by_type.get(resource.type, 0) + 1
    # The prod environment has the stateful pieces the issue names, on every cloud.
    for expected in (
        "aws:eks/cluster:Cluster",
        "tencentcloud:Kubernetes/cluster:Cluster",
        "aws:kms/key:Key",
        "aws:ecr/repository:Repository",
        "tencentcloud:Tcr/instance:Instance",
        HELM_RELEASE,
    ):
        assert by_type.get(expected), f"prod has no {expected}"
    unprotected = sorted(resource.urn for resource in stateful if not resource.protect)
    assert not unprotected, f"unprotected stateful resources in prod: {unprotected}"


def test_prod_clusters_also_carry_the_clouds_deletion_protection(rendered) -> None:
    rendering = rendered("prod")
    for cluster in rendering.of_type("tencentcloud:Kubernetes/cluster:Cluster"):
        assert cluster.inputs.get("deletionProtection") is True, cluster.urn
    for key in rendering.of_type("aws:kms/key:Key"):
        assert key.inputs.get("deletionWindowInDays", 0) >= 7, key.urn


@pytest.mark.parametrize("env", [env for env in ENVIRONMENTS if env != "prod"])
def test_lower_tiers_do_not_need_protection(rendered, env: str) -> None:
    """dev and staging stay disposable: `pulumi destroy` must work without unprotecting."""
    rendering = rendered(env)
    assert not [r.urn for r in rendering.resources if r.protect and r.type in STATEFUL_TYPES]
