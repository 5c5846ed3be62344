"""How long `pulumi up` of a rendered environment takes from scratch, and how long it must.

`pulumi up` runs with unbounded parallelism by default, so its wall time is the longest chain
of resources that wait for each other, each taking its type's typical creation time
(`durations.yaml`, from public figures). Two chains are computed over the rendered graph:

- the **estimate**: every edge the engine will honour: the inputs that reference another
  resource's outputs, explicit `depends_on` (a component expands to its custom
  descendants), the provider, a custom parent;
- the **floor**: only the edges that must exist: data edges, providers, custom parents, and
  the orderings a real deployment needs: a namespaced object after its Namespace (or the Helm
  release that creates it), a Helm release after the nodes and EKS add-ons of its cluster,
  after the add-ons it `requires` and after config objects of its own namespace, a custom
  resource after the chart installing its CRD, EKS node groups and EKS add-ons after each
  other.

An ordering edge the floor does not need is a *false dependency*; those between two node
pools or two add-ons serialize work that could run side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .components.catalog import ADDON_REQUIRES
from .components.cluster import TYPE_TOKEN as CLUSTER_TYPE
from .components.node_pool import TYPE_TOKEN as NODE_POOL_TYPE
from .engine import RenderedResource, Rendering
from .ownership import cluster_owners

DURATIONS_FILE = Path(__file__).resolve().parent / "durations.yaml"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
NODE_CAPACITY = frozenset(
    {"aws:eks/nodeGroup:NodeGroup", "tencentcloud:Kubernetes/nodePool:NodePool"}
)
"""Resources that bring up nodes (what pods need before a Helm release can be ready)."""
EKS_ADDON = "aws:eks/addon:Addon"
EKS_ACCESS = frozenset(
    {"aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"}
)
ROLE_GRANTS = frozenset(
    {"aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy"}
)
TKE_ENDPOINT = "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NODE_POOL_COMPONENT = NODE_POOL_TYPE
"""The node pool component's type token (components/node_pool.py, its one source)."""
CLUSTER_COMPONENT = CLUSTER_TYPE
"""The cluster component's type token (components/cluster.py, its one source)."""
NAMESPACED_CONFIG = frozenset({"kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap"})
"""Objects a chart's values name (an existing Secret or ConfigMap) in the release namespace."""


@dataclass(frozen=True)
class DurationTable:
    """Creation time per resource type, with the add-on facts the floor needs."""

    default_seconds: float
    types: Mapping[str, float]
    prefixes: Mapping[str, float]
    addon_requires: Mapping[str, tuple[str, ...]]
    """Helm release name -> release names it needs installed first."""
    crd_charts: Mapping[str, str]
    """API group of custom resources -> the Helm release installing its CRDs."""

    def seconds(self, type_: str) -> tuple[float, bool]:
        """(seconds, whether the type is listed or matched by a prefix)."""
        if type_ in self.types:
            return self.types[type_], True
        matches = [prefix for prefix in self.prefixes if type_.startswith(prefix)]
        if matches:
            return self.prefixes[max(matches, key=len)], True
        return self.default_seconds, False


@cache
def load_durations(path: Path = DURATIONS_FILE) -> DurationTable:
    """The duration table in `path` (default: the shipped `durations.yaml`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return DurationTable(
        default_seconds=float(data["default_seconds"]),
        types={key: float(entry["seconds"]) for key, entry in data["types"].items()},
        prefixes={key: float(entry["seconds"]) for key, entry in data["prefixes"].items()},
        addon_requires=ADDON_REQUIRES,  # the catalog's, the components' one source
        crd_charts=dict(data.get("crd_charts") or {}),
    )


@dataclass(frozen=True)
class Step:
    """One resource on a chain: when it starts and ends (seconds from the start)."""

    urn: str
    type: str
    name: str
    start: float
    end: float


@dataclass(frozen=True)
class FalseDependency:
    """An ordering edge a deployment does not need."""

    dependent: str
    dependency: str
    kind: str
    """`node pools` (between two pools), `add-ons` (between two add-ons) or `other`."""


DEPLOYER_PATH_TYPES = (
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "tencentcloud:Ccn/attachmentV2:AttachmentV2",
)
"""Resources that open a cluster's API to the deployer's runners (components/clouds/access.py)."""


@dataclass(frozen=True)
class ApiReach:
    """Which runner reaches one cluster's API endpoint, and through what."""

    cluster: str
    exposure: str
    paths: tuple[str, ...]
    """How the deployer reaches it (empty: no declared path, the run cannot reach it)."""
    path_resources: tuple[str, ...]
    """Names of the resources of the path the cluster's installs wait for (hub attachment,
    443 ingress)."""

    def describe(self) -> str:
        """`prod-use1 (private): private endpoint through ... [prod-use1-hub, ...]`."""
        how = "; ".join(self.paths) if self.paths else "NO declared path"
        made = f" [{', '.join(self.path_resources)}]" if self.path_resources else ""
        return f"{self.cluster} ({self.exposure}): {how}{made}"


def api_reach(
    rendering: Rendering, owners: Mapping[str, str | None] | None = None
) -> tuple[tuple[str, ...], tuple[ApiReach, ...]]:
    """The deployer's CIDRs and every cluster's API reach, from the `deployer` stack output
    the program records and the path resources it created. `owners`:
    `ownership.cluster_owners(rendering)` when the caller has it already (else computed)."""
    outputs = rendering.stack_outputs if isinstance(rendering.stack_outputs, dict) else {}
    deployer = outputs.get("deployer") if isinstance(outputs.get("deployer"), dict) else {}
    graph = _Graph(rendering, DurationTable(0.0, {}, {}, {}, {}), owners)
    made: dict[str, list[str]] = {}
    for resource in rendering.resources:
        if resource.type in DEPLOYER_PATH_TYPES:
            cluster = graph.cluster_of(resource)
            if cluster is not None:
                made.setdefault(cluster, []).append(resource.name)
    reach = deployer.get("reach") if isinstance(deployer.get("reach"), dict) else {}
    found = tuple(
        ApiReach(
            cluster=name,
            exposure=str(info.get("exposure", "?")),
            paths=tuple(info.get("paths") or ()),
            path_resources=tuple(sorted(made.get(name, []))),
        )
        for name, info in sorted(reach.items())
        if isinstance(info, dict)
    )
    return tuple(deployer.get("cidrs") or ()), found


@dataclass(frozen=True)
class DeploymentEstimate:
    """Estimated `pulumi up` wall time of an environment from scratch, against its floor."""

    seconds: float
    """Longest chain over every edge the engine honours."""
    floor_seconds: float
    """Longest chain over the edges that must exist."""
    critical_path: tuple[Step, ...]
    floor_path: tuple[Step, ...]
    false_dependencies: tuple[FalseDependency, ...]
    """Every unneeded ordering edge, sorted (dependent, dependency)."""
    unlisted_types: tuple[str, ...]
    """Types that took `default_seconds` (complete `durations.yaml` for them)."""
    deployer_cidrs: tuple[str, ...] = ()
    """Where `pulumi up` runs from (`deployer.cidrs`)."""
    reach: tuple[ApiReach, ...] = ()
    """Per cluster, the path from the deployer to its API endpoint: the run needs every one."""

    @property
    def ratio(self) -> float:
        """Estimate over floor (1.0: nothing waits without need on the longest chain)."""
        return self.seconds / self.floor_seconds if self.floor_seconds else 1.0

    @property
    def serializing(self) -> tuple[FalseDependency, ...]:
        """False dependencies between node pools or between add-ons."""
        return tuple(edge for edge in self.false_dependencies if edge.kind != "other")

    def summary(self) -> str:
        """One line: estimate, floor, and the critical path by resource name."""
        chain = " → ".join(step.name for step in self.critical_path)
        text = (
            f"estimated `pulumi up` from scratch: {minutes(self.seconds)} (floor"
            f" {minutes(self.floor_seconds)}, x{self.ratio:.2f}); critical path: {chain}"
        )
        if self.reach:
            runners = ", ".join(self.deployer_cidrs) or "no deployer declared"
            text += f"; run from {runners}: " + "; ".join(r.describe() for r in self.reach)
        return text

    @property
    def unreachable(self) -> tuple[str, ...]:
        """Clusters whose API endpoint no declared path reaches."""
        return tuple(r.cluster for r in self.reach if not r.paths)


def minutes(seconds: float) -> str:
    """`1234` -> `20 min 34 s`."""
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


def _data_edges(resource: RenderedResource) -> set[str]:
    edges: set[str] = set()
    for urns in resource.property_dependencies.values():
        edges.update(urns)
    return edges


def _metadata(resource: RenderedResource) -> dict[str, Any]:
    metadata = resource.inputs.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _namespace_of(resource: RenderedResource) -> str | None:
    """The namespace a Kubernetes object (or a Helm release) lives in."""
    if resource.type == HELM_RELEASE:
        namespace = resource.inputs.get("namespace")
    else:
        namespace = _metadata(resource).get("namespace")
    return namespace if isinstance(namespace, str) else None


def _release_name(resource: RenderedResource) -> str | None:
    name = resource.inputs.get("name")
    return name if resource.type == HELM_RELEASE and isinstance(name, str) else None


class _Graph:
    """The rendered resources with ancestry lookups."""

    def __init__(
        self,
        rendering: Rendering,
        table: DurationTable,
        owners: Mapping[str, str | None] | None = None,
    ) -> None:
        self.table = table
        self.by_urn = rendering.by_urn()
        self.resources = rendering.resources
        self.owners = cluster_owners(rendering) if owners is None else owners
        self._data: dict[str, set[str]] = {}

    def data_edges(self, resource: RenderedResource) -> set[str]:
        """`_data_edges(resource)`, computed once per resource (do not modify the set)."""
        found = self._data.get(resource.urn)
        if found is None:
            found = self._data[resource.urn] = _data_edges(resource)
        return found

    def cluster_of(self, resource: RenderedResource) -> str | None:
        """The name of the cluster a resource belongs to (`ownership.cluster_owners`)."""
        return self.owners[resource.urn]

    def ancestor_of_type(
        self, resource: RenderedResource, type_: str, *, inclusive: bool = False
    ) -> str | None:
        """The nearest ancestor of `type_` (the resource itself too when `inclusive`)."""
        urn = resource.urn if inclusive else resource.parent
        while urn is not None:
            found = self.by_urn.get(urn)
            if found is None:
                return None
            if found.type == type_:
                return found.urn
            urn = found.parent
        return None

    def component_of(self, resource: RenderedResource) -> str | None:
        """The nearest component ancestor (the add-on or service a resource is part of)."""
        urn = resource.parent
        while urn is not None:
            found = self.by_urn.get(urn)
            if found is None:
                return None
            if not found.custom:
                return found.urn
            urn = found.parent
        return None

    def same_cluster(self, a: RenderedResource, b: RenderedResource) -> bool:
        """Whether two resources serve one cluster."""
        cluster = self.cluster_of(a)
        return cluster is not None and cluster == self.cluster_of(b)

    def needed(self, dependent: RenderedResource, dependency: RenderedResource) -> bool:
        """Whether an ordering edge (no data flows over it) reflects a real need."""
        a, b = dependent, dependency
        if b.type == NAMESPACE:
            name = _metadata(b).get("name")
            return _namespace_of(a) == name and a.provider == b.provider
        if b.type in ROLE_GRANTS:
            # A role's policies are attached before what assumes the role is created (EKS
            # validates the cluster role; nodes join only with the worker policies).
            return bool(self.data_edges(a) & self.data_edges(b))
        if (
            a.type.startswith(("kubernetes:", "pulumi:providers:kubernetes"))
            and b.type in EKS_ACCESS
        ):
            # Without its access entry the deployer cannot reach the API server.
            return self.same_cluster(a, b)
        if a.type == HELM_RELEASE:
            if b.type in NODE_CAPACITY or b.type == EKS_ADDON:
                return self.same_cluster(a, b)
            if b.type == HELM_RELEASE:
                required = self.table.addon_requires.get(_release_name(a) or "", ())
                return _release_name(b) in required and a.provider == b.provider
            if b.type in NAMESPACED_CONFIG:
                return _namespace_of(a) == _namespace_of(b) and a.provider == b.provider
            return False
        if b.type == HELM_RELEASE and self._calls_api_served_by(a, b):
            return True
        if (
            b.type == HELM_RELEASE
            and a.type.startswith("kubernetes:")
            and b.inputs.get("createNamespace") is True
        ):
            # Helm creates the release's namespace (the GPU add-ons'): an object of that
            # namespace, such as its NetworkPolicy, exists only after it.
            return _namespace_of(a) == _namespace_of(b) and a.provider == b.provider
        if b.type == HELM_RELEASE and a.type.startswith("kubernetes:"):
            group = a.type.split(":")[1].rsplit("/", 1)[0]
            return self.table.crd_charts.get(group) == _release_name(b) and a.provider == b.provider
        if {a.type, b.type} <= {EKS_ADDON, "aws:eks/nodeGroup:NodeGroup"}:
            # Node groups need the CNI add-ons; CoreDNS and CSI add-ons need nodes.
            return a.type != b.type and self.same_cluster(a, b)
        if a.type == TKE_ENDPOINT and b.type in NODE_CAPACITY:
            # TKE opens an endpoint only once a node is ready (the provider checks it:
            # https://github.com/tencentcloudstack/terraform-provider-tencentcloud/pull/1196).
            return self.same_cluster(a, b)
        # A public NAT gateway needs the VPC's internet gateway attached.
        return a.type == "aws:ec2/natGateway:NatGateway" and b.type == INTERNET_GATEWAY

    def _calls_api_served_by(self, a: RenderedResource, release: RenderedResource) -> bool:
        """Whether `a` goes through a provider that calls the API `release` serves: the Harbor
        provider's `url` is the Harbor release's `externalURL` (projects, rules and retention
        policies are created through Harbor's own API, which exists only once it runs)."""
        provider = self.by_urn.get(a.provider) if a.provider else None
        if provider is None or provider.type != "pulumi:providers:harbor":
            return False
        values = release.inputs.get("values")
        url = provider.inputs.get("url")
        if not isinstance(values, dict) or not isinstance(url, str):
            return False
        return values.get("externalURL") == url

    def unit_of(self, resource: RenderedResource) -> str | None:
        """The add-on a resource is part of: a Helm release is its own, another object the
        platform component holding it; None for cluster infrastructure (clusters, pools)."""
        if resource.type == HELM_RELEASE:
            return resource.urn
        component = self.component_of(resource)
        found = self.by_urn.get(component) if component else None
        if found is None or found.type in (CLUSTER_COMPONENT, NODE_POOL_COMPONENT):
            return None
        return component

    def classify(self, dependent: RenderedResource, dependency: RenderedResource) -> str:
        """Which independent units an unneeded edge serializes."""
        pool_a = self.ancestor_of_type(dependent, NODE_POOL_COMPONENT)
        pool_b = self.ancestor_of_type(dependency, NODE_POOL_COMPONENT)
        if pool_a and pool_b and pool_a != pool_b:
            return "node pools"
        unit_a, unit_b = self.unit_of(dependent), self.unit_of(dependency)
        releases = HELM_RELEASE in (dependent.type, dependency.type)
        if releases and unit_a and unit_b and unit_a != unit_b:
            return "add-ons"
        return "other"


def _longest_chain(
    resources: list[RenderedResource],
    edges: Mapping[str, set[str]],
    seconds: Mapping[str, float],
) -> tuple[float, tuple[Step, ...]]:
    """Longest weighted chain (earliest finish of every resource; the latest one's chain)."""
    finish: dict[str, float] = {}
    before: dict[str, str | None] = {}
    order: list[str] = []
    state: dict[str, int] = {}
    for resource in resources:
        # Iterative depth-first post-order: dependencies before dependents.
        stack = [(resource.urn, False)]
        while stack:
            urn, expanded = stack.pop()
            if expanded:
                if state.get(urn) != 2:
                    state[urn] = 2
                    order.append(urn)
                continue
            if state.get(urn):
                continue
            state[urn] = 1
            stack.append((urn, True))
            for dependency in sorted(edges.get(urn, ()), reverse=True):
                if not state.get(dependency):
                    stack.append((dependency, False))
    for urn in order:
        start, previous = 0.0, None
        for dependency in sorted(edges.get(urn, ())):
            if finish[dependency] > start:
                start, previous = finish[dependency], dependency
        finish[urn] = start + seconds[urn]
        before[urn] = previous
    if not finish:
        return 0.0, ()
    last = max(sorted(finish), key=lambda urn: finish[urn])
    chain: list[str] = []
    cursor: str | None = last
    while cursor is not None:
        chain.append(cursor)
        cursor = before[cursor]
    steps = []
    for urn in reversed(chain):
        type_ = urn.split("::")[2].rsplit("$", 1)[-1]
        end = finish[urn]
        steps.append(Step(urn, type_, urn.rsplit("::", 1)[-1], end - seconds[urn], end))
    return finish[last], tuple(step for step in steps if step.end > step.start)


def estimate(
    rendering: Rendering,
    table: DurationTable | None = None,
    owners: Mapping[str, str | None] | None = None,
) -> DeploymentEstimate:
    """The deployment estimate of a rendered environment. `owners`:
    `ownership.cluster_owners(rendering)` when the caller has it already (else computed)."""
    table = table or load_durations()
    graph = _Graph(rendering, table, owners)
    seconds: dict[str, float] = {}
    unlisted: set[str] = set()
    for resource in rendering.resources:
        if not resource.custom:
            seconds[resource.urn] = 0.0
            continue
        value, listed = table.seconds(resource.type)
        seconds[resource.urn] = value
        if not listed:
            unlisted.add(resource.type)
    all_edges: dict[str, set[str]] = {}
    floor_edges: dict[str, set[str]] = {}
    false: list[FalseDependency] = []
    for resource in rendering.resources:
        data = graph.data_edges(resource)
        structural = set(data)
        if resource.provider:
            structural.add(resource.provider)
        parent = graph.by_urn.get(resource.parent) if resource.parent else None
        if parent is not None and parent.custom:
            structural.add(parent.urn)
        everything = structural | set(resource.dependencies)
        needed = set(structural)
        for urn in sorted(set(resource.dependencies) - structural):
            dependency = graph.by_urn.get(urn)
            if dependency is None:
                continue
            if graph.needed(resource, dependency):
                needed.add(urn)
            else:
                kind = graph.classify(resource, dependency)
                false.append(FalseDependency(resource.urn, urn, kind))
        all_edges[resource.urn] = {urn for urn in everything if urn in graph.by_urn}
        floor_edges[resource.urn] = {urn for urn in needed if urn in graph.by_urn}
    total, path = _longest_chain(rendering.resources, all_edges, seconds)
    floor, floor_path = _longest_chain(rendering.resources, floor_edges, seconds)
    cidrs, reach = api_reach(rendering, graph.owners)
    return DeploymentEstimate(
        deployer_cidrs=cidrs,
        reach=reach,
        seconds=total,
        floor_seconds=floor,
        critical_path=path,
        floor_path=floor_path,
        false_dependencies=tuple(sorted(false, key=lambda edge: (edge.dependent, edge.dependency))),
        unlisted_types=tuple(sorted(unlisted)),
    )
