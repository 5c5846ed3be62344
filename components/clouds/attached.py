"""Attached clusters: an existing cluster (any cloud, on-prem) reached through a kubeconfig.

Its lifecycle is not ours: no cloud resource is created, its node pools only describe the
nodes it already has (for scheduling), and everything installed inside goes through the
explicit Kubernetes provider built from the kubeconfig the stack holds as a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import yaml

from . import ClusterAccess, ClusterBackend, PoolRequest


def server_of(kubeconfig: str, context: str | None) -> str:
    """The API server URL of `context` (default: the current context) in a kubeconfig."""
    try:
        config: Any = yaml.safe_load(kubeconfig)
    except yaml.YAMLError as error:
        raise ValueError(f"the attached cluster's kubeconfig is not YAML: {error}") from None
    if not isinstance(config, dict):
        raise ValueError("the attached cluster's kubeconfig is not a kubeconfig mapping")
    wanted = context if context is not None else config.get("current-context")
    contexts = {item.get("name"): item.get("context", {}) for item in config.get("contexts") or []}
    if wanted not in contexts:
        raise ValueError(
            f"the attached cluster's kubeconfig has no context {wanted!r}"
            f" (contexts: {', '.join(sorted(str(name) for name in contexts)) or 'none'})"
        )
    cluster_name = contexts[wanted].get("cluster")
    clusters = {item.get("name"): item.get("cluster", {}) for item in config.get("clusters") or []}
    server = clusters.get(cluster_name, {}).get("server")
    if not isinstance(server, str):
        raise ValueError(f"the attached cluster's kubeconfig has no server for context {wanted!r}")
    return server


class Backend(ClusterBackend):
    """No cloud resources: only access to what exists."""

    cloud = "attached"

    def create_control_plane(self) -> None:
        """Nothing to create: the control plane exists and is not ours."""
        attached = self.args.get("attached")
        if attached is None:
            raise ValueError(f"cluster {self.name}: an attached cluster needs its kubeconfig")
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(attached["kubeconfig"])
        self.context: str | None = attached.get("context")
        issuer = attached.get("oidc_issuer")
        self.oidc_issuer = pulumi.Output.from_input(issuer) if issuer is not None else None

    def create_node_pool(
        self, pool: pulumi.ComponentResource, request: PoolRequest
    ) -> list[pulumi.Resource]:
        """Nothing to create: the nodes exist; the pool only describes them."""
        return []

    def finish(self, pools: Sequence[pulumi.Resource]) -> ClusterAccess:
        """Access through the given kubeconfig; the endpoint read from it (not a secret)."""
        context = self.context
        endpoint = pulumi.Output.unsecret(self.kubeconfig.apply(lambda k: server_of(k, context)))
        return ClusterAccess(
            endpoint=endpoint,
            kubeconfig=self.kubeconfig,
            oidc_issuer=self.oidc_issuer,
            context=context,
        )
