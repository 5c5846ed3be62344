"""The plan: every component's own argument checks, over the arguments the composition would
pass them, on spec data alone, before anything is registered.

The spec rules (`stacks/rules.py`) check the environment; the components check their
arguments (`components/validation.py`). Both must pass before the first registration, or a
run could stop half way with clusters created. So the program runs the components' checks
first over stand-in values where only Outputs would exist (a provider, a kubeconfig, a VPC
id): checks never look inside those. Each problem is mapped back to the spec key the user
writes, so it reaches the same report (file, line, key) as the spec rules' problems.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..components.cluster import cluster_problems
from ..components.contracts import ClusterInfo
from ..components.node_pool import pool_profile
from ..components.platform_services import platform_plan
from ..components.tenant import TenantArgs, WorkloadIdentitySettings, validate_tenant_args
from ..components.validation import KeyPath, PathPart, Problem, as_problem
from .clusters import cluster_args
from .platform import ClusterNetwork, services_args
from .spec import ClusterSpec, EnvironmentSpec, GpuSpec, ObservabilitySpec, RegistrySpec
from .tenancy import tenant_quota, tenant_subjects

PLANNED = "<known after registration>"
"""Stand-in for a value only the cloud knows (ids, kubeconfigs); the checks test presence."""


class _PlannedProviders:
    """What `cluster_args` asks of `CloudProviders`, without creating a provider."""

    @dataclass(frozen=True)
    class _Credentials:
        aws_profile: str | None = None

    credentials = _Credentials()

    def for_region(self, cloud: str, region: str) -> str:
        return f"{PLANNED} ({cloud} provider of {region})"


def _secret(key: str) -> str:
    return PLANNED


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> KeyPath:
    """`node_pools[1].labels` -> `("node_pools", 1, "labels")` (the inverse of format_path)."""
    return tuple(int(index) if index else name for name, index in _PART.findall(text))


def _parts(problem: Problem) -> KeyPath:
    parts: list[PathPart] = []
    for part in problem.path:
        parts.extend(parse_path(part) if isinstance(part, str) else (part,))
    return tuple(parts)


POOL_KEYS: dict[str, KeyPath] = {
    "accelerator_model": ("accelerator", "model"),
    "accelerator_count": ("accelerator", "count"),
    "sharing": ("accelerator", "sharing"),
    "replicas": ("accelerator", "replicas"),
}
"""`NodePool` argument -> node pool spec key where they differ."""
CLUSTER_KEYS: dict[str, KeyPath] = {
    "vpc_cidr": ("network", "vpc_cidr"),
    "pod_cidr": ("network", "pod_cidr"),
    "service_cidr": ("network", "service_cidr"),
    "endpoint_exposure": ("endpoint", "exposure"),
    "public_access_cidrs": ("endpoint", "public_access_cidrs"),
    "cloud_provider": ("region",),
    "region": ("region",),
    "kubernetes_version": ("kubernetes_version",),
    "attached": ("attached",),
    "cloud": ("cloud",),
}
"""`Cluster` argument -> cluster spec key where the user sets it."""


def _cluster_key(parts: KeyPath, at: KeyPath) -> KeyPath:
    if len(parts) >= 2 and parts[0] == "node_pools" and isinstance(parts[1], int):
        rest = parts[2:]
        if rest and isinstance(rest[0], str) and rest[0] in POOL_KEYS:
            rest = (*POOL_KEYS[rest[0]], *rest[1:])
        return (*at, "node_pools", parts[1], *rest)
    if parts and parts[0] == "deployer_role_arn":
        return ("identity", "deployer_role")
    if parts and isinstance(parts[0], str) and parts[0] in CLUSTER_KEYS:
        return (*at, *CLUSTER_KEYS[parts[0]], *parts[1:])
    return at


SERVICE_SPECS: dict[str, tuple[str, Sequence[str]]] = {
    "registry": ("registry", tuple(RegistrySpec.model_fields)),
    "observability": ("observability", tuple(ObservabilitySpec.model_fields)),
    "gpu": ("gpu", tuple(GpuSpec.model_fields)),
}
"""Platform service -> its spec section and the keys the spec has for it."""


def _platform_key(parts: KeyPath, at: KeyPath) -> KeyPath:
    if len(parts) >= 2 and parts[0] in SERVICE_SPECS:
        section, keys = SERVICE_SPECS[str(parts[0])]
        if parts[1] in keys:
            return (section, *parts[1:])
    if parts and parts[0] == "addons":
        return (*at, "node_pools")  # an add-on that fits on no pool: the pools must change
    return at


def _mapped(problem: Problem, key: KeyPath, component: str) -> Problem:
    """`problem` at the spec `key`; the component's own path stays in the message."""
    where = f"{component} {problem.dotted}" if problem.path else component
    return Problem(key, f"{where}: {problem.message}", problem.severity)


TENANT_KEYS = ("namespaces", "pod_security", "pod_security_reason", "quota")
"""`Tenant` arguments named as in the tenant spec."""


def _planned_info(cluster: ClusterSpec, args: dict[str, Any]) -> ClusterInfo:
    managed = cluster.cloud != "attached"
    return ClusterInfo(
        name=cluster.name,
        cloud=cluster.cloud,
        region=cluster.region,
        kubernetes_version=cluster.kubernetes_version,
        # Why the ignore below (these 7): the plan stands in a PLANNED marker for Outputs it cannot
        # have before registration; components only check their shape, never read them
        # (docs/architecture.md, input contract).
        endpoint=PLANNED,  # type: ignore[arg-type]
        kubeconfig=PLANNED,  # type: ignore[arg-type]
        k8s_provider=PLANNED,  # type: ignore[arg-type]
        oidc_issuer=PLANNED if managed else None,  # type: ignore[arg-type]
        node_pools=[
            pool_profile(cluster.cloud, pool, bool(args.get("arm_opt_in_taint")))
            for pool in args.get("node_pools") or ()
        ],
        cloud_provider=args.get("cloud_provider"),
        cloud_cluster_id=PLANNED if managed else None,  # type: ignore[arg-type]
        vpc_id=PLANNED if managed else None,  # type: ignore[arg-type]
        node_subnet_ids=[PLANNED] if managed else [],  # type: ignore[list-item]
    )


def plan_problems(env: EnvironmentSpec) -> list[Problem]:
    """Every problem the components would raise for `env`, at spec keys; empty when the
    whole environment can be built. Registers nothing."""
    problems: list[Problem] = []
    infos: dict[str, ClusterInfo] = {}
    providers: Any = _PlannedProviders()
    for index, cluster in enumerate(env.clusters):
        at: KeyPath = ("clusters", index)
        args = cluster_args(env, cluster, providers, _secret)
        found = cluster_problems(cluster.name, args)
        for problem in found:
            problems.append(_mapped(problem, _cluster_key(_parts(problem), at), "Cluster"))
        if not found:
            infos[cluster.name] = _planned_info(cluster, dict(args))
    if problems:
        return problems  # the platform and tenants need buildable clusters
    for index, cluster in enumerate(env.clusters):
        at = ("clusters", index)
        info = infos[cluster.name]
        network = ClusterNetwork(PLANNED, PLANNED) if info.vpc_id is not None else None
        services = services_args(env, info, network, {}, [], _secret)
        _, found_text = platform_plan(services, "")
        for problem in map(as_problem, found_text):
            parts = _parts(problem)
            problems.append(_mapped(problem, _platform_key(parts, at), "PlatformServices"))
    for index, tenant in enumerate(env.tenants):
        for cluster_name in dict.fromkeys(tenant.clusters):
            info = infos.get(cluster_name)
            if info is None:
                continue
            tenant_args: TenantArgs = {
                "cluster": info,
                "tenant": tenant.name,
                "namespaces": list(tenant.namespaces) or [tenant.name],
                "pod_security": tenant.pod_security,
                "pod_security_reason": tenant.pod_security_reason,
                "quota": tenant_quota(tenant),
                "subjects": tenant_subjects(env, tenant, info),
                "workload_identity": None
                if info.cloud == "attached"
                else WorkloadIdentitySettings(account=PLANNED),
            }
            for problem in validate_tenant_args(tenant_args):
                parts = _parts(problem)
                key: KeyPath = ("tenants", index)
                if parts and parts[0] == "tenant":
                    key = (*key, "name")
                elif parts and parts[0] in TENANT_KEYS:
                    key = (*key, *parts)
                problems.append(_mapped(problem, key, f"Tenant on {cluster_name}"))
    return list(dict.fromkeys(problems))
