"""The platform step: every cluster gets its registry, observability and GPU stack."""

from __future__ import annotations

import pytest
from conftest import minimal_environment

from tkestack import engine

RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICES = "tkestack:index:PlatformServices"


def test_every_prod_cluster_gets_registry_and_observability_and_gpu_stack(rendered):
    rendering = rendered("prod")
    services = {r.name for r in rendering.of_type(SERVICES)}
    clusters = set(rendering.stack_outputs["clusters"])
    assert services == clusters
    platform = rendering.stack_outputs["platform"]
    for name in clusters:
        assert {"kube-prometheus-stack", "loki", "fluent-bit"} <= set(platform[name]["addons"])
        assert "registry" in platform[name]
    assert [r.name for r in rendering.of_type("tkestack:index:Registry")] == sorted(
        f"{name}-registry" for name in clusters
    )


def test_gpu_sharing_follows_the_spec(rendered):
    rendering = rendered("prod")
    platform = rendering.stack_outputs["platform"]
    assert platform["prod-euc1"]["gpu_sharing"] == {"gpu-l4": "hami"}
    assert "hami" in platform["prod-euc1"]["addons"]
    use1 = platform["prod-use1"]["gpu_sharing"]
    assert use1["gpu-graviton"].startswith("time-slicing-")
    for name, entry in platform.items():
        pools = rendering.stack_outputs["clusters"][name]["node_pools"]
        gpu_pools = {pool for pool, info in pools.items() if info["accelerator"]}
        assert set(entry.get("gpu_sharing", {})) == gpu_pools


def test_one_central_grafana_per_environment(rendered):
    rendering = rendered("prod")
    grafanas = [
        r
        for r in rendering.of_type(RELEASE)
        if r.inputs["name"] == "kube-prometheus-stack" and r.inputs["values"]["grafana"]["enabled"]
    ]
    assert len(grafanas) == 1
    (configmap,) = rendering.of_type("kubernetes:core/v1:ConfigMap")
    data = configmap.inputs["data"]["tkestack-clusters.yaml"]
    others = [name for name in rendering.stack_outputs["clusters"] if name != "prod-use1"]
    for name in others:
        assert f"{name} metrics" in data and f"{name} logs" in data
    outputs = rendering.stack_outputs["platform"]["prod-use1"]
    assert isinstance(outputs["grafana_admin_password"], engine.SecretValue)


def test_stateful_pieces_are_protected_in_prod_only(rendered):
    prod = rendered("prod")
    assert all(r.protect for r in prod.of_type("tencentcloud:Tcr/instance:Instance"))
    assert all(r.protect for r in prod.of_type("aws:kms/key:Key") if "registry" in r.name)
    (harbor,) = [r for r in prod.of_type(RELEASE) if r.inputs["name"] == "harbor"]
    assert harbor.protect
    dev = rendered("dev")
    assert not any(r.protect for r in dev.resources if "-registry" in r.name)


def test_addons_are_deleted_before_the_node_pools_they_run_on(rendered):
    rendering = rendered("dev")
    node_groups = {r.urn for r in rendering.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert node_groups
    for release in rendering.of_type(RELEASE):
        assert node_groups <= set(release.dependencies), release.urn
    for service in rendering.of_type("kubernetes:core/v1:Service"):
        assert node_groups <= set(service.dependencies), service.urn


def test_no_addon_lands_on_an_architecture_its_images_lack(rendered):
    rendering = rendered("prod")
    (harbor,) = [r for r in rendering.of_type(RELEASE) if r.inputs["name"] == "harbor"]
    for component in ("core", "registry", "portal", "jobservice", "nginx"):
        assert harbor.inputs["values"][component]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}


def test_arm_only_attached_cluster_cannot_host_harbor(render_spec):
    environment = minimal_environment(
        clusters=[
            {
                "name": "edge",
                "cloud": "attached",
                "kubernetes_version": "1.33",
                "attached": {"kubeconfig_secret": "edge_kubeconfig"},
                "node_pools": [
                    {"name": "arm", "instance_types": ["ampere"], "architecture": "arm64"}
                ],
            }
        ]
    )
    with pytest.raises(engine.RenderError) as failure:
        render_spec(environment, **{"tkestack:edge_kubeconfig": {"secure": "x"}})
    message = str(failure.value)
    assert "clusters[0].platform.harbor.nginx: can run on no node pool of cluster edge" in message
    assert "arm (arm64)" in message


def test_options_not_offered_are_errors_naming_their_key(render_spec):
    environment = minimal_environment(observability={"managed_metrics": "amp"})
    with pytest.raises(engine.RenderError, match=r"observability\.managed_metrics"):
        render_spec(environment)


def test_disabled_services_are_not_installed(render_spec):
    environment = minimal_environment(registry={"enabled": False}, observability={"enabled": False})
    rendering = render_spec(environment)
    assert not rendering.of_type(RELEASE)
    assert rendering.stack_outputs["platform"]["c1"]["addons"] == []
