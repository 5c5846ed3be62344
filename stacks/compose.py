"""Composition: turn a validated environment into component resources.

One direction only: the spec knows nothing of Pulumi, components know nothing of the spec's
YAML; this module is the only place where the two meet.
"""

from __future__ import annotations

from typing import Any

from .clusters import SecretConfig, build_clusters, cluster_outputs, deployer_outputs
from .platform import build_platform, platform_outputs
from .providers import CloudProviders
from .spec import EnvironmentSpec
from .tenancy import build_tenants
from .topology import StackPart


def compose(
    env: EnvironmentSpec, secret_config: SecretConfig, part: StackPart | None = None
) -> dict[str, Any]:
    """Register every resource of `env` (or, for `topology: per-cluster`, of the stack
    `part`: `stacks/fleet.py`); returns the stack outputs.

    One step per concern, each handing its result to the next:
    providers (one per cloud/region) -> clusters and node pools (`ClusterInfo` by name) ->
    platform services on every cluster -> tenants on their clusters.
    """
    if env.topology == "per-cluster" and part is not None:
        from .fleet import compose_part  # local: only per-cluster stacks need it

        return compose_part(env, secret_config, part)
    providers = CloudProviders(env)
    clusters = build_clusters(env, providers, secret_config)
    platform = build_platform(env, clusters, secret_config=secret_config)
    tenancy = build_tenants(env, clusters, platform)
    return {
        "environment": {"name": env.name, "tier": env.tier},
        "clusters": cluster_outputs(clusters),
        "deployer": deployer_outputs(env),
        "platform": platform_outputs(platform),
        "identity": tenancy["identity"],
        "tenants": tenancy["tenants"],
    }
