"""What a TKE node pool needs to be told rather than guessed: its node image and GPU driver.

Plain data and checks (no Pulumi), shared by the spec rules (stacks/rules.py, with config
paths) and the `Cluster` component's argument validation (with property paths).

Sources, terraform-provider-tencentcloud v1.82.42 (the version tencentcloud-iac-pulumi 0.2.3
bridges):

- tencentcloud/services/tke/resource_tc_kubernetes_node_pool.go, `node_os`: "enter the image
  ID for a custom image, and enter the OS name for a public image"; the provider does not
  validate the value. The only TencentOS Server 3.1 name in the provider's docs is the x86 one,
  `tlinux3.1x86_64` (resource_tc_kubernetes_cluster.md, `cluster_os`); no ARM name appears in
  the provider, its SDK or any page we could read, so an ARM pool names its image itself.
  Image ids look like `img-2lr9q49h` (the provider's examples). TKE lists the names and ids it
  accepts per region with `tccli tke DescribeOSImages` (vendor/.../tke/v20180525/models.go,
  `OSImage.OsName`, `OSImage.ImageId`, `OSImage.Status`).
- resource_tc_kubernetes_node_pool.go, `node_config.gpu_args.driver`/`cuda`: maps
  `{name, version}`, checked only for being non-empty (tencentcloud/common/validators.go,
  `ValidateTkeGpuDriverVersion`). The provider's own test uses
  `NVIDIA-Linux-x86_64-470.182.03.run` / `470.182.03` and `cuda_11.4.3_470.82.01_linux.run` /
  `11.4.3` (resource_tc_kubernetes_node_pool_test.go). Which pairs TKE installs depends on the
  OS image and GPU model and is not published in a form we could read here: UNVERIFIED, so a
  GPU pool whose driver TKE installs names it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServiceRole:
    """A CAM service role TKE or CVM acts as, which the program relies on but the cluster does
    not create (`AccountPrerequisites` may, preflight and the cluster's lookups check it)."""

    name: str
    """The role's name."""
    principal: str
    """The service trusted to assume it (`principal.service` of the role document)."""
    policies: tuple[str, ...]
    """The preset policies the role carries when `AccountPrerequisites` creates it."""
    required: str
    """The one preset policy among them the program relies on (checked before a deploy)."""
    purpose: str
    """What needs the role, for messages."""


TKE_SERVICE_ROLE = "TKE_QCSRole"
"""TKE's service role, through which TKE writes audit logs and events to CLS (trusted by
`ccs.qcloud.com`; preset policies `QcloudAccessForTKERole` and
`QcloudAccessForTKERoleInOpsManagement`, the log service audit and event logs use):
tencentyun/intlcloud-documents, TKE "Service authorization roles"
(`yehe_doc/容器/容器服务/权限管理/服务授权相关角色权限说明_intl_en.md`) and TKE's Terraform guide
(`cam.tf`); the name also in terraform-provider-tencentcloud v1.82.42
data_source_tc_kubernetes_cluster_common_names_test.go."""

CVM_SERVICE_ROLE = "CVM_QcsRole"
CVM_KMS_POLICY = "QcloudKMSAccessForCVMRole"
"""Encrypted CBS data disks need the `CVM_QcsRole` role with the `QcloudKMSAccessForCVMRole`
policy (terraform-provider-tencentcloud v1.82.42, tencentcloud/services/cbs/
resource_tc_cbs_storage.md; resource_tc_kubernetes_node_pool.go `data_disk.encrypt`: "make sure
... the cam role `QcloudKMSAccessForCVMRole` was provided"). Its principal `cvm.qcloud.com` is
the CVM service domain of CAM's service list, **unverified** as the role's trust."""

SERVICE_ROLES: tuple[ServiceRole, ...] = (
    ServiceRole(
        TKE_SERVICE_ROLE,
        "ccs.qcloud.com",
        ("QcloudAccessForTKERole", "QcloudAccessForTKERoleInOpsManagement"),
        "QcloudAccessForTKERoleInOpsManagement",
        "TKE audit and event logs (CLS)",
    ),
    ServiceRole(
        CVM_SERVICE_ROLE,
        "cvm.qcloud.com",
        (CVM_KMS_POLICY,),
        CVM_KMS_POLICY,
        "node pools' encrypted data disks (KMS)",
    ),
)
"""The CAM service roles of a Tencent environment: the one source for `AccountPrerequisites`,
the cluster's role lookups (components/clouds/tencentcloud.py) and preflight's
`tencentcloud.principals.service-role`."""


NETWORK_POLICY_ADDON = "networkpolicy"
"""TKE add-on that enforces Kubernetes NetworkPolicies on GR clusters, the one source of the name
for the `Cluster` component (`tencentcloud_kubernetes_addon` `addon_name`), the
`tenant-network-isolation` policy's `tkeNetworkPolicyAddons` default and preflight's
`tencentcloud.versions.network-policy-addon` check. TKE's docs name the add-on "NetworkPolicy"
(tencentcloud.com document/product/457/31424, "TKE provides network isolation through the
Network Policy add-on") but give no API name: neither terraform-provider-tencentcloud v1.82.42
(its examples use `tcr`, `cos`, `cbs`, `cluster-autoscaler`, `OOMGuard`) nor its vendored
tke v20180525 SDK nor any page read names it. UNVERIFIED: taken from the console name and the
add-on's DaemonSet; preflight asks TKE (`DescribeAddonValues` with this name on a cluster of the
region) and `tccli tke DescribeAddon --ClusterId <cluster>` lists the names on a cluster where
the console installed it (docs/upgrade-log.md)."""

X86_NODE_IMAGE = "tlinux3.1x86_64"
"""Default image of x86 pools: TencentOS Server 3.1, the name the provider's cluster example
uses (resource_tc_kubernetes_cluster.md, `cluster_os`)."""

NODE_IMAGE = re.compile(r"^(img-[a-z0-9]{8}|[A-Za-z][A-Za-z0-9._()-]{2,63})$")
"""A public image's OS name (`tlinux3.1x86_64`, `tlinux2.2(tkernel3)x86_64`) or an image id
(`img-2lr9q49h`), as `node_os` takes them."""

DRIVER_VERSION = re.compile(r"^\d+(\.\d+){1,3}$")
"""An NVIDIA driver or CUDA version: dotted numbers (`535.161.07`, `12.2.2`)."""

DRIVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$")
"""A driver or CUDA package name as TKE lists it: no spaces or slashes."""

GPU_DRIVER_KEYS: tuple[str, ...] = ("driver_name", "driver_version", "cuda_name", "cuda_version")
"""The keys of a TKE GPU driver choice (`gpu_driver`)."""

UNVERIFIED_ARM = (
    "TKE's ARM image name could not be verified (tkestack no longer assumes one): set it to an"
    " OsName or ImageId that `tccli tke DescribeOSImages --region <region>` lists as online"
    " for arm64"
)


DEFAULT_MAX_SERVICES = 256
"""`cluster_max_service_num` when the cluster does not set `max_services`: the provider's default
(resource_tc_kubernetes_cluster.go, Default 256)."""

GR_SERVICE_CIDR_REFUSAL = (
    "does not apply to TKE's global-router network: TKE carves service IPs out of the pod"
    " CIDR (ClusterCIDRSettings.ClusterCIDR is the range 'for container and service IPs'), and"
    " every provider example that sets service_cidr is a VPC-CNI cluster; size the service"
    " range with network.max_services instead"
)
"""Why a GR cluster takes no separate service CIDR. Sources, terraform-provider-tencentcloud
v1.82.42: tencentcloud/services/tke/resource_tc_kubernetes_cluster.md (service_cidr appears
only in the `network_type = "VPC-CNI"` examples, GR examples set cluster_cidr and
cluster_max_service_num) and vendor/.../tke/v20180525/models.go (`ClusterCIDRSettings`:
ClusterCIDR "用于分配集群容器和服务 IP 的 CIDR", MaxClusterServiceNum 32..32768, rounded up to a
power of two)."""


def max_services_problems(count: int, pod_addresses: int) -> list[str]:
    """What is wrong with a TKE `max_services` for a pod CIDR of `pod_addresses` addresses.

    TKE rounds the count up to a power of two and the provider reads the rounded value back
    into a ForceNew argument, so any other value would replace the cluster on the next `up`.
    """
    problems: list[str] = []
    if count & (count - 1):
        problems.append(
            f"{count} is not a power of two: TKE rounds it up and reads the rounded value back,"
            " and the argument forces replacement (use 32, 64, ..., 32768)"
        )
    if count * 2 > pod_addresses:
        problems.append(
            f"{count} service IPs would take more than half of the pod CIDR's"
            f" {pod_addresses} addresses"
        )
    return problems


TCR_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""A TCR instance name: the first label of `<name>.tencentcloudcr.com`, so an RFC 1123 DNS
label. TCR's own length and reserved-word rules are not in a source we could read
(terraform-provider-tencentcloud v1.82.42 resource_tc_tcr_instance.go: `name` Required,
ForceNew, unvalidated); `tccli tcr CheckInstanceName` answers them (DetailCode 1 illegal,
2 reserved, 3 taken: vendor/.../tcr/v20190924/models.go CheckInstanceNameResponseParams)."""


def node_image(architecture: str, image: str | None) -> str:
    """The `node_os` of a pool: its own image, else the x86 default (ARM pools must name one;
    `node_image_problems` refuses them first)."""
    if image is not None:
        return image
    if architecture != "x86_64":
        raise ValueError(f"node_image is required on {architecture} TKE pools: {UNVERIFIED_ARM}")
    return X86_NODE_IMAGE


def node_image_problems(architecture: str, image: Any) -> list[str]:
    """What is wrong with a pool's `node_image` on TKE (empty: nothing)."""
    if image is None:
        if architecture == "arm64":
            return [f"required on ARM pools: {UNVERIFIED_ARM}"]
        return []
    if not isinstance(image, str) or not NODE_IMAGE.match(image):
        return [
            f"{image!r} is neither a TKE OS name (`tlinux3.1x86_64`) nor an image id"
            " (`img-` and 8 characters)"
        ]
    return []


def gpu_driver_problems(driver: Any) -> list[tuple[str, str]]:
    """(key, message) for what is wrong with a TKE `gpu_driver` mapping (empty: nothing).

    Beyond the shapes, a package name must contain its own version (true of every name the
    provider's tests use), which catches a version changed without its package or the reverse.
    """
    if not isinstance(driver, Mapping):
        return [("", "must be a mapping of driver_name, driver_version, cuda_name, cuda_version")]
    problems: list[tuple[str, str]] = []
    for key in sorted(set(driver) - set(GPU_DRIVER_KEYS)):
        problems.append((key, f"unknown key (known: {', '.join(GPU_DRIVER_KEYS)})"))
    for kind in ("driver", "cuda"):
        name, version = driver.get(f"{kind}_name"), driver.get(f"{kind}_version")
        if not isinstance(version, str) or not DRIVER_VERSION.match(version):
            problems.append((f"{kind}_version", f"{version!r} is not a dotted version number"))
            version = None
        if not isinstance(name, str) or not DRIVER_NAME.match(name):
            problems.append((f"{kind}_name", f"{name!r} is not a package name TKE lists"))
        elif version is not None and version not in name:
            problems.append((f"{kind}_name", f"{name!r} does not contain its version {version!r}"))
    return problems


def gpu_args(driver: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`driver` and `cuda` of the node pool's `gpu_args` from a checked `gpu_driver`."""
    return {
        "driver": {"name": driver["driver_name"], "version": driver["driver_version"]},
        "cuda": {"name": driver["cuda_name"], "version": driver["cuda_version"]},
    }
