"""In-repo catalog of instance types, Kubernetes versions and regions per cloud.

The data lives in three YAML files next to this module (``instances.yaml``,
``kubernetes.yaml``, ``regions.yaml``); this module loads them once (``yaml``'s safe
loader, cached) and offers typed, deterministic lookups. Sources and the date of the data are
recorded in ``docs/catalog.md``.

Clouds are named ``"aws"`` and ``"tencentcloud"``.

Error behaviour:

* :func:`instance_type` is a "maybe" lookup: it returns ``None`` for an unknown instance
  type *or* an unknown cloud (so callers such as policies can ask about any cloud,
  including attached clusters), and never raises.
* Every other function raises :class:`KeyError` with a message naming the unknown value
  and the valid choices: an unknown cloud, a minor version the cloud does not support,
  or an unknown region.

Lists are returned in a stable order: instance types in file order, Kubernetes versions
ascending, regions and GPU models sorted, zones in the order the cluster uses them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

__all__ = [
    "ADDON_REQUIRES",
    "QUOTA_DEFAULTS",
    "Architecture",
    "CloudName",
    "InstanceType",
    "KubernetesVersion",
    "ManagedCloud",
    "QuotaDefaults",
    "availability_zones",
    "chart_entries",
    "charts_file",
    "clouds",
    "eks_addon_versions",
    "eks_unsupported_zone_ids",
    "gpu_models",
    "instance_type",
    "instance_types",
    "kubernetes_full_version",
    "kubernetes_version",
    "regions",
    "supported_kubernetes_versions",
    "zone_id_problems",
]

Architecture = Literal["x86_64", "arm64"]
ManagedCloud = Literal["aws", "tencentcloud"]
"""A cloud the catalog holds instance, version and region data for (managed clusters)."""
CloudName = ManagedCloud
"""Deprecated alias of `ManagedCloud`, kept for importers: `stacks.spec.CloudName` means any
cloud a cluster may be on (`attached` too), so the catalog's type has a name of its own."""

_ARCHITECTURES: frozenset[str] = frozenset({"x86_64", "arm64"})
_EKS_ADDONS: tuple[str, ...] = (
    "vpc-cni",
    "coredns",
    "kube-proxy",
    "eks-pod-identity-agent",
    "aws-ebs-csi-driver",
)


@dataclass(frozen=True)
class InstanceType:
    """One instance type (VM size) of a cloud.

    Attributes:
        cloud: ``"aws"`` or ``"tencentcloud"``.
        name: The type name exactly as the cloud API spells it (``m7g.large``, ``S5.LARGE8``).
        family: The family the type belongs to (``m7g``, ``S5``).
        vcpu: Number of vCPUs.
        memory_gib: Memory in GiB.
        architecture: CPU architecture, ``"x86_64"`` or ``"arm64"``.
        gpu_vendor: ``"nvidia"`` for GPU types, ``None`` otherwise.
        gpu_model: Lower-case short GPU model (``"t4"``, ``"a10g"``, ``"h100"``...) or ``None``.
        gpu_count: Number of whole GPUs, ``0`` when none.
        gpu_memory_gib: Memory per GPU in GiB, ``0`` when none.
    """

    cloud: str
    name: str
    family: str
    vcpu: int
    memory_gib: float
    architecture: Architecture
    gpu_vendor: str | None
    gpu_model: str | None
    gpu_count: int
    gpu_memory_gib: int

    @property
    def has_gpu(self) -> bool:
        """Whether the type carries at least one GPU."""
        return self.gpu_count > 0


@dataclass(frozen=True)
class KubernetesVersion:
    """A Kubernetes minor version a cloud can create clusters with.

    Dates are ISO ``YYYY-MM-DD`` strings, or ``None`` where the catalog could not confirm them.
    For AWS the support dates are EKS standard/extended support; for Tencent Cloud they are
    TKE's EOM (no new clusters) and EOS.

    Attributes:
        cloud: ``"aws"`` or ``"tencentcloud"``.
        minor: Minor version, e.g. ``"1.32"``.
        full_version: What the cloud API takes (``"1.32"`` on EKS, ``"1.32.2"`` on TKE).
        released: Date the cloud made the version available.
        end_of_standard_support: End of standard support (AWS) / EOM (Tencent Cloud).
        end_of_extended_support: End of extended support (AWS) / EOS (Tencent Cloud).
    """

    cloud: str
    minor: str
    full_version: str
    released: str | None
    end_of_standard_support: str | None
    end_of_extended_support: str | None


SAFE_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""The loader of the catalog's own files: PyYAML's safe loader on libyaml's parser where the
installed PyYAML has it (its wheels do: ``yaml.__with_libyaml__``), ~8x faster than the
pure-Python one and the same constructor and resolver, so the same data (the shipped files
are compared under both loaders in tests/components/test_catalog_yaml.py, as
``tkestack charts pull --record`` rewrites charts.yaml)."""


def _read_yaml(filename: str) -> dict[str, Any]:
    """Parse one of the catalog's YAML files with the safe loader (``SAFE_LOADER``)."""
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=SAFE_LOADER)
    if not isinstance(data, dict):
        raise ValueError(f"catalog file {filename} must hold a mapping at top level")
    return data


def charts_file() -> Path:
    """The chart pin file, ``charts.yaml`` beside this module (``tkestack charts pull
    --record`` writes the digests it records into it)."""
    return Path(str(resources.files(__name__).joinpath("charts.yaml")))


@functools.cache
def chart_entries() -> Mapping[str, Mapping[str, Any]]:
    """Every pinned chart of ``charts.yaml`` by catalog key, as written (``chart``,
    ``repository``, ``version``, ``digest``, ...): the one reading of the file, for the
    add-ons (``components/addon.py``) and the chart cache (``tkestack/charts.py``)."""
    data = _read_yaml("charts.yaml")
    return MappingProxyType(
        {str(key): MappingProxyType(dict(entry)) for key, entry in data.items()}
    )


def _known(kind: str, value: str, choices: list[str]) -> KeyError:
    """Build the KeyError raised for an unknown lookup key."""
    return KeyError(f"unknown {kind} {value!r}; known: {', '.join(choices) or '(none)'}")


def version_parts(version: Any) -> tuple[int, ...] | None:
    """The leading numbers of a Kubernetes version: ``(1, 32)`` of ``"1.32"``,
    ``(1, 32, 2)`` of ``"1.32.2"`` or ``"v1.32.2-tke.1"``; ``None`` when it has no major and
    minor (not a string, an unknown value)."""
    if not isinstance(version, str):
        return None
    numbers: list[int] = []
    for part in version.strip().removeprefix("v").split("."):
        digits = part.split("-", 1)[0]
        if not digits.isdigit():
            break
        numbers.append(int(digits))
        if digits != part:  # a suffix ("2-tke") ends the version
            break
    return tuple(numbers) if len(numbers) >= 2 else None


def _minor_key(minor: str) -> tuple[int, ...]:
    """Sort key for ``"1.32"``-style versions (numeric, so 1.100 sorts after 1.99)."""
    return version_parts(minor) or ()


@functools.cache
def _instances() -> dict[str, tuple[InstanceType, ...]]:
    """All instance types per cloud, in file order."""
    data = _read_yaml("instances.yaml")
    catalog: dict[str, tuple[InstanceType, ...]] = {}
    for cloud, families in data.items():
        types: list[InstanceType] = []
        for family in families:
            arch = family["architecture"]
            if arch not in _ARCHITECTURES:
                raise ValueError(f"{cloud}/{family['family']}: bad architecture {arch!r}")
            gpu_model = family.get("gpu_model")
            for row in family["types"]:
                types.append(
                    InstanceType(
                        cloud=cloud,
                        name=row["name"],
                        family=family["family"],
                        vcpu=int(row["vcpu"]),
                        memory_gib=float(row["memory_gib"]),
                        architecture=arch,
                        gpu_vendor=family.get("gpu_vendor"),
                        gpu_model=gpu_model,
                        gpu_count=int(row.get("gpu_count", 0)),
                        gpu_memory_gib=int(family.get("gpu_memory_gib", 0)),
                    )
                )
        catalog[cloud] = tuple(types)
    return catalog


@functools.cache
def _instance_index() -> dict[tuple[str, str], InstanceType]:
    """Instance types keyed by (cloud, name)."""
    return {(t.cloud, t.name): t for types in _instances().values() for t in types}


@functools.cache
def _kubernetes() -> dict[str, dict[str, dict[str, Any]]]:
    """Per cloud, the version entries of kubernetes.yaml keyed by minor version."""
    data = _read_yaml("kubernetes.yaml")
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for cloud, body in data.items():
        versions = body["versions"]
        for minor in versions:
            if not isinstance(minor, str):
                raise ValueError(f"{cloud}: minor version {minor!r} must be a quoted string")
        result[cloud] = versions
    return result


@functools.cache
def _regions() -> dict[str, dict[str, tuple[str, ...]]]:
    """Per cloud, the three zones of every supported region."""
    data = _read_yaml("regions.yaml")
    return {
        cloud: {region: tuple(zones) for region, zones in body["regions"].items()}
        for cloud, body in data.items()
    }


def _versions_of(cloud: str) -> dict[str, dict[str, Any]]:
    """The version entries of ``cloud``, raising KeyError for an unknown cloud."""
    table = _kubernetes()
    if cloud not in table:
        raise _known("cloud", cloud, sorted(table))
    return table[cloud]


def _version_entry(cloud: str, minor: str) -> dict[str, Any]:
    """The kubernetes.yaml entry of one minor version, raising KeyError when unsupported."""
    versions = _versions_of(cloud)
    if minor not in versions:
        raise _known(f"{cloud} Kubernetes minor version", minor, sorted(versions, key=_minor_key))
    return versions[minor]


def clouds() -> list[str]:
    """The clouds the catalog knows, sorted."""
    return sorted(_instances())


def instance_type(cloud: str, name: str) -> InstanceType | None:
    """Look up one instance type by its exact (case-sensitive) name.

    Returns ``None`` when the cloud or the name is unknown; never raises.
    """
    return _instance_index().get((cloud, name))


def instance_types(cloud: str) -> list[InstanceType]:
    """All catalogued instance types of ``cloud``, in file order (grouped by family).

    Raises:
        KeyError: ``cloud`` is unknown.
    """
    table = _instances()
    if cloud not in table:
        raise _known("cloud", cloud, sorted(table))
    return list(table[cloud])


def supported_kubernetes_versions(cloud: str) -> list[str]:
    """Minor versions (``"1.32"``) new clusters can be created with, ascending.

    Raises:
        KeyError: ``cloud`` is unknown.
    """
    return sorted(_versions_of(cloud), key=_minor_key)


def kubernetes_version(cloud: str, minor: str) -> KubernetesVersion:
    """Full record (cloud version string and support dates) of one minor version.

    Raises:
        KeyError: ``cloud`` is unknown or does not support ``minor``.
    """
    entry = _version_entry(cloud, minor)
    return KubernetesVersion(
        cloud=cloud,
        minor=minor,
        full_version=str(entry["full_version"]),
        released=entry.get("released"),
        end_of_standard_support=entry.get("end_of_standard_support"),
        end_of_extended_support=entry.get("end_of_extended_support"),
    )


def kubernetes_full_version(cloud: str, minor: str) -> str:
    """The version string the cloud API wants for ``minor``.

    EKS takes the minor version itself (``"1.32"``); TKE takes a full patch version
    (``"1.32.2"``).

    Raises:
        KeyError: ``cloud`` is unknown or does not support ``minor``.
    """
    return str(_version_entry(cloud, minor)["full_version"])


def eks_addon_versions(minor: str) -> dict[str, str]:
    """Pinned EKS managed add-on versions for an EKS minor version.

    The result maps add-on name to version for ``vpc-cni``, ``coredns``, ``kube-proxy``,
    ``eks-pod-identity-agent`` and ``aws-ebs-csi-driver`` (in that order). A fresh dict is
    returned on every call.

    Raises:
        KeyError: EKS does not support ``minor``.
    """
    addons: dict[str, Any] = _version_entry("aws", minor).get("addons") or {}
    missing = [name for name in _EKS_ADDONS if name not in addons]
    if missing:
        raise ValueError(f"kubernetes.yaml: aws {minor} lacks add-on versions for {missing}")
    return {name: str(addons[name]) for name in _EKS_ADDONS}


def regions(cloud: str) -> list[str]:
    """Regions of ``cloud`` that offer three zones to spread a cluster over, sorted.

    Raises:
        KeyError: ``cloud`` is unknown.
    """
    table = _regions()
    if cloud not in table:
        raise _known("cloud", cloud, sorted(table))
    return sorted(table[cloud])


def excluded_regions(cloud: str) -> dict[str, str]:
    """Regions of ``cloud`` the catalog leaves out on purpose, with the reason it records
    (``regions.yaml``, ``excluded``), so that a spec naming one is told why.

    Raises:
        KeyError: ``cloud`` is unknown.
    """
    data = _read_yaml("regions.yaml")
    if cloud not in data:
        raise _known("cloud", cloud, sorted(data))
    return {
        str(region): str(reason) for region, reason in (data[cloud].get("excluded") or {}).items()
    }


def availability_zones(cloud: str, region: str) -> list[str]:
    """The three zones (``us-east-1a``..., ``ap-guangzhou-3``...) to spread a cluster over.

    Raises:
        KeyError: ``cloud`` is unknown or ``region`` is not a catalogued region of it.
    """
    table = _regions()
    if cloud not in table:
        raise _known("cloud", cloud, sorted(table))
    if region not in table[cloud]:
        raise _known(f"{cloud} region", region, sorted(table[cloud]))
    return list(table[cloud][region])


def eks_unsupported_zone_ids(region: str) -> list[str]:
    """Zone IDs of ``region`` where EKS refuses control-plane subnets (``use1-az3``...), from
    regions.yaml (source there); empty for regions without any."""
    return list(_eks_unsupported_zone_ids().get(region, ()))


@functools.cache
def _eks_unsupported_zone_ids() -> dict[str, tuple[str, ...]]:
    table = _read_yaml("regions.yaml")["aws"].get("eks_unsupported_zone_ids") or {}
    return {region: tuple(ids) for region, ids in table.items()}


ZONE_ID = re.compile(r"^[a-z]{2,}[0-9]+-az[0-9]+$")
"""An AWS Availability Zone ID (`use1-az1`, `apne1-az4`)."""


def zone_id_problems(zone_ids: Any, region: str | None) -> list[str]:
    """What is wrong with pinned `availability_zone_ids` (empty when none are given): three
    distinct zone IDs, none of them one EKS refuses control-plane subnets in (catalog, from
    the EKS user guide's network requirements)."""
    if not zone_ids:
        return []
    problems = []
    ids = list(zone_ids)
    if len(ids) != 3 or len(set(ids)) != 3:
        problems.append(f"three distinct zone IDs, got {ids}")
    refused = set(eks_unsupported_zone_ids(region)) if region else set()
    for index, zone_id in enumerate(ids):
        if not isinstance(zone_id, str) or not ZONE_ID.match(zone_id):
            problems.append(f"[{index}] {zone_id!r} is not a zone ID (like use1-az1)")
        elif zone_id in refused:
            problems.append(f"[{index}] EKS refuses control-plane subnets in {zone_id}")
    return problems


def gpu_models() -> list[str]:
    """Every GPU model in the catalog across clouds (lower-case short names), sorted."""
    return sorted({t.gpu_model for t in _instance_index().values() if t.gpu_model is not None})


ADDON_REQUIRES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # ServiceMonitor, a prometheus-operator CRD that kube-prometheus-stack installs.
        "dcgm-exporter": ("kube-prometheus-stack",),
        # Its DCGM exporter's ServiceMonitor; only with the exporter on (the GPU stack drops
        # the requirement when it is off; the critical path counts it always).
        "gpu-operator": ("kube-prometheus-stack",),
        # Ships to Loki and is scraped through a ServiceMonitor.
        "fluent-bit": ("loki", "kube-prometheus-stack"),
    }
)
"""Helm release -> the releases that must be installed before it (CRDs and data sinks).
The one source: the components' `AddonSpec.requires` and the critical path read it."""


@dataclass(frozen=True)
class QuotaDefaults:
    """Per-namespace tenant quota defaults: the one source for the spec's `QuotaSpec` and
    the `Tenant` component's `TenantQuota` (the project's choice, not a cloud fact)."""

    cpu: str = "8"
    memory: str = "32Gi"
    pods: int = 100
    storage: str = "200Gi"
    load_balancers: int = 0
    gpus: int = 0
    gpu_memory_mib: int = 0


QUOTA_DEFAULTS = QuotaDefaults()
