"""NetworkPolicy pieces the platform components share (plain specs, no resources).

Every platform namespace gets ingress policies that admit exactly what its charts' pods are
called on (the ports read from each chart's templates, cited where the specs are built:
components/observability.py, gpu_stack.py, registry.py). Egress is left open: Prometheus scrapes
out, Fluent Bit pushes out, Trivy downloads its database. Node-local traffic (kubelet probes)
is always allowed and hostNetwork pods are not subject to policies
(https://kubernetes.io/docs/concepts/services-networking/network-policies/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from .addon import chart_pin

METRICS_NAMESPACE = chart_pin("kube-prometheus-stack").namespace
"""Where Prometheus runs (the kube-prometheus-stack pin's namespace): the one source that
scrapes the platform's metrics ports."""

NAMESPACE_LABEL = "kubernetes.io/metadata.name"
"""The label the API server sets on every namespace (Kubernetes 1.22+) to its name."""


def namespace_peer(namespace: str) -> dict[str, Any]:
    """A NetworkPolicy peer: every pod of `namespace`."""
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}}}


def pod_peer(labels: Mapping[str, str]) -> dict[str, Any]:
    """A NetworkPolicy peer: the pods of the policy's own namespace carrying `labels`."""
    return {"podSelector": {"matchLabels": dict(labels)}}


def tcp(*ports: int) -> list[dict[str, Any]]:
    """NetworkPolicy ports: each of `ports` over TCP."""
    return [{"port": port, "protocol": "TCP"} for port in ports]


def ingress_policy(
    pods: Mapping[str, str] | None, rules: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """An ingress-only policy spec for the pods carrying `pods` (every pod of the namespace
    when None): only what `rules` admit reaches them (nothing when there is no rule)."""
    return {
        "podSelector": {"matchLabels": dict(pods)} if pods is not None else {},
        "policyTypes": ["Ingress"],
        "ingress": [dict(rule) for rule in rules],
    }


def create_network_policies(
    name: str,
    specs: Mapping[str, Mapping[str, Mapping[str, Any]]],
    opts: pulumi.ResourceOptions,
    namespaces: Mapping[str, pulumi.Input[str]] | None = None,
    depends_on: Mapping[str, Sequence[pulumi.Resource]] | None = None,
) -> list[k8s.networking.v1.NetworkPolicy]:
    """One NetworkPolicy `tkestack-<role>` per (namespace, role) of `specs`, named
    `<name>-<namespace>-<role>`. `namespaces` maps a namespace to the Output naming it when a
    resource of the component creates it; `depends_on` adds, per namespace, what must exist
    first (the release whose Helm creates the namespace)."""
    created: list[k8s.networking.v1.NetworkPolicy] = []
    for namespace, policies in specs.items():
        for role, spec in policies.items():
            created.append(
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{namespace}-{role}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=f"tkestack-{role}",
                        namespace=(namespaces or {}).get(namespace, namespace),
                    ),
                    # The specs are plain dicts in the API's camelCase shape, which the SDK
                    # accepts; its TypedDict cannot be spelled from data, hence the cast.
                    spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, dict(spec)),
                    opts=pulumi.ResourceOptions.merge(
                        opts,
                        pulumi.ResourceOptions(
                            depends_on=list((depends_on or {}).get(namespace, ()))
                        ),
                    ),
                )
            )
    return created
