"""Cloud limits on the names and options components create: plain data and checks, no Pulumi
import (the spec rules reuse them with config paths; the components with property paths).
Each limit cites where it comes from."""

from __future__ import annotations

from .validation import KeyPath, Problem

TKE_POOL_NAME_MAX = 25
"""TKE node pool names are at most 25 characters: tencentcloud_iac_pulumi 0.2.3
(terraform-provider-tencentcloud v1.82.42) kubernetes/node_pool.py, `name`: "The name does not
exceed 25 characters". The backend passes the pool name as is."""
EKS_NODE_GROUP_NAME_MAX = 63
"""EKS node group names are at most 63 characters: pulumi-aws 7.51.1 eks/node_group.py,
`node_group_name`: "can't be longer than 63 characters"."""
EKS_NODE_GROUP_SUFFIX = len("-node-group") + 8
"""The EKS backend names the node group resource `<pool resource>-node-group`, and pulumi-aws
auto-names `nodeGroupName` from it with a `-` and 7 random characters
(pulumi/pulumi-aws provider/resources.go: `"node_group_name": tfbridge.AutoName(
"nodeGroupName", 255, "-")`)."""


def pool_name_problems(cloud: str, resource_name: str, name: str, at: KeyPath) -> list[Problem]:
    """The cloud's limits on the names a pool gets (`resource_name`: the `NodePool`'s)."""
    problems: list[Problem] = []
    if cloud == "tencentcloud" and len(name) > TKE_POOL_NAME_MAX:
        problems.append(
            Problem(
                at,
                f"{name!r} is {len(name)} characters; TKE node pool names are at most"
                f" {TKE_POOL_NAME_MAX}",
            )
        )
    if cloud == "aws" and len(resource_name) + EKS_NODE_GROUP_SUFFIX > EKS_NODE_GROUP_NAME_MAX:
        length = len(resource_name) + EKS_NODE_GROUP_SUFFIX
        problems.append(
            Problem(
                at,
                f"the node group name '{resource_name}-node-group-xxxxxxx' would be {length}"
                f" characters; EKS allows {EKS_NODE_GROUP_NAME_MAX}: shorten the pool or"
                " cluster name",
            )
        )
    return problems


UPSTREAMS_NEEDING_CREDENTIALS = frozenset({"docker-hub", "ghcr"})
"""Upstreams ECR only caches with a Secrets Manager credential (`ecr-pullthroughcache/...`)."""
