"""The replace-on-change facts against their sources (issue 17, must-have 1).

Each pinned fact below was read from the provider's source named in
tkestack/replace_on_change.py (terraform-provider-aws internal/service/..., the stored copies at
the commits named there; terraform-provider-tencentcloud v1.82.42 tencentcloud/services/...;
goharbor/terraform-provider-harbor provider/...; terraform-provider-random
internal/provider/resource_password.go; pulumi-kubernetes provider/pkg/provider/helm_release.go).
Two checks keep the tables honest without a network: every type the shipped stacks register
(tests/golden/urns) is either in a table or listed as read-and-empty or unread, and every
path in the table names an input the installed Pulumi SDK really has (the Terraform name
converted to the Pulumi one: `access_scope` -> `accessScope`, a `MaxItems: 1` block an object).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from conftest import ROOT

from tkestack.replace_on_change import (
    HELM_RELEASE,
    KUBERNETES_PROVIDER,
    NO_REPLACE_ON_CHANGE,
    PROVIDER_REPLACE_ON_CHANGE,
    REPLACE_ON_CHANGE,
    UNREAD,
    forces_replacement,
)

GOLDENS = ROOT / "tests" / "golden" / "urns"


def registered_types() -> set[str]:
    """The resource types in the URN goldens (the last type of each URN's type chain)."""
    types = set()
    for golden in sorted(GOLDENS.glob("*.txt")):
        for line in golden.read_text(encoding="utf-8").splitlines():
            parts = line.split("::")
            if len(parts) >= 4:
                types.add(parts[2].split("$")[-1])
    return types


def test_the_goldens_register_types() -> None:
    types = registered_types()
    assert "aws:eks/cluster:Cluster" in types and "tencentcloud:Tcr/instance:Instance" in types


def test_every_registered_type_has_a_replace_on_change_answer() -> None:
    """A type is in the verified table, read and found empty, a Kubernetes object (diff.go's
    metadata rule), a component (never replaced by itself), or listed as not read yet."""
    missing = sorted(
        type_
        for type_ in registered_types()
        if type_ not in REPLACE_ON_CHANGE
        and type_ not in PROVIDER_REPLACE_ON_CHANGE
        and type_ not in NO_REPLACE_ON_CHANGE
        and type_ not in UNREAD
        and not type_.startswith("tkestack:")
        and not (type_.startswith("kubernetes:") and type_ != HELM_RELEASE)
    )
    assert missing == []


def test_the_tables_do_not_overlap() -> None:
    tables = [REPLACE_ON_CHANGE, PROVIDER_REPLACE_ON_CHANGE, NO_REPLACE_ON_CHANGE, UNREAD]
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        for type_ in table:
            assert type_ not in seen, (type_, seen.get(type_), index)
            seen[type_] = index


PACKAGES = {
    "aws": "pulumi_aws",
    "tencentcloud": "tencentcloud_iac_pulumi",
    "harbor": "pulumiverse_harbor",
    "random": "pulumi_random",
    "kubernetes": "pulumi_kubernetes",
}


def args_class(type_: str) -> tuple[Any, type]:
    """The SDK module and `<Resource>Args` class of a type token."""
    package, middle, name = type_.split(":")
    module_name = PACKAGES[package]
    module_part = middle.split("/")[0]
    if package == "kubernetes":
        module_name += "." + middle.replace("helm.sh", "helm").replace("/", ".")
    elif module_part != "index":
        module_name += "." + module_part.lower()
    module = importlib.import_module(module_name)
    return module, getattr(module, f"{name}Args")


def input_names(cls: type) -> dict[str, Any]:
    """Pulumi input name -> the getter's return annotation, for an SDK Args class."""
    names = {}
    for value in vars(cls).values():
        if isinstance(value, property) and value.fget is not None:
            pulumi_name = getattr(value.fget, "_pulumi_name", None)
            if pulumi_name:
                names[pulumi_name] = value.fget.__annotations__.get("return")
    return names


def resolve(module: Any, type_: str, path: str) -> bool:
    _, cls = args_class(type_)
    for segment in path.split("."):
        names = input_names(cls)
        if segment not in names:
            return False
        referenced = re.findall(r"'(\w+Args)'", str(names[segment]))
        if referenced:
            cls = getattr(module, referenced[0])
    return True


@pytest.mark.slow
@pytest.mark.parametrize(
    "type_",
    sorted(t for t in REPLACE_ON_CHANGE if t.split(":")[0] in PACKAGES),
)
def test_every_path_names_an_input_of_the_installed_sdk(type_: str) -> None:
    module, _ = args_class(type_)
    unknown = [path for path in REPLACE_ON_CHANGE[type_] if not resolve(module, type_, path)]
    assert unknown == [], f"{type_}: not inputs of the installed SDK: {unknown}"


def test_the_sdk_check_refuses_a_terraform_name() -> None:
    """The check above can fail: a Terraform attribute name is not a Pulumi input."""
    module, _ = args_class("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert resolve(module, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "accessScope")
    assert not resolve(
        module, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "access_scope"
    )


@pytest.mark.parametrize(
    ("type_", "key", "replaces"),
    [
        # terraform-provider-aws internal/service/eks/access_policy_association.go @01f43111:
        # access_scope is ForceNew (was missing), and the resource has no Update.
        ("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "accessScope.type", True),
        ("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "principalArn", True),
        # eks/access_entry.go @01f43111: kubernetes_groups updates in place.
        ("aws:eks/accessEntry:AccessEntry", "type", True),
        ("aws:eks/accessEntry:AccessEntry", "kubernetesGroups", False),
        # eks/addon.go @00a35305: addon_version and configuration_values update in place.
        ("aws:eks/addon:Addon", "addonName", True),
        ("aws:eks/addon:Addon", "addonVersion", False),
        ("aws:eks/addon:Addon", "configurationValues", False),
        # eks/pod_identity_association.go @00a35305: role_arn updates, namespace replaces.
        ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "namespace", True),
        ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "roleArn", False),
        # ec2/ec2_launch_template.go @025e4f81: a new image is a new template version.
        ("aws:ec2/launchTemplate:LaunchTemplate", "name", True),
        ("aws:ec2/launchTemplate:LaunchTemplate", "imageId", False),
        ("aws:ec2/launchTemplate:LaunchTemplate", "userData", False),
        # kms/key.go @00a35305: xks_key_id is ForceNew (was missing); policy updates.
        ("aws:kms/key:Key", "xksKeyId", True),
        ("aws:kms/key:Key", "policy", False),
        ("aws:kms/key:Key", "enableKeyRotation", False),
        # iam/role.go: path is ForceNew, the trust policy updates in place.
        ("aws:iam/role:Role", "path", True),
        ("aws:iam/role:Role", "assumeRolePolicy", False),
        # logs/group.go @0073593e: log_group_class is ForceNew (was missing).
        ("aws:cloudwatch/logGroup:LogGroup", "logGroupClass", True),
        ("aws:cloudwatch/logGroup:LogGroup", "retentionInDays", False),
        ("aws:cloudwatch/logGroup:LogGroup", "kmsKeyId", False),
        # ecr/lifecycle_policy.go @00a35305: policy is ForceNew (was missing), no Update.
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "policy", True),
        # ec2/vpc_route_table.go @02209241: routes update, vpc_id replaces.
        ("aws:ec2/routeTable:RouteTable", "vpcId", True),
        ("aws:ec2/routeTable:RouteTable", "routes", False),
        # ec2/vpc_internet_gateway.go @08923b68: vpc_id is detached and attached in place.
        ("aws:ec2/internetGateway:InternetGateway", "vpcId", False),
        # ec2/transitgateway_vpc_attachment.go @08923b68: subnet ids update in place.
        ("aws:ec2transitgateway/vpcAttachment:VpcAttachment", "subnetIds", False),
        ("aws:ec2transitgateway/vpcAttachment:VpcAttachment", "vpcId", True),
        # iam/role_policy_attachment.go @04c79849 and role_policy.go @02f97af8.
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "policyArn", True),
        ("aws:iam/rolePolicy:RolePolicy", "role", True),
        ("aws:iam/rolePolicy:RolePolicy", "policy", False),
        # kms/alias.go @01c08000: target_key_id updates in place.
        ("aws:kms/alias:Alias", "targetKeyId", False),
        # iam/openid_connect_provider.go @01606926: url replaces, thumbprints update.
        ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "url", True),
        ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "thumbprintLists", False),
        # ec2/vpc_security_group_ingress_rule.go @00a32209: security_group_id replaces.
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "securityGroupId", True),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "cidrIpv4", False),
        # ecr/pull_through_cache_rule.go @0509e60e: credential_arn updates in place.
        ("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "upstreamRegistryUrl", True),
        ("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "credentialArn", False),
        # pulumi-kubernetes provider/pkg/provider/helm_release.go: forceNewFields
        # {".name", ".namespace"}; values and version update the release.
        (HELM_RELEASE, "namespace", True),
        (HELM_RELEASE, "values", False),
        (HELM_RELEASE, "version", False),
        # terraform-provider-tencentcloud v1.82.42 tke/resource_tc_kubernetes_addon.go.
        ("tencentcloud:Kubernetes/addon:Addon", "addonName", True),
        ("tencentcloud:Kubernetes/addon:Addon", "values", False),
        # v1.82.42 tke/resource_tc_kubernetes_encryption_protection.go.
        (
            "tencentcloud:Kubernetes/encryptionProtection:EncryptionProtection",
            "kmsConfiguration.keyId",
            True,
        ),
        # v1.82.42 vpc/resource_tc_route_table_entry.go: description is ForceNew.
        ("tencentcloud:Route/tableEntry:TableEntry", "description", True),
        # v1.82.42 tcr/resource_tc_tcr_service_account.go: name is an immutableArgs entry
        # (refused), not ForceNew.
        ("tencentcloud:Tcr/serviceAccount:ServiceAccount", "name", False),
        # goharbor/terraform-provider-harbor provider/resource_project.go: name.
        ("harbor:index/project:Project", "name", True),
        ("harbor:index/project:Project", "public", False),
        # terraform-provider-random resource_password.go @0117aa60: length replaces.
        ("random:index/randomPassword:RandomPassword", "length", True),
        # The Kubernetes provider, read from pulumi-kubernetes testdata/diffconfig.
        (KUBERNETES_PROVIDER, "kubeconfig", True),
    ],
)
def test_replace_on_change_facts_from_source(type_: str, key: str, replaces: bool) -> None:
    assert forces_replacement(type_, key) is replaces
