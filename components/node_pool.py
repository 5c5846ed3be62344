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
from typing import Literal, Protocol, Required, TypedDict, TypeVar

import pulumi

from .clouds import ClusterBackend, PoolRequest
from .contracts import ClusterInfo, NodePoolProfile, Taint, derive_profile
from .errors import raise_problems
from .limits import pool_name_problems
from .validation import (
    KeyPath,
    Problem,
    dns_label_problems,
    enum_problems,
    label_problems,
    taint_problems,
)

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


class PoolHost(Protocol):
    """What a `NodePool` needs of the cluster it joins. The `Cluster` component is one; the
    component package's `NodePool` builds one for a cluster given by reference (its cloud
    backend over the existing cluster, components/package.py)."""

    @property
    def cloud(self) -> str:
        """`aws`, `tencentcloud` or `attached`."""
        ...

    @property
    def kubernetes_version(self) -> str:
        """Control-plane minor version (`1.33`)."""
        ...

    @property
    def arm_opt_in_taint(self) -> bool:
        """Whether ARM pools carry the opt-in taint."""
        ...

    @property
    def install_gpu_driver(self) -> bool:
        """Whether the cloud installs GPU drivers on GPU nodes."""
        ...

    @property
    def backend(self) -> ClusterBackend:
        """The cloud backend that creates the pool's cloud resources."""
        ...


class NodePoolArgs(PoolSpec, total=False):
    """A pool and the cluster it joins."""

    cluster: Required[PoolHost]
    """The `Cluster` component (or another `PoolHost`); its backend creates the pool's cloud
    resources."""


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


SHARING_MODES = ("exclusive", "time-slicing", "hami")
ARCHITECTURES = ("x86_64", "arm64")


def _taint_fields(taint: object) -> tuple[object, object, object]:
    if isinstance(taint, Mapping):
        return taint.get("key"), taint.get("value", ""), taint.get("effect")
    return (
        getattr(taint, "key", None),
        getattr(taint, "value", None),
        getattr(taint, "effect", None),
    )


def _size(args: PoolSpec, key: str, default: int | None, at: KeyPath) -> tuple[int | None, list]:
    value = args.get(key, default)
    if value is None:
        return None, []
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None, [Problem((*at, key), f"{value!r} is not a whole number >= 0")]
    return value, []


def pool_problems(
    cloud: str,
    resource_name: str,
    args: PoolSpec,
    cluster_version: str | None = None,
    at: KeyPath = (),
) -> list[Problem]:
    """Every problem of one pool's arguments, each with its property path under `at`.

    The cloud's own limits (TKE pool name length, EKS node group name length), Kubernetes'
    label and taint syntax, sizes, versions and the hardware against the catalog. Pure data:
    the environment spec reports the same problems with file and line."""
    problems: list[Problem] = []
    name = args.get("name")
    problems += dns_label_problems(name, (*at, "name"))
    if isinstance(name, str):
        problems += pool_name_problems(cloud, resource_name, name, (*at, "name"))
    types = args.get("instance_types")
    types_ok = (
        isinstance(types, Sequence)
        and not isinstance(types, str)
        and len(types) > 0
        and all(isinstance(item, str) and item for item in types)
    )
    if not types_ok:
        problems.append(
            Problem((*at, "instance_types"), "required: a non-empty list of instance type names")
        )
    architecture = args.get("architecture")
    if architecture is not None:
        problems += enum_problems(architecture, ARCHITECTURES, (*at, "architecture"))
    sharing = args.get("sharing")
    if sharing is not None:
        problems += enum_problems(sharing, SHARING_MODES, (*at, "sharing"))
    model = args.get("accelerator_model")
    if model is None:
        for key in ("sharing", "replicas", "accelerator_count"):
            value = args.get(key)
            if value is not None and not (key == "sharing" and value == "exclusive"):
                problems.append(
                    Problem(
                        (*at, key),
                        "applies only to a GPU pool: set accelerator_model (the pool has no GPU)",
                    )
                )
    replicas = args.get("replicas")
    if replicas is not None and model is not None and sharing != "time-slicing":
        problems.append(
            Problem((*at, "replicas"), f"applies only to sharing time-slicing, not {sharing}")
        )
    min_size, found = _size(args, "min_size", DEFAULTS.min_size, at)
    problems += found
    max_size, found = _size(args, "max_size", DEFAULTS.max_size, at)
    problems += found
    desired, found = _size(args, "desired_size", None, at)
    problems += found
    if min_size is not None and max_size is not None:
        if max_size < 1 or min_size > max_size:
            problems.append(
                Problem((*at, "max_size"), f"{max_size} must be >= 1 and >= min_size ({min_size})")
            )
        elif desired is not None and not min_size <= desired <= max_size:
            problems.append(
                Problem(
                    (*at, "desired_size"),
                    f"{desired} is outside min_size..max_size ({min_size}..{max_size})",
                )
            )
    problems += label_problems(args.get("labels"), (*at, "labels"))
    for index, taint in enumerate(args.get("taints") or ()):
        problems += taint_problems(*_taint_fields(taint), (*at, "taints", index))
        if not isinstance(taint, Taint):
            problems.append(Problem((*at, "taints", index), "must be a Taint(key, value, effect)"))
    version = args.get("kubernetes_version")
    if version is not None and not isinstance(version, str):
        problems.append(
            Problem((*at, "kubernetes_version"), f"{version!r} is not a version like '1.33'")
        )
    elif version is not None and cluster_version is not None:
        try:
            pool_version(cluster_version, version, str(name))
        except ValueError as error:
            problems.append(Problem((*at, "kubernetes_version"), str(error)))
    if types_ok and not problems:
        # The hardware against the catalog (derive_profile's own rules), once the rest holds.
        try:
            pool_profile(cloud, args, False)
        except ValueError as error:
            problems.append(Problem((*at, "instance_types"), str(error)))
    return problems


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
        cluster = args["cluster"]
        # Every problem of the arguments, before the component or any child registers.
        raise_problems(
            "NodePool", name, pool_problems(cluster.cloud, name, args, cluster.kubernetes_version)
        )
        super().__init__(TYPE_TOKEN, name, None, opts)
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
