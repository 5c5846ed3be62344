"""Offline renders of a fleet topology, the no-loss check of a split, and its state moves.

`render_fleet` renders every stack `stacks/topology.py` derives from an environment: the
shared stack first, then the cluster stacks in dependency levels (in parallel processes when
asked), each stack reference answered from the render of the stack it reads.
`split_differences` compares the single-stack render with the union of the split renders
(type, name, parent, provider and inputs, URNs taken relative to their stack), and
`state_move_commands` lists the `pulumi state move` commands that carry an existing single
stack over to the split without replacing anything.

`render_environment` is what `tkestack render|review|graph ENV` render: the one stack of a
`topology: single` environment, or every derived stack of a `per-cluster` one, with `whole`,
one view of all of them (every stack's resources under their own URNs, the stack outputs
merged) for what looks at the environment as a whole (the table, the picture, the tests).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .engine import RenderedResource, Rendering, StackConfig, render_json, render_stack
from .graph import StackNode
from .stacks.loader import ENVIRONMENT_KEY, sibling_environments
from .stacks.spec import EnvironmentSpec
from .stacks.topology import StackPart, dependencies, parse_stack, stack_parts, waves


def with_topology(config: StackConfig, topology: str) -> StackConfig:
    """`config` with the environment's `topology` set (the single-stack render of a split
    environment, or the split of a single one). To `single`, the keys only a split has go:
    `rollout` and each cluster's `runner`."""
    values = dict(config.values)
    environment = dict(values.get(ENVIRONMENT_KEY) or {})
    environment["topology"] = topology
    if topology == "single":
        environment.pop("rollout", None)
        if isinstance(environment.get("clusters"), list):
            environment["clusters"] = [
                {key: value for key, value in cluster.items() if key != "runner"}
                if isinstance(cluster, dict)
                else cluster
                for cluster in environment["clusters"]
            ]
    values[ENVIRONMENT_KEY] = environment
    return dataclasses.replace(config, values=values)


def levels(env: EnvironmentSpec) -> list[list[StackPart]]:
    """The stacks in render order: the shared one, then clusters by dependency level (a
    level's stacks read only earlier levels)."""
    parts = stack_parts(env)
    needs = dependencies(env)
    done: set[str] = set()
    result: list[list[StackPart]] = [[parts[0]]]
    pending = [part for part in parts[1:]]
    while pending:
        level = [part for part in pending if set(needs[part.cluster or ""]) <= done]
        if not level:  # topology_problems refuses cycles before this
            raise ValueError("the cluster stacks read each other in a cycle")
        result.append(level)
        done |= {part.cluster or "" for part in level}
        pending = [part for part in pending if part not in level]
    return result


def _render_one(args: tuple[StackConfig, str, dict[str, dict[str, Any]]]) -> Rendering:
    config, stack, references = args
    # `render_fleet`'s callers validated the environment (each program run still does).
    return render_stack(config, stack, references, validated=True)


def reads(env: EnvironmentSpec, cluster: str) -> list[str]:
    """`cluster` and every cluster whose stack it reads, directly or not, sorted."""
    needs = dependencies(env)
    found: set[str] = set()
    pending = [cluster]
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(needs[name])
    return sorted(found)


def render_fleet(
    config: StackConfig,
    env: EnvironmentSpec,
    processes: int = 1,
    clusters: Iterable[str] | None = None,
) -> dict[str, Rendering]:
    """Every derived stack's render by stack name. `env` is `config`'s environment, validated
    (`environment_spec`). `processes` > 1 renders a level's stacks in that many worker
    processes (each render is CPU-bound Python). `clusters`: only these cluster stacks (and
    the shared one); each must come with the clusters it reads. Each stack's program run
    validates the environment through one memo per process (`program.validation_memo`): the
    environment is checked once here, not once per stack."""
    from .stacks.program import keep_validation_memo, validation_memo

    wanted = None if clusters is None else set(clusters)
    rendered: dict[str, Rendering] = {}
    pool = (
        ProcessPoolExecutor(processes, initializer=keep_validation_memo) if processes > 1 else None
    )
    forked = False
    try:
        with validation_memo():
            for level in levels(env):
                references = {name: r.stack_outputs for name, r in rendered.items()}
                jobs = [
                    (config, part.stack, references)
                    for part in level
                    if wanted is None or part.cluster is None or part.cluster in wanted
                ]
                level = [part for part in level if part.stack in {job[1] for job in jobs}]
                if pool is not None and len(jobs) > 1 and not forked:
                    # The workers fork at the first submit (ProcessPoolExecutor): render one
                    # cluster stack here first, so they inherit the modules it imported
                    # (`lazy_sdk`) instead of each importing them again (docs/topology.md).
                    first = _render_one(jobs[0])
                    results: Iterable[Rendering] = [first, *pool.map(_render_one, jobs[1:])]
                    forked = True
                elif pool is not None and len(jobs) > 1:
                    results = pool.map(_render_one, jobs)
                else:
                    results = (_render_one(job) for job in jobs)
                for part, rendering in zip(level, results, strict=True):
                    rendered[part.stack] = rendering
    finally:
        if pool is not None:
            pool.shutdown()
    return rendered


def relative_urn(urn: str | None) -> str | None:
    """A URN without its stack part: what `pulumi state move` keeps of it."""
    if urn is None:
        return None
    head, _, rest = urn.partition("::")
    return "urn:pulumi:::" + rest if head.startswith("urn:pulumi:") else urn


def _relative(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("urn:pulumi:"):
        return relative_urn(value)
    if isinstance(value, dict):
        return {key: _relative(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_relative(item) for item in value]
    return value


def identity(resource: RenderedResource) -> dict[str, Any]:
    """What must survive a split unchanged: type, name, parent, provider, inputs (URNs taken
    relative to their stack)."""
    return {
        "type": resource.type,
        "name": resource.name,
        "parent": relative_urn(resource.parent),
        "provider": relative_urn(resource.provider),
        "protect": resource.protect,
        "inputs": _relative(resource.inputs),
    }


def _is_provider(resource: RenderedResource) -> bool:
    return resource.type.startswith("pulumi:providers:")


def split_differences(single: Rendering, parts: dict[str, Rendering]) -> list[str]:
    """Every way the split renders differ from the single render: a resource lost, one in two
    stacks, one whose type, name, parent, provider or inputs changed. Providers are the
    exception: each stack has its own copy of a region's provider (`pulumi state move`
    copies a provider the destination lacks), which must equal the single render's."""
    problems: list[str] = []
    before = {relative_urn(r.urn) or "": r for r in single.resources}
    seen: dict[str, str] = {}
    for stack, rendering in sorted(parts.items()):
        for resource in rendering.resources:
            key = relative_urn(resource.urn) or ""
            original = before.get(key)
            if original is None:
                problems.append(f"{stack}: {resource.urn} is not in the single stack")
                continue
            if key in seen and not _is_provider(resource):
                problems.append(f"{key} is in both {seen[key]} and {stack}")
            seen.setdefault(key, stack)
            if identity(original) != identity(resource):
                problems.append(f"{stack}: {key} differs from the single stack's")
    for key in sorted(set(before) - set(seen)):
        problems.append(f"{key} is in no stack of the split")
    return problems


def state_move_commands(single: Rendering, parts: dict[str, Rendering]) -> list[str]:
    """`pulumi state move` commands moving each cluster stack's resources out of the single
    stack, which becomes the shared stack `<env>` and keeps what no cluster stack holds.

    `pulumi state move --source <stack> --dest <stack> <urn>...` takes only top-level URNs:
    it moves their children with them (pulumi.com/docs/iac/operations/stack-management/
    moving-resources-between-stacks), and copies the providers the moved resources use into
    the destination, reusing one with the same URN and id on later moves (pulumi/pulumi
    changelog, sdk/v3.126.0), so no provider is named here."""
    commands: list[str] = []
    for stack, rendering in sorted(parts.items()):
        if stack == single.stack:
            continue
        urns = [
            f"urn:pulumi:{single.stack}::"
            + (relative_urn(r.urn) or "").removeprefix("urn:pulumi:::")
            for r in rendering.resources
            if r.parent is None and not _is_provider(r)
        ]
        if urns:
            commands.append(
                " ".join(
                    ["pulumi", "state", "move", "--source", single.stack, "--dest", stack]
                    + [shlex.quote(urn) for urn in urns]
                )
            )
    return commands


def _merge(into: dict[str, Any], value: Mapping[str, Any], where: str) -> None:
    for key, item in value.items():
        if key not in into:
            into[key] = item
        elif isinstance(into[key], dict) and isinstance(item, Mapping):
            merged = dict(into[key])
            _merge(merged, item, f"{where}.{key}")
            into[key] = merged
        elif into[key] != item:
            raise ValueError(f"stack output {where}.{key} differs between the derived stacks")


def combined(stack: str, parts: Mapping[str, Rendering]) -> Rendering:
    """All derived stacks as one view named `stack`: every stack's resources under their own
    URNs (each names its stack), sorted by URN, and the stack outputs merged (the clusters',
    platform's, identity's and tenants' maps are keyed by cluster; the `fleet_*` outputs,
    which only carry values between the stacks, are left out). The single-stack render of the
    same environment has the same outputs (`tests/tkestack/test_fleet.py`)."""
    # Local: the composition imports the cloud SDKs, which `render` of a single-cloud
    # environment need not load.
    from .stacks.fleet import NAMESPACE_PREFIXES, NAMESPACE_PULL_SECRETS, PUSH_CREDENTIAL, REGISTRY

    between = {NAMESPACE_PREFIXES, NAMESPACE_PULL_SECRETS, PUSH_CREDENTIAL, REGISTRY}
    resources = sorted(
        (resource for part in parts.values() for resource in part.resources),
        key=lambda resource: resource.urn,
    )
    outputs: dict[str, Any] = {}
    for name, part in parts.items():
        _merge(
            outputs,
            {key: value for key, value in part.stack_outputs.items() if key not in between},
            name,
        )
    project = next(iter(parts.values())).project if parts else ""
    return Rendering(project, stack, resources, dict(sorted(outputs.items())))


class FleetError(Exception):
    """A stack the environment does not derive (an unknown cluster, a cluster stack of a
    `single` environment): a usage error, nothing was rendered."""


@dataclasses.dataclass
class EnvironmentRender:
    """The rendered stacks of an environment, in deploy order."""

    environment: str
    """The environment's name: the (shared) stack `<env>`."""
    topology: str
    """`single` or `per-cluster`."""
    stacks: dict[str, Rendering]
    """Each rendered stack by name: the shared one first, then the cluster stacks by wave."""
    waves: list[list[str]]
    """The cluster stack names of each wave (empty for `single`)."""
    runners: dict[str, str | None]
    """Cluster stack name -> its `runner` label (None: the default runner)."""
    whole: Rendering
    """One view of every rendered stack (`combined`); the one render itself for `single` or
    one cluster stack (`--cluster`)."""

    @classmethod
    def single(cls, rendering: Rendering) -> EnvironmentRender:
        """One stack's render (a `single` environment, a `--program` or bootstrap render)."""
        return cls(rendering.stack, "single", {rendering.stack: rendering}, [], {}, rendering)

    def stack_nodes(self) -> list[StackNode]:
        """The derived stacks as the picture draws them (none for `single`)."""
        if self.topology == "single":
            return []
        return [
            StackNode(
                name, parse_stack(name).cluster, self.wave_of(name) or 0, self.runners.get(name)
            )
            for name in self.stacks
        ]

    def wave_of(self, stack: str) -> int | None:
        """The 1-based wave of a cluster stack; None for the shared (or single) stack."""
        for index, wave in enumerate(self.waves, start=1):
            if stack in wave:
                return index
        return None


def environment_spec(config: StackConfig) -> EnvironmentSpec:
    """`config`'s environment, validated as the program validates it (raises SpecError)."""
    from .stacks.program import validate

    return validate(
        config.values.get(ENVIRONMENT_KEY),
        config.display,
        config.text,
        siblings=sibling_environments(config.file),
    ).spec


def render_environment(
    config: StackConfig,
    processes: int = 1,
    cluster: str | None = None,
    on_register: Callable[[int], None] | None = None,
) -> EnvironmentRender:
    """Render every stack of `config`'s environment (`render_fleet` for `per-cluster`).
    `cluster`: only the stack `<env>.<cluster>`, with the stacks it reads rendered first to
    answer its references (raises FleetError for a cluster the environment has not, or on a
    `single` environment). `on_register`: the registration count of a `single` render.
    Raises like `engine.render`."""
    from .stacks.program import validation_memo

    with validation_memo():  # the environment is validated here once, not once per stack
        return _render_environment(config, processes, cluster, on_register)


def _render_environment(
    config: StackConfig,
    processes: int,
    cluster: str | None,
    on_register: Callable[[int], None] | None,
) -> EnvironmentRender:
    env = environment_spec(config)
    if env.topology == "single":
        if cluster is not None:
            raise FleetError(
                f"{env.name} has topology: single: it has no cluster stacks (--cluster)"
            )
        return EnvironmentRender.single(render_stack(config, config.stack, on_register=on_register))
    names = {spec.name for spec in env.clusters}
    if cluster is not None and cluster not in names:
        raise FleetError(
            f"no cluster {cluster!r} in {env.name} (clusters: {', '.join(sorted(names))})"
        )
    only = None if cluster is None else reads(env, cluster)
    rendered = render_fleet(config, env, processes, only)
    order = [part.stack for part in stack_parts(env)]
    if cluster is not None:
        order = [StackPart(env.name, cluster).stack]
    stacks = {name: rendered[name] for name in order}
    wave_names = [  # the waves of the stacks rendered here (--cluster: its one stack)
        [
            StackPart(env.name, name).stack
            for name in wave
            if StackPart(env.name, name).stack in stacks
        ]
        for wave in waves(env)
    ]
    runners = {StackPart(env.name, spec.name).stack: spec.runner for spec in env.clusters}
    return EnvironmentRender(
        env.name,
        env.topology,
        stacks,
        [wave for wave in wave_names if wave],
        runners,
        combined(env.name, stacks) if cluster is None else stacks[order[0]],
    )


def environment_json(rendered: EnvironmentRender) -> str:
    """The `render --format json` document: the one stack's (`engine.render_json`) for a
    `single` environment; for `per-cluster` the same shape over `whole` plus `stacks`, each
    derived stack's name, wave, runner, resource count and its own outputs (secrets
    masked), in deploy order."""
    if rendered.topology == "single":
        return render_json(rendered.whole)
    from .engine import masked

    document = rendered.whole.to_json()
    document["stacks"] = [
        {
            "stack": name,
            "wave": rendered.wave_of(name),
            "runner": rendered.runners.get(name),
            "resources": len(part.resources),
            "outputs": masked(part.stack_outputs),
        }
        for name, part in rendered.stacks.items()
    ]
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def topology_document(env: EnvironmentSpec) -> dict[str, Any]:
    """`tkestack topology ENV --json`: the stacks the environment deploys as, in deploy order,
    each with its cluster, wave (0: the shared or single stack), `runner` label and the
    clusters it reads; and the waves as lists of those entries. What a CI workflow builds its
    jobs from (`.github/workflows/deploy.yml`), so the environment file stays the one source."""
    needs = dependencies(env)
    runners = {spec.name: spec.runner for spec in env.clusters}
    shared = {"stack": env.name, "cluster": None, "wave": 0, "runner": None, "reads": []}
    if env.topology == "single":
        return {"environment": env.name, "topology": env.topology, "stacks": [shared], "waves": []}
    entries = [
        [
            {
                "stack": StackPart(env.name, name).stack,
                "cluster": name,
                "wave": index,
                "runner": runners[name],
                "reads": needs[name],
            }
            for name in wave
        ]
        for index, wave in enumerate(waves(env), start=1)
    ]
    return {
        "environment": env.name,
        "topology": env.topology,
        "stacks": [shared, *(entry for wave in entries for entry in wave)],
        "waves": entries,
    }


def _restacked(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new + value.removeprefix(old) if value.startswith(old) else value
    if isinstance(value, dict):
        return {key: _restacked(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_restacked(item, old, new) for item in value]
    return value


def moved_base(base: Mapping[str, Any], rendered: EnvironmentRender) -> bool:
    """Whether a base render document deployed a now per-cluster environment as the one
    stack `<env>` (before its move to per-cluster stacks)."""
    environment = base.get("environment")
    return (
        rendered.topology == "per-cluster"
        and "stacks" not in base
        and isinstance(environment, Mapping)
        and environment.get("stack") == rendered.environment
    )


def base_for_stack(
    base: Mapping[str, Any], rendered: EnvironmentRender, stack: str
) -> dict[str, Any]:
    """What `stack` held in a base render document (`render --format json` at the base ref),
    for `review --base` of one derived stack: the resources under its URNs.

    A base that deployed the environment as the one stack `<env>` (before its move to
    per-cluster stacks) is compared as it will be after `pulumi state move` (`tkestack
    topology ENV --moves`): each base resource under the URN of the stack that holds it now
    (a provider under each stack's copy); what no cluster stack holds stays the shared
    stack's."""
    resources: list[dict[str, Any]] = list(base.get("resources", []))
    prefix = f"urn:pulumi:{stack}::"
    if not moved_base(base, rendered):
        return {**base, "resources": [r for r in resources if str(r["urn"]).startswith(prefix)]}
    old = f"urn:pulumi:{rendered.environment}::"
    if stack == rendered.environment:
        # The shared stack keeps what no cluster stack holds now.
        held = {
            relative_urn(r.urn)
            for name, part in rendered.stacks.items()
            if name != stack
            for r in part.resources
        }
        mine = [
            r
            for r in resources
            if str(r["urn"]).startswith(old) and relative_urn(r["urn"]) not in held
        ]
        return {**base, "resources": mine}
    here = {relative_urn(r.urn) for r in rendered.stacks[stack].resources}
    mine = [
        _restacked(r, old, prefix)
        for r in resources
        if str(r["urn"]).startswith(old) and relative_urn(r["urn"]) in here
    ]
    return {**base, "resources": mine}


def rollout_seconds(
    stack_seconds: Mapping[str, float], waves_: Iterable[Iterable[str]], runners: int | None
) -> float:
    """Estimated wall time of deploying the stacks in waves: the shared stack first, then each
    wave in turn, its stacks in their listed order each on the first free runner (what
    `tkestack up --parallel N` does with N threads, and the deploy workflow with one runner per
    stack: `runners` None). `stack_seconds`: each stack's own estimate, `critical_path` of its
    render, the shared (or single) stack's included under its name; a name in no wave is the
    shared stack. Start-up per stack (the CLI, plugins, state) is not counted."""
    waves_ = [list(wave) for wave in waves_]
    in_waves = {name for wave in waves_ for name in wave}
    total = sum(seconds for name, seconds in stack_seconds.items() if name not in in_waves)
    for wave in waves_:
        free = [0.0] * (len(wave) if runners is None else max(1, min(runners, len(wave))))
        for name in wave:
            start = min(free)
            free[free.index(start)] = start + stack_seconds[name]
        total += max(free, default=0.0)
    return total
