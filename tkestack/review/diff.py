"""What changes from the base render to the head one, as `pulumi preview` would plan it:
changed input keys, replacements (propagated through providers and unknown outputs),
control plane upgrades the cloud refuses, and deletions that protection blocks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .. import engine
from ..components.catalog import version_parts
from ..replace_on_change import DELETION_PROTECTION, forces_replacement
from .model import Change

CONTROL_PLANE_VERSION: dict[str, str] = {
    "aws:eks/cluster:Cluster": "version",
    "tencentcloud:Kubernetes/cluster:Cluster": "clusterVersion",
}
"""The input holding a managed control plane's Kubernetes version, per type. EKS and TKE
upgrade a control plane one minor version at a time and never downgrade it: the cloud
refuses any other change, after `pulumi up` has already changed what came before it."""


def _all_masked(value: Any) -> bool:
    """Whether every leaf of `value` is the secret mark (a masked secret, of any shape)."""
    if isinstance(value, dict):
        return all(_all_masked(item) for item in value.values())
    if isinstance(value, list):
        return all(_all_masked(item) for item in value)
    return value == engine.SECRET_MARK


def changed_keys(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths where `old` and `new` differ (maps recursed, lists compared whole).

    A masked secret on one side and a masked secret of another shape on the other are not a
    change: neither render shows the value (a base rendered before masked secrets kept their
    shape prints `"[secret]"` for a whole map)."""
    if old != new and engine.SECRET_MARK in (old, new) and _all_masked(old) and _all_masked(new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else key
            if key not in old or key not in new:
                yield path
            else:
                yield from changed_keys(old[key], new[key], path)
    elif old != new:
        yield prefix or "(value)"


def refused_upgrade(type_: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    """Why the cloud would refuse to move a control plane from `before`'s inputs to
    `after`'s: a version that goes back (minor or patch), or skips a minor. None when it
    would accept it."""
    key = CONTROL_PLANE_VERSION.get(type_)
    if key is None:
        return None
    old, new = version_parts(before.get(key)), version_parts(after.get(key))
    if old is None or new is None:
        return None
    shown = f"`{key}` {before[key]} -> {after[key]}"
    common = min(len(old), len(new))  # "1.33" (EKS) carries no patch to compare
    if new[:common] < old[:common]:
        return f"{shown}: a Kubernetes control plane cannot be downgraded"
    if new[0] != old[0]:
        return f"{shown}: control planes upgrade one minor version at a time"
    if new[1] - old[1] <= 1:
        return None
    steps = ", ".join(f"{old[0]}.{minor}" for minor in range(old[1] + 1, new[1]))
    return (
        f"{shown}: control planes upgrade one minor version at a time; go through {steps}"
        " first, one `pulumi up` each"
    )


MIN_UNKNOWN_LENGTH = 8
"""Computed output strings shorter than this (`ACTIVE`, `admin`) are too common to trace."""


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every leaf; a list is one leaf holding its whole value (lists
    are compared whole, as in `changed_keys`)."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _leaves(value[key], f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, engine.SecretValue):
        yield from _strings(value.value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def unknown_values(rendering: engine.Rendering) -> dict[str, frozenset[str]]:
    """Per URN, the output strings `pulumi preview` would show as unknown if the resource were
    replaced: what its provider computes (ids, ARNs, endpoints), not what the program gave
    it. In process only (they may hold secrets): never written to a document."""
    result = {}
    for resource in rendering.resources:
        given = set(_strings(resource.inputs))
        result[resource.urn] = frozenset(
            text
            for text in _strings(resource.computed())
            if len(text) >= MIN_UNKNOWN_LENGTH and text not in given
        )
    return result


def _unknown_paths(
    inputs: Mapping[str, Any], key: str, unknown: frozenset[str] | None
) -> tuple[str, ...]:
    """The input paths under top-level `key` that take a replaced resource's outputs: the
    leaves holding (or embedding) one of its `unknown` values; the whole key when none can be
    traced (a value derived through an apply, or no values known)."""
    if key not in inputs:
        return ()
    if unknown:
        found = tuple(
            path
            for path, value in _leaves(inputs[key], key)
            if any(text in item for item in _strings(value) for text in unknown)
        )
        if found:
            return found
    return (key,)


def _protection(
    kind: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any] | None,
    added_types: Mapping[str, list[str]],
) -> str | None:
    """Why `pulumi up` would stop at deleting `before` (removed, or the delete half of a
    replacement), with what to do; None when nothing stops it."""
    if kind not in ("removed", "replaced"):
        return None
    action = "replace" if kind == "replaced" else "delete"
    if before.get("protect") or (after or {}).get("protect"):
        renamed = added_types.get(before.get("type", ""), []) if kind == "removed" else []
        rename = (
            f"; if it was renamed (to {', '.join(f'`{n}`' for n in renamed[:3])}?), add"
            " `aliases` naming the old URN instead, so nothing is deleted"
            if renamed
            else "; if it is a rename, add `aliases` naming the old URN instead"
        )
        return (
            f"protected (`protect`): `pulumi up` refuses to {action} it and stops with the"
            " changes before it applied. Unprotect it in a separate change (`pulumi state"
            " unprotect` or `protect=False`), apply that, then this one" + rename
        )
    key = DELETION_PROTECTION.get(before.get("type", ""))
    if key and before.get("inputs", {}).get(key) is True:
        return (
            f"deletion protection (`{key}: true`): the cloud refuses to delete it, so the"
            f" {action} half-applies. Set `{key}: false` in a separate change and apply it"
            " first, then this one"
        )
    return None


def diff(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    unknowns: Mapping[str, frozenset[str]] | None = None,
) -> list[Change]:
    """Resource changes from the base render document to the head one (`render --format
    json` documents), destructive changes first.

    Replacements propagate as the engine propagates them: a replaced resource's computed
    outputs are unknown in the head's preview, so each resource whose inputs take them (its
    `propertyDependencies`) changes, and is itself replaced when such an input forces a
    replacement (`replace_on_change`). `unknowns` (from `unknown_values`) names the output
    values per URN, to find which nested input takes them; without it the whole top-level
    input counts."""
    old = {r["urn"]: r for r in base.get("resources", [])}
    new = {r["urn"]: r for r in head.get("resources", [])}
    unknowns = unknowns or {}
    added_types: dict[str, list[str]] = {}
    for urn in sorted(set(new) - set(old)):
        added_types.setdefault(new[urn]["type"], []).append(new[urn]["name"])
    dependents: dict[str, list[tuple[str, str]]] = {}
    for urn, resource in new.items():
        for key, urns in sorted(resource.get("propertyDependencies", {}).items()):
            for dependency in urns:
                dependents.setdefault(dependency, []).append((urn, key))
    keys: dict[str, list[str]] = {}
    replacing: dict[str, list[str]] = {}
    because: dict[str, list[str]] = {}
    for urn in sorted(set(old) & set(new)):
        before, after = old[urn], new[urn]
        found = list(changed_keys(before.get("inputs", {}), after.get("inputs", {})))
        if before.get("provider") != after.get("provider"):
            found.append("(provider)")
        if found:
            keys[urn] = found
            extra = tuple(after.get("options", {}).get("replaceOnChanges", ()))
            inputs = after.get("inputs", {})
            forcing = [
                key
                for key in found
                if key == "(provider)" or forces_replacement(after["type"], key, extra, inputs)
            ]
            if forcing:
                replacing[urn] = forcing
    managed: dict[str, list[str]] = {}
    for urn, resource in new.items():
        if resource.get("provider"):
            managed.setdefault(resource["provider"], []).append(urn)
    queue = sorted(replacing)
    while queue:
        replaced = queue.pop(0)
        # A replaced provider replaces every resource it manages (step_generator.go).
        for urn in (
            managed.get(replaced, [])
            if new[replaced]["type"].startswith("pulumi:providers:")
            else []
        ):
            if urn not in old:
                continue
            name = new[replaced]["name"]
            if name not in because.setdefault(urn, []):
                because[urn].append(name)
            known = keys.setdefault(urn, [])
            if "(provider)" not in known:
                known.append("(provider)")
            if urn not in replacing:
                replacing[urn] = ["(provider)"]
                queue.append(urn)
            elif "(provider)" not in replacing[urn]:
                replacing[urn].append("(provider)")
        for urn, key in dependents.get(replaced, []):
            if urn not in old or replaced == urn:
                continue
            after = new[urn]
            paths = _unknown_paths(after.get("inputs", {}), key, unknowns.get(replaced))
            if not paths:
                continue
            name = new[replaced]["name"]
            if name not in because.setdefault(urn, []):
                because[urn].append(name)
            known = keys.setdefault(urn, [])
            known.extend(path for path in paths if path not in known)
            extra = tuple(after.get("options", {}).get("replaceOnChanges", ()))
            forcing = [
                path
                for path in paths
                if forces_replacement(after["type"], path, extra, after.get("inputs", {}))
            ]
            if forcing:
                first = urn not in replacing
                listed = replacing.setdefault(urn, [])
                listed.extend(path for path in forcing if path not in listed)
                if first:
                    queue.append(urn)
    changes: list[Change] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        source = after or before
        assert source is not None
        chart = source.get("inputs", {}).get("chart")
        chart = chart if isinstance(chart, str) else None
        if before is None:
            changes.append(Change("added", urn, source["type"], source["name"], chart=chart))
            continue
        if after is None:
            changes.append(
                Change(
                    "removed",
                    urn,
                    source["type"],
                    source["name"],
                    chart=chart,
                    blocked=_protection("removed", before, None, added_types),
                )
            )
            continue
        if urn not in keys:
            continue
        kind = "replaced" if urn in replacing else "changed"
        refused = (
            None
            if kind == "replaced"
            else refused_upgrade(after["type"], before.get("inputs", {}), after.get("inputs", {}))
        )
        changes.append(
            Change(
                kind,
                urn,
                after["type"],
                after["name"],
                tuple(keys[urn]),
                tuple(replacing.get(urn, ())),
                chart,
                refused,
                because=tuple(because.get(urn, ())),
                blocked=_protection(kind, before, after, added_types),
            )
        )
    order = {"replaced": 0, "removed": 1, "changed": 2, "added": 3}
    # Blocked first, then destructive; within each, causes before their consequences.
    changes.sort(
        key=lambda c: (c.blocked is None, not c.destructive, order[c.kind], bool(c.because), c.urn)
    )
    return changes
