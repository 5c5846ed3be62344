"""The platform step: every cluster gets its registry, observability and GPU stack."""

from __future__ import annotations

import pytest
from conftest import minimal_environment

from tkestack import engine
from tkestack.stacks.loader import SpecError

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
                "attached": {
                    "kubeconfig_secret": "edge_kubeconfig",
                    "internal_address_pool": "edge-internal",
                    "registry_hostname": "registry.edge.example.com",
                    "registry_tls_secret": "edge_registry_tls",
                },
                "node_pools": [
                    {"name": "arm", "instance_types": ["ampere"], "architecture": "arm64"}
                ],
            }
        ]
    )
    # Refused at validation (exit 2), before any resource: the plan runs the components' own
    # checks over spec data, and the problem points at the pools to change.
    with pytest.raises(SpecError) as failure:
        render_spec(
            environment,
            **{
                "tkestack:edge_kubeconfig": {"secure": "x"},
                "tkestack:edge_registry_tls": {"secure": "x"},
            },
        )
    message = str(failure.value)
    assert (
        "clusters[0].node_pools: PlatformServices addons.harbor.nginx: can run on no node pool"
        " of cluster edge" in message
    )
    assert "arm (arm64)" in message
    assert all(item.line for item in failure.value.located)


def test_options_not_offered_are_errors_naming_their_key(render_spec):
    environment = minimal_environment(observability={"managed_metrics": "amp"})
    with pytest.raises(SpecError, match=r"observability\.managed_metrics: remote-write"):
        render_spec(environment)


def test_options_offered_pass(render_spec):
    rendering = render_spec(minimal_environment(observability={"managed_metrics": "none"}))
    assert rendering.of_type("tkestack:index:Observability")


def test_disabled_services_are_not_installed(render_spec):
    environment = minimal_environment(registry={"enabled": False}, observability={"enabled": False})
    rendering = render_spec(environment)
    # Only the EKS cluster's own autoscaler (components/clouds/aws_in_cluster.py) remains.
    assert [r.name for r in rendering.of_type(RELEASE)] == ["c1-cluster-autoscaler"]
    assert rendering.stack_outputs["platform"]["c1"]["addons"] == []


def test_peer_prometheus_and_loki_are_internal_and_admit_only_the_central_network(rendered):
    """prod: the central Grafana runs on prod-use1 (10.30.0.0/16); every other cluster exposes
    Prometheus and Loki through its own kind of internal load balancer, from that VPC only."""
    rendering = rendered("prod")
    services = {
        r.name: r.inputs
        for r in rendering.of_type("kubernetes:core/v1:Service")
        if r.name.endswith("-central")
    }
    expected_markers = {
        "prod-euc1": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
        "prod-onprem": {
            "metallb.io/address-pool": "dc-internal",
            "metallb.universe.tf/address-pool": "dc-internal",
        },
    }
    assert sorted(services) == sorted(
        f"{cluster}-observability-{role}-central"
        for cluster in ("prod-euc1", "prod-onprem", "prod-sh")
        for role in ("loki", "prometheus")
    )
    for name, service in services.items():
        cluster = name.split("-observability-")[0]
        assert service["spec"]["loadBalancerSourceRanges"] == ["10.30.0.0/16"], name
        annotations = service["metadata"]["annotations"]
        if cluster == "prod-sh":
            (subnet,) = annotations.values()
            assert list(annotations) == [
                "service.kubernetes.io/qcloud-loadbalancer-internal-subnetid"
            ]
            assert subnet.startswith("subnet-")
        else:
            assert annotations == expected_markers[cluster], name


@pytest.mark.parametrize(("env", "protected"), [("prod", True), ("staging", False), ("dev", False)])
def test_metrics_and_logs_releases_are_protected_in_prod_only(rendered, env, protected):
    rendering = rendered(env)
    holding_data = [
        r
        for r in rendering.of_type(RELEASE)
        if r.inputs["name"] in ("kube-prometheus-stack", "loki")
    ]
    assert holding_data and all(r.protect is protected for r in holding_data)
    namespaces = [
        r
        for r in rendering.of_type("kubernetes:core/v1:Namespace")
        if r.inputs["metadata"]["name"] in ("monitoring", "logging")
    ]
    assert namespaces and all(r.protect is protected for r in namespaces)


ONPREM = {
    "name": "onprem",
    "cloud": "attached",
    "kubernetes_version": "1.33",
    "attached": {"kubeconfig_secret": "onprem_kubeconfig"},
    "node_pools": [{"name": "general", "instance_types": ["r760"], "architecture": "x86_64"}],
}


HARBOR_EXPOSURE = {
    "internal_address_pool": "dc-internal",
    "registry_hostname": "registry.dc1.example.com",
    "registry_tls_secret": "onprem_registry_tls",
}


@pytest.mark.parametrize("missing", sorted(HARBOR_EXPOSURE))
def test_attached_harbor_needs_hostname_certificate_and_pool(missing):
    from tkestack.stacks.loader import SpecError, load_environment

    exposure = {key: value for key, value in HARBOR_EXPOSURE.items() if key != missing}
    onprem = {**ONPREM, "attached": {**ONPREM["attached"], **exposure}}
    raw = minimal_environment(clusters=[onprem])
    with pytest.raises(SpecError) as failure:
        load_environment(raw, "Pulumi.test.yaml")
    paths = [located.problem.dotted for located in failure.value.located]
    assert paths == [f"clusters[0].attached.{missing}"]
    # Without a registry there is no Harbor to reach.
    load_environment({**raw, "registry": {"enabled": False}}, "Pulumi.test.yaml")


@pytest.mark.parametrize(
    ("clusters", "central", "path"),
    [
        # an attached peer needs an internal address pool for its load balancers
        (["c1", "onprem"], None, "clusters[1].attached.internal_address_pool"),
        # the central Grafana needs a VPC CIDR for the peers' source ranges
        (["onprem", "c1"], None, "observability.central_cluster"),
        (["c1", "onprem"], "onprem", "observability.central_cluster"),
    ],
)
def test_exposure_needs_an_internal_pool_and_a_central_network(clusters, central, path):
    from tkestack.stacks.loader import SpecError, load_environment

    base = minimal_environment()["clusters"][0]
    by_name = {"c1": base, "onprem": ONPREM}
    raw = minimal_environment(clusters=[by_name[name] for name in clusters])
    if central is not None:
        raw["observability"] = {"central_cluster": central}
    with pytest.raises(SpecError) as failure:
        load_environment(raw, "Pulumi.test.yaml")
    assert path in [located.problem.dotted for located in failure.value.located]
    # The same environment with the pool on its attached cluster and a cloud central is valid.
    onprem_ok = {
        **ONPREM,
        "attached": {**ONPREM["attached"], **HARBOR_EXPOSURE},
    }
    fixed = minimal_environment(clusters=[base, onprem_ok])
    load_environment(fixed, "Pulumi.test.yaml")


def test_harbor_asks_metallb_for_the_fixed_registry_address(rendered, render_spec):
    """prod pins Harbor's address so the DNS record of its name can exist before the first
    deploy; the peer Services of the same pool get no fixed address."""
    rendering = rendered("prod")
    (harbor,) = [r for r in rendering.of_type(RELEASE) if r.name == "prod-onprem-registry-harbor"]
    assert harbor.inputs["values"]["expose"]["loadBalancer"]["annotations"] == {
        "metallb.io/address-pool": "dc-internal",
        "metallb.universe.tf/address-pool": "dc-internal",
        "metallb.io/loadBalancerIPs": "10.64.20.10",
        "metallb.universe.tf/loadBalancerIPs": "10.64.20.10",
    }
    for service in rendering.of_type("kubernetes:core/v1:Service"):
        assert "metallb.io/loadBalancerIPs" not in service.inputs["metadata"].get(
            "annotations", {}
        ), service.name


def test_the_smallest_tencent_environment_renders_on_the_defaults(render_spec):
    """One Tencent region with the default standard TCR and `replicate: true`: nothing to
    replicate to, so nothing refuses it (it used to stop after the cluster was registered)."""
    environment = minimal_environment()
    environment["clusters"][0].update(
        cloud="tencentcloud", region="ap-guangzhou", kubernetes_version="1.32"
    )
    environment["clusters"][0]["node_pools"][0]["instance_types"] = ["S5.LARGE8"]
    rendering = render_spec(environment)
    (instance,) = rendering.of_type("tencentcloud:Tcr/instance:Instance")
    assert instance.inputs["instanceType"] == "standard"
    assert not instance.inputs.get("replications")
