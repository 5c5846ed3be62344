"""Every rule of the tkestack CrossGuard pack, grouped by concern, and a direct evaluator.

`RULES` is the pack (in group order); `evaluate()` runs the same checks on plain resources
without the gRPC protocol, with the same config reconciliation as the engine (schema
defaults, then the pack's level, then a `--policy-pack-config` file), so the two can be
compared; `run()` is the same under an already reconciled config (`tkestack review`'s
in-process path).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import pack_config
from . import clusters, environment, node_pools, observability, rbac_tenancy, registry, workloads
from .base import GROUPS, Rule, Stack, Subject

RULES: list[Rule] = [
    *clusters.RULES,
    *node_pools.RULES,
    *registry.RULES,
    *rbac_tenancy.RULES,
    *workloads.RULES,
    *observability.RULES,
    *environment.RULES,
]
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
PACK_NAME = "tkestack"

if len(BY_NAME) != len(RULES):  # pragma: no cover - guards a copy-paste slip at import
    raise ValueError("duplicate policy names in the tkestack pack")


@dataclass(frozen=True)
class RuleViolation:
    """One violation found by direct evaluation (not the review's `Finding`, which carries
    severity and remediation for the report)."""

    policy: str
    urn: str | None
    message: str
    level: str


def effective_config(file_config: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per policy: `enforcementLevel` plus properties, as the engine reconciles them (the
    pack's one reading, `policies/pack_config.py`; the `all` key included)."""
    reconciled = pack_config.reconcile(
        ((rule.name, rule.level, rule.defaults) for rule in RULES),
        pack_config.parse(file_config),
        pack=PACK_NAME,
    )
    return pack_config.effective(reconciled)


def evaluate(
    resources: Sequence[Subject], file_config: Mapping[str, Any] | None = None
) -> list[RuleViolation]:
    """Run every enabled rule over `resources` and the stack under a `--policy-pack-config`
    file's content; findings sorted like the analyzer driver sorts violations (stack-level
    first, then URN, policy, message)."""
    return run(resources, effective_config(file_config))


def run(
    resources: Sequence[Subject], config: Mapping[str, Mapping[str, Any]]
) -> list[RuleViolation]:
    """Run every enabled rule under `config` (per policy: `enforcementLevel` and properties,
    as `effective_config` returns it): each resource rule only on the types it declares (as
    the pack's analyzer runs it), each stack rule once over the whole stack; sorted like
    `evaluate`."""
    findings: list[RuleViolation] = []
    by_type: dict[str, list[Subject]] = {}
    for resource in resources:
        by_type.setdefault(resource.type, []).append(resource)
    stack: Stack | None = None
    for rule in RULES:
        settings = config[rule.name]
        level = settings["enforcementLevel"]
        if level == "disabled":
            continue
        level = "mandatory" if level == "remediate" else level
        if rule.stack:
            stack = stack or Stack(list(resources))
            for urn, message in rule.run_stack(stack, settings):
                findings.append(RuleViolation(rule.name, urn, message, level))
            continue
        if rule.types:
            looked_at = [r for type_ in sorted(rule.types) for r in by_type.get(type_, ())]
        else:
            looked_at = list(resources)
        for resource in looked_at:
            for message in rule.run(resource, settings):
                findings.append(RuleViolation(rule.name, resource.urn, message, level))
    findings.sort(key=lambda f: (f.urn is not None, f.urn or "", f.policy, f.message))
    return findings


__all__ = [
    "BY_NAME",
    "GROUPS",
    "PACK_NAME",
    "RULES",
    "Rule",
    "RuleViolation",
    "Stack",
    "Subject",
    "effective_config",
    "evaluate",
    "run",
]
