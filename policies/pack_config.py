"""The pack's config semantics: one reading of a `--policy-pack-config` file for every caller.

The policy analyzer driver (`tkestack.analyzer`), the direct evaluator (`policies.rules`) and the
review's policy table (`tkestack.review`) all ask "which level and properties does each policy
get under this file"; they ask this module, so the `all` key and the merge order cannot drift
apart between them again.

Semantics follow the engine, pulumi/pulumi `pkg/resource/analyzer/config.go`
(`parsePolicyPackConfig`, `ReconcilePolicyPackConfig`, `applyConfig`, read at commit
070757c7a28dff940697ffc0f76f7d01361cd42e): schema defaults and the pack's own levels first,
then the pack's `initialConfig`, then the user's file; in each applied layer the `all` key's
level (if it has one) goes to every policy before per-policy entries override it, and `all`'s
properties go to no policy. Schema validation of the result stays with the analyzer driver,
which holds the JSON schemas the pack announces.

Pulumi-free on purpose: the policy rules import it, and they load without any `pulumi*` module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
ALL = "all"  # the key whose level applies to every policy (config.go: `configToApply["all"]`)


class PolicyConfigError(ValueError):
    """A policy pack config that the engine would refuse (bad level, bad value, unknown policy)."""


@dataclass(frozen=True)
class PolicyConfig:
    """One policy's config: `enforcement_level` (None = not set here) and `properties`."""

    enforcement_level: str | None
    properties: dict[str, Any] | None


def _check_level(policy: str, level: Any) -> str:
    if not isinstance(level, str):
        raise PolicyConfigError(
            f"parsing enforcement level for {policy!r}: {level!r} is not a valid enforcement "
            "level; must be a string"
        )
    if level not in ENFORCEMENT_LEVELS:
        raise PolicyConfigError(
            f"parsing enforcement level for {policy!r}: {level!r} is not a valid enforcement "
            f"level (one of {', '.join(ENFORCEMENT_LEVELS)})"
        )
    return level


def parse(raw: Mapping[str, Any] | None) -> dict[str, PolicyConfig]:
    """``parsePolicyPackConfig``: split each entry of a config file into level and properties.

    `raw` is the file's JSON object: ``{"policy": "mandatory"}`` or
    ``{"policy": {"enforcementLevel": "advisory", "someProperty": 1}}``; ``all`` is a key too.
    """
    result: dict[str, PolicyConfig] = {}
    for name, value in (raw or {}).items():
        if not isinstance(name, str):
            raise PolicyConfigError(f"policy config keys must be strings, got {name!r}")
        level: str | None = None
        props: dict[str, Any] | None = None
        if isinstance(value, str):
            level = _check_level(name, value)
        elif isinstance(value, Mapping):
            rest: dict[str, Any] = dict(value)
            if "enforcementLevel" in rest:
                level = _check_level(name, rest.pop("enforcementLevel"))
            props = rest or None
        else:
            raise PolicyConfigError(
                f"parsing {name!r}: {value!r} is not a valid value; must be a string or object"
            )
        if level is None and not props:
            continue
        result[name] = PolicyConfig(level, props)
    return result


def apply(
    result: Mapping[str, PolicyConfig], to_apply: Mapping[str, PolicyConfig]
) -> dict[str, PolicyConfig]:
    """``applyConfig``: ``all``'s level to every policy first, then per-policy levels and
    merged properties (an entry for ``all`` itself is kept, as the engine keeps it)."""
    merged = dict(result)
    everything = to_apply.get(ALL)
    if everything is not None and everything.enforcement_level is not None:
        merged = {
            k: PolicyConfig(everything.enforcement_level, v.properties) for k, v in merged.items()
        }
    for name, given in to_apply.items():
        current = merged.get(name, PolicyConfig(None, None))
        level = given.enforcement_level or current.enforcement_level
        props = dict(current.properties) if current.properties is not None else None
        if given.properties:
            props = {**(props or {}), **given.properties}
        merged[name] = PolicyConfig(level, props)
    return merged


def reconcile(
    policies: Iterable[tuple[str, str, Mapping[str, Any] | None]],
    user: Mapping[str, PolicyConfig] | None,
    *,
    initial: Mapping[str, PolicyConfig] | None = None,
    pack: str = "tkestack",
) -> dict[str, PolicyConfig]:
    """``ReconcilePolicyPackConfig`` without the schema validation: per policy, the pack's
    level and schema defaults, then `initial` (the pack's ``initialConfig``), then `user`.

    `policies` yields ``(name, pack level, schema defaults)``. A `user` key that is neither a
    policy of the pack nor ``all`` is refused, naming `pack` and the known policies.
    """
    result: dict[str, PolicyConfig] = {}
    for name, level, defaults in policies:
        result[name] = PolicyConfig(level, dict(defaults) if defaults else None)
    unknown = sorted(set(user or {}) - set(result) - {ALL})
    if unknown:
        raise PolicyConfigError(
            f"policy pack config names policies that {pack!r} does not have: "
            f"{', '.join(unknown)} (known: {', '.join(sorted(result))})"
        )
    if initial:
        result = apply(result, initial)
    if user:
        result = apply(result, user)
    return result


def effective(reconciled: Mapping[str, PolicyConfig]) -> dict[str, dict[str, Any]]:
    """Per policy ``{"enforcementLevel": level, **properties}``; ``all`` is no policy and goes.
    A policy left without a level is advisory, as the engine sends it (proto default 0)."""
    return {
        name: {"enforcementLevel": cfg.enforcement_level or "advisory", **(cfg.properties or {})}
        for name, cfg in reconciled.items()
        if name != ALL
    }
