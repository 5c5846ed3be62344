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


def test_one_central_grafana_per_environment_fed_by_every_peer(rendered):
    rendering = rendered("prod")
    grafanas = [
        r
        for r in rendering.of_type(RELEASE)
        if r.inputs["name"] == "kube-prometheus-stack" and r.inputs["values"]["grafana"]["enabled"]
    ]
    assert len(grafanas) == 1
    assert not rendering.of_type("kubernetes:core/v1:ConfigMap")  # local data sources only
    others = sorted(name for name in rendering.stack_outputs["clusters"] if name != "prod-use1")
    for name in others:
        (metrics,) = [
            r for r in rendering.of_type(RELEASE) if r.name == f"{name}-observability-metrics"
        ]
        (write,) = metrics.inputs["values"]["prometheus"]["prometheusSpec"]["remoteWrite"]
        assert write["url"] == "https://receivers.prod.example.com:443/api/v1/write"
    (htpasswd,) = [
        r
        for r in rendering.of_type("kubernetes:core/v1:Secret")
        if r.name == "prod-use1-observability-receiver-htpasswd"
    ]
    users = [
        line.split(":")[0] for line in htpasswd.inputs["stringData"].value[".htpasswd"].splitlines()
    ]
    assert users == others  # one credential per peer, none for the central cluster
    outputs = rendering.stack_outputs["platform"]["prod-use1"]
    assert isinstance(outputs["grafana_admin_password"], engine.SecretValue)
    assert outputs["receiver_address"].endswith(".elb.amazonaws.com")


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


def test_only_the_central_receivers_are_exposed_and_public_by_default(rendered):
    """prod: the central cluster (prod-use1) runs the receivers behind a public load balancer
    (TLS and per-cluster credentials guard it); no peer exposes Prometheus or Loki."""
    rendering = rendered("prod")
    exposed = [
        r
        for r in rendering.of_type("kubernetes:core/v1:Service")
        if r.inputs["spec"].get("type") == "LoadBalancer" and "-observability-" in r.name
    ]
    assert [r.name for r in exposed] == ["prod-use1-observability-receiver"]
    (receiver,) = exposed
    assert receiver.inputs["metadata"]["annotations"] == {}
    assert receiver.inputs["spec"]["loadBalancerSourceRanges"] == ["0.0.0.0/0"]


def test_internal_receivers_admit_the_peers_networks(render_spec):
    base = minimal_environment()["clusters"][0]
    peer = {**base, "name": "c2", "network": {"vpc_cidr": "10.9.0.0/16"}}
    raw = minimal_environment(
        clusters=[base, peer],
        observability={
            "receiver_hostname": "receivers.test.example.com",
            "receiver_tls_secret": "receiver-tls",
            "receiver_exposure": "internal",
        },
    )
    rendering = render_spec(raw, **{"tkestack:receiver-tls": engine.fake_tls_bundle("rx")})
    (receiver,) = [
        r for r in rendering.of_type("kubernetes:core/v1:Service") if r.name.endswith("-receiver")
    ]
    assert receiver.inputs["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true"
    }
    assert receiver.inputs["spec"]["loadBalancerSourceRanges"] == ["10.9.0.0/16"]


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


RECEIVERS = {"receiver_hostname": "receivers.test.example.com", "receiver_tls_secret": "rx-tls"}


@pytest.mark.parametrize(
    ("clusters", "observability", "path"),
    [
        # two clusters: the peers push to receivers that need a name and a certificate
        (["c1", "c2"], {"receiver_tls_secret": "rx-tls"}, "observability.receiver_hostname"),
        (
            ["c1", "c2"],
            {"receiver_hostname": "rx.example.com"},
            "observability.receiver_tls_secret",
        ),
        # internal receivers on an attached central cluster need its internal pool
        (
            ["onprem", "c1"],
            {**RECEIVERS, "receiver_exposure": "internal"},
            "clusters[0].attached.internal_address_pool",
        ),
        # internal receivers admit the peers' networks: an attached peer has none to give
        (
            ["c1", "onprem"],
            {**RECEIVERS, "receiver_exposure": "internal"},
            "observability.receiver_source_ranges",
        ),
    ],
)
def test_receivers_need_a_name_a_certificate_and_a_reachable_exposure(
    clusters, observability, path
):
    from tkestack.stacks.loader import SpecError, load_environment

    base = minimal_environment()["clusters"][0]
    onprem = {**ONPREM, "attached": {**ONPREM["attached"]}}
    by_name = {
        "c1": base,
        "c2": {**base, "name": "c2", "network": {"vpc_cidr": "10.9.0.0/16"}},
        "onprem": onprem,
    }
    raw = minimal_environment(
        clusters=[by_name[name] for name in clusters],
        observability=observability,
        registry={"enabled": False},
    )
    with pytest.raises(SpecError) as failure:
        load_environment(raw, "Pulumi.test.yaml")
    assert path in [located.problem.dotted for located in failure.value.located]
    # Public receivers with a name and a certificate need no private network at all.
    fixed = minimal_environment(
        clusters=[by_name[name] for name in clusters],
        observability=RECEIVERS,
        registry={"enabled": False},
    )
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


def test_receiver_source_ranges_narrow_a_public_receiver(render_spec):
    base = minimal_environment()["clusters"][0]
    peer = {**base, "name": "c2", "network": {"vpc_cidr": "10.9.0.0/16"}}
    raw = minimal_environment(
        clusters=[base, peer],
        observability={**RECEIVERS, "receiver_source_ranges": ["198.51.100.0/24"]},
    )
    rendering = render_spec(raw, **{"tkestack:rx-tls": engine.fake_tls_bundle("rx")})
    (receiver,) = [
        r for r in rendering.of_type("kubernetes:core/v1:Service") if r.name.endswith("-receiver")
    ]
    assert receiver.inputs["metadata"]["annotations"] == {}  # public: no internal marker
    assert receiver.inputs["spec"]["loadBalancerSourceRanges"] == ["198.51.100.0/24"]
    (peer_metrics,) = [
        r for r in rendering.of_type(RELEASE) if r.name == "c2-observability-metrics"
    ]
    remote = peer_metrics.inputs["values"]["prometheus"]["prometheusSpec"]["remoteWrite"]
    assert remote[0]["url"] == "https://receivers.test.example.com:443/api/v1/write"
