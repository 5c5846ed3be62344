"""The Helm add-on base: add-ons declared as data, checked by the composer, scheduled by arch.

An add-on is an `AddonSpec`: a chart from the pinned catalog (components/catalog/charts.yaml:
chart, repository, version, namespace, architectures its images support), values that are
plain data known at preview, the groups of pods the chart runs (`PodGroup`: where their
nodeSelector/tolerations/affinity live in the values, and whether they are ordinary workloads,
GPU components or per-node agents), and the other add-ons it requires or conflicts with.

`check_addons` is the composer's check over every add-on of one cluster: a missing
dependency, a conflict, or a pod group that fits on no node pool of the cluster is a
`AddonError` naming its path, raised before any resource is registered. `scheduled_values`
adds the scheduling the cluster's pools call for:

- an add-on whose images lack an architecture present in the cluster is pinned to the
  architecture it has (`kubernetes.io/arch`);
- GPU components select the GPU pools they serve and tolerate those pools' taints;
- per-node agents (log collector, node exporter) tolerate every taint: they must run on every
  node, GPU nodes included (see docs/addons.md);
- nothing else tolerates the GPU taint: ordinary workloads get an explicit toleration list
  that replaces chart defaults.

`install_addon` installs one add-on as a `helm.v3.Release` through the cluster's explicit
Kubernetes provider; docs/addons.md says why Release and not `helm.v4.Chart`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from .catalog import chart_entries
from .contracts import ARM_TAINT, GPU_TAINT_KEY, POOL_LABEL, ClusterInfo, NodePoolProfile, Taint

ARCH_LABEL = "kubernetes.io/arch"
ALL_ARCHITECTURES: tuple[str, ...] = ("amd64", "arm64")
"""`kubernetes.io/arch` values the platform schedules onto."""
DEFAULT_TIMEOUT_SECONDS = 900
"""Helm wait timeout: Prometheus/Loki StatefulSets with fresh volumes can take minutes."""
GPU_TOLERATION: dict[str, str] = {
    "key": GPU_TAINT_KEY,
    "operator": "Exists",
    "effect": "NoSchedule",
}
"""Tolerate the GPU taint whatever its value (provisioners use `true` or `present`)."""
EVERYWHERE_TOLERATION: dict[str, str] = {"operator": "Exists"}
"""Tolerates every taint: only for per-node agents."""

Role = Literal["workload", "gpu", "node-agent"]


def requests(cpu: str, memory: str) -> dict[str, dict[str, str]]:
    """A `resources` value with requests only. Pods with requests are not the first evicted
    under node pressure (BestEffort pods are) and are placed where they fit; no limits, so a
    platform agent is never CPU-throttled or OOM-killed at an arbitrary line of ours. The
    figures are tkestack's sizing (docs/charts.md, "Resource requests"), not upstream facts."""
    return {"requests": {"cpu": cpu, "memory": memory}}


class AddonError(ValueError):
    """Add-ons of a cluster that cannot be installed as declared: every problem, with its path."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ChartPin:
    """One pinned chart of components/catalog/charts.yaml."""

    key: str
    """Catalog key (`kube-prometheus-stack`)."""
    chart: str
    repository: str
    """https Helm repository."""
    version: str
    """Pinned chart version, exactly as published."""
    namespace: str
    """Namespace the platform installs the chart into."""
    architectures: tuple[str, ...]
    """`kubernetes.io/arch` values every image of the chart supports."""


def chart_pin(key: str) -> ChartPin:
    """The pinned chart `key` of the catalog; KeyError naming the known keys when absent."""
    catalog = chart_entries()
    if key not in catalog:
        raise KeyError(f"no chart {key!r} in charts.yaml; known: {', '.join(sorted(catalog))}")
    entry = catalog[key]
    return ChartPin(
        key=key,
        chart=str(entry["chart"]),
        repository=str(entry["repository"]),
        version=str(entry["version"]),
        namespace=str(entry["namespace"]),
        architectures=tuple(str(arch) for arch in entry["architectures"]),
    )


@dataclass(frozen=True)
class PodGroup:
    """One group of pods of a chart and where its scheduling values live."""

    path: str
    """Dotted values path of the group (`prometheus.prometheusSpec`); `""` is the top level."""
    role: Role = "workload"
    """`workload`: stays off GPU pools; `gpu`: runs on the GPU pools the add-on serves;
    `node-agent`: a DaemonSet that must run on every node and tolerates every taint."""
    node_selector_key: str | None = "nodeSelector"
    """Key of the node selector under `path`; None when the chart has none."""
    tolerations_key: str | None = "tolerations"
    """Key of the tolerations list under `path`; None when the chart has none."""
    affinity_key: str | None = "affinity"
    """Key of the affinity under `path`; None when the chart has none. GPU groups select their
    pools through it (a node selector cannot say "one of these pools")."""
    gpu_node_labels: Mapping[str, str] = field(default_factory=dict)
    """GPU groups without an affinity key: the node labels that select their pools."""
    architectures: tuple[str, ...] | None = None
    """Override of the add-on's architectures for this group alone (a Job whose image is
    amd64-only in an otherwise multi-arch chart); default: the add-on's."""


@dataclass(frozen=True)
class AddonSpec:
    """One Helm add-on, declared as data."""

    key: str
    """Unique name of the add-on in a cluster; also the Helm release name."""
    chart: str
    """Key of the chart in components/catalog/charts.yaml (pins chart, repository, version)."""
    values: Mapping[str, Any]
    """Helm values: plain data known at preview, never built from Outputs (secrets go in
    Kubernetes Secrets the chart references)."""
    pod_groups: tuple[PodGroup, ...]
    """Every group of pods the chart runs, to schedule each of them."""
    requires: tuple[str, ...] = ()
    """Keys of add-ons that must be installed on the same cluster (CRDs, data sources)."""
    conflicts: tuple[str, ...] = ()
    """Keys of add-ons that must not be installed on the same cluster."""
    gpu_pools: tuple[str, ...] | None = None
    """GPU groups: names of the GPU pools this add-on serves; None = every GPU pool."""
    architectures: tuple[str, ...] | None = None
    """Override of the chart's architectures (only when the catalog's `arm64_requires` image
    overrides are applied in `values`); default: the catalog's."""
    namespace: str | None = None
    """Namespace; default: the catalog's."""
    create_namespace: bool = True
    """Let Helm create the namespace; False when the component creates it (to put Secrets in
    it before the release)."""
    protect: bool = False
    """Protect the release (stateful add-ons in prod)."""

    @property
    def pin(self) -> ChartPin:
        """The chart pin from the catalog."""
        return chart_pin(self.chart)

    @property
    def supported_architectures(self) -> tuple[str, ...]:
        """`kubernetes.io/arch` values the add-on's images support."""
        return self.architectures if self.architectures is not None else self.pin.architectures

    def group_architectures(self, group: PodGroup) -> tuple[str, ...]:
        """`kubernetes.io/arch` values the images of one pod group support."""
        if group.architectures is not None:
            return group.architectures
        return self.supported_architectures

    @property
    def release_namespace(self) -> str:
        """Namespace the release is installed into."""
        return self.namespace if self.namespace is not None else self.pin.namespace


def _describe(pool: NodePoolProfile) -> str:
    traits = [pool.kubernetes_arch]
    if pool.is_gpu:
        traits.append("gpu")
    traits.extend(f"taint {taint.key}={taint.value}:{taint.effect}" for taint in pool.taints)
    return f"{pool.name} ({', '.join(traits)})"


def _group_tolerations(
    addon: AddonSpec, group: PodGroup, cluster: ClusterInfo
) -> list[dict[str, str]]:
    """The tolerations a group gets; always an explicit list (it replaces chart defaults)."""
    if group.role == "node-agent":
        return [dict(EVERYWHERE_TOLERATION)]
    tolerations: list[dict[str, str]] = []
    if group.role == "gpu":
        tolerations.append(dict(GPU_TOLERATION))
        extra: set[Taint] = set()
        for pool in _gpu_targets(addon, cluster):
            extra.update(taint for taint in pool.taints if taint.key != GPU_TAINT_KEY)
        tolerations.extend(taint.as_toleration() for taint in sorted(extra))
        return tolerations
    arm_tainted = any(ARM_TAINT in pool.taints for pool in cluster.node_pools)
    if "arm64" in addon.group_architectures(group) and arm_tainted:
        tolerations.append(ARM_TAINT.as_toleration())
    return tolerations


def _gpu_targets(addon: AddonSpec, cluster: ClusterInfo) -> list[NodePoolProfile]:
    pools = cluster.gpu_pools
    if addon.gpu_pools is not None:
        pools = [pool for pool in pools if pool.name in addon.gpu_pools]
    return pools


def _tolerated(pool: NodePoolProfile, tolerations: list[dict[str, str]]) -> bool:
    """Whether every NoSchedule/NoExecute taint of `pool` is tolerated."""
    for taint in pool.taints:
        if taint.effect == "PreferNoSchedule":
            continue
        if not any(_tolerates(toleration, taint) for toleration in tolerations):
            return False
    return True


def _tolerates(toleration: Mapping[str, str], taint: Taint) -> bool:
    if "key" in toleration and toleration["key"] != taint.key:
        return False
    if toleration.get("effect") and toleration["effect"] != taint.effect:
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return True
    return toleration.get("value", "") == taint.value


def eligible_pools(
    addon: AddonSpec, group: PodGroup, cluster: ClusterInfo
) -> list[NodePoolProfile]:
    """The pools a group's pods can land on once scheduled (arch, taints, GPU targets)."""
    tolerations = _group_tolerations(addon, group, cluster)
    candidates = _gpu_targets(addon, cluster) if group.role == "gpu" else cluster.node_pools
    return [
        pool
        for pool in candidates
        if pool.kubernetes_arch in addon.group_architectures(group)
        and _tolerated(pool, tolerations)
    ]


def _arch_pin(supported: tuple[str, ...], cluster: ClusterInfo) -> str | None:
    """The one architecture to pin the add-on to, when the cluster has others it lacks.

    A cluster that lists no pools (an attached cluster we know nothing of) may have any
    architecture, so a single-arch add-on is pinned there too.
    """
    present = cluster.architectures if cluster.node_pools else set(ALL_ARCHITECTURES)
    if present <= set(supported) or len(supported) != 1:
        return None
    return supported[0]


def _at(values: dict[str, Any], path: str) -> dict[str, Any]:
    """The mapping at dotted `path` inside `values`, created when absent."""
    node = values
    for part in [part for part in path.split(".") if part]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    return node


def scheduled_values(addon: AddonSpec, cluster: ClusterInfo) -> dict[str, Any]:
    """The add-on's values with the scheduling of every pod group filled in for `cluster`."""
    values = copy.deepcopy(dict(addon.values))
    for group in addon.pod_groups:
        arch = _arch_pin(addon.group_architectures(group), cluster)
        node = _at(values, group.path)
        if group.tolerations_key is not None:
            node[group.tolerations_key] = _group_tolerations(addon, group, cluster)
        if group.role == "gpu":
            _select_gpu_pools(addon, group, cluster, node, arch)
        elif arch is not None and group.node_selector_key is not None:
            selector = dict(node.get(group.node_selector_key) or {})
            selector[ARCH_LABEL] = arch
            node[group.node_selector_key] = dict(sorted(selector.items()))
    return values


def _select_gpu_pools(
    addon: AddonSpec, group: PodGroup, cluster: ClusterInfo, node: dict[str, Any], arch: str | None
) -> None:
    if group.affinity_key is None:
        if group.node_selector_key is not None:
            selector = {**(node.get(group.node_selector_key) or {}), **group.gpu_node_labels}
            if arch is not None:
                selector[ARCH_LABEL] = arch
            node[group.node_selector_key] = dict(sorted(selector.items()))
        return
    pools = sorted(pool.name for pool in _gpu_targets(addon, cluster))
    expressions: list[dict[str, Any]] = [{"key": POOL_LABEL, "operator": "In", "values": pools}]
    if arch is not None:
        expressions.append({"key": ARCH_LABEL, "operator": "In", "values": [arch]})
    node[group.affinity_key] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": expressions}]
            }
        }
    }


def check_addons(
    addons: Sequence[AddonSpec],
    cluster: ClusterInfo,
    at: str,
    also_installed: Sequence[str] = (),
) -> list[str]:
    """Every problem of the add-ons of one cluster, each prefixed with `at.<add-on key>`.

    `also_installed` names add-ons installed on the cluster by something else (another
    component), which satisfy dependencies and trigger conflicts like the checked ones.

    Checks: unique keys, catalogued charts, dependencies present, conflicts absent, and every
    pod group able to run on at least one node pool of the cluster. A cluster listing no
    pools (attached, unknown) skips the last check: nothing is known to contradict it.
    """
    problems: list[str] = []
    keys = [addon.key for addon in addons]
    installed = set(keys) | set(also_installed)
    for addon in addons:
        where = f"{at}.{addon.key}"
        if keys.count(addon.key) > 1:
            problems.append(f"{where}: add-on declared {keys.count(addon.key)} times")
        try:
            addon.pin  # noqa: B018 - the lookup is the check
        except KeyError as error:
            problems.append(f"{where}.chart: {error.args[0]}")
            continue
        for required in addon.requires:
            if required not in installed:
                problems.append(f"{where}: requires add-on {required!r}, which is not installed")
        for conflict in addon.conflicts:
            if conflict in installed:
                problems.append(f"{where}: conflicts with add-on {conflict!r} on the same cluster")
        if not cluster.node_pools:
            continue
        for group in addon.pod_groups:
            if eligible_pools(addon, group, cluster):
                continue
            label = f"{where}.{group.path}" if group.path else where
            pools = ", ".join(_describe(pool) for pool in cluster.node_pools)
            wanted = "GPU pools" if group.role == "gpu" else "untainted pools"
            problems.append(
                f"{label}: can run on no node pool of cluster {cluster.name}: its images support"
                f" {'/'.join(addon.group_architectures(group))} and it needs {wanted};"
                f" pools: {pools}"
            )
    return problems


def install_addon(
    name: str,
    addon: AddonSpec,
    cluster: ClusterInfo,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.helm.v3.Release:
    """Install `addon` into `cluster` as one Helm release named `name`.

    The release depends on the cluster's `depends_on` (node pools, ...) so that on teardown
    it is deleted before them: add-ons that create load balancers and volumes must release
    those cloud resources before the network and nodes go away.
    """
    pin = addon.pin
    return k8s.helm.v3.Release(
        name,
        name=addon.key,
        chart=pin.chart,
        version=pin.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pin.repository),
        namespace=addon.release_namespace,
        create_namespace=addon.create_namespace,
        values=scheduled_values(addon, cluster),
        atomic=True,
        cleanup_on_fail=True,
        max_history=10,
        timeout=DEFAULT_TIMEOUT_SECONDS,
        opts=pulumi.ResourceOptions(
            parent=parent,
            provider=cluster.k8s_provider,
            depends_on=[*cluster.depends_on, *depends_on],
            protect=addon.protect,
        ),
    )
