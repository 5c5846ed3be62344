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
Kubernetes Secret (`grafana.admin.existingSecret`), never through Helm values. Grafana reads
only local data sources: its own Prometheus and Loki.

Peers push (no private network needed): every other cluster remote-writes its metrics
(`prometheusSpec.remoteWrite`) and ships its logs (Fluent Bit's `loki` output, beside the
local Loki) to the central cluster's receivers, over TLS with a per-cluster basic-auth
credential (`pulumi_random.RandomPassword`, a Pulumi secret, a Kubernetes Secret on the peer;
its bcrypt hash in the central gateway's htpasswd Secret; rotated by changing
`credentials_rotation`, which replaces it). The receivers are the Loki chart's nginx gateway
(TLS, basic auth) on the central cluster, routing `/loki/api/v1/push` to Loki and
`/api/v1/write` to Prometheus (`enableRemoteWriteReceiver`), behind one LoadBalancer Service
(public or internal, as the composer says). Nothing else is exposed: each cluster keeps its
own Prometheus, Alertmanager and alert rules, so alerts keep working when the central
cluster is down.

The `monitoring` and `logging` namespaces get NetworkPolicies: ingress only from inside the
namespace, between the two, to the operator's admission webhook (the API server), and to the
receivers' gateway on the central cluster.

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

from .addon import AddonSpec, PodGroup, check_addons, install_addon, requests
from .catalog import ADDON_REQUIRES
from .contracts import ClusterInfo
from .errors import raise_problems
from .network_policy import METRICS_NAMESPACE, create_network_policies, namespace_peer
from .registry import split_tls_bundle
from .validation import checked

MONITORING_NAMESPACE = METRICS_NAMESPACE
LOGGING_NAMESPACE = "logging"
METRICS_RELEASE = "kube-prometheus-stack"
LOKI_RELEASE = "loki"
COLLECTOR_RELEASE = "fluent-bit"
GRAFANA_ADMIN_SECRET = "grafana-admin"
PROMETHEUS_PORT = 9090
LOKI_PORT = 3100
RECEIVER_PORT = 443
"""HTTPS port of the central receivers' load balancer."""
GATEWAY_PORT = 8080
"""The Loki gateway's container port (`gateway.containerPort`, charts/loki/values.yaml
@loki-17.1.7, grafana-community/helm-charts)."""
OPERATOR_WEBHOOK_PORT = 10250
"""prometheus-operator's admission webhook port (`prometheusOperator.tls.internalPort`,
charts/kube-prometheus-stack/values.yaml @kube-prometheus-stack-88.2.0): the API server calls it."""
FLUENT_BIT_METRICS_PORT = 2020
"""Fluent Bit's metrics port (`metricsPort`, charts/fluent-bit/values.yaml @fluent-bit-0.57.5)."""
REMOTE_WRITE_PATH = "/api/v1/write"
"""Prometheus' remote-write receiver path (with `--web.enable-remote-write-receiver`)."""
PROMETHEUS_URL = (
    f"http://{METRICS_RELEASE}-prometheus.{MONITORING_NAMESPACE}.svc.cluster.local:9090"
)
"""In-cluster Prometheus: `<fullname>-prometheus` (templates/prometheus/service.yaml; the
fullname is the release name when it contains the chart name, templates/_helpers.tpl,
@kube-prometheus-stack-88.2.0)."""
DEFAULT_ROTATION = "1"
"""`credentials_rotation` when none is given."""
PUSH_SECRET = "tkestack-central-push"
"""Peer Secret (in `monitoring` and `logging`) with the push credential: `username`, `password`."""
HTPASSWD_SECRET = "tkestack-receiver-htpasswd"
"""Central Secret with the receivers' `.htpasswd` (`gateway.basicAuth.existingSecret`)."""
RECEIVER_TLS_SECRET = "tkestack-receiver-tls"
"""Central Secret with the receivers' certificate (`kubernetes.io/tls`)."""
ROTATION_ANNOTATION = "tkestack.io/credentials-rotation"
"""Pod annotation carrying `credentials_rotation`: a new value rolls the pods that read the
push credential at start (Fluent Bit's environment, the gateway)."""
GATEWAY_SELECTOR = {
    "app.kubernetes.io/name": LOKI_RELEASE,
    "app.kubernetes.io/instance": LOKI_RELEASE,
    "app.kubernetes.io/component": "gateway",
}
"""Labels of the Loki gateway pods (`loki.gatewaySelectorLabels`,
charts/loki/templates/gateway/_helpers.tpl @loki-17.1.7)."""
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
class PushTarget:
    """Where a peer cluster pushes its metrics and logs: the central cluster's receivers."""

    hostname: str
    """DNS name of the central receivers (their TLS certificate is issued for it)."""
    port: int = RECEIVER_PORT
    """HTTPS port of the receivers' load balancer."""


@dataclass(frozen=True)
class PushCredential:
    """The credential one peer pushes with, as the central receivers check it."""

    cluster: str
    """Peer cluster name: its basic-auth user name."""
    password_hash: pulumi.Output[str]
    """bcrypt hash of the peer's password (secret), one htpasswd line."""


@dataclass(frozen=True)
class ReceiverSettings:
    """The central cluster's receivers: TLS name, certificate and how they are exposed."""

    hostname: str
    """DNS name the peers push to; the company's DNS points it at the load balancer."""
    tls_bundle: pulumi.Input[str]
    """PEM bundle for `hostname` (certificates, then the private key), from a CA the peers'
    system trust store accepts (Prometheus and Fluent Bit verify it)."""
    load_balancer_annotations: Mapping[str, pulumi.Input[str]]
    """Annotations of the receivers' LoadBalancer Service (the cloud's internal marker when a
    private path reaches the central cluster; empty for a public one)."""
    source_ranges: Sequence[str]
    """CIDRs admitted by the load balancer (`loadBalancerSourceRanges`)."""


class ObservabilityArgs(TypedDict, total=False):
    """Arguments of `Observability`."""

    cluster: Required[ClusterInfo]
    """The cluster observed."""
    retention: Required[RetentionSettings]
    """Retention and volumes, by tier."""
    central: NotRequired[bool]
    """This cluster hosts the environment's Grafana. Default False."""
    receiver: NotRequired[ReceiverSettings]
    """Central cluster only: run the receivers the peers push to. Default: none (a single
    cluster environment has no peers)."""
    peers: NotRequired[Sequence[PushCredential]]
    """Central cluster only: the peers' credentials the receivers admit (needs `receiver`)."""
    push_to: NotRequired[PushTarget]
    """Peer clusters only: push metrics and logs to the central receivers. Excludes
    `central` and `receiver`."""
    credentials_rotation: NotRequired[str]
    """A value kept by a peer's push credential (`keepers`): changing it replaces the password
    on the next `pulumi up` (the central htpasswd follows). It is also a pod annotation of the
    peer's Fluent Bit and the central gateway, so they restart onto the new credential
    (environment variables are read at start). Give every cluster the same value. Default
    "1"."""
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
    cluster: ClusterInfo,
    retention: RetentionSettings,
    central: bool,
    protect: bool = False,
    *,
    receiver: bool = False,
    push_to: PushTarget | None = None,
) -> AddonSpec:
    """kube-prometheus-stack for one cluster; Grafana only on the central cluster. Protected
    when asked and Prometheus keeps its data on a volume. `receiver`: accept the peers'
    remote-write; `push_to`: remote-write to the central receivers."""
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
    if receiver:
        # --web.enable-remote-write-receiver (prometheusSpec.enableRemoteWriteReceiver,
        # values.yaml and templates/prometheus/prometheus.yaml @kube-prometheus-stack-88.2.0).
        # Peers' samples carry their `cluster` external label, so series stay apart.
        prometheus_spec["enableRemoteWriteReceiver"] = True
    if push_to is not None:
        prometheus_spec["remoteWrite"] = [remote_write(push_to)]
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


def remote_write(target: PushTarget) -> dict[str, Any]:
    """The `prometheusSpec.remoteWrite` entry of a peer: HTTPS to the central receivers with
    basic auth read from the `PUSH_SECRET` Secret (RemoteWriteSpec `url`, `basicAuth.username`
    / `basicAuth.password` as SecretKeySelectors in the Prometheus' namespace; `tlsConfig`
    unset: the system trust store verifies the receivers' certificate. CRD
    charts/crds/crds/crd-prometheuses.yaml @kube-prometheus-stack-88.2.0)."""
    return {
        "name": "tkestack-central",
        "url": f"https://{target.hostname}:{target.port}{REMOTE_WRITE_PATH}",
        "basicAuth": {
            "username": {"name": PUSH_SECRET, "key": "username"},
            "password": {"name": PUSH_SECRET, "key": "password"},
        },
    }


def gateway_values(rotation: str) -> dict[str, Any]:
    """The Loki gateway as the central receivers (charts/loki @loki-17.1.7,
    grafana-community/helm-charts): nginx listening with `ssl` (`gateway.nginxConfig.ssl`)
    on the certificate mounted from `RECEIVER_TLS_SECRET`, basic auth from the htpasswd of
    `gateway.basicAuth.existingSecret` (key `.htpasswd`, templates/gateway/deployment.yaml;
    the chart's own default htpasswd is bcrypt, Helm's `htpasswd`), and `/api/v1/write`
    proxied to Prometheus through `nginxConfig.serverSnippet` (inside the server block, so
    auth_basic applies; a variable in proxy_pass, as the chart's own locations, so nginx
    starts before Prometheus' Service resolves). The chart's Service stays ClusterIP: it has
    no loadBalancerSourceRanges (templates/gateway/service.yaml); ours fronts the pods."""
    tls_dir = "/etc/nginx/tls"
    snippet = "\n".join(
        [
            f"ssl_certificate     {tls_dir}/tls.crt;",
            f"ssl_certificate_key {tls_dir}/tls.key;",
            f"location = {REMOTE_WRITE_PATH} {{",
            f'  set $prometheus "{PROMETHEUS_URL}";',
            "  proxy_pass $prometheus$request_uri;",
            "}",
        ]
    )
    return {
        "enabled": True,
        "replicas": 1,
        "basicAuth": {"enabled": True, "existingSecret": HTPASSWD_SECRET},
        "nginxConfig": {"ssl": True, "serverSnippet": snippet},
        # Mounted next to the chart's own /etc/nginx/secrets (auth), the same nesting.
        "extraVolumes": [{"name": "tls", "secret": {"secretName": RECEIVER_TLS_SECRET}}],
        "extraVolumeMounts": [{"name": "tls", "mountPath": tls_dir, "readOnly": True}],
        # The chart's probe is plain HTTP on `/`; the listener speaks TLS only.
        "readinessProbe": {
            "httpGet": {"path": "/", "port": "http", "scheme": "HTTPS"},
            "initialDelaySeconds": 15,
            "timeoutSeconds": 1,
        },
        # The access-log exporter sidecar (ghcr.io/jkroepke/access-log-exporter) is not
        # verified multi-arch; the receivers do not need it.
        "metrics": {"enabled": False},
        "service": {"type": "ClusterIP"},
        "podAnnotations": {ROTATION_ANNOTATION: rotation},
    }


def loki_addon(
    retention: RetentionSettings,
    protect: bool = False,
    receiver: ReceiverSettings | None = None,
    rotation: str = DEFAULT_ROTATION,
) -> AddonSpec:
    """Loki single binary with filesystem storage and compactor retention; protected when
    asked and logs live on a volume. `receiver`: the gateway serves the peers' pushes."""
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
        "gateway": gateway_values(rotation) if receiver is not None else {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
    }
    groups = [PodGroup("singleBinary")]
    if receiver is not None:
        # nginx-unprivileged is not verified for arm64 at this chart version
        # (components/catalog/charts.yaml, loki.arm64_requires): amd64 nodes only.
        groups.append(PodGroup("gateway", architectures=("amd64",)))
    return AddonSpec(
        key=LOKI_RELEASE,
        chart="loki",
        values=values,
        pod_groups=tuple(groups),
        create_namespace=False,
        protect=protect and retention.logs_volume_gib is not None,
    )


def _loki_output(host: str, port: int, labels: str, extra: Sequence[str] = ()) -> list[str]:
    return [
        "[OUTPUT]",
        "    Name                   loki",
        "    Match                  kube.*",
        f"    Host                   {host}",
        f"    Port                   {port}",
        f"    Labels                 {labels}",
        "    Auto_Kubernetes_Labels on",
        *extra,
        "",
    ]


def collector_addon(
    cluster: ClusterInfo, push_to: PushTarget | None = None, rotation: str = DEFAULT_ROTATION
) -> AddonSpec:
    """Fluent Bit on every node, shipping container logs to the cluster's Loki and, on a
    peer, to the central receivers too (TLS verified, basic auth from `PUSH_SECRET` through
    environment variables: Fluent Bit expands `${VAR}` in its configuration,
    fluent/fluent-bit-docs administration/configuring-fluent-bit/classic-mode/variables.md;
    `tls`, `tls.verify`, `http_user`, `http_passwd`: pipeline/outputs/loki.md)."""
    labels = f"job=fluent-bit, cluster={cluster.name}"
    lines = _loki_output(f"{LOKI_RELEASE}.{LOGGING_NAMESPACE}.svc.cluster.local", LOKI_PORT, labels)
    values: dict[str, Any] = {
        "kind": "DaemonSet",
        # `resources: {}` in charts/fluent-bit/values.yaml @fluent-bit-0.57.5
        # (fluent/helm-charts); figures from its commented example.
        "resources": requests("100m", "128Mi"),
        "serviceMonitor": {"enabled": True},
    }
    if push_to is not None:
        lines += _loki_output(
            push_to.hostname,
            push_to.port,
            labels,
            [
                "    tls                    on",
                "    tls.verify             on",
                "    http_user              ${TKESTACK_PUSH_USER}",
                "    http_passwd            ${TKESTACK_PUSH_PASSWORD}",
            ],
        )
        # `env` is copied into the container as is (templates/_pod.tpl @fluent-bit-0.57.5);
        # `podAnnotations` lands on the DaemonSet's pod template (templates/daemonset.yaml),
        # so a rotation rolls the pods onto the new credential.
        values["podAnnotations"] = {ROTATION_ANNOTATION: rotation}
        values["env"] = [
            {
                "name": variable,
                "valueFrom": {"secretKeyRef": {"name": PUSH_SECRET, "key": key}},
            }
            for variable, key in (
                ("TKESTACK_PUSH_USER", "username"),
                ("TKESTACK_PUSH_PASSWORD", "password"),
            )
        ]
    values["config"] = {"outputs": "\n".join(lines)}
    return AddonSpec(
        key=COLLECTOR_RELEASE,
        chart="fluent-bit",
        values=values,
        # Logs from every node, GPU and tainted ARM nodes included: tolerate every taint.
        pod_groups=(PodGroup("", role="node-agent"),),
        requires=ADDON_REQUIRES[COLLECTOR_RELEASE],
        create_namespace=False,
    )


def observability_addons(args: ObservabilityArgs) -> list[AddonSpec]:
    """The Helm add-ons of the observability stack of one cluster."""
    cluster = args["cluster"]
    retention = args["retention"]
    protect = args.get("protect", False)
    receiver = args.get("receiver")
    push_to = args.get("push_to")
    rotation = args.get("credentials_rotation", DEFAULT_ROTATION)
    return [
        metrics_addon(
            cluster,
            retention,
            args.get("central", False),
            protect,
            receiver=receiver is not None,
            push_to=push_to,
        ),
        loki_addon(retention, protect, receiver, rotation),
        collector_addon(cluster, push_to, rotation),
    ]


def validate_observability_args(args: ObservabilityArgs) -> list[str]:
    """Every problem of the push/receiver arguments, each naming its argument."""
    problems = []
    receiver = args.get("receiver")
    if args.get("push_to") is not None and (args.get("central", False) or receiver is not None):
        problems.append(
            "push_to: the central cluster receives; it does not push to itself (drop push_to"
            " or central/receiver)"
        )
    if receiver is not None and not args.get("central", False):
        problems.append("receiver: only the central cluster (central: true) runs the receivers")
    if args.get("peers") and receiver is None:
        problems.append("peers: the peers push to receivers: give receiver as well")
    if receiver is not None and not list(receiver.source_ranges):
        problems.append(
            "receiver.source_ranges: required (0.0.0.0/0 for a public receiver, the peers'"
            " networks for an internal one): an empty list is not a decision"
        )
    rotation = args.get("credentials_rotation")
    if rotation is not None and not rotation:
        problems.append("credentials_rotation: empty; any non-empty value (e.g. a date)")
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


def htpasswd_document(peers: Sequence[tuple[str, str]]) -> str:
    """The receivers' `.htpasswd`: one `user:bcrypt-hash` line per (cluster, hash), sorted."""
    return "".join(f"{cluster}:{password_hash}\n" for cluster, password_hash in sorted(peers))


def network_policies(central_receiver: bool) -> dict[str, dict[str, dict[str, Any]]]:
    """NetworkPolicy specs by namespace and role (`tkestack-<role>`). Ingress only
    (Prometheus scrapes out, Fluent Bit pushes out). Node-local traffic (kubelet probes,
    port-forward) is always allowed and hostNetwork pods (node-exporter) are not subject to policies
    (https://kubernetes.io/docs/concepts/services-networking/network-policies/)."""
    everyone: list[dict[str, Any]] = [{"podSelector": {}}]
    monitoring: dict[str, dict[str, Any]] = {
        "ingress": {
            # In-namespace traffic (Prometheus <-> exporters, Grafana -> Prometheus) and the
            # logging namespace (the receivers' gateway forwarding remote-write).
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [*everyone, namespace_peer(LOGGING_NAMESPACE)]}],
        },
        "webhook": {
            # The admission webhook: the API server calls it from outside the pod network
            # (control-plane addresses differ per cloud), so any source on that port only.
            "podSelector": {"matchLabels": {"app": f"{METRICS_RELEASE}-operator"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": OPERATOR_WEBHOOK_PORT, "protocol": "TCP"}]}],
        },
    }
    logging: dict[str, dict[str, Any]] = {
        "ingress": {
            # In-namespace (Fluent Bit -> Loki) and monitoring (Prometheus scrapes Fluent Bit
            # and Loki; Grafana queries Loki).
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [*everyone, namespace_peer(MONITORING_NAMESPACE)]}],
        }
    }
    if central_receiver:
        # The receivers, from any source: whether a load balancer keeps the client address
        # differs per cloud and mode, so TLS and the per-cluster credential are the boundary.
        logging["receiver"] = {
            "podSelector": {"matchLabels": dict(GATEWAY_SELECTOR)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": GATEWAY_PORT, "protocol": "TCP"}]}],
        }
    return {MONITORING_NAMESPACE: monitoring, LOGGING_NAMESPACE: logging}


class Observability(pulumi.ComponentResource):
    """Metrics, logs and alerts of one cluster (and the central Grafana on one of them)."""

    grafana_admin_password: pulumi.Output[str] | None
    """Central cluster: Grafana's admin password (secret); None elsewhere."""
    metrics_release: pulumi.Resource
    """The kube-prometheus-stack release: add-ons that create ServiceMonitors or
    PrometheusRules wait for it (it installs their CRDs), and only those."""
    push_credential: PushCredential | None
    """Peer clusters: the credential the central receivers must admit; None elsewhere."""
    push_password: pulumi.Output[str] | None
    """Peer clusters: the push password (secret); None elsewhere."""
    receiver_address: pulumi.Output[str] | None
    """Central cluster with receivers: the load balancer's address, which the receivers'
    hostname must resolve to (the company's DNS); None elsewhere."""
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
        self._random: random.Provider | None = None
        self.addon_keys = [addon.key for addon in addons]
        self.grafana_admin_password = None
        self.push_credential = None
        self.push_password = None
        self.receiver_address = None
        namespaces = self._create_namespaces()
        self._create_network_policies(namespaces)
        before_metrics: list[pulumi.Resource] = [namespaces[MONITORING_NAMESPACE]]
        before_loki: list[pulumi.Resource] = [namespaces[LOGGING_NAMESPACE]]
        before_logs: list[pulumi.Resource] = []
        if args.get("central", False):
            before_metrics += self._create_grafana_secrets(namespaces[MONITORING_NAMESPACE])
        if args.get("receiver") is not None:
            before_loki += self._create_receiver(namespaces[LOGGING_NAMESPACE])
        if args.get("push_to") is not None:
            secrets = self._create_push_credential(namespaces)
            before_metrics.append(secrets[MONITORING_NAMESPACE])
            before_logs.append(secrets[LOGGING_NAMESPACE])
        metrics, loki, collector = addons
        metrics_release = install_addon(
            f"{name}-metrics", metrics, cluster, self, depends_on=before_metrics
        )
        loki_release = install_addon(f"{name}-loki", loki, cluster, self, depends_on=before_loki)
        install_addon(
            f"{name}-logs",
            collector,
            cluster,
            self,
            depends_on=[loki_release, metrics_release, *before_logs],
        )
        self.metrics_release = metrics_release
        self._create_alert_rules(metrics_release)
        outputs: dict[str, Any] = {"addon_keys": self.addon_keys}
        if self.grafana_admin_password is not None:
            outputs["grafana_admin_password"] = self.grafana_admin_password
        if self.push_password is not None:
            outputs["push_password"] = self.push_password
        if self.receiver_address is not None:
            outputs["receiver_address"] = self.receiver_address
        self.register_outputs(outputs)

    def _k8s_opts(self, *, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        cluster = self._args["cluster"]
        return pulumi.ResourceOptions(
            parent=self,
            provider=cluster.k8s_provider,
            depends_on=[*cluster.depends_on, *depends_on],
        )

    def _random_provider(self) -> random.Provider:
        # Explicit provider: stacks disable default providers (`pulumi:disable-default-providers`).
        if self._random is None:
            self._random = random.Provider(
                f"{self._name}-random", opts=pulumi.ResourceOptions(parent=self)
            )
        return self._random

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

    def _create_network_policies(self, namespaces: Mapping[str, k8s.core.v1.Namespace]) -> None:
        create_network_policies(
            self._name,
            network_policies(self._args.get("receiver") is not None),
            self._k8s_opts(),
            namespaces={key: namespace.metadata.name for key, namespace in namespaces.items()},
        )

    def _create_grafana_secrets(self, namespace: k8s.core.v1.Namespace) -> list[pulumi.Resource]:
        password = random.RandomPassword(
            f"{self._name}-grafana-password",
            length=32,
            special=False,
            opts=pulumi.ResourceOptions(parent=self, provider=self._random_provider()),
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
        return [admin]

    def _create_push_credential(
        self, namespaces: Mapping[str, k8s.core.v1.Namespace]
    ) -> dict[str, k8s.core.v1.Secret]:
        cluster = self._args["cluster"].name
        rotation = self._args.get("credentials_rotation")
        password = random.RandomPassword(
            f"{self._name}-push-password",
            length=40,
            special=False,
            # A new value replaces the password (and so its hash in the central htpasswd).
            keepers={"rotation": rotation if rotation is not None else DEFAULT_ROTATION},
            opts=pulumi.ResourceOptions(parent=self, provider=self._random_provider()),
        )
        self.push_password = pulumi.Output.secret(password.result)
        self.push_credential = PushCredential(
            cluster=cluster, password_hash=pulumi.Output.secret(password.bcrypt_hash)
        )
        # One Secret per namespace: Prometheus reads remote-write credentials from its own
        # namespace, Fluent Bit's env from its own.
        return {
            namespace: k8s.core.v1.Secret(
                f"{self._name}-push-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=PUSH_SECRET, namespace=namespaces[namespace].metadata.name
                ),
                type="Opaque",
                string_data={"username": cluster, "password": self.push_password},
                opts=self._k8s_opts(),
            )
            for namespace in (MONITORING_NAMESPACE, LOGGING_NAMESPACE)
        }

    def _create_receiver(self, namespace: k8s.core.v1.Namespace) -> list[pulumi.Resource]:
        receiver = checked(self._args.get("receiver"), "receiver")
        peers = list(self._args.get("peers", ()))
        document = pulumi.Output.all(
            *[pulumi.Output.all(peer.cluster, peer.password_hash) for peer in peers]
        ).apply(lambda rows: htpasswd_document([(row[0], row[1]) for row in rows]))
        htpasswd = k8s.core.v1.Secret(
            f"{self._name}-receiver-htpasswd",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=HTPASSWD_SECRET, namespace=namespace.metadata.name
            ),
            type="Opaque",
            string_data={".htpasswd": pulumi.Output.secret(document)},
            opts=self._k8s_opts(),
        )
        # Split inside the secret: the bundle's content never leaves it.
        parts = pulumi.Output.secret(receiver.tls_bundle).apply(
            lambda bundle: split_tls_bundle(bundle, "receiver.tls_bundle")
        )
        tls = k8s.core.v1.Secret(
            f"{self._name}-receiver-tls",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=RECEIVER_TLS_SECRET, namespace=namespace.metadata.name
            ),
            type="kubernetes.io/tls",
            string_data={
                "tls.crt": pulumi.Output.secret(parts[0]),
                "tls.key": pulumi.Output.secret(parts[1]),
            },
            opts=self._k8s_opts(),
        )
        # A load balancer is a cloud resource: it depends on the cluster (and its node pools)
        # so a teardown deletes it before the network it lives in.
        service = k8s.core.v1.Service(
            f"{self._name}-receiver",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="tkestack-receiver",
                namespace=namespace.metadata.name,
                annotations=dict(receiver.load_balancer_annotations),
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="LoadBalancer",
                load_balancer_source_ranges=list(receiver.source_ranges),
                selector=dict(GATEWAY_SELECTOR),
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name="https", port=RECEIVER_PORT, target_port="http", protocol="TCP"
                    )
                ],
            ),
            opts=self._k8s_opts(),
        )
        self.receiver_address = service.status.apply(_address)
        return [htpasswd, tls]

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


def _address(status: Any) -> str:
    """The first address of a LoadBalancer Service's status (hostname or IP)."""
    if status is None:
        return "pending"
    if isinstance(status, dict):
        ingress = ((status.get("load_balancer") or {}).get("ingress")) or [{}]
        return ingress[0].get("hostname") or ingress[0].get("ip") or "pending"
    balancer = getattr(status, "load_balancer", None)
    ingress = getattr(balancer, "ingress", None) or []
    if not ingress:
        return "pending"
    return getattr(ingress[0], "hostname", None) or getattr(ingress[0], "ip", None) or "pending"
