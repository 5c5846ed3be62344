"""Fleet topology: the stacks an environment is deployed as, derived from its spec.

`topology: single` is one stack `<env>`. `topology: per-cluster` is a shared stack `<env>`
and one stack `<env>.<cluster>` per cluster, in one Pulumi project; the stack name says which
part the program builds (`stacks/program.py`). Stack names may hold periods:
`^[A-Za-z0-9_.-]{1,100}$` (pulumi/pulumi, pkg/backend/filestate/backend.go,
`ValidateStackName`, "the same rules as the httpstate backend"); a cluster and an environment
name are DNS labels (no period, <= 32 characters), so the split at the first period is
unambiguous and the name fits.

A cluster stack reads another cluster stack's outputs (a `pulumi.StackReference`) where the
single-stack composition hands one cluster's resources to another's:

- the central observability cluster admits every peer's push credential (its receivers'
  htpasswd holds the peers' bcrypt hashes, `stacks/platform.py`);
- a cluster sharing a cloud region's registry reads the handle of the region's first cluster
  (the registry's owner), in the platform step's order;
- a tenant's registry namespace lives with the tenant's first cluster on that registry; the
  tenant's later clusters on the same registry read its prefix and pull secret.

Those reads are the dependencies between cluster stacks: a stack is deployed after the
stacks it reads. The spec layer: no Pulumi import.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..components.validation import Problem
from .spec import ClusterSpec, EnvironmentSpec

REST = "rest"
"""In `rollout.waves`: every cluster no wave names."""


@dataclass(frozen=True)
class StackPart:
    """One derived stack: the shared part (`cluster` None) or one cluster's part."""

    environment: str
    cluster: str | None = None

    @property
    def stack(self) -> str:
        """The stack name: `<env>` or `<env>.<cluster>`."""
        return self.environment if self.cluster is None else f"{self.environment}.{self.cluster}"


def parse_stack(stack: str) -> StackPart:
    """`prod` -> the shared (or single) stack of `prod`; `prod.prod-use1` -> that cluster's."""
    environment, _, cluster = stack.partition(".")
    return StackPart(environment, cluster or None)


def central_cluster(env: EnvironmentSpec) -> str:
    """The cluster that runs the central Grafana and receivers (default the first)."""
    central = env.observability.central_cluster
    return central if central is not None else env.clusters[0].name


def platform_order(env: EnvironmentSpec) -> list[ClusterSpec]:
    """Clusters in the order the platform step composes them: the central one last."""
    central = central_cluster(env)
    ordered = sorted(enumerate(env.clusters), key=lambda item: (item[1].name == central, item[0]))
    return [cluster for _, cluster in ordered]


def registry_key(cluster: ClusterSpec) -> str:
    """The registry a cluster uses, as `RegistryHandle.key`: one per cloud region, Harbor per
    attached cluster (`stacks/platform.py` `_registry_key`)."""
    if cluster.cloud == "attached" or cluster.region is None:
        return f"{cluster.cloud}/{cluster.name}"
    return f"{cluster.cloud}/{cluster.region}"


def has_receivers(env: EnvironmentSpec) -> bool:
    """Whether peers push to central receivers (`stacks/platform.py` `_receiver`)."""
    spec = env.observability
    return (
        spec.enabled
        and len(env.clusters) > 1
        and spec.receiver_hostname is not None
        and spec.receiver_tls_secret is not None
    )


def registry_owners(env: EnvironmentSpec) -> dict[str, str]:
    """Registry key -> the cluster whose platform services create that registry."""
    owners: dict[str, str] = {}
    if env.registry.enabled:
        for cluster in platform_order(env):
            owners.setdefault(registry_key(cluster), cluster.name)
    return owners


def namespace_holders(env: EnvironmentSpec) -> dict[tuple[str, str], str]:
    """(tenant, registry key) -> the cluster whose stack creates that registry namespace: the
    tenant's first cluster on that registry (`stacks/tenancy.py` `build_tenants`)."""
    holders: dict[tuple[str, str], str] = {}
    if not env.registry.enabled:
        return holders
    for tenant in env.tenants:
        for name in dict.fromkeys(tenant.clusters):
            holders.setdefault((tenant.name, registry_key(env.cluster(name))), name)
    return holders


def dependencies(env: EnvironmentSpec) -> dict[str, list[str]]:
    """Cluster -> the clusters whose stacks it reads (deployed before it), sorted."""
    needs: dict[str, set[str]] = {cluster.name: set() for cluster in env.clusters}
    if has_receivers(env):
        central = central_cluster(env)
        needs[central] |= {cluster.name for cluster in env.clusters if cluster.name != central}
    owners = registry_owners(env)
    for cluster in env.clusters:
        owner = owners.get(registry_key(cluster))
        if owner is not None and owner != cluster.name:
            needs[cluster.name].add(owner)
    holders = namespace_holders(env)
    for tenant in env.tenants:
        for name in dict.fromkeys(tenant.clusters):
            holder = holders.get((tenant.name, registry_key(env.cluster(name))))
            if holder is not None and holder != name:
                needs[name].add(holder)
    return {name: sorted(found) for name, found in needs.items()}


def _levels(env: EnvironmentSpec, needs: dict[str, list[str]]) -> list[list[str]]:
    """Dependency levels in spec order; raises ValueError naming a cycle's clusters."""
    placed: set[str] = set()
    levels: list[list[str]] = []
    names = [cluster.name for cluster in env.clusters]
    while len(placed) < len(names):
        level = [n for n in names if n not in placed and set(needs[n]) <= placed]
        if not level:
            stuck = ", ".join(n for n in names if n not in placed)
            raise ValueError(f"the cluster stacks read each other in a cycle: {stuck}")
        levels.append(level)
        placed |= set(level)
    return levels


def waves(env: EnvironmentSpec) -> list[list[str]]:
    """The cluster waves: `rollout.waves` resolved (`rest` expanded, in spec order), else
    the dependency levels. Assumes `topology_problems` found nothing."""
    needs = dependencies(env)
    if not env.rollout.waves:
        return _levels(env, needs)
    named = {name for wave in env.rollout.waves for name in wave if name != REST}
    rest = [cluster.name for cluster in env.clusters if cluster.name not in named]
    resolved: list[list[str]] = []
    for wave in env.rollout.waves:
        expanded: list[str] = []
        for name in wave:
            expanded.extend(rest if name == REST else [name])
        if expanded:
            resolved.append(expanded)
    return resolved


def stack_parts(env: EnvironmentSpec) -> list[StackPart]:
    """Every stack of the environment: the shared one first, then the clusters' by wave."""
    if env.topology == "single":
        return [StackPart(env.name)]
    return [StackPart(env.name)] + [
        StackPart(env.name, name) for wave in waves(env) for name in wave
    ]


def _wave_items(env: EnvironmentSpec) -> Iterator[tuple[int, int, str]]:
    for wave_index, wave in enumerate(env.rollout.waves):
        for index, name in enumerate(wave):
            yield wave_index, index, name


def topology_problems(env: EnvironmentSpec) -> list[Problem]:
    """Rollout and runner keys that cannot work: names no cluster has, a cluster in two
    waves, a wave before a stack it reads, rollout or runners on a single stack."""
    problems: list[Problem] = []
    if env.topology == "single":
        if env.rollout.waves:
            problems.append(
                Problem(("rollout", "waves"), "waves order cluster stacks: topology: per-cluster")
            )
        for index, cluster in enumerate(env.clusters):
            if cluster.runner is not None:
                problems.append(
                    Problem(
                        ("clusters", index, "runner"),
                        "a runner per cluster needs topology: per-cluster",
                    )
                )
        return problems
    known = {cluster.name for cluster in env.clusters}
    wave_of: dict[str, int] = {}
    rest_wave: int | None = None
    for wave_index, index, name in _wave_items(env):
        at = ("rollout", "waves", wave_index, index)
        if name == REST:
            if rest_wave is not None:
                problems.append(Problem(at, f"`{REST}` is already in waves[{rest_wave}]"))
            rest_wave = wave_index
        elif name not in known:
            problems.append(Problem(at, f"no cluster named {name!r} in this environment"))
        elif name in wave_of:
            problems.append(Problem(at, f"{name!r} is already in waves[{wave_of[name]}]"))
        else:
            wave_of[name] = wave_index
    if problems:
        return problems
    if env.rollout.waves and rest_wave is not None:
        for cluster in env.clusters:
            wave_of.setdefault(cluster.name, rest_wave)
    elif env.rollout.waves:
        missing = sorted(known - set(wave_of))
        if missing:
            problems.append(
                Problem(
                    ("rollout", "waves"),
                    f"clusters in no wave: {', '.join(missing)} (name them or add `{REST}`)",
                )
            )
            return problems
    needs = dependencies(env)
    try:
        _levels(env, needs)
    except ValueError as error:
        return [Problem(("tenants",), str(error))]
    for name, wave_index in sorted(wave_of.items()):
        for need in needs[name]:
            if wave_of[need] >= wave_index:
                problems.append(
                    Problem(
                        ("rollout", "waves", wave_index),
                        f"{name} reads the stack of {need} (in waves[{wave_of[need]}]): "
                        f"deploy {need} in an earlier wave",
                    )
                )
    return problems
