"""The one `ClusterInfo` builder of the component tests (platform services, tenants, identity,
the critical path): call it inside a program function.

The platform components and the tenants take any `ClusterInfo`; this builds one the way an
enterprise would for its own cluster: an explicit Kubernetes provider over a (fake)
kubeconfig, the cloud provider of the region, the cloud's handle of the cluster (EKS name,
TKE id) and, on TKE, its OIDC issuer, and node pool profiles from `derive_profile`.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from tkestack.components.contracts import ClusterInfo, NodePoolProfile, derive_profile
from tkestack.mocks import fake_kubeconfig

INSTANCE_TYPES = {
    ("aws", "x86"): "m7i.xlarge",
    ("aws", "arm"): "m7g.xlarge",
    ("aws", "gpu"): "g4dn.xlarge",
    ("aws", "gpu-arm"): "g5g.xlarge",
    ("tencentcloud", "x86"): "S5.LARGE8",
    ("tencentcloud", "arm"): "SR1.LARGE8",
    ("tencentcloud", "gpu"): "GN7.2XLARGE32",
}
GPU_MODELS = {"gpu": "t4", "gpu-arm": "t4g"}
"""The accelerator of each GPU kind of pool (the instance types above carry these)."""
REGIONS: dict[str, str | None] = {
    "aws": "us-east-1",
    "tencentcloud": "ap-guangzhou",
    "attached": None,
}
"""Each cloud's default region of a test cluster (an attached cluster has none)."""
CLOUD_IDS = {"aws": lambda name: f"{name}-eks", "tencentcloud": lambda name: f"cls-{name}"}
"""The cloud's handle of a test cluster: EKS cluster name, TKE cluster id."""
DEFAULT = object()
"""`cluster(region=...)` not given: the cloud's default region (REGIONS)."""


def pool(cloud: str, name: str, kind: str = "x86", **kwargs: Any) -> NodePoolProfile:
    """A pool profile of `kind` (`x86`, `arm`, `gpu`, `gpu-arm`) derived like the clusters do;
    a GPU pool is exclusive unless `sharing=` says otherwise."""
    gpu_model = GPU_MODELS.get(kind)
    if gpu_model is not None:
        kwargs.setdefault("accelerator_model", gpu_model)
    if cloud == "attached":
        arch = "arm64" if kind in ("arm", "gpu-arm") else "x86_64"
        return derive_profile(
            cloud=cloud, name=name, instance_types=["unknown"], architecture=arch, **kwargs
        )
    return derive_profile(
        cloud=cloud, name=name, instance_types=[INSTANCE_TYPES[(cloud, kind)]], **kwargs
    )


def cluster(
    name: str = "c1",
    cloud: str = "aws",
    region: Any = DEFAULT,
    pools: list[NodePoolProfile] | None = None,
    version: str = "1.33",
    depends_on: list[pulumi.Resource] | None = None,
    oidc_issuer: str | None = None,
) -> ClusterInfo:
    """A ClusterInfo with explicit providers; registers resources, so call inside a program.

    `region`: the cloud's default (REGIONS) unless given. The cloud provider is named
    `<cloud>-<region>-<name>`, so several clusters of one region can share a program.
    `oidc_issuer`: a TKE cluster gets a fake one unless given (its workload identity needs
    it); an EKS cluster none unless given."""
    if region is DEFAULT:
        region = REGIONS[cloud]
    endpoint = f"https://{name}.example.invalid"
    kubeconfig = fake_kubeconfig(name, endpoint, name)
    k8s_provider = k8s.Provider(f"{name}-k8s", kubeconfig=pulumi.Output.secret(kubeconfig))
    cloud_provider: pulumi.ProviderResource | None = None
    if cloud == "aws":
        import pulumi_aws as aws

        cloud_provider = aws.Provider(f"aws-{region}-{name}", region=region)
    elif cloud == "tencentcloud":
        import tencentcloud_iac_pulumi as tencentcloud

        cloud_provider = tencentcloud.Provider(f"tencentcloud-{region}-{name}", region=region)
    if oidc_issuer is None and cloud == "tencentcloud":
        oidc_issuer = f"https://{name}.tke-oidc.example.invalid"
    return ClusterInfo(
        name=name,
        cloud=cloud,  # type: ignore[arg-type]
        region=region,
        kubernetes_version=version,
        endpoint=pulumi.Output.from_input(endpoint),
        kubeconfig=pulumi.Output.secret(kubeconfig),
        k8s_provider=k8s_provider,
        oidc_issuer=pulumi.Output.from_input(oidc_issuer) if oidc_issuer else None,
        node_pools=pools if pools is not None else [pool(cloud, "general")],
        cloud_provider=cloud_provider,
        cloud_cluster_id=pulumi.Output.from_input(CLOUD_IDS[cloud](name))
        if cloud in CLOUD_IDS
        else None,
        depends_on=depends_on or [],
    )
