"""URNs and aliases, computed the way the Pulumi engine computes them.

A resource keeps its state across a rename when one of its alias URNs equals its old URN.
The engine derives alias URNs from each alias spec (name, type, parent, stack, project;
unset fields default to the resource's own) and, for children of a resource that has
aliases itself, from each of the parent's alias URNs as well (a child whose name starts
with its parent's name follows a renamed parent). This module reproduces that so the URN
stability check can prove an old URN is still reachable.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Protocol

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


class HasUrn(Protocol):
    """What alias resolution needs of a recorded resource."""

    urn: str
    type: str
    name: str
    parent: str | None
    options: dict[str, Any]


def parse(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, qualified type, name) of a URN."""
    prefix, rest = urn.split(":", 2)[:2], urn.split(":", 2)[2]
    if prefix != ["urn", "pulumi"]:
        raise ValueError(f"not a Pulumi URN: {urn}")
    stack, project, qualified_type, name = rest.split("::", 3)
    return stack, project, qualified_type, name


def make_urn(stack: str, project: str, parent_urn: str | None, type_: str, name: str) -> str:
    """URN of a resource; the root stack's type never joins the qualified type."""
    qualified = type_
    if parent_urn:
        parent_type = parse(parent_urn)[2]
        if parent_type != ROOT_STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def alias_urns(resource: HasUrn, by_urn: Mapping[str, HasUrn]) -> set[str]:
    """Every URN under which `resource`'s state may be found (its aliases, not itself)."""

    @cache
    def of(urn: str) -> frozenset[str]:
        current = by_urn[urn]
        stack, project, _, _ = parse(current.urn)
        parent_urns: list[str | None] = [current.parent]
        parent_aliases: list[tuple[str, str]] = []  # (alias URN of parent, its alias name)
        if current.parent and current.parent in by_urn:
            parent = by_urn[current.parent]
            for parent_alias in sorted(of(parent.urn)):
                parent_urns.append(parent_alias)
                parent_aliases.append((parent_alias, parse(parent_alias)[3]))
        found: set[str] = set()
        for alias in current.options.get("aliases", []):
            if "urn" in alias:
                found.add(alias["urn"])
                continue
            spec = alias.get("spec", {})
            name = spec.get("name") or current.name
            type_ = spec.get("type") or current.type
            alias_stack = spec.get("stack") or stack
            alias_project = spec.get("project") or project
            if spec.get("noParent"):
                found.add(make_urn(alias_stack, alias_project, None, type_, name))
                continue
            parents = [spec["parentUrn"]] if spec.get("parentUrn") else parent_urns
            for parent_urn in parents:
                found.add(make_urn(alias_stack, alias_project, parent_urn, type_, name))
        # Children follow their parent's aliases, renamed along when they carry its name.
        if current.parent and current.parent in by_urn:
            parent_name = by_urn[current.parent].name
            for parent_alias, parent_alias_name in parent_aliases:
                name = current.name
                if name.startswith(parent_name):
                    name = parent_alias_name + name[len(parent_name) :]
                found.add(make_urn(stack, project, parent_alias, current.type, name))
                for alias in current.options.get("aliases", []):
                    spec = alias.get("spec", {})
                    if "urn" in alias or spec.get("noParent") or spec.get("parentUrn"):
                        continue
                    found.add(
                        make_urn(
                            stack,
                            project,
                            parent_alias,
                            spec.get("type") or current.type,
                            spec.get("name") or name,
                        )
                    )
        found.discard(current.urn)
        return frozenset(found)

    return set(of(resource.urn))


def reachable_urns(resources: Mapping[str, HasUrn]) -> dict[str, str]:
    """{URN an old state may have: the current URN that claims it}, aliases included."""
    reachable: dict[str, str] = {}
    for urn, resource in sorted(resources.items()):
        reachable[urn] = urn
        for alias in sorted(alias_urns(resource, resources)):
            reachable.setdefault(alias, urn)
    return reachable
