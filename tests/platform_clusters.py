"""ClusterInfo builders for platform-service tests (call them inside a program function).

The platform components take any `ClusterInfo`; these build one the way an enterprise would
for its own cluster: an explicit Kubernetes provider over a (fake) kubeconfig, the cloud
provider of the region, and node pool profiles from `derive_profile`.
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


def pool(cloud: str, name: str, kind: str = "x86", **kwargs: Any) -> NodePoolProfile:
    """A pool profile of `kind` (`x86`, `arm`, `gpu`, `gpu-arm`) derived like the clusters do."""
    if cloud == "attached":
        arch = "arm64" if kind in ("arm", "gpu-arm") else "x86_64"
        return derive_profile(
            cloud=cloud, name=name, instance_types=["unknown"], architecture=arch, **kwargs
        )
    gpu_model = {"gpu": "t4", "gpu-arm": "t4g"}.get(kind)
    if gpu_model is not None:
        kwargs.setdefault("accelerator_model", gpu_model)
    return derive_profile(
        cloud=cloud, name=name, instance_types=[INSTANCE_TYPES[(cloud, kind)]], **kwargs
    )


def cluster(
    name: str = "c1",
    cloud: str = "aws",
    region: str | None = "us-east-1",
    pools: list[NodePoolProfile] | None = None,
    version: str = "1.33",
    depends_on: list[pulumi.Resource] | None = None,
) -> ClusterInfo:
    """A ClusterInfo with explicit providers; register resources, so call inside a program."""
    endpoint = f"https://{name}.example.invalid"
    kubeconfig = fake_kubeconfig(name, endpoint, name)
    k8s_provider = k8s.Provider(f"{name}-k8s", kubeconfig=pulumi.Output.secret(kubeconfig))
    cloud_provider: pulumi.ProviderResource | None = None
    if cloud == "aws":
        import pulumi_aws as aws

        cloud_provider = aws.Provider(f"aws-{region}", region=region)
    elif cloud == "tencentcloud":
        import tencentcloud_iac_pulumi as tencentcloud

        cloud_provider = tencentcloud.Provider(f"tencentcloud-{region}", region=region)
    return ClusterInfo(
        name=name,
        cloud=cloud,  # type: ignore[arg-type]
        region=region,
        kubernetes_version=version,
        endpoint=pulumi.Output.from_input(endpoint),
        kubeconfig=pulumi.Output.secret(kubeconfig),
        k8s_provider=k8s_provider,
        node_pools=pools if pools is not None else [pool(cloud, "general")],
        cloud_provider=cloud_provider,
        depends_on=depends_on or [],
    )
