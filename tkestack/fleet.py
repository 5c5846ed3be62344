"""Offline renders of a fleet topology, the no-loss check of a split, and its state moves.

`render_fleet` renders every stack `stacks/topology.py` derives from an environment: the
shared stack first, then the cluster stacks in dependency levels (in parallel processes when
asked), each stack reference answered from the render of the stack it reads.
`split_differences` compares the single-stack render with the union of the split renders
(type, name, parent, provider and inputs, URNs taken relative to their stack), and
`state_move_commands` lists the `pulumi state move` commands that carry an existing single
stack over to the split without replacing anything.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .engine import RenderedResource, Rendering, StackConfig, render_stack
from .stacks.loader import ENVIRONMENT_KEY
from .stacks.spec import EnvironmentSpec
from .stacks.topology import StackPart, dependencies, stack_parts


def with_topology(config: StackConfig, topology: str) -> StackConfig:
    """`config` with the environment's `topology` set (the single-stack render of a split
    environment, or the split of a single one)."""
    values = dict(config.values)
    environment = dict(values.get(ENVIRONMENT_KEY) or {})
    environment["topology"] = topology
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
    return render_stack(config, stack, references)


def render_fleet(
    config: StackConfig, env: EnvironmentSpec, processes: int = 1
) -> dict[str, Rendering]:
    """Every derived stack's render by stack name. `processes` > 1 renders a level's stacks
    in that many worker processes (each render is CPU-bound Python)."""
    rendered: dict[str, Rendering] = {}
    pool = ProcessPoolExecutor(processes) if processes > 1 else None
    try:
        for level in levels(env):
            references = {name: r.stack_outputs for name, r in rendered.items()}
            jobs = [(config, part.stack, references) for part in level]
            if pool is not None and len(jobs) > 1:
                results: Iterable[Rendering] = pool.map(_render_one, jobs)
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
