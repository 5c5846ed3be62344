"""Which cluster owns each resource of a rendering (`components.ownership.owners` over it).

The one entry point the CLI, graph, critical path, safety checks and provenance use; the
clusters are the ones the program exports (the `clusters` stack output).
"""

from __future__ import annotations

from typing import Any

from .components.ownership import CLUSTER_LABEL, Recorded, owners, recorded_labels
from .engine import Rendering, revealed


def exported_clusters(rendering: Rendering) -> dict[str, Any]:
    """{name: kubeconfig (revealed)} of the clusters the `clusters` stack output exports."""
    outputs = rendering.stack_outputs if isinstance(rendering.stack_outputs, dict) else {}
    described = outputs.get("clusters")
    if not isinstance(described, dict):
        return {}
    return {
        name: revealed(info.get("kubeconfig")) if isinstance(info, dict) else None
        for name, info in sorted(described.items())
    }


def cluster_owners(rendering: Rendering) -> dict[str, str | None]:
    """{URN: owning cluster name, or None} for every resource of `rendering`."""
    records = []
    for resource in rendering.resources:
        inputs = revealed(resource.inputs)
        records.append(
            Recorded(
                urn=resource.urn,
                parent=resource.parent,
                provider=resource.provider,
                custom=resource.custom,
                cluster_label=recorded_labels(inputs).get(CLUSTER_LABEL),
                kubeconfig=inputs.get("kubeconfig"),
            )
        )
    return owners(records, exported_clusters(rendering))
