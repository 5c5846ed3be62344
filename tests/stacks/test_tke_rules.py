"""Spec rules for what TKE must be told rather than guessed (components/catalog/tke.py).

Sources (terraform-provider-tencentcloud v1.82.42, the version tencentcloud-iac-pulumi 0.2.3
bridges): resource_tc_kubernetes_node_pool.go (`node_os` unvalidated, image name or id;
`gpu_args.driver`/`cuda` maps), tencentcloud/common/validators.go
(`ValidateTkeGpuDriverVersion`: non-empty name and version only),
resource_tc_kubernetes_node_pool_test.go (the driver values used below).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import minimal_environment
from spec_support import problems_of

from tkestack.stacks.loader import load_environment

DRIVER = {
    "driver_name": "NVIDIA-Linux-x86_64-470.182.03.run",
    "driver_version": "470.182.03",
    "cuda_name": "cuda_11.4.3_470.82.01_linux.run",
    "cuda_version": "11.4.3",
}


def tke_environment(*pools: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    environment = minimal_environment(**overrides)
    environment["clusters"] = [
        {
            "name": "tke1",
            "cloud": "tencentcloud",
            "region": "ap-guangzhou",
            "kubernetes_version": "1.32",
            "network": {"vpc_cidr": "10.1.0.0/16"},
            "node_pools": [{"name": "general", "instance_types": ["S5.LARGE8"]}, *pools],
        }
    ]
    return environment


ARM = {"name": "arm", "instance_types": ["SR1.LARGE8"], "min_size": 0}
GPU = {"name": "gpu", "instance_types": ["GN7.2XLARGE32"], "min_size": 0}


def test_named_image_and_driver_are_accepted() -> None:
    environment = tke_environment(
        {**ARM, "node_image": "img-2lr9q49h"},
        {**GPU, "accelerator": {"model": "t4"}, "gpu_driver": DRIVER},
    )
    pools = load_environment(environment, "Pulumi.test.yaml").spec.clusters[0].node_pools
    assert pools[1].node_image == "img-2lr9q49h"
    assert pools[2].gpu_driver is not None and pools[2].gpu_driver.cuda_version == "11.4.3"


def test_gpu_driver_is_not_asked_for_when_the_operator_installs_it() -> None:
    environment = tke_environment(
        {**GPU, "accelerator": {"model": "t4"}}, gpu={"driver": "operator"}
    )
    assert load_environment(environment, "Pulumi.test.yaml").spec.gpu.driver == "operator"


@pytest.mark.parametrize(
    ("environment", "path", "fragment"),
    [
        (tke_environment(ARM), "node_pools[1].node_image", "required on ARM pools"),
        (
            tke_environment({**ARM, "node_image": "tlinux 3.1 arm"}),
            "node_pools[1].node_image",
            "neither a TKE OS name",
        ),
        (
            tke_environment({**GPU, "accelerator": {"model": "t4"}}),
            "node_pools[1].gpu_driver",
            "required: TKE installs the NVIDIA driver",
        ),
        (
            tke_environment(
                {
                    **GPU,
                    "accelerator": {"model": "t4"},
                    "gpu_driver": {**DRIVER, "cuda_version": "12.2.2"},
                }
            ),
            "node_pools[1].gpu_driver.cuda_name",
            "does not contain its version '12.2.2'",
        ),
        (
            tke_environment(
                {**GPU, "accelerator": {"model": "t4"}, "gpu_driver": DRIVER},
                gpu={"driver": "operator"},
            ),
            "node_pools[1].gpu_driver",
            "applies only to GPU pools whose driver TKE installs",
        ),
        (
            tke_environment(
                {
                    **GPU,
                    "accelerator": {"model": "t4"},
                    "gpu_driver": {**DRIVER, "driver_version": "latest"},
                }
            ),
            "node_pools[1].gpu_driver.driver_version",
            "should match pattern",
        ),
    ],
)
def test_guesses_are_refused_with_their_path(
    environment: dict[str, Any], path: str, fragment: str
) -> None:
    problems = problems_of(environment)
    full = f"clusters[0].{path}"
    assert full in problems, problems
    assert fragment in problems[full]


def test_tke_keys_are_refused_on_other_clouds() -> None:
    environment = minimal_environment()
    environment["clusters"][0]["node_pools"][0]["node_image"] = "img-2lr9q49h"
    problems = problems_of(environment)
    assert "applies only to tencentcloud" in problems["clusters[0].node_pools[0].node_image"]


# -- item 20: GR networking takes its service range from the pod CIDR ----------------------
# terraform-provider-tencentcloud v1.82.42: resource_tc_kubernetes_cluster.md sets
# service_cidr only in VPC-CNI examples; GR examples set cluster_cidr + cluster_max_service_num;
# vendor/.../tke/v20180525/models.go ClusterCIDRSettings.ClusterCIDR is the range "for container
# and service IPs", MaxClusterServiceNum 32..32768 rounded up to a power of two.


def with_network(**network: Any) -> dict[str, Any]:
    environment = tke_environment()
    environment["clusters"][0]["network"].update(network)
    return environment


def test_gr_service_range_is_a_share_of_the_pod_cidr() -> None:
    environment = with_network(pod_cidr="172.20.0.0/16", max_services=4096)
    assert (
        load_environment(environment, "Pulumi.test.yaml").spec.clusters[0].network.max_services
        == 4096
    )


@pytest.mark.parametrize(
    ("network", "key", "fragment"),
    [
        ({"service_cidr": "172.21.0.0/20"}, "service_cidr", "global-router"),
        ({"max_services": 3000}, "max_services", "not a power of two"),
        ({"pod_cidr": "172.20.0.0/24", "max_services": 256}, "max_services", "more than half"),
    ],
)
def test_gr_service_range_refusals(network: dict[str, Any], key: str, fragment: str) -> None:
    problems = problems_of(with_network(**network))
    assert fragment in problems[f"clusters[0].network.{key}"], problems


def test_max_services_is_tke_only() -> None:
    environment = minimal_environment()
    environment["clusters"][0]["network"]["max_services"] = 256
    assert "applies only to TKE" in problems_of(environment)["clusters[0].network.max_services"]


# -- item 19: TCR instance names are global DNS names --------------------------------------


def test_tcr_instance_default_name_is_unique_to_the_account() -> None:

    spec = load_environment(tke_environment(), "Pulumi.test.yaml").spec
    uin = spec.identity.tencent_account()
    assert spec.tcr_instance_name("ap-guangzhou") == f"test-ap-guangzhou-{uin}"
    named = tke_environment(registry={"tcr_instance_names": {"ap-guangzhou": "acme-test-gz"}})
    spec = load_environment(named, "Pulumi.test.yaml").spec
    assert spec.tcr_instance_name("ap-guangzhou") == "acme-test-gz"


@pytest.mark.parametrize(
    ("names", "path", "fragment"),
    [
        (
            {"ap-guangzhou": "Acme_Registry"},
            "registry.tcr_instance_names.ap-guangzhou",
            "DNS label",
        ),
        ({"ap-shanghai": "acme-sh"}, "registry.tcr_instance_names.ap-shanghai", "no tencentcloud"),
    ],
)
def test_tcr_instance_name_refusals(names: dict[str, str], path: str, fragment: str) -> None:
    problems = problems_of(tke_environment(registry={"tcr_instance_names": names}))
    assert fragment in problems[path], problems


def test_a_default_tcr_name_too_long_for_dns_is_refused() -> None:
    environment = tke_environment(name="a-very-long-environment-name-xyz")
    environment["identity"] = {**environment["identity"], "tencent_uin": "1" * 20}
    problems = problems_of(environment)
    assert "not a DNS label of at most 63" in problems["registry.tcr_instance_names"]
