"""Turn the rules into CrossGuard policies (used by `__main__.py`).

Each `Rule` becomes a `ResourceValidationPolicy` or `StackValidationPolicy` with its
severity, remediation, anchor (as compliance framework reference) and config schema. The
validate functions adapt pulumi_policy's arguments to the rules' `Subject`/`Stack` view and
return at once for resource types a rule does not look at, so a pack run over thousands of
resources spends its time only where a rule applies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from ..metadata import docs_url
from .rules import RULES
from .rules.base import Provider, Rule, Stack, Subject, Unknowable

DOCS_URL = docs_url("policies.md")
"""The policy reference, under the project's `Documentation` URL (pyproject.toml)."""


def _provider(provider: PolicyProviderResource | None) -> Provider | None:
    if provider is None:
        return None
    return Provider(provider.urn, provider.resource_type, provider.name, provider.props)


def _subject(resource: ResourceValidationArgs | PolicyResource) -> Subject:
    if isinstance(resource, PolicyResource):
        dependencies = {dep.urn for dep in resource.dependencies}
        for deps in resource.property_dependencies.values():
            dependencies.update(dep.urn for dep in deps)
        parent = resource.parent.urn if resource.parent is not None else resource.opts.parent
    else:
        dependencies = set()
        parent = resource.opts.parent
    return Subject(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        props=resource.props,
        protect=bool(resource.opts.protect),
        parent=parent or None,
        provider=_provider(resource.provider),
        dependencies=tuple(sorted(dependencies)),
    )


def _config(rule: Rule, given: Mapping[str, Any] | None) -> dict[str, Any]:
    return {**rule.defaults, **(given or {})}


def _resource_validate(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    types = rule.types

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if types and args.resource_type not in types:
            return
        try:
            messages = list(rule.check(_subject(args), _config(rule, args.get_config())))
        except (Unknowable, UnknownValueError) as error:
            args.not_applicable(f"a value is unknown during preview: {error}")
            return
        for message in messages:
            report_violation(message, None)

    return validate


_last_stack: list[tuple[list[PolicyResource], Stack]] = []
"""The rules' view of the last resource list a stack policy was handed: `AnalyzeStack` hands
one list to every stack policy of a call (`policies/servicer.py`), so it is converted once."""


def _stack(resources: list[PolicyResource]) -> Stack:
    found = _last_stack[0] if _last_stack else None
    if found is not None and found[0] is resources:
        return found[1]
    stack = Stack([_subject(resource) for resource in resources])
    _last_stack[:] = [(resources, stack)]
    return stack


def _stack_validate(rule: Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        stack = _stack(args.resources)
        try:
            found = list(rule.check(stack, _config(rule, args.get_config())))
        except (Unknowable, UnknownValueError) as error:
            args.not_applicable(f"a value is unknown during preview: {error}")
            return
        for urn, message in found:
            report_violation(message, urn)

    return validate


def to_policy(rule: Rule) -> Policy:
    """The CrossGuard policy of one rule."""
    common: dict[str, Any] = {
        "name": rule.name,
        "description": rule.description,
        "enforcement_level": EnforcementLevel(rule.level),
        "severity": Severity(rule.severity),
        "remediation_steps": rule.remediation,
        "framework": PolicyComplianceFramework(name="tkestack", reference=rule.anchor),
        "tags": [rule.group],
        "url": f"{DOCS_URL}#{rule.name}",
        "config_schema": PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config.items()})
        if rule.config
        else None,
    }
    if rule.stack:
        return StackValidationPolicy(validate=_stack_validate(rule), **common)
    return ResourceValidationPolicy(validate=_resource_validate(rule), **common)


def policies() -> list[Policy]:
    """Every policy of the pack, in group order."""
    return [to_policy(rule) for rule in RULES]


def policy_types() -> dict[str, frozenset[str]]:
    """Per resource policy that looks at some types only, those types (`Rule.types`): the
    pack's analyzer runs it on nothing else (`policies/servicer.py`)."""
    return {rule.name: rule.types for rule in RULES if not rule.stack and rule.types}
