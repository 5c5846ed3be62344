"""Which cluster owns a resource: one answer, from what the program records.

The program records ownership in two ways, and nothing else is read here (no resource names,
no type tokens):

- the `tkestack.io/cluster` tag or label the composition puts on what it creates for a
  cluster (cloud tags, Kubernetes labels; `stacks/clusters.py`, `stacks/tenancy.py`);
- the `clusters` stack output (`stacks/clusters.py` `cluster_outputs`): each cluster's name
  and the kubeconfig the program hands to that cluster's Kubernetes provider, so a provider
  given that kubeconfig is the cluster's (the only record an attached cluster has);
- the resource graph the engine records: each resource's parent and the provider it is
  created with.

Part of the core (no Pulumi import): the CLI, graph, critical path, safety checks and
provenance (through `tkestack.ownership`) all call `owners`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CLUSTER_LABEL = "tkestack.io/cluster"
"""Tag/label naming the cluster a resource was created for."""
NODE_POOL_LABEL = "tkestack.io/node-pool"
"""Tag/label naming the node pool a resource was created for."""
TENANT_LABEL = "tkestack.io/tenant"
"""Tag/label naming the tenant a resource was created for."""
LABELS = (CLUSTER_LABEL, NODE_POOL_LABEL, TENANT_LABEL)


def recorded_labels(inputs: Mapping[str, Any]) -> dict[str, str]:
    """The tkestack tags/labels in a resource's inputs: cloud `tags`, `labels`, and
    Kubernetes `metadata.labels` (the first source that sets a key wins)."""
    found: dict[str, str] = {}
    sources = [inputs.get("tags"), inputs.get("labels")]
    metadata = inputs.get("metadata")
    if isinstance(metadata, Mapping):
        sources.append(metadata.get("labels"))
    for source in sources:
        if isinstance(source, Mapping):
            for key in LABELS:
                value = source.get(key)
                if isinstance(value, str) and key not in found:
                    found[key] = value
    return found


@dataclass(frozen=True)
class Recorded:
    """What the program recorded about one resource, as far as ownership goes."""

    urn: str
    parent: str | None
    """URN of the parent resource (None: the stack)."""
    provider: str | None
    """URN of the provider resource it is created with (None: a component or a provider)."""
    custom: bool
    """A cloud or Kubernetes resource (False: a component)."""
    cluster_label: str | None
    """Its own `tkestack.io/cluster` tag or label, if any."""
    kubeconfig: Any = None
    """Its `kubeconfig` input, secrets revealed (Kubernetes providers have one)."""


def owners(resources: Iterable[Recorded], clusters: Mapping[str, Any]) -> dict[str, str | None]:
    """{URN: owning cluster name, or None for environment-wide resources}, `clusters` being
    the exported clusters' kubeconfigs by name (secrets revealed).

    In order, each step only filling what the previous left open:
    1. a resource's own `tkestack.io/cluster` label naming an exported cluster, or, for a
       resource given a kubeconfig (a Kubernetes provider), the one exported cluster whose
       kubeconfig it is;
    2. a component owns what all its labelled descendants agree on (the cluster component,
       a node pool, a tenant on one cluster);
    3. anything else inherits the owner of its nearest owned ancestor (a cluster's
       Kubernetes provider is a child of its cluster component);
    4. a resource created with an owned provider belongs to that provider's cluster: the
       provider decides where a Kubernetes object lands, so it wins over steps 1-3;
    then steps 2 and 3 again, so components made only of Kubernetes objects (platform
    services, add-ons) and their cloud-side siblings follow them.
    """
    listed = list(resources)
    by_urn = {resource.urn: resource for resource in listed}
    owner: dict[str, str | None] = {}
    for resource in listed:
        label = resource.cluster_label
        if resource.kubeconfig is not None:
            matches = [
                name for name, kubeconfig in clusters.items() if kubeconfig == resource.kubeconfig
            ]
            label = matches[0] if len(matches) == 1 else label
        owner[resource.urn] = label if label in clusters else None

    def ancestors(resource: Recorded) -> Iterable[str]:
        parent, seen = resource.parent, set()
        while parent is not None and parent in by_urn and parent not in seen:
            seen.add(parent)
            yield parent
            parent = by_urn[parent].parent

    def up() -> None:
        found: dict[str, set[str]] = {}
        for resource in listed:
            cluster = owner[resource.urn]
            if resource.custom and cluster is not None:
                for parent in ancestors(resource):
                    found.setdefault(parent, set()).add(cluster)
        for urn, names in found.items():
            if owner[urn] is None and len(names) == 1:
                owner[urn] = next(iter(names))

    def down() -> None:
        for resource in listed:
            if owner[resource.urn] is None:
                for parent in ancestors(resource):
                    if owner[parent] is not None:
                        owner[resource.urn] = owner[parent]
                        break

    up()
    down()
    for resource in listed:
        provider = resource.provider
        if provider is not None and provider in owner and owner[provider] is not None:
            owner[resource.urn] = owner[provider]
    up()
    down()
    return owner
