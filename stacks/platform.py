"""Platform step of the composition: registry, observability and GPU stack per cluster.

From the environment spec to one `PlatformServices` per cluster:

- registries are regional: the first cluster of a cloud region owns the registry, later
  clusters of that region share its handle; images replicate to the environment's other
  regions of the same cloud when `registry.replicate` is set;
- retention and volumes follow the tier unless the spec sets them;
- one central Grafana per environment (`observability.central_cluster`, default the first
  cluster) reading only local data sources: every other cluster pushes its metrics and logs
  to the central receivers (`observability.receiver_hostname`, TLS, one credential per
  cluster), so the central cluster is composed last, once the others' credentials exist.
  The receivers are public unless `observability.receiver_exposure` is `internal` (a
  private path exists): then behind the cloud's internal load balancer (or the attached
  cluster's internal MetalLB pool), admitting the other clusters' VPC CIDRs;
- what holds metrics and logs (releases with volumes, their namespaces) is protected in prod;
- the GPU stack on every cluster with GPU pools, with each pool's sharing mode.

Every problem found (an add-on that fits on no pool, a spec option this distribution does not
offer) is collected with its key path and reported at once, before any platform resource is
registered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from ..components.contracts import ClusterInfo
from ..components.gpu_stack import GpuStackArgs
from ..components.observability import (
    ObservabilityArgs,
    PushCredential,
    PushTarget,
    ReceiverSettings,
    RetentionSettings,
)
from ..components.platform_services import PlatformServices, PlatformServicesArgs, platform_plan
from ..components.registry import RegistryArgs
from ..components.registry_namespace import RegistryHandle, RegistrySettings
from .clusters import SecretConfig
from .loader import tier_default
from .problems import format_path
from .spec import EnvironmentSpec

INTERNAL_LOAD_BALANCER: dict[str, str] = {
    "aws": "service.beta.kubernetes.io/aws-load-balancer-internal",
    "tencentcloud": "service.kubernetes.io/qcloud-loadbalancer-internal-subnetid",
}
"""Annotation that makes a LoadBalancer Service internal, per cloud (in-tree AWS cloud
provider; TKE takes the subnet the internal CLB is placed in)."""
METALLB_POOL_ANNOTATIONS: tuple[str, ...] = (
    "metallb.io/address-pool",
    "metallb.universe.tf/address-pool",
)
"""MetalLB's address-pool annotation on attached clusters: `metallb.io/` since MetalLB 0.14.9,
which still reads the older `metallb.universe.tf/` prefix, the only one before
(https://metallb.universe.tf/usage/): both, so any MetalLB version picks the internal pool."""
METALLB_ADDRESS_ANNOTATIONS: tuple[str, ...] = (
    "metallb.io/loadBalancerIPs",
    "metallb.universe.tf/loadBalancerIPs",
)
"""MetalLB's annotation asking for a given address, under both prefixes as above."""


@dataclass(frozen=True)
class ImportedPlatform:
    """What a cluster stack's platform reads from other cluster stacks (per-cluster topology)."""

    peers: Sequence[PushCredential] = ()
    """The peers' push credentials, for the central cluster's receivers."""
    registries: Mapping[tuple[str, str], RegistryHandle] = field(default_factory=dict)
    """Registries created by another stack, by `(cloud, region)`, for the clusters sharing them."""


@dataclass(frozen=True)
class ClusterNetwork:
    """The network of a cluster, where the platform needs it (TCR VPC attachment, TKE
    internal load balancers)."""

    vpc_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]


def _reported_networks(clusters: Mapping[str, ClusterInfo]) -> dict[str, ClusterNetwork]:
    """Networks the clusters report in their `ClusterInfo` (`vpc_id`, first node subnet)."""
    return {
        name: ClusterNetwork(vpc_id=info.vpc_id, subnet_id=info.node_subnet_ids[0])
        for name, info in clusters.items()
        if info.vpc_id is not None and info.node_subnet_ids
    }


def retention(env: EnvironmentSpec) -> RetentionSettings:
    """Retention and volume sizes: the spec's values over the tier's defaults."""
    spec = env.observability

    def value(key: str) -> Any:
        # The tier YAML is the one source of the defaults (a loaded spec carries them).
        given = getattr(spec, key)
        return given if given is not None else tier_default(env.tier, "observability", key)

    metrics_volume = value("metrics_volume_gib")
    return RetentionSettings(
        metrics_retention_days=value("metrics_retention_days"),
        logs_retention_days=value("logs_retention_days"),
        # Logs volumes follow metrics volumes: the spec has no separate key for them.
        metrics_volume_gib=metrics_volume,
        logs_volume_gib=metrics_volume,
    )


def registry_settings(env: EnvironmentSpec) -> RegistrySettings:
    """The spec's registry policy; stateful pieces are protected in prod."""
    spec = env.registry
    return RegistrySettings(
        immutable_tags=spec.immutable_tags,
        scan_on_push=spec.scan_on_push,
        untagged_expiry_days=spec.untagged_expiry_days,
        keep_last_images=spec.keep_last_images,
        protect=env.tier == "prod",
    )


def _central_cluster(env: EnvironmentSpec) -> str:
    central = env.observability.central_cluster
    return central if central is not None else env.clusters[0].name


def _receiver_source_ranges(env: EnvironmentSpec) -> list[str]:
    """CIDRs admitted to the central receivers: the spec's, else the whole internet when
    public, else the other clusters' VPC CIDRs (stacks/rules.py requires them)."""
    spec = env.observability
    if spec.receiver_source_ranges is not None:
        return [str(cidr) for cidr in spec.receiver_source_ranges]
    if spec.receiver_exposure == "public":
        return ["0.0.0.0/0"]
    central = _central_cluster(env)
    return sorted(
        str(cluster.network.vpc_cidr)
        for cluster in env.clusters
        if cluster.name != central and cluster.network.vpc_cidr is not None
    )


def _receiver(
    env: EnvironmentSpec,
    info: ClusterInfo,
    network: ClusterNetwork | None,
    secret_config: SecretConfig | None,
) -> ReceiverSettings | None:
    """The central receivers when the environment has peers and names them (stacks/rules.py
    requires the hostname and certificate then); None otherwise."""
    spec = env.observability
    if len(env.clusters) < 2 or spec.receiver_hostname is None:
        return None
    if spec.receiver_tls_secret is None or secret_config is None:
        return None
    annotations: dict[str, pulumi.Input[str]] = {}
    if spec.receiver_exposure == "internal":
        annotations = _internal_load_balancer(env, info, network)
    return ReceiverSettings(
        hostname=spec.receiver_hostname,
        tls_bundle=secret_config(spec.receiver_tls_secret),
        load_balancer_annotations=annotations,
        source_ranges=_receiver_source_ranges(env),
    )


def _internal_load_balancer(
    env: EnvironmentSpec, info: ClusterInfo, network: ClusterNetwork | None
) -> dict[str, pulumi.Input[str]]:
    """Annotations that keep a LoadBalancer Service of `info` internal; empty when the cluster
    gives no way to (the Observability component then refuses to expose)."""
    annotation = INTERNAL_LOAD_BALANCER.get(info.cloud)
    if info.cloud == "aws" and annotation is not None:
        return {annotation: "true"}
    if info.cloud == "tencentcloud" and annotation is not None and network is not None:
        return {annotation: network.subnet_id}
    if info.cloud == "attached":
        attached = env.cluster(info.name).attached
        pool = attached.internal_address_pool if attached is not None else None
        if pool is not None:
            return {key: pool for key in METALLB_POOL_ANNOTATIONS}
    return {}


def _registry_key(info: ClusterInfo) -> tuple[str, str]:
    """Clusters with the same key share a registry: a cloud region; Harbor is per cluster."""
    if info.cloud == "attached" or info.region is None:
        return (info.cloud, info.name)
    return (info.cloud, info.region)


def _replication_regions(env: EnvironmentSpec, cloud: str) -> list[str]:
    if not env.registry.replicate:
        return []
    return sorted({c.region for c in env.clusters if c.cloud == cloud and c.region is not None})


def services_args(
    env: EnvironmentSpec,
    info: ClusterInfo,
    network: ClusterNetwork | None,
    owners: Mapping[tuple[str, str], PlatformServices],
    peers: list[Any],
    secret_config: SecretConfig | None,
) -> PlatformServicesArgs:
    """The `PlatformServices` arguments of one cluster (`secret_config` reads the secret
    stack config keys the spec names: an attached cluster's Harbor certificate)."""
    central = info.name == _central_cluster(env)
    args = PlatformServicesArgs(cluster=info)
    if env.registry.enabled:
        registry = RegistryArgs(
            cluster=info,
            settings=registry_settings(env),
            replication_regions=_replication_regions(env, info.cloud),
            tencent_edition=env.registry.tencent_edition,
            harbor_storage_gib=env.registry.harbor_storage_gib,
            tags=dict(env.tags),
        )
        if info.cloud == "tencentcloud" and info.region is not None:
            registry["tcr_instance_name"] = env.tcr_instance_name(info.region)
        if info.cloud == "aws":
            registry["account_id"] = env.identity.aws_account()
            registry["pull_through_caches"] = list(env.registry.pull_through_caches)
        if network is not None:
            registry["vpc_id"] = network.vpc_id
            registry["subnet_id"] = network.subnet_id
        attached = env.cluster(info.name).attached if info.cloud == "attached" else None
        if attached is not None:
            # stacks/rules.py requires all three while the registry is enabled.
            if attached.registry_hostname is not None:
                registry["harbor_hostname"] = attached.registry_hostname
            if attached.registry_tls_secret is not None and secret_config is not None:
                registry["harbor_tls_bundle"] = secret_config(attached.registry_tls_secret)
            annotations = _internal_load_balancer(env, info, network)
            if attached.registry_address is not None:
                address = str(attached.registry_address)
                annotations.update({key: address for key in METALLB_ADDRESS_ANNOTATIONS})
            registry["harbor_load_balancer_annotations"] = annotations
        owner = owners.get(_registry_key(info))
        if owner is not None and owner.registry is not None:
            registry["shared"] = owner.registry.handle
        args["registry"] = registry
    else:
        args["registry"] = None
    if env.observability.enabled:
        observability = ObservabilityArgs(
            cluster=info, retention=retention(env), central=central, protect=env.tier == "prod"
        )
        hostname = env.observability.receiver_hostname
        if central:
            receiver = _receiver(env, info, network, secret_config)
            if receiver is not None:
                observability["receiver"] = receiver
                observability["peers"] = peers
                observability["credentials_rotation"] = env.observability.credentials_rotation
        elif hostname is not None:
            observability["push_to"] = PushTarget(hostname=hostname)
            observability["credentials_rotation"] = env.observability.credentials_rotation
        args["observability"] = observability
    else:
        args["observability"] = None
    args["gpu"] = (
        GpuStackArgs(cluster=info, driver=env.gpu.driver, dcgm_exporter=env.gpu.dcgm_exporter)
        if info.gpu_pools
        else None
    )
    return args


def build_platform(
    env: EnvironmentSpec,
    clusters: Mapping[str, ClusterInfo],
    networks: Mapping[str, ClusterNetwork] | None = None,
    secret_config: SecretConfig | None = None,
    imported: ImportedPlatform | None = None,
) -> dict[str, PlatformServices]:
    """Register the platform services of every cluster; returns them by cluster name.

    `clusters` holds every cluster's `ClusterInfo` by name; `networks` the VPC of clusters
    whose platform needs it (Tencent Cloud); `secret_config` reads secret stack config keys
    (attached clusters' Harbor certificates: without it their registries are refused).
    Only the clusters in `clusters` get platform services (a cluster stack of a per-cluster
    topology holds one); `imported` brings what other cluster stacks made (peers' push
    credentials, registries shared from another stack) through stack references.
    Raises `pulumi.RunError` listing every problem, each with its path, before any platform
    resource is registered.
    """
    networks = {**_reported_networks(clusters), **(networks or {})}
    problems: list[str] = []
    central = _central_cluster(env)
    ordered = [
        item
        for item in sorted(enumerate(env.clusters), key=lambda i: (i[1].name == central, i[0]))
        if item[1].name in clusters
    ]
    # Dry run of the plan of every cluster: catch every problem before registering anything.
    for index, spec in ordered:
        at = format_path(("clusters", index))
        info = clusters[spec.name]
        args = services_args(env, info, networks.get(spec.name), {}, [], secret_config)
        _, found = platform_plan(args, f"{at}.platform")
        problems += found
    if problems:
        raise pulumi.RunError(
            "platform services cannot be installed as declared:\n"
            + "\n".join(f"  {problem}" for problem in sorted(set(problems)))
        )
    services: dict[str, PlatformServices] = {}
    owners: dict[tuple[str, str], PlatformServices] = {}
    peers: list[Any] = list(imported.peers) if imported is not None else []
    shared = dict(imported.registries) if imported is not None else {}
    for _, spec in ordered:
        info = clusters[spec.name]
        if spec.cloud == "tencentcloud" and env.registry.enabled and spec.name not in networks:
            pulumi.log.warn(
                f"cluster {spec.name} reports no VPC: its TCR registry is not VPC-attached, so"
                " nodes cannot pull from it privately until the cluster reports vpc_id"
            )
        args = services_args(env, info, networks.get(spec.name), owners, peers, secret_config)
        handle = shared.get(_registry_key(info))
        registry_args = args.get("registry")
        if handle is not None and registry_args is not None and _registry_key(info) not in owners:
            registry_args["shared"] = handle
        try:
            created = PlatformServices(spec.name, args)
        except ValueError as error:  # the dry run above guards; no traceback
            raise pulumi.RunError(str(error)) from None
        services[spec.name] = created
        owners.setdefault(_registry_key(info), created)
        if created.observability is not None and created.observability.push_credential:
            peers.append(created.observability.push_credential)
    return {name: services[name] for name in sorted(services)}


def platform_outputs(services: Mapping[str, PlatformServices]) -> dict[str, Any]:
    """Stack outputs per cluster: add-ons, registry host, GPU sharing, Grafana password, the
    receivers' load balancer address (for the DNS record of `receiver_hostname`)."""
    outputs: dict[str, Any] = {}
    for name, service in services.items():
        entry: dict[str, Any] = {"addons": service.addon_keys}
        if service.registry is not None:
            entry["registry"] = service.registry.endpoint
        if service.gpu_stack is not None:
            entry["gpu_sharing"] = service.gpu_stack.sharing
        observability = service.observability
        if observability is not None and observability.grafana_admin_password is not None:
            entry["grafana_admin_password"] = observability.grafana_admin_password
        if observability is not None and observability.receiver_address is not None:
            entry["receiver_address"] = observability.receiver_address
        outputs[name] = entry
    return outputs
