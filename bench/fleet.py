"""A generated fleet environment for the benchmarks: N clusters across AWS and Tencent Cloud,
five pools each mixing x86, ARM and GPU (time-slicing and HAMi), all platform services,
and tenants spread over the clusters. Deterministic for a given N.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

AWS_REGIONS = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-1",
]
TENCENT_REGIONS = ["ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-nanjing", "ap-singapore"]

AWS_POOLS: list[dict[str, Any]] = [
    {"name": "general", "instance_types": ["m7i.2xlarge"], "min_size": 2, "max_size": 10},
    {
        "name": "graviton",
        "instance_types": ["m7g.2xlarge", "m6g.2xlarge"],
        "min_size": 0,
        "max_size": 10,
        "spot": True,
    },
    {
        "name": "compute",
        "instance_types": ["c7i.2xlarge"],
        "min_size": 0,
        "max_size": 10,
        "spot": True,
    },
    {
        "name": "gpu-t4",
        "instance_types": ["g4dn.xlarge"],
        "min_size": 0,
        "max_size": 4,
        "accelerator": {"model": "t4", "sharing": "time-slicing", "replicas": 4},
    },
    {
        "name": "gpu-a10g",
        "instance_types": ["g5.2xlarge"],
        "min_size": 0,
        "max_size": 4,
        "accelerator": {"model": "a10g", "sharing": "hami"},
    },
]
TKE_GPU_DRIVER = {
    # terraform-provider-tencentcloud v1.82.42, resource_tc_kubernetes_node_pool_test.go
    "driver_name": "NVIDIA-Linux-x86_64-470.182.03.run",
    "driver_version": "470.182.03",
    "cuda_name": "cuda_11.4.3_470.82.01_linux.run",
    "cuda_version": "11.4.3",
}
TENCENT_POOLS: list[dict[str, Any]] = [
    {"name": "general", "instance_types": ["S5.2XLARGE16"], "min_size": 2, "max_size": 10},
    # TKE pools name their ARM image and GPU driver (components/catalog/tke.py); placeholders.
    {
        "name": "arm",
        "instance_types": ["SR1.2XLARGE16"],
        "min_size": 0,
        "max_size": 10,
        "node_image": "img-xxxxxxxx",
    },
    {
        "name": "spot",
        "instance_types": ["S5.2XLARGE32"],
        "min_size": 0,
        "max_size": 10,
        "spot": True,
    },
    {
        "name": "gpu-t4",
        "instance_types": ["GN7.2XLARGE32"],
        "min_size": 0,
        "max_size": 4,
        "accelerator": {"model": "t4", "sharing": "time-slicing", "replicas": 4},
        "gpu_driver": TKE_GPU_DRIVER,
    },
    {
        "name": "gpu-v100",
        "instance_types": ["GN10Xp.2XLARGE40"],
        "min_size": 0,
        "max_size": 4,
        "accelerator": {"model": "v100", "sharing": "hami"},
        "gpu_driver": TKE_GPU_DRIVER,
    },
]


def scaled_tenants(clusters: int) -> int:
    """Tenants of a fleet of `clusters` clusters: 20 at 50 clusters, in proportion below (at
    least one), so the work per cluster stays the same at every size."""
    return max(1, round(clusters * 20 / 50))


RECEIVER_TLS_KEY = "tkestack:fleet-receiver-tls"
"""Stack config key of the receivers' TLS bundle (`observability.receiver_tls_secret`)."""


def fleet_environment(
    clusters: int = 50, tenants: int = 20, cloud: str | None = None
) -> dict[str, Any]:
    """The environment value of a fleet with `clusters` clusters (60% AWS, 40% Tencent, or
    all on `cloud`: "aws" / "tencentcloud")."""
    specs = []
    for index in range(clusters):
        on_aws = cloud == "aws" if cloud else index % 5 < 3
        if on_aws:
            region = AWS_REGIONS[index % len(AWS_REGIONS)]
            cluster = {
                "name": f"eks-{index:02d}",
                "cloud": "aws",
                "region": region,
                "kubernetes_version": "1.34",
                "node_pools": AWS_POOLS,
            }
        else:
            region = TENCENT_REGIONS[index % len(TENCENT_REGIONS)]
            cluster = {
                "name": f"tke-{index:02d}",
                "cloud": "tencentcloud",
                "region": region,
                "kubernetes_version": "1.34",
                "node_pools": TENCENT_POOLS,
            }
        cluster["network"] = {"vpc_cidr": f"10.{index}.0.0/16"}
        if not on_aws:
            # TKE's derived pod CIDRs (172.16-31.x) repeat beyond 16 clusters: set each one.
            cluster["network"]["pod_cidr"] = f"10.{64 + index}.0.0/16"
        specs.append(cluster)
    tenant_specs = []
    for index in range(tenants if clusters else 0):
        placed = sorted({specs[(index + step * 7) % clusters]["name"] for step in range(3)})
        tenant_specs.append(
            {
                "name": f"team-{index:02d}",
                "clusters": placed,
                "quota": {"cpu": "4", "memory": "8Gi", "pods": 50},
                "groups": {
                    "admins": [f"team-{index:02d}-leads"],
                    "developers": [f"team-{index:02d}-devs"],
                },
            }
        )
    return {
        "name": "fleet",
        "tier": "staging",
        # Placeholder accounts: required by the spec whenever a cluster is on that cloud.
        "identity": {"aws_account_id": "123456789012", "tencent_uin": "100000000001"},
        "tags": {"owner": "platform-team", "cost-center": "bench"},
        # Several TKE regions replicate images between them: TCR needs the premium edition.
        "registry": {"tencent_edition": "premium"},
        "clusters": specs,
        "tenants": tenant_specs,
        # Where deployments run from (placeholder ids): every private API is reached through
        # its region's transit gateway or the CCN (the spec rules require a declared path).
        "deployer": {
            "cidrs": ["10.250.0.0/24"],
            "hub": {
                "aws_transit_gateways": {
                    region: f"tgw-0f1ee7{index:011x}" for index, region in enumerate(AWS_REGIONS)
                },
                "tencent_ccn_id": "ccn-f1ee7001",
            },
        },
        # The peers push metrics and logs to the central cluster's receivers over TLS.
        "observability": {
            "receiver_hostname": "receivers.fleet.example.com",
            "receiver_tls_secret": RECEIVER_TLS_KEY.split(":", 1)[1],
        },
    }


def write_fleet(
    path: Path, clusters: int = 50, tenants: int = 20, cloud: str | None = None
) -> Path:
    """Write `Pulumi.fleet.yaml`-style stack config for the fleet into `path`."""
    config = {
        "pulumi:disable-default-providers": ["*"],
        "tkestack:environment": fleet_environment(clusters, tenants, cloud),
        # The receivers' certificate: a secret the offline render stands a PEM-shaped fake in for.
        RECEIVER_TLS_KEY: {"secure": "v1:REPLACE-with-pulumi-config-set-secret"},
    }
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return path
