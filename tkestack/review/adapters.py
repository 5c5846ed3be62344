"""A rendering as the policy pack sees it: each rendered resource as the engine describes it
to analyzers (`analyzer_resources`, for the pack over its protocol) and as the rules see it
(`subjects`, for direct evaluation), with the provider the engine would use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import engine
from ..analyzer import AnalyzerProvider, AnalyzerResource, Secret
from ..policies.rules.base import Provider, Subject


def _wire(value: Any) -> Any:
    """Rendered input values as the analyzer driver sends them (secrets stay secret)."""
    if isinstance(value, engine.SecretValue):
        return Secret(_wire(value.value))
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def _provider_ref(
    resource: engine.RenderedResource,
    by_urn: Mapping[str, engine.RenderedResource],
    stack: str,
    project: str,
) -> tuple[str, str, str, dict[str, Any]] | None:
    """(urn, type, name, inputs) of the provider the engine would use for `resource`."""
    if resource.provider:
        found = by_urn.get(resource.provider)
        type_ = resource.provider.split("::")[2].rsplit("$", 1)[-1]
        name = resource.provider.rsplit("::", 1)[-1]
        return resource.provider, type_, name, dict(found.inputs) if found else {}
    package = resource.type.split(":", 1)[0]
    if not resource.custom or package in ("pulumi", "tkestack"):
        return None
    # The engine gives such a resource its package's default provider.
    type_ = f"pulumi:providers:{package}"
    return f"urn:pulumi:{stack}::{project}::{type_}::default", type_, "default", {}


def analyzer_resources(rendering: engine.Rendering) -> list[AnalyzerResource]:
    """Every rendered resource as the engine describes it to analyzers."""
    by_urn = rendering.by_urn()
    result = []
    for resource in rendering.resources:
        ref = _provider_ref(resource, by_urn, rendering.stack, rendering.project)
        provider = (
            AnalyzerProvider(urn=ref[0], type=ref[1], name=ref[2], properties=_wire(ref[3]))
            if ref
            else None
        )
        result.append(
            AnalyzerResource(
                urn=resource.urn,
                type=resource.type,
                name=resource.name,
                properties=_wire(resource.inputs),
                parent=resource.parent,
                provider=provider,
                protect=resource.protect,
                dependencies=tuple(resource.dependencies),
                property_dependencies={
                    key: tuple(urns) for key, urns in resource.property_dependencies.items()
                },
                ignore_changes=tuple(resource.options.get("ignoreChanges", ())),
                delete_before_replace=resource.options.get("deleteBeforeReplace"),
                additional_secret_outputs=tuple(
                    resource.options.get("additionalSecretOutputs", ())
                ),
            )
        )
    return result


def subjects(rendering: engine.Rendering) -> list[Subject]:
    """Every rendered resource as the rules see it (for direct evaluation); each provider's
    view is built once and shared by the resources it manages."""
    by_urn = rendering.by_urn()
    providers: dict[tuple[str | None, str, bool], Provider | None] = {}
    result = []
    for resource in rendering.resources:
        key = (resource.provider, resource.type.split(":", 1)[0], resource.custom)
        if key not in providers:
            ref = _provider_ref(resource, by_urn, rendering.stack, rendering.project)
            providers[key] = (
                Provider(ref[0], ref[1], ref[2], engine.revealed(ref[3])) if ref else None
            )
        dependencies = set(resource.dependencies)
        for urns in resource.property_dependencies.values():
            dependencies.update(urns)
        result.append(
            Subject(
                type=resource.type,
                name=resource.name,
                urn=resource.urn,
                props=engine.revealed(resource.inputs),
                protect=resource.protect,
                parent=resource.parent,
                provider=providers[key],
                dependencies=tuple(sorted(dependencies)),
            )
        )
    return result
