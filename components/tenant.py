"""A tenant's bounded home on one cluster: namespaces, quotas, network policies and roles.

TKEStack's permission management as code. A team or project declared once becomes, on every
cluster it is placed on, the same set of Kubernetes objects (only the group names people
arrive under differ per cloud, see components/identity.py):

- **Namespaces** labelled `tkestack.io/tenant=<tenant>` and for Pod Security admission:
  `enforce` at the tenant's level (restricted by default; baseline only with the reason
  recorded in the `tkestack.io/pod-security-reason` annotation), `audit` and `warn` always at
  restricted so a baseline tenant sees what it would take to tighten. Every level is pinned to
  the cluster's minor version (`v1.33`), so a control-plane upgrade never silently changes
  what is admitted (https://kubernetes.io/docs/concepts/security/pod-security-admission/).
- **ResourceQuota** per namespace: CPU and memory requests, pods, storage requests, services
  of type LoadBalancer; `requests.nvidia.com/gpu` where the cluster has GPU pools and HAMi's
  GPU memory (`nvidia.com/gpumem`, MiB) where a pool shares GPUs with HAMi and the tenant
  states a GPU memory quota.
- **LimitRange** per namespace: default requests for containers that state none, so the
  quota never rejects a pod only for leaving requests out. No default limit unless asked for
  (`ContainerDefaults.memory_limit`): a default limit below a container's own request makes
  the API server refuse the pod.
- **NetworkPolicies** per namespace: deny all ingress, then allow from the tenant's own
  namespaces, from the observability namespace and from the ingress controllers' namespaces.
- **Roles** `tenant-admin`, `tenant-developer`, `tenant-viewer` per namespace: explicit API
  groups, resources and verbs, never `*`, never `bind`/`escalate`/`impersonate`; bound to the
  identity-provider groups of each level with RoleBindings.

Secrets: developers may create, update and delete Secrets (to deliver what their workloads
need) but not read them back; admins read them. A developer who can create pods can still
mount a Secret into one: the namespace, not the Role, is the security boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NotRequired, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from .catalog import QUOTA_DEFAULTS
from .contracts import ClusterInfo, NodePoolProfile
from .errors import raise_problems
from .identity import ACCESS_LEVELS, AccessLevel, WorkloadIdentity
from .ownership import TENANT_LABEL
from .validation import (
    Problem,
    as_problem,
    dns_label_problems,
    enum_problems,
    quantity_problems,
)

MANAGED_BY = {"app.kubernetes.io/managed-by": "tkestack"}
POD_SECURITY_REASON_ANNOTATION = "tkestack.io/pod-security-reason"
REGISTRY_ANNOTATION = "tkestack.io/registry"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace and not writable by users: a safe selector."""
GPU_QUOTA = "requests.nvidia.com/gpu"
"""Extended resources are quota'd by their requests only.
https://kubernetes.io/docs/concepts/policy/resource-quotas/#resource-quota-for-extended-resources
"""
HAMI_GPU_MEMORY_QUOTAS = ("requests.nvidia.com/gpumem", "limits.nvidia.com/gpumem")
"""HAMi GPU memory (MiB). Kubernetes' quota admission counts `requests.` of the extended
resource when pods are created; HAMi's scheduler (v2.7+) reads `limits.` and also charges
percentage-based requests (`nvidia.com/gpumem-percentage`) at the size of the GPU it picks
(https://project-hami.io/docs/userguide/nvidia-device/using-resourcequota/).

Written only when the tenant states a GPU memory quota: since HAMi 2.10 an explicit `0` is a
hard block (Project-HAMi/HAMi pkg/device/quota.go @v2.10.0, `Quota.LimitSet`, "honor an
explicit zero limit", #2313), and a pod asking only for `nvidia.com/gpu` is charged the whole
memory of the GPU it gets, so a `0` would refuse every GPU pod of the tenant."""

PodSecurityLevel = Literal["restricted", "baseline"]
RBAC_GROUP = "rbac.authorization.k8s.io"
ESCALATION_VERBS = frozenset({"bind", "escalate", "impersonate"})

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")

Rule = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""(apiGroups, resources, verbs) of one RBAC policy rule."""

_VIEWABLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "",
        (
            "configmaps",
            "endpoints",
            "events",
            "limitranges",
            "persistentvolumeclaims",
            "pods",
            "pods/log",
            "replicationcontrollers",
            "resourcequotas",
            "serviceaccounts",
            "services",
        ),
    ),
    ("apps", ("daemonsets", "deployments", "replicasets", "statefulsets")),
    ("autoscaling", ("horizontalpodautoscalers",)),
    ("batch", ("cronjobs", "jobs")),
    ("discovery.k8s.io", ("endpointslices",)),
    ("events.k8s.io", ("events",)),
    ("networking.k8s.io", ("ingresses", "networkpolicies")),
    ("policy", ("poddisruptionbudgets",)),
)
"""What every level may read: the namespace's workloads and their configuration, not Secrets."""

_DEVELOPER_WRITES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "",
        ("configmaps", "persistentvolumeclaims", "pods", "serviceaccounts", "services"),
    ),
    ("apps", ("deployments", "replicasets", "statefulsets")),
    ("autoscaling", ("horizontalpodautoscalers",)),
    ("batch", ("cronjobs", "jobs")),
    ("networking.k8s.io", ("ingresses",)),
    ("policy", ("poddisruptionbudgets",)),
)
"""What developers and admins change. Not DaemonSets (a tenant does not run per-node agents),
not quotas or limit ranges (the platform owns them), not NetworkPolicies (admins only)."""


def _rules_for(level: AccessLevel) -> list[Rule]:
    """The explicit RBAC rules of one access level."""
    rules: list[Rule] = [((group,), resources, READ) for group, resources in _VIEWABLE]
    if level == "viewer":
        return rules
    rules.extend(((group,), resources, WRITE) for group, resources in _DEVELOPER_WRITES)
    rules.extend(
        [
            (("",), ("pods/attach", "pods/exec", "pods/portforward"), ("create", "get")),
            (("",), ("pods/eviction",), ("create",)),
            (("apps",), ("deployments/scale", "statefulsets/scale"), ("get", "patch", "update")),
            # Write-only: deliver the Secrets workloads need, never read them back.
            (("",), ("secrets",), ("create", "delete", "patch", "update")),
        ]
    )
    if level == "developer":
        return rules
    rules.extend(
        [
            (("",), ("secrets",), READ),
            (("rbac.authorization.k8s.io",), ("roles",), READ),
            # Without `bind`, the API server lets an admin bind only roles whose rights the
            # admin holds: they hand out developer/viewer, never more.
            # https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping
            (("rbac.authorization.k8s.io",), ("rolebindings",), (*READ, *WRITE)),
            # Extra allow rules for the tenant's own pods (a cloud load balancer's sources,
            # say). Policies only add allowed traffic, and only into the admin's namespaces;
            # the platform's four are re-applied by every `pulumi up`.
            (("networking.k8s.io",), ("networkpolicies",), WRITE),
        ]
    )
    return rules


ROLE_RULES: dict[AccessLevel, list[Rule]] = {level: _rules_for(level) for level in ACCESS_LEVELS}
"""Rules of `tenant-admin`, `tenant-developer` and `tenant-viewer` (plain data, testable)."""


def role_name(level: AccessLevel) -> str:
    """Name of the Role (and its RoleBinding) of an access level in every tenant namespace."""
    return f"tenant-{level}"


@dataclass(frozen=True)
class TenantQuota:
    """Resource quota of each of a tenant's namespaces."""

    # Defaults: catalog.QUOTA_DEFAULTS, shared with the spec's QuotaSpec.
    cpu: str = QUOTA_DEFAULTS.cpu
    """Total CPU requests (Kubernetes quantity)."""
    memory: str = QUOTA_DEFAULTS.memory
    """Total memory requests (Kubernetes quantity)."""
    pods: int = QUOTA_DEFAULTS.pods
    """Pods in a non-terminal state."""
    storage: str = QUOTA_DEFAULTS.storage
    """Total storage requests of persistent volume claims."""
    load_balancers: int = QUOTA_DEFAULTS.load_balancers
    """Services of type LoadBalancer (each one a cloud load balancer)."""
    gpus: int = QUOTA_DEFAULTS.gpus
    """`nvidia.com/gpu` requests; needs a GPU pool on the cluster. With time-slicing or HAMi
    these are virtual GPUs."""
    gpu_memory_mib: int = QUOTA_DEFAULTS.gpu_memory_mib
    """HAMi `nvidia.com/gpumem` in MiB; needs a HAMi-shared GPU pool and at most the GPU
    memory of its HAMi pools at max_size. 0: no GPU memory quota is written (HAMi 2.10 reads
    an explicit 0 as "no GPU pod")."""


@dataclass(frozen=True)
class ContainerDefaults:
    """LimitRange defaults for containers that state no requests or limits."""

    cpu_request: str = "100m"
    """CPU request of a container that states none (Kubernetes quantity)."""
    memory_request: str = "128Mi"
    """Memory request of a container that states none (Kubernetes quantity)."""
    memory_limit: str | None = None
    """Default memory limit of a container that states none; None (default): no default
    limit. The LimitRanger gives the default limit to every container without a limit, also
    to one that requests more memory, and the API server then refuses the pod (limit below
    request; https://kubernetes.io/docs/concepts/policy/limit-range/, "Constraints on resource
    limits and requests"): a GPU job asking for 8Gi and no limit would never start. Set it
    only above any request a tenant's containers state without a limit. No default CPU
    limit either: CPU limits throttle, requests already share fairly."""


@dataclass(frozen=True)
class WorkloadIdentitySettings:
    """What `Tenant` needs to give its service accounts a cloud role (EKS, TKE)."""

    account: str
    """AWS account id or Tencent Cloud root UIN."""
    tcr_instance_id: pulumi.Input[str] | None = None
    """TKE: TCR instance of the tenant's registry namespace."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of cloud resources the provider does not tag by default (TKE CAM role)."""


class TenantArgs(TypedDict, total=False):
    """Arguments of `Tenant`."""

    cluster: Required[ClusterInfo]
    """The cluster the tenant is placed on; its Kubernetes provider creates every object."""
    tenant: Required[str]
    """Tenant name (DNS label); the `tkestack.io/tenant` label of its namespaces."""
    namespaces: NotRequired[Sequence[str]]
    """Namespaces of the tenant on this cluster. Default: one named after the tenant."""
    pod_security: NotRequired[PodSecurityLevel]
    """Pod Security level enforced: `restricted` (default) or `baseline`."""
    pod_security_reason: NotRequired[str | None]
    """Why the tenant needs `baseline`; required then, recorded as a namespace annotation."""
    quota: NotRequired[TenantQuota]
    """Quota of each namespace. Default: `TenantQuota()`."""
    container_defaults: NotRequired[ContainerDefaults]
    """LimitRange defaults. Default: `ContainerDefaults()`."""
    subjects: NotRequired[Mapping[AccessLevel, Sequence[str]]]
    """Kubernetes group names bound to each level's Role (`identity.kubernetes_group` of the
    identity-provider groups). A level without groups gets its Role but no RoleBinding."""
    monitoring_namespace: NotRequired[str]
    """Namespace of the observability stack that scrapes tenant pods. Default: `monitoring`."""
    ingress_namespaces: NotRequired[Sequence[str]]
    """Namespaces of ingress controllers allowed to reach tenant pods.
    Default: `("ingress-nginx",)`."""
    registry_prefix: NotRequired[pulumi.Input[str] | None]
    """`<registry host>/<tenant>` of the tenant's registry namespace, recorded on each
    namespace (`tkestack.io/registry`) so people know where to push."""
    workload_identity: NotRequired[WorkloadIdentitySettings | None]
    """Cloud identity of the tenant's `cloud-workload` service accounts; None: none."""
    registry_pull_secret: NotRequired[pulumi.Input[str] | None]
    """A `.dockerconfigjson` with pull-only credentials for the tenant's registry namespace
    (`RegistryNamespace.pull_secret`, TCR), stored as the Secret `registry-pull` in each
    namespace; pods pull with `imagePullSecrets: [{name: registry-pull}]`. None: no Secret
    (ECR pulls with the nodes' role)."""


PULL_SECRET_NAME = "registry-pull"
"""The image pull Secret in each tenant namespace, when the registry needs one (TCR)."""
DEFAULT_MONITORING_NAMESPACE = "monitoring"
DEFAULT_INGRESS_NAMESPACES = ("ingress-nginx",)


def pod_security_labels(level: PodSecurityLevel, kubernetes_version: str) -> dict[str, str]:
    """Pod Security admission labels: enforce `level`, audit and warn at restricted, every
    mode pinned to the cluster's minor version."""
    version = f"v{kubernetes_version}"
    labels: dict[str, str] = {}
    for mode, mode_level in (("enforce", level), ("audit", "restricted"), ("warn", "restricted")):
        labels[f"pod-security.kubernetes.io/{mode}"] = mode_level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    return labels


def quota_hard(quota: TenantQuota, cluster: ClusterInfo) -> dict[str, str]:
    """`spec.hard` of a tenant namespace's ResourceQuota on `cluster`."""
    hard = {
        "requests.cpu": quota.cpu,
        "requests.memory": quota.memory,
        "pods": str(quota.pods),
        "requests.storage": quota.storage,
        "services.loadbalancers": str(quota.load_balancers),
    }
    if cluster.gpu_pools:
        hard[GPU_QUOTA] = str(quota.gpus)
    if quota.gpu_memory_mib and hami_pools(cluster):
        for key in HAMI_GPU_MEMORY_QUOTAS:
            hard[key] = str(quota.gpu_memory_mib)
    return dict(sorted(hard.items()))


def hami_pools(cluster: ClusterInfo) -> list[NodePoolProfile]:
    """The cluster's GPU pools whose GPUs HAMi shares."""
    return [p for p in cluster.gpu_pools if p.accelerator and p.accelerator.sharing == "hami"]


def hami_capacity_mib(cluster: ClusterInfo) -> int:
    """GPU memory HAMi can hand out on `cluster` with every HAMi pool at `max_size`, MiB
    (nodes x GPUs per node x memory per GPU; HAMi's default memory scaling is 1)."""
    return sum(
        pool.max_size * pool.accelerator.count * pool.accelerator.memory_gib * 1024
        for pool in hami_pools(cluster)
        if pool.accelerator is not None
    )


POD_SECURITY_OFFERED: tuple[str, ...] = ("restricted", "baseline")
"""Pod Security levels a tenant may have (`PodSecurityLevel`): `privileged`, the third level
of Pod Security admission, is never given to a tenant."""


def _format_problems(args: TenantArgs) -> list[Problem]:
    """Names, levels and quantities the Kubernetes API would refuse, by argument."""
    problems = dns_label_problems(args.get("tenant"), ("tenant",))
    for index, namespace in enumerate(args.get("namespaces") or ()):
        problems += dns_label_problems(namespace, ("namespaces", index))
    level = args.get("pod_security", "restricted")
    problems += enum_problems(level, POD_SECURITY_OFFERED, ("pod_security",))
    quota = args.get("quota", TenantQuota())
    for key in ("cpu", "memory", "storage"):
        problems += quantity_problems(getattr(quota, key, None), ("quota", key))
    for key in ("pods", "load_balancers", "gpus", "gpu_memory_mib"):
        value = getattr(quota, key, None)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(Problem(("quota", key), f"{value!r} is not a whole number >= 0"))
    defaults = args.get("container_defaults", ContainerDefaults())
    for key in ("cpu_request", "memory_request", "memory_limit"):
        # memory_limit is optional: None writes no default limit (issue 13 item 5).
        if getattr(defaults, key, None) is not None:
            problems += quantity_problems(getattr(defaults, key), ("container_defaults", key))
    for index, namespace in enumerate(args.get("ingress_namespaces") or ()):
        problems += dns_label_problems(namespace, ("ingress_namespaces", index))
    monitoring = args.get("monitoring_namespace")
    if monitoring is not None:
        problems += dns_label_problems(monitoring, ("monitoring_namespace",))
    return problems


def validate_tenant_args(args: TenantArgs) -> list[Problem]:
    """Every problem of `args`, each with its property path; empty when valid."""
    problems: list[Problem | str] = [*_format_problems(args)]
    cluster = args["cluster"]
    quota = args.get("quota", TenantQuota())
    if args.get("pod_security", "restricted") == "baseline" and not args.get("pod_security_reason"):
        problems.append("pod_security_reason: pod_security baseline needs the reason written down")
    if quota.gpus and not cluster.gpu_pools:
        problems.append(f"quota.gpus: cluster {cluster.name!r} has no GPU pool")
    hami = hami_pools(cluster)
    if quota.gpu_memory_mib and not hami:
        problems.append(f"quota.gpu_memory_mib: cluster {cluster.name!r} has no HAMi GPU pool")
    elif quota.gpu_memory_mib and quota.gpu_memory_mib > hami_capacity_mib(cluster):
        problems.append(
            f"quota.gpu_memory_mib: {quota.gpu_memory_mib} MiB is more than the"
            f" {hami_capacity_mib(cluster)} MiB of GPU memory the HAMi pools of cluster"
            f" {cluster.name!r} hold at max_size"
        )
    namespaces = list(args.get("namespaces") or [args["tenant"]])
    if len(set(namespaces)) != len(namespaces):
        problems.append(f"namespaces: listed twice in {namespaces}")
    unknown = sorted(set(args.get("subjects", {})) - set(ACCESS_LEVELS))
    if unknown:
        problems.append(f"subjects: unknown access levels {unknown} (known: {ACCESS_LEVELS})")
    if args.get("workload_identity") is not None and cluster.cloud == "attached":
        problems.append("workload_identity: attached clusters have no cloud identity of ours")
    return [as_problem(problem) for problem in problems]


class Tenant(pulumi.ComponentResource):
    """A tenant on one cluster: namespaces, quotas, limit ranges, network policies, roles."""

    namespaces: list[str]
    """The tenant's namespaces on the cluster."""
    roles: dict[str, str]
    """Access level -> Role name (the same in every namespace)."""
    workload_identity_role: pulumi.Output[str] | None
    """Cloud role of the tenant's `cloud-workload` service accounts, when the cloud has one."""

    def __init__(
        self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Every problem of the arguments, before the component or any child registers.
        raise_problems("Tenant", name, validate_tenant_args(args))
        super().__init__("tkestack:index:Tenant", name, None, opts)
        self._name = name
        self._args = args
        self._cluster = args["cluster"]
        self.namespaces = list(args.get("namespaces") or [args["tenant"]])
        self.roles = {level: role_name(level) for level in ACCESS_LEVELS}
        created = {namespace: self._create_namespace(namespace) for namespace in self.namespaces}
        for namespace, resource in created.items():
            self._create_quota(namespace, resource)
            self._create_network_policies(namespace, resource)
            self._create_roles(namespace, resource)
            self._create_pull_secret(namespace, resource)
        self.workload_identity_role = self._create_workload_identity(created)
        self.register_outputs(
            {
                "namespaces": self.namespaces,
                "roles": self.roles,
                "workload_identity_role": self.workload_identity_role,
            }
        )

    def _opts(self, *after: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self,
            provider=self._cluster.k8s_provider,
            depends_on=[*self._cluster.depends_on, *after],
        )

    def _metadata(self, name: str, namespace: str | None = None) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=name,
            namespace=namespace,
            labels={**MANAGED_BY, TENANT_LABEL: self._args["tenant"]},
        )

    def _create_namespace(self, namespace: str) -> k8s.core.v1.Namespace:
        args = self._args
        level = args.get("pod_security", "restricted")
        annotations: dict[str, pulumi.Input[str]] = {}
        if level != "restricted":
            annotations[POD_SECURITY_REASON_ANNOTATION] = str(args.get("pod_security_reason"))
        registry = args.get("registry_prefix")
        if registry is not None:
            annotations[REGISTRY_ANNOTATION] = registry
        return k8s.core.v1.Namespace(
            f"{self._name}-{namespace}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=namespace,
                labels={
                    **MANAGED_BY,
                    TENANT_LABEL: args["tenant"],
                    **pod_security_labels(level, self._cluster.kubernetes_version),
                },
                annotations=annotations or None,
            ),
            opts=self._opts(),
        )

    def _create_pull_secret(self, namespace: str, after: pulumi.Resource) -> None:
        config = self._args.get("registry_pull_secret")
        if config is None:
            return
        k8s.core.v1.Secret(
            f"{self._name}-{namespace}-registry-pull",
            metadata=self._metadata(PULL_SECRET_NAME, namespace),
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": pulumi.Output.secret(config)},
            opts=self._opts(after),
        )

    def _create_quota(self, namespace: str, after: pulumi.Resource) -> None:
        quota = self._args.get("quota", TenantQuota())
        defaults = self._args.get("container_defaults", ContainerDefaults())
        k8s.core.v1.ResourceQuota(
            f"{self._name}-{namespace}-quota",
            metadata=self._metadata("tenant-quota", namespace),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=quota_hard(quota, self._cluster)),
            opts=self._opts(after),
        )
        k8s.core.v1.LimitRange(
            f"{self._name}-{namespace}-limits",
            metadata=self._metadata("tenant-defaults", namespace),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default_request={
                            "cpu": defaults.cpu_request,
                            "memory": defaults.memory_request,
                        },
                        default=(
                            {"memory": defaults.memory_limit}
                            if defaults.memory_limit is not None
                            else None
                        ),
                    )
                ]
            ),
            opts=self._opts(after),
        )

    def _create_network_policies(self, namespace: str, after: pulumi.Resource) -> None:
        args = self._args
        monitoring = args.get("monitoring_namespace", DEFAULT_MONITORING_NAMESPACE)
        ingress = sorted(args.get("ingress_namespaces", DEFAULT_INGRESS_NAMESPACES))
        every_pod = k8s.meta.v1.LabelSelectorArgs()

        def allow_from(policy: str, peer: k8s.networking.v1.NetworkPolicyPeerArgs) -> None:
            k8s.networking.v1.NetworkPolicy(
                f"{self._name}-{namespace}-{policy}",
                metadata=self._metadata(policy, namespace),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=every_pod,
                    policy_types=["Ingress"],
                    ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[peer])],
                ),
                opts=self._opts(after),
            )

        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-{namespace}-default-deny-ingress",
            metadata=self._metadata("default-deny-ingress", namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=every_pod, policy_types=["Ingress"]
            ),
            opts=self._opts(after),
        )
        allow_from(
            "allow-same-tenant",
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={TENANT_LABEL: args["tenant"]}
                )
            ),
        )
        allow_from(
            "allow-monitoring",
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={NAMESPACE_NAME_LABEL: monitoring}
                )
            ),
        )
        if ingress:
            allow_from(
                "allow-ingress",
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                        match_expressions=[
                            k8s.meta.v1.LabelSelectorRequirementArgs(
                                key=NAMESPACE_NAME_LABEL, operator="In", values=ingress
                            )
                        ]
                    )
                ),
            )

    def _create_roles(self, namespace: str, after: pulumi.Resource) -> None:
        subjects = self._args.get("subjects", {})
        for level in ACCESS_LEVELS:
            role = k8s.rbac.v1.Role(
                f"{self._name}-{namespace}-{level}",
                metadata=self._metadata(role_name(level), namespace),
                rules=[
                    k8s.rbac.v1.PolicyRuleArgs(
                        api_groups=list(groups), resources=list(resources), verbs=list(verbs)
                    )
                    for groups, resources, verbs in ROLE_RULES[level]
                ],
                opts=self._opts(after),
            )
            groups = sorted(set(subjects.get(level, ())))
            if not groups:
                continue
            k8s.rbac.v1.RoleBinding(
                f"{self._name}-{namespace}-{level}-binding",
                metadata=self._metadata(role_name(level), namespace),
                role_ref=k8s.rbac.v1.RoleRefArgs(
                    api_group=RBAC_GROUP, kind="Role", name=role_name(level)
                ),
                subjects=[
                    k8s.rbac.v1.SubjectArgs(api_group=RBAC_GROUP, kind="Group", name=group)
                    for group in groups
                ],
                opts=self._opts(after, role),
            )

    def _create_workload_identity(
        self, created: Mapping[str, pulumi.Resource]
    ) -> pulumi.Output[str] | None:
        settings = self._args.get("workload_identity")
        if settings is None:
            return None
        identity = WorkloadIdentity(
            f"{self._name}-workload-identity",
            {
                "cluster": self._cluster,
                "tenant": self._args["tenant"],
                "namespaces": self.namespaces,
                "account": settings.account,
                "tcr_instance_id": settings.tcr_instance_id,
                "namespace_resources": created,
                "tags": settings.tags,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        return identity.role_arn
