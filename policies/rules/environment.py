"""Environment rules: explicit providers, allowed regions, required tags.

The engine gives a resource without a `provider` option a default provider named `default`
(or `default_<version>`), configured from ambient settings (AWS_PROFILE, ~/.tccli): exactly
what tkestack avoids, so such a resource is a violation. AWS provider `defaultTags` count as
the tags of every resource created with that provider.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .base import Rule, Stack, Subject, get, mapping, string_list, strings
from .taggable import TAGGABLE_TYPES

PROVIDER_PREFIX = "pulumi:providers:"
CLOUD_PROVIDERS = frozenset({"pulumi:providers:aws", "pulumi:providers:tencentcloud"})
COMPONENT_PACKAGES = frozenset({"pulumi", "tkestack"})
"""Packages whose resources are not created by a provider plugin (stack, components)."""


def _explicit_provider(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    package = resource.type.split(":", 1)[0]
    if package in COMPONENT_PACKAGES:
        return
    provider = resource.provider
    if provider is None:
        yield "resource uses the default provider (no explicit provider)"
    elif provider.name == "default" or provider.name.startswith("default_"):
        yield f"resource uses the default {provider.type} provider ({provider.name})"


def _region_allowed(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    allowed = strings(config.get("allowedRegions"))
    if not allowed:
        return
    checked: set[str] = set()
    for provider in stack.resources:
        if provider.type in CLOUD_PROVIDERS:
            checked.add(provider.urn)
            region = get(provider.props, "region")
            if isinstance(region, str) and region not in allowed:
                yield (
                    provider.urn,
                    f"provider region {region} is not allowed ({', '.join(allowed)})",
                )
    for resource in stack.resources:
        region = get(resource.props, "region") if resource.type.startswith("aws:") else None
        if isinstance(region, str) and region not in allowed:
            yield resource.urn, f"resource region {region} is not allowed ({', '.join(allowed)})"
        ref = resource.provider
        if ref is not None and ref.urn not in checked and ref.type in CLOUD_PROVIDERS:
            checked.add(ref.urn)
            region = get(ref.props, "region")
            if isinstance(region, str) and region not in allowed:
                yield ref.urn, f"provider region {region} is not allowed ({', '.join(allowed)})"


def tags_of(resource: Subject) -> dict[str, Any]:
    """The resource's tags, with its AWS provider's defaultTags under them."""
    tags: dict[str, Any] = {}
    if resource.provider is not None and resource.type.startswith("aws:"):
        default_tags = mapping(get(resource.provider.props, "defaultTags"))
        tags.update(mapping(default_tags.get("tags")))
    tags.update(mapping(get(resource.props, "tags")))
    return tags


def _required_tags(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    tags = tags_of(resource)
    missing = [key for key in strings(config.get("requiredTags")) if not tags.get(key)]
    if missing:
        yield f"missing required tags: {', '.join(missing)}"


RULES = [
    Rule(
        name="explicit-provider",
        group="environment",
        description="Every cloud and Kubernetes resource uses an explicit provider.",
        severity="high",
        anchor="tkestack (pulumi:disable-default-providers)",
        remediation="Pass `opts=ResourceOptions(provider=...)` (components get it from"
        " stacks/providers.py).",
        check=_explicit_provider,
    ),
    Rule(
        name="region-allowed",
        group="environment",
        description="Cloud resources live only in the environment's allowed regions.",
        severity="high",
        anchor="tkestack (data residency)",
        remediation="Use a region from `allowed_regions`, or extend it (and this config).",
        check=_region_allowed,
        stack=True,
        config={"allowedRegions": string_list([], "Allowed regions; empty: any.")},
    ),
    Rule(
        name="required-tags",
        group="environment",
        description="Every taggable cloud resource carries the required tags.",
        severity="low",
        anchor="AWS Well-Architected COST03-BP02 (tagging); tkestack tag standard",
        remediation="Set `tags` in the environment spec (owner, cost-center are required).",
        check=_required_tags,
        types=TAGGABLE_TYPES,
        config={
            "requiredTags": string_list(
                ["owner", "cost-center", "managed-by"], "Tag keys every resource needs."
            )
        },
    ),
]
