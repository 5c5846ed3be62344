"""Tenancy step of the composition: identity per cluster, registry namespace per region,
`Tenant` per (tenant, cluster).

For every cluster of the environment, a `ClusterIdentity` (`<cluster>-identity`) maps the
identity-provider groups of the tenants placed on it and holds the cluster's one break-glass
role. For every tenant, one `RegistryNamespace` per registry its clusters use
(`<tenant>-registry-<cloud>-<region>`: registries are regional, not per cluster), and on each
of its clusters a `Tenant` (`<tenant>-<cluster>`) with the tenant's namespaces, quotas,
network policies, roles bound to its groups, and cloud workload identity where the cloud has
one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from ..components.contracts import ClusterInfo
from ..components.identity import (
    ACCESS_LEVELS,
    AccessLevel,
    ClusterIdentity,
    ClusterIdentityArgs,
    kubernetes_group,
)
from ..components.ownership import CLUSTER_LABEL, TENANT_LABEL
from ..components.platform_services import PlatformServices
from ..components.registry_namespace import RegistryHandle, RegistryNamespace
from ..components.tenant import (
    Tenant,
    TenantArgs,
    TenantQuota,
    WorkloadIdentitySettings,
)
from .spec import EnvironmentSpec, TenantSpec

LEVEL_GROUPS: dict[AccessLevel, str] = {
    "admin": "admins",
    "developer": "developers",
    "viewer": "viewers",
}
"""Access level -> the `tenants[].groups` field naming its identity-provider groups."""


@dataclass(frozen=True)
class ImportedNamespace:
    """A tenant's registry namespace created by another cluster stack: what its later
    clusters on the same registry use."""

    repository_prefix: pulumi.Output[str] | None
    """Image references of the tenant start with it."""
    pull_secret: pulumi.Output[str] | None
    """The namespace's pull secret (secret), where the registry has one."""


def _registry_handle(services: PlatformServices | None) -> RegistryHandle | None:
    """The registry handle of one cluster's platform services, None when the platform step
    runs no registry there."""
    if services is None or services.registry is None:
        return None
    return services.registry.handle


def tenant_quota(tenant: TenantSpec) -> TenantQuota:
    """The tenant's quota as the `Tenant` component takes it (also planned by stacks/plan.py)."""
    quota = tenant.quota
    return TenantQuota(
        cpu=quota.cpu,
        memory=quota.memory,
        pods=quota.pods,
        storage=quota.storage,
        load_balancers=quota.load_balancers,
        gpus=quota.gpus,
        gpu_memory_mib=quota.gpu_memory_mib,
    )


def tenant_subjects(
    env: EnvironmentSpec, tenant: TenantSpec, cluster: ClusterInfo
) -> dict[AccessLevel, list[str]]:
    """Access level -> the Kubernetes groups of the tenant's identity groups on `cluster`
    (also planned by stacks/plan.py)."""
    prefix = env.identity.oidc_groups_prefix
    return {
        level: [
            kubernetes_group(cluster.cloud, group, prefix)
            for group in getattr(tenant.groups, LEVEL_GROUPS[level])
        ]
        for level in ACCESS_LEVELS
    }


def _workload_identity(
    env: EnvironmentSpec, tenant: TenantSpec, cluster: ClusterInfo, registry: RegistryHandle | None
) -> WorkloadIdentitySettings | None:
    """Workload identity settings where the cluster can carry it, else None (with a warning
    naming what is missing)."""
    if cluster.cloud == "attached":
        return None
    missing = []
    if cluster.cloud_cluster_id is None:
        missing.append("its cloud cluster id")
    if cluster.cloud == "tencentcloud" and cluster.oidc_issuer is None:
        missing.append("an OIDC issuer (tencentcloud_kubernetes_auth_attachment)")
    if missing:
        pulumi.log.warn(
            f"cluster {cluster.name}: no workload identity for tenants: missing"
            f" {' and '.join(missing)}"
        )
        return None
    if cluster.cloud == "aws":  # the AWS provider's default tags cover the IAM role
        return WorkloadIdentitySettings(account=env.identity.aws_account())
    return WorkloadIdentitySettings(
        account=env.identity.tencent_account(),
        tcr_instance_id=registry.tcr_instance_id if registry is not None else None,
        tags={
            **env.tags,
            "tkestack.io/environment": env.name,
            CLUSTER_LABEL: cluster.name,
            TENANT_LABEL: tenant.name,
        },
    )


def _cluster_identity(env: EnvironmentSpec, cluster: ClusterInfo) -> ClusterIdentity:
    groups = sorted(
        {
            group
            for tenant in env.tenants
            if cluster.name in tenant.clusters
            for field in LEVEL_GROUPS.values()
            for group in getattr(tenant.groups, field)
        }
    )
    args: ClusterIdentityArgs = {
        "cluster": cluster,
        "groups": groups,
        "break_glass_role": env.identity.break_glass_role,
        "oidc_groups_prefix": env.identity.oidc_groups_prefix,
        "aws_role_arn_pattern": env.identity.aws_role_arn_pattern,
    }
    if env.identity.aws_account_id is not None:  # the spec rules require it on AWS
        args["aws_account_id"] = env.identity.aws_account_id
    return ClusterIdentity(f"{cluster.name}-identity", args)


def build_tenants(
    env: EnvironmentSpec,
    clusters: Mapping[str, ClusterInfo],
    platform: Mapping[str, PlatformServices] | None,
    imported: Mapping[tuple[str, str], ImportedNamespace] | None = None,
    created: dict[tuple[str, str], RegistryNamespace] | None = None,
) -> dict[str, Any]:
    """Register identity mapping, registry namespaces and tenants; returns the stack outputs
    `identity` (per cluster) and `tenants` (per tenant and cluster).

    `clusters` holds every cluster's `ClusterInfo` by name; `platform` the platform services
    of each cluster by name (whose `registry.handle` hosts tenant registry namespaces), or
    None before the platform step exists. Tenants are placed only on the clusters in
    `clusters` (a cluster stack holds one); `imported` holds, by (tenant, registry key), the
    registry namespaces another cluster stack created (read through a stack reference).
    `created`, when given, receives the namespaces created here by (tenant, registry key).
    """
    identity_outputs: dict[str, Any] = {}
    for cluster_name in sorted(clusters):
        identity = _cluster_identity(env, clusters[cluster_name])
        identity_outputs[cluster_name] = {
            "break_glass": identity.break_glass_subject,
            "groups": identity.group_subjects,
        }

    tenant_outputs: dict[str, Any] = {}
    created_namespaces: dict[tuple[str, str], RegistryNamespace] = (
        created if created is not None else {}
    )
    for tenant in env.tenants:
        registries: dict[str, RegistryNamespace | ImportedNamespace] = {
            key: namespace
            for (tenant_name, key), namespace in (imported or {}).items()
            if tenant_name == tenant.name
        }
        placed: dict[str, Any] = {}
        for cluster_name in dict.fromkeys(tenant.clusters):
            if cluster_name not in clusters:  # another cluster stack places it
                continue
            cluster = clusters[cluster_name]
            handle = None
            if env.registry.enabled and platform is not None:
                handle = _registry_handle(platform.get(cluster_name))
            registry_prefix: pulumi.Output[str] | None = None
            pull_secret: pulumi.Output[str] | None = None
            if handle is not None:
                if handle.key not in registries:
                    created_namespace = RegistryNamespace(
                        f"{tenant.name}-registry-{handle.key.replace('/', '-')}",
                        {
                            "cluster": cluster,
                            "tenant": tenant.name,
                            "registry": handle,
                            "tags": {
                                **env.tags,
                                "tkestack.io/environment": env.name,
                                TENANT_LABEL: tenant.name,
                            },
                        },
                    )
                    registries[handle.key] = created_namespace
                    created_namespaces[(tenant.name, handle.key)] = created_namespace
                registry_prefix = registries[handle.key].repository_prefix
                pull_secret = registries[handle.key].pull_secret
            args: TenantArgs = {
                "cluster": cluster,
                "tenant": tenant.name,
                "namespaces": tenant.namespaces or [tenant.name],
                "pod_security": tenant.pod_security,
                "pod_security_reason": tenant.pod_security_reason,
                "quota": tenant_quota(tenant),
                "subjects": tenant_subjects(env, tenant, cluster),
                "registry_prefix": registry_prefix,
                "registry_pull_secret": pull_secret,
                "workload_identity": _workload_identity(env, tenant, cluster, handle),
            }
            built = Tenant(f"{tenant.name}-{cluster_name}", args)
            placed[cluster_name] = {
                "namespaces": built.namespaces,
                "roles": built.roles,
                "registry": registry_prefix,
                "workload_role": built.workload_identity_role,
            }
        if placed or not tenant.clusters:
            tenant_outputs[tenant.name] = placed
    return {"identity": identity_outputs, "tenants": tenant_outputs}
