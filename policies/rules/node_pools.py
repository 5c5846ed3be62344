"""Node pool rules: network exposure, instance metadata, disks, images, GPUs, capacity.

Provider defaults that matter here:
- A managed node group without a launch template runs EKS's generated one: IMDSv1 stays
  allowed and root-volume encryption depends on the account's EBS default, so both count as
  violations (https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html).
- `metadataOptions.httpTokens` defaults to `optional` (IMDSv1 allowed).
- `blockDeviceMappings[].ebs.encrypted` is a string in launch templates; unset follows the
  account default (unencrypted unless EBS encryption-by-default is on).
- Node group `amiType` defaults to AL2_x86_64 (x86, no GPU driver) and `instanceTypes` to
  t3.medium.
- TKE node pools: `publicIpAssigned` defaults to false; disks unencrypted unless `encrypt`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...components import catalog
from .base import (
    Rule,
    Stack,
    Subject,
    boolean,
    get,
    items,
    matches,
    number,
    schema,
    string_list,
    strings,
)

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
TKE_NODE_POOL = "tencentcloud:Kubernetes/nodePool:NodePool"
TKE_CLUSTER = "tencentcloud:Kubernetes/cluster:Cluster"
POOL_TYPES = frozenset({EKS_NODE_GROUP, TKE_NODE_POOL})

EKS_DEFAULT_INSTANCE_TYPE = "t3.medium"
EKS_DEFAULT_AMI_TYPE = "AL2_x86_64"
GPU_TAINT_KEY = "nvidia.com/gpu"


def instance_types(pool: Subject) -> list[str]:
    """The instance types of a pool, with the provider default when unset."""
    if pool.type == EKS_NODE_GROUP:
        return strings(get(pool.props, "instanceTypes")) or [EKS_DEFAULT_INSTANCE_TYPE]
    first = get(pool.props, "autoScalingConfig.instanceType")
    rest = strings(get(pool.props, "autoScalingConfig.backupInstanceTypes"))
    return ([first] if isinstance(first, str) else []) + rest


def cloud_of(pool: Subject) -> str:
    """`aws` or `tencentcloud`."""
    return "aws" if pool.type.startswith("aws:") else "tencentcloud"


def hardware(pool: Subject) -> list[catalog.InstanceType | None]:
    """Catalog facts of each instance type (None for types the catalog does not know)."""
    cloud = cloud_of(pool)
    return [catalog.instance_type(cloud, name) for name in instance_types(pool)]


def gpus_per_node(pool: Subject) -> int:
    """Most GPUs on any instance type of the pool (0: CPU pool)."""
    return max((found.gpu_count for found in hardware(pool) if found is not None), default=0)


def architectures(pool: Subject) -> set[str]:
    """CPU architectures of the pool's known instance types."""
    return {found.architecture for found in hardware(pool) if found is not None}


def scaling(pool: Subject) -> tuple[float | None, float | None, float | None]:
    """(min, desired, max) node counts."""
    if pool.type == EKS_NODE_GROUP:
        return (
            number(get(pool.props, "scalingConfig.minSize")),
            number(get(pool.props, "scalingConfig.desiredSize")),
            number(get(pool.props, "scalingConfig.maxSize")),
        )
    return (
        number(get(pool.props, "minSize")),
        number(get(pool.props, "desiredCapacity")),
        number(get(pool.props, "maxSize")),
    )


def is_spot(pool: Subject) -> bool:
    """Whether the pool runs on spot capacity."""
    if pool.type == EKS_NODE_GROUP:
        return get(pool.props, "capacityType") == "SPOT"
    return get(pool.props, "autoScalingConfig.instanceChargeType") == "SPOTPAID"


# ---------------------------------------------------------------- network and metadata


def _no_public_ip(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    props = resource.props
    if resource.type == LAUNCH_TEMPLATE:
        for index, nic in enumerate(items(get(props, "networkInterfaces"))):
            if boolean(get(nic, "associatePublicIpAddress"), default=False):
                yield f"networkInterfaces[{index}] associates a public IP address"
    elif resource.type == TKE_NODE_POOL:
        if boolean(get(props, "autoScalingConfig.publicIpAssigned"), default=False):
            yield "nodes get public IPs (autoScalingConfig.publicIpAssigned)"
        bandwidth = number(get(props, "autoScalingConfig.internetMaxBandwidthOut"))
        if bandwidth:
            yield f"nodes get {bandwidth:g} Mbps of public bandwidth (internetMaxBandwidthOut)"
    else:
        for index, worker in enumerate(items(get(props, "workerConfigs"))):
            if boolean(get(worker, "publicIpAssigned"), default=False):
                yield f"workerConfigs[{index}] assigns public IPs"


def _subnet_public_ip(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if boolean(get(resource.props, "mapPublicIpOnLaunch"), default=False):
        yield "subnet gives every instance launched in it a public IP (mapPublicIpOnLaunch)"


def _imdsv2(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if resource.type == EKS_NODE_GROUP:
        if get(resource.props, "launchTemplate") is None:
            yield "node group has no launch template, so IMDSv2 is not enforced"
        return
    tokens = get(resource.props, "metadataOptions.httpTokens", "optional")
    if tokens != "required":
        yield f"instance metadata allows IMDSv1 (metadataOptions.httpTokens: {tokens})"


def _imds_hop_limit(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    hops = number(get(resource.props, "metadataOptions.httpPutResponseHopLimit"))
    maximum = number(config.get("maxHopLimit")) or 1
    if hops is not None and hops > maximum:
        yield (
            f"IMDS hop limit {hops:g} lets pods reach the node's credentials (at most {maximum:g})"
        )


def _disks_encrypted(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    props = resource.props
    if resource.type == EKS_NODE_GROUP:
        if get(props, "launchTemplate") is None:
            yield "node group has no launch template, so its root volume encryption is not set"
        return
    if resource.type == LAUNCH_TEMPLATE:
        mappings = items(get(props, "blockDeviceMappings"))
        if not mappings:
            yield "launch template sets no block device mapping, so volumes may be unencrypted"
        for index, mapping_ in enumerate(mappings):
            if get(mapping_, "ebs") is None:
                continue
            if not boolean(get(mapping_, "ebs.encrypted"), default=False):
                yield f"blockDeviceMappings[{index}] volume is not encrypted (ebs.encrypted)"
        return
    for index, disk in enumerate(items(get(props, "autoScalingConfig.dataDisks"))):
        if not boolean(get(disk, "encrypt"), default=False):
            yield f"autoScalingConfig.dataDisks[{index}] is not encrypted (encrypt)"


def _ami_matches(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    ami = get(resource.props, "amiType", EKS_DEFAULT_AMI_TYPE)
    if ami == "CUSTOM":
        if get(resource.props, "launchTemplate") is None:
            yield "amiType CUSTOM needs a launch template with the image"
        return
    arches = architectures(resource)
    ami_arch = "arm64" if "ARM_64" in ami else "x86_64"
    if arches and ami_arch not in arches:
        yield f"amiType {ami} is {ami_arch}, but the instance types are {', '.join(sorted(arches))}"
    gpu = gpus_per_node(resource) > 0
    ami_gpu = "NVIDIA" in ami or ami.endswith("_GPU")
    if gpu and not ami_gpu:
        yield f"GPU instance types with amiType {ami}, which has no NVIDIA driver"
    elif ami_gpu and not gpu:
        yield f"amiType {ami} is a GPU image, but the instance types have no GPU"
    if ami.startswith("AL2_") and bool(config.get("forbidAl2", True)):
        yield f"amiType {ami} is Amazon Linux 2, which EKS no longer supports from 1.33"


def _gpu_tainted(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if gpus_per_node(resource) == 0:
        return
    key = str(config.get("taintKey") or GPU_TAINT_KEY)
    effects = {"NO_SCHEDULE", "NoSchedule", "NO_EXECUTE", "NoExecute"}
    for taint in items(get(resource.props, "taints")):
        if get(taint, "key") == key and get(taint, "effect") in effects:
            return
    yield f"GPU pool has no {key}:NoSchedule taint, so any pod may land on its GPU nodes"


def _scaling_bounds(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    low, desired, high = scaling(resource)
    if low is None or high is None:
        yield "pool has no explicit min/max size"
        return
    if low > high:
        yield f"min size {low:g} exceeds max size {high:g}"
    if desired is not None and not low <= desired <= high:
        yield f"desired size {desired:g} is outside [{low:g}, {high:g}]"
    limit = number(config.get("maxNodes")) or 0
    if high > limit:
        yield f"max size {high:g} exceeds this environment's limit of {limit:g} nodes per pool"


def _gpu_scaling(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if gpus_per_node(resource) == 0:
        return
    low, _, high = scaling(resource)
    max_nodes = number(config.get("maxGpuNodes")) or 0
    max_idle = number(config.get("maxMinGpuNodes")) or 0
    if high is not None and high > max_nodes:
        yield f"GPU pool max size {high:g} exceeds the GPU pool limit of {max_nodes:g} nodes"
    if low is not None and low > max_idle:
        yield f"GPU pool keeps {low:g} nodes running when idle (min size; at most {max_idle:g})"


def _spot_allowed(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if not is_spot(resource):
        return
    gpu = gpus_per_node(resource) > 0
    if not config.get("allowSpot", False):
        yield "spot capacity is not allowed in this environment"
    elif gpu and not config.get("allowGpuSpot", False):
        yield "spot GPU capacity is not allowed in this environment"


def _instance_types_allowed(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    patterns = strings(config.get("allowedInstanceTypes")) or ["*"]
    cloud = cloud_of(resource)
    for name in instance_types(resource):
        if catalog.instance_type(cloud, name) is None:
            yield f"instance type {name} is not in the {cloud} catalog"
        elif not matches(name, patterns):
            yield f"instance type {name} is not allowed here (allowed: {', '.join(patterns)})"


def _gpu_budget(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    budget = number(config.get("maxGpus")) or 0
    total = 0.0
    pools = []
    for pool in stack.of_type(EKS_NODE_GROUP, TKE_NODE_POOL):
        per_node = gpus_per_node(pool)
        high = scaling(pool)[2]
        if per_node and high:
            total += per_node * high
            pools.append(f"{pool.name}={per_node * high:g}")
    if total > budget:
        yield (
            None,
            (
                f"GPU pools can scale to {total:g} GPUs ({', '.join(pools)}), over this"
                f" environment's budget of {budget:g}"
            ),
        )


def _no_ssh(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if resource.type == EKS_NODE_GROUP:
        if get(resource.props, "remoteAccess.ec2SshKey") is not None:
            yield "node group allows SSH (remoteAccess.ec2SshKey); use SSM Session Manager"
    elif resource.type == TKE_NODE_POOL:
        # The same effect written the Tencent way: login keys or a password on the nodes
        # (terraform-provider-tencentcloud v1.82.42 resource_tc_kubernetes_node_pool.go,
        # auto_scaling_config.key_ids / password).
        if strings(get(resource.props, "autoScalingConfig.keyIds")):
            yield "node pool installs SSH login keys (autoScalingConfig.keyIds)"
        if get(resource.props, "autoScalingConfig.password") is not None:
            yield "node pool sets a login password (autoScalingConfig.password)"
    elif get(resource.props, "keyName") is not None:
        yield "launch template installs an SSH key (keyName); use SSM Session Manager"


RULES = [
    Rule(
        name="node-pool-no-public-ip",
        group="node_pools",
        description="Nodes get no public IP addresses.",
        severity="high",
        anchor="CIS EKS 5.4.3; checkov CKV_AWS_88",
        remediation="Nodes live in private subnets; remove public IP settings from the pool.",
        check=_no_public_ip,
        types=frozenset({LAUNCH_TEMPLATE, TKE_NODE_POOL, TKE_CLUSTER}),
    ),
    Rule(
        name="subnet-no-auto-public-ip",
        group="node_pools",
        description="Subnets do not hand out public IPs on launch.",
        severity="medium",
        anchor="checkov CKV_AWS_130",
        remediation="Set mapPublicIpOnLaunch to false; NAT gateways and load balancers do not"
        " need it.",
        check=_subnet_public_ip,
        types=frozenset({SUBNET}),
    ),
    Rule(
        name="node-imdsv2-required",
        group="node_pools",
        description="Nodes require IMDSv2 session tokens for instance metadata.",
        severity="high",
        anchor="EKS Best Practices: require IMDSv2; checkov CKV_AWS_79",
        remediation="Give every node group a launch template with metadataOptions.httpTokens"
        " = required.",
        check=_imdsv2,
        types=frozenset({LAUNCH_TEMPLATE, EKS_NODE_GROUP}),
    ),
    Rule(
        name="node-imds-hop-limit",
        group="node_pools",
        description="The IMDS response hop limit keeps pods away from node credentials.",
        severity="medium",
        anchor="EKS Best Practices: restrict access to the instance profile",
        remediation="Set metadataOptions.httpPutResponseHopLimit to 1 (pods use Pod Identity).",
        check=_imds_hop_limit,
        types=frozenset({LAUNCH_TEMPLATE}),
        config={"maxHopLimit": schema("integer", 2, "Largest allowed hop limit.")},
    ),
    Rule(
        name="node-disk-encrypted",
        group="node_pools",
        description="Node disks are encrypted.",
        severity="high",
        anchor="checkov CKV_AWS_8",
        remediation="Set ebs.encrypted in the launch template (encrypt on TKE data disks).",
        check=_disks_encrypted,
        types=frozenset({LAUNCH_TEMPLATE, EKS_NODE_GROUP, TKE_NODE_POOL}),
    ),
    Rule(
        name="node-ami-matches-hardware",
        group="node_pools",
        description="The node image matches the pool's CPU architecture and GPUs.",
        severity="high",
        anchor="tkestack (EKS amiType; Graviton/NVIDIA AMIs)",
        remediation="Let the node pool component derive amiType from the instance types.",
        check=_ami_matches,
        types=frozenset({EKS_NODE_GROUP}),
        config={"forbidAl2": schema("boolean", True, "Reject Amazon Linux 2 images.")},
    ),
    Rule(
        name="gpu-pool-tainted",
        group="node_pools",
        description="GPU pools carry the nvidia.com/gpu NoSchedule taint.",
        severity="high",
        anchor="tkestack (NVIDIA device plugin guidance)",
        remediation="Keep the derived GPU taint on the pool (derive_profile adds it).",
        check=_gpu_tainted,
        types=POOL_TYPES,
        config={"taintKey": schema("string", GPU_TAINT_KEY, "Taint key GPU pools carry.")},
    ),
    Rule(
        name="node-pool-scaling-bounds",
        group="node_pools",
        description="Pools have explicit, consistent scaling bounds within the environment's"
        " limit.",
        severity="medium",
        anchor="tkestack",
        remediation="Set min_size <= desired_size <= max_size within the limit.",
        check=_scaling_bounds,
        types=POOL_TYPES,
        config={"maxNodes": schema("integer", 50, "Largest max size of a pool.")},
    ),
    Rule(
        name="gpu-pool-scaling-bounds",
        group="node_pools",
        description="GPU pools have tighter bounds: few nodes, and none idle unless allowed.",
        severity="medium",
        anchor="tkestack (GPU cost control)",
        remediation="Lower max_size / min_size of the GPU pool.",
        check=_gpu_scaling,
        types=POOL_TYPES,
        config={
            "maxGpuNodes": schema("integer", 4, "Largest max size of a GPU pool."),
            "maxMinGpuNodes": schema("integer", 0, "Largest min size of a GPU pool."),
        },
    ),
    Rule(
        name="spot-only-where-allowed",
        group="node_pools",
        description="Spot capacity only in environments that allow it.",
        severity="medium",
        anchor="tkestack",
        remediation="Set `spot: false` on the pool.",
        check=_spot_allowed,
        types=POOL_TYPES,
        config={
            "allowSpot": schema("boolean", True, "Whether spot pools are allowed."),
            "allowGpuSpot": schema("boolean", True, "Whether spot GPU pools are allowed."),
        },
    ),
    Rule(
        name="instance-type-allowed",
        group="node_pools",
        description="Pools use catalogued instance types from the environment's allow-list.",
        severity="medium",
        anchor="tkestack (components/catalog/instances.yaml)",
        remediation="Pick an instance type matching the allow-list patterns.",
        check=_instance_types_allowed,
        types=POOL_TYPES,
        config={
            "allowedInstanceTypes": string_list(["*"], "Shell patterns of allowed instance types.")
        },
    ),
    Rule(
        name="gpu-budget",
        group="node_pools",
        description="All GPU pools together can scale to at most the environment's GPU budget.",
        severity="medium",
        anchor="tkestack (GPU cost control)",
        remediation="Lower GPU pool max sizes or raise the budget in the policy config.",
        check=_gpu_budget,
        stack=True,
        config={"maxGpus": schema("integer", 8, "Most GPUs across all pools at max size.")},
    ),
    Rule(
        name="node-no-ssh",
        group="node_pools",
        description="Nodes accept no SSH keys or login passwords, on any cloud.",
        severity="medium",
        anchor="checkov CKV_AWS_100",
        remediation="Remove remoteAccess / keyName (EKS; use SSM Session Manager) or"
        " autoScalingConfig.keyIds / password (TKE).",
        check=_no_ssh,
        types=frozenset({EKS_NODE_GROUP, LAUNCH_TEMPLATE, TKE_NODE_POOL}),
    ),
]
