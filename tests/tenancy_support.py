"""ClusterInfo builders for tenancy tests (call them inside a program function).

A tenant takes any `ClusterInfo`; these build one the way an enterprise would for its own
cluster: an explicit Kubernetes provider over a (fake) kubeconfig, the region's cloud
provider, and node pool profiles from `derive_profile`.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from tkestack import engine
from tkestack.components.contracts import ClusterInfo, NodePoolProfile, derive_profile
from tkestack.mocks import fake_kubeconfig

INSTANCE_TYPES = {
    ("aws", "x86"): "m7i.xlarge",
    ("aws", "gpu"): "g4dn.xlarge",
    ("tencentcloud", "x86"): "S5.LARGE8",
    ("tencentcloud", "gpu"): "GN7.2XLARGE32",
}
REGIONS = {"aws": "us-east-1", "tencentcloud": "ap-guangzhou", "attached": None}
GPU_MODELS = {"aws": "t4", "tencentcloud": "t4"}
CLOUD_IDS = {"aws": lambda name: f"{name}-eks", "tencentcloud": lambda name: f"cls-{name}"}
"""The cloud's handle of a test cluster: EKS cluster name, TKE cluster id."""


def pool(cloud: str, name: str, kind: str = "x86", **kwargs: Any) -> NodePoolProfile:
    """A pool profile: `x86`, `gpu` (exclusive unless `sharing=` says otherwise)."""
    if cloud == "attached":
        return derive_profile(
            cloud=cloud,
            name=name,
            instance_types=["unknown"],
            architecture="x86_64",
            accelerator_model="t4" if kind == "gpu" else None,
            **kwargs,
        )
    if kind == "gpu":
        kwargs.setdefault("accelerator_model", GPU_MODELS[cloud])
    return derive_profile(
        cloud=cloud, name=name, instance_types=[INSTANCE_TYPES[(cloud, kind)]], **kwargs
    )


def cluster(
    name: str = "c1",
    cloud: str = "aws",
    pools: list[NodePoolProfile] | None = None,
    version: str = "1.33",
    oidc_issuer: str | None = None,
) -> ClusterInfo:
    """A ClusterInfo with explicit providers; registers resources, so call inside a program."""
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
        if cloud != "attached"
        else None,
    )


def objects(rendering: engine.Rendering, kind: str) -> list[dict[str, Any]]:
    """The rendered Kubernetes objects of one kind (plain dicts, as applied)."""
    return [doc for _, doc in engine.kubernetes_objects(rendering) if doc["kind"] == kind]


def cloud_resources(rendering: engine.Rendering, type_: str) -> list[engine.RenderedResource]:
    """Rendered resources of one type token."""
    return rendering.of_type(type_)
