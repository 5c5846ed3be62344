"""Cluster: EKS, TKE and attached backends behind one interface, the same outputs everywhere,
secrets kept secret, hardening by arguments."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
import yaml
from cluster_support import (
    CLUSTER,
    DEPLOYER_ROLE_ARN,
    K8S_PROVIDER,
    NODE_POOL,
    ONPREM_KUBECONFIG,
    find,
    render_cluster,
)

from tkestack import engine, mocks
from tkestack.components import catalog
from tkestack.components.clouds import aws as eks
from tkestack.components.clouds import backend_class
from tkestack.components.clouds import tencentcloud as tke
from tkestack.components.clouds.attached import server_of
from tkestack.components.clouds.tencentcloud import api_url, node_subnets
from tkestack.components.cluster import validate_args

POOLS = [
    {"name": "general", "instance_types": ["m7i.xlarge"]},
    {"name": "gpu", "instance_types": ["g5.xlarge"], "accelerator_model": "a10g", "min_size": 0},
]
TKE_POOLS = [{"name": "general", "instance_types": ["S5.LARGE8"]}]
ATTACHED_POOLS = [{"name": "general", "instance_types": ["r760"], "architecture": "x86_64"}]


@pytest.fixture(scope="module")
def eks_dev() -> engine.Rendering:
    return render_cluster("aws", POOLS, exports=True)


@pytest.fixture(scope="module")
def eks_prod() -> engine.Rendering:
    return render_cluster(
        "aws",
        POOLS,
        protect=True,
        deletion_protection=True,
        high_availability_nat=True,
        log_retention_days=45,
    )


@pytest.fixture(scope="module")
def tke_prod() -> engine.Rendering:
    return render_cluster(
        "tencentcloud", TKE_POOLS, exports=True, protect=True, deletion_protection=True
    )


@pytest.fixture(scope="module")
def attached() -> engine.Rendering:
    return render_cluster("attached", ATTACHED_POOLS, exports=True)


# -- one component, named after the cluster, everything inside it -------------------------------


@pytest.mark.parametrize("fixture", ["eks_dev", "tke_prod", "attached"])
def test_one_cluster_component_owns_everything(fixture: str, request: Any) -> None:
    rendering: engine.Rendering = request.getfixturevalue(fixture)
    (cluster,) = rendering.of_type(CLUSTER)
    assert cluster.name == "c1"
    for resource in rendering.resources:
        if resource.type.startswith("pulumi:providers:") and resource.parent is None:
            continue  # the region's provider is created by the caller
        assert resource is cluster or resource.parent is not None, resource.urn
        if resource.custom and not resource.type.startswith("pulumi:providers:"):
            assert resource.provider is not None, f"{resource.urn} uses a default provider"
    for pool in rendering.of_type(NODE_POOL):
        assert pool.parent == cluster.urn and pool.name.startswith("c1-")


@pytest.mark.parametrize("fixture", ["eks_dev", "tke_prod", "attached"])
def test_kubeconfig_is_secret_and_feeds_an_explicit_kubernetes_provider(
    fixture: str, request: Any
) -> None:
    rendering: engine.Rendering = request.getfixturevalue(fixture)
    provider = find(rendering, K8S_PROVIDER, "c1-k8s")
    assert isinstance(provider.inputs["kubeconfig"], engine.SecretValue)
    assert isinstance(rendering.stack_outputs["kubeconfig"], engine.SecretValue)
    assert engine.masked(rendering.stack_outputs)["kubeconfig"] == "[secret]"
    text = json.dumps(rendering.to_json())
    assert "BEGIN CERTIFICATE" not in text and "certificate-authority-data" not in text


# -- EKS ------------------------------------------------------------------------------------


def test_eks_kubeconfig_uses_exec_auth_and_no_token(eks_dev: engine.Rendering) -> None:
    provider = find(eks_dev, K8S_PROVIDER, "c1-k8s")
    config = json.loads(engine.revealed(provider.inputs["kubeconfig"]))
    (user,) = config["users"]
    assert "token" not in user["user"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == [
        "--region",
        "us-east-1",
        "eks",
        "get-token",
        "--cluster-name",
        "c1",
        "--role-arn",
        DEPLOYER_ROLE_ARN,
        "--output",
        "json",
    ]
    (cluster,) = config["clusters"]
    control_plane = find(eks_dev, "aws:eks/cluster:Cluster", "c1-eks").outputs
    assert cluster["cluster"]["server"] == eks_dev.stack_outputs["endpoint"]
    ca_data = cluster["cluster"]["certificate-authority-data"]
    assert ca_data == control_plane["certificateAuthority"]["data"]
    assert base64.b64decode(ca_data).decode().startswith("-----BEGIN CERTIFICATE-----")


def test_eks_deployer_is_an_explicit_admin_the_provider_waits_for(
    eks_dev: engine.Rendering,
) -> None:
    entry = find(eks_dev, "aws:eks/accessEntry:AccessEntry", "c1-deployer")
    admin = find(
        eks_dev, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "c1-deployer-admin"
    )
    assert entry.inputs["principalArn"] == DEPLOYER_ROLE_ARN
    assert entry.inputs["clusterName"] == "c1" and "kubernetesGroups" not in entry.inputs
    assert admin.inputs["principalArn"] == DEPLOYER_ROLE_ARN
    assert admin.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    assert admin.inputs["accessScope"] == {"type": "cluster"}
    provider = find(eks_dev, K8S_PROVIDER, "c1-k8s")
    assert admin.urn in provider.dependencies


def test_eks_outputs_follow_the_cloud(eks_dev: engine.Rendering) -> None:
    outputs = eks_dev.stack_outputs
    assert (
        outputs["endpoint"].startswith("https://") and ".eks.amazonaws.com" in outputs["endpoint"]
    )
    assert outputs["oidc_issuer"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert outputs["cloud_cluster_id"] == "c1"
    assert outputs["vpc_id"].startswith("vpc-")
    assert len(outputs["node_subnet_ids"]) == 3
    oidc = eks_dev.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert [provider.inputs["url"] for provider in oidc] == [outputs["oidc_issuer"]]


def test_eks_control_plane_settings(eks_dev: engine.Rendering) -> None:
    inputs = find(eks_dev, "aws:eks/cluster:Cluster", "c1-eks").inputs
    key = find(eks_dev, "aws:kms/key:Key", "c1-secrets-key")
    assert inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    assert inputs["encryptionConfig"] == {
        "provider": {"keyArn": key.outputs["arn"]},
        "resources": ["secrets"],
    }
    assert key.inputs["enableKeyRotation"] is True
    assert sorted(inputs["enabledClusterLogTypes"]) == sorted(eks.CONTROL_PLANE_LOG_TYPES)
    assert inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert inputs["bootstrapSelfManagedAddons"] is False
    assert inputs["version"] == "1.33"
    assert inputs["deletionProtection"] is False


def test_eks_network_spans_three_zones_with_private_nodes(eks_dev: engine.Rendering) -> None:
    subnets = eks_dev.of_type("aws:ec2/subnet:Subnet")
    # By zone ID, never by letter (letters map to other datacenters in other accounts). The
    # mock account offers use1-az1..az6; use1-az3 is refused by EKS (network-reqs.adoc), so
    # the three lowest-numbered others.
    zones = ["use1-az1", "use1-az2", "use1-az4"]
    private = [s for s in subnets if s.name.startswith("c1-private-")]
    public = [s for s in subnets if s.name.startswith("c1-public-")]
    assert [s.inputs["availabilityZoneId"] for s in private] == zones
    assert [s.inputs["availabilityZoneId"] for s in public] == zones
    assert all("availabilityZone" not in s.inputs for s in subnets)
    assert [s.name for s in private] == [f"c1-private-{zone}" for zone in zones]
    assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
    assert all(s.inputs["tags"]["kubernetes.io/role/elb"] == "1" for s in public)
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    assert len(eks_dev.of_type("aws:ec2/natGateway:NatGateway")) == 1


@pytest.mark.parametrize(
    ("offered", "region", "chosen"),
    [
        (
            ["use1-az6", "use1-az3", "use1-az2", "use1-az1"],
            "us-east-1",
            ["use1-az1", "use1-az2", "use1-az6"],
        ),
        (
            ["cac1-az4", "cac1-az3", "cac1-az2", "cac1-az1"],
            "ca-central-1",
            ["cac1-az1", "cac1-az2", "cac1-az4"],
        ),
        (
            ["euw1-az10", "euw1-az9", "euw1-az2", "euw1-az1"],
            "eu-west-1",
            ["euw1-az1", "euw1-az2", "euw1-az9"],
        ),
    ],
)
def test_zones_are_chosen_by_id_without_those_eks_refuses(
    offered: list[str], region: str, chosen: list[str]
) -> None:
    assert eks.choose_zone_ids(offered, region) == chosen


def test_a_region_with_fewer_than_three_eks_zones_is_refused() -> None:
    # us-west-1 offers two zones to most accounts, and EKS refuses usw1-az2.
    with pytest.raises(ValueError, match="offers 2 zones EKS accepts"):
        eks.choose_zone_ids(["usw1-az1", "usw1-az2", "usw1-az3"], "us-west-1")


def test_catalog_lists_the_zone_ids_eks_refuses() -> None:
    # awsdocs/amazon-eks-user-guide latest/ug/networking/network-reqs.adoc, "Disallowed
    # Availability Zone IDs" (commit 4d52b4d).
    assert catalog.eks_unsupported_zone_ids("us-east-1") == ["use1-az3"]
    assert catalog.eks_unsupported_zone_ids("us-west-1") == ["usw1-az2"]
    assert catalog.eks_unsupported_zone_ids("ca-central-1") == ["cac1-az3"]
    assert catalog.eks_unsupported_zone_ids("eu-west-1") == []


def test_pinned_zone_ids_place_the_subnets_in_that_order() -> None:
    rendering = render_cluster(
        "aws", POOLS, availability_zone_ids=["use1-az6", "use1-az4", "use1-az2"]
    )
    private = {
        s.inputs["availabilityZoneId"]: s.inputs["cidrBlock"]
        for s in rendering.of_type("aws:ec2/subnet:Subnet")
        if s.name.startswith("c1-private-")
    }
    # The first zone given gets the first quarter of the VPC, and so on.
    assert private == {
        "use1-az6": "10.0.0.0/18",
        "use1-az4": "10.0.64.0/18",
        "use1-az2": "10.0.128.0/18",
    }


def test_existing_networks_keep_their_resources_through_aliases(eks_dev: engine.Rendering) -> None:
    # Names were the catalog's zone letters, in the same order: aliased by position.
    subnet = find(eks_dev, "aws:ec2/subnet:Subnet", "c1-private-use1-az1")
    assert [alias["spec"]["name"] for alias in subnet.options["aliases"]] == [
        "c1-private-us-east-1a"
    ]


def test_eks_prod_hardening(eks_prod: engine.Rendering) -> None:
    protected = {(r.type, r.name) for r in eks_prod.resources if r.protect}
    assert protected == {
        ("aws:eks/cluster:Cluster", "c1-eks"),
        ("aws:ec2/vpc:Vpc", "c1-vpc"),
        ("aws:kms/key:Key", "c1-secrets-key"),
    }
    assert find(eks_prod, "aws:eks/cluster:Cluster", "c1-eks").inputs["deletionProtection"]
    assert len(eks_prod.of_type("aws:ec2/natGateway:NatGateway")) == 3
    logs = find(eks_prod, "aws:cloudwatch/logGroup:LogGroup", "c1-control-plane-logs").inputs
    assert logs == {**logs, "name": "/aws/eks/c1/cluster", "retentionInDays": 60}


def test_eks_public_endpoint_is_limited_to_the_given_cidrs() -> None:
    rendering = render_cluster(
        "aws",
        POOLS[:1],
        endpoint_exposure="public-and-private",
        public_access_cidrs=["203.0.113.0/24"],
    )
    vpc_config = find(rendering, "aws:eks/cluster:Cluster", "c1-eks").inputs["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is True
    assert vpc_config["endpointPrivateAccess"] is True
    assert vpc_config["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_eks_addons_pinned_and_ordered_around_the_nodes(eks_dev: engine.Rendering) -> None:
    pinned = catalog.eks_addon_versions("1.33")
    addons = {a.inputs["addonName"]: a for a in eks_dev.of_type("aws:eks/addon:Addon")}
    assert {name: a.inputs["addonVersion"] for name, a in addons.items()} == pinned
    groups = {g.urn for g in eks_dev.of_type("aws:eks/nodeGroup:NodeGroup")}
    for group in eks_dev.of_type("aws:eks/nodeGroup:NodeGroup"):
        for before in eks.ADDONS_BEFORE_NODES:
            assert addons[before].urn in group.dependencies
    assert len(groups) == 2
    for after in eks.ADDONS_AFTER_NODES:
        # Depending on a NodePool component means depending on its cloud resources.
        assert groups <= set(addons[after].dependencies), after
    ebs = addons["aws-ebs-csi-driver"].inputs["podIdentityAssociations"]
    role = find(eks_dev, "aws:iam/role:Role", "c1-ebs-csi-role")
    assert ebs == [{"roleArn": role.outputs["arn"], "serviceAccount": "ebs-csi-controller-sa"}]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert "sts:TagSession" in trust["Action"]


def test_eks_vpc_cni_enforces_network_policies(eks_dev: engine.Rendering) -> None:
    # awsdocs/amazon-eks-user-guide latest/ug/networking/eks-networking-add-ons.adoc (commit
    # 4d52b4d): `--configuration-values '{"enableNetworkPolicy": "true"}'`, a string value.
    cni = find(eks_dev, "aws:eks/addon:Addon", "c1-vpc-cni")
    assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    others = [a for a in eks_dev.of_type("aws:eks/addon:Addon") if a.name != "c1-vpc-cni"]
    assert all("configurationValues" not in addon.inputs for addon in others)


@pytest.mark.parametrize("minor", catalog.supported_kubernetes_versions("aws"))
def test_every_pinned_vpc_cni_can_enforce_network_policies(minor: str) -> None:
    # Same page: network policies need VPC CNI 1.14 or later, on EKS 1.25 or later.
    version = catalog.version_parts(catalog.eks_addon_versions(minor)["vpc-cni"])
    assert version is not None and version[:2] >= (1, 14)
    assert catalog.version_parts(minor) >= (1, 25)


def test_nodes_may_fill_the_regions_pull_through_caches_only(eks_dev: engine.Rendering) -> None:
    # ECR user guide pull-through-cache-iam.html: a pull through a cache needs
    # ecr:BatchImportUpstreamImage, and ecr:CreateRepository on the first pull; the node role's
    # AmazonEC2ContainerRegistryPullOnly grants neither.
    role = find(eks_dev, "aws:iam/role:Role", "c1-node-role")
    policy = find(eks_dev, "aws:iam/rolePolicy:RolePolicy", "c1-node-role-pull-through")
    assert policy.inputs["role"] == role.outputs["id"]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert sorted(statement["Action"]) == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    region, account = "us-east-1", "123456789012"
    assert statement["Resource"] == [
        f"arn:aws:ecr:{region}:{account}:repository/{prefix}/*"
        for prefix in ("docker-hub", "ecr-public", "ghcr", "k8s", "quay")
    ]
    for group in eks_dev.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert policy.urn in group.dependencies


def test_ebs_csi_role_trusts_only_its_service_account_of_this_cluster(
    eks_dev: engine.Rendering,
) -> None:
    # Session tags EKS Pod Identity sets (awsdocs/amazon-eks-user-guide
    # latest/ug/manage-access/aws-access/service-accounts.adoc, commit 4d52b4d); the add-on's
    # service account (latest/ug/storage/ebs-csi.adoc).
    cluster = find(eks_dev, "aws:eks/cluster:Cluster", "c1-eks")
    role = find(eks_dev, "aws:iam/role:Role", "c1-ebs-csi-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"] == {
        "StringEquals": {
            "aws:RequestTag/eks-cluster-arn": cluster.outputs["arn"],
            "aws:RequestTag/kubernetes-namespace": "kube-system",
            "aws:RequestTag/kubernetes-service-account": "ebs-csi-controller-sa",
        }
    }


def test_a_pod_identity_trust_without_conditions_is_never_written() -> None:
    # The failing case: another cluster's, namespace's or service account's session tags.
    policy = json.loads(eks.pod_identity_trust("arn:aws:eks:us-east-1:1:cluster/a", "ns", "sa"))
    (statement,) = policy["Statement"]
    tags = statement["Condition"]["StringEquals"]
    assert tags["aws:RequestTag/eks-cluster-arn"] != "arn:aws:eks:us-east-1:1:cluster/b"
    assert set(tags) == {
        "aws:RequestTag/eks-cluster-arn",
        "aws:RequestTag/kubernetes-namespace",
        "aws:RequestTag/kubernetes-service-account",
    }
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]


@pytest.mark.parametrize(
    ("vpc", "private", "public"),
    [
        ("10.0.0.0/16", ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"], "10.0.192.0/20"),
        ("10.9.8.0/24", ["10.9.8.0/26", "10.9.8.64/26", "10.9.8.128/26"], "10.9.8.192/28"),
    ],
)
def test_subnet_plan(vpc: str, private: list[str], public: str) -> None:
    plan = eks.plan_subnets(vpc, ["a", "b", "c"])
    assert [zone.private_cidr for zone in plan] == private
    assert plan[0].public_cidr == public
    assert [zone.zone for zone in plan] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("days", "kept"), [(1, 1), (3, 3), (4, 5), (30, 30), (45, 60), (9999, 3653)]
)
def test_log_retention_rounds_up_to_a_cloudwatch_value(days: int, kept: int) -> None:
    assert eks.log_retention(days) == kept


# -- TKE ------------------------------------------------------------------------------------


def test_tke_cluster_settings(tke_prod: engine.Rendering) -> None:
    inputs = find(tke_prod, "tencentcloud:Kubernetes/cluster:Cluster", "c1-tke").inputs
    assert inputs["clusterVersion"] == catalog.kubernetes_full_version("tencentcloud", "1.32")
    assert inputs["clusterDeployType"] == "MANAGED_CLUSTER"
    assert inputs["deletionProtection"] is True
    assert inputs["clusterAudit"]["enabled"] is True
    assert inputs["eventPersistence"]["enabled"] is True
    assert inputs["logAgent"]["enabled"] is True
    assert inputs["clusterCidr"] == "172.16.0.0/16"
    # The endpoint resource alone opens and closes the API endpoints: the cluster leaves both
    # switches unset (Optional+Computed there). terraform-provider-tencentcloud v1.82.42,
    # tencentcloud/services/tke/resource_tc_kubernetes_cluster_endpoint.md: "Please do not use
    # this resource and resource `tencentcloud_kubernetes_cluster` to operate cluster public
    # network/intranet access at the same time."
    assert "clusterInternet" not in inputs
    assert "clusterIntranet" not in inputs
    # Protected tiers keep their audit trail when the cluster goes away.
    assert inputs["clusterAudit"]["deleteAuditLogAndTopic"] is False


def test_tke_installs_the_network_policy_addon_before_tenants(tke_prod: engine.Rendering) -> None:
    (addon,) = tke_prod.of_type("tencentcloud:Kubernetes/addon:Addon")
    tke = tke_prod.of_type("tencentcloud:Kubernetes/cluster:Cluster")[0]
    assert addon.inputs == {"addonName": "networkpolicy", "clusterId": tke.outputs["id"]}
    provider = tke_prod.of_type("pulumi:providers:kubernetes")[0]
    assert addon.urn in provider.dependencies


def test_tke_secrets_encrypted_with_the_clusters_kms_key(tke_prod: engine.Rendering) -> None:
    key = find(tke_prod, "tencentcloud:Kms/key:Key", "c1-secrets-key")
    protection = find(
        tke_prod,
        "tencentcloud:Kubernetes/encryptionProtection:EncryptionProtection",
        "c1-secrets-encryption",
    ).inputs
    assert protection["kmsConfiguration"] == {
        "keyId": key.outputs["id"],
        "kmsRegion": "ap-guangzhou",
    }
    assert key.inputs["keyRotationEnabled"] is True


def test_tke_private_endpoint_after_the_nodes(tke_prod: engine.Rendering) -> None:
    endpoint = find(
        tke_prod, "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint", "c1-endpoint"
    )
    assert endpoint.inputs["clusterIntranet"] is True
    assert endpoint.inputs["clusterInternet"] is False
    assert "clusterInternetSecurityGroup" not in endpoint.inputs
    pools = {p.urn for p in tke_prod.of_type("tencentcloud:Kubernetes/nodePool:NodePool")}
    assert pools and pools <= set(endpoint.dependencies)
    assert tke_prod.of_type("tencentcloud:Security/group:Group") == []
    outputs = tke_prod.stack_outputs
    assert outputs["endpoint"].startswith("https://10.")
    assert outputs["cloud_cluster_id"].startswith("cls-")
    assert outputs["oidc_issuer"] == f"https://{outputs['cloud_cluster_id']}.ccs.tencent-cloud.com"


def test_tke_workload_identity_is_set_up_once_nodes_run(tke_prod: engine.Rendering) -> None:
    """The auth attachment is the one owner of the cluster's authentication options: TKE's
    service-account issuer with public discovery, the CAM OIDC provider named after the
    cluster id, and the pod-identity webhook add-on (which needs nodes)."""
    (auth,) = tke_prod.of_type("tencentcloud:Kubernetes/authAttachment:AuthAttachment")
    cluster = find(tke_prod, "tencentcloud:Kubernetes/cluster:Cluster", "c1-tke")
    assert auth.inputs == {
        "clusterId": cluster.outputs["id"],
        "useTkeDefault": True,
        "autoCreateDiscoveryAnonymousAuth": True,
        "autoCreateOidcConfig": True,
        "autoInstallPodIdentityWebhookAddon": True,
    }
    assert "authOptions" not in cluster.inputs
    pools = {p.urn for p in tke_prod.of_type("tencentcloud:Kubernetes/nodePool:NodePool")}
    assert pools and pools <= set(auth.dependencies)
    assert tke_prod.stack_outputs["oidc_issuer"] == auth.outputs["tkeDefaultIssuer"]


def test_tke_prod_protects_stateful_resources(tke_prod: engine.Rendering) -> None:
    protected = {(r.type, r.name) for r in tke_prod.resources if r.protect}
    assert protected == {
        ("tencentcloud:Kubernetes/cluster:Cluster", "c1-tke"),
        ("tencentcloud:Vpc/instance:Instance", "c1-vpc"),
        ("tencentcloud:Kms/key:Key", "c1-secrets-key"),
    }
    pool = find(tke_prod, "tencentcloud:Kubernetes/nodePool:NodePool", "c1-general-node-pool")
    assert pool.inputs["deletionProtection"] is True


def test_tke_public_endpoint_only_from_the_given_cidrs() -> None:
    rendering = render_cluster(
        "tencentcloud",
        TKE_POOLS,
        exports=True,
        endpoint_exposure="public",
        public_access_cidrs=["203.0.113.0/24", "198.51.100.0/24"],
    )
    group = find(rendering, "tencentcloud:Security/group:Group", "c1-api-public")
    rules = find(rendering, "tencentcloud:Security/groupRuleSet:GroupRuleSet", "c1-api-public")
    assert [rule["cidrBlock"] for rule in rules.inputs["ingresses"]] == [
        "203.0.113.0/24",
        "198.51.100.0/24",
    ]
    assert {rule["port"] for rule in rules.inputs["ingresses"]} == {"443"}
    endpoint = find(
        rendering, "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint", "c1-endpoint"
    ).inputs
    assert endpoint["clusterInternet"] is True
    assert endpoint["clusterInternetSecurityGroup"] == group.outputs["id"]
    assert rendering.stack_outputs["endpoint"].endswith(".ccs.tencent-cloud.com")


def test_tke_node_subnets_and_egress(tke_prod: engine.Rendering) -> None:
    subnets = tke_prod.of_type("tencentcloud:Subnet/instance:Instance")
    zones = catalog.availability_zones("tencentcloud", "ap-guangzhou")
    assert sorted(s.inputs["availabilityZone"] for s in subnets) == sorted(zones)
    assert [cidr for _, cidr in node_subnets("10.0.0.0/16", zones)] == [
        "10.0.0.0/18",
        "10.0.64.0/18",
        "10.0.128.0/18",
    ]
    (route,) = tke_prod.of_type("tencentcloud:Route/tableEntry:TableEntry")
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert route.inputs["nextType"] == "NAT"


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("10.0.0.8", "https://10.0.0.8"),
        ("https://cls-a.ccs.tencent-cloud.com", "https://cls-a.ccs.tencent-cloud.com"),
    ],
)
def test_tke_api_url(address: str, url: str) -> None:
    assert api_url(address) == url


# -- attached -------------------------------------------------------------------------------


def test_attached_cluster_creates_no_cloud_resource(attached: engine.Rendering) -> None:
    types = {r.type for r in attached.resources}
    assert types == {CLUSTER, NODE_POOL, K8S_PROVIDER}
    assert attached.stack_outputs["endpoint"] == "https://10.0.0.1:6443"
    assert attached.stack_outputs.get("oidc_issuer") is None
    assert attached.stack_outputs.get("cloud_cluster_id") is None


def test_attached_context_is_passed_to_the_provider() -> None:
    config = yaml.safe_load(ONPREM_KUBECONFIG)
    config["contexts"].append({"name": "other", "context": {"cluster": "onprem", "user": "x"}})
    kubeconfig = json.dumps(config)
    assert server_of(kubeconfig, "other") == "https://10.0.0.1:6443"
    rendering = render_cluster(
        "attached",
        ATTACHED_POOLS,
        attached={"kubeconfig": kubeconfig, "context": "other", "oidc_issuer": "https://idp"},
        exports=True,
    )
    provider = find(rendering, K8S_PROVIDER, "c1-k8s")
    assert provider.inputs["context"] == "other"
    assert isinstance(provider.inputs["kubeconfig"], engine.SecretValue)
    assert rendering.stack_outputs["oidc_issuer"] == "https://idp"


@pytest.mark.parametrize(
    ("kubeconfig", "context", "fragment"),
    [
        ("{", None, "not YAML"),
        ("[]", None, "not a kubeconfig"),
        (ONPREM_KUBECONFIG, "missing", "no context 'missing'"),
    ],
)
def test_attached_kubeconfig_errors_name_the_problem(
    kubeconfig: str, context: str | None, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        server_of(kubeconfig, context)


# -- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"cloud": "gcp", "kubernetes_version": "1.33"}, "cloud: must be one of"),
        ({"cloud": "aws", "kubernetes_version": "1.20"}, "not supported on aws"),
        (
            {"cloud": "aws", "kubernetes_version": "1.33", "region": "us-east-1"},
            "vpc_cidr is required",
        ),
        (
            {
                "cloud": "aws",
                "kubernetes_version": "1.33",
                "region": "us-east-1",
                "vpc_cidr": "10.0.0.0/16",
                "cloud_provider": object(),
            },
            "deployer_role_arn is required on aws",
        ),
        (
            {
                "cloud": "tencentcloud",
                "kubernetes_version": "1.32",
                "region": "ap-guangzhou",
                "vpc_cidr": "10.0.0.0/16",
                "cloud_provider": object(),
            },
            "pod_cidr is required",
        ),
        ({"cloud": "attached", "kubernetes_version": "1.32"}, "attached .* is required"),
        (
            {
                "cloud": "attached",
                "kubernetes_version": "1.32",
                "attached": {"kubeconfig": "x"},
                "node_pools": [{"name": "a", "instance_types": []}] * 2,
            },
            "repeat: a",
        ),
        (
            {
                "cloud": "aws",
                "kubernetes_version": "1.33",
                "region": "us-east-1",
                "vpc_cidr": "10.0.0.0/16",
                "cloud_provider": object(),
                "deployer_role_arn": "arn:aws:iam::123456789012:role/d",
                "availability_zone_ids": ["use1-az1", "use1-az2", "use1-az3"],
            },
            r"availability_zone_ids: \[2\] EKS refuses control-plane subnets in use1-az3",
        ),
    ],
)
def test_invalid_arguments_are_refused(args: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        validate_args("c1", args)  # type: ignore[arg-type]


def test_backends_are_looked_up_by_cloud() -> None:
    assert backend_class("aws").cloud == "aws"
    assert backend_class("tencentcloud").cloud == "tencentcloud"
    assert backend_class("attached").cloud == "attached"
    with pytest.raises(ValueError, match="no cluster backend"):
        backend_class("gcp")


def test_build_kubeconfig_is_deterministic_and_tokenless() -> None:
    first = eks.build_kubeconfig("c", "https://x", "Q0E=", "eu-central-1", DEPLOYER_ROLE_ARN)
    assert first == eks.build_kubeconfig(
        "c", "https://x", "Q0E=", "eu-central-1", DEPLOYER_ROLE_ARN
    )
    config = json.loads(first)
    assert config["current-context"] == "c"
    assert "eu-central-1" in config["users"][0]["user"]["exec"]["args"]
    (user,) = config["users"]
    assert set(user["user"]) == {"exec"}  # no token, no client certificate


def test_tke_services_come_from_the_pod_cidr(tke_prod: engine.Rendering) -> None:
    # GR clusters: no service_cidr (provider examples set it only with VPC-CNI), the service
    # count of the provider's default (resource_tc_kubernetes_cluster.go v1.82.42, Default 256).
    inputs = find(tke_prod, "tencentcloud:Kubernetes/cluster:Cluster", "c1-tke").inputs
    assert "serviceCidr" not in inputs
    assert inputs["clusterMaxServiceNum"] == 256
    assert inputs["networkType"] == "GR"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"service_cidr": "172.21.0.0/20"}, "service_cidr: does not apply to TKE's global-router"),
        ({"max_services": 100}, "max_services: 100 is not a power of two"),
    ],
)
def test_tke_service_range_refusals(extra: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        render_cluster(
            "tencentcloud", [{"name": "general", "instance_types": ["S5.LARGE8"]}], **extra
        )


# -- item 15: CAM prerequisites are checked before CreateCluster ---------------------------
# terraform-provider-tencentcloud v1.82.42, resource_tc_kubernetes_cluster.go (Create enables
# audit/events/log agent in PostHandleResponse0 before d.SetId: a failure orphans the cluster),
# services/cbs/resource_tc_cbs_storage.md (encrypted disks need CVM_QcsRole with
# QcloudKMSAccessForCVMRole), data_source_tc_kubernetes_cluster_common_names_test.go
# (TKE_QCSRole).


def test_tke_cluster_waits_for_the_cam_preflight(tke_prod: engine.Rendering) -> None:
    inputs = find(tke_prod, "tencentcloud:Kubernetes/cluster:Cluster", "c1-tke").inputs
    assert inputs["clusterDesc"] == "tkestack cluster c1"


@pytest.mark.parametrize(
    ("missing", "fragment"),
    [
        ({"TKE_QCSRole"}, "lacks CAM role TKE_QCSRole"),
        ({"CVM_QcsRole"}, "lacks CAM role CVM_QcsRole"),
    ],
)
def test_tke_cluster_is_not_created_without_its_cam_roles(
    monkeypatch: pytest.MonkeyPatch, missing: set[str], fragment: str
) -> None:
    monkeypatch.setattr(mocks, "MISSING_CAM_ROLES", missing)
    with pytest.raises(Exception, match=re.escape(fragment)) as caught:
        render_cluster("tencentcloud", [{"name": "general", "instance_types": ["S5.LARGE8"]}])
    assert "docs/deploying.md" in str(caught.value)


def test_missing_kms_policy_is_named() -> None:
    cvm = [{"name": "CVM_QcsRole", "role_id": "1"}]
    tke_role = [{"name": "TKE_QCSRole", "role_id": "2"}]
    assert tke.missing_prerequisites(tke_role, cvm, []) == [
        "policy QcloudKMSAccessForCVMRole on CAM role CVM_QcsRole (encrypted disks)"
    ]
    attached = [{"policy_name": "QcloudKMSAccessForCVMRole"}]
    assert tke.missing_prerequisites(tke_role, cvm, attached) == []
