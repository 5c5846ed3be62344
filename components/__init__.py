"""tkestack components: the platform's building blocks, for an enterprise's own Pulumi stacks.

Everything below is importable from `tkestack.components` and is the stable public surface:
names, argument keys and outputs change only with a note in the upgrade log, and type tokens and
resource names only with `aliases`. Submodules hold the implementation; import from here.
Components read nothing but their arguments (no stack config, no environment spec), and every
resource they create uses an explicit provider: the cloud provider you pass, or the cluster's
Kubernetes provider.

Components (`Class(name, args, opts=None)`, type token `tkestack:index:<Class>`), their
arguments type, and their outputs (`*` marks a Pulumi secret):

- `Cluster` (`ClusterArgs`; nested `PoolSpec`, `AttachedArgs`, `ExistingNetwork`,
  `ExistingRoles`): an EKS, TKE or attached cluster with its node pools; in your own VPC
  (`existing_network`), with your IAM roles (`existing_roles`), on a cluster that exists
  already (`existing_cluster`), under your `name_prefix` and `tags`.
  Outputs: `cloud`, `kubernetes_version`, `arm_opt_in_taint`, `install_gpu_driver`,
  `endpoint`, `kubeconfig*`, `oidc_issuer`, `k8s_provider`, `node_pools`, `backend`, and
  `info` (the `ClusterInfo` every other component takes).
- `NodePool` (`NodePoolArgs`): one more pool on a `Cluster` (ours, or an existing one);
  `with_node_pools(cluster.info, pool)` makes it known to what is installed inside.
  Outputs: `profile` (`NodePoolProfile`), `kubernetes_version`, `resources`.
- `PlatformServices` (`PlatformServicesArgs`): registry, observability and GPU stack of a
  cluster, checked together. Outputs: `registry`, `observability`, `gpu_stack`, `addon_keys`.
- `Registry` (`RegistryArgs`; `RegistrySettings`): ECR, TCR or Harbor. Outputs: `handle`
  (`RegistryHandle`), `endpoint`, `harbor_admin_password*`.
- `RegistryNamespace` (`RegistryNamespaceArgs`): one tenant's home in a registry. Outputs:
  `repository_prefix`, `repository_urls`, `pull_secret*` (TCR).
- `Observability` (`ObservabilityArgs`; `RetentionSettings`, `PushTarget`, `PushCredential`,
  `ReceiverSettings`): metrics, logs, alerts, central Grafana, the peers' push pipeline.
  Outputs: `grafana_admin_password*`, `push_credential`, `push_password*`,
  `receiver_address`, `addon_keys`, `metrics_release` (what ServiceMonitor users wait for).
- `GpuStack` (`GpuStackArgs`): device plugins, sharing, DCGM. Outputs: `addon_keys`,
  `sharing`.
- `Tenant` (`TenantArgs`; `TenantQuota`, `ContainerDefaults`, `WorkloadIdentitySettings`):
  namespaces, quotas, network policies and roles on any cluster. Outputs: `namespaces`,
  `roles`, `workload_identity_role`.
- `ClusterIdentity` (`ClusterIdentityArgs`): identity-provider groups mapped into a cluster,
  one break-glass role. Outputs: `group_subjects`, `break_glass_subject`.
- `WorkloadIdentity` (`WorkloadIdentityArgs`): a tenant's cloud role for its workloads.
  Outputs: `role_arn`, `service_account`.

Data shared by the components: `ClusterInfo` (what any cluster hands to what is installed in
it: build one for a cluster of your own, or take `Cluster.info`), `NodePoolProfile` and
`derive_profile` (scheduling facts of a pool), `Taint`.

The same components in other languages: `components/` is a Pulumi component package
(`PulumiPlugin.yaml`, `__main__.py`, facades in `components/package.py`); see the README's
"Embedding" section. Each component's inputs, outputs and defaults: docs/components/*.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Submodules are imported on first use (PEP 562): `tkestack.components.catalog` (a leaf with no
# Pulumi import) is loaded by the spec and the policy rules, which must not pull in the Pulumi
# SDKs through this package's `__init__`.
_EXPORTS: dict[str, str] = {
    "AttachedArgs": ".cluster",
    "Cluster": ".cluster",
    "ClusterArgs": ".cluster",
    "ExistingNetwork": ".cluster",
    "ExistingNetworkArgs": ".cluster",
    "ExistingRoles": ".cluster",
    "ExistingRolesArgs": ".cluster",
    "GpuStack": ".gpu_stack",
    "GpuStackArgs": ".gpu_stack",
    "ClusterIdentity": ".identity",
    "ClusterIdentityArgs": ".identity",
    "WorkloadIdentity": ".identity",
    "WorkloadIdentityArgs": ".identity",
    "NodePool": ".node_pool",
    "NodePoolArgs": ".node_pool",
    "PoolSpec": ".node_pool",
    "with_node_pools": ".node_pool",
    "Observability": ".observability",
    "ObservabilityArgs": ".observability",
    "PushCredential": ".observability",
    "PushTarget": ".observability",
    "ReceiverSettings": ".observability",
    "RetentionSettings": ".observability",
    "PlatformServices": ".platform_services",
    "PlatformServicesArgs": ".platform_services",
    "ClusterInfo": ".contracts",
    "NodePoolProfile": ".contracts",
    "Taint": ".contracts",
    "derive_profile": ".contracts",
    "Registry": ".registry",
    "RegistryArgs": ".registry",
    "RegistryHandle": ".registry_namespace",
    "RegistryNamespace": ".registry_namespace",
    "RegistryNamespaceArgs": ".registry_namespace",
    "RegistrySettings": ".registry_namespace",
    "ContainerDefaults": ".tenant",
    "Tenant": ".tenant",
    "TenantArgs": ".tenant",
    "TenantQuota": ".tenant",
    "WorkloadIdentitySettings": ".tenant",
}
"""Each public name and the submodule that defines it."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    from .cluster import (
        AttachedArgs,
        Cluster,
        ClusterArgs,
        ExistingNetwork,
        ExistingNetworkArgs,
        ExistingRoles,
        ExistingRolesArgs,
    )
    from .contracts import ClusterInfo, NodePoolProfile, Taint, derive_profile
    from .gpu_stack import GpuStack, GpuStackArgs
    from .identity import (
        ClusterIdentity,
        ClusterIdentityArgs,
        WorkloadIdentity,
        WorkloadIdentityArgs,
    )
    from .node_pool import NodePool, NodePoolArgs, PoolSpec, with_node_pools
    from .observability import (
        Observability,
        ObservabilityArgs,
        PushCredential,
        PushTarget,
        ReceiverSettings,
        RetentionSettings,
    )
    from .platform_services import PlatformServices, PlatformServicesArgs
    from .registry import Registry, RegistryArgs
    from .registry_namespace import (
        RegistryHandle,
        RegistryNamespace,
        RegistryNamespaceArgs,
        RegistrySettings,
    )
    from .tenant import ContainerDefaults, Tenant, TenantArgs, TenantQuota, WorkloadIdentitySettings

__all__ = [
    "AttachedArgs",
    "Cluster",
    "ClusterArgs",
    "ClusterIdentity",
    "ClusterIdentityArgs",
    "ClusterInfo",
    "ContainerDefaults",
    "ExistingNetwork",
    "ExistingNetworkArgs",
    "ExistingRoles",
    "ExistingRolesArgs",
    "GpuStack",
    "GpuStackArgs",
    "NodePool",
    "NodePoolArgs",
    "NodePoolProfile",
    "Observability",
    "ObservabilityArgs",
    "PlatformServices",
    "PlatformServicesArgs",
    "PoolSpec",
    "PushCredential",
    "PushTarget",
    "ReceiverSettings",
    "Registry",
    "RegistryArgs",
    "RegistryHandle",
    "RegistryNamespace",
    "RegistryNamespaceArgs",
    "RegistrySettings",
    "RetentionSettings",
    "Taint",
    "Tenant",
    "TenantArgs",
    "TenantQuota",
    "WorkloadIdentity",
    "WorkloadIdentityArgs",
    "WorkloadIdentitySettings",
    "derive_profile",
    "with_node_pools",
]
