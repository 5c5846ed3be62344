"""`tkestack graph`: the picture of an environment (clouds, clusters, pools, tenants).

Built from a rendering: the stack outputs describe every cluster and its pools (cloud,
region, version, architecture, GPUs, spot, size), and the `tenants` stack output names the
tenants placed on each cluster. Output is Mermaid (renders in pull-request
comments) or Graphviz dot; both are deterministic (sorted, no randomness).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import engine


@dataclass(frozen=True)
class PoolNode:
    """A node pool as drawn."""

    name: str
    architecture: str
    accelerator: str | None
    sharing: str | None
    spot: bool
    instance_types: tuple[str, ...]
    min_size: Any
    max_size: Any

    @property
    def label(self) -> str:
        """`gpu-t4: x86_64, nvidia-t4 (time-slicing), spot, 0..2 x g4dn.xlarge`."""
        parts = [self.architecture or "?"]
        if self.accelerator:
            parts.append(f"GPU {self.accelerator}" + (f" ({self.sharing})" if self.sharing else ""))
        if self.spot:
            parts.append("spot")
        parts.append(f"{self.min_size}..{self.max_size} x {', '.join(self.instance_types)}")
        return f"{self.name}: {', '.join(parts)}"


@dataclass
class ClusterNode:
    """A cluster as drawn."""

    name: str
    cloud: str
    region: str
    version: str
    pools: list[PoolNode] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Route:
    """One way the deployer's runners reach a cluster's API (the `deployer` stack output)."""

    cluster: str
    via: str
    """`public`, `transit-gateway`, `ccn` or `kubeconfig` (attached: not declared)."""
    hub: str | None = None
    """The transit gateway or CCN id."""


@dataclass
class Picture:
    """What the graph shows."""

    environment: str
    tier: str
    clusters: list[ClusterNode]
    deployer_cidrs: tuple[str, ...] = ()
    """Where deployments run from."""
    routes: list[Route] = field(default_factory=list)
    """Which runner reaches which API, and through what; a cluster absent here is unreached."""


def _routes(outputs: Any) -> tuple[tuple[str, ...], list[Route]]:
    deployer = outputs.get("deployer") if isinstance(outputs, dict) else None
    if not isinstance(deployer, dict):
        return (), []
    routes = []
    reach = deployer.get("reach") if isinstance(deployer.get("reach"), dict) else {}
    for cluster, info in sorted(reach.items()):
        for route in (info or {}).get("routes") or []:
            routes.append(Route(cluster, str(route.get("via")), route.get("hub")))
    return tuple(str(c) for c in deployer.get("cidrs") or ()), routes


Arrow = Callable[[str, str, str, bool], str]
"""(source, target, label, dashed) -> one edge line, in Mermaid or dot."""


@dataclass(frozen=True)
class StackNode:
    """One derived stack of a `topology: per-cluster` environment (docs/topology.md)."""

    stack: str
    cluster: str | None
    """None: the shared stack."""
    wave: int
    """0: the shared stack, deployed first; then the 1-based wave."""
    runner: str | None = None
    """The runner label that deploys it (None: the default runner)."""


def _stack_lines(
    stacks: Sequence[StackNode], arrow: Arrow, node: Callable[[str, str], str]
) -> list[str]:
    """The deploy order: the shared stack, then a node per wave (each after the one before),
    and from each wave an edge to each cluster its stacks deploy (labelled stack and runner)."""
    lines: list[str] = []
    shared = [s for s in stacks if s.cluster is None]
    previous = _id("stack", shared[0].stack) if shared else None
    if shared:
        lines.append(node(previous or "", f"stack {shared[0].stack} (shared)"))
    for wave in sorted({s.wave for s in stacks if s.cluster is not None}):
        wid = _id("wave", str(wave))
        lines.append(node(wid, f"wave {wave}"))
        if previous is not None:
            lines.append(arrow(previous, wid, "then", False))
        previous = wid
        for item in (s for s in stacks if s.wave == wave and s.cluster is not None):
            label = f"{item.stack} on {item.runner or 'default runner'}"
            lines.append(arrow(wid, _id("cluster", item.cluster or ""), label, True))
    return lines


def _reach_lines(shown: Picture, arrow: Arrow) -> list[str]:
    """Edges from the deployer (through its hubs) to each cluster."""
    lines = []
    reached = set()
    for hub in sorted({r.hub for r in shown.routes if r.hub}):
        lines.append(arrow("deployer", _id("hub", hub), "", False))
    for route in shown.routes:
        reached.add(route.cluster)
        cid = _id("cluster", route.cluster)
        if route.hub:
            lines.append(arrow(_id("hub", route.hub), cid, "443 private", False))
        else:
            lines.append(arrow("deployer", cid, route.via, route.via == "kubeconfig"))
    if shown.routes or shown.deployer_cidrs:
        for cluster in shown.clusters:
            if cluster.name not in reached:
                lines.append(arrow("deployer", _id("cluster", cluster.name), "NO PATH", True))
    return lines


def picture(rendering: engine.Rendering) -> Picture:
    """The environment's clusters, pools and tenants, sorted by name."""
    outputs = rendering.stack_outputs
    environment = outputs.get("environment") if isinstance(outputs, dict) else None
    tier = str(environment.get("tier", "")) if isinstance(environment, dict) else ""
    described = outputs.get("clusters") if isinstance(outputs, dict) else None
    clusters: dict[str, ClusterNode] = {}
    for name, info in sorted((described or {}).items()):
        info = info if isinstance(info, dict) else {}
        node = ClusterNode(
            name=name,
            cloud=str(info.get("cloud", "unknown")),
            region=str(info.get("region") or ""),
            version=str(info.get("kubernetes_version") or ""),
        )
        pools = info.get("node_pools") if isinstance(info.get("node_pools"), dict) else {}
        for pool_name, pool in sorted(pools.items()):
            pool = pool if isinstance(pool, dict) else {}
            node.pools.append(
                PoolNode(
                    name=pool_name,
                    architecture=str(pool.get("architecture") or ""),
                    accelerator=pool.get("accelerator") or None,
                    sharing=pool.get("sharing") or None,
                    spot=bool(pool.get("spot")),
                    instance_types=tuple(str(t) for t in pool.get("instance_types") or ()),
                    min_size=pool.get("min_size", "?"),
                    max_size=pool.get("max_size", "?"),
                )
            )
        clusters[name] = node
    # The `tenants` stack output records each tenant's placement: {tenant: {cluster: ...}}.
    placed = outputs.get("tenants") if isinstance(outputs, dict) else None
    for tenant, on in sorted((placed or {}).items()):
        for name in sorted(on) if isinstance(on, dict) else ():
            if name in clusters:
                clusters[name].tenants.append(tenant)
    for node in clusters.values():
        node.tenants.sort()
    cidrs, routes = _routes(outputs)
    return Picture(rendering.stack, tier, list(clusters.values()), cidrs, routes)


def _id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", part) for part in parts)


def _quote(text: str) -> str:
    return text.replace('"', "'")


def mermaid(rendering: engine.Rendering, stacks: Sequence[StackNode] = ()) -> str:
    """A Mermaid flowchart of the environment; with `stacks`, its derived stacks and waves."""
    shown = picture(rendering)
    lines = ["flowchart LR"]
    lines.append(f'  env(["{_quote(shown.environment)} ({shown.tier or "?"})"])')
    for cloud in sorted({c.cloud for c in shown.clusters}):
        lines.append(f'  subgraph {_id("cloud", cloud)}["{cloud}"]')
        for cluster in (c for c in shown.clusters if c.cloud == cloud):
            cid = _id("cluster", cluster.name)
            lines.append(
                f'    {cid}["{_quote(cluster.name)}<br/>{cluster.region} · k8s {cluster.version}"]'
            )
            for pool in cluster.pools:
                lines.append(f'    {_id("pool", cluster.name, pool.name)}["{_quote(pool.label)}"]')
        lines.append("  end")
    gpu_pools = []
    for cluster in shown.clusters:
        cid = _id("cluster", cluster.name)
        lines.append(f"  env --> {cid}")
        for pool in cluster.pools:
            pid = _id("pool", cluster.name, pool.name)
            lines.append(f"  {cid} --> {pid}")
            if pool.accelerator:
                gpu_pools.append(pid)
        for tenant in cluster.tenants:
            tid = _id("tenant", tenant)
            lines.append(f'  {tid}(("tenant {_quote(tenant)}")) -.-> {cid}')
    runners = ", ".join(shown.deployer_cidrs) or "no deployer declared"
    lines.append(f'  deployer[/"deployer: {_quote(runners)}"/]')
    for hub in sorted({r.hub for r in shown.routes if r.hub}):
        lines.append(f'  {_id("hub", hub)}{{{{"hub {_quote(hub)}"}}}}')

    def arrow(source: str, target: str, label: str, dashed: bool) -> str:
        link = "-.->" if dashed else "-->"
        return f'  {source} {link}|"{label}"| {target}' if label else f"  {source} {link} {target}"

    lines.extend(_reach_lines(shown, arrow))
    lines.extend(_stack_lines(stacks, arrow, lambda nid, text: f'  {nid}[["{_quote(text)}"]]'))
    lines.append("  classDef gpu fill:#f6e58d,stroke:#b7950b")
    if gpu_pools:
        lines.append(f"  class {','.join(gpu_pools)} gpu")
    return "\n".join(lines) + "\n"


def dot(rendering: engine.Rendering, stacks: Sequence[StackNode] = ()) -> str:
    """A Graphviz digraph of the environment; with `stacks`, its derived stacks and waves."""
    shown = picture(rendering)
    lines = ["digraph tkestack {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    lines.append(f'  env [label="{_quote(shown.environment)} ({shown.tier or "?"})", shape=oval];')
    for cloud in sorted({c.cloud for c in shown.clusters}):
        lines.append(f'  subgraph cluster_{_id(cloud)} {{ label="{cloud}";')
        for cluster in (c for c in shown.clusters if c.cloud == cloud):
            label = f"{cluster.name}\\n{cluster.region} k8s {cluster.version}"
            lines.append(f'    {_id("cluster", cluster.name)} [label="{_quote(label)}"];')
            for pool in cluster.pools:
                style = ', style=filled, fillcolor="#f6e58d"' if pool.accelerator else ""
                lines.append(
                    f'    {_id("pool", cluster.name, pool.name)} [label="{_quote(pool.label)}"'
                    f"{style}];"
                )
        lines.append("  }")
    for cluster in shown.clusters:
        cid = _id("cluster", cluster.name)
        lines.append(f"  env -> {cid};")
        for pool in cluster.pools:
            lines.append(f"  {cid} -> {_id('pool', cluster.name, pool.name)};")
        for tenant in cluster.tenants:
            tid = _id("tenant", tenant)
            lines.append(f'  {tid} [label="tenant {_quote(tenant)}", shape=ellipse];')
            lines.append(f"  {tid} -> {cid} [style=dashed];")
    runners = ", ".join(shown.deployer_cidrs) or "no deployer declared"
    lines.append(f'  deployer [label="deployer: {_quote(runners)}", shape=parallelogram];')
    for hub in sorted({r.hub for r in shown.routes if r.hub}):
        lines.append(f'  {_id("hub", hub)} [label="hub {_quote(hub)}", shape=hexagon];')

    def arrow(source: str, target: str, label: str, dashed: bool) -> str:
        attributes = [f'label="{label}"'] if label else []
        if dashed:
            attributes.append("style=dashed")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        return f"  {source} -> {target}{suffix};"

    lines.extend(_reach_lines(shown, arrow))
    lines.extend(
        _stack_lines(
            stacks, arrow, lambda nid, text: f'  {nid} [label="{_quote(text)}", shape=component];'
        )
    )
    lines.append("}")
    return "\n".join(lines) + "\n"
