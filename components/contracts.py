"""What every component needs to know about a cluster and its node pools.

`NodePoolProfile` is the scheduling view of a node pool: architecture, labels, taints and
GPUs, all derived from the pool's instance types and accelerator and known at preview time
(never Outputs), so add-ons can compute node selectors and tolerations from it.
`ClusterInfo` is what any cluster, ours or attached or an enterprise's own, hands to the
platform services and tenants: the same fields on every cloud.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import pulumi

from . import catalog
from .ownership import NODE_POOL_LABEL

Architecture = Literal["x86_64", "arm64"]
KUBERNETES_ARCH: dict[str, str] = {"x86_64": "amd64", "arm64": "arm64"}
"""Our architecture names -> the `kubernetes.io/arch` label values."""

POOL_LABEL = NODE_POOL_LABEL  # one source: components/ownership.py
ACCELERATOR_LABEL = "tkestack.io/accelerator"
GPU_SHARING_LABEL = "tkestack.io/gpu-sharing"
SPOT_LABEL = "tkestack.io/capacity"
GPU_TAINT_KEY = "nvidia.com/gpu"
ARM_TAINT_KEY = "kubernetes.io/arch"
HAMI_NODE_LABELS: Mapping[str, str] = MappingProxyType({"gpu": "on"})
"""HAMi's device plugin runs only on nodes labelled `gpu=on` (its chart's nodeSelector): HAMi
pools carry these labels and the chart selects them."""


@dataclass(frozen=True, order=True)
class Taint:
    """A node taint."""

    key: str
    value: str
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

    def as_toleration(self) -> dict[str, str]:
        """The toleration that lets a pod onto nodes with this taint."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


GPU_TAINT = Taint(GPU_TAINT_KEY, "true", "NoSchedule")
ARM_TAINT = Taint(ARM_TAINT_KEY, "arm64", "NoSchedule")


@dataclass(frozen=True)
class AcceleratorProfile:
    """The GPUs of every node of a pool."""

    vendor: str
    model: str
    count: int
    memory_gib: int
    sharing: Literal["exclusive", "time-slicing", "hami"]
    replicas: int | None
    """Time-slicing virtual GPUs per GPU (None unless sharing is time-slicing)."""

    @property
    def label(self) -> str:
        """`<vendor>-<model>`: the pools' `tkestack.io/accelerator` label value."""
        return f"{self.vendor}-{self.model}"


@dataclass(frozen=True)
class NodePoolProfile:
    """Scheduling facts of a node pool, derived once and shared by every component."""

    name: str
    architecture: Architecture
    instance_types: tuple[str, ...]
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    accelerator: AcceleratorProfile | None
    spot: bool
    min_size: int
    max_size: int
    vcpu_per_node: int
    """Smallest vCPU count among the pool's instance types (0 when unknown: attached)."""
    memory_gib_per_node: float
    """Smallest memory among the pool's instance types (0 when unknown: attached)."""

    @property
    def kubernetes_arch(self) -> str:
        """`kubernetes.io/arch` value of the pool's nodes (`amd64` or `arm64`)."""
        return KUBERNETES_ARCH[self.architecture]

    @property
    def is_gpu(self) -> bool:
        """Whether the pool's nodes carry GPUs."""
        return self.accelerator is not None


def derive_profile(
    *,
    cloud: str,
    name: str,
    instance_types: Sequence[str],
    architecture: Architecture | None = None,
    accelerator_model: str | None = None,
    accelerator_count: int | None = None,
    sharing: Literal["exclusive", "time-slicing", "hami"] = "exclusive",
    replicas: int | None = None,
    spot: bool = False,
    min_size: int = 1,
    max_size: int = 3,
    arm_opt_in_taint: bool = False,
    extra_labels: Mapping[str, str] | None = None,
    extra_taints: Sequence[Taint] = (),
) -> NodePoolProfile:
    """Derive a pool's architecture, labels and taints from its hardware.

    Raises ValueError when the hardware contradicts itself (mixed architectures, a GPU model
    the types do not carry); the environment spec reports the same rules with their paths
    before any component runs, so this guards direct (embedded) use.
    """
    types = [catalog.instance_type(cloud, type_name) for type_name in instance_types]
    known = [found for found in types if found is not None]
    if cloud != "attached" and len(known) != len(types):
        unknown = [n for n, found in zip(instance_types, types, strict=True) if found is None]
        raise ValueError(f"pool {name}: unknown {cloud} instance types {unknown}")
    architectures = {found.architecture for found in known}
    if len(architectures) > 1:
        raise ValueError(f"pool {name}: instance types mix architectures {sorted(architectures)}")
    derived_arch = next(iter(architectures)) if architectures else None
    if derived_arch is not None and architecture is not None and derived_arch != architecture:
        raise ValueError(f"pool {name}: architecture {architecture} but types are {derived_arch}")
    arch = architecture or derived_arch
    if arch is None:
        raise ValueError(f"pool {name}: architecture is required when types are not in catalog")

    accelerator: AcceleratorProfile | None = None
    gpu_types = [found for found in known if found.gpu_count]
    if accelerator_model is None and gpu_types:
        raise ValueError(f"pool {name}: GPU instance types need an accelerator")
    if accelerator_model is not None:
        wrong = [found.name for found in known if found.gpu_model != accelerator_model]
        if wrong:
            raise ValueError(f"pool {name}: {wrong} do not carry {accelerator_model} GPUs")
        count = accelerator_count or min((found.gpu_count for found in known), default=1)
        memory = min((found.gpu_memory_gib for found in known), default=0)
        accelerator = AcceleratorProfile(
            vendor="nvidia",
            model=accelerator_model,
            count=count,
            memory_gib=memory,
            sharing=sharing,
            replicas=(replicas or 4) if sharing == "time-slicing" else None,
        )

    labels: dict[str, str] = {POOL_LABEL: name}
    taints: list[Taint] = []
    if spot:
        labels[SPOT_LABEL] = "spot"
    if accelerator is not None:
        labels[ACCELERATOR_LABEL] = accelerator.label
        labels[GPU_SHARING_LABEL] = accelerator.sharing
        if accelerator.sharing == "hami":
            labels.update(HAMI_NODE_LABELS)
        taints.append(GPU_TAINT)
    if arch == "arm64" and arm_opt_in_taint:
        taints.append(ARM_TAINT)
    labels.update(extra_labels or {})
    taints.extend(extra_taints)
    return NodePoolProfile(
        name=name,
        architecture=arch,
        instance_types=tuple(instance_types),
        labels=dict(sorted(labels.items())),
        taints=tuple(sorted(set(taints))),
        accelerator=accelerator,
        spot=spot,
        min_size=min_size,
        max_size=max_size,
        vcpu_per_node=min((found.vcpu for found in known), default=0),
        memory_gib_per_node=min((found.memory_gib for found in known), default=0.0),
    )


@dataclass
class ClusterInfo:
    """What a cluster hands to everything installed inside it, the same on every cloud."""

    name: str
    """Cluster name (the environment's, not the cloud's generated id)."""
    cloud: Literal["aws", "tencentcloud", "attached"]
    region: str | None
    """Cloud region; for attached clusters a free-form location or None."""
    kubernetes_version: str
    """Control plane minor version, `1.NN`."""
    endpoint: pulumi.Output[str]
    """API server URL."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig for the cluster; always a Pulumi secret."""
    k8s_provider: pulumi.ProviderResource
    """Explicit Kubernetes provider for everything installed inside the cluster."""
    oidc_issuer: pulumi.Output[str | None] | None = None
    """OIDC issuer URL where the cloud has one (EKS, TKE with OIDC enabled); None when it has
    none. An existing TKE cluster's resolves to None when its service-account OIDC is off
    (known only once read, at deployment): what needs it refuses that then."""
    node_pools: list[NodePoolProfile] = field(default_factory=list)
    """Scheduling facts of every node pool."""
    cloud_provider: pulumi.ProviderResource | None = None
    """The explicit cloud provider of the cluster's region (None for attached)."""
    cloud_cluster_id: pulumi.Output[str] | None = None
    """The cloud's own handle of the cluster: the EKS cluster name, the TKE cluster id
    (`cls-...`); None for attached clusters. Identity mapping needs it (EKS access entries and
    pod identity associations, the TKE cluster's CAM OIDC provider)."""
    vpc_id: pulumi.Output[str] | None = None
    """The cluster's VPC where the platform created it; None for attached clusters. The TCR
    registry is attached to it for private pulls."""
    node_subnet_ids: list[pulumi.Output[str]] = field(default_factory=list)
    """Subnets of the cluster's nodes (the TCR private endpoint and TKE internal load
    balancers go in the first); empty for attached clusters."""
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    """Resources that must exist before anything is installed inside (node pools, add-ons)."""

    @property
    def architectures(self) -> set[str]:
        """`kubernetes.io/arch` values present in the cluster."""
        return {pool.kubernetes_arch for pool in self.node_pools}

    @property
    def gpu_pools(self) -> list[NodePoolProfile]:
        """Pools whose nodes carry GPUs."""
        return [pool for pool in self.node_pools if pool.is_gpu]
