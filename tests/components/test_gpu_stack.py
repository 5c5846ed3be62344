"""GPU stack: per-pool sharing, one device plugin per node, HAMi, GPU operator, DCGM."""

from __future__ import annotations

import pytest
import yaml
from platform_clusters import cluster, pool

from tkestack import engine
from tkestack.components.contracts import HAMI_NODE_LABELS, POOL_LABEL, derive_profile
from tkestack.components.gpu_stack import GpuStack

RELEASE = "kubernetes:helm.sh/v3:Release"


def gpu_cluster():
    return cluster(
        pools=[
            pool("aws", "general"),
            pool("aws", "graviton", "arm"),
            pool("aws", "t4-whole", "gpu"),
            pool("aws", "t4-sliced", "gpu", sharing="time-slicing", replicas=4),
            pool("aws", "t4g-sliced", "gpu-arm", sharing="time-slicing", replicas=4),
            pool("aws", "t4-hami", "gpu", sharing="hami"),
        ]
    )


def render(**args) -> engine.Rendering:
    def program():
        GpuStack(
            "c1-gpu",
            {"cluster": gpu_cluster(), "installed_addons": ["kube-prometheus-stack"], **args},
        )

    return engine.run_program(program)


def releases(rendering):
    return {r.inputs["name"]: r.inputs for r in rendering.of_type(RELEASE)}


def pools_selected(values):
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    (term,) = terms["nodeSelectorTerms"]
    (expression,) = [e for e in term["matchExpressions"] if e["key"] == POOL_LABEL]
    return expression["values"]


@pytest.fixture(scope="module")
def image_driver():
    return releases(render())


def test_one_device_plugin_release_per_sharing_config(image_driver):
    exclusive = image_driver["nvidia-device-plugin-exclusive"]
    sliced = image_driver["nvidia-device-plugin-time-slicing-4"]
    assert exclusive["version"] == sliced["version"] == "0.20.0"
    assert pools_selected(exclusive["values"]) == ["t4-whole"]
    assert pools_selected(sliced["values"]) == ["t4-sliced", "t4g-sliced"]
    config = yaml.safe_load(sliced["values"]["config"]["map"]["time-slicing-4"])
    assert config["sharing"]["timeSlicing"]["resources"] == [
        {"name": "nvidia.com/gpu", "replicas": 4}
    ]
    assert sliced["values"]["config"]["default"] == "time-slicing-4"
    assert "sharing" not in yaml.safe_load(exclusive["values"]["config"]["map"]["exclusive"])
    for values in (exclusive["values"], sliced["values"]):
        assert values["tolerations"] == [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]


def test_hami_pools_get_hami_not_the_nvidia_device_plugin(image_driver):
    hami = image_driver["hami"]
    assert hami["version"] == "2.10.0"
    values = hami["values"]
    # charts/hami/values.yaml @v2.10.0 (Project-HAMi/HAMi): `devicePlugin.nvidiaNodeSelector`,
    # renamed in v2.8.0 (#1546); the template ignores the old `nvidianodeSelector`.
    assert values["devicePlugin"]["nvidiaNodeSelector"] == {"gpu": "on"}
    assert "nvidianodeSelector" not in values["devicePlugin"]
    assert values["devicePlugin"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    # the scheduler extender and its cert Jobs stay on CPU pools, the Jobs on amd64 only
    assert values["scheduler"]["tolerations"] == []
    assert values["scheduler"]["patch"]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert values["scheduler"]["kubeScheduler"]["image"]["registry"] == "registry.k8s.io"
    for name, release in image_driver.items():
        if name.startswith("nvidia-device-plugin"):
            assert "t4-hami" not in pools_selected(release["values"])


def test_dcgm_exporter_on_every_gpu_pool_with_a_service_monitor(image_driver):
    dcgm = image_driver["dcgm-exporter"]["values"]
    assert dcgm["serviceMonitor"] == {"enabled": True}
    assert pools_selected(dcgm) == ["t4-hami", "t4-sliced", "t4-whole", "t4g-sliced"]


def test_dcgm_exporter_requires_the_metrics_stack():
    def program():
        GpuStack("c1-gpu", {"cluster": gpu_cluster()})

    with pytest.raises(ValueError, match=r"c1-gpu: addons\.dcgm-exporter: requires add-on"):
        engine.run_program(program)


def test_gpu_operator_replaces_device_plugin_and_dcgm():
    def program():
        info = cluster(
            pools=[
                pool("aws", "general"),
                pool("aws", "sliced", "gpu", sharing="time-slicing", replicas=2),
            ]
        )
        GpuStack(
            "c1-gpu",
            {"cluster": info, "driver": "operator", "installed_addons": ["kube-prometheus-stack"]},
        )

    found = releases(engine.run_program(program))
    assert sorted(found) == ["gpu-operator"]
    values = found["gpu-operator"]["values"]
    assert found["gpu-operator"]["version"] == "v26.7.0"
    # EKS nodes run the AL2023 NVIDIA AMI: driver and toolkit come with the image.
    assert values["driver"] == {"enabled": False}
    assert values["toolkit"] == {"enabled": False}
    assert values["devicePlugin"]["config"]["default"] == "time-slicing-2"
    assert values["dcgmExporter"]["serviceMonitor"] == {"enabled": True}
    assert values["node-feature-discovery"]["worker"]["tolerations"] == [{"operator": "Exists"}]
    assert values["operator"]["tolerations"] == []


@pytest.mark.parametrize(
    ("cloud", "operator_installs_driver"), [("aws", False), ("tencentcloud", True)]
)
def test_gpu_operator_installs_the_driver_only_where_the_node_image_lacks_it(
    cloud, operator_installs_driver
):
    def program():
        info = cluster(cloud=cloud, pools=[pool(cloud, "general"), pool(cloud, "gpu", "gpu")])
        GpuStack(
            "c1-gpu",
            {"cluster": info, "driver": "operator", "installed_addons": ["kube-prometheus-stack"]},
        )

    values = releases(engine.run_program(program))["gpu-operator"]["values"]
    assert values["driver"] == {"enabled": operator_installs_driver}
    assert values["toolkit"] == {"enabled": operator_installs_driver}


def test_gpu_operator_with_mixed_sharing_is_an_error_naming_the_driver():
    with pytest.raises(ValueError, match=r"c1-gpu: driver: the GPU operator"):
        render(driver="operator")


def test_cluster_without_gpu_pools_is_an_error():
    def program():
        GpuStack("c1-gpu", {"cluster": cluster()})

    with pytest.raises(ValueError, match=r"c1-gpu: cluster: c1 has no GPU pool"):
        engine.run_program(program)


def test_hami_selects_exactly_the_labels_its_pools_carry(image_driver):
    """One constant for both sides: the chart's node selector and the HAMi pools' labels."""
    selector = image_driver["hami"]["values"]["devicePlugin"]["nvidiaNodeSelector"]
    assert selector == dict(HAMI_NODE_LABELS)
    hami_pool = derive_profile(
        cloud="aws",
        name="h",
        instance_types=["g4dn.xlarge"],
        accelerator_model="t4",
        sharing="hami",
    )
    assert selector.items() <= dict(hami_pool.labels).items()


def test_device_plugins_have_resource_requests(image_driver):
    # nvidia-device-plugin v0.20.0 `resources: {}`; HAMi v2.10.0 devicePlugin.resources and
    # devicePlugin.monitor.resources `{}`; dcgm-exporter has chart defaults (100m/128Mi).
    hami = image_driver["hami"]["values"]["devicePlugin"]
    plugins = [v["values"] for k, v in image_driver.items() if k.startswith("nvidia-device-plugin")]
    assert plugins
    for resources in [p["resources"] for p in plugins] + [
        hami["resources"],
        hami["monitor"]["resources"],
    ]:
        assert set(resources["requests"]) == {"cpu", "memory"}


def test_dcgm_exporter_emits_the_xid_counter_the_alert_reads(image_driver):
    # customMetrics is the complete list (deployment/values.yaml, NVIDIA/dcgm-exporter
    # @d5e5f51); DCGM_EXP_XID_ERRORS_COUNT is off unless listed (pkg/cmd/app.go).
    lines = image_driver["dcgm-exporter"]["values"]["customMetrics"].splitlines()
    fields = [line.split(",")[0] for line in lines]
    assert "DCGM_EXP_XID_ERRORS_COUNT" in fields
    assert "DCGM_FI_DEV_GPU_TEMP" in fields
    assert all(len(line.split(",")) == 3 for line in lines)


# -- NetworkPolicies of the GPU add-ons' namespaces --------------------------------------------

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SCRAPER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}


@pytest.fixture(scope="module")
def gpu_rendering():
    return render()


def policy(rendering, name):
    (found,) = [r for r in rendering.of_type(NETWORK_POLICY) if r.name == name]
    return found


def test_device_plugin_namespace_admits_nothing(gpu_rendering):
    """deployments/helm/nvidia-device-plugin/templates @v0.20.0: no container port and no
    Service, so nothing may call the plugin's pods. Both releases share one namespace and one
    policy, which waits for both (Helm creates the namespace)."""
    deny = policy(gpu_rendering, "c1-gpu-nvidia-device-plugin-deny-ingress")
    assert deny.inputs["metadata"] == {
        "name": "tkestack-deny-ingress",
        "namespace": "nvidia-device-plugin",
    }
    assert deny.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []}
    releases_by_name = {r.inputs["name"]: r.urn for r in gpu_rendering.of_type(RELEASE)}
    assert {
        releases_by_name["nvidia-device-plugin-exclusive"],
        releases_by_name["nvidia-device-plugin-time-slicing-4"],
    } <= set(deny.dependencies)


def test_dcgm_exporter_admits_prometheus_on_its_metrics_port(gpu_rendering):
    """NVIDIA/dcgm-exporter deployment/values.yaml (chart 4.8.2): `service.port: 9400`."""
    metrics = policy(gpu_rendering, "c1-gpu-dcgm-exporter-metrics")
    assert metrics.inputs["metadata"]["namespace"] == "dcgm-exporter"
    assert metrics.inputs["spec"]["ingress"] == [
        {"from": [SCRAPER], "ports": [{"port": 9400, "protocol": "TCP"}]}
    ]


def test_hami_policies_select_only_hami_pods_in_kube_system(gpu_rendering):
    """charts/hami @v2.10.0: the extender serves the API server's webhook on 443 (any source:
    control-plane addresses differ per cloud), metrics on 9395; the device plugin's monitor on
    9394. Both select HAMi's pods by label, never all of kube-system."""
    scheduler = policy(gpu_rendering, "c1-gpu-kube-system-hami-scheduler").inputs
    assert scheduler["metadata"]["namespace"] == "kube-system"
    assert scheduler["spec"]["podSelector"] == {
        "matchLabels": {
            "app.kubernetes.io/name": "hami",
            "app.kubernetes.io/component": "hami-scheduler",
        }
    }
    assert scheduler["spec"]["ingress"] == [
        {"ports": [{"port": 443, "protocol": "TCP"}]},
        {"from": [SCRAPER], "ports": [{"port": 9395, "protocol": "TCP"}]},
    ]
    plugin = policy(gpu_rendering, "c1-gpu-kube-system-hami-device-plugin").inputs["spec"]
    assert plugin["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == (
        "hami-device-plugin"
    )
    assert plugin["ingress"] == [{"from": [SCRAPER], "ports": [{"port": 9394, "protocol": "TCP"}]}]
    assert not [
        p
        for p in gpu_rendering.of_type(NETWORK_POLICY)
        if p.inputs["metadata"]["namespace"] == "kube-system"
        and p.inputs["spec"]["podSelector"] == {}
    ]


def test_hami_values_keep_the_ports_the_policy_admits(image_driver):
    """The policy's ports hold only while the chart's defaults do: our values must not move
    the webhook off 443 (`scheduler.admissionWebhook.enabled`, `service.httpPort`) or the
    metrics address."""
    scheduler = image_driver["hami"]["values"]["scheduler"]
    assert "metricsBindAddress" not in scheduler
    assert "admissionWebhook" not in scheduler
    assert scheduler["service"] == {"type": "ClusterIP"}
