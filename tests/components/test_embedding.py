"""Embedding: tkestack's components in an enterprise's own stacks (issue 7).

The public surface of `tkestack.components`; the bring-your-own inputs (an existing VPC and
subnets, IAM roles, a cluster that exists already, a naming prefix, tags) on EKS and TKE; the
Python enterprise example rendered under mocks with nothing of ours outside what it asked
for; the package's components building exactly what the Python components build; the YAML
example checked against the package schema and run through the package's provider.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
import tencentcloud_iac_pulumi as tencentcloud
import yaml
from cluster_support import ONPREM_KUBECONFIG
from conftest import ROOT
from embedding_support import hosted, run_python_example

import tkestack.components as components
from tkestack import engine
from tkestack.components import Cluster, NodePool, Tenant, reference

ACCOUNT = "123456789012"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/acme-deployer"
VPC = "vpc-0a1b2c3d4e5f60718"
SUBNETS = ["subnet-0aa11bb22cc33dd44", "subnet-0ee55ff66aa77bb88"]
ROLES = {
    "cluster_role_arn": f"arn:aws:iam::{ACCOUNT}:role/acme-eks-cluster",
    "node_role_arn": f"arn:aws:iam::{ACCOUNT}:role/acme-eks-nodes",
    "ebs_csi_role_arn": f"arn:aws:iam::{ACCOUNT}:role/acme-eks-ebs-csi",
    "autoscaler_role_arn": f"arn:aws:iam::{ACCOUNT}:role/acme-eks-autoscaler",
}
TAGS = {"acme:cost-center": "4711", "acme:owner": "payments"}
NETWORK_TYPES = {
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "tencentcloud:Vpc/instance:Instance",
    "tencentcloud:Subnet/instance:Instance",
    "tencentcloud:Route/table:Table",
    "tencentcloud:Route/tableEntry:TableEntry",
    "tencentcloud:Nat/gateway:Gateway",
    "tencentcloud:Eip/instance:Instance",
}
RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE_TYPES = {"aws:iam/role:Role", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"}
CONTROL_PLANE_TYPES = {
    "aws:eks/cluster:Cluster",
    "aws:eks/addon:Addon",
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:eks/accessEntry:AccessEntry",
    "tencentcloud:Kubernetes/cluster:Cluster",
    "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint",
    "tencentcloud:Kms/key:Key",
}


def types_of(rendering: engine.Rendering) -> set[str]:
    return {resource.type for resource in rendering.resources}


def one(rendering: engine.Rendering, type_: str) -> engine.RenderedResource:
    found = rendering.of_type(type_)
    assert len(found) == 1, f"{type_}: {[resource.name for resource in found]}"
    return found[0]


# -- the public surface ------------------------------------------------------------------------


def test_public_surface_is_importable_and_listed_in_the_package_docstring() -> None:
    doc = components.__doc__ or ""
    for name in components.__all__:
        assert getattr(components, name) is not None
    for entry in reference.COMPONENTS:
        assert entry.component.__name__ in components.__all__
        assert entry.args.__name__ in components.__all__
        assert f"`{entry.component.__name__}` (`{entry.args.__name__}`" in doc
        for nested in entry.types:
            assert nested.__name__ in components.__all__, nested
            assert f"`{nested.__name__}`" in doc, nested
        for field in reference.output_fields(entry.component):
            mark = "*" if field.name in entry.secret_outputs else ""
            assert f"`{field.name}{mark}`" in doc, (entry.component.__name__, field.name)


@pytest.mark.parametrize("entry", reference.COMPONENTS, ids=lambda e: e.component.__name__)
def test_every_argument_and_output_is_documented(entry: reference.ComponentEntry) -> None:
    undocumented = [
        f"{type_.__name__}.{field.name}"
        for type_ in (entry.args, *entry.types)
        for field in reference.argument_fields(type_)
        if not field.doc
    ]
    undocumented += [
        f"{entry.component.__name__}.{field.name}"
        for field in reference.output_fields(entry.component)
        if not field.doc
    ]
    assert undocumented == []


def test_components_read_only_their_arguments() -> None:
    """No stack config, no environment variables, no environment spec in components/."""
    offenders = []
    for path in sorted((ROOT / "components").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and node.attr in ("Config", "environ", "getenv"):
                offenders.append(f"{where} {node.attr}")
            if isinstance(node, ast.ImportFrom) and "stacks" in (node.module or ""):
                offenders.append(f"{where} imports {node.module}")
    assert offenders == []


# -- bring your own: AWS -----------------------------------------------------------------------


def aws_cluster(**args: Any) -> Callable[[], None]:
    def program() -> None:
        provider = aws.Provider("acme-aws", region="us-east-1")
        cluster = Cluster(
            "payments",
            {
                "cloud": "aws",
                "kubernetes_version": "1.33",
                "region": "us-east-1",
                "cloud_provider": provider,
                "deployer_role_arn": DEPLOYER,
                "tags": TAGS,
                "node_pools": [{"name": "general", "instance_types": ["m7i.xlarge"]}],
                **args,
            },
        )
        pulumi.export("kubeconfig", cluster.kubeconfig)
        pulumi.export("cloud_cluster_id", cluster.info.cloud_cluster_id)
        pulumi.export("vpc_id", cluster.info.vpc_id)
        pulumi.export("node_subnet_ids", cluster.info.node_subnet_ids)
        pulumi.export("oidc_issuer", cluster.oidc_issuer)

    return program


EXISTING_NETWORK = {"vpc_id": VPC, "node_subnet_ids": SUBNETS}


def test_eks_in_an_existing_vpc_creates_no_network() -> None:
    rendering = engine.run_program(aws_cluster(existing_network=EXISTING_NETWORK))
    assert not types_of(rendering) & NETWORK_TYPES
    assert one(rendering, "aws:eks/cluster:Cluster").inputs["vpcConfig"]["subnetIds"] == SUBNETS
    assert one(rendering, "aws:eks/nodeGroup:NodeGroup").inputs["subnetIds"] == SUBNETS
    assert rendering.stack_outputs["vpc_id"] == VPC
    assert rendering.stack_outputs["node_subnet_ids"] == SUBNETS


def test_existing_roles_replace_the_roles_and_their_policy_attachments() -> None:
    rendering = engine.run_program(
        aws_cluster(existing_network=EXISTING_NETWORK, existing_roles=ROLES)
    )
    assert not types_of(rendering) & ROLE_TYPES
    assert one(rendering, "aws:eks/cluster:Cluster").inputs["roleArn"] == ROLES["cluster_role_arn"]
    node_group = one(rendering, "aws:eks/nodeGroup:NodeGroup")
    assert node_group.inputs["nodeRoleArn"] == ROLES["node_role_arn"]
    ebs = next(
        r for r in rendering.of_type("aws:eks/addon:Addon") if r.name.endswith("-ebs-csi-driver")
    )
    assert ebs.inputs["podIdentityAssociations"][0]["roleArn"] == ROLES["ebs_csi_role_arn"]
    autoscaler = one(rendering, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert autoscaler.inputs["serviceAccount"] == "cluster-autoscaler"
    assert autoscaler.inputs["roleArn"] == ROLES["autoscaler_role_arn"]
    assert not rendering.of_type("aws:iam/rolePolicy:RolePolicy")


def test_only_the_roles_not_given_are_created() -> None:
    rendering = engine.run_program(
        aws_cluster(
            existing_network=EXISTING_NETWORK,
            existing_roles={"node_role_arn": ROLES["node_role_arn"]},
        )
    )
    roles = sorted(resource.name for resource in rendering.of_type("aws:iam/role:Role"))
    assert roles == ["payments-cluster-role", "payments-ebs-csi-role"]
    # Without autoscaler_role_arn no autoscaler role is created, so no autoscaler either.
    assert not rendering.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert not [r for r in rendering.of_type(RELEASE) if r.name.endswith("cluster-autoscaler")]


def test_name_prefix_is_on_every_cloud_name_and_not_on_urns() -> None:
    rendering = engine.run_program(aws_cluster(vpc_cidr="10.0.0.0/16", name_prefix="acme-prd-"))
    eks = one(rendering, "aws:eks/cluster:Cluster")
    assert eks.inputs["name"] == "acme-prd-payments"
    assert eks.name == "payments-eks"
    assert one(rendering, "aws:cloudwatch/logGroup:LogGroup").inputs["name"] == (
        "/aws/eks/acme-prd-payments/cluster"
    )
    assert one(rendering, "aws:kms/alias:Alias").inputs["name"] == (
        "alias/tkestack/acme-prd-payments/secrets"
    )
    for resource in rendering.resources:
        tags = resource.inputs.get("tags") or {}
        if "Name" in tags:
            assert tags["Name"].startswith("acme-prd-payments"), resource.urn
        owned = [key for key in tags if key.startswith("kubernetes.io/cluster/")]
        assert owned in ([], ["kubernetes.io/cluster/acme-prd-payments"]), resource.urn
    assert rendering.stack_outputs["cloud_cluster_id"] == "acme-prd-payments"


def test_existing_eks_cluster_by_name_gets_only_its_new_node_pools() -> None:
    rendering = engine.run_program(
        aws_cluster(
            existing_cluster="their-eks",
            existing_network=EXISTING_NETWORK,
            existing_roles={"node_role_arn": ROLES["node_role_arn"]},
        )
    )
    assert not types_of(rendering) & (NETWORK_TYPES | ROLE_TYPES | CONTROL_PLANE_TYPES)
    assert {r.type for r in rendering.resources if r.custom} == {
        "pulumi:providers:aws",
        "pulumi:providers:kubernetes",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:eks/nodeGroup:NodeGroup",
    }
    node_group = one(rendering, "aws:eks/nodeGroup:NodeGroup")
    assert node_group.inputs["clusterName"] == "their-eks"
    assert node_group.inputs["subnetIds"] == SUBNETS
    outputs = rendering.stack_outputs
    assert outputs["cloud_cluster_id"] == "their-eks"
    assert isinstance(outputs["kubeconfig"], engine.SecretValue)
    kubeconfig = json.loads(outputs["kubeconfig"].value)
    command = kubeconfig["users"][0]["user"]["exec"]["args"]
    assert command[command.index("--cluster-name") + 1] == "their-eks"
    assert command[command.index("--role-arn") + 1] == DEPLOYER
    assert outputs["oidc_issuer"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")


def test_node_pools_added_later_to_an_existing_cluster_share_one_created_node_role() -> None:
    def program() -> None:
        provider = aws.Provider("acme-aws", region="us-east-1")
        cluster = Cluster(
            "theirs",
            {
                "cloud": "aws",
                "kubernetes_version": "1.33",
                "region": "us-east-1",
                "cloud_provider": provider,
                "deployer_role_arn": DEPLOYER,
                "existing_cluster": "their-eks",
                "existing_network": EXISTING_NETWORK,
            },
        )
        for name, types in (("x86", ["m7i.xlarge"]), ("arm", ["m7g.xlarge"])):
            NodePool(
                f"theirs-{name}",
                {"cluster": cluster, "name": name, "instance_types": types},
                opts=pulumi.ResourceOptions(parent=cluster),
            )

    rendering = engine.run_program(program)
    assert [role.name for role in rendering.of_type("aws:iam/role:Role")] == ["theirs-node-role"]
    groups = rendering.of_type("aws:eks/nodeGroup:NodeGroup")
    assert [group.inputs["amiType"] for group in groups] == [
        "AL2023_ARM_64_STANDARD",
        "AL2023_x86_64_STANDARD",
    ]


# -- bring your own: Tencent Cloud -------------------------------------------------------------


def tke_cluster(**args: Any) -> Callable[[], None]:
    def program() -> None:
        provider = tencentcloud.Provider("acme-tencentcloud", region="ap-guangzhou")
        cluster = Cluster(
            "payments",
            {
                "cloud": "tencentcloud",
                "kubernetes_version": "1.32",
                "region": "ap-guangzhou",
                "cloud_provider": provider,
                "tags": TAGS,
                "node_pools": [{"name": "general", "instance_types": ["S5.LARGE8"]}],
                "existing_network": {"vpc_id": "vpc-acme0001", "node_subnet_ids": ["subnet-a1"]},
                **args,
            },
        )
        pulumi.export("kubeconfig", cluster.kubeconfig)
        pulumi.export("endpoint", cluster.endpoint)
        pulumi.export("oidc_issuer", cluster.oidc_issuer)

    return program


def test_tke_in_an_existing_vpc_creates_no_network_and_carries_the_prefix() -> None:
    rendering = engine.run_program(tke_cluster(pod_cidr="172.16.0.0/16", name_prefix="acme-"))
    assert not types_of(rendering) & NETWORK_TYPES
    tke = one(rendering, "tencentcloud:Kubernetes/cluster:Cluster")
    assert (tke.inputs["vpcId"], tke.inputs["clusterName"]) == ("vpc-acme0001", "acme-payments")
    endpoint = one(rendering, "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint")
    assert endpoint.inputs["clusterIntranetSubnetId"] == "subnet-a1"
    pool = one(rendering, "tencentcloud:Kubernetes/nodePool:NodePool")
    assert (pool.inputs["vpcId"], pool.inputs["subnetIds"]) == ("vpc-acme0001", ["subnet-a1"])


def test_existing_tke_cluster_by_id_gets_only_its_new_node_pools() -> None:
    rendering = engine.run_program(tke_cluster(existing_cluster="cls-acme0001"))
    assert not types_of(rendering) & (NETWORK_TYPES | CONTROL_PLANE_TYPES)
    pool = one(rendering, "tencentcloud:Kubernetes/nodePool:NodePool")
    assert pool.inputs["clusterId"] == "cls-acme0001"
    outputs = rendering.stack_outputs
    assert isinstance(outputs["kubeconfig"], engine.SecretValue)
    # Private endpoint (the default exposure): the intranet kubeconfig and address.
    assert outputs["endpoint"].startswith("https://10.")
    assert outputs["endpoint"] in outputs["kubeconfig"].value
    assert outputs["oidc_issuer"] == "https://cls-acme0001.ccs.tencent-cloud.com"


# -- bring your own: wrong combinations --------------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "args", "fragment"),
    [
        ("aws", {"vpc_cidr": "10.0.0.0/16", "existing_network": EXISTING_NETWORK}, "vpc_cidr"),
        ("aws", {"existing_cluster": "their-eks", "vpc_cidr": "10.0.0.0/16"}, "existing_network"),
        ("aws", {"existing_network": {"vpc_id": VPC, "node_subnet_ids": SUBNETS[:1]}}, "two"),
        ("aws", {"existing_network": {"vpc_id": VPC, "node_subnet_ids": []}}, "node_subnet_ids"),
        ("aws", {"vpc_cidr": "10.0.0.0/16", "name_prefix": "acme_prd "}, "name_prefix"),
        ("tencentcloud", {"vpc_cidr": "10.0.0.0/16", "existing_roles": ROLES}, "existing_roles"),
        ("attached", {"existing_network": EXISTING_NETWORK}, "does not apply to attached"),
    ],
)
def test_wrong_bring_your_own_combinations_name_the_argument(
    cloud: str, args: dict[str, Any], fragment: str
) -> None:
    from tkestack.components.cluster import validate_args

    base: dict[str, Any] = {
        "cloud": cloud,
        "kubernetes_version": {"aws": "1.33", "tencentcloud": "1.32", "attached": "1.32"}[cloud],
        "region": "us-east-1" if cloud == "aws" else "ap-guangzhou",
        "cloud_provider": object(),
        "deployer_role_arn": DEPLOYER,
        "pod_cidr": "172.16.0.0/16",
    }
    if cloud == "attached":
        base = {"cloud": cloud, "kubernetes_version": "1.32", "attached": {"kubeconfig": "x"}}
    with pytest.raises(ValueError, match=fragment):
        validate_args("payments", {**base, **args})  # type: ignore[typeddict-item]


# -- the Python enterprise example -------------------------------------------------------------


@pytest.fixture(scope="module")
def python_example() -> tuple[engine.Rendering, dict[str, Any], dict[str, Any]]:
    return run_python_example()


def taggable(type_: str) -> bool:
    """Whether the provider SDK's resource class of `type_` takes `tags`."""
    package_name, module, name = type_.split(":")
    python_module = {"aws": "pulumi_aws", "tencentcloud": "tencentcloud_iac_pulumi"}[package_name]
    submodule = module.split("/")[0]
    cls = getattr(importlib.import_module(f"{python_module}.{submodule.lower()}"), name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def test_python_example_creates_no_network_no_role_and_nothing_outside_its_components(
    python_example: tuple[engine.Rendering, dict[str, Any], dict[str, Any]],
) -> None:
    rendering, config, _ = python_example
    assert not types_of(rendering) & (NETWORK_TYPES | ROLE_TYPES)
    by_urn = rendering.by_urn()
    top_level = sorted(f"{r.type}::{r.name}" for r in rendering.resources if r.parent is None)
    assert top_level == [
        "pulumi:providers:aws::acme-aws",
        "tkestack:index:Cluster::payments",
        "tkestack:index:PlatformServices::payments-platform",
        "tkestack:index:Tenant::payments-team",
    ]
    for resource in rendering.resources:
        if resource.parent is not None:
            assert resource.parent in by_urn, resource.urn
    eks = one(rendering, "aws:eks/cluster:Cluster")
    assert eks.inputs["vpcConfig"]["subnetIds"] == config["privateSubnetIds"]
    for group in rendering.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group.inputs["subnetIds"] == config["privateSubnetIds"]
        assert group.inputs["nodeRoleArn"] == config["roles"]["nodes"]
    assert sorted(group.name for group in rendering.of_type("aws:eks/nodeGroup:NodeGroup")) == [
        "payments-general-node-group",
        "payments-graviton-node-group",
    ]


def test_python_example_tags_every_taggable_resource_with_the_enterprise_tags(
    python_example: tuple[engine.Rendering, dict[str, Any], dict[str, Any]],
) -> None:
    rendering, config, _ = python_example
    cloud = [r for r in rendering.resources if r.custom and r.type.startswith("aws:")]
    checked = [r for r in cloud if taggable(r.type)]
    assert len(checked) >= 10  # cluster, key, log group, OIDC, add-ons, templates, node groups
    for resource in checked:
        tags = resource.inputs.get("tags") or {}
        assert config["tags"].items() <= tags.items(), resource.urn
    for template in rendering.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        for specification in template.inputs["tagSpecifications"]:
            assert config["tags"].items() <= specification["tags"].items(), template.urn


def test_python_example_names_carry_the_prefix(
    python_example: tuple[engine.Rendering, dict[str, Any], dict[str, Any]],
) -> None:
    rendering, config, _ = python_example
    prefix = config["namePrefix"]
    named = 0
    for resource in rendering.resources:
        if not (resource.custom and resource.type.startswith("aws:")):
            continue
        names = [resource.inputs.get("name"), (resource.inputs.get("tags") or {}).get("Name")]
        for name in [name for name in names if isinstance(name, str)]:
            named += 1
            # Paths (`/aws/eks/<cluster>/cluster`, `alias/tkestack/<cluster>/secrets`) are the
            # cloud's; the cluster's segment in them carries the prefix.
            assert name.startswith(prefix) or f"/{prefix}" in name, (resource.urn, name)
    assert named >= 10
    assert rendering.stack_outputs["clusterName"] == f"{prefix}payments"


def test_python_example_outputs_keep_the_kubeconfig_secret(
    python_example: tuple[engine.Rendering, dict[str, Any], dict[str, Any]],
) -> None:
    rendering, _, module = python_example
    outputs = rendering.stack_outputs
    assert isinstance(outputs["kubeconfig"], engine.SecretValue)
    assert outputs["namespaces"] == ["payments", "payments-batch"]
    assert module["info"].architectures == {"amd64", "arm64"}
    assert "graviton" in [pool.name for pool in module["info"].node_pools]


# -- the package's components build what the Python components build --------------------------


def descendants(rendering: engine.Rendering, root_urn: str) -> dict[tuple[str, str], Any]:
    """(type, name) -> masked inputs of every custom resource under `root_urn` (providers of
    the cluster excluded: their URNs differ between the two programs)."""
    by_urn = rendering.by_urn()

    def under(resource: engine.RenderedResource) -> bool:
        parent = resource.parent
        while parent is not None:
            if parent == root_urn:
                return True
            parent = by_urn[parent].parent
        return False

    return {
        (r.type, r.name): engine.masked(r.inputs)
        for r in rendering.resources
        if r.custom and not r.type.startswith("pulumi:providers:") and under(r)
    }


def test_package_tenant_builds_what_the_python_tenant_builds() -> None:
    pools = [{"name": "general", "instance_types": ["bare-metal"], "architecture": "x86_64"}]

    def python_program() -> None:
        onprem = Cluster(
            "onprem",
            {
                "cloud": "attached",
                "kubernetes_version": "1.32",
                "attached": {"kubeconfig": ONPREM_KUBECONFIG},
                "node_pools": pools,  # type: ignore[typeddict-item]
            },
        )
        Tenant("team-a", {"cluster": onprem.info, "tenant": "team-a", "namespaces": ["a", "b"]})

    def package_program() -> None:
        reference_ = {
            "name": "onprem",
            "cloud": "attached",
            "kubernetesVersion": "1.32",
            "kubeconfig": pulumi.Output.secret(ONPREM_KUBECONFIG),
            "nodePools": [
                {"name": "general", "instanceTypes": ["bare-metal"], "architecture": "x86_64"}
            ],
        }
        result = hosted().construct(
            "team-a",
            "tkestack:index:Tenant",
            {"cluster": reference_, "tenant": "team-a", "namespaces": ["a", "b"]},
            pulumi.ResourceOptions(),
        )
        pulumi.export("state", result.state)

    python = engine.run_program(python_program)
    packaged = engine.run_program(package_program)
    python_objects = descendants(python, "urn:pulumi:test::tkestack::tkestack:index:Tenant::team-a")
    package_objects = descendants(
        packaged,
        "urn:pulumi:test::tkestack::tkestack:index:Tenant$tkestack:index:Tenant::team-a",
    )
    assert {("kubernetes:core/v1:Namespace", f"team-a-{ns}") for ns in "ab"} <= set(python_objects)
    assert package_objects == python_objects
    assert packaged.stack_outputs["state"]["namespaces"] == ["a", "b"]


def test_package_cluster_builds_what_the_python_cluster_builds() -> None:
    args: dict[str, Any] = {
        "cloud": "aws",
        "kubernetes_version": "1.33",
        "region": "us-east-1",
        "deployer_role_arn": DEPLOYER,
        "existing_network": EXISTING_NETWORK,
        "name_prefix": "acme-",
        "tags": TAGS,
        "node_pools": [
            {
                "name": "gpu",
                "instance_types": ["g4dn.xlarge"],
                "accelerator_model": "t4",
                "sharing": "time-slicing",
                "taints": [{"key": "team", "value": "ml", "effect": "NoSchedule"}],
            }
        ],
    }

    def python_program() -> None:
        provider = aws.Provider("acme-aws", region="us-east-1")
        python_args = dict(args, cloud_provider=provider)
        pool = dict(python_args["node_pools"][0])
        pool["taints"] = [components.Taint("team", "ml", "NoSchedule")]
        python_args["node_pools"] = [pool]
        Cluster("payments", python_args)  # type: ignore[arg-type]

    def package_program() -> None:
        provider = aws.Provider("acme-aws", region="us-east-1")
        result = hosted().construct(
            "payments",
            "tkestack:index:Cluster",
            camel(args),
            pulumi.ResourceOptions(providers=[provider]),
        )
        pulumi.export("state", result.state)

    python = engine.run_program(python_program)
    packaged = engine.run_program(package_program)
    python_resources = descendants(
        python, "urn:pulumi:test::tkestack::tkestack:index:Cluster::payments"
    )
    package_resources = descendants(
        packaged,
        "urn:pulumi:test::tkestack::tkestack:index:Cluster$tkestack:index:Cluster::payments",
    )
    assert ("aws:eks/nodeGroup:NodeGroup", "payments-gpu-node-group") in python_resources
    assert package_resources == python_resources
    providers = {r.provider for r in packaged.resources if r.type.startswith("aws:")}
    assert providers == {"urn:pulumi:test::tkestack::pulumi:providers:aws::acme-aws"}
    state = packaged.stack_outputs["state"]
    assert isinstance(state["kubeconfig"], engine.SecretValue)
    assert (state["cloudClusterId"], state["vpcId"], state["nodePools"]) == (
        "acme-payments",
        VPC,
        ["gpu"],
    )


# -- the package's NodePool: a pool on a cluster given by value ------------------------------

POOL = {
    "name": "gpu",
    "instance_types": ["g4dn.xlarge"],
    "accelerator_model": "t4",
    "sharing": "time-slicing",
    "taints": [{"key": "team", "value": "ml", "effect": "NoSchedule"}],
}
POOL_CLUSTER = {
    "name": "payments",
    "cloud": "aws",
    "kubernetesVersion": "1.33",
    "region": "us-east-1",
    "existingCluster": "acme-payments",
    "existingNetwork": {"vpcId": VPC, "nodeSubnetIds": SUBNETS},
    "namePrefix": "acme-",
    "tags": TAGS,
}


def camel(value: Any) -> Any:
    """Python argument names as the other languages send them (`min_size` -> `minSize`)."""
    if isinstance(value, Mapping):
        return {
            (key if ":" in key else re.sub(r"_(\w)", lambda m: m.group(1).upper(), key)): camel(
                item
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [camel(item) for item in value]
    return value


def package_node_pool(
    name: str, cluster: Mapping[str, Any], pool: Mapping[str, Any], cloud: str = "aws"
) -> Any:
    """Construct a package `NodePool` as an engine's construct request would (with the
    cloud's provider in the options); answers the construct result."""
    provider = (
        aws.Provider("acme-aws", region="us-east-1")
        if cloud == "aws"
        else tencentcloud.Provider("acme-tencentcloud", region="ap-guangzhou")
    )
    return hosted().construct(
        name,
        "tkestack:index:NodePool",
        {"cluster": dict(cluster), **camel(pool)},
        pulumi.ResourceOptions(providers=[provider]),
    )


def test_package_node_pool_builds_what_the_python_node_pool_builds() -> None:
    node_role = ROLES["node_role_arn"]

    def python_program() -> None:
        provider = aws.Provider("acme-aws", region="us-east-1")
        cluster = Cluster(
            "payments",
            {
                "cloud": "aws",
                "kubernetes_version": "1.33",
                "region": "us-east-1",
                "cloud_provider": provider,
                "deployer_role_arn": DEPLOYER,
                "existing_cluster": "acme-payments",
                "existing_network": EXISTING_NETWORK,
                "existing_roles": {"node_role_arn": node_role},
                "name_prefix": "acme-",
                "tags": TAGS,
            },
        )
        pool = {**POOL, "taints": [components.Taint("team", "ml", "NoSchedule")]}
        NodePool(
            "payments-gpu",
            {**pool, "cluster": cluster},  # type: ignore[typeddict-item]
            opts=pulumi.ResourceOptions(parent=cluster),
        )

    def package_program() -> None:
        cluster = {**POOL_CLUSTER, "existingRoles": {"nodeRoleArn": node_role}}
        result = package_node_pool("payments-gpu", cluster, POOL)
        pulumi.export("state", result.state)

    python = engine.run_program(python_program)
    packaged = engine.run_program(package_program)
    python_pool = descendants(
        python,
        "urn:pulumi:test::tkestack::tkestack:index:Cluster$tkestack:index:NodePool::payments-gpu",
    )
    package_pool = descendants(
        packaged,
        "urn:pulumi:test::tkestack::tkestack:index:NodePool$tkestack:index:NodePool::payments-gpu",
    )
    assert set(python_pool) == {
        ("aws:ec2/launchTemplate:LaunchTemplate", "payments-gpu-launch-template"),
        ("aws:eks/nodeGroup:NodeGroup", "payments-gpu-node-group"),
    }
    assert package_pool == python_pool
    group = package_pool[("aws:eks/nodeGroup:NodeGroup", "payments-gpu-node-group")]
    assert (group["clusterName"], group["nodeRoleArn"]) == ("acme-payments", node_role)
    # Nothing of the cluster: no network, role, control plane, Kubernetes provider.
    assert {r.type for r in packaged.resources if r.custom} == {
        "pulumi:providers:aws",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:eks/nodeGroup:NodeGroup",
    }
    state = packaged.stack_outputs["state"]
    assert state["poolName"] == "gpu"
    assert state["labels"]["tkestack.io/gpu-sharing"] == "time-slicing"
    assert {"key": "team", "operator": "Equal", "value": "ml", "effect": "NoSchedule"} in state[
        "tolerations"
    ]


def test_package_node_pools_on_one_cluster_each_create_their_own_node_role() -> None:
    def program() -> None:
        for pool in ("x86", "arm"):
            types = ["m7i.xlarge"] if pool == "x86" else ["m7g.xlarge"]
            package_node_pool(
                f"payments-{pool}", POOL_CLUSTER, {"name": pool, "instance_types": types}
            )

    rendering = engine.run_program(program)
    roles = rendering.of_type("aws:iam/role:Role")
    assert sorted(role.name for role in roles) == [
        "payments-arm-node-role",
        "payments-x86-node-role",
    ]
    parents = {role.name: role.parent for role in roles}
    assert parents == {
        f"payments-{pool}-node-role": f"urn:pulumi:test::tkestack::tkestack:index:NodePool::payments-{pool}"
        for pool in ("x86", "arm")
    }
    groups = rendering.of_type("aws:eks/nodeGroup:NodeGroup")
    assert sorted(group.inputs["amiType"] for group in groups) == [
        "AL2023_ARM_64_STANDARD",
        "AL2023_x86_64_STANDARD",
    ]
    template = rendering.of_type("aws:ec2/launchTemplate:LaunchTemplate")[0]
    assert template.inputs["description"].endswith("of EKS cluster acme-payments")


def test_package_node_pool_joins_a_package_cluster_by_its_outputs() -> None:
    def program() -> None:
        provider = aws.Provider("acme-aws", region="us-east-1")
        cluster = (
            hosted()
            .construct(
                "payments",
                "tkestack:index:Cluster",
                camel(
                    {
                        "cloud": "aws",
                        "kubernetes_version": "1.33",
                        "region": "us-east-1",
                        "deployer_role_arn": DEPLOYER,
                        "existing_network": EXISTING_NETWORK,
                        "name_prefix": "acme-",
                    }
                ),
                pulumi.ResourceOptions(providers=[provider]),
            )
            .state
        )
        hosted().construct(
            "payments-general",
            "tkestack:index:NodePool",
            {
                "cluster": {
                    "name": "payments",
                    "cloud": "aws",
                    "kubernetesVersion": "1.33",
                    "region": "us-east-1",
                    "existingCluster": cluster["cloudClusterId"],
                    "existingNetwork": {
                        "vpcId": cluster["vpcId"],
                        "nodeSubnetIds": cluster["nodeSubnetIds"],
                    },
                    "namePrefix": "acme-",
                },
                "name": "general",
                "instanceTypes": ["m7i.xlarge"],
            },
            pulumi.ResourceOptions(providers=[provider]),
        )

    rendering = engine.run_program(program)
    group = one(rendering, "aws:eks/nodeGroup:NodeGroup")
    eks = one(rendering, "aws:eks/cluster:Cluster")
    assert group.inputs["clusterName"] == eks.inputs["name"] == "acme-payments"
    assert group.inputs["subnetIds"] == SUBNETS
    assert group.urn.startswith(
        "urn:pulumi:test::tkestack::tkestack:index:NodePool$tkestack:index:NodePool$"
    )


def test_package_node_pool_on_an_existing_tke_cluster_creates_only_its_node_pool() -> None:
    cluster = {
        "name": "payments",
        "cloud": "tencentcloud",
        "kubernetesVersion": "1.32",
        "region": "ap-guangzhou",
        "existingCluster": "cls-acme0001",
        "existingNetwork": {"vpcId": "vpc-acme0001", "nodeSubnetIds": ["subnet-a1"]},
        "deletionProtection": True,
        "tags": TAGS,
    }

    def program() -> None:
        package_node_pool(
            "payments-general",
            cluster,
            {"name": "general", "instance_types": ["S5.LARGE8"]},
            cloud="tencentcloud",
        )

    rendering = engine.run_program(program)
    assert {r.type for r in rendering.resources if r.custom} == {
        "pulumi:providers:tencentcloud",
        "tencentcloud:Kubernetes/nodePool:NodePool",
    }
    pool = one(rendering, "tencentcloud:Kubernetes/nodePool:NodePool")
    assert (pool.inputs["clusterId"], pool.inputs["vpcId"]) == ("cls-acme0001", "vpc-acme0001")
    assert pool.inputs["deletionProtection"] is True
    assert pool.inputs["tags"]["acme:owner"] == "payments"


@pytest.mark.parametrize(
    ("cluster", "pool", "cloud", "paths"),
    [
        ({**POOL_CLUSTER, "cloud": "attached"}, POOL, "aws", {"cluster.cloud"}),
        (
            {k: v for k, v in POOL_CLUSTER.items() if k not in ("existingCluster", "region")},
            POOL,
            "aws",
            {"cluster.existing_cluster", "cluster.region"},
        ),
        (
            {**POOL_CLUSTER, "kubernetesVersion": "1.20"},
            POOL,
            "aws",
            {"cluster.kubernetes_version"},
        ),
        (
            {**POOL_CLUSTER, "existingRoles": {"clusterRoleArn": ROLES["cluster_role_arn"]}},
            POOL,
            "aws",
            {"cluster.existing_roles.cluster_role_arn"},
        ),
        # The provider of another cloud than the cluster's: none of the cluster's cloud.
        (POOL_CLUSTER, POOL, "tencentcloud", {"cluster.cloud"}),
        (
            {
                **POOL_CLUSTER,
                "cloud": "tencentcloud",
                "kubernetesVersion": "1.32",
                "region": "ap-guangzhou",
            },
            {"name": "gpu", "instance_types": ["GN7.2XLARGE32"], "accelerator_model": "t4"},
            "tencentcloud",
            {"gpu_driver"},
        ),
    ],
    ids=["attached", "no-handle", "version", "other-role", "no-provider", "tke-gpu-driver"],
)
def test_package_node_pool_refuses_a_bad_cluster_by_property_path_before_registering(
    cluster: Mapping[str, Any], pool: Mapping[str, Any], cloud: str, paths: set[str]
) -> None:
    from tkestack.components.errors import ArgumentsError

    def program() -> None:
        package_node_pool("payments-gpu", cluster, pool, cloud=cloud)

    with pytest.raises(ArgumentsError) as raised:
        engine.run_program(program)
    assert {problem.dotted for problem in raised.value.problems} == paths


# -- the YAML example --------------------------------------------------------------------------

YAML_EXAMPLE = ROOT / "examples" / "yaml-enterprise" / "Pulumi.yaml"
GOLDEN_SCHEMA = ROOT / "tests" / "golden" / "schema.json"


def schema_problems(
    value: Any, prop: Mapping[str, Any], schema: Mapping[str, Any], at: str
) -> list[str]:
    """What is wrong with `value` for the schema property `prop` (references not checked)."""
    if isinstance(value, str) and value.startswith("${"):
        return []
    ref = prop.get("$ref")
    if ref is not None:
        type_ = schema["types"][ref.removeprefix("#/types/")]
        if "enum" in type_:
            allowed = [item["value"] for item in type_["enum"]]
            return [] if value in allowed else [f"{at}: {value!r} not in {allowed}"]
        return object_problems(
            value, type_.get("properties", {}), type_.get("required", []), schema, at
        )
    if prop.get("type") == "array":
        if not isinstance(value, list):
            return [f"{at}: not a list"]
        return [
            p
            for i, item in enumerate(value)
            for p in schema_problems(item, prop["items"], schema, f"{at}[{i}]")
        ]
    if prop.get("type") == "object":
        if not isinstance(value, dict):
            return [f"{at}: not a mapping"]
        return [
            p
            for key, item in value.items()
            for p in schema_problems(item, prop["additionalProperties"], schema, f"{at}.{key}")
        ]
    expected = {"string": str, "integer": int, "boolean": bool, "number": (int, float)}[
        prop["type"]
    ]
    return [] if isinstance(value, expected) else [f"{at}: {value!r} is not {prop['type']}"]


def object_problems(
    value: Any,
    properties: Mapping[str, Any],
    required: list[str],
    schema: Mapping[str, Any],
    at: str,
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{at}: not a mapping"]
    problems = [f"{at}.{key}: unknown property" for key in value if key not in properties]
    problems += [f"{at}.{key}: required" for key in required if key not in value]
    for key, item in value.items():
        if key in properties:
            problems += schema_problems(item, properties[key], schema, f"{at}.{key}")
    return problems


def test_yaml_example_matches_the_package_schema() -> None:
    program = yaml.safe_load(YAML_EXAMPLE.read_text())
    schema = json.loads(GOLDEN_SCHEMA.read_text())
    assert program["packages"] == {"tkestack": "../../components"}
    ours = {n: r for n, r in program["resources"].items() if r["type"].startswith("tkestack:")}
    assert {r["type"] for r in ours.values()} <= set(schema["resources"])
    problems = []
    for name, resource in ours.items():
        spec = schema["resources"][resource["type"]]
        problems += object_problems(
            resource["properties"],
            spec["inputProperties"],
            spec.get("requiredInputs", []),
            schema,
            name,
        )
    assert problems == []
    outputs = {r["type"]: set(schema["resources"][r["type"]]["properties"]) for r in ours.values()}
    for expression in program["outputs"].values():
        resource, _, output = expression.strip("${}").partition(".")
        assert output in outputs[program["resources"][resource]["type"]], expression


def resolve(value: Any, scope: Mapping[str, Any]) -> Any:
    """`${name}` and `${resource.output}` references of a Pulumi YAML value, resolved."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        name, _, field = value[2:-1].partition(".")
        found = scope[name]
        return found[field] if field else found
    if isinstance(value, dict):
        return {key: resolve(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, scope) for item in value]
    return value


def test_yaml_example_runs_through_the_package_provider() -> None:
    """What the engine would send the plugin for each resource, constructed under mocks."""
    program = yaml.safe_load(YAML_EXAMPLE.read_text())

    def run() -> None:
        provider = hosted()
        scope: dict[str, Any] = {key: spec["default"] for key, spec in program["config"].items()}
        for name, resource in program["resources"].items():
            properties = resolve(resource.get("properties", {}), scope)
            options = resolve(resource.get("options", {}), scope)
            if resource["type"] == "pulumi:providers:aws":
                scope[name] = aws.Provider(
                    name,
                    region=properties["region"],
                    allowed_account_ids=properties["allowedAccountIds"],
                )
                continue
            result = provider.construct(
                name,
                resource["type"],
                properties,
                pulumi.ResourceOptions(providers=options.get("providers", [])),
            )
            scope[name] = result.state
        for key, expression in program["outputs"].items():
            pulumi.export(key, resolve(expression, scope))

    rendering = engine.run_program(run, project=program["name"])
    assert not types_of(rendering) & (NETWORK_TYPES | ROLE_TYPES)
    outputs = rendering.stack_outputs
    assert outputs["clusterName"] == "acme-prd-payments"
    assert isinstance(outputs["kubeconfig"], engine.SecretValue)
    assert outputs["namespaces"] == ["payments", "payments-batch"]
    assert outputs["addons"] == ["fluent-bit", "kube-prometheus-stack", "loki"]
    assert outputs["batchPoolLabels"]["tkestack.io/capacity"] == "spot"
    batch = next(
        group
        for group in rendering.of_type("aws:eks/nodeGroup:NodeGroup")
        if group.name == "payments-batch-node-group"
    )
    assert (batch.inputs["clusterName"], batch.inputs["capacityType"]) == (
        "acme-prd-payments",
        "SPOT",
    )
    for resource in rendering.resources:
        if resource.custom and resource.type.startswith("aws:") and taggable(resource.type):
            assert {"acme:owner": "payments-platform"}.items() <= (
                resource.inputs.get("tags") or {}
            ).items()


def test_examples_readme_says_the_yaml_example_cannot_run_here() -> None:
    readme = (YAML_EXAMPLE.parent / "README.md").read_text()
    assert "cannot run here" in readme.lower()
    assert "pulumi package add" in readme


def test_readme_shows_both_ways_to_embed() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Embedding") :]
    assert "from tkestack.components import" in section
    assert "pulumi package add" in section
    assert readme.startswith("# tkestack\n\n```sh\nmake render")


AWS_REFERENCE = {
    "name": "payments",
    "cloud": "aws",
    "kubernetesVersion": "1.33",
    "kubeconfig": "apiVersion: v1",
    "region": "us-east-1",
    "cloudClusterId": "acme-payments",
}


@pytest.mark.parametrize(
    ("token", "inputs", "path"),
    [
        (
            "tkestack:index:Cluster",
            {"cloud": "aws", "kubernetesVersion": "1.33", "region": "us-east-1"},
            "cloud",
        ),
        ("tkestack:index:Registry", {"cluster": AWS_REFERENCE}, "cluster.cloud"),
        (
            "tkestack:index:PlatformServices",
            {"cluster": AWS_REFERENCE, "registry": {}},
            "registry",
        ),
        (
            "tkestack:index:Tenant",
            {
                "cluster": AWS_REFERENCE,
                "tenant": "team-a",
                "namespaces": ["a"],
                "workloadIdentity": {"account": ACCOUNT},
            },
            "workload_identity",
        ),
        ("tkestack:index:NodePool", {"cluster": POOL_CLUSTER, **camel(POOL)}, "cluster.cloud"),
    ],
    ids=lambda value: value.rsplit(":", 1)[-1] if isinstance(value, str) else "",
)
def test_a_package_component_without_its_provider_says_where_the_provider_goes(
    token: str, inputs: dict[str, Any], path: str
) -> None:
    """The project's error model (an `ArgumentsError`, which the engine lists per property),
    at the input that needs the provider, before the facade registers anything."""
    from tkestack.components.errors import ArgumentsError

    def program() -> None:
        hosted().construct("payments", token, inputs, pulumi.ResourceOptions())

    with pytest.raises(ArgumentsError) as raised:
        engine.run_program(program)
    assert [problem.dotted for problem in raised.value.problems] == [path]
    assert "pass the aws provider" in raised.value.problems[0].message


@pytest.mark.parametrize("token", ["tkestack:index:Cluster", "tkestack:index:NodePool"])
def test_a_package_component_without_its_provider_registers_nothing(token: str) -> None:
    inputs = {
        "tkestack:index:Cluster": {
            "cloud": "aws",
            "kubernetesVersion": "1.33",
            "region": "us-east-1",
        },
        "tkestack:index:NodePool": {"cluster": POOL_CLUSTER, **camel(POOL)},
    }[token]
    recorded: dict[str, Exception] = {}

    def program() -> None:
        try:
            hosted().construct("payments", token, inputs, pulumi.ResourceOptions())
        except Exception as error:  # the refusal, recorded to look at what registered
            recorded["error"] = error

    rendering = engine.run_program(program)
    assert isinstance(recorded["error"], pulumi.InputPropertiesError)
    assert not [r for r in rendering.resources if r.type.startswith("tkestack:")]


GPU_POOLS = [
    {"name": "general", "instance_types": ["bare-metal"], "architecture": "x86_64"},
    {
        "name": "gpu",
        "instance_types": ["gpu-box"],
        "architecture": "x86_64",
        "accelerator_model": "t4",
        "accelerator_count": 1,
        "sharing": "time-slicing",
    },
]
RETENTION = {"metrics_retention_days": 7, "logs_retention_days": 3}


@pytest.mark.parametrize(
    ("component", "python_args", "package_args"),
    [
        (
            "Observability",
            {"retention": components.RetentionSettings(7, 3, None, None), "central": True},
            {"retention": {"metricsRetentionDays": 7, "logsRetentionDays": 3}, "central": True},
        ),
        ("GpuStack", {"dcgm_exporter": False}, {"dcgmExporter": False}),
    ],
)
def test_package_services_build_what_the_python_services_build(
    component: str, python_args: dict[str, Any], package_args: dict[str, Any]
) -> None:
    """The building blocks on a cluster the enterprise already runs (by reference)."""

    def python_program() -> None:
        onprem = Cluster(
            "onprem",
            {
                "cloud": "attached",
                "kubernetes_version": "1.32",
                "attached": {"kubeconfig": ONPREM_KUBECONFIG},
                "node_pools": GPU_POOLS,  # type: ignore[typeddict-item]
            },
        )
        getattr(components, component)("svc", {"cluster": onprem.info, **python_args})

    def package_program() -> None:
        pools = [
            {re.sub(r"_(\w)", lambda m: m.group(1).upper(), k): v for k, v in pool.items()}
            for pool in GPU_POOLS
        ]
        result = hosted().construct(
            "svc",
            f"tkestack:index:{component}",
            {
                "cluster": {
                    "name": "onprem",
                    "cloud": "attached",
                    "kubernetesVersion": "1.32",
                    "kubeconfig": pulumi.Output.secret(ONPREM_KUBECONFIG),
                    "nodePools": pools,
                },
                **package_args,
            },
            pulumi.ResourceOptions(),
        )
        pulumi.export("state", result.state)

    python = engine.run_program(python_program)
    packaged = engine.run_program(package_program)
    token = f"tkestack:index:{component}"
    python_objects = descendants(python, f"urn:pulumi:test::tkestack::{token}::svc")
    package_objects = descendants(packaged, f"urn:pulumi:test::tkestack::{token}${token}::svc")
    assert any(type_ == RELEASE for type_, _ in python_objects)
    assert package_objects == python_objects
    assert packaged.stack_outputs["state"]["addonKeys"]
