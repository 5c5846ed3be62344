"""Per-cloud cluster backends behind one small interface.

The `Cluster` component (components/cluster.py) knows nothing of EKS, TKE or kubeconfigs on
disk: it picks the backend of its cloud and drives it through four calls, in this order:

1. `create_control_plane()`: network, keys, roles and the managed control plane;
2. `create_node_pool(pool, request)`: once per `NodePool` (the pool component is the parent of
   whatever the backend creates for it);
3. `finish(pools)`: what needs nodes to exist (EKS add-ons that schedule pods, the TKE API
   endpoint), returning how to reach the cluster (`ClusterAccess`);
4. `install_in_cluster(info)`: what the cloud needs inside the cluster, through its Kubernetes
   provider (EKS: the default `gp3` StorageClass and the cluster autoscaler); what it returns
   is added to `ClusterInfo.depends_on`, so everything installed later waits for it.

Every backend hands back the same `ClusterAccess`, so the platform services and tenants install
the same way on every cloud. Backends are imported lazily: a single-cloud environment never
imports the other clouds' SDKs.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import pulumi

from ..contracts import ClusterInfo, NodePoolProfile

if TYPE_CHECKING:
    from ..cluster import ClusterArgs

BACKEND_MODULES: dict[str, str] = {
    "aws": "aws",
    "tencentcloud": "tencentcloud",
    "attached": "attached",
}
"""Cloud name -> module in this package that defines its `Backend` class."""


@dataclass(frozen=True)
class PoolRequest:
    """A node pool as a backend builds it: the scheduling profile plus lifecycle settings."""

    resource_name: str
    """Pulumi name of the `NodePool` component (`<cluster>-<pool>`); children extend it."""
    profile: NodePoolProfile
    """Derived architecture, labels, taints and GPUs of the pool."""
    kubernetes_version: str
    """Minor version (`1.33`) of the pool's kubelets: the cluster's, or one minor behind."""
    desired_size: int
    """Initial node count (between min and max)."""
    autoscaler_owns_desired_size: bool
    """When true, drift of the desired size is ignored (the cluster autoscaler owns it)."""
    disk_size_gib: int
    """Size of the node's encrypted disk in GiB."""
    install_gpu_driver: bool
    """Whether the cloud installs the NVIDIA driver on GPU nodes (else the GPU operator does)."""
    node_image: str | None = None
    """TKE: the pool's OS image name or image id (`PoolSpec.node_image`); None: the default."""
    gpu_driver: Mapping[str, str] | None = None
    """TKE: the NVIDIA driver and CUDA the cloud installs on GPU nodes (`PoolSpec.gpu_driver`)."""


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach a cluster: what every backend returns from `finish`."""

    endpoint: pulumi.Output[str]
    """API server URL (`https://...`)."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig with credentials or exec auth; always a Pulumi secret."""
    oidc_issuer: pulumi.Output[str | None] | None = None
    """Service-account token issuer URL, where the cloud exposes one."""
    context: str | None = None
    """Kubeconfig context to use (None: the kubeconfig's current context)."""
    cloud_cluster_id: pulumi.Output[str] | None = None
    """The cloud's handle of the cluster (EKS cluster name, TKE `cls-...` id); None attached."""
    vpc_id: pulumi.Output[str] | None = None
    """The VPC the backend created for the cluster; None for attached clusters."""
    node_subnet_ids: list[pulumi.Output[str]] = field(default_factory=list)
    """Subnets of the nodes, one per zone (private subnets on AWS); empty for attached."""
    ready: list[pulumi.Resource] = field(default_factory=list)
    """Resources that must exist before anything is installed inside the cluster."""


class ClusterBackend(abc.ABC):
    """Builds one cluster on one cloud. One instance per `Cluster` component."""

    cloud: ClassVar[str]
    """Cloud this backend builds on: `aws`, `tencentcloud` or `attached`."""

    def __init__(
        self,
        cluster: pulumi.ComponentResource,
        name: str,
        args: ClusterArgs,
        cluster_name: str | None = None,
    ) -> None:
        self.cluster = cluster
        """The `Cluster` component (or the package's `NodePool` over an existing cluster):
        parent of every control-plane resource."""
        self.name = name
        """The Pulumi name of `cluster`; children are named `f"{name}-{role}"`."""
        self.args = args
        """The cluster's arguments (components/cluster.py `ClusterArgs`)."""
        self.cloud_name = self.prefixed(cluster_name if cluster_name is not None else name)
        """The name the cloud knows the cluster by (`name_prefix` + its name, which is `name`
        unless `cluster_name` says otherwise); cloud-side names of its resources start with
        it, Pulumi names (`name`) do not."""

    def prefixed(self, name: str) -> str:
        """`name` as the cloud knows it: with the cluster's `name_prefix` in front."""
        return f"{self.args.get('name_prefix') or ''}{name}"

    def child_options(
        self, parent: pulumi.Resource | None = None, **options: object
    ) -> pulumi.ResourceOptions:
        """Options of a child: parent (default: the cluster) and the explicit cloud provider."""
        provider = self.args.get("cloud_provider")
        return pulumi.ResourceOptions(
            parent=parent if parent is not None else self.cluster,
            provider=provider,
            # Why the ignore below: ResourceOptions' keyword parameters are not a TypedDict, so
            # `**options: Any` cannot be checked against them.
            **options,  # type: ignore[arg-type]
        )

    def read_managed_basics(self) -> None:
        """Region, tags and protection, which every managed cluster has."""
        region = self.args.get("region")
        if region is None:  # `cluster.validate_args` refuses this before any backend runs
            raise ValueError(f"cluster {self.name}: region is required on {self.cloud}")
        self.region: str = region
        self.tags: dict[str, str] = dict(self.args.get("tags") or {})
        self.protect = bool(self.args.get("protect", False))

    def adopt_existing_network(self) -> bool:
        """Use the enterprise's own VPC and subnets when `existing_network` is given (nothing
        of that network, routes and NAT included, is ours); True when it was given."""
        network = self.args.get("existing_network")
        if network is None:
            return False
        self.vpc_id: pulumi.Output[str] = pulumi.Output.from_input(network["vpc_id"])
        self.node_subnet_ids: list[pulumi.Output[str]] = [
            pulumi.Output.from_input(subnet) for subnet in network["node_subnet_ids"]
        ]
        return True

    @abc.abstractmethod
    def create_control_plane(self) -> None:
        """Create the network, keys, roles and control plane."""

    @abc.abstractmethod
    def create_node_pool(
        self, pool: pulumi.ComponentResource, request: PoolRequest
    ) -> list[pulumi.Resource]:
        """Create the cloud resources of one node pool, as children of `pool`."""

    @abc.abstractmethod
    def finish(self, pools: Sequence[pulumi.Resource]) -> ClusterAccess:
        """Create what needs nodes, and return how to reach the cluster."""

    def install_in_cluster(self, info: ClusterInfo) -> list[pulumi.Resource]:
        """Install what the cloud needs inside the cluster, through `info.k8s_provider`.

        Returns what everything installed later must wait for (added to `info.depends_on`).
        Default: nothing.
        """
        del info  # the default installs nothing
        return []


def backend_class(cloud: str) -> type[ClusterBackend]:
    """The backend class of `cloud` (imports its module on first use)."""
    if cloud not in BACKEND_MODULES:
        raise ValueError(
            f"no cluster backend for cloud {cloud!r} (known: {sorted(BACKEND_MODULES)})"
        )
    module = importlib.import_module(f"{__name__}.{BACKEND_MODULES[cloud]}")
    backend: type[ClusterBackend] = module.Backend
    return backend


__all__ = ["BACKEND_MODULES", "ClusterAccess", "ClusterBackend", "PoolRequest", "backend_class"]
