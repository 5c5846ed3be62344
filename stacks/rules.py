"""Rules that relate several fields of the environment spec.

They run over the merged (layered) spec as plain data, next to pydantic's structural
validation, so that one pass reports every problem with the exact key it concerns. Each rule
looks only at the objects that are themselves well-formed (validated one by one with their
model); whatever is malformed is already reported by pydantic.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..components import catalog
from ..components.catalog import tke as tke_catalog
from ..components.limits import UPSTREAMS_NEEDING_CREDENTIALS, pool_name_problems
from ..components.validation import as_object, is_array, is_object, label_problems, taint_problems
from .problems import KeyPath, Problem
from .rules_access import bootstrap_problems, deployer_problems
from .spec import (
    ClusterSpec,
    EndpointSpec,
    IdentitySpec,
    NetworkSpec,
    NodePoolConfig,
    RegistrySpec,
    TenantSpec,
    minor_version_number,
    supported_versions,
)
from .suggest import closest

Model = TypeVar("Model", bound=BaseModel)


def _valid(model: type[Model], value: Any) -> Model | None:
    """`value` as `model` when it is well-formed on its own, else None (pydantic reports it)."""
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _items(value: Any) -> Iterator[tuple[int, Any]]:
    return enumerate(value) if is_array(value) else iter(())


def environment_problems(env: Any) -> list[Problem]:
    """Every cross-field problem of a merged environment value (a dict from YAML)."""
    if not is_object(env):
        return []
    problems: list[Problem] = []
    tier = env.get("tier")
    raw_allowed = env.get("allowed_regions")
    allowed_regions = (
        [region for region in raw_allowed if isinstance(region, str)]
        if is_array(raw_allowed)
        else []
    )
    clusters: dict[str, ClusterSpec] = {}
    seen_names: dict[str, int] = {}
    raw_gpu = env.get("gpu")
    installs_gpu_driver = not (is_object(raw_gpu) and raw_gpu.get("driver") == "operator")
    for index, raw_cluster in _items(env.get("clusters")):
        at: KeyPath = ("clusters", index)
        if not is_object(raw_cluster):
            continue
        name = raw_cluster.get("name")
        if isinstance(name, str):
            if name in seen_names:
                problems.append(
                    Problem(
                        (*at, "name"),
                        f"cluster name {name!r} is already used by clusters[{seen_names[name]}]",
                    )
                )
            else:
                seen_names[name] = index
        problems.extend(_cluster_problems(raw_cluster, at, allowed_regions, tier))
        problems.extend(_cloud_cluster_problems(raw_cluster, at, installs_gpu_driver))
        cluster = _valid(ClusterSpec, raw_cluster)
        if cluster is not None and cluster.name not in clusters:
            clusters[cluster.name] = cluster
    problems.extend(_network_overlaps(env.get("clusters")))
    problems.extend(_gpu_driver_problems(env.get("gpu"), clusters))
    problems.extend(_tenant_problems(env.get("tenants"), clusters, tier))
    problems.extend(_tenant_capacity_problems(env.get("tenants"), clusters, tier))
    problems.extend(_identity_problems(env.get("identity"), env.get("tenants")))
    problems.extend(_account_problems(env.get("identity"), env.get("clusters")))
    problems.extend(_observability_exposure_problems(env.get("observability"), env.get("clusters")))
    problems.extend(_harbor_exposure_problems(env.get("registry"), env.get("clusters")))
    problems.extend(_tcr_name_problems(env, clusters))
    problems.extend(_offered_option_problems(env))
    problems.extend(_replication_problems(env.get("registry"), env.get("clusters")))
    # Reach and prerequisites (issue 14): stacks/rules_access.py.
    problems.extend(deployer_problems(env))
    problems.extend(bootstrap_problems(env))
    observability = env.get("observability")
    if is_object(observability):
        central = observability.get("central_cluster")
        if isinstance(central, str) and central not in seen_names:
            problems.append(
                Problem(
                    ("observability", "central_cluster"),
                    f"no cluster named {central!r} in this environment",
                )
            )
    for index, region in _items(allowed_regions):
        known = any(region in catalog.regions(cloud) for cloud in ("aws", "tencentcloud"))
        if isinstance(region, str) and not known:
            problems.append(Problem(("allowed_regions", index), f"unknown region {region!r}"))
    return problems


def _cluster_problems(
    raw: dict[str, Any], at: KeyPath, allowed_regions: list[str], tier: Any
) -> list[Problem]:
    problems: list[Problem] = []
    cloud = raw.get("cloud")
    if cloud not in ("aws", "tencentcloud", "attached"):
        return problems  # pydantic reports the cloud itself
    region = raw.get("region")
    network = _valid(NetworkSpec, raw.get("network", {}))
    if cloud == "attached":
        if raw.get("attached") is None:
            problems.append(
                Problem((*at, "attached"), "an attached cluster needs attached.kubeconfig_secret")
            )
        if network is not None and network.vpc_cidr is not None:
            problems.append(
                Problem(
                    (*at, "network", "vpc_cidr"),
                    "vpc_cidr does not apply to an attached cluster: its network is not ours",
                )
            )
    else:
        if raw.get("attached") is not None:
            problems.append(
                Problem((*at, "attached"), f"applies only to cloud: attached, not {cloud}")
            )
        if region is None:
            problems.append(Problem((*at, "region"), f"required for cloud {cloud}"))
        elif isinstance(region, str) and region not in catalog.regions(cloud):
            problems.append(Problem((*at, "region"), _unknown_region(cloud, region)))
        elif allowed_regions and region not in allowed_regions:
            problems.append(
                Problem(
                    (*at, "region"),
                    f"{region!r} is not in allowed_regions ({', '.join(allowed_regions)})",
                )
            )
        if network is not None and network.vpc_cidr is None:
            problems.append(
                Problem(
                    (*at, "network", "vpc_cidr"),
                    "required for a cluster whose VPC we create (a /16 to /24 IPv4 CIDR)",
                )
            )
        if network is not None and network.availability_zone_ids is not None:
            zones_at: KeyPath = (*at, "network", "availability_zone_ids")
            if cloud != "aws":
                problems.append(Problem(zones_at, f"AWS zone IDs; not for cloud {cloud}"))
            else:
                for message in catalog.zone_id_problems(
                    network.availability_zone_ids, region if isinstance(region, str) else None
                ):
                    problems.append(Problem(zones_at, message))
    version = raw.get("kubernetes_version")
    cluster_minor: int | None = None
    if isinstance(version, str):
        try:
            cluster_minor = minor_version_number(version)
        except ValueError:
            cluster_minor = None  # pydantic reports the format
        supported = supported_versions(cloud)
        if cluster_minor is not None and version not in supported:
            problems.append(
                Problem(
                    (*at, "kubernetes_version"),
                    f"{version} is outside the supported window for {cloud}:"
                    f" {', '.join(supported)}",
                )
            )
    endpoint = _valid(EndpointSpec, raw.get("endpoint", {}))
    if endpoint is not None:
        if endpoint.exposure != "private" and not endpoint.public_access_cidrs:
            problems.append(
                Problem(
                    (*at, "endpoint", "public_access_cidrs"),
                    "a public endpoint needs the internet CIDRs allowed to reach it"
                    " (write 0.0.0.0/0 out if that is really meant)",
                )
            )
        if endpoint.exposure == "private" and endpoint.public_access_cidrs:
            problems.append(
                Problem(
                    (*at, "endpoint", "public_access_cidrs"),
                    "applies only to a public endpoint (exposure is private)",
                )
            )
    pool_names: dict[str, int] = {}
    for index, raw_pool in _items(raw.get("node_pools")):
        pool_at: KeyPath = (*at, "node_pools", index)
        pool = _valid(NodePoolConfig, raw_pool)
        if pool is None:
            continue
        if pool.name in pool_names:
            problems.append(
                Problem(
                    (*pool_at, "name"),
                    f"pool name {pool.name!r} is already used by"
                    f" node_pools[{pool_names[pool.name]}]",
                )
            )
        else:
            pool_names[pool.name] = index
        problems.extend(_pool_problems(pool, pool_at, cloud, cluster_minor))
    return problems


def _unknown_region(cloud: str, region: str) -> str:
    """Why `region` is refused: the reason the catalog records for leaving it out, or a
    "did you mean" for a typo, then the known regions."""
    known = catalog.regions(cloud)
    reason = catalog.excluded_regions(cloud).get(region)
    if reason is not None:
        return (
            f"{region!r} is excluded from the {cloud} catalog: {reason}"
            f" (components/catalog/regions.yaml; known: {', '.join(known)})"
        )
    suggestion = closest(region, known)
    hint = f"; did you mean {suggestion!r}?" if suggestion else ""
    return f"{region!r} is not a known {cloud} region{hint} (known: {', '.join(known)})"


def _pool_problems(
    pool: NodePoolConfig, at: KeyPath, cloud: str, cluster_minor: int | None
) -> list[Problem]:
    problems: list[Problem] = []
    if pool.min_size > pool.max_size:
        problems.append(
            Problem((*at, "max_size"), f"{pool.max_size} is below min_size ({pool.min_size})")
        )
    elif pool.desired_size is not None and not (
        pool.min_size <= pool.desired_size <= pool.max_size
    ):
        problems.append(
            Problem(
                (*at, "desired_size"),
                f"{pool.desired_size} is outside min_size..max_size"
                f" ({pool.min_size}..{pool.max_size})",
            )
        )
    accelerator = pool.accelerator
    if (
        accelerator is not None
        and accelerator.replicas is not None
        and accelerator.sharing != "time-slicing"
    ):
        problems.append(
            Problem(
                (*at, "accelerator", "replicas"),
                f"applies only to sharing: time-slicing (sharing is {accelerator.sharing})",
            )
        )
    if pool.kubernetes_version is not None and cluster_minor is not None:
        try:
            pool_minor = minor_version_number(pool.kubernetes_version)
        except ValueError:
            pool_minor = None
        if pool_minor is not None and pool_minor > cluster_minor:
            problems.append(
                Problem(
                    (*at, "kubernetes_version"),
                    f"1.{pool_minor} is ahead of the control plane (1.{cluster_minor});"
                    " pools follow the control plane",
                )
            )
        elif pool_minor is not None and cluster_minor - pool_minor > 1:
            problems.append(
                Problem(
                    (*at, "kubernetes_version"),
                    f"1.{pool_minor} is more than one minor version behind the control plane"
                    f" (1.{cluster_minor}); upgrade the pool first",
                )
            )
    # Kubernetes' label and taint syntax, as the NodePool component checks it.
    problems.extend(label_problems(dict(pool.labels), (*at, "labels")))
    for index, taint in enumerate(pool.taints):
        problems.extend(
            taint_problems(taint.key, taint.value, taint.effect, (*at, "taints", index))
        )
    if cloud == "attached":
        if pool.spot:
            problems.append(
                Problem((*at, "spot"), "spot capacity is not ours to choose on an attached cluster")
            )
        if pool.architecture is None:
            problems.append(
                Problem(
                    (*at, "architecture"),
                    "required on attached clusters: their hardware is not in the catalog",
                )
            )
        return problems
    problems.extend(_hardware_problems(pool, at, cloud))
    return problems


def _hardware_problems(pool: NodePoolConfig, at: KeyPath, cloud: str) -> list[Problem]:
    """Instance types against the catalog: known, one architecture, GPUs matching the spec."""
    problems: list[Problem] = []
    known: list[tuple[int, catalog.InstanceType]] = []
    for index, type_name in enumerate(pool.instance_types):
        found = catalog.instance_type(cloud, type_name)
        if found is None:
            problems.append(
                Problem(
                    (*at, "instance_types", index),
                    f"{type_name!r} is not a {cloud} instance type in the catalog"
                    " (components/catalog/instances.yaml)",
                )
            )
        else:
            known.append((index, found))
    architectures = sorted({found.architecture for _, found in known})
    if len(architectures) > 1:
        detail = ", ".join(f"{found.name} ({found.architecture})" for _, found in known)
        problems.append(
            Problem(
                (*at, "instance_types"),
                f"mixes architectures ({detail}); one pool is one architecture",
            )
        )
    elif architectures and pool.architecture is not None and pool.architecture != architectures[0]:
        problems.append(
            Problem(
                (*at, "architecture"),
                f"says {pool.architecture} but the instance types are {architectures[0]}",
            )
        )
    accelerator = pool.accelerator
    for index, found in known:
        if accelerator is None:
            if found.gpu_count:
                problems.append(
                    Problem(
                        (*at, "instance_types", index),
                        f"{found.name} has {found.gpu_count} {found.gpu_model} GPU(s): declare"
                        " `accelerator` so the pool gets the GPU image, labels and taint",
                    )
                )
            continue
        if found.gpu_model != accelerator.model:
            has = f"{found.gpu_count} {found.gpu_model}" if found.gpu_count else "no GPU"
            problems.append(
                Problem(
                    (*at, "instance_types", index),
                    f"{found.name} has {has}, not the {accelerator.model} the accelerator asks for",
                )
            )
        elif accelerator.count is not None and found.gpu_count != accelerator.count:
            problems.append(
                Problem(
                    (*at, "accelerator", "count"),
                    f"{accelerator.count} GPUs per node, but {found.name} has {found.gpu_count}",
                )
            )
    gpu_counts = {found.gpu_count for _, found in known if accelerator is not None}
    if accelerator is not None and accelerator.count is None and len(gpu_counts) > 1:
        problems.append(
            Problem(
                (*at, "instance_types"),
                "instance types with different GPU counts in one pool; split the pool",
            )
        )
    return problems


def _network_overlaps(raw_clusters: Any) -> list[Problem]:
    """VPC and pod CIDRs are routable: no two clusters of an environment may overlap."""
    problems: list[Problem] = []
    seen: list[tuple[ipaddress.IPv4Network, str]] = []
    for index, raw in _items(raw_clusters):
        if not is_object(raw):
            continue
        network = _valid(NetworkSpec, raw.get("network", {}))
        if network is None:
            continue
        own = [(key, cidr) for key in ("vpc_cidr", "pod_cidr") if (cidr := getattr(network, key))]
        derived = tke_pod_cidr(network) if raw.get("cloud") == "tencentcloud" else None
        if network.pod_cidr is None and derived is not None:
            own.append(("pod_cidr", derived))
        for key, cidr in own:
            where = f"clusters[{index}].network.{key}"
            derived = key == "pod_cidr" and network.pod_cidr is None
            if derived:
                where += ", derived"
            for other, other_where in seen:
                if cidr.overlaps(other):
                    note = " (derived from vpc_cidr: set pod_cidr to choose another)"
                    problems.append(
                        Problem(
                            ("clusters", index, "network", key),
                            f"{cidr}{note if derived else ''} overlaps {other} ({other_where})",
                        )
                    )
            seen.append((cidr, where))
        if network.service_cidr is not None:
            for key, cidr in own:
                if network.service_cidr.overlaps(cidr):
                    problems.append(
                        Problem(
                            ("clusters", index, "network", "service_cidr"),
                            f"{network.service_cidr} overlaps this cluster's {key} ({cidr})",
                        )
                    )
    return problems


def _tenant_problems(
    raw_tenants: Any, clusters: dict[str, ClusterSpec], tier: Any
) -> list[Problem]:
    problems: list[Problem] = []
    names: dict[str, int] = {}
    namespaces: dict[tuple[str, str], str] = {}
    for index, raw in _items(raw_tenants):
        at: KeyPath = ("tenants", index)
        tenant = _valid(TenantSpec, raw)
        if tenant is None:
            continue
        if tenant.name in names:
            problems.append(
                Problem(
                    (*at, "name"),
                    f"tenant {tenant.name!r} is already declared at tenants[{names[tenant.name]}]",
                )
            )
            continue
        names[tenant.name] = index
        if tenant.pod_security == "baseline" and not tenant.pod_security_reason:
            problems.append(
                Problem(
                    (*at, "pod_security_reason"),
                    "pod_security: baseline needs the reason written down",
                )
            )
        for cluster_index, cluster_name in enumerate(tenant.clusters):
            cluster = clusters.get(cluster_name)
            if cluster is None:
                problems.append(
                    Problem(
                        (*at, "clusters", cluster_index),
                        f"no cluster named {cluster_name!r} in this environment"
                        f" (clusters: {', '.join(sorted(clusters)) or 'none valid'})",
                    )
                )
                continue
            for ns_index, namespace in enumerate(tenant.namespaces or [tenant.name]):
                owner = namespaces.get((cluster_name, namespace))
                if owner is not None:
                    path = (*at, "namespaces", ns_index) if tenant.namespaces else (*at, "name")
                    problems.append(
                        Problem(
                            path,
                            f"namespace {namespace!r} on cluster {cluster_name!r} already belongs"
                            f" to tenant {owner!r}",
                        )
                    )
                namespaces[(cluster_name, namespace)] = tenant.name
            gpu_pools = [pool for pool in cluster.node_pools if pool.accelerator is not None]
            if tenant.quota.gpus and not gpu_pools:
                problems.append(
                    Problem(
                        (*at, "quota", "gpus"),
                        f"cluster {cluster_name!r} has no GPU pool for a GPU quota",
                    )
                )
            hami_pools = [p for p in gpu_pools if p.accelerator and p.accelerator.sharing == "hami"]
            if tenant.quota.gpu_memory_mib and not hami_pools:
                problems.append(
                    Problem(
                        (*at, "quota", "gpu_memory_mib"),
                        f"cluster {cluster_name!r} has no HAMi-shared GPU pool for a GPU memory"
                        " quota",
                    )
                )
    return problems


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$")
_QUANTITY_FACTORS = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
}


def _quantity(value: str) -> float:
    """A Kubernetes quantity as a number (`"500m"` -> 0.5, `"2Gi"` -> 2147483648)."""
    match = _QUANTITY.match(value)
    if match is None:  # the spec model already refused it
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return float(match.group(1)) * _QUANTITY_FACTORS[match.group(2)]


def _tenant_capacity_problems(
    raw_tenants: Any, clusters: dict[str, ClusterSpec], tier: Any
) -> list[Problem]:
    """Quotas of every tenant on a cluster (quota x namespaces) against the cluster's maximum
    capacity (sum of pool max_size x the smallest instance type's vCPU and memory). A warning
    in dev and staging, where overcommitting quotas is a choice; an error in prod."""
    severity = "error" if tier == "prod" else "warning"
    demand: dict[str, list[tuple[int, TenantSpec]]] = {}
    for index, raw in _items(raw_tenants):
        tenant = _valid(TenantSpec, raw)
        if tenant is None:
            continue
        for cluster_name in dict.fromkeys(tenant.clusters):
            if cluster_name in clusters:
                demand.setdefault(cluster_name, []).append((index, tenant))
    problems: list[Problem] = []
    for cluster_name, placed in demand.items():
        cluster = clusters[cluster_name]
        if cluster.cloud == "attached":
            continue  # its hardware is not in the catalog: capacity unknown
        capacity = {"cpu": 0.0, "memory": 0.0}
        hami_mib = 0.0
        for pool in cluster.node_pools:
            types = [catalog.instance_type(cluster.cloud, name) for name in pool.instance_types]
            known = [found for found in types if found is not None]
            if len(known) != len(types):
                continue  # unknown instance types are reported with their own path
            capacity["cpu"] += pool.max_size * min(found.vcpu for found in known)
            capacity["memory"] += pool.max_size * min(found.memory_gib for found in known)
            if pool.accelerator is not None and pool.accelerator.sharing == "hami":
                hami_mib += pool.max_size * min(
                    found.gpu_count * found.gpu_memory_gib * 1024 for found in known
                )
        problems.extend(_gpu_memory_capacity_problems(cluster_name, placed, hami_mib))
        for resource, unit in (("cpu", "vCPU"), ("memory", "GiB")):
            shares: list[tuple[int, TenantSpec, float]] = []
            for index, tenant in placed:
                per_namespace = _quantity(getattr(tenant.quota, resource))
                if resource == "memory":
                    per_namespace /= 2.0**30
                shares.append((index, tenant, per_namespace * (len(tenant.namespaces) or 1)))
            total = sum(share for _, _, share in shares)
            if total <= capacity[resource] + 1e-9:
                continue
            detail = ", ".join(
                f"{tenant.name} {share:g} ({getattr(tenant.quota, resource)}"
                f" x {(len(tenant.namespaces) or 1)} namespace(s))"
                for _, tenant, share in shares
            )
            last_index = shares[-1][0]
            problems.append(
                Problem(
                    ("tenants", last_index, "quota", resource),
                    f"tenants on cluster {cluster_name!r} may request {total:g} {unit} in total"
                    f" ({detail}), over the cluster's maximum capacity of"
                    f" {capacity[resource]:g} {unit} (node pools at max_size)",
                    severity=severity,
                )
            )
    return problems


def _gpu_memory_capacity_problems(
    cluster_name: str, placed: list[tuple[int, TenantSpec]], capacity_mib: float
) -> list[Problem]:
    """A tenant's HAMi GPU memory quota (per namespace) above the GPU memory of the cluster's
    HAMi pools at max_size: a quota no pod could ever reach is a mistake (GiB for MiB), and
    the Tenant component refuses it too. Clusters without HAMi pools are reported by
    `_tenant_problems`."""
    if not capacity_mib:
        return []
    return [
        Problem(
            ("tenants", index, "quota", "gpu_memory_mib"),
            f"{tenant.quota.gpu_memory_mib} MiB of GPU memory is more than the"
            f" {capacity_mib:g} MiB the HAMi pools of cluster {cluster_name!r} hold at max_size",
        )
        for index, tenant in placed
        if tenant.quota.gpu_memory_mib > capacity_mib
    ]


_GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+=,.@_-]{0,47}$")
"""Group names become IAM role names, Kubernetes group names and resource names
(components/identity.py GROUP_NAME)."""


ACCOUNT_KEYS: dict[str, tuple[str, str]] = {
    "aws": ("aws_account_id", "the AWS account of its EKS clusters (12 digits)"),
    "tencentcloud": ("tencent_uin", "the Tencent Cloud root account UIN"),
}
"""Per cloud: the `identity` key naming the environment's account, and what it is. No default
could be right: the providers refuse any account but the configured one."""


def _account_problems(raw_identity: Any, raw_clusters: Any) -> list[Problem]:
    """`identity.aws_account_id` / `identity.tencent_uin` are set when a cluster is on that
    cloud (placeholders would make the real providers refuse the real account)."""
    identity = as_object(raw_identity)
    clouds = {
        raw["cloud"]
        for _, raw in _items(raw_clusters)
        if is_object(raw) and isinstance(raw.get("cloud"), str)
    }
    problems: list[Problem] = []
    for cloud, (key, meaning) in ACCOUNT_KEYS.items():
        if cloud in clouds and identity.get(key) is None:
            problems.append(
                Problem(
                    ("identity", key),
                    f"required when a cluster is on {cloud}: {meaning}",
                )
            )
    return problems


def _identity_problems(raw_identity: Any, raw_tenants: Any) -> list[Problem]:
    """The role ARN pattern is usable, group names can be mapped on every cloud, the deployer
    role is not the break-glass role, and no tenant group maps onto either of them (the only
    two admin identities: EKS rejects a second access entry for the same role)."""
    problems: list[Problem] = []
    identity = _valid(IdentitySpec, raw_identity if raw_identity is not None else {})
    pattern_ok = False
    if identity is not None and identity.deployer_role == identity.break_glass_role:
        problems.append(
            Problem(
                ("identity", "deployer_role"),
                f"{identity.deployer_role!r} is also the break-glass role: the role Pulumi runs as"
                " and the emergency role must be two roles",
            )
        )
    if identity is not None:
        fields = {
            name
            for _, name, _, _ in string.Formatter().parse(identity.aws_role_arn_pattern)
            if name is not None
        }
        if "group" not in fields or fields - {"account", "group"}:
            problems.append(
                Problem(
                    ("identity", "aws_role_arn_pattern"),
                    "must contain {group} and no placeholder but {account} and {group}",
                )
            )
        else:
            pattern_ok = True
    for index, raw in _items(raw_tenants):
        tenant = _valid(TenantSpec, raw)
        if tenant is None:
            continue
        for level in ("admins", "developers", "viewers"):
            for group_index, group in enumerate(getattr(tenant.groups, level)):
                at: KeyPath = ("tenants", index, "groups", level, group_index)
                if not _GROUP_NAME.match(group):
                    problems.append(
                        Problem(
                            at,
                            f"{group!r} cannot be mapped to a cloud role and Kubernetes group:"
                            " letters, digits and + = , . @ _ - only, at most 48 characters",
                        )
                    )
                    continue
                if identity is None:
                    continue
                for purpose, role in (
                    ("break-glass", identity.break_glass_role),
                    ("deployer", identity.deployer_role),
                ):
                    same_role = (
                        pattern_ok
                        and identity.aws_account_id is not None
                        and identity.aws_role_arn_pattern.format(
                            account=identity.aws_account_id, group=group
                        )
                        == f"arn:aws:iam::{identity.aws_account_id}:role/{role}"
                    )
                    if group == role or same_role:
                        problems.append(
                            Problem(
                                at,
                                f"{group!r} would map onto the {purpose} role {role!r}: only"
                                " the break-glass and deployer roles may hold cluster-admin",
                            )
                        )
    return problems


# -- what the cloud backends (components/clouds/) can build --------------------------------

PRIVATE_NETWORKS = tuple(
    ipaddress.IPv4Network(cidr) for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


def tke_pod_cidr(network: NetworkSpec) -> ipaddress.IPv4Network | None:
    """A TKE cluster's pod CIDR (global router): `network.pod_cidr`, else derived from the
    cluster's own VPC CIDR alone (so adding or removing another cluster never moves it): a VPC
    in 10.0.0.0/8 gets 172.(16 + second octet % 16).0.0/16, any other VPC 10.(second octet)
    .0.0/16. Overlaps with other clusters are reported like those of explicit CIDRs."""
    if network.pod_cidr is not None:
        return network.pod_cidr
    if network.vpc_cidr is None:
        return None
    second_octet = network.vpc_cidr.network_address.packed[1]
    if network.vpc_cidr.subnet_of(PRIVATE_NETWORKS[0]):
        return ipaddress.IPv4Network(f"172.{16 + second_octet % 16}.0.0/16")
    return ipaddress.IPv4Network(f"10.{second_octet}.0.0/16")


def _tke_pool_problems(
    pool: NodePoolConfig, at: KeyPath, cloud: str, installs_gpu_driver: bool
) -> list[Problem]:
    """A TKE pool's image and GPU driver: named where tkestack cannot verify a default
    (components/catalog/tke.py has the sources); the keys are refused on other clouds."""
    if cloud != "tencentcloud":
        return [
            Problem((*at, key), "applies only to tencentcloud pools")
            for key in ("node_image", "gpu_driver")
            if getattr(pool, key) is not None
        ]
    architecture = pool.architecture
    if architecture is None:
        known = {
            found.architecture
            for name in pool.instance_types
            if (found := catalog.instance_type(cloud, name)) is not None
        }
        architecture = known.pop() if len(known) == 1 else None  # else reported elsewhere
    problems: list[Problem] = []
    if architecture is not None:
        problems.extend(
            Problem((*at, "node_image"), problem)
            for problem in tke_catalog.node_image_problems(architecture, pool.node_image)
        )
    installs = installs_gpu_driver and pool.accelerator is not None
    if installs and pool.gpu_driver is None:
        problems.append(
            Problem(
                (*at, "gpu_driver"),
                "required: TKE installs the NVIDIA driver on this GPU pool (gpu.driver: image),"
                " and which driver and CUDA packages it offers depends on the image and GPU"
                " model (unverified here); name the ones TKE's node pool form lists, or set"
                " gpu.driver: operator",
            )
        )
    elif pool.gpu_driver is not None and not installs:
        problems.append(
            Problem(
                (*at, "gpu_driver"),
                "applies only to GPU pools whose driver TKE installs (gpu.driver: image)",
            )
        )
    if pool.gpu_driver is not None:
        problems.extend(
            Problem((*at, "gpu_driver", key), problem)
            for key, problem in tke_catalog.gpu_driver_problems(pool.gpu_driver.model_dump())
        )
    return problems


def _service_range_problems(network: NetworkSpec, at: KeyPath, cloud: str) -> list[Problem]:
    """Where a cluster's service IPs come from: EKS a service CIDR, TKE's global router a share
    of the pod CIDR (components/catalog/tke.py, `max_services_problems`)."""
    if cloud != "tencentcloud":
        if network.max_services is not None:
            return [
                Problem(
                    (*at, "network", "max_services"),
                    "applies only to TKE (its global router takes services from pod_cidr);"
                    " EKS takes network.service_cidr",
                )
            ]
        return []
    problems: list[Problem] = []
    if network.service_cidr is not None:
        problems.append(
            Problem((*at, "network", "service_cidr"), tke_catalog.GR_SERVICE_CIDR_REFUSAL)
        )
    pod_cidr = tke_pod_cidr(network)
    if network.max_services is not None and pod_cidr is not None:
        problems.extend(
            Problem((*at, "network", "max_services"), problem)
            for problem in tke_catalog.max_services_problems(
                network.max_services, pod_cidr.num_addresses
            )
        )
    return problems


def _cloud_cluster_problems(
    raw: dict[str, Any], at: KeyPath, installs_gpu_driver: bool
) -> list[Problem]:
    """Combinations the EKS and TKE backends cannot build, with the key to change."""
    cloud = raw.get("cloud")
    cluster = _valid(ClusterSpec, raw)
    if cloud not in ("aws", "tencentcloud") or cluster is None:
        return []
    problems: list[Problem] = []
    pod_cidr = cluster.network.pod_cidr
    problems.extend(_service_range_problems(cluster.network, at, cloud))
    if cloud == "tencentcloud":
        if pod_cidr is not None and not any(
            pod_cidr.subnet_of(private) for private in PRIVATE_NETWORKS
        ):
            problems.append(
                Problem(
                    (*at, "network", "pod_cidr"),
                    f"{pod_cidr} must lie in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
                )
            )
    elif pod_cidr is not None:
        problems.append(
            Problem(
                (*at, "network", "pod_cidr"),
                "does not apply to EKS: the VPC CNI gives pods addresses of the VPC subnets",
            )
        )
    if not any(pool.min_size >= 1 for pool in cluster.node_pools):
        problems.append(
            Problem(
                (*at, "node_pools"),
                "needs a pool with min_size >= 1: CoreDNS (and on TKE the API endpoint) need a"
                " node before anything else can be installed",
            )
        )
    for index, pool in enumerate(cluster.node_pools):
        pool_at: KeyPath = (*at, "node_pools", index)
        problems.extend(_tke_pool_problems(pool, pool_at, cloud, installs_gpu_driver))
        # The cloud's name limits live with the component that creates the pool.
        problems += pool_name_problems(
            cloud, f"{cluster.name}-{pool.name}", pool.name, (*pool_at, "name")
        )
        if cloud == "tencentcloud" and (
            pool.kubernetes_version is not None
            and pool.kubernetes_version != cluster.kubernetes_version
        ):
            problems.append(
                Problem(
                    (*pool_at, "kubernetes_version"),
                    "TKE node pools run the cluster's version (they are upgraded with it);"
                    " remove the key",
                )
            )
    return problems


def _observability_exposure_problems(raw_observability: Any, raw_clusters: Any) -> list[Problem]:
    """Every other cluster pushes its metrics and logs to the central cluster's receivers over
    TLS: with more than one cluster the receivers need a DNS name and a certificate. Internal
    receivers need a way to be internal on the central cluster and the networks to admit."""
    observability = as_object(raw_observability)
    if observability.get("enabled", True) is False:
        return []
    clusters = [
        (index, cluster)
        for index, raw in _items(raw_clusters)
        if (cluster := _valid(ClusterSpec, raw)) is not None
    ]
    if len(clusters) < 2:
        return []
    central_name = observability.get("central_cluster")
    if not isinstance(central_name, str):
        central_name = clusters[0][1].name
    central = next((c for _, c in clusters if c.name == central_name), None)
    if central is None:  # an unknown central cluster is reported on its own
        return []
    problems: list[Problem] = []
    for key, what in (
        ("receiver_hostname", "the DNS name the other clusters push metrics and logs to"),
        ("receiver_tls_secret", "the secret config key holding the receivers' certificate"),
    ):
        if observability.get(key) is None:
            problems.append(
                Problem(
                    ("observability", key),
                    f"required: {what} (over TLS, no private network needed); the"
                    f" environment has {len(clusters)} clusters and the central Grafana on"
                    f" {central.name!r} reads only local data sources",
                )
            )
    if observability.get("receiver_exposure") != "internal":
        return problems
    index = next(i for i, c in clusters if c.name == central.name)
    if central.cloud == "attached" and (
        central.attached is None or central.attached.internal_address_pool is None
    ):
        problems.append(
            Problem(
                ("clusters", index, "attached", "internal_address_pool"),
                "required: internal receivers on an attached central cluster take their"
                " address from its internal MetalLB pool (or use receiver_exposure: public)",
            )
        )
    if observability.get("receiver_source_ranges") is None:
        for other_index, cluster in clusters:
            if cluster.name != central.name and cluster.network.vpc_cidr is None:
                problems.append(
                    Problem(
                        ("observability", "receiver_source_ranges"),
                        f"required: internal receivers admit the other clusters' networks,"
                        f" and clusters[{other_index}] ({cluster.name}) has no"
                        " network.vpc_cidr: list the networks it pushes from",
                    )
                )
    return problems


HARBOR_EXPOSURE_KEYS: dict[str, str] = {
    "registry_hostname": "the name the company's DNS resolves to Harbor: nodes pull through"
    " containerd, which resolves names through the node's DNS, not CoreDNS",
    "registry_tls_secret": "the secret config key holding Harbor's certificate from the"
    " company's PKI: containerd rejects a self-signed one",
    "internal_address_pool": "Harbor's LoadBalancer takes its address from the internal"
    " MetalLB pool, reachable only from the private network",
}
"""What an attached cluster's Harbor needs for its nodes to pull from it, and why."""


def _harbor_exposure_problems(raw_registry: Any, raw_clusters: Any) -> list[Problem]:
    """Nodes of an attached cluster pull from its Harbor by a DNS name over TLS: each such
    cluster names the host, its certificate and the pool of the load balancer."""
    registry = as_object(raw_registry)
    if registry.get("enabled", True) is False:
        return []
    problems: list[Problem] = []
    for index, raw in _items(raw_clusters):
        if not is_object(raw) or raw.get("cloud") != "attached":
            continue
        attached = raw.get("attached")
        if not is_object(attached):  # a missing block is reported on its own
            continue
        for key, reason in HARBOR_EXPOSURE_KEYS.items():
            if attached.get(key) is None:
                problems.append(
                    Problem(
                        ("clusters", index, "attached", key),
                        f"required while the registry is enabled: {reason}"
                        " (or set registry.enabled: false)",
                    )
                )
    return problems


def _tcr_name_problems(env: dict[str, Any], clusters: dict[str, ClusterSpec]) -> list[Problem]:
    """Every TCR instance the environment creates has a name that can be a global DNS label
    (`<name>.tencentcloudcr.com`; components/catalog/tke.py TCR_NAME)."""
    registry = as_object(env.get("registry"))
    if registry.get("enabled", True) is False:
        return []
    named = registry.get("tcr_instance_names")
    named = as_object(named)
    regions = sorted(
        {c.region for c in clusters.values() if c.cloud == "tencentcloud" and c.region}
    )
    problems: list[Problem] = []
    for region in sorted(set(named) - set(regions)):
        problems.append(
            Problem(
                ("registry", "tcr_instance_names", region),
                "no tencentcloud cluster of this environment is in that region",
            )
        )
    identity = as_object(env.get("identity"))
    for region in regions:
        name = named.get(region)
        if name is None:
            uin = identity.get("tencent_uin")
            if not isinstance(uin, str):
                continue  # the missing UIN is reported on its own
            name = f"{env.get('name')}-{region}-{uin}"
            if not tke_catalog.TCR_NAME.match(name):
                problems.append(
                    Problem(
                        ("registry", "tcr_instance_names"),
                        f"the default TCR name for {region}, {name!r}, is not a DNS label of"
                        " at most 63 characters: name the instance of that region",
                    )
                )
        elif not isinstance(name, str) or not tke_catalog.TCR_NAME.match(name):
            problems.append(
                Problem(
                    ("registry", "tcr_instance_names", region),
                    f"{name!r} is not a lower-case DNS label: it becomes {name}.tencentcloudcr.com",
                )
            )
    return problems


def _gpu_driver_problems(raw_gpu: Any, clusters: dict[str, ClusterSpec]) -> list[Problem]:
    """The GPU operator cannot install drivers on EKS nodes (Amazon Linux 2023)."""
    if not is_object(raw_gpu) or raw_gpu.get("driver") != "operator":
        return []
    eks_gpu = sorted(
        cluster.name
        for cluster in clusters.values()
        if cluster.cloud == "aws" and any(pool.accelerator for pool in cluster.node_pools)
    )
    if not eks_gpu:
        return []
    return [
        Problem(
            ("gpu", "driver"),
            f"'operator' cannot serve the EKS GPU pools of {', '.join(eks_gpu)}: EKS nodes run"
            " Amazon Linux 2023 NVIDIA AMIs, which ship the driver, and the GPU operator's"
            " driver containers do not support Amazon Linux 2023; use 'image'",
        )
    ]


def _offered_option_problems(env: dict[str, Any]) -> list[Problem]:
    """Values the spec's types allow but this distribution cannot build yet, each with what to
    write instead (they used to stop the program after the clusters were registered)."""
    problems: list[Problem] = []
    observability = env.get("observability")
    if is_object(observability) and observability.get("enabled", True) is not False:
        managed = observability.get("managed_metrics")
        if managed not in (None, "none") and isinstance(managed, str):
            problems.append(
                Problem(
                    ("observability", "managed_metrics"),
                    f"remote-write to a managed Prometheus ({managed}) is not offered yet;"
                    " use 'none' (metrics stay in each cluster's Prometheus)",
                )
            )
        if observability.get("alert_receiver_secret") is not None:
            problems.append(
                Problem(
                    ("observability", "alert_receiver_secret"),
                    "Alertmanager receivers are not wired yet; remove the key (alerts are"
                    " visible in Alertmanager and Grafana)",
                )
            )
    registry = env.get("registry")
    registry = as_object(registry)
    clouds = {
        raw.get("cloud")
        for _, raw in _items(env.get("clusters"))
        if is_object(raw) and isinstance(raw.get("cloud"), str)
    }
    if registry.get("enabled", True) is not False and "aws" in clouds:
        caches = registry.get("pull_through_caches")
        for index, upstream in _items(caches):
            if upstream in UPSTREAMS_NEEDING_CREDENTIALS:
                problems.append(
                    Problem(
                        ("registry", "pull_through_caches", index),
                        f"ECR caches {upstream} only with registry credentials, which the spec"
                        " cannot hold yet; remove it",
                    )
                )
    return problems


def _replication_problems(raw_registry: Any, raw_clusters: Any) -> list[Problem]:
    """TCR replicates to other regions only on the premium edition (the Registry component's
    rule, `components/registry.py`): with Tencent clusters in two regions and replication on,
    the edition must be premium."""
    registry = _valid(RegistrySpec, raw_registry if raw_registry is not None else {})
    if registry is None or not registry.enabled or not registry.replicate:
        return []
    regions = {
        raw.get("region")
        for _, raw in _items(raw_clusters)
        if is_object(raw)
        and raw.get("cloud") == "tencentcloud"
        and isinstance(raw.get("region"), str)
    }
    if len(regions) < 2 or registry.tencent_edition == "premium":
        return []
    return [
        Problem(
            ("registry", "tencent_edition"),
            f"Tencent clusters in {len(regions)} regions replicate images, which TCR does only"
            f" on the premium edition, not {registry.tencent_edition}: set premium, or"
            " registry.replicate: false",
        )
    ]
