"""Identity mapping per cloud: EKS access entries, OIDC groups, break-glass, workload identity."""

from __future__ import annotations

import json
from typing import Any

import pytest
import tenancy_support as ts

from tkestack import engine
from tkestack.components.identity import (
    EKS_CLUSTER_ADMIN_POLICY_ARN,
    IAM_ROLE_NAME_LIMIT,
    ClusterIdentity,
    WorkloadIdentity,
    aws_role_arn,
    bounded_name,
    kubernetes_group,
    tke_apiserver_oidc_args,
)

ACCOUNT = "123456789012"
UIN = "100000000001"
PATTERN = "arn:aws:iam::{account}:role/tkestack-{group}"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def identity_args(cluster: Any, groups: list[str]) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "groups": groups,
        "break_glass_role": "tkestack-break-glass",
        "oidc_groups_prefix": "oidc:",
        "aws_role_arn_pattern": PATTERN,
        "aws_account_id": ACCOUNT,
    }


def render_cluster_identity(cloud: str, groups: list[str]) -> engine.Rendering:
    def program() -> None:
        cluster = ts.cluster("c1", cloud)
        ClusterIdentity("c1-identity", identity_args(cluster, groups))  # type: ignore[arg-type]

    return engine.run_program(program)


def render_workload_identity(cloud: str, **extra: Any) -> engine.Rendering:
    def program() -> None:
        cluster = ts.cluster("c1", cloud)
        WorkloadIdentity(
            "team-c1-workload-identity",
            {
                "cluster": cluster,
                "tenant": "team",
                "namespaces": ["team-b", "team-a"],
                "account": ACCOUNT if cloud == "aws" else UIN,
                **extra,
            },  # type: ignore[typeddict-item]
        )

    return engine.run_program(program)


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        ("aws", "tkestack:ml-engineers"),
        ("tencentcloud", "oidc:ml-engineers"),
        ("attached", "oidc:ml-engineers"),
    ],
)
def test_one_group_has_one_kubernetes_name_per_cloud(cloud: str, expected: str) -> None:
    assert kubernetes_group(cloud, "ml-engineers", "oidc:") == expected


def test_role_arn_pattern_is_checked_and_names_its_config_key() -> None:
    assert aws_role_arn(PATTERN, ACCOUNT, "devs") == f"arn:aws:iam::{ACCOUNT}:role/tkestack-devs"
    for bad in ("arn:aws:iam::{account}:role/fixed", "arn:aws:iam::{acct}:role/{group}"):
        with pytest.raises(ValueError, match=r"identity\.aws_role_arn_pattern"):
            aws_role_arn(bad, ACCOUNT, "devs")


def test_eks_maps_each_group_role_to_its_kubernetes_group_once() -> None:
    rendering = render_cluster_identity("aws", ["devs", "leads", "devs"])
    entries = {r.name: r.inputs for r in rendering.of_type(ACCESS_ENTRY)}
    assert sorted(entries) == ["c1-identity-break-glass", "c1-identity-devs", "c1-identity-leads"]
    for group in ("devs", "leads"):
        entry = entries[f"c1-identity-{group}"]
        assert entry == {
            "clusterName": "c1-eks",
            "principalArn": f"arn:aws:iam::{ACCOUNT}:role/tkestack-{group}",
            "kubernetesGroups": [f"tkestack:{group}"],
            "type": "STANDARD",
        }
    for resource in rendering.of_type(ACCESS_ENTRY):
        assert resource.provider is not None and "aws-us-east-1-c1" in resource.provider


def test_eks_break_glass_is_the_only_cluster_admin() -> None:
    rendering = render_cluster_identity("aws", ["devs", "leads"])
    (association,) = rendering.of_type(POLICY_ASSOCIATION)
    assert association.inputs == {
        "clusterName": "c1-eks",
        "principalArn": f"arn:aws:iam::{ACCOUNT}:role/tkestack-break-glass",
        "policyArn": EKS_CLUSTER_ADMIN_POLICY_ARN,
        "accessScope": {"type": "cluster"},
    }
    break_glass = rendering.by_urn()[
        next(r.urn for r in rendering.of_type(ACCESS_ENTRY) if r.name.endswith("break-glass"))
    ]
    assert "kubernetesGroups" not in break_glass.inputs
    assert not ts.objects(rendering, "ClusterRoleBinding")


@pytest.mark.parametrize("cloud", ["tencentcloud", "attached"])
def test_oidc_clusters_bind_only_the_break_glass_group_to_cluster_admin(cloud: str) -> None:
    rendering = render_cluster_identity(cloud, ["devs"])
    (binding,) = ts.objects(rendering, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == "cluster-admin"
    assert binding["subjects"] == [
        {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Group",
            "name": "oidc:tkestack-break-glass",
        }
    ]
    assert not [r for r in rendering.resources if r.type.startswith("aws:")]


def test_group_names_that_cannot_be_mapped_are_refused() -> None:
    with pytest.raises(ValueError, match=r"groups\[1\]: 'bad group'"):
        render_cluster_identity("attached", ["ok", "bad group"])


def test_tke_apiserver_flags_carry_the_groups_prefix() -> None:
    flags = tke_apiserver_oidc_args("https://idp.example.com", "kubernetes", "oidc:")
    assert "oidc-groups-prefix=oidc:" in flags and "oidc-groups-claim=groups" in flags
    with pytest.raises(ValueError, match="issuer_url"):
        tke_apiserver_oidc_args("http://idp.example.com", "kubernetes", "oidc:")


def test_eks_pod_identity_role_is_scoped_to_the_tenants_service_accounts() -> None:
    rendering = render_workload_identity("aws")
    (role,) = rendering.of_type("aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": ACCOUNT,
        "aws:RequestTag/eks-cluster-name": "c1-eks",
        "aws:RequestTag/kubernetes-namespace": ["team-a", "team-b"],
        "aws:RequestTag/kubernetes-service-account": "cloud-workload",
    }
    associations = rendering.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert sorted(a.inputs["namespace"] for a in associations) == ["team-a", "team-b"]
    assert {a.inputs["serviceAccount"] for a in associations} == {"cloud-workload"}
    accounts = ts.objects(rendering, "ServiceAccount")
    assert sorted(a["metadata"]["namespace"] for a in accounts) == ["team-a", "team-b"]
    assert all("annotations" not in a["metadata"] for a in accounts)


def test_eks_workload_role_reaches_only_the_tenants_repositories() -> None:
    rendering = render_workload_identity("aws")
    (policy,) = rendering.of_type("aws:iam/rolePolicy:RolePolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    wildcard = [s for s in statements if s["Resource"] == "*"]
    assert [s["Action"] for s in wildcard] == [["ecr:GetAuthorizationToken"]]
    scoped = [s for s in statements if s["Resource"] != "*"]
    for statement in scoped:
        assert statement["Resource"] == [f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/*"]
        assert all(a.startswith("ecr:") and "*" not in a for a in statement["Action"])
    # Create-on-push: a push to a new `team/...` repository creates it from the tenant's
    # CREATE_ON_PUSH template, as the pushing principal (ECR user guide,
    # repository-creation-templates.html), so the role may create repositories, there only.
    create = [s for s in scoped if "ecr:CreateRepository" in s["Action"]]
    assert [s["Sid"] for s in create] == ["TenantCreateOnPush"]


def test_tke_oidc_role_trusts_the_clusters_provider_for_the_tenants_accounts_only() -> None:
    rendering = render_workload_identity("tencentcloud", tcr_instance_id="tcr-abc")
    (role,) = rendering.of_type("tencentcloud:Cam/role:Role")
    (statement,) = json.loads(role.inputs["document"])["statement"]
    assert statement["principal"] == {"federated": [f"qcs::cam::uin/{UIN}:oidc-provider/cls-c1"]}
    assert statement["condition"]["string_equal"] == {
        "oidc:iss": ["https://c1.tke-oidc.example.invalid"],
        "oidc:aud": ["sts.cloud.tencent.com"],
        "oidc:sub": [
            "system:serviceaccount:team-a:cloud-workload",
            "system:serviceaccount:team-b:cloud-workload",
        ],
    }
    (policy,) = rendering.of_type("tencentcloud:Cam/policy:Policy")
    (grant,) = json.loads(policy.inputs["document"])["statement"]
    assert grant["resource"] == [f"qcs::tcr:ap-guangzhou:uin/{UIN}:repository/tcr-abc/team/*"]
    assert sorted(grant["action"]) == ["tcr:PullRepository", "tcr:PushRepository"]
    for account in ts.objects(rendering, "ServiceAccount"):
        assert account["metadata"]["annotations"] == {
            "tke.cloud.tencent.com/role-arn": f"qcs::cam::uin/{UIN}:roleName/tkestack-c1-team",
            "tke.cloud.tencent.com/audience": "sts.cloud.tencent.com",
        }


def test_tke_role_without_a_registry_has_no_permission_at_all() -> None:
    rendering = render_workload_identity("tencentcloud")
    assert rendering.of_type("tencentcloud:Cam/role:Role")
    assert not rendering.of_type("tencentcloud:Cam/policy:Policy")


def test_attached_clusters_have_no_workload_identity() -> None:
    with pytest.raises(ValueError, match=r"cluster\.cloud 'attached' has none"):
        render_workload_identity("attached")


def test_long_role_names_are_bounded_and_stable() -> None:
    name = "tkestack-" + "c" * 32 + "-" + "t" * 32
    bounded = bounded_name(name, IAM_ROLE_NAME_LIMIT)
    assert len(bounded) <= IAM_ROLE_NAME_LIMIT
    assert bounded == bounded_name(name, IAM_ROLE_NAME_LIMIT)
    assert bounded != bounded_name(name[:-1] + "u", IAM_ROLE_NAME_LIMIT)
    assert bounded_name("short", IAM_ROLE_NAME_LIMIT) == "short"


def test_tke_role_carries_the_tags_the_provider_does_not_add() -> None:
    tags = {"owner": "ml", "cost-center": "ml-1", "managed-by": "tkestack"}
    rendering = render_workload_identity("tencentcloud", tags=tags)
    (role,) = rendering.of_type("tencentcloud:Cam/role:Role")
    assert role.inputs["tags"] == tags


def test_a_cluster_without_an_issuer_is_refused_by_name_when_its_trust_is_built() -> None:
    """An existing TKE cluster's issuer is read at deployment and is None while its
    service-account OIDC is off: the tenant's trust policy is refused, naming the cluster,
    instead of trusting an issuer `None`."""
    from tkestack.components.identity import known_issuer

    assert known_issuer("https://cls-1.ccs.tencent-cloud.com", "sh") == (
        "https://cls-1.ccs.tencent-cloud.com"
    )
    for missing in (None, ""):
        with pytest.raises(ValueError, match="cluster sh: no service-account issuer"):
            known_issuer(missing, "sh")
