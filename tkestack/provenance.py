"""Provenance: the spec key each rendered resource came from, with its file and line.

Read from what the program records, never from resource names: the `tkestack.io/cluster`,
`tkestack.io/node-pool` and `tkestack.io/tenant` tags and labels the components put on what
they create, the component tree (a resource without them inherits its parent's), and the
cluster that owns a resource (`ownership.cluster_owners`). The stack loader's line index gives
the line of each key in the stack config file; a key that only a lower layer (base, tier)
sets is located at its nearest ancestor written in the stack file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import engine
from .components.ownership import (
    CLUSTER_LABEL,
    NODE_POOL_LABEL,
    TENANT_LABEL,
    recorded_labels,
)
from .stacks.loader import stack_layer
from .stacks.problems import format_path


@dataclass(frozen=True)
class SpecLocation:
    """Where a resource's intent is written."""

    file: str
    """The stack config file, as the review names it (relative to the project)."""
    line: int
    """1-based line of `key` (or of its nearest ancestor present in `file`)."""
    key: str
    """The spec key path (`clusters[0].node_pools[1]`; "" for the environment)."""


def _index(items: Any) -> dict[str, int]:
    if not isinstance(items, list):
        return {}
    return {
        str(item["name"]): i
        for i, item in enumerate(items)
        if isinstance(item, Mapping) and "name" in item
    }


class Locate(Protocol):
    """What `locator` returns: the spec location of every resource of a rendering.
    `owners`: `ownership.cluster_owners(rendering)` when the caller has it already."""

    def __call__(
        self, rendering: engine.Rendering, owners: Mapping[str, str | None] | None = None
    ) -> dict[str, SpecLocation]: ...


def locator(
    environment: Any,
    file: str,
    text: str | None,
    owner_of: Callable[[engine.Rendering], Mapping[str, str | None]],
) -> Locate:
    """{URN: SpecLocation} for every resource of any number of renderings of one stack file
    (the derived stacks of a per-cluster environment), `environment` being the file's
    `tkestack:environment` value and `text` its text (for lines): the file's line index and
    the spec's names are read once."""
    layer = stack_layer(environment, file, text)
    lines = layer.lines
    spec = environment if isinstance(environment, Mapping) else {}
    clusters = _index(spec.get("clusters"))
    tenants = _index(spec.get("tenants"))
    pools = {name: _index(spec["clusters"][i].get("node_pools")) for name, i in clusters.items()}

    def own_path(resource: engine.RenderedResource) -> tuple[Any, ...] | None:
        labels = recorded_labels(engine.revealed(resource.inputs))
        tenant = labels.get(TENANT_LABEL)
        if tenant in tenants:
            return ("tenants", tenants[tenant])
        cluster = labels.get(CLUSTER_LABEL)
        if cluster in clusters:
            pool = labels.get(NODE_POOL_LABEL)
            if pool in pools[cluster]:
                return ("clusters", clusters[cluster], "node_pools", pools[cluster][pool])
            return ("clusters", clusters[cluster])
        return None

    def locate_in(
        rendering: engine.Rendering, owners: Mapping[str, str | None] | None = None
    ) -> dict[str, SpecLocation]:
        owners = owner_of(rendering) if owners is None else owners
        by_urn = rendering.by_urn()
        paths: dict[str, tuple[Any, ...]] = {}

        def path_of(urn: str) -> tuple[Any, ...]:
            if urn in paths:
                return paths[urn]
            resource = by_urn[urn]
            found = own_path(resource)
            if found is None and resource.parent in by_urn:
                found = path_of(resource.parent)
            if not found:
                owner = owners.get(urn)
                found = ("clusters", clusters[owner]) if owner in clusters else ()
            paths[urn] = found
            return found

        result = {}
        for resource in rendering.resources:
            path = path_of(resource.urn)
            written = path
            while written and written not in lines:
                written = written[:-1]
            result[resource.urn] = SpecLocation(file, lines.get(written, 1), format_path(path))
        return result

    return locate_in


class ExplainError(Exception):
    """No resource, or more than one, matches what `explain` was asked about."""


def find(rendering: engine.Rendering, urn_or_name: str) -> engine.RenderedResource:
    """The resource whose URN, or else whose name, is `urn_or_name`."""
    by_urn = rendering.by_urn()
    if urn_or_name in by_urn:
        return by_urn[urn_or_name]
    named = [r for r in rendering.resources if r.name == urn_or_name]
    if len(named) == 1:
        return named[0]
    if named:
        listed = "\n".join(f"  {r.urn}" for r in named)
        raise ExplainError(
            f"{len(named)} resources are named {urn_or_name!r}; give a URN:\n{listed}"
        )
    raise ExplainError(f"no resource with URN or name {urn_or_name!r} in {rendering.stack}")


def explain(
    rendering: engine.Rendering,
    resource: engine.RenderedResource,
    locations: Mapping[str, SpecLocation],
) -> str:
    """The chain from the spec key through the components to the resource and its inputs
    (secrets masked), as `tkestack explain` prints it."""
    import yaml  # local: only explain prints YAML

    by_urn = rendering.by_urn()
    chain = [resource]
    while chain[-1].parent in by_urn:
        chain.append(by_urn[chain[-1].parent])
    where = locations.get(resource.urn)
    lines = []
    if where is not None:
        lines.append(f"spec: {where.file}:{where.line} {where.key or '(environment)'}")
    for depth, step in enumerate(reversed(chain)):
        lines.append(f"{'  ' * (depth + 1)}{step.type} {step.name}")
    lines.append(f"urn: {resource.urn}")
    if resource.provider:
        lines.append(f"provider: {resource.provider}")
    if resource.protect:
        lines.append("protect: true")
    body = yaml.safe_dump(engine.masked(resource.inputs), sort_keys=True, default_flow_style=False)
    lines.append("inputs:")
    lines.extend(f"  {line}" for line in body.rstrip("\n").splitlines())
    return "\n".join(lines) + "\n"
