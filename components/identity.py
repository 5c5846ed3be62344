"""Who reaches a cluster, and as whom: people mapped in from the identity provider, the one
break-glass role, and the cloud identity of a tenant's workloads.

One place in the environment says which identity-provider groups are a tenant's admins,
developers and viewers; this module translates a group into what each cloud's API server
sees, and creates the cloud objects that make the translation true:

- **EKS** (API authentication mode): one *access entry* per group, from the group's IAM role
  (`identity.aws_role_arn_pattern`) to the Kubernetes group `tkestack:<group>`
  (`type: STANDARD`). The tenants' RoleBindings give that group its rights. Access entries
  carry no access policy for tenants: AWS's managed policies (`AmazonEKSEditPolicy`...) are
  broader than our explicit Roles. The break-glass role is the one exception: its access entry
  is associated with `AmazonEKSClusterAdminPolicy` at cluster scope, which EKS authorizes
  before in-cluster RBAC, so it still works when RBAC itself is broken.
  https://docs.aws.amazon.com/eks/latest/userguide/access-policies.html
- **TKE** and **attached** clusters: people arrive through the API server's OIDC
  authenticator (`--oidc-groups-prefix`), so a group is `<oidc_groups_prefix><group>` and the
  break-glass role is a ClusterRoleBinding of `cluster-admin` to
  `<oidc_groups_prefix><break_glass_role>`. TKE's own per-CAM-sub-account client certificates
  name individuals, not groups; tenant access never relies on them.
  `tke_apiserver_oidc_args` gives the kube-apiserver flags a TKE cluster needs for this.

Workload identity (`WorkloadIdentity`) gives a tenant's `cloud-workload` service account in
each of its namespaces a least-privilege cloud role: push and pull in the tenant's own
registry namespace, nothing else.

- **EKS Pod Identity**: an IAM role trusted by `pods.eks.amazonaws.com` only for session tags
  naming this cluster, the tenant's namespaces and the service account
  (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html), one pod identity
  association per namespace.
- **TKE OIDC**: a CAM role trusted through the cluster's OIDC provider
  (`qcs::cam::uin/<uin>:oidc-provider/<cluster id>`, created by the cluster's auth
  attachment, `auto_create_oidc_config`), and service accounts annotated with
  `tke.cloud.tencent.com/role-arn` for TKE's pod-identity-webhook
  (https://www.tencentcloud.com/document/product/457/57285).
- Attached clusters have no cloud identity of ours: no workload identity.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Mapping, Sequence
from typing import Literal, NotRequired, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from .contracts import ClusterInfo
from .errors import raise_problems
from .ownership import TENANT_LABEL
from .validation import Problem, checked

AccessLevel = Literal["admin", "developer", "viewer"]
ACCESS_LEVELS: tuple[AccessLevel, ...] = ("admin", "developer", "viewer")

EKS_GROUP_PREFIX = "tkestack:"
"""Prefix of the Kubernetes groups EKS access entries map IAM roles to. Access entry groups
may not start with `system:`; ours are recognisable at a glance."""
EKS_CLUSTER_ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
"""The EKS access policy equivalent to `cluster-admin`. Only two roles get it: the break-glass
role (here) and the deployer role Pulumi acts as (made by the EKS backend, clouds/aws.py)."""
CLUSTER_ADMIN = "cluster-admin"
BREAK_GLASS_BINDING = "tkestack-break-glass"
"""Name of the only ClusterRoleBinding to `cluster-admin` (TKE and attached clusters)."""

WORKLOAD_SERVICE_ACCOUNT = "cloud-workload"
"""Service account, in every tenant namespace, that carries the tenant's cloud role."""
TKE_ROLE_ARN_ANNOTATION = "tke.cloud.tencent.com/role-arn"
TKE_AUDIENCE_ANNOTATION = "tke.cloud.tencent.com/audience"
TKE_STS_AUDIENCE = "sts.cloud.tencent.com"
"""Default client id of TKE's OIDC provider and audience of the projected token."""

IAM_ROLE_NAME_LIMIT = 64
CAM_ROLE_NAME_LIMIT = 128
GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+=,.@_-]{0,47}$")
"""Identity-provider group names we accept: they become IAM role names (`[\\w+=,.@-]`),
Kubernetes group names and Pulumi resource names; 48 characters leave room for prefixes."""

ECR_PUSH_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:ListImages",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
"""ECR actions a tenant's builders and workloads need inside the tenant's repositories."""
TCR_PUSH_PULL_ACTIONS = ("tcr:PullRepository", "tcr:PushRepository")
"""TCR Enterprise actions for pull and push, resource level
(https://www.tencentcloud.com/document/product/598/57160)."""


def kubernetes_group(cloud: str, group: str, oidc_groups_prefix: str) -> str:
    """The Kubernetes group name under which members of identity-provider `group` reach a
    cluster of `cloud`: what RoleBindings name as their subject."""
    if cloud == "aws":
        return f"{EKS_GROUP_PREFIX}{group}"
    if cloud in ("tencentcloud", "attached"):
        return f"{oidc_groups_prefix}{group}"
    raise ValueError(f"cloud: no identity mapping for {cloud!r}")


def aws_role_arn(pattern: str, account: str, group: str) -> str:
    """The IAM role members of `group` assume, from `identity.aws_role_arn_pattern`."""
    fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    unknown = sorted(fields - {"account", "group"})
    if unknown or "group" not in fields:
        raise ValueError(
            "identity.aws_role_arn_pattern: must contain {group} and no placeholder but"
            f" {{account}} and {{group}}, got {pattern!r}"
        )
    return pattern.format(account=account, group=group)


def break_glass_role_arn(account: str, role: str) -> str:
    """ARN of the break-glass IAM role (`identity.break_glass_role`) in `account`."""
    return f"arn:aws:iam::{account}:role/{role}"


def tke_apiserver_oidc_args(issuer_url: str, client_id: str, groups_prefix: str) -> list[str]:
    """kube-apiserver flags (TKE `cluster_extra_args.kube_apiservers`) that let people from the
    identity provider in with their groups, prefixed as the tenants' RoleBindings expect.
    https://kubernetes.io/docs/reference/access-authn-authz/authentication/#openid-connect-tokens
    """
    if not issuer_url.startswith("https://"):
        raise ValueError(f"issuer_url: must be an https:// URL, got {issuer_url!r}")
    return [
        f"oidc-issuer-url={issuer_url}",
        f"oidc-client-id={client_id}",
        "oidc-username-claim=email",
        "oidc-groups-claim=groups",
        f"oidc-groups-prefix={groups_prefix}",
        f"oidc-username-prefix={groups_prefix}",
    ]


def bounded_name(name: str, limit: int) -> str:
    """`name` if it fits in `limit` characters, else its head plus a stable 8-hex digest, so
    two long names never collide and the same input always gives the same name."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


def known_issuer(url: str | None, cluster: str) -> str:
    """The cluster's service-account issuer URL, or a clear refusal when it has none: an
    existing TKE cluster's is read at deployment, and resolves to None while its
    service-account OIDC is off (a trust policy on no issuer would trust nothing)."""
    if not url:
        raise ValueError(
            f"cluster {cluster}: no service-account issuer, so no workload identity: enable its"
            " OIDC (TKE: tencentcloud_kubernetes_auth_attachment, or the console's"
            " ServiceAccountIssuerDiscovery) or leave workload identity off"
        )
    return url


def _json(document: object) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


class ClusterIdentityArgs(TypedDict, total=False):
    """Arguments of `ClusterIdentity`."""

    cluster: Required[ClusterInfo]
    """The cluster; its cloud provider creates EKS access entries, its Kubernetes provider the
    break-glass binding."""
    groups: Required[Sequence[str]]
    """Identity-provider groups of every tenant placed on the cluster (each mapped once, even
    when several tenants name it)."""
    break_glass_role: Required[str]
    """The one role bound to cluster-admin (`identity.break_glass_role`)."""
    oidc_groups_prefix: Required[str]
    """Group prefix of the OIDC authenticator (TKE, attached)."""
    aws_role_arn_pattern: NotRequired[str]
    """IAM role of a group, with `{account}` and `{group}`; required on AWS."""
    aws_account_id: NotRequired[str]
    """AWS account of the cluster; required on AWS."""


class ClusterIdentity(pulumi.ComponentResource):
    """The people side of one cluster: groups mapped to Kubernetes groups, one break-glass."""

    group_subjects: dict[str, str]
    """Identity-provider group -> the Kubernetes group its members have on this cluster."""
    break_glass_subject: str
    """The break-glass principal: an IAM role ARN on EKS, a Kubernetes group elsewhere."""

    def __init__(
        self, name: str, args: ClusterIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self._name = name
        self._args = args
        # Every problem of the arguments, before the component or any child registers.
        self._check()
        super().__init__("tkestack:index:ClusterIdentity", name, None, opts)
        cluster = args["cluster"]
        groups = sorted(set(args["groups"]))
        prefix = args["oidc_groups_prefix"]
        self.group_subjects = {g: kubernetes_group(cluster.cloud, g, prefix) for g in groups}
        if cluster.cloud == "aws":
            self.break_glass_subject = break_glass_role_arn(
                checked(args.get("aws_account_id"), "aws_account_id"), args["break_glass_role"]
            )
            self._create_access_entries(groups)
        else:
            self.break_glass_subject = f"{prefix}{args['break_glass_role']}"
            self._create_break_glass_binding()
        self.register_outputs(
            {"group_subjects": self.group_subjects, "break_glass_subject": self.break_glass_subject}
        )

    def _check(self) -> None:
        args = self._args
        problems = [
            f"groups[{index}]: {group!r} is not a group name we can map ({GROUP_NAME.pattern})"
            for index, group in enumerate(args["groups"])
            if not GROUP_NAME.match(group)
        ]
        if args["cluster"].cloud == "aws":
            for key in ("aws_role_arn_pattern", "aws_account_id"):
                if args.get(key) is None:
                    problems.append(f"{key}: required on an EKS cluster")
            if args["cluster"].cloud_cluster_id is None:
                problems.append("cluster.cloud_cluster_id: the EKS cluster name is required")
            if args["cluster"].cloud_provider is None:
                problems.append("cluster.cloud_provider: EKS access entries need the AWS provider")
        if problems:
            raise_problems("ClusterIdentity", self._name, problems)

    def _create_access_entries(self, groups: Sequence[str]) -> None:
        import pulumi_aws as aws  # local: single-cloud environments never import it

        args = self._args
        cluster = args["cluster"]
        account = checked(args.get("aws_account_id"), "aws_account_id")
        pattern = checked(args.get("aws_role_arn_pattern"), "aws_role_arn_pattern")
        opts = pulumi.ResourceOptions(parent=self, provider=cluster.cloud_provider)
        for group in groups:
            aws.eks.AccessEntry(
                f"{self._name}-{group}",
                cluster_name=cluster.cloud_cluster_id,
                principal_arn=aws_role_arn(pattern, account, group),
                kubernetes_groups=[self.group_subjects[group]],
                type="STANDARD",
                opts=opts,
            )
        entry = aws.eks.AccessEntry(
            f"{self._name}-break-glass",
            cluster_name=cluster.cloud_cluster_id,
            principal_arn=self.break_glass_subject,
            type="STANDARD",
            opts=opts,
        )
        aws.eks.AccessPolicyAssociation(
            f"{self._name}-break-glass-admin",
            cluster_name=cluster.cloud_cluster_id,
            principal_arn=entry.principal_arn,
            policy_arn=EKS_CLUSTER_ADMIN_POLICY_ARN,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=opts,
        )

    def _create_break_glass_binding(self) -> None:
        cluster = self._args["cluster"]
        k8s.rbac.v1.ClusterRoleBinding(
            f"{self._name}-break-glass",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=BREAK_GLASS_BINDING,
                labels={"app.kubernetes.io/managed-by": "tkestack"},
                annotations={
                    "tkestack.io/purpose": "break-glass: the only subject bound to cluster-admin"
                },
            ),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=CLUSTER_ADMIN
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    api_group="rbac.authorization.k8s.io",
                    kind="Group",
                    name=self.break_glass_subject,
                )
            ],
            opts=pulumi.ResourceOptions(
                parent=self, provider=cluster.k8s_provider, depends_on=cluster.depends_on
            ),
        )


class WorkloadIdentityArgs(TypedDict, total=False):
    """Arguments of `WorkloadIdentity`."""

    cluster: Required[ClusterInfo]
    """An EKS or TKE cluster (attached clusters have no cloud identity of ours)."""
    tenant: Required[str]
    """Tenant name: the registry namespace the role may push to and pull from."""
    namespaces: Required[Sequence[str]]
    """The tenant's namespaces on the cluster; each gets the `cloud-workload` account."""
    account: Required[str]
    """AWS account id, or Tencent Cloud root account UIN."""
    tcr_instance_id: NotRequired[pulumi.Input[str] | None]
    """TKE: the TCR instance holding the tenant's namespace; without it the role has no
    permission at all (it still exists, ready for one)."""
    namespace_resources: NotRequired[Mapping[str, pulumi.Resource]]
    """The Namespace resource of each namespace, so service accounts are created after it."""
    tags: NotRequired[Mapping[str, str]]
    """Tags of the CAM role (TKE; the Tencent Cloud provider has no default tags). On AWS the
    provider's default tags apply."""


def workload_identity_problems(args: WorkloadIdentityArgs) -> list[Problem]:
    """Every problem of `args`, each with its property path; empty when valid."""
    cluster = args["cluster"]
    if cluster.cloud not in ("aws", "tencentcloud"):
        return [Problem(("cluster", "cloud"), f"cluster.cloud {cluster.cloud!r} has none")]
    problems: list[Problem] = []
    if cluster.cloud_provider is None:
        problems.append(Problem(("cluster", "cloud_provider"), "the cluster needs its provider"))
    if cluster.region is None:
        problems.append(Problem(("cluster", "region"), "the cluster needs its region"))
    if cluster.cloud_cluster_id is None:
        problems.append(
            Problem(
                ("cluster", "cloud_cluster_id"),
                "required (EKS cluster name, TKE cluster id)",
            )
        )
    if cluster.cloud == "tencentcloud" and cluster.oidc_issuer is None:
        problems.append(
            Problem(
                ("cluster", "oidc_issuer"),
                "required on TKE (enable the cluster's OIDC with"
                " tencentcloud_kubernetes_auth_attachment)",
            )
        )
    return problems


class WorkloadIdentity(pulumi.ComponentResource):
    """A tenant's cloud role on one cluster, bound to its `cloud-workload` service accounts."""

    role_arn: pulumi.Output[str]
    """IAM role ARN (EKS) or CAM role ARN `qcs::cam::uin/<uin>:roleName/<name>` (TKE)."""
    service_account: str
    """Name of the service account in every tenant namespace."""

    def __init__(
        self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self._name = name
        self._args = args
        cluster = args["cluster"]
        # Every problem of the arguments, before the component or any child registers.
        raise_problems("WorkloadIdentity", name, workload_identity_problems(args))
        super().__init__("tkestack:index:WorkloadIdentity", name, None, opts)
        self.service_account = WORKLOAD_SERVICE_ACCOUNT
        if cluster.cloud == "aws":
            self.role_arn = self._create_pod_identity()
        else:
            self.role_arn = self._create_tke_oidc_role()
        self.register_outputs({"role_arn": self.role_arn, "service_account": self.service_account})

    def _cloud_opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._args["cluster"].cloud_provider)

    def _service_account(
        self, namespace: str, annotations: Mapping[str, pulumi.Input[str]]
    ) -> None:
        cluster = self._args["cluster"]
        after = self._args.get("namespace_resources", {}).get(namespace)
        k8s.core.v1.ServiceAccount(
            f"{self._name}-{namespace}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=WORKLOAD_SERVICE_ACCOUNT,
                namespace=namespace,
                labels={
                    "app.kubernetes.io/managed-by": "tkestack",
                    TENANT_LABEL: self._args["tenant"],
                },
                annotations=dict(annotations) or None,
            ),
            # Tokens are projected by the kubelet where pods need them, never auto-mounted.
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=cluster.k8s_provider,
                depends_on=[*cluster.depends_on, *([after] if after is not None else [])],
            ),
        )

    def _create_pod_identity(self) -> pulumi.Output[str]:
        import pulumi_aws as aws

        args = self._args
        cluster = args["cluster"]
        tenant = args["tenant"]
        account = args["account"]
        namespaces = sorted(args["namespaces"])
        trust = pulumi.Output.from_input(cluster.cloud_cluster_id).apply(
            lambda cluster_name: _json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "EksPodIdentityForTenantServiceAccounts",
                            "Effect": "Allow",
                            "Principal": {"Service": "pods.eks.amazonaws.com"},
                            "Action": ["sts:AssumeRole", "sts:TagSession"],
                            # Pod Identity sets these session tags: without them any
                            # association in the account could assume the role.
                            "Condition": {
                                "StringEquals": {
                                    "aws:SourceAccount": account,
                                    "aws:RequestTag/eks-cluster-name": cluster_name,
                                    "aws:RequestTag/kubernetes-namespace": namespaces,
                                    "aws:RequestTag/kubernetes-service-account": (
                                        WORKLOAD_SERVICE_ACCOUNT
                                    ),
                                }
                            },
                        }
                    ],
                }
            )
        )
        role = aws.iam.Role(
            f"{self._name}-role",
            name=bounded_name(f"tkestack-{cluster.name}-{tenant}", IAM_ROLE_NAME_LIMIT),
            description=f"tkestack tenant {tenant} workloads on {cluster.name}",
            assume_role_policy=trust,
            max_session_duration=3600,
            opts=self._cloud_opts(),
        )
        repositories = f"arn:aws:ecr:{cluster.region}:{account}:repository/{tenant}/*"
        aws.iam.RolePolicy(
            f"{self._name}-registry",
            role=role.id,
            name="tenant-registry",
            policy=_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TenantRepositories",
                            "Effect": "Allow",
                            "Action": list(ECR_PUSH_PULL_ACTIONS),
                            "Resource": [repositories],
                        },
                        {
                            # Pushing to a repository that does not exist yet creates it from
                            # the tenant's CREATE_ON_PUSH creation template, as the pushing
                            # principal: that needs ecr:CreateRepository (ECR user guide,
                            # repository-creation-templates.html). Only under `<tenant>/`.
                            "Sid": "TenantCreateOnPush",
                            "Effect": "Allow",
                            "Action": ["ecr:CreateRepository"],
                            "Resource": [repositories],
                        },
                        {
                            # GetAuthorizationToken has no resource-level permissions: AWS
                            # requires "*" (the token alone opens no repository).
                            # https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_id-based-policy-examples.html
                            "Sid": "RegistryLogin",
                            "Effect": "Allow",
                            "Action": ["ecr:GetAuthorizationToken"],
                            "Resource": "*",
                        },
                    ],
                }
            ),
            opts=self._cloud_opts(),
        )
        for namespace in namespaces:
            self._service_account(namespace, {})
            aws.eks.PodIdentityAssociation(
                f"{self._name}-{namespace}",
                cluster_name=cluster.cloud_cluster_id,
                namespace=namespace,
                service_account=WORKLOAD_SERVICE_ACCOUNT,
                role_arn=role.arn,
                opts=self._cloud_opts(),
            )
        return role.arn

    def _create_tke_oidc_role(self) -> pulumi.Output[str]:
        import tencentcloud_iac_pulumi as tencentcloud

        args = self._args
        cluster = args["cluster"]
        tenant = args["tenant"]
        uin = args["account"]
        namespaces = sorted(args["namespaces"])
        subjects = [f"system:serviceaccount:{ns}:{WORKLOAD_SERVICE_ACCOUNT}" for ns in namespaces]
        issuer = cluster.oidc_issuer
        assert issuer is not None  # checked in __init__
        trust = pulumi.Output.all(
            pulumi.Output.from_input(cluster.cloud_cluster_id),
            issuer.apply(lambda url: known_issuer(url, cluster.name)),
        ).apply(
            lambda values: _json(
                {
                    "version": "2.0",
                    "statement": [
                        {
                            "action": "name/sts:AssumeRoleWithWebIdentity",
                            "effect": "allow",
                            "principal": {
                                "federated": [f"qcs::cam::uin/{uin}:oidc-provider/{values[0]}"]
                            },
                            "condition": {
                                "string_equal": {
                                    "oidc:iss": [values[1]],
                                    "oidc:aud": [TKE_STS_AUDIENCE],
                                    "oidc:sub": subjects,
                                }
                            },
                        }
                    ],
                }
            )
        )
        role_name = bounded_name(f"tkestack-{cluster.name}-{tenant}", CAM_ROLE_NAME_LIMIT)
        role = tencentcloud.cam.Role(
            f"{self._name}-role",
            name=role_name,
            document=trust,
            description=f"tkestack tenant {tenant} workloads on {cluster.name}",
            console_login=False,
            session_duration=3600,
            tags=dict(sorted(args.get("tags", {}).items())) or None,
            opts=self._cloud_opts(),
        )
        instance_id = args.get("tcr_instance_id")
        if instance_id is not None:
            document = pulumi.Output.from_input(instance_id).apply(
                lambda instance: _json(
                    {
                        "version": "2.0",
                        "statement": [
                            {
                                "effect": "allow",
                                "action": list(TCR_PUSH_PULL_ACTIONS),
                                "resource": [
                                    f"qcs::tcr:{cluster.region}:uin/{uin}:repository/"
                                    f"{instance}/{tenant}/*"
                                ],
                            }
                        ],
                    }
                )
            )
            policy = tencentcloud.cam.Policy(
                f"{self._name}-registry",
                name=bounded_name(f"tkestack-{cluster.name}-{tenant}-registry", 128),
                document=document,
                description=f"push and pull in TCR namespace {tenant}",
                opts=self._cloud_opts(),
            )
            tencentcloud.cam.RolePolicyAttachment(
                f"{self._name}-registry-attachment",
                role_id=role.id,
                policy_id=policy.id,
                opts=self._cloud_opts(),
            )
        # From the role's output, so the annotation waits for the role to exist.
        role_arn = role.name.apply(lambda created: f"qcs::cam::uin/{uin}:roleName/{created}")
        for namespace in namespaces:
            self._service_account(
                namespace,
                {TKE_ROLE_ARN_ANNOTATION: role_arn, TKE_AUDIENCE_ANNOTATION: TKE_STS_AUDIENCE},
            )
        return role_arn
