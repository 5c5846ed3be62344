"""Composition: turn a validated environment into component resources.

One direction only: the spec knows nothing of Pulumi, components know nothing of the spec's
YAML; this module is the only place where the two meet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from .providers import CloudProviders
from .spec import EnvironmentSpec

SecretConfig = Callable[[str], pulumi.Output[str]]
"""Reads a secret stack config value by key (`pulumi.Config().require_secret`)."""


def compose(env: EnvironmentSpec, secret_config: SecretConfig) -> dict[str, Any]:
    """Register every resource of `env`; returns the stack outputs."""
    providers = CloudProviders(env)
    for cluster in env.clusters:
        if cluster.cloud != "attached" and cluster.region is not None:
            providers.for_region(cluster.cloud, cluster.region)
    return {
        "environment": {"name": env.name, "tier": env.tier},
        "clusters": {},
    }
