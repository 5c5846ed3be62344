"""`NodePool`: one pool of identical-architecture nodes, the same intent on every cloud.

The user states intent (instance types, accelerator and its sharing, spot, sizes); the pool
derives the rest through `profile.derive_profile`: architecture from the instance catalog,
labels (pool, arch, accelerator) and taints (GPU, optional ARM opt-in). The cluster's backend
turns the result into cloud resources: an EKS managed node group with the matching AMI type,
or a TKE node pool; on an attached cluster nothing is created and the pool only describes the
nodes that exist.

A `NodePool` is a child of its `Cluster` (which creates it from `ClusterArgs.node_pools`) and
is named `<cluster>-<pool>`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Required, TypedDict, TypeVar

import pulumi

from .clouds import PoolRequest
from .profile import ClusterInfo, NodePoolProfile, Taint, derive_profile

if TYPE_CHECKING:
    from .cluster import Cluster

TYPE_TOKEN = "tkestack:index:NodePool"
T = TypeVar("T")


class PoolSpec(TypedDict, total=False):
    """What a pool is, independent of the cluster it joins."""

    name: Required[str]
    """Pool name, unique in its cluster (a DNS label); the `tkestack.io/node-pool` label."""
    instance_types: Required[Sequence[str]]
    """Cloud instance types, all of one architecture (and one GPU model for GPU pools).
    More than one type only helps spot pools find capacity."""
    architecture: Literal["x86_64", "arm64"] | None
    """Statement of intent; derived from the instance types and checked against them.
    Required on attached clusters, whose hardware is not in the catalog."""
    accelerator_model: str | None
    """GPU model of every node (`t4`, `a10g`, `l4`...); None for CPU pools."""
    accelerator_count: int | None
    """GPUs per node; default: derived from the instance types."""
    sharing: Literal["exclusive", "time-slicing", "hami"]
    """How pods share a GPU. Default `exclusive`."""
    replicas: int | None
    """Virtual GPUs per GPU with time-slicing (default 4 there)."""
    spot: bool
    """Spot/preemptible capacity. Default false."""
    min_size: int
    """Fewest nodes. Default 1."""
    max_size: int
    """Most nodes. Default 3."""
    desired_size: int | None
    """Initial node count. Default: `min_size`."""
    autoscaler_owns_desired_size: bool
    """When true (default), the cluster autoscaler owns the node count: Pulumi ignores drift of
    the desired size instead of resetting it on every `pulumi up`."""
    disk_size_gib: int
    """Encrypted node disk size in GiB. Default 100."""
    kubernetes_version: str | None
    """Kubelet minor version during an upgrade (EKS only); default: the cluster's. At most one
    minor behind the control plane, never ahead."""
    labels: Mapping[str, str]
    """Extra node labels, merged over the derived ones."""
    taints: Sequence[Taint]
    """Extra taints, added to the derived ones."""
    node_image: str | None
    """Tencent Cloud: the nodes' OS, a TKE public image name (`tlinux3.1x86_64`) or an image
    id (`img-xxxxxxxx`) that `tccli tke DescribeOSImages` lists. Required on ARM pools: TKE's
    ARM image name is unverified here, so tkestack does not guess it. Default on x86 pools:
    `tlinux3.1x86_64`. Not allowed on other clouds."""
    gpu_driver: Mapping[str, str] | None
    """Tencent Cloud GPU pools whose driver TKE installs (`install_gpu_driver`): the NVIDIA
    driver and CUDA packages, keys `driver_name`, `driver_version`, `cuda_name`,
    `cuda_version`, as TKE's node pool form lists them for the pool's image and GPU model
    (e.g. `NVIDIA-Linux-x86_64-470.182.03.run` / `470.182.03`). The provider does not check
    them (unverified here), so tkestack asks rather than guesses. Required there; not allowed
    elsewhere."""


class NodePoolArgs(PoolSpec, total=False):
    """A pool and the cluster it joins."""

    cluster: Required[Cluster]
    """The `Cluster` component; its backend creates the pool's cloud resources."""


@dataclass(frozen=True)
class PoolDefaults:
    """The one place a pool's defaults live (`PoolSpec` documents each field)."""

    sharing: Literal["exclusive", "time-slicing", "hami"] = "exclusive"
    spot: bool = False
    min_size: int = 1
    max_size: int = 3
    autoscaler_owns_desired_size: bool = True
    disk_size_gib: int = 100


DEFAULTS = PoolDefaults()


def _or(value: T | None, default: T) -> T:
    return value if value is not None else default


def minor_of(version: str) -> int:
    """`"1.33"` -> 33."""
    major, _, minor = version.partition(".")
    if major != "1" or not minor.isdigit():
        raise ValueError(f"Kubernetes version must look like '1.33', got {version!r}")
    return int(minor)


def pool_version(cluster_version: str, pool_version: str | None, pool: str) -> str:
    """The pool's kubelet version: the cluster's, or one minor behind during an upgrade."""
    if pool_version is None:
        return cluster_version
    skew = minor_of(cluster_version) - minor_of(pool_version)
    if skew < 0:
        raise ValueError(
            f"pool {pool}: {pool_version} is ahead of the control plane ({cluster_version})"
        )
    if skew > 1:
        raise ValueError(
            f"pool {pool}: {pool_version} is more than one minor version behind the control"
            f" plane ({cluster_version}); upgrade the pool first"
        )
    return pool_version


def pool_profile(cloud: str, args: PoolSpec, arm_opt_in_taint: bool) -> NodePoolProfile:
    """Derive a pool's scheduling profile (raises ValueError for contradictory hardware)."""
    min_size = _or(args.get("min_size"), DEFAULTS.min_size)
    max_size = _or(args.get("max_size"), DEFAULTS.max_size)
    if min_size > max_size:
        raise ValueError(f"pool {args['name']}: min_size {min_size} > max_size {max_size}")
    return derive_profile(
        cloud=cloud,
        name=args["name"],
        instance_types=list(args["instance_types"]),
        architecture=args.get("architecture"),
        accelerator_model=args.get("accelerator_model"),
        accelerator_count=args.get("accelerator_count"),
        sharing=_or(args.get("sharing"), DEFAULTS.sharing),
        replicas=args.get("replicas"),
        spot=_or(args.get("spot"), DEFAULTS.spot),
        min_size=min_size,
        max_size=max_size,
        arm_opt_in_taint=arm_opt_in_taint,
        extra_labels=args.get("labels"),
        extra_taints=tuple(args.get("taints") or ()),
    )


class NodePool(pulumi.ComponentResource):
    """A node pool of a `Cluster`, built by the cluster's cloud backend."""

    profile: NodePoolProfile
    """Derived scheduling facts (architecture, labels, taints, GPUs), known at preview."""
    kubernetes_version: str
    """Minor version of the pool's kubelets."""
    resources: list[pulumi.Resource]
    """The cloud resources of the pool (empty on attached clusters)."""

    def __init__(
        self, name: str, args: NodePoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        cluster = args["cluster"]
        self.profile = pool_profile(cluster.cloud, args, cluster.arm_opt_in_taint)
        self.kubernetes_version = pool_version(
            cluster.kubernetes_version, args.get("kubernetes_version"), args["name"]
        )
        desired_size = _or(args.get("desired_size"), self.profile.min_size)
        if not self.profile.min_size <= desired_size <= self.profile.max_size:
            raise ValueError(
                f"pool {args['name']}: desired_size {desired_size} is outside"
                f" {self.profile.min_size}..{self.profile.max_size}"
            )
        request = PoolRequest(
            resource_name=name,
            profile=self.profile,
            kubernetes_version=self.kubernetes_version,
            desired_size=desired_size,
            autoscaler_owns_desired_size=_or(
                args.get("autoscaler_owns_desired_size"), DEFAULTS.autoscaler_owns_desired_size
            ),
            disk_size_gib=_or(args.get("disk_size_gib"), DEFAULTS.disk_size_gib),
            install_gpu_driver=cluster.install_gpu_driver,
            node_image=args.get("node_image"),
            gpu_driver=args.get("gpu_driver"),
        )
        self.resources = cluster.backend.create_node_pool(self, request)
        self.register_outputs(
            {
                "architecture": self.profile.architecture,
                "instance_types": list(self.profile.instance_types),
                "labels": dict(self.profile.labels),
                "taints": [taint.as_toleration() for taint in self.profile.taints],
                "kubernetes_version": self.kubernetes_version,
                "min_size": self.profile.min_size,
                "max_size": self.profile.max_size,
            }
        )


def with_node_pools(info: ClusterInfo, *pools: NodePool) -> ClusterInfo:
    """`info` with the node pools created outside `ClusterArgs.node_pools` (a `NodePool` added
    to a cluster later, or to one that exists already), so what is installed inside sees their
    architectures, labels and taints, and waits for them."""
    return replace(
        info,
        node_pools=[*info.node_pools, *(pool.profile for pool in pools)],
        depends_on=[*info.depends_on, *pools],
    )
