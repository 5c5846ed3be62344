"""Helpers of the tenancy tests: the rendered objects and cloud resources of one kind.

A tenant takes any `ClusterInfo`: build one with `cluster` and `pool` (the one builder of the
component tests, `platform_clusters`), inside a program function.
"""

from __future__ import annotations

from typing import Any

from platform_clusters import cluster, pool

from tkestack import engine

__all__ = ["cloud_resources", "cluster", "objects", "pool"]


def objects(rendering: engine.Rendering, kind: str) -> list[dict[str, Any]]:
    """The rendered Kubernetes objects of one kind (plain dicts, as applied)."""
    return [doc for _, doc in engine.kubernetes_objects(rendering) if doc["kind"] == kind]


def cloud_resources(rendering: engine.Rendering, type_: str) -> list[engine.RenderedResource]:
    """Rendered resources of one type token."""
    return rendering.of_type(type_)
