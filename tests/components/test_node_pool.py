"""NodePool: one intent, derived settings per cloud (AMI type / node image, labels, taints,
launch settings), and the combinations that cannot be built."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cluster_support import NODE_POOL, children, find, render_cluster

from tkestack import engine
from tkestack.components.clouds import aws as eks
from tkestack.components.clouds import tencentcloud as tke
from tkestack.components.contracts import ARM_TAINT, GPU_TAINT, Taint
from tkestack.components.node_pool import pool_profile, pool_version

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TKE_POOL = "tencentcloud:Kubernetes/nodePool:NodePool"

AWS_POOLS: list[dict[str, Any]] = [
    {"name": "general", "instance_types": ["m7i.xlarge"], "min_size": 1, "max_size": 4},
    {"name": "graviton", "instance_types": ["m7g.xlarge", "m6g.xlarge"], "min_size": 0},
    {
        "name": "gpu",
        "instance_types": ["g4dn.xlarge"],
        "accelerator_model": "t4",
        "min_size": 0,
        "autoscaler_owns_desired_size": False,
        "desired_size": 1,
    },
    {
        "name": "gpu-arm",
        "instance_types": ["g5g.xlarge"],
        "accelerator_model": "t4g",
        "sharing": "hami",
        "min_size": 0,
    },
    {"name": "spot", "instance_types": ["c7g.large"], "spot": True, "disk_size_gib": 60},
]
TKE_ARM_IMAGE = "img-arm64abc"
"""A TKE ARM pool names its image: TKE's ARM image name is unverified (catalog/tke.py)."""
TKE_GPU_DRIVER = {
    # terraform-provider-tencentcloud v1.82.42,
    # tencentcloud/services/tke/resource_tc_kubernetes_node_pool_test.go (gpu_args)
    "driver_name": "NVIDIA-Linux-x86_64-470.182.03.run",
    "driver_version": "470.182.03",
    "cuda_name": "cuda_11.4.3_470.82.01_linux.run",
    "cuda_version": "11.4.3",
}
TKE_POOLS: list[dict[str, Any]] = [
    {"name": "general", "instance_types": ["S5.LARGE8"]},
    {"name": "arm", "instance_types": ["SR1.LARGE8"], "min_size": 0, "node_image": TKE_ARM_IMAGE},
    {
        "name": "gpu",
        "instance_types": ["GN7.2XLARGE32"],
        "accelerator_model": "t4",
        "sharing": "time-slicing",
        "min_size": 0,
        "gpu_driver": TKE_GPU_DRIVER,
    },
    {"name": "spot", "instance_types": ["S5.LARGE8", "S6.LARGE8"], "spot": True},
]


@pytest.fixture(scope="module")
def aws_render() -> engine.Rendering:
    return render_cluster("aws", AWS_POOLS)


@pytest.fixture(scope="module")
def tke_render() -> engine.Rendering:
    return render_cluster("tencentcloud", TKE_POOLS)


GPU_TAINT_EKS = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}


@pytest.mark.parametrize(
    ("pool", "ami_type", "labels", "taints"),
    [
        ("general", "AL2023_x86_64_STANDARD", {"tkestack.io/node-pool": "general"}, []),
        ("graviton", "AL2023_ARM_64_STANDARD", {"tkestack.io/node-pool": "graviton"}, []),
        (
            "gpu",
            "AL2023_x86_64_NVIDIA",
            {
                "tkestack.io/node-pool": "gpu",
                "tkestack.io/accelerator": "nvidia-t4",
                "tkestack.io/gpu-sharing": "exclusive",
            },
            [GPU_TAINT_EKS],
        ),
        (
            "gpu-arm",
            "AL2023_ARM_64_NVIDIA",
            {
                "tkestack.io/node-pool": "gpu-arm",
                "tkestack.io/accelerator": "nvidia-t4g",
                "tkestack.io/gpu-sharing": "hami",
                "gpu": "on",
            },
            [GPU_TAINT_EKS],
        ),
        (
            "spot",
            "AL2023_ARM_64_STANDARD",
            {"tkestack.io/node-pool": "spot", "tkestack.io/capacity": "spot"},
            [],
        ),
    ],
)
def test_eks_node_group_derived_settings(
    aws_render: engine.Rendering,
    pool: str,
    ami_type: str,
    labels: dict[str, str],
    taints: list[dict[str, str]],
) -> None:
    group = find(aws_render, NODE_GROUP, f"c1-{pool}-node-group")
    assert group.inputs["amiType"] == ami_type
    assert group.inputs["labels"] == labels
    assert group.inputs["taints"] == taints
    assert group.parent is not None and group.parent.endswith(f"{NODE_POOL}::c1-{pool}")


def test_eks_capacity_sizes_and_versions(aws_render: engine.Rendering) -> None:
    spot = find(aws_render, NODE_GROUP, "c1-spot-node-group").inputs
    general = find(aws_render, NODE_GROUP, "c1-general-node-group").inputs
    assert spot["capacityType"] == "SPOT"
    assert general["capacityType"] == "ON_DEMAND"
    assert general["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 1}
    assert general["version"] == "1.33"
    assert general["instanceTypes"] == ["m7i.xlarge"]
    assert len(general["subnetIds"]) == 3  # the private subnets of three zones


def test_autoscaler_owned_desired_size_ignores_drift(aws_render: engine.Rendering) -> None:
    owned = find(aws_render, NODE_GROUP, "c1-general-node-group")
    fixed = find(aws_render, NODE_GROUP, "c1-gpu-node-group")
    assert owned.options.get("ignoreChanges") == ["scalingConfig.desiredSize"]
    assert "ignoreChanges" not in fixed.options
    assert fixed.inputs["scalingConfig"]["desiredSize"] == 1


@pytest.mark.parametrize("pool", ["general", "gpu", "spot"])
def test_eks_launch_template_imdsv2_encrypted_gp3_no_public_ip(
    aws_render: engine.Rendering, pool: str
) -> None:
    template = find(aws_render, LAUNCH_TEMPLATE, f"c1-{pool}-launch-template").inputs
    metadata = template["metadataOptions"]
    assert metadata["httpTokens"] == "required"
    assert metadata["httpPutResponseHopLimit"] == 1
    (root,) = template["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda"
    assert root["ebs"]["encrypted"] == "true"
    assert root["ebs"]["volumeType"] == "gp3"
    assert root["ebs"]["volumeSize"] == (60 if pool == "spot" else 100)
    assert "networkInterfaces" not in template
    group = find(aws_render, NODE_GROUP, f"c1-{pool}-node-group").inputs
    assert group["launchTemplate"]["version"] == "1"


def test_eks_nodes_only_in_subnets_without_public_ips(aws_render: engine.Rendering) -> None:
    subnets = {r.outputs["id"]: r for r in aws_render.of_type("aws:ec2/subnet:Subnet")}
    group = find(aws_render, NODE_GROUP, "c1-general-node-group").inputs
    for subnet_id in group["subnetIds"]:
        subnet = subnets[subnet_id]
        assert subnet.name.startswith("c1-private-")
        assert subnet.inputs["mapPublicIpOnLaunch"] is False


@pytest.mark.parametrize(
    ("pool", "node_os", "charge", "gpu_args", "taints"),
    [
        ("general", "tlinux3.1x86_64", "POSTPAID_BY_HOUR", False, []),
        ("arm", TKE_ARM_IMAGE, "POSTPAID_BY_HOUR", False, []),
        (
            "gpu",
            "tlinux3.1x86_64",
            "POSTPAID_BY_HOUR",
            True,
            [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
        ),
        ("spot", "tlinux3.1x86_64", "SPOTPAID", False, []),
    ],
)
def test_tke_node_pool_derived_settings(
    tke_render: engine.Rendering,
    pool: str,
    node_os: str,
    charge: str,
    gpu_args: bool,
    taints: list[dict[str, str]],
) -> None:
    inputs = find(tke_render, TKE_POOL, f"c1-{pool}-node-pool").inputs
    assert inputs["name"] == pool
    assert inputs["nodeOs"] == node_os
    assert inputs["taints"] == taints
    assert inputs["labels"]["tkestack.io/node-pool"] == pool
    scaling = inputs["autoScalingConfig"]
    assert scaling["instanceChargeType"] == charge
    assert scaling["publicIpAssigned"] is False
    assert scaling["internetMaxBandwidthOut"] == 0
    (disk,) = scaling["dataDisks"]
    assert disk["encrypt"] is True
    assert ("gpuArgs" in inputs["nodeConfig"]) is gpu_args
    assert inputs["nodeConfig"]["dataDisks"][0]["mountTarget"] == "/var/lib/containerd"
    # The runtime root is on the encrypted data disk, not the provider's default
    # /var/lib/docker on the system disk: terraform-provider-tencentcloud v1.82.42,
    # tencentcloud/services/tke/resource_tc_kubernetes_node_pool.go
    # (`node_config.docker_graph_path`, Default "/var/lib/docker", ForceNew).
    assert inputs["nodeConfig"]["dockerGraphPath"] == "/var/lib/containerd"


def test_tke_spot_and_backup_types(tke_render: engine.Rendering) -> None:
    scaling = find(tke_render, TKE_POOL, "c1-spot-node-pool").inputs["autoScalingConfig"]
    assert scaling["instanceType"] == "S5.LARGE8"
    assert scaling["backupInstanceTypes"] == ["S6.LARGE8"]
    assert scaling["spotInstanceType"] == "one-time"
    assert float(scaling["spotMaxPrice"]) > 0
    general = find(tke_render, TKE_POOL, "c1-general-node-pool").inputs["autoScalingConfig"]
    assert "spotInstanceType" not in general and "backupInstanceTypes" not in general


def test_tke_gpu_labels_and_autoscaling(tke_render: engine.Rendering) -> None:
    gpu = find(tke_render, TKE_POOL, "c1-gpu-node-pool")
    assert gpu.inputs["labels"] == {
        "tkestack.io/node-pool": "gpu",
        "tkestack.io/accelerator": "nvidia-t4",
        "tkestack.io/gpu-sharing": "time-slicing",
    }
    assert gpu.inputs["enableAutoScale"] is True
    assert gpu.options.get("ignoreChanges") == ["desiredCapacity"]
    assert gpu.inputs["nodeConfig"]["gpuArgs"] == {
        "driver": {"name": "NVIDIA-Linux-x86_64-470.182.03.run", "version": "470.182.03"},
        "cuda": {"name": "cuda_11.4.3_470.82.01_linux.run", "version": "11.4.3"},
        "migEnable": False,
    }


def test_tke_gpu_driver_left_to_the_operator() -> None:
    operator_pool = {k: v for k, v in TKE_POOLS[2].items() if k != "gpu_driver"}
    rendering = render_cluster("tencentcloud", [operator_pool], install_gpu_driver=False)
    gpu = find(rendering, TKE_POOL, "c1-gpu-node-pool").inputs
    assert "gpuArgs" not in gpu["nodeConfig"]
    assert gpu["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]


def test_attached_pools_create_nothing_and_keep_their_profile() -> None:
    pools = [
        {"name": "general", "instance_types": ["r760"], "architecture": "x86_64"},
        {
            "name": "gpu",
            "instance_types": ["dgx"],
            "architecture": "x86_64",
            "accelerator_model": "a100",
            "accelerator_count": 8,
        },
    ]
    rendering = render_cluster("attached", pools)
    assert len(rendering.of_type(NODE_POOL)) == 2
    for pool in ("c1-general", "c1-gpu"):
        assert children(rendering, pool) == []


@pytest.mark.parametrize(
    ("cloud", "types", "expected"),
    [
        ("aws", ["m7i.xlarge"], eks.ami_type),
        ("tencentcloud", ["S5.LARGE8"], lambda profile: tke.node_os(profile, "tlinux-arm64")),
    ],
)
def test_arm_opt_in_taint_only_on_arm_pools(cloud: str, types: list[str], expected: Any) -> None:
    x86 = pool_profile(cloud, {"name": "x86", "instance_types": types}, arm_opt_in_taint=True)
    arm_type = "m7g.xlarge" if cloud == "aws" else "SR1.LARGE8"
    arm = pool_profile(cloud, {"name": "arm", "instance_types": [arm_type]}, arm_opt_in_taint=True)
    assert ARM_TAINT in arm.taints and ARM_TAINT not in x86.taints
    assert arm.labels["tkestack.io/node-pool"] == "arm"
    assert "arm64" in expected(arm).lower().replace("_", "")


def test_eks_taint_effects_use_the_api_spelling() -> None:
    profile = pool_profile(
        "aws",
        {
            "name": "p",
            "instance_types": ["g5.xlarge"],
            "accelerator_model": "a10g",
            "taints": [Taint("dedicated", "ml", "NoExecute")],
        },
        arm_opt_in_taint=False,
    )
    assert GPU_TAINT in profile.taints
    assert {"key": "dedicated", "value": "ml", "effect": "NO_EXECUTE"} in eks.eks_taints(profile)


@pytest.mark.parametrize(
    ("pool", "fragment"),
    [
        ({"instance_types": ["m7i.xlarge", "m7g.xlarge"]}, "mix architectures"),
        ({"instance_types": ["m7g.xlarge"], "architecture": "x86_64"}, "architecture x86_64"),
        ({"instance_types": ["m7i.xlarge"], "accelerator_model": "t4"}, "do not carry t4"),
        ({"instance_types": ["g4dn.xlarge"]}, "need an accelerator"),
        ({"instance_types": ["m9z.xlarge"]}, "unknown aws instance types"),
        ({"instance_types": ["m7i.xlarge"], "min_size": 5, "max_size": 2}, "min_size 5"),
    ],
)
def test_contradictory_hardware_is_refused_before_any_resource(
    pool: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        pool_profile("aws", {"name": "p", **pool}, arm_opt_in_taint=False)


@pytest.mark.parametrize(
    ("cluster", "pool", "expected"),
    [("1.33", None, "1.33"), ("1.33", "1.33", "1.33"), ("1.33", "1.32", "1.32")],
)
def test_pools_follow_the_control_plane(cluster: str, pool: str | None, expected: str) -> None:
    assert pool_version(cluster, pool, "p") == expected


@pytest.mark.parametrize(
    ("pool", "fragment"), [("1.34", "ahead of the control plane"), ("1.31", "more than one")]
)
def test_version_skew_is_refused(pool: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        pool_version("1.33", pool, "p")


# -- TKE node image and GPU driver: named by the pool, never guessed ------------------------
# terraform-provider-tencentcloud v1.82.42: `node_os` takes an OS name or image id and is not
# validated (resource_tc_kubernetes_node_pool.go); no ARM OS name appears in the provider or
# its SDK. `gpu_args.driver`/`cuda` are only checked for non-empty name and version
# (tencentcloud/common/validators.go ValidateTkeGpuDriverVersion).


def test_tke_x86_pools_default_to_tencentos_3_1(tke_render: engine.Rendering) -> None:
    # resource_tc_kubernetes_cluster.md (v1.82.42): cluster_os = "tlinux3.1x86_64"
    assert find(tke_render, TKE_POOL, "c1-general-node-pool").inputs["nodeOs"] == "tlinux3.1x86_64"


@pytest.mark.parametrize(
    ("pool", "fragment"),
    [
        (
            {"name": "arm", "instance_types": ["SR1.LARGE8"]},
            "node_pools[0].node_image: required on ARM pools",
        ),
        (
            {"name": "arm", "instance_types": ["SR1.LARGE8"], "node_image": "tlinux 3.1"},
            "node_pools[0].node_image: 'tlinux 3.1' is neither",
        ),
        (
            {"name": "gpu", "instance_types": ["GN7.2XLARGE32"], "accelerator_model": "t4"},
            "node_pools[0].gpu_driver: required",
        ),
        (
            {
                "name": "gpu",
                "instance_types": ["GN7.2XLARGE32"],
                "accelerator_model": "t4",
                "gpu_driver": {**TKE_GPU_DRIVER, "driver_version": "535.161.07"},
            },
            "gpu_driver.driver_name: 'NVIDIA-Linux-x86_64-470.182.03.run' does not contain",
        ),
        (
            {"name": "x86", "instance_types": ["S5.LARGE8"], "gpu_driver": TKE_GPU_DRIVER},
            "node_pools[0].gpu_driver: applies only to GPU pools",
        ),
    ],
)
def test_tke_pools_refuse_guessed_images_and_drivers(pool: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        render_cluster("tencentcloud", [{**pool, "min_size": 1}])


def test_node_image_and_gpu_driver_are_tke_only() -> None:
    pool = {"name": "general", "instance_types": ["m7i.xlarge"], "node_image": "img-abcdefgh"}
    with pytest.raises(ValueError, match=re.escape("node_image: applies only to tencentcloud")):
        render_cluster("aws", [pool])
