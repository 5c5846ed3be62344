"""The GPU stack of a cluster with GPU pools: device plugins, sharing, GPU metrics.

Exactly one device plugin may advertise `nvidia.com/gpu` on a node (docs/charts.md, "One
device plugin per GPU node"), so each GPU pool is served by the one its sharing mode calls for:

- `exclusive` and `time-slicing` pools (drivers in the node image): the NVIDIA device plugin,
  one release per distinct sharing config, each selecting exactly its pools (node affinity on
  the pool label) with that config as its default: no node label is needed to pick a config;
- `hami` pools: HAMi (device plugin on nodes labelled `gpu=on`, which the pool profile sets,
  and its scheduler extender with the mutating webhook that routes GPU pods to it);
- `gpu.driver: operator`: the NVIDIA GPU operator installs drivers, toolkit, its own device
  plugin (with the pools' time-slicing config) and DCGM exporter.

DCGM exporter runs on every GPU pool with a ServiceMonitor, so Prometheus (from the
observability stack, a declared dependency) scrapes it and the GPU alert rules fire.
Per-tenant GPU quotas (`nvidia.com/gpu`, HAMi's `nvidia.com/gpumem`) are ResourceQuotas of
the tenancy components.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NotRequired, Required, TypedDict

import pulumi
import yaml

from .addon import AddonSpec, PodGroup, check_addons, install_addon, requests
from .catalog import ADDON_REQUIRES
from .contracts import HAMI_NODE_LABELS, ClusterInfo, NodePoolProfile
from .errors import raise_problems
from .network_policy import (
    METRICS_NAMESPACE,
    create_network_policies,
    ingress_policy,
    namespace_peer,
    tcp,
)

DEVICE_PLUGIN = "nvidia-device-plugin"
OPERATOR = "gpu-operator"
OPERATOR_CONFIG = "tkestack-device-plugin-config"
"""ConfigMap the GPU operator creates for its device plugin's sharing configs."""
HAMI = "hami"
DCGM = "dcgm-exporter"
KUBE_SCHEDULER_IMAGE = {"registry": "registry.k8s.io", "repository": "kube-scheduler"}
"""HAMi's default kube-scheduler image is an amd64-only mirror; the upstream image is
multi-arch (docs/charts.md §6). The tag is left to the chart: a `helm.v3.Release` renders
against the live cluster, so `.Capabilities.KubeVersion` is the API server's own version."""


class GpuStackArgs(TypedDict, total=False):
    """Arguments of `GpuStack`."""

    cluster: Required[ClusterInfo]
    """A cluster with at least one GPU pool."""
    driver: NotRequired[Literal["image", "operator"]]
    """`image`: drivers come with the node image; `operator`: the GPU operator installs them.
    Default `image`."""
    dcgm_exporter: NotRequired[bool]
    """Export GPU metrics with DCGM exporter and a ServiceMonitor. Default True."""
    installed_addons: NotRequired[Sequence[str]]
    """Add-ons other components install on the cluster (`kube-prometheus-stack` brings the
    ServiceMonitor CRD DCGM exporter needs)."""
    after: NotRequired[Sequence[pulumi.Resource]]
    """Resources the GPU add-ons are installed after (the observability stack, whose
    release brings the ServiceMonitor CRD)."""


def sharing_config_name(pool: NodePoolProfile) -> str:
    """Name of a pool's device plugin config: `exclusive` or `time-slicing-<replicas>`."""
    accelerator = pool.accelerator
    if accelerator is None or accelerator.sharing == "exclusive":
        return "exclusive"
    return f"time-slicing-{accelerator.replicas}"


def sharing_config(name: str) -> str:
    """The device plugin config file for `name` (README "Shared Access to GPUs")."""
    config: dict[str, Any] = {"version": "v1", "flags": {"migStrategy": "none"}}
    if name.startswith("time-slicing-"):
        replicas = int(name.removeprefix("time-slicing-"))
        config["sharing"] = {
            "timeSlicing": {
                # A pod asking for 2 replicas would get no more compute than 1: reject it.
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": "nvidia.com/gpu", "replicas": replicas}],
            }
        }
    return yaml.safe_dump(config, sort_keys=True)


def _pools_by_config(cluster: ClusterInfo) -> dict[str, list[str]]:
    """Non-HAMi GPU pools grouped by their device plugin config, both sorted."""
    groups: dict[str, list[str]] = {}
    for pool in cluster.gpu_pools:
        if pool.accelerator is not None and pool.accelerator.sharing == "hami":
            continue
        groups.setdefault(sharing_config_name(pool), []).append(pool.name)
    return {name: sorted(pools) for name, pools in sorted(groups.items())}


def _hami_pools(cluster: ClusterInfo) -> list[str]:
    return sorted(
        pool.name
        for pool in cluster.gpu_pools
        if pool.accelerator is not None and pool.accelerator.sharing == "hami"
    )


def device_plugin_addons(cluster: ClusterInfo) -> list[AddonSpec]:
    """One NVIDIA device plugin release per sharing config, each serving exactly its pools."""
    configs = _pools_by_config(cluster)
    addons = []
    for config, pools in configs.items():
        key = DEVICE_PLUGIN if len(configs) == 1 else f"{DEVICE_PLUGIN}-{config}"
        addons.append(
            AddonSpec(
                key=key,
                chart=DEVICE_PLUGIN,
                values={
                    "config": {"map": {config: sharing_config(config)}, "default": config},
                    # No NFD/GFD: pools are selected by our pool label, not by discovered PCI ids.
                    "gfd": {"enabled": False},
                    "nfd": {"enabled": False},
                    # `resources: {}` in deployments/helm/nvidia-device-plugin/values.yaml
                    # @v0.20.0 (read by templates/daemonset-device-plugin.yml).
                    "resources": requests("50m", "64Mi"),
                },
                pod_groups=(PodGroup("", role="gpu"),),
                gpu_pools=tuple(pools),
                conflicts=(OPERATOR,),
            )
        )
    return addons


def hami_addon(cluster: ClusterInfo) -> AddonSpec:
    """HAMi for the `hami` pools: device plugin on them, scheduler extender on CPU pools."""
    return AddonSpec(
        key=HAMI,
        chart=HAMI,
        values={
            "scheduler": {
                "kubeScheduler": {"image": dict(KUBE_SCHEDULER_IMAGE)},
                "service": {"type": "ClusterIP"},
            },
            # devicePlugin.resources and devicePlugin.monitor.resources are `{}` in
            # charts/hami/values.yaml @v2.10.0 (templates/device-plugin/daemonsetnvidia.yaml);
            # figures from the chart's commented example.
            "devicePlugin": {
                "service": {"type": "ClusterIP"},
                "resources": requests("100m", "100Mi"),
                "monitor": {"resources": requests("100m", "100Mi")},
            },
        },
        pod_groups=(
            PodGroup("scheduler", affinity_key=None),
            # The webhook certificate Jobs' certgen images are not known to be multi-arch.
            PodGroup("scheduler.patch", affinity_key=None, architectures=("amd64",)),
            PodGroup(
                "devicePlugin",
                role="gpu",
                # `nvidiaNodeSelector` since HAMi v2.8.0 (Project-HAMi/HAMi#1546); the old
                # `nvidianodeSelector` is ignored (charts/hami/templates/device-plugin/
                # daemonsetnvidia.yaml @v2.10.0 reads only the new key).
                node_selector_key="nvidiaNodeSelector",
                affinity_key=None,
                gpu_node_labels=dict(HAMI_NODE_LABELS),
            ),
        ),
        gpu_pools=tuple(_hami_pools(cluster)),
    )


DCGM_METRICS: tuple[tuple[str, str, str], ...] = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption (in mJ)."),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %)."),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_EXP_XID_ERRORS_COUNT", "counter", "reported XIDs during last window"),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "counter", "NVLink bandwidth counters of all lanes."),
    ("DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", "vGPU License status"),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Rows remapped (uncorrectable)"),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Rows remapped (correctable)"),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed"),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor pipe is active."),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", "Ratio of cycles device memory is active."),
    ("DCGM_FI_PROF_PCIE_TX_BYTES", "gauge", "PCIe transmit rate (bytes per second)."),
    ("DCGM_FI_PROF_PCIE_RX_BYTES", "gauge", "PCIe receive rate (bytes per second)."),
)
"""Metrics DCGM exporter emits (`customMetrics`, the chart's complete, not additive, list):
the chart's default list (deployment/templates/metrics-configmap.yaml, NVIDIA/dcgm-exporter
@d5e5f51) plus `DCGM_EXP_XID_ERRORS_COUNT`, the exporter's count of XIDs in its window
(`--xid-count-window-size`, default 5 minutes; commented out in etc/default-counters.csv).
The XID alert needs it: `DCGM_FI_DEV_XID_ERRORS` keeps the last XID forever."""


def dcgm_metrics_csv() -> str:
    """The `customMetrics` CSV of DCGM exporter (field, Prometheus type, help per line)."""
    return "".join(f"{field}, {kind}, {text}\n" for field, kind, text in DCGM_METRICS)


def dcgm_addon() -> AddonSpec:
    """DCGM exporter on every GPU pool, scraped through its ServiceMonitor."""
    return AddonSpec(
        key=DCGM,
        chart=DCGM,
        values={"serviceMonitor": {"enabled": True}, "customMetrics": dcgm_metrics_csv()},
        pod_groups=(PodGroup("", role="gpu"),),
        requires=ADDON_REQUIRES[DCGM],
        conflicts=(OPERATOR,),
    )


def operator_addon(cluster: ClusterInfo, dcgm: bool) -> tuple[AddonSpec, list[str]]:
    """The GPU operator (drivers, toolkit, device plugin, DCGM exporter) and its problems."""
    problems: list[str] = []
    configs = _pools_by_config(cluster)
    hami_pools = _hami_pools(cluster)
    if hami_pools and configs:
        problems.append(
            "driver: the GPU operator's device plugin would also claim the HAMi pools"
            f" {hami_pools}; use driver 'image', or HAMi on every GPU pool"
        )
    if len(configs) > 1:
        problems.append(
            f"driver: the GPU operator applies one sharing config to all its pools, these differ:"
            f" {', '.join(f'{name} {pools}' for name, pools in configs.items())}; use driver"
            " 'image' or one sharing mode"
        )
    device_plugin: dict[str, Any] = {"enabled": bool(configs)}
    if len(configs) == 1:
        (config,) = configs
        device_plugin["config"] = {
            "create": True,
            "name": OPERATOR_CONFIG,
            "default": config,
            "data": {config: sharing_config(config)},
        }
    # EKS GPU nodes run the AL2023 NVIDIA AMI (components/clouds/aws.py `ami_type`), which
    # ships the driver and the NVIDIA container toolkit; the operator's driver containers do
    # not support Amazon Linux 2023 (docs/charts.md, gpu-operator notes). On EKS the operator
    # therefore manages neither, and installs the rest (device plugin, DCGM exporter, GFD).
    node_image_has_driver = cluster.cloud == "aws"
    values = {
        "driver": {"enabled": not node_image_has_driver},
        "toolkit": {"enabled": not node_image_has_driver},
        "devicePlugin": device_plugin,
        "dcgmExporter": {"enabled": dcgm, "serviceMonitor": {"enabled": dcgm}},
        "nfd": {"enabled": True},
    }
    addon = AddonSpec(
        key=OPERATOR,
        chart=OPERATOR,
        values=values,
        pod_groups=(
            PodGroup("operator", node_selector_key=None),
            # Operand DaemonSets are placed by the operator from NFD's labels; we only set
            # what they tolerate.
            PodGroup("daemonsets", role="gpu", node_selector_key=None, affinity_key=None),
            PodGroup("node-feature-discovery.master"),
            PodGroup("node-feature-discovery.gc"),
            # NFD's worker labels every node (that is how GPU nodes are found): a node agent.
            PodGroup("node-feature-discovery.worker", role="node-agent"),
        ),
        requires=ADDON_REQUIRES[OPERATOR] if dcgm else (),
        conflicts=(DEVICE_PLUGIN, DCGM),
    )
    return addon, problems


def gpu_addons(args: GpuStackArgs) -> tuple[list[AddonSpec], list[str]]:
    """The Helm add-ons of the GPU stack of one cluster, and the problems of its args."""
    cluster = args["cluster"]
    dcgm = args.get("dcgm_exporter", True)
    problems: list[str] = []
    if not cluster.gpu_pools:
        problems.append(f"cluster: {cluster.name} has no GPU pool")
        return [], problems
    if args.get("driver", "image") == "operator":
        operator, operator_problems = operator_addon(cluster, dcgm)
        addons = [operator]
        problems.extend(operator_problems)
        if _hami_pools(cluster):
            addons.append(hami_addon(cluster))
        return addons, problems
    addons = device_plugin_addons(cluster)
    if _hami_pools(cluster):
        addons.append(hami_addon(cluster))
    if dcgm:
        addons.append(dcgm_addon())
    return addons, problems


DCGM_METRICS_PORT = 9400
"""DCGM exporter's metrics port: `service.port` 9400 in deployment/values.yaml, the Service's and
the container's port (deployment/templates/service.yaml, daemonset.yaml) of NVIDIA/dcgm-exporter
chart 4.8.2 (the stored copy nearest the 4.8.3 pin)."""

HAMI_SELECTOR = {"app.kubernetes.io/name": HAMI}
"""`hami-vgpu.selectorLabels` (charts/hami/templates/_helpers.tpl @v2.10.0: the chart name),
with `app.kubernetes.io/component` per workload: HAMi's pods in kube-system, which its
policies select and nothing else there."""

HAMI_WEBHOOK_PORT = 443
"""The scheduler extender's HTTPS port, which serves the mutating webhook the API server calls
(`--http_bind=0.0.0.0:443` with `scheduler.admissionWebhook.enabled: true`, the default;
templates/scheduler/deployment.yaml, webhook.yaml @v2.10.0). kube-scheduler calls the extender
in the same pod over 127.0.0.1 (templates/scheduler/configmap.yaml)."""

HAMI_SCHEDULER_METRICS_PORT = 9395
"""`scheduler.metricsBindAddress: ":9395"` (values.yaml @v2.10.0), the `metrics` container port."""

HAMI_MONITOR_PORT = 9394
"""The HAMi device plugin's vGPU monitor (`monitorport`, containerPort 9394;
templates/device-plugin/daemonsetnvidia.yaml, monitorservice.yaml @v2.10.0)."""


def gpu_network_policies(addons: Sequence[AddonSpec]) -> dict[str, dict[str, dict[str, Any]]]:
    """Ingress policies of the GPU add-ons' namespaces, by namespace and role. The API server
    calls HAMi's webhook from outside the pod network (control-plane addresses differ per
    cloud), so any source on that port only; Prometheus scrapes the metrics ports. The GPU
    operator's namespace is not covered (its pinned chart's templates were not read here)."""
    specs: dict[str, dict[str, dict[str, Any]]] = {}
    scrape = [namespace_peer(METRICS_NAMESPACE)]
    for addon in addons:
        namespace = addon.release_namespace
        if addon.chart == DEVICE_PLUGIN:
            # deployments/helm/nvidia-device-plugin/templates @v0.20.0 define no container
            # port and no Service (the plugin talks to the kubelet over a unix socket; GFD is
            # off): nothing may call its pods.
            specs.setdefault(namespace, {})["deny-ingress"] = ingress_policy(None)
        elif addon.chart == DCGM:
            specs.setdefault(namespace, {})["metrics"] = ingress_policy(
                None, [{"from": scrape, "ports": tcp(DCGM_METRICS_PORT)}]
            )
        elif addon.chart == HAMI:
            specs.setdefault(namespace, {}).update(
                {
                    "hami-scheduler": ingress_policy(
                        {**HAMI_SELECTOR, "app.kubernetes.io/component": "hami-scheduler"},
                        [
                            {"ports": tcp(HAMI_WEBHOOK_PORT)},
                            {"from": scrape, "ports": tcp(HAMI_SCHEDULER_METRICS_PORT)},
                        ],
                    ),
                    "hami-device-plugin": ingress_policy(
                        {**HAMI_SELECTOR, "app.kubernetes.io/component": "hami-device-plugin"},
                        [{"from": scrape, "ports": tcp(HAMI_MONITOR_PORT)}],
                    ),
                }
            )
    return specs


class GpuStack(pulumi.ComponentResource):
    """Device plugins with per-pool sharing, HAMi or the GPU operator, and DCGM exporter."""

    addon_keys: list[str]
    """Keys of the add-ons installed."""
    sharing: dict[str, str]
    """Sharing mode of every GPU pool (`exclusive`, `time-slicing-4`, `hami`), by pool."""

    def __init__(
        self, name: str, args: GpuStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        cluster = args["cluster"]
        addons, problems = gpu_addons(args)
        problems += check_addons(
            addons, cluster, "addons", also_installed=args.get("installed_addons", ())
        )
        # Every problem of the arguments, before the component or any child registers.
        raise_problems("GpuStack", name, problems)
        super().__init__("tkestack:index:GpuStack", name, None, opts)
        self.addon_keys = [addon.key for addon in addons]
        self.sharing = {
            pool.name: "hami"
            if pool.accelerator is not None and pool.accelerator.sharing == "hami"
            else sharing_config_name(pool)
            for pool in sorted(cluster.gpu_pools, key=lambda pool: pool.name)
        }
        releases: dict[str, list[pulumi.Resource]] = {}
        for addon in addons:
            # `after` holds what other components install for this one's `requires`
            # (the metrics release); add-ons that require nothing do not wait for it.
            release = install_addon(
                f"{name}-{addon.key}",
                addon,
                cluster,
                self,
                depends_on=args.get("after", ()) if addon.requires else (),
            )
            releases.setdefault(addon.release_namespace, []).append(release)
        # Helm creates these namespaces (kube-system exists): each policy waits for them.
        create_network_policies(
            name,
            gpu_network_policies(addons),
            pulumi.ResourceOptions(
                parent=self, provider=cluster.k8s_provider, depends_on=cluster.depends_on
            ),
            depends_on=releases,
        )
        self.register_outputs({"addon_keys": self.addon_keys, "sharing": self.sharing})
