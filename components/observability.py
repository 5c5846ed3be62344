"""Metrics, logs and alerts of a cluster, with one central Grafana per environment.

Per cluster:

- kube-prometheus-stack: Prometheus (retention and volume by tier), Alertmanager, the
  operator, kube-state-metrics and node-exporter (a per-node agent: it runs on every node,
  GPU nodes included, to feed the node and disk alerts);
- Loki (single binary, filesystem on a volume, retention by tier through the compactor);
- Fluent Bit, the log collector, a DaemonSet on every node (ARM and GPU nodes included: it
  tolerates every taint, the other per-node exception to the GPU taint rule);
- the default tkestack alert rules as a `PrometheusRule` (node not ready, disk/PV filling,
  crash loops, and GPU errors from DCGM metrics on clusters with GPU pools).

The central cluster also runs Grafana: its admin password comes from
`pulumi_random.RandomPassword`, stays a Pulumi secret and reaches the chart through a
Kubernetes Secret (`grafana.admin.existingSecret`), never through Helm values. Every other
cluster exposes its Prometheus and Loki through internal load balancers (the cloud's internal
annotation, or an internal MetalLB pool on attached clusters) that admit only the central
Grafana's network (`loadBalancerSourceRanges`): neither API has authentication, so the
network is the boundary. The central Grafana gets them as data sources through a
provisioning ConfigMap (its content may hold Outputs: it is a Kubernetes object, not Helm
values, so previews stay exact).

In prod (`protect`) the releases that own persistent volumes (kube-prometheus-stack with
Prometheus storage, Loki with its volume) and the namespaces holding their PVCs are
protected: a mistaken change cannot delete metrics or logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from .addon import AddonSpec, PodGroup, check_addons, install_addon, requests
from .errors import raise_problems
from .profile import ClusterInfo

MONITORING_NAMESPACE = "monitoring"
LOGGING_NAMESPACE = "logging"
METRICS_RELEASE = "kube-prometheus-stack"
LOKI_RELEASE = "loki"
COLLECTOR_RELEASE = "fluent-bit"
GRAFANA_ADMIN_SECRET = "grafana-admin"
PROMETHEUS_PORT = 9090
LOKI_PORT = 3100
LOKI_URL = f"http://{LOKI_RELEASE}.{LOGGING_NAMESPACE}.svc.cluster.local:{LOKI_PORT}"
"""In-cluster Loki: with the gateway off, the single binary's Service is named after the release."""
LOKI_SCALABLE_TARGETS = ("backend", "read", "write")
"""Loki's simple-scalable targets: zeroed for the single binary (see `loki_addon`)."""
DATASOURCE_LABEL = "grafana_datasource"
"""Label the Grafana sidecar of kube-prometheus-stack watches for data source provisioning."""
MANAGED_CLOUDS = frozenset({"aws", "tencentcloud"})
"""Clouds whose control plane is not scrapeable: its scrapers would only fire 'target down'."""


@dataclass(frozen=True)
class RetentionSettings:
    """How long and how much is kept; the composer fills it from the spec's tier defaults."""

    metrics_retention_days: int
    """Prometheus retention, days."""
    logs_retention_days: int
    """Loki retention, days (Loki's minimum is one day)."""
    metrics_volume_gib: int | None
    """Prometheus persistent volume, GiB; None keeps metrics on an emptyDir (dev)."""
    logs_volume_gib: int | None
    """Loki persistent volume, GiB; None keeps logs on an emptyDir (dev)."""


@dataclass(frozen=True)
class PeerEndpoints:
    """Where the central Grafana finds one other cluster's metrics and logs."""

    cluster: str
    """Cluster name (data source names are `<cluster> metrics` / `<cluster> logs`)."""
    prometheus_url: pulumi.Output[str]
    """Prometheus of the cluster, behind its internal load balancer."""
    loki_url: pulumi.Output[str]
    """Loki of the cluster, behind its internal load balancer."""


class ObservabilityArgs(TypedDict, total=False):
    """Arguments of `Observability`."""

    cluster: Required[ClusterInfo]
    """The cluster observed."""
    retention: Required[RetentionSettings]
    """Retention and volumes, by tier."""
    central: NotRequired[bool]
    """This cluster hosts the environment's Grafana. Default False."""
    peers: NotRequired[Sequence[PeerEndpoints]]
    """Central cluster only: the other clusters, added as Grafana data sources."""
    expose: NotRequired[bool]
    """Expose Prometheus and Loki through internal load balancers for the central Grafana.
    Needs `load_balancer_annotations` and `load_balancer_source_ranges`. Default False (the
    composer sets it on every non-central cluster): an exposure is always asked for."""
    load_balancer_annotations: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Annotations that make the load balancer internal (per cloud, set by the composer: AWS
    `service.beta.kubernetes.io/aws-load-balancer-internal`, TKE's subnet id, an internal
    MetalLB address pool on attached clusters). Required when exposing."""
    load_balancer_source_ranges: NotRequired[Sequence[str]]
    """CIDRs allowed to reach the exposed Prometheus and Loki (`loadBalancerSourceRanges`):
    the central Grafana's network. Required when exposing: neither API authenticates."""
    protect: NotRequired[bool]
    """Protect the releases that own persistent volumes (Prometheus with storage, Loki with a
    volume) and their namespaces from deletion. Default False; the composer sets it in prod."""
    gpu_alerts: NotRequired[bool]
    """Add GPU alert rules (DCGM metrics). Default: whether the cluster has GPU pools."""


def _persistence_spec(size_gib: int) -> dict[str, Any]:
    return {
        "volumeClaimTemplate": {
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{size_gib}Gi"}},
            }
        }
    }


def metrics_addon(
    cluster: ClusterInfo, retention: RetentionSettings, central: bool, protect: bool = False
) -> AddonSpec:
    """kube-prometheus-stack for one cluster; Grafana only on the central cluster. Protected
    when asked and Prometheus keeps its data on a volume."""
    prometheus_spec: dict[str, Any] = {
        "retention": f"{retention.metrics_retention_days}d",
        "externalLabels": {"cluster": cluster.name},
        # Select every ServiceMonitor/PodMonitor/rule, not only those labelled with this
        # release: DCGM exporter, Fluent Bit and our PrometheusRule carry no such label.
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "probeSelectorNilUsesHelmValues": False,
    }
    if retention.metrics_volume_gib is not None:
        prometheus_spec["storageSpec"] = _persistence_spec(retention.metrics_volume_gib)
        # Keep 10% headroom below the volume so Prometheus deletes before the disk fills.
        prometheus_spec["retentionSize"] = f"{int(retention.metrics_volume_gib * 0.9)}GB"
    grafana: dict[str, Any] = {"enabled": central}
    if central:
        grafana.update(
            {
                "admin": {
                    "existingSecret": GRAFANA_ADMIN_SECRET,
                    "userKey": "admin-user",
                    "passwordKey": "admin-password",
                },
                # The sidecars read only ConfigMaps of this namespace (our data sources and
                # the chart's dashboards live here), through a Role instead of a ClusterRole
                # over every Secret of the cluster (tenants' included). kube-prometheus-stack
                # 88.2.0 sets dashboards.searchNamespace ALL; grafana chart 12.10.4
                # (grafana-community/helm-charts charts/grafana) defaults resource: both and
                # rbac.namespaced: false (templates/clusterrole.yaml, templates/role.yaml).
                "rbac": {"namespaced": True},
                "sidecar": {
                    sidecar: {"searchNamespace": MONITORING_NAMESPACE, "resource": "configmap"}
                    for sidecar in ("dashboards", "datasources")
                },
                "additionalDataSources": [
                    {
                        "name": f"{cluster.name} logs",
                        "type": "loki",
                        "access": "proxy",
                        "url": LOKI_URL,
                    }
                ],
            }
        )
    values: dict[str, Any] = {
        "prometheus": {"prometheusSpec": prometheus_spec},
        # The node-exporter subchart (prometheus-node-exporter 4.56.1 in kube-prometheus-stack
        # 88.2.0's Chart.yaml) ships `resources: {}`; figures from its commented example.
        "prometheus-node-exporter": {"resources": requests("100m", "30Mi")},
        "alertmanager": {"alertmanagerSpec": {"retention": "120h"}},
        "grafana": grafana,
    }
    if cluster.cloud in MANAGED_CLOUDS:
        for scraper in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
            values[scraper] = {"enabled": False}
    groups = [
        PodGroup("prometheusOperator"),
        PodGroup("prometheusOperator.admissionWebhooks.patch"),
        PodGroup("prometheus.prometheusSpec"),
        PodGroup("alertmanager.alertmanagerSpec"),
        PodGroup("kube-state-metrics"),
        PodGroup("prometheus-node-exporter", role="node-agent"),
    ]
    if central:
        groups.append(PodGroup("grafana"))
    return AddonSpec(
        key=METRICS_RELEASE,
        chart="kube-prometheus-stack",
        values=values,
        pod_groups=tuple(groups),
        create_namespace=False,
        protect=protect and retention.metrics_volume_gib is not None,
    )


def loki_addon(retention: RetentionSettings, protect: bool = False) -> AddonSpec:
    """Loki single binary with filesystem storage and compactor retention; protected when
    asked and logs live on a volume."""
    persistence: dict[str, Any] = {"enabled": False}
    if retention.logs_volume_gib is not None:
        persistence = {
            "enabled": True,
            "size": f"{retention.logs_volume_gib}Gi",
            # The chart's defaults (whenDeleted/whenScaled: Delete with
            # enableStatefulSetAutoDeletePVC: true, values.yaml @loki-17.1.7) delete the logs'
            # volume with the StatefulSet; the volume outlives a mistaken uninstall instead.
            "whenDeleted": "Retain",
            "whenScaled": "Retain",
        }
    values = {
        "deploymentMode": "Monolithic",
        "loki": {
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": {
                "configs": [
                    {
                        "from": "2024-04-01",
                        "store": "tsdb",
                        "object_store": "filesystem",
                        "schema": "v13",
                        "index": {"prefix": "loki_index_", "period": "24h"},
                    }
                ]
            },
            "limits_config": {"retention_period": f"{retention.logs_retention_days * 24}h"},
            "compactor": {"retention_enabled": True, "delete_request_store": "filesystem"},
        },
        "singleBinary": {"replicas": 1, "persistence": persistence},
        # The simple-scalable targets default to 3 replicas each; the chart's
        # templates/validate.yaml (grafana-community/helm-charts, charts/loki @loki-17.1.7)
        # fails a Monolithic install while any of them has replicas, as its own
        # monolithic-values.yaml shows by zeroing them. Distributed targets default to 0.
        **{target: {"replicas": 0} for target in LOKI_SCALABLE_TARGETS},
        # Off: the helm test image and the gateway/cache images are not verified multi-arch
        # (docs/charts.md, Loki), and a single binary needs none of them.
        "test": {"enabled": False},
        "lokiCanary": {"enabled": False},
        "gateway": {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
    }
    return AddonSpec(
        key=LOKI_RELEASE,
        chart="loki",
        values=values,
        pod_groups=(PodGroup("singleBinary"),),
        create_namespace=False,
        protect=protect and retention.logs_volume_gib is not None,
    )


def collector_addon(cluster: ClusterInfo) -> AddonSpec:
    """Fluent Bit on every node, shipping container logs to the cluster's Loki."""
    outputs = "\n".join(
        [
            "[OUTPUT]",
            "    Name                   loki",
            "    Match                  kube.*",
            f"    Host                   {LOKI_RELEASE}.{LOGGING_NAMESPACE}.svc.cluster.local",
            f"    Port                   {LOKI_PORT}",
            f"    Labels                 job=fluent-bit, cluster={cluster.name}",
            "    Auto_Kubernetes_Labels on",
            "",
        ]
    )
    return AddonSpec(
        key=COLLECTOR_RELEASE,
        chart="fluent-bit",
        values={
            "kind": "DaemonSet",
            "config": {"outputs": outputs},
            # `resources: {}` in charts/fluent-bit/values.yaml @fluent-bit-0.57.5
            # (fluent/helm-charts); figures from its commented example.
            "resources": requests("100m", "128Mi"),
            "serviceMonitor": {"enabled": True},
        },
        # Logs from every node, GPU and tainted ARM nodes included: tolerate every taint.
        pod_groups=(PodGroup("", role="node-agent"),),
        requires=(LOKI_RELEASE, METRICS_RELEASE),
        create_namespace=False,
    )


def observability_addons(args: ObservabilityArgs) -> list[AddonSpec]:
    """The Helm add-ons of the observability stack of one cluster."""
    cluster = args["cluster"]
    retention = args["retention"]
    protect = args.get("protect", False)
    return [
        metrics_addon(cluster, retention, args.get("central", False), protect),
        loki_addon(retention, protect),
        collector_addon(cluster),
    ]


def validate_observability_args(args: ObservabilityArgs) -> list[str]:
    """Every problem of the exposure arguments, each naming its argument."""
    if not args.get("expose", False):
        return []
    problems = []
    if not args.get("load_balancer_annotations"):
        problems.append(
            "load_balancer_annotations: required to expose Prometheus and Loki: without an"
            " internal marker the load balancer may be internet-facing"
        )
    if not args.get("load_balancer_source_ranges"):
        problems.append(
            "load_balancer_source_ranges: required to expose Prometheus and Loki, which have no"
            " authentication: give the central Grafana's network"
        )
    return problems


def _alert(name: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, "source": "tkestack"},
        "annotations": {"summary": summary},
    }


def default_alert_rules(gpu: bool) -> list[dict[str, Any]]:
    """The tkestack rule groups (PrometheusRule `spec.groups`); GPU rules when `gpu`."""
    groups: list[dict[str, Any]] = [
        {
            "name": "tkestack-nodes",
            "rules": [
                _alert(
                    "TkestackNodeNotReady",
                    'kube_node_status_condition{condition="Ready",status="true"} == 0',
                    "5m",
                    "critical",
                    "Node {{ $labels.node }} has not been Ready for 5 minutes.",
                ),
                _alert(
                    "TkestackNodeDiskFilling",
                    '(node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"}'
                    ' / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}) < 0.10',
                    "10m",
                    "warning",
                    "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }}"
                    " is over 90% full.",
                ),
            ],
        },
        {
            "name": "tkestack-workloads",
            "rules": [
                _alert(
                    "TkestackPersistentVolumeFilling",
                    "kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes"
                    " < 0.10",
                    "5m",
                    "warning",
                    "Volume {{ $labels.persistentvolumeclaim }} in {{ $labels.namespace }}"
                    " is over 90% full.",
                ),
                _alert(
                    "TkestackPodCrashLooping",
                    "max_over_time(kube_pod_container_status_waiting_reason"
                    '{reason="CrashLoopBackOff"}[5m]) >= 1',
                    "15m",
                    "warning",
                    "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }})"
                    " is crash looping.",
                ),
            ],
        },
    ]
    if gpu:
        groups.append({"name": "tkestack-gpus", "rules": gpu_alert_rules()})
    return groups


DCGM_HOST_LABEL = "hostname"
"""Node label of DCGM exporter series: `hostname` since NVIDIA/dcgm-exporter#655 (commit
d5e5f51, internal/pkg/rendermetrics/render_metrics.go; `Hostname` before), 4.x line."""
GPU_NODES_PRESENT = 'sum(kube_node_status_capacity{resource="nvidia_com_gpu"}) > 0'
"""Some node advertises GPUs. kube-state-metrics exports extended resources with their name
sanitized (`nvidia.com/gpu` -> `nvidia_com_gpu`, kubernetes/kube-state-metrics
internal/store/node.go); every device plugin we install (NVIDIA, HAMi, the GPU operator's)
advertises `nvidia.com/gpu`."""


def gpu_alert_rules() -> list[dict[str, Any]]:
    """The GPU alert rules (DCGM exporter and kube-state-metrics series)."""
    by = f"max by ({DCGM_HOST_LABEL}, gpu)"
    where = f"GPU {{{{ $labels.gpu }}}} on {{{{ $labels.{DCGM_HOST_LABEL} }}}}"
    return [
        # XIDs counted in the exporter's window (DCGM_EXP_XID_ERRORS_COUNT, label `xid`):
        # the alert resolves once no new XID arrives, unlike the last-XID gauge
        # DCGM_FI_DEV_XID_ERRORS (https://docs.nvidia.com/deploy/xid-errors/).
        _alert(
            "TkestackGpuXidError",
            f"max by ({DCGM_HOST_LABEL}, gpu, xid) (DCGM_EXP_XID_ERRORS_COUNT) > 0",
            "0m",
            "critical",
            f"{where} reported XID error {{{{ $labels.xid }}}}.",
        ),
        _alert(
            "TkestackGpuTooHot",
            f"{by} (DCGM_FI_DEV_GPU_TEMP) > 85",
            "10m",
            "warning",
            f"{where} is above 85 C.",
        ),
        # Only while some node has GPUs: pools at min_size 0 have none most of the time.
        _alert(
            "TkestackGpuMetricsMissing",
            f"absent(DCGM_FI_DEV_GPU_TEMP) and on() ({GPU_NODES_PRESENT})",
            "15m",
            "warning",
            "GPU nodes are up but there are no DCGM GPU metrics: the DCGM exporter is down or"
            " not scraped.",
        ),
    ]


def datasources_document(peers: Sequence[tuple[str, str, str]]) -> str:
    """Grafana data source provisioning YAML for (cluster, prometheus url, loki url) peers."""
    sources: list[dict[str, Any]] = []
    for cluster, prometheus_url, loki_url in sorted(peers):
        sources.append(
            {
                "name": f"{cluster} metrics",
                "type": "prometheus",
                "access": "proxy",
                "url": prometheus_url,
            }
        )
        sources.append(
            {"name": f"{cluster} logs", "type": "loki", "access": "proxy", "url": loki_url}
        )
    return yaml.safe_dump({"apiVersion": 1, "datasources": sources}, sort_keys=True)


class Observability(pulumi.ComponentResource):
    """Metrics, logs and alerts of one cluster (and the central Grafana on one of them)."""

    grafana_admin_password: pulumi.Output[str] | None
    """Central cluster: Grafana's admin password (secret); None elsewhere."""
    metrics_release: pulumi.Resource
    """The kube-prometheus-stack release: add-ons that create ServiceMonitors or
    PrometheusRules wait for it (it installs their CRDs), and only those."""
    endpoints: PeerEndpoints | None
    """Where the central Grafana reaches this cluster (when exposed)."""
    addon_keys: list[str]
    """Keys of the add-ons installed (for other components' dependency checks)."""

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        cluster = args["cluster"]
        addons = observability_addons(args)
        problems = validate_observability_args(args)
        problems += check_addons(addons, cluster, "addons")
        # Every problem of the arguments, before the component or any child registers.
        raise_problems("Observability", name, problems)
        super().__init__("tkestack:index:Observability", name, None, opts)
        self._name = name
        self._args = args
        self.addon_keys = [addon.key for addon in addons]
        self.grafana_admin_password = None
        self.endpoints = None
        namespaces = self._create_namespaces()
        before_metrics: list[pulumi.Resource] = [namespaces[MONITORING_NAMESPACE]]
        if args.get("central", False):
            before_metrics += self._create_grafana_secrets(namespaces[MONITORING_NAMESPACE])
        metrics, loki, collector = addons
        metrics_release = install_addon(
            f"{name}-metrics", metrics, cluster, self, depends_on=before_metrics
        )
        loki_release = install_addon(
            f"{name}-loki", loki, cluster, self, depends_on=[namespaces[LOGGING_NAMESPACE]]
        )
        install_addon(
            f"{name}-logs", collector, cluster, self, depends_on=[loki_release, metrics_release]
        )
        self.metrics_release = metrics_release
        self._create_alert_rules(metrics_release)
        if args.get("expose", False):
            self.endpoints = self._expose(namespaces)
        outputs: dict[str, Any] = {"addon_keys": self.addon_keys}
        if self.grafana_admin_password is not None:
            outputs["grafana_admin_password"] = self.grafana_admin_password
        self.register_outputs(outputs)

    def _k8s_opts(self, *, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        cluster = self._args["cluster"]
        return pulumi.ResourceOptions(
            parent=self,
            provider=cluster.k8s_provider,
            depends_on=[*cluster.depends_on, *depends_on],
        )

    def _create_namespaces(self) -> dict[str, k8s.core.v1.Namespace]:
        # Deleting a namespace deletes the PVCs inside: protected with the releases owning them.
        retention = self._args["retention"]
        protect = self._args.get("protect", False)
        holds_data = {
            MONITORING_NAMESPACE: retention.metrics_volume_gib is not None,
            LOGGING_NAMESPACE: retention.logs_volume_gib is not None,
        }
        return {
            namespace: k8s.core.v1.Namespace(
                f"{self._name}-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace),
                opts=pulumi.ResourceOptions.merge(
                    self._k8s_opts(),
                    pulumi.ResourceOptions(protect=protect and holds_data[namespace]),
                ),
            )
            for namespace in (MONITORING_NAMESPACE, LOGGING_NAMESPACE)
        }

    def _create_grafana_secrets(self, namespace: k8s.core.v1.Namespace) -> list[pulumi.Resource]:
        # Explicit provider: stacks disable default providers (`pulumi:disable-default-providers`).
        provider = random.Provider(f"{self._name}-random", opts=pulumi.ResourceOptions(parent=self))
        password = random.RandomPassword(
            f"{self._name}-grafana-password",
            length=32,
            special=False,
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.grafana_admin_password = pulumi.Output.secret(password.result)
        admin = k8s.core.v1.Secret(
            f"{self._name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=GRAFANA_ADMIN_SECRET, namespace=namespace.metadata.name
            ),
            type="Opaque",
            string_data={"admin-user": "admin", "admin-password": self.grafana_admin_password},
            opts=self._k8s_opts(),
        )
        peers = list(self._args.get("peers", ()))
        if not peers:
            return [admin]
        document = pulumi.Output.all(
            *[pulumi.Output.all(peer.cluster, peer.prometheus_url, peer.loki_url) for peer in peers]
        ).apply(lambda rows: datasources_document([tuple(row) for row in rows]))
        datasources = k8s.core.v1.ConfigMap(
            f"{self._name}-grafana-datasources",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="tkestack-cluster-datasources",
                namespace=namespace.metadata.name,
                labels={DATASOURCE_LABEL: "1"},
            ),
            data={"tkestack-clusters.yaml": document},
            opts=self._k8s_opts(),
        )
        return [admin, datasources]

    def _create_alert_rules(self, metrics_release: pulumi.Resource) -> None:
        cluster = self._args["cluster"]
        gpu = self._args.get("gpu_alerts", bool(cluster.gpu_pools))
        k8s.apiextensions.CustomResource(
            f"{self._name}-alerts",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="tkestack-platform-alerts", namespace=MONITORING_NAMESPACE
            ),
            spec={"groups": default_alert_rules(gpu)},
            # The PrometheusRule CRD comes with the kube-prometheus-stack release.
            opts=self._k8s_opts(depends_on=[metrics_release]),
        )

    def _expose(self, namespaces: Mapping[str, k8s.core.v1.Namespace]) -> PeerEndpoints:
        annotations = dict(self._args.get("load_balancer_annotations", {}))
        source_ranges = list(self._args.get("load_balancer_source_ranges", ()))
        services = {}
        for role, namespace, port, selector in (
            (
                "prometheus",
                MONITORING_NAMESPACE,
                PROMETHEUS_PORT,
                {"app.kubernetes.io/name": "prometheus"},
            ),
            (
                "loki",
                LOGGING_NAMESPACE,
                LOKI_PORT,
                {"app.kubernetes.io/name": "loki", "app.kubernetes.io/component": "single-binary"},
            ),
        ):
            # Load balancers are cloud resources: they depend on the cluster (and its node
            # pools) so a teardown deletes them before the network they live in.
            services[role] = k8s.core.v1.Service(
                f"{self._name}-{role}-central",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"{role}-central", namespace=namespace, annotations=annotations
                ),
                spec=k8s.core.v1.ServiceSpecArgs(
                    type="LoadBalancer",
                    # No authentication on either API: only the central Grafana's network.
                    load_balancer_source_ranges=source_ranges,
                    selector=selector,
                    ports=[
                        k8s.core.v1.ServicePortArgs(
                            name="http", port=port, target_port=port, protocol="TCP"
                        )
                    ],
                ),
                # Not on the release: a Service only selects pods, and waiting for the release
                # would put the central Grafana behind every peer cluster's Loki install.
                opts=self._k8s_opts(depends_on=[namespaces[namespace]]),
            )

        def url(service: k8s.core.v1.Service, port: int) -> pulumi.Output[str]:
            def address(status: Any) -> str:
                ingress = ((status or {}).get("load_balancer") or {}).get("ingress") or [{}]
                host = ingress[0].get("hostname") or ingress[0].get("ip") or "pending"
                return f"http://{host}:{port}"

            return service.status.apply(
                lambda status: address(status if isinstance(status, dict) else _as_dict(status))
            )

        return PeerEndpoints(
            cluster=self._args["cluster"].name,
            prometheus_url=url(services["prometheus"], PROMETHEUS_PORT),
            loki_url=url(services["loki"], LOKI_PORT),
        )


def _as_dict(status: Any) -> dict[str, Any]:
    """A ServiceStatus output object as plain dicts (snake_case keys)."""
    if status is None:
        return {}
    balancer = getattr(status, "load_balancer", None)
    ingress = getattr(balancer, "ingress", None) or []
    return {
        "load_balancer": {
            "ingress": [
                {"hostname": getattr(item, "hostname", None), "ip": getattr(item, "ip", None)}
                for item in ingress
            ]
        }
    }
