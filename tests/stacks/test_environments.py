"""The shipped environments render the clusters and pools they declare, hardened by tier, with
no plaintext kubeconfig anywhere; the combinations the clouds cannot build are refused with
their exact path."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import minimal_environment
from spec_support import problems_of

from tkestack import engine
from tkestack.components import catalog
from tkestack.mocks import fake_kubeconfig
from tkestack.stacks.rules import tke_pod_cidr
from tkestack.stacks.spec import NetworkSpec

Render = Callable[[str], engine.Rendering]

EXPECTED_CLUSTERS: dict[str, dict[str, tuple[str, str | None]]] = {
    "dev": {"dev-use1": ("aws", "us-east-1")},
    "staging": {"stg-use1": ("aws", "us-east-1"), "stg-gz": ("tencentcloud", "ap-guangzhou")},
    "prod": {
        "prod-use1": ("aws", "us-east-1"),
        "prod-euc1": ("aws", "eu-central-1"),
        "prod-sh": ("tencentcloud", "ap-shanghai"),
        "prod-onprem": ("attached", "dc-frankfurt"),
    },
}
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TKE_POOL = "tencentcloud:Kubernetes/nodePool:NodePool"
PLAINTEXT_CREDENTIALS = re.compile(
    r"BEGIN CERTIFICATE|BEGIN [A-Z ]*PRIVATE KEY|LS0tLS1CRUdJTi|certificate-authority-data"
    r"|client-key-data|k8s-aws-v1\."
)
"""PEM blocks (plain or base64), kubeconfig credential keys and EKS bearer tokens."""


def architecture(cloud: str, instance_types: list[str]) -> str:
    """The one architecture of `instance_types`, from the catalog."""
    (found,) = {catalog.instance_type(cloud, name).architecture for name in instance_types}
    return found


def cluster_outputs(rendering: engine.Rendering) -> dict[str, Any]:
    outputs: dict[str, Any] = rendering.stack_outputs["clusters"]
    return outputs


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_environment_has_its_clusters(rendered: Render, env: str) -> None:
    rendering = rendered(env)
    clusters = cluster_outputs(rendering)
    found = {name: (info["cloud"], info["region"]) for name, info in clusters.items()}
    assert found == EXPECTED_CLUSTERS[env]
    components = sorted(r.name for r in rendering.of_type("tkestack:index:Cluster"))
    assert components == sorted(EXPECTED_CLUSTERS[env])


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_cluster_has_x86_arm_and_gpu_pools(rendered: Render, env: str) -> None:
    for name, info in cluster_outputs(rendered(env)).items():
        pools = info["node_pools"]
        architectures = {pool["architecture"] for pool in pools.values()}
        gpu = [pool for pool in pools.values() if pool["accelerator"]]
        assert architectures == {"x86_64", "arm64"}, name
        assert gpu and all(pool["sharing"] for pool in gpu), name
        assert info["kubernetes_version"] == re.match(r"1\.\d+", info["kubernetes_version"])[0]


def test_prod_pools_as_declared(rendered: Render) -> None:
    pools = {name: info["node_pools"] for name, info in cluster_outputs(rendered("prod")).items()}
    assert sorted(pools["prod-use1"]) == ["general", "gpu-a10g", "gpu-graviton", "graviton"]
    assert pools["prod-use1"]["gpu-graviton"] == {
        "architecture": "arm64",
        "instance_types": ["g5g.2xlarge"],
        "accelerator": "nvidia-t4g",
        "sharing": "time-slicing",
        "spot": False,
        "min_size": 0,
        "max_size": 2,
    }
    assert pools["prod-sh"]["arm"]["instance_types"] == ["SR1.2XLARGE32"]
    assert pools["prod-onprem"]["gpu-a100"]["accelerator"] == "nvidia-a100"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_gpu_pool_is_tainted_and_every_arm_pool_on_an_arm_image(
    rendered: Render, env: str
) -> None:
    rendering = rendered(env)
    groups = rendering.of_type(NODE_GROUP)
    tke_pools = rendering.of_type(TKE_POOL)
    assert groups or tke_pools
    for group in groups:
        inputs = group.inputs
        gpu = "tkestack.io/accelerator" in inputs["labels"]
        arm = architecture("aws", inputs["instanceTypes"]) == "arm64"
        assert (
            inputs["amiType"]
            == {
                (False, False): "AL2023_x86_64_STANDARD",
                (False, True): "AL2023_ARM_64_STANDARD",
                (True, False): "AL2023_x86_64_NVIDIA",
                (True, True): "AL2023_ARM_64_NVIDIA",
            }[(gpu, arm)]
        ), group.name
        gpu_taint = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}
        assert (gpu_taint in inputs["taints"]) is gpu, group.name
    for pool in tke_pools:
        inputs = pool.inputs
        gpu = "tkestack.io/accelerator" in inputs["labels"]
        arm = architecture("tencentcloud", [inputs["autoScalingConfig"]["instanceType"]]) == "arm64"
        # x86 pools run TencentOS 3.1 x86; ARM pools the image their stack names (TKE's ARM
        # image name is unverified, components/catalog/tke.py), never the x86 default.
        assert (inputs["nodeOs"] == "tlinux3.1x86_64") is not arm, pool.name
        gpu_taint = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
        assert (gpu_taint in inputs["taints"]) is gpu, pool.name


def test_prod_is_hardened(rendered: Render) -> None:
    rendering = rendered("prod")
    for cluster in rendering.of_type("aws:eks/cluster:Cluster"):
        assert cluster.protect and cluster.inputs["deletionProtection"] is True
        assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False
    for cluster in rendering.of_type("tencentcloud:Kubernetes/cluster:Cluster"):
        assert cluster.protect and cluster.inputs["deletionProtection"] is True
    for endpoint in rendering.of_type("tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint"):
        assert endpoint.inputs["clusterInternet"] is False
    for type_ in ("aws:ec2/vpc:Vpc", "tencentcloud:Vpc/instance:Instance"):
        assert all(vpc.protect for vpc in rendering.of_type(type_)), type_
    keys = [r for r in rendering.resources if r.type.endswith("/key:Key") and "-secrets-" in r.name]
    assert len(keys) == 3 and all(key.protect for key in keys)
    nats = rendering.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 6  # one per zone in each of the two EKS regions


def test_dev_stays_cheap_and_unprotected(rendered: Render) -> None:
    rendering = rendered("dev")
    (cluster,) = rendering.of_type("aws:eks/cluster:Cluster")
    assert not cluster.protect and cluster.inputs["deletionProtection"] is False
    assert len(rendering.of_type("aws:ec2/natGateway:NatGateway")) == 1


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_kubeconfigs_are_secret_in_outputs_and_render_json(rendered: Render, env: str) -> None:
    rendering = rendered(env)
    for name, info in cluster_outputs(rendering).items():
        assert isinstance(info["kubeconfig"], engine.SecretValue), name
        assert info["endpoint"].startswith("https://"), name
    document = engine.render_json(rendering)
    masked = engine.masked(rendering.stack_outputs)["clusters"]
    assert {info["kubeconfig"] for info in masked.values()} == {"[secret]"}
    for provider in rendering.of_type("pulumi:providers:kubernetes"):
        assert isinstance(provider.inputs["kubeconfig"], engine.SecretValue), provider.name
    leaks = sorted(set(PLAINTEXT_CREDENTIALS.findall(document)))
    assert leaks == [], f"plaintext credentials in `tkestack render {env} --format json`"


# -- what the clouds cannot build -------------------------------------------------------------


TKE_CLUSTER: dict[str, Any] = {
    "name": "tke1",
    "cloud": "tencentcloud",
    "region": "ap-guangzhou",
    "kubernetes_version": "1.32",
    "network": {"vpc_cidr": "10.1.0.0/16"},
    "node_pools": [{"name": "general", "instance_types": ["S5.LARGE8"]}],
}


def eks(**change: Any) -> dict[str, Any]:
    environment = minimal_environment()
    environment["clusters"][0].update(change)
    return environment


def tke(**change: Any) -> dict[str, Any]:
    cluster = copy.deepcopy(TKE_CLUSTER)
    cluster.update(change)
    return minimal_environment(clusters=[cluster])


def pool(**fields: Any) -> dict[str, Any]:
    return {"name": "p", "instance_types": ["m7i.xlarge"], **fields}


@pytest.mark.parametrize(
    ("environment", "path", "fragment"),
    [
        (
            eks(node_pools=[pool(instance_types=["m7i.xlarge", "m7g.xlarge"])]),
            "clusters[0].node_pools[0].instance_types",
            "mixes architectures",
        ),
        (
            eks(node_pools=[pool(instance_types=["m7g.xlarge"], architecture="x86_64")]),
            "clusters[0].node_pools[0].architecture",
            "arm64",
        ),
        (
            eks(node_pools=[pool(accelerator={"model": "t4"})]),
            "clusters[0].node_pools[0].instance_types[0]",
            "no GPU",
        ),
        (
            eks(node_pools=[pool(kubernetes_version="1.31")]),
            "clusters[0].node_pools[0].kubernetes_version",
            "more than one minor",
        ),
        (
            eks(node_pools=[pool(min_size=0)]),
            "clusters[0].node_pools",
            "min_size >= 1",
        ),
        (
            eks(
                name="a-rather-long-cluster-name-here",
                node_pools=[pool(name="and-an-equally-long-pool-name")],
            ),
            "clusters[0].node_pools[0].name",
            "EKS allows 63",
        ),
        (
            eks(network={"vpc_cidr": "10.0.0.0/16", "pod_cidr": "172.16.0.0/16"}),
            "clusters[0].network.pod_cidr",
            "does not apply to EKS",
        ),
        (
            tke(
                node_pools=[{"name": "abcdefghijklmnopqrstuvwxyz", "instance_types": ["S5.LARGE8"]}]
            ),
            "clusters[0].node_pools[0].name",
            "at most 25",
        ),
        (
            tke(
                kubernetes_version="1.34",
                node_pools=[
                    {"name": "p", "instance_types": ["S5.LARGE8"], "kubernetes_version": "1.32"}
                ],
            ),
            "clusters[0].node_pools[0].kubernetes_version",
            "run the cluster's version",
        ),
        (
            tke(network={"vpc_cidr": "10.1.0.0/16", "pod_cidr": "100.64.0.0/16"}),
            "clusters[0].network.pod_cidr",
            "must lie in",
        ),
        (
            minimal_environment(
                gpu={"driver": "operator"},
                clusters=[
                    {
                        **minimal_environment()["clusters"][0],
                        "node_pools": [
                            pool(),
                            pool(
                                name="gpu",
                                instance_types=["g5.xlarge"],
                                accelerator={"model": "a10g"},
                            ),
                        ],
                    }
                ],
            ),
            "gpu.driver",
            "Amazon Linux 2023",
        ),
    ],
)
def test_combinations_the_clouds_cannot_build_name_their_path(
    environment: dict[str, Any], path: str, fragment: str
) -> None:
    problems = problems_of(environment)
    assert path in problems, problems
    assert fragment in problems[path]


def test_derived_tke_pod_cidr_is_checked_against_other_clusters() -> None:
    # 10.1.0.0/16 derives 172.17.0.0/16, which the EKS cluster's VPC occupies here.
    aws_cluster = minimal_environment()["clusters"][0]
    aws_cluster["network"] = {"vpc_cidr": "172.17.0.0/16"}
    environment = minimal_environment(clusters=[aws_cluster, copy.deepcopy(TKE_CLUSTER)])
    problems = problems_of(environment)
    assert "derived from vpc_cidr" in problems["clusters[1].network.pod_cidr"]


@pytest.mark.parametrize(
    ("vpc", "pods"),
    [
        ("10.1.0.0/16", "172.17.0.0/16"),
        ("10.32.0.0/16", "172.16.0.0/16"),
        ("172.20.0.0/16", "10.20.0.0/16"),
        ("192.168.8.0/24", "10.168.0.0/16"),
    ],
)
def test_tke_pod_cidr_derives_from_the_clusters_own_vpc(vpc: str, pods: str) -> None:
    assert str(tke_pod_cidr(NetworkSpec(vpc_cidr=vpc))) == pods
    assert str(tke_pod_cidr(NetworkSpec(vpc_cidr=vpc, pod_cidr="10.99.0.0/16"))) == "10.99.0.0/16"


def test_a_tke_cluster_without_pod_cidr_renders_with_the_derived_one(
    render_spec: Callable[..., engine.Rendering],
) -> None:
    # One TKE region: nothing for the registry to replicate to.
    rendering = render_spec({**tke(), "registry": {"replicate": False}})
    (cluster,) = rendering.of_type("tencentcloud:Kubernetes/cluster:Cluster")
    assert cluster.inputs["clusterCidr"] == "172.17.0.0/16"


def test_the_leak_detector_finds_a_plaintext_kubeconfig() -> None:
    leaked = fake_kubeconfig("c", "https://c.example:6443", "seed")
    found = set(PLAINTEXT_CREDENTIALS.findall(leaked))
    assert found == {"certificate-authority-data", "LS0tLS1CRUdJTi", "k8s-aws-v1."}
