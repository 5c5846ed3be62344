"""Tests for the instance-type / Kubernetes-version / region catalog."""

from __future__ import annotations

import re
from datetime import date

import pytest

try:
    from tkestack.components import catalog
except ModuleNotFoundError:  # source checkout without `pip install -e .`
    from components import catalog

CLOUDS = ["aws", "tencentcloud"]
DATA_DATE = date(2026, 11, 25)

# AWS names the processor after the generation digit: "g" there means Graviton (m7g, c8g,
# r7gd, and g5g, whose leading "g" is the GPU class). A leading "g" alone (g4dn, g5, g6,
# g6e) is the GPU class letter and says nothing about the CPU.
AWS_GRAVITON_FAMILY = re.compile(r"[a-z]+\d+g[a-z]*")
# Tencent Cloud's ARM families are the "SR" (Ampere) standard families.
TENCENT_ARM_FAMILY = re.compile(r"SR\d+")

AWS_NAME = re.compile(r"(?P<family>[a-z][a-z0-9-]*)\.(?P<size>medium|large|\d*xlarge)")
TENCENT_NAME = re.compile(
    r"(?P<family>[A-Z][A-Za-z0-9]*)\.(?P<size>SMALL|MEDIUM|\d*X?LARGE)(?P<mem>\d+)"
)


def _aws_size_vcpu(size: str) -> int:
    """vCPUs of an AWS size: medium 1, large 2, xlarge 4, Nxlarge 4N."""
    fixed = {"medium": 1, "large": 2, "xlarge": 4}
    return fixed.get(size) or 4 * int(size.removesuffix("xlarge"))


def _tencent_size_vcpu(size: str) -> int:
    """vCPUs of a Tencent CVM size: SMALL 1, MEDIUM 2, LARGE 4, NXLARGE 4N."""
    fixed = {"SMALL": 1, "MEDIUM": 2, "LARGE": 4, "XLARGE": 4}
    return fixed.get(size) or 4 * int(size.removesuffix("XLARGE"))


# --- lookups ------------------------------------------------------------------------------

LOOKUPS = [
    # cloud, name, family, vcpu, memory_gib, arch, gpu_model, gpu_count, gpu_memory_gib
    ("aws", "m7i.xlarge", "m7i", 4, 16, "x86_64", None, 0, 0),
    ("aws", "c7i.2xlarge", "c7i", 8, 16, "x86_64", None, 0, 0),
    ("aws", "r6i.large", "r6i", 2, 16, "x86_64", None, 0, 0),
    ("aws", "m7g.large", "m7g", 2, 8, "arm64", None, 0, 0),
    ("aws", "c8g.4xlarge", "c8g", 16, 32, "arm64", None, 0, 0),
    ("aws", "g4dn.xlarge", "g4dn", 4, 16, "x86_64", "t4", 1, 16),
    ("aws", "g4dn.12xlarge", "g4dn", 48, 192, "x86_64", "t4", 4, 16),
    ("aws", "g5.48xlarge", "g5", 192, 768, "x86_64", "a10g", 8, 24),
    ("aws", "g6.xlarge", "g6", 4, 16, "x86_64", "l4", 1, 24),
    ("aws", "g6e.12xlarge", "g6e", 48, 384, "x86_64", "l40s", 4, 48),
    ("aws", "g5g.16xlarge", "g5g", 64, 128, "arm64", "t4g", 2, 16),
    ("aws", "p4d.24xlarge", "p4d", 96, 1152, "x86_64", "a100", 8, 40),
    ("aws", "p5.48xlarge", "p5", 192, 2048, "x86_64", "h100", 8, 80),
    ("tencentcloud", "S5.LARGE8", "S5", 4, 8, "x86_64", None, 0, 0),
    ("tencentcloud", "SA5.2XLARGE32", "SA5", 8, 32, "x86_64", None, 0, 0),
    ("tencentcloud", "M6.LARGE32", "M6", 4, 32, "x86_64", None, 0, 0),
    ("tencentcloud", "SR1.MEDIUM4", "SR1", 2, 4, "arm64", None, 0, 0),
    ("tencentcloud", "GN7.2XLARGE32", "GN7", 8, 32, "x86_64", "t4", 1, 16),
    ("tencentcloud", "GN10Xp.20XLARGE320", "GN10Xp", 80, 320, "x86_64", "v100", 8, 32),
    ("tencentcloud", "GT4.41XLARGE948", "GT4", 164, 948, "x86_64", "a100", 8, 40),
    ("tencentcloud", "PNV4.7XLARGE116", "PNV4", 28, 116, "x86_64", "a10", 1, 24),
]


@pytest.mark.parametrize(
    ("cloud", "name", "family", "vcpu", "memory_gib", "arch", "gpu_model", "gpus", "gpu_mem"),
    LOOKUPS,
)
def test_instance_lookup(cloud, name, family, vcpu, memory_gib, arch, gpu_model, gpus, gpu_mem):
    itype = catalog.instance_type(cloud, name)
    assert itype is not None
    assert itype.cloud == cloud
    assert itype.name == name
    assert itype.family == family
    assert itype.vcpu == vcpu
    assert itype.memory_gib == memory_gib
    assert itype.architecture == arch
    assert itype.gpu_model == gpu_model
    assert itype.gpu_count == gpus
    assert itype.gpu_memory_gib == gpu_mem
    assert itype.gpu_vendor == ("nvidia" if gpu_model else None)
    assert itype.has_gpu is (gpus > 0)


def test_instance_type_is_frozen():
    itype = catalog.instance_type("aws", "m7g.large")
    assert itype is not None
    with pytest.raises(AttributeError):
        itype.vcpu = 99  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cloud", "name"),
    [
        ("aws", "m7g.nonexistent"),
        ("aws", "S5.LARGE8"),  # a Tencent name on AWS
        ("tencentcloud", "m7g.large"),
        ("tencentcloud", "s5.large8"),  # names are case-sensitive, as in the cloud APIs
        ("attached", "m7g.large"),  # unknown cloud
        ("", ""),
    ],
)
def test_unknown_instance_type_returns_none(cloud, name):
    assert catalog.instance_type(cloud, name) is None


@pytest.mark.parametrize("cloud", CLOUDS)
def test_instance_types_in_file_order_and_unique(cloud):
    types = catalog.instance_types(cloud)
    assert types, cloud
    names = [t.name for t in types]
    assert len(names) == len(set(names))
    assert all(t.cloud == cloud for t in types)
    assert types == catalog.instance_types(cloud)  # deterministic
    # Grouped by family: once a family ends it never reappears.
    families = [t.family for t in types]
    seen: list[str] = []
    for fam in families:
        if not seen or seen[-1] != fam:
            assert fam not in seen, f"family {fam} is split in the file"
            seen.append(fam)


def test_instance_types_returns_a_copy():
    first = catalog.instance_types("aws")
    first.clear()
    assert catalog.instance_types("aws")


@pytest.mark.parametrize(
    "family",
    [
        "m6i", "m7i", "c6i", "c7i", "r6i", "m6a", "m7a",
        "m6g", "m7g", "c7g", "r7g", "m8g", "c8g",
        "g4dn", "g5", "g6", "g6e", "p4d", "p5", "g5g",
    ],
)  # fmt: skip
def test_required_aws_families_present(family):
    assert any(t.family == family for t in catalog.instance_types("aws"))


@pytest.mark.parametrize(
    "family", ["S5", "S6", "SA3", "SA5", "M6", "C6", "SR1", "GN7", "GN10Xp", "GT4", "PNV4"]
)
def test_required_tencent_families_present(family):
    assert any(t.family == family for t in catalog.instance_types("tencentcloud"))


# --- consistency rules over the whole catalog ---------------------------------------------


@pytest.mark.parametrize("itype", catalog.instance_types("aws"), ids=lambda t: t.name)
def test_aws_architecture_follows_family_name(itype):
    match = AWS_NAME.fullmatch(itype.name)
    assert match, itype.name
    assert match["family"] == itype.family
    expected = "arm64" if AWS_GRAVITON_FAMILY.fullmatch(itype.family) else "x86_64"
    assert itype.architecture == expected


@pytest.mark.parametrize("itype", catalog.instance_types("tencentcloud"), ids=lambda t: t.name)
def test_tencent_architecture_follows_family_name(itype):
    match = TENCENT_NAME.fullmatch(itype.name)
    assert match, itype.name
    assert match["family"] == itype.family
    expected = "arm64" if TENCENT_ARM_FAMILY.fullmatch(itype.family) else "x86_64"
    assert itype.architecture == expected


@pytest.mark.parametrize(
    "itype",
    [t for cloud in CLOUDS for t in catalog.instance_types(cloud) if not t.has_gpu],
    ids=lambda t: f"{t.cloud}:{t.name}",
)
def test_cpu_types_match_their_size_name(itype):
    """Size tokens fix the vCPU count (and Tencent names also carry the memory)."""
    if itype.cloud == "aws":
        match = AWS_NAME.fullmatch(itype.name)
        assert match
        assert itype.vcpu == _aws_size_vcpu(match["size"])
    else:
        match = TENCENT_NAME.fullmatch(itype.name)
        assert match
        assert itype.vcpu == _tencent_size_vcpu(match["size"])
        assert itype.memory_gib == int(match["mem"])


@pytest.mark.parametrize(
    "itype",
    [t for cloud in CLOUDS for t in catalog.instance_types(cloud)],
    ids=lambda t: f"{t.cloud}:{t.name}",
)
def test_gpu_fields_are_consistent(itype):
    assert itype.vcpu > 0
    assert itype.memory_gib > 0
    if itype.has_gpu:
        assert itype.gpu_vendor == "nvidia"
        assert itype.gpu_model in catalog.gpu_models()
        assert itype.gpu_model == itype.gpu_model.lower()
        assert itype.gpu_memory_gib > 0
    else:
        assert (itype.gpu_vendor, itype.gpu_model, itype.gpu_count, itype.gpu_memory_gib) == (
            None,
            None,
            0,
            0,
        )


def test_families_are_homogeneous():
    """Architecture and GPU model are family properties."""
    for cloud in CLOUDS:
        by_family: dict[str, set[tuple[str, str | None]]] = {}
        for t in catalog.instance_types(cloud):
            by_family.setdefault(t.family, set()).add((t.architecture, t.gpu_model))
        assert all(len(v) == 1 for v in by_family.values()), by_family


def test_gpu_models():
    models = catalog.gpu_models()
    assert models == sorted(set(models))
    assert {"t4", "t4g", "a10", "a10g", "l4", "l40s", "a100", "h100", "v100"} <= set(models)


def test_both_architectures_and_gpus_on_each_cloud():
    for cloud in CLOUDS:
        types = catalog.instance_types(cloud)
        assert {t.architecture for t in types} == {"x86_64", "arm64"}
        assert any(t.has_gpu for t in types)


# --- Kubernetes versions -----------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_supported_versions_sorted_with_full_versions(cloud):
    versions = catalog.supported_kubernetes_versions(cloud)
    assert versions
    keys = [tuple(int(p) for p in v.split(".")) for v in versions]
    assert keys == sorted(keys)
    assert len(set(versions)) == len(versions)
    for minor in versions:
        assert re.fullmatch(r"1\.\d+", minor)
        full = catalog.kubernetes_full_version(cloud, minor)
        assert full == minor or full.startswith(f"{minor}.")
        assert catalog.kubernetes_version(cloud, minor).full_version == full


@pytest.mark.parametrize(
    ("cloud", "minor", "full"),
    [
        ("aws", "1.32", "1.32"),
        ("aws", "1.35", "1.35"),
        ("tencentcloud", "1.30", "1.30.0"),
        ("tencentcloud", "1.32", "1.32.2"),
        ("tencentcloud", "1.34", "1.34.1"),
    ],
)
def test_full_versions(cloud, minor, full):
    assert catalog.kubernetes_full_version(cloud, minor) == full


def test_tencent_full_versions_are_patch_versions():
    for minor in catalog.supported_kubernetes_versions("tencentcloud"):
        assert re.fullmatch(r"1\.\d+\.\d+", catalog.kubernetes_full_version("tencentcloud", minor))
        # TKE only releases even minor versions.
        assert int(minor.split(".")[1]) % 2 == 0


@pytest.mark.parametrize("minor", catalog.supported_kubernetes_versions("aws"))
def test_every_eks_version_has_an_addon_set(minor):
    addons = catalog.eks_addon_versions(minor)
    assert list(addons) == [
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "eks-pod-identity-agent",
        "aws-ebs-csi-driver",
    ]
    for name, version in addons.items():
        assert re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", version), (name, version)
    # kube-proxy follows the Kubernetes minor version.
    assert addons["kube-proxy"].startswith(f"v{minor}.")


def test_eks_addon_versions_returns_a_copy():
    first = catalog.eks_addon_versions("1.33")
    first["coredns"] = "tampered"
    assert catalog.eks_addon_versions("1.33")["coredns"] != "tampered"


def test_eks_support_dates():
    for minor in catalog.supported_kubernetes_versions("aws"):
        info = catalog.kubernetes_version("aws", minor)
        dates = [info.released, info.end_of_standard_support, info.end_of_extended_support]
        if info.end_of_extended_support is None:
            continue  # newest minor, dates not confirmed (documented in docs/catalog.md)
        parsed = [date.fromisoformat(d) for d in dates if d is not None]
        assert parsed == sorted(parsed)
        # Only versions still in (standard or extended) support are offered.
        assert date.fromisoformat(info.end_of_extended_support) > DATA_DATE
    assert catalog.kubernetes_version("aws", "1.34").end_of_standard_support == "2026-12-02"


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (catalog.supported_kubernetes_versions, ("gcp",)),
        (catalog.kubernetes_full_version, ("gcp", "1.32")),
        (catalog.kubernetes_full_version, ("aws", "1.20")),
        (catalog.kubernetes_full_version, ("tencentcloud", "1.33")),  # odd minors not on TKE
        (catalog.kubernetes_version, ("aws", "2.0")),
        (catalog.eks_addon_versions, ("1.20",)),
        (catalog.instance_types, ("gcp",)),
        (catalog.regions, ("gcp",)),
        (catalog.availability_zones, ("gcp", "us-east-1")),
        (catalog.availability_zones, ("aws", "ap-guangzhou")),
        (catalog.availability_zones, ("aws", "us-west-1")),  # excluded: only two AZs
        (catalog.availability_zones, ("tencentcloud", "ap-hongkong")),  # excluded
    ],
)
def test_unknown_lookups_raise_key_error(call, args):
    with pytest.raises(KeyError, match="unknown"):
        call(*args)


def test_key_error_names_the_choices():
    with pytest.raises(KeyError, match=r"1\.32"):
        catalog.kubernetes_full_version("aws", "1.20")


# --- regions -------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_regions_sorted(cloud):
    names = catalog.regions(cloud)
    assert names
    assert names == sorted(set(names))


@pytest.mark.parametrize(
    ("cloud", "region"),
    [(cloud, region) for cloud in CLOUDS for region in catalog.regions(cloud)],
)
def test_every_region_has_three_distinct_zones_named_after_it(cloud, region):
    zones = catalog.availability_zones(cloud, region)
    assert len(zones) == 3
    assert len(set(zones)) == 3
    suffix = r"[a-z]" if cloud == "aws" else r"-\d+"
    for zone in zones:
        assert re.fullmatch(re.escape(region) + suffix, zone), zone


@pytest.mark.parametrize(
    ("cloud", "region", "zones"),
    [
        ("aws", "us-east-1", ["us-east-1a", "us-east-1b", "us-east-1c"]),
        ("aws", "ap-northeast-1", ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]),
        ("aws", "ca-central-1", ["ca-central-1a", "ca-central-1b", "ca-central-1d"]),
        ("tencentcloud", "ap-guangzhou", ["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"]),
        ("tencentcloud", "ap-singapore", ["ap-singapore-1", "ap-singapore-2", "ap-singapore-3"]),
    ],
)
def test_known_zones(cloud, region, zones):
    assert catalog.availability_zones(cloud, region) == zones


def test_regions_excluded_for_lack_of_zones():
    assert "us-west-1" not in catalog.regions("aws")
    assert "ap-hongkong" not in catalog.regions("tencentcloud")


def test_clouds():
    assert catalog.clouds() == CLOUDS


@pytest.mark.parametrize(
    ("version", "parts"),
    [
        ("1.32", (1, 32)),
        ("1.32.2", (1, 32, 2)),
        ("v1.32.2", (1, 32, 2)),
        ("1.30.2-tke.1", (1, 30, 2)),
        ("1.100", (1, 100)),
        ("1", None),
        ("latest", None),
        (None, None),
        (1.32, None),
    ],
)
def test_version_parts_reads_every_version_spelling_the_clouds_use(version, parts) -> None:
    assert catalog.version_parts(version) == parts
