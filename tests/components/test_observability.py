"""Observability: retention by tier, logs from every node, alerts, a secret central Grafana."""

from __future__ import annotations

import json

import pulumi
import pytest
from platform_clusters import cluster, pool

from tkestack import engine
from tkestack.components.observability import (
    GATEWAY_SELECTOR,
    Observability,
    PushTarget,
    ReceiverSettings,
    RetentionSettings,
    default_alert_rules,
    network_policies,
)

PROD = RetentionSettings(
    metrics_retention_days=30, logs_retention_days=30, metrics_volume_gib=200, logs_volume_gib=100
)
DEV = RetentionSettings(
    metrics_retention_days=3, logs_retention_days=3, metrics_volume_gib=None, logs_volume_gib=None
)
RECEIVERS = "receivers.example.com"
FAKE_BUNDLE = engine.fake_tls_bundle("receiver-tls")


def mixed():
    return cluster(
        pools=[pool("aws", "general"), pool("aws", "graviton", "arm"), pool("aws", "gpu", "gpu")]
    )


def named(rendering: engine.Rendering, name: str) -> engine.RenderedResource:
    (resource,) = [r for r in rendering.resources if r.name == name]
    return resource


def releases(rendering: engine.Rendering) -> dict[str, engine.RenderedResource]:
    return {r.inputs["name"]: r for r in rendering.of_type("kubernetes:helm.sh/v3:Release")}


def central_and_peer(rotation: str = "1") -> engine.Rendering:
    def program():
        peer = Observability(
            "c2-observability",
            {
                "cluster": cluster("c2"),
                "retention": PROD,
                "push_to": PushTarget(hostname=RECEIVERS),
                "credentials_rotation": rotation,
                "protect": True,
            },
        )
        central = Observability(
            "c1-observability",
            {
                "cluster": mixed(),
                "retention": PROD,
                "central": True,
                "receiver": ReceiverSettings(
                    hostname=RECEIVERS,
                    tls_bundle=pulumi.Output.secret(FAKE_BUNDLE),
                    load_balancer_annotations={},
                    source_ranges=["0.0.0.0/0"],
                ),
                "peers": [peer.push_credential],
                "credentials_rotation": rotation,
            },
        )
        pulumi.export("grafana", central.grafana_admin_password)
        pulumi.export("push", peer.push_password)

    return engine.run_program(program)


@pytest.fixture(scope="module")
def prod_rendering() -> engine.Rendering:
    return central_and_peer()


def test_prometheus_retention_and_volume_by_tier(prod_rendering):
    spec = releases(prod_rendering)["kube-prometheus-stack"]
    prometheus = named(prod_rendering, "c1-observability-metrics").inputs["values"]["prometheus"][
        "prometheusSpec"
    ]
    assert spec.inputs["version"] == "88.2.0"
    assert prometheus["retention"] == "30d"
    claim = prometheus["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "200Gi"
    assert prometheus["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert prometheus["externalLabels"] == {"cluster": "c1"}

    def dev():
        Observability("d-observability", {"cluster": cluster(), "retention": DEV})

    dev_values = releases(engine.run_program(dev))["kube-prometheus-stack"].inputs["values"]
    assert "storageSpec" not in dev_values["prometheus"]["prometheusSpec"]
    assert dev_values["prometheus"]["prometheusSpec"]["retention"] == "3d"


def test_loki_retention_and_persistence(prod_rendering):
    loki = [
        r
        for r in prod_rendering.of_type("kubernetes:helm.sh/v3:Release")
        if r.name == "c1-observability-loki"
    ]
    values = loki[0].inputs["values"]
    assert loki[0].inputs["version"] == "17.1.7"
    assert values["loki"]["limits_config"]["retention_period"] == "720h"
    assert values["loki"]["compactor"]["retention_enabled"] is True
    # Keys of singleBinary.persistence in charts/loki/values.yaml @loki-17.1.7
    # (grafana-community/helm-charts); the chart has no `type` key there.
    assert values["singleBinary"]["persistence"] == {
        "enabled": True,
        "size": "100Gi",
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert values["singleBinary"]["tolerations"] == []  # stays off GPU nodes


LOKI_REPLICA_DEFAULTS = {"singleBinary": 0, "backend": 3, "read": 3, "write": 3}
"""Replica defaults of charts/loki/values.yaml @loki-17.1.7 (grafana-community/helm-charts);
every distributed target (ingester, querier, ...) defaults to 0."""
LOKI_TRANSITION_MODES = {"Monolithic<->SimpleScalable", "SingleBinary<->SimpleScalable"}


def loki_validate_failure(values: dict) -> str | None:
    """The Monolithic/simple-scalable checks of charts/loki/templates/validate.yaml
    @loki-17.1.7, over the chart's defaults merged with `values`."""
    replicas = {
        target: int(values.get(target, {}).get("replicas", default))
        for target, default in LOKI_REPLICA_DEFAULTS.items()
    }
    monolithic = replicas.pop("singleBinary")
    scalable = any(count > 0 for count in replicas.values())
    transition = values.get("deploymentMode", "Monolithic") in LOKI_TRANSITION_MODES
    if monolithic > 0 and scalable and not transition:
        return "more than zero replicas for both the monolithic and simple scalable targets"
    return None


def test_loki_values_pass_the_charts_own_validation(prod_rendering):
    for name in ("c1-observability-loki", "c2-observability-loki"):
        values = named(prod_rendering, name).inputs["values"]
        assert values["deploymentMode"] == "Monolithic"
        assert loki_validate_failure(values) is None, name


def test_loki_validation_check_refuses_the_charts_defaults_next_to_a_single_binary():
    # The failing case the chart's validate.yaml raises: what we shipped before issue 13.
    assert loki_validate_failure({"singleBinary": {"replicas": 1}}) is not None


def test_log_collector_runs_on_every_node_including_gpu_and_arm(prod_rendering):
    collector = named(prod_rendering, "c1-observability-logs")
    values = collector.inputs["values"]
    assert values["kind"] == "DaemonSet"
    assert values["tolerations"] == [{"operator": "Exists"}]
    assert "nodeSelector" not in values  # fluent-bit images are multi-arch
    assert "Host                   loki.logging.svc.cluster.local" in values["config"]["outputs"]
    assert "cluster=c1" in values["config"]["outputs"]


def test_per_node_agents_have_resource_requests(prod_rendering):
    # fluent-bit 0.57.5 and prometheus-node-exporter 4.56.1 ship `resources: {}`: BestEffort
    # pods, the first evicted under node pressure.
    collector = named(prod_rendering, "c1-observability-logs").inputs["values"]
    metrics = named(prod_rendering, "c1-observability-metrics").inputs["values"]
    for resources in (collector["resources"], metrics["prometheus-node-exporter"]["resources"]):
        assert set(resources) == {"requests"}
        assert set(resources["requests"]) == {"cpu", "memory"}


def test_only_node_agents_tolerate_the_gpu_taint(prod_rendering):
    metrics = named(prod_rendering, "c1-observability-metrics").inputs["values"]
    assert metrics["prometheus-node-exporter"]["tolerations"] == [{"operator": "Exists"}]
    for path in (
        metrics["grafana"],
        metrics["kube-state-metrics"],
        metrics["prometheus"]["prometheusSpec"],
        metrics["alertmanager"]["alertmanagerSpec"],
        metrics["prometheusOperator"],
    ):
        assert path["tolerations"] == []


def test_grafana_password_is_random_secret_and_never_in_values(prod_rendering):
    assert prod_rendering.of_type("random:index/randomPassword:RandomPassword")
    (secret,) = [
        s
        for s in prod_rendering.of_type("kubernetes:core/v1:Secret")
        if s.name == "c1-observability-grafana-admin"
    ]
    assert isinstance(secret.inputs["stringData"], engine.SecretValue)
    password = secret.inputs["stringData"].value["admin-password"]
    assert len(password) == 32
    metrics = named(prod_rendering, "c1-observability-metrics")
    assert metrics.inputs["values"]["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert secret.urn in metrics.dependencies
    rendered = json.dumps(prod_rendering.to_json())
    assert password not in rendered
    assert isinstance(prod_rendering.stack_outputs["grafana"], engine.SecretValue)


def test_central_grafana_reads_only_local_data_sources(prod_rendering):
    peer_values = named(prod_rendering, "c2-observability-metrics")
    assert peer_values.inputs["values"]["grafana"] == {"enabled": False}
    assert not prod_rendering.of_type("kubernetes:core/v1:ConfigMap")  # no peer data sources
    central = named(prod_rendering, "c1-observability-metrics")
    local = central.inputs["values"]["grafana"]["additionalDataSources"]
    assert [source["url"] for source in local] == ["http://loki.logging.svc.cluster.local:3100"]


def test_only_the_central_receivers_are_exposed(prod_rendering):
    (service,) = prod_rendering.of_type("kubernetes:core/v1:Service")
    assert service.name == "c1-observability-receiver"
    spec = service.inputs["spec"]
    assert spec["type"] == "LoadBalancer"
    assert spec["loadBalancerSourceRanges"] == ["0.0.0.0/0"]
    assert spec["selector"] == GATEWAY_SELECTOR
    assert spec["ports"] == [
        {"name": "https", "port": 443, "targetPort": "http", "protocol": "TCP"}
    ]


def test_peer_remote_writes_metrics_with_basic_auth_from_a_secret(prod_rendering):
    prometheus = named(prod_rendering, "c2-observability-metrics").inputs["values"]["prometheus"]
    # RemoteWriteSpec: url, basicAuth.{username,password} as SecretKeySelectors (name, key),
    # charts/crds/crds/crd-prometheuses.yaml @kube-prometheus-stack-88.2.0.
    assert prometheus["prometheusSpec"]["remoteWrite"] == [
        {
            "name": "tkestack-central",
            "url": f"https://{RECEIVERS}:443/api/v1/write",
            "basicAuth": {
                "username": {"name": "tkestack-central-push", "key": "username"},
                "password": {"name": "tkestack-central-push", "key": "password"},
            },
        }
    ]
    assert "enableRemoteWriteReceiver" not in prometheus["prometheusSpec"]
    central = named(prod_rendering, "c1-observability-metrics").inputs["values"]["prometheus"]
    # prometheusSpec.enableRemoteWriteReceiver, values.yaml @kube-prometheus-stack-88.2.0.
    assert central["prometheusSpec"]["enableRemoteWriteReceiver"] is True
    assert "remoteWrite" not in central["prometheusSpec"]


def test_peer_ships_logs_to_the_central_loki_over_verified_tls(prod_rendering):
    values = named(prod_rendering, "c2-observability-logs").inputs["values"]
    outputs = values["config"]["outputs"]
    # Keys of fluent/fluent-bit-docs pipeline/outputs/loki.md; ${VAR} expansion:
    # administration/configuring-fluent-bit/classic-mode/variables.md.
    assert "loki.logging.svc.cluster.local" in outputs  # the local Loki still gets them
    central_block = outputs.split("[OUTPUT]")[2]
    for line in (
        f"Host                   {RECEIVERS}",
        "Port                   443",
        "tls                    on",
        "tls.verify             on",
        "http_user              ${TKESTACK_PUSH_USER}",
        "http_passwd            ${TKESTACK_PUSH_PASSWORD}",
        "Labels                 job=fluent-bit, cluster=c2",
    ):
        assert line in central_block
    assert {e["name"]: e["valueFrom"]["secretKeyRef"] for e in values["env"]} == {
        "TKESTACK_PUSH_USER": {"name": "tkestack-central-push", "key": "username"},
        "TKESTACK_PUSH_PASSWORD": {"name": "tkestack-central-push", "key": "password"},
    }
    central = named(prod_rendering, "c1-observability-logs").inputs["values"]
    assert "env" not in central and "tls" not in central["config"]["outputs"]


def test_push_credential_is_secret_on_both_sides(prod_rendering):
    secrets = {s.name: s for s in prod_rendering.of_type("kubernetes:core/v1:Secret")}
    password = prod_rendering.stack_outputs["push"]
    assert isinstance(password, engine.SecretValue)
    for namespace in ("monitoring", "logging"):
        peer = secrets[f"c2-observability-push-{namespace}"]
        assert isinstance(peer.inputs["stringData"], engine.SecretValue)
        assert peer.inputs["stringData"].value == {"username": "c2", "password": password.value}
    htpasswd = secrets["c1-observability-receiver-htpasswd"].inputs["stringData"]
    assert isinstance(htpasswd, engine.SecretValue)
    (line,) = htpasswd.value[".htpasswd"].splitlines()
    assert line.startswith("c2:$2a$")  # bcrypt, as the chart's own htpasswd (Helm's htpasswd)
    assert password.value not in json.dumps(prod_rendering.to_json())
    loki = named(prod_rendering, "c1-observability-loki")
    assert secrets["c1-observability-receiver-htpasswd"].urn in loki.dependencies
    assert secrets["c1-observability-receiver-tls"].urn in loki.dependencies


def test_rotation_replaces_the_push_password():
    def keepers(rendering):
        (password,) = [
            r
            for r in rendering.of_type("random:index/randomPassword:RandomPassword")
            if r.name == "c2-observability-push-password"
        ]
        return password.inputs["keepers"]

    assert keepers(central_and_peer("1")) == {"rotation": "1"}
    rotated = central_and_peer("2026-12")
    assert keepers(rotated) == {"rotation": "2026-12"}
    # Fluent Bit reads the credential from its environment at start: the new value is a pod
    # annotation (fluent-bit chart podAnnotations -> templates/daemonset.yaml
    # @fluent-bit-0.57.5), so the DaemonSet rolls onto the new password.
    logs = named(rotated, "c2-observability-logs").inputs["values"]
    assert logs["podAnnotations"] == {"tkestack.io/credentials-rotation": "2026-12"}


def test_receivers_gateway_serves_tls_and_basic_auth(prod_rendering):
    gateway = named(prod_rendering, "c1-observability-loki").inputs["values"]["gateway"]
    # charts/loki @loki-17.1.7: gateway.nginxConfig.ssl, basicAuth.existingSecret (.htpasswd),
    # nginxConfig.serverSnippet inside the server block (templates/_helpers.tpl).
    assert gateway["enabled"] is True
    assert gateway["nginxConfig"]["ssl"] is True
    assert gateway["basicAuth"] == {"enabled": True, "existingSecret": "tkestack-receiver-htpasswd"}
    snippet = gateway["nginxConfig"]["serverSnippet"]
    assert "location = /api/v1/write" in snippet
    assert "kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090" in snippet
    assert gateway["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert gateway["podAnnotations"] == {"tkestack.io/credentials-rotation": "1"}
    assert gateway["nodeSelector"] == {"kubernetes.io/arch": "amd64"}  # nginx arm64 unverified
    peer = named(prod_rendering, "c2-observability-loki").inputs["values"]["gateway"]
    assert peer == {"enabled": False}


def test_platform_namespaces_have_network_policies(prod_rendering):
    policies = prod_rendering.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    by_cluster: dict[str, set[str]] = {}
    for policy in policies:
        by_cluster.setdefault(policy.name.split("-")[0], set()).add(
            policy.inputs["metadata"]["namespace"]
        )
    assert by_cluster == {"c1": {"monitoring", "logging"}, "c2": {"monitoring", "logging"}}
    receiver = named(prod_rendering, "c1-observability-logging-receiver").inputs["spec"]
    assert receiver["podSelector"] == {"matchLabels": GATEWAY_SELECTOR}
    assert receiver["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert not [p for p in policies if p.name == "c2-observability-logging-receiver"]


def test_network_policies_admit_the_namespace_its_neighbour_and_the_webhook():
    specs = network_policies(central_receiver=False)
    assert sorted(specs) == ["logging", "monitoring"]
    assert sorted(specs["monitoring"]) == ["ingress", "webhook"]
    froms = specs["monitoring"]["ingress"]["ingress"][0]["from"]
    assert {"podSelector": {}} in froms
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "logging"}}
    } in froms
    # prometheusOperator.tls.internalPort, values.yaml @kube-prometheus-stack-88.2.0.
    assert specs["monitoring"]["webhook"]["ingress"] == [
        {"ports": [{"port": 10250, "protocol": "TCP"}]}
    ]
    assert "receiver" in network_policies(central_receiver=True)["logging"]


def test_alert_rules_cover_nodes_disks_crashloops_and_gpus(prod_rendering):
    rules = [
        r for r in prod_rendering.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    ]
    by_name = {r.name: r for r in rules}
    central = by_name["c1-observability-alerts"].inputs["spec"]["groups"]
    alerts = {rule["alert"] for group in central for rule in group["rules"]}
    assert {
        "TkestackNodeNotReady",
        "TkestackNodeDiskFilling",
        "TkestackPersistentVolumeFilling",
        "TkestackPodCrashLooping",
        "TkestackGpuXidError",
    } <= alerts
    peer = by_name["c2-observability-alerts"].inputs["spec"]["groups"]
    assert "tkestack-gpus" not in [group["name"] for group in peer]  # c2 has no GPU pools


def test_alert_rules_are_deterministic_and_well_formed():
    assert default_alert_rules(True) == default_alert_rules(True)
    for group in default_alert_rules(True):
        for rule in group["rules"]:
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
            assert rule["labels"]["severity"] in {"warning", "critical"}


def test_everything_installs_after_the_cluster_and_through_its_provider(prod_rendering):
    for resource in prod_rendering.resources:
        if resource.type.startswith("kubernetes:") and resource.custom:
            assert resource.provider.rsplit("::", 1)[-1] in {"c1-k8s", "c2-k8s"}, resource.urn


def test_releases_and_namespaces_holding_data_are_protected_when_asked(prod_rendering):
    """Only the peer asked for protection: its metrics and Loki releases (both with volumes)
    and the namespaces holding their PVCs; never the stateless log collector."""
    protected = sorted(r.name for r in prod_rendering.resources if r.protect)
    assert protected == [
        "c2-observability-logging",
        "c2-observability-loki",
        "c2-observability-metrics",
        "c2-observability-monitoring",
    ]


def test_nothing_to_protect_without_volumes():
    def program():
        Observability(
            "d-observability",
            {"cluster": cluster(), "retention": DEV, "central": True, "protect": True},
        )

    assert not [r.name for r in engine.run_program(program).resources if r.protect]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"central": True}, "push_to: the central cluster receives"),
        ({"credentials_rotation": ""}, "credentials_rotation: empty"),
    ],
)
def test_push_arguments_that_cannot_work_are_refused(extra, fragment):
    def program():
        args = {"cluster": cluster("c2"), "retention": PROD, "push_to": PushTarget(RECEIVERS)}
        Observability("c2-observability", {**args, **extra})

    with pytest.raises(ValueError, match=fragment):
        engine.run_program(program)


def test_receiver_without_source_ranges_is_refused():
    def program():
        receiver = ReceiverSettings(RECEIVERS, FAKE_BUNDLE, {}, [])
        Observability(
            "c1-observability",
            {"cluster": cluster("c1"), "retention": PROD, "central": True, "receiver": receiver},
        )

    with pytest.raises(ValueError, match=r"receiver\.source_ranges: required"):
        engine.run_program(program)


def gpu_rules() -> dict[str, dict]:
    (group,) = [g for g in default_alert_rules(True) if g["name"] == "tkestack-gpus"]
    return {rule["alert"]: rule for rule in group["rules"]}


def test_gpu_alerts_use_the_lowercase_hostname_label():
    # NVIDIA/dcgm-exporter#655 (d5e5f51, internal/pkg/rendermetrics/render_metrics.go): the
    # node label is `hostname`; `Hostname` no longer exists on 4.x series.
    for rule in gpu_rules().values():
        assert "Hostname" not in rule["expr"] + rule["annotations"]["summary"]
    assert "by (hostname, gpu" in gpu_rules()["TkestackGpuTooHot"]["expr"]


def test_xid_alert_counts_recent_xids_so_it_resolves():
    # DCGM_FI_DEV_XID_ERRORS keeps the last XID; DCGM_EXP_XID_ERRORS_COUNT counts XIDs in the
    # exporter's window (NVIDIA/dcgm-exporter internal/pkg/collector/xid_collector.go, `xid`).
    expr = gpu_rules()["TkestackGpuXidError"]["expr"]
    assert "DCGM_EXP_XID_ERRORS_COUNT" in expr
    assert "DCGM_FI_DEV_XID_ERRORS" not in expr


def test_gpu_metrics_missing_fires_only_while_gpu_nodes_exist():
    # Pools at min_size 0 have no GPU node: absent() alone would fire forever there.
    expr = gpu_rules()["TkestackGpuMetricsMissing"]["expr"]
    assert expr.startswith("absent(DCGM_FI_DEV_GPU_TEMP) and on() (")
    assert 'kube_node_status_capacity{resource="nvidia_com_gpu"}' in expr


def test_grafana_sidecars_read_configmaps_of_the_monitoring_namespace_only(prod_rendering):
    # kube-prometheus-stack 88.2.0 values.yaml: grafana.sidecar.dashboards.searchNamespace ALL;
    # grafana 12.10.4 (its dependency, grafana-community/helm-charts charts/grafana):
    # sidecar.*.resource both, rbac.namespaced false -> a ClusterRole over every Secret.
    grafana = named(prod_rendering, "c1-observability-metrics").inputs["values"]["grafana"]
    assert grafana["rbac"] == {"namespaced": True}
    for sidecar in ("dashboards", "datasources"):
        assert grafana["sidecar"][sidecar] == {
            "searchNamespace": "monitoring",
            "resource": "configmap",
        }
    # No provisioning ConfigMap of ours any more: local data sources only, from the values.
    assert not prod_rendering.of_type("kubernetes:core/v1:ConfigMap")


def test_a_receiver_bundle_without_a_certificate_is_refused_by_name():
    def program():
        receiver = ReceiverSettings(RECEIVERS, "no pem here", {}, ["0.0.0.0/0"])
        Observability(
            "c1-observability",
            {"cluster": cluster("c1"), "retention": PROD, "central": True, "receiver": receiver},
        )

    with pytest.raises(Exception, match=r"receiver\.tls_bundle: no PEM CERTIFICATE block"):
        engine.run_program(program)
