"""Clusters of an environment: one `Cluster` component (with its `NodePool`s) per cluster spec.

This is where the spec's intent becomes component arguments: tier-dependent hardening (protect,
deletion protection, one NAT per zone in prod), log retention, the GPU driver source, the
explicit provider of each cluster's region, and an attached cluster's kubeconfig read from
secret stack config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi

from ..components.clouds.access import DeployerAccess
from ..components.cluster import AttachedArgs, Cluster, ClusterArgs
from ..components.contracts import ClusterInfo, Taint
from ..components.node_pool import PoolSpec
from ..components.ownership import CLUSTER_LABEL
from .loader import tier_default
from .providers import CloudProviders
from .rules import tke_pod_cidr
from .rules_access import api_paths, private_cidrs, public_cidrs
from .spec import ClusterSpec, EnvironmentSpec, NodePoolConfig

SecretConfig = Callable[[str], pulumi.Input[str]]
"""Reads a secret stack config value by key: `pulumi.Config().require_secret` in the program,
a plain stand-in in the plan (stacks/plan.py), which registers nothing."""


def pool_spec(pool: NodePoolConfig) -> PoolSpec:
    """A node pool spec as `NodePool` arguments."""
    accelerator = pool.accelerator
    spec: PoolSpec = {
        "name": pool.name,
        "instance_types": list(pool.instance_types),
        "architecture": pool.architecture,
        "spot": pool.spot,
        "min_size": pool.min_size,
        "max_size": pool.max_size,
        "desired_size": pool.desired_size,
        "autoscaler_owns_desired_size": pool.autoscaler_owns_desired_size,
        "disk_size_gib": pool.disk_size_gib,
        "kubernetes_version": pool.kubernetes_version,
        "labels": dict(pool.labels),
        "taints": [Taint(taint.key, taint.value, taint.effect) for taint in pool.taints],
    }
    if pool.node_image is not None:
        spec["node_image"] = pool.node_image
    if pool.gpu_driver is not None:
        spec["gpu_driver"] = pool.gpu_driver.model_dump()
    if accelerator is not None:
        spec.update(
            accelerator_model=accelerator.model,
            accelerator_count=accelerator.count,
            sharing=accelerator.sharing,
            replicas=accelerator.replicas,
        )
    return spec


def cluster_args(
    env: EnvironmentSpec,
    cluster: ClusterSpec,
    providers: CloudProviders,
    secret_config: SecretConfig,
) -> ClusterArgs:
    """A cluster spec as `Cluster` arguments (hardened by tier)."""
    prod = env.tier == "prod"
    network = cluster.network
    pod_cidr = tke_pod_cidr(network) if cluster.cloud == "tencentcloud" else network.pod_cidr
    args: ClusterArgs = {
        "cloud": cluster.cloud,
        "kubernetes_version": cluster.kubernetes_version,
        "region": cluster.region,
        "vpc_cidr": str(network.vpc_cidr) if network.vpc_cidr is not None else None,
        "service_cidr": str(network.service_cidr) if network.service_cidr is not None else None,
        "max_services": network.max_services,
        "pod_cidr": str(pod_cidr) if pod_cidr is not None else None,
        "endpoint_exposure": cluster.endpoint.exposure,
        "public_access_cidrs": public_allowlist(env, cluster),
        "arm_opt_in_taint": cluster.arm_opt_in_taint,
        "node_pools": [pool_spec(pool) for pool in cluster.node_pools],
        "tags": {
            **env.tags,
            "tkestack.io/environment": env.name,
            CLUSTER_LABEL: cluster.name,
        },
        "protect": prod,
        "deletion_protection": prod,
        "high_availability_nat": prod,
        "log_retention_days": (
            env.observability.logs_retention_days
            if env.observability.logs_retention_days is not None
            else tier_default(env.tier, "observability", "logs_retention_days")
        ),
        "install_gpu_driver": env.gpu.driver == "image",
    }
    if cluster.cloud == "attached":
        attached = cluster.attached
        if attached is None:  # the spec rules reject this before composition
            raise ValueError(f"cluster {cluster.name}: attached.kubeconfig_secret is required")
        reach: AttachedArgs = {
            "kubeconfig": secret_config(attached.kubeconfig_secret),
            "context": attached.context,
            "oidc_issuer": attached.oidc_issuer,
        }
        args["attached"] = reach
    elif cluster.region is not None:
        args["cloud_provider"] = providers.for_region(cluster.cloud, cluster.region)
    access = deployer_access(env, cluster)
    if access is not None:
        args["deployer_access"] = access
    if cluster.cloud == "aws":
        args["deployer_role_arn"] = deployer_role_arn(env)
        if network.availability_zone_ids is not None:
            args["availability_zone_ids"] = list(network.availability_zone_ids)
        # The kubeconfig's `aws eks get-token` must run as the same profile as the provider.
        if providers.credentials.aws_profile:
            args["aws_profile"] = providers.credentials.aws_profile
    return args


def public_allowlist(env: EnvironmentSpec, cluster: ClusterSpec) -> list[str]:
    """Internet CIDRs of a public endpoint: the spec's own plus the deployer's public ones
    (so the run that creates the cluster reaches it); empty for a private endpoint."""
    if cluster.endpoint.exposure == "private":
        return []
    cidrs = [*cluster.endpoint.public_access_cidrs, *public_cidrs(env.deployer)]
    return [str(cidr) for cidr in dict.fromkeys(cidrs)]


def deployer_access(env: EnvironmentSpec, cluster: ClusterSpec) -> DeployerAccess | None:
    """The hub and private CIDRs that reach `cluster`'s API endpoint (`deployer`), if any."""
    hub = env.deployer.hub
    if cluster.cloud not in ("aws", "tencentcloud") or hub is None or cluster.region is None:
        return None
    cidrs = [str(cidr) for cidr in private_cidrs(env.deployer)]
    if cluster.cloud == "aws" and cluster.region in hub.aws_transit_gateways:
        return {
            "private_cidrs": cidrs,
            "aws_transit_gateway_id": hub.aws_transit_gateways[cluster.region],
        }
    if cluster.cloud == "tencentcloud" and hub.tencent_ccn_id is not None:
        return {"private_cidrs": cidrs, "tencent_ccn_id": hub.tencent_ccn_id}
    return None


ATTACHED_REACH = "the kubeconfig's server (not declared: `tkestack preflight` checks it)"
"""How the deployer reaches an attached cluster: its kubeconfig, whose network is not ours."""


def deployer_outputs(env: EnvironmentSpec) -> dict[str, Any]:
    """Where deployments run from and which path reaches which API endpoint (the `deployer`
    stack output, which `tkestack review` and `tkestack graph` show)."""
    hub = env.deployer.hub
    reach: dict[str, Any] = {}
    for cluster in env.clusters:
        routes: list[dict[str, Any]] = []
        if cluster.cloud == "attached":
            paths = [ATTACHED_REACH]
            routes.append({"via": "kubeconfig"})
        else:
            exposure = cluster.endpoint.exposure
            paths = api_paths(env.deployer, cluster.cloud, cluster.region, exposure)
            access = deployer_access(env, cluster)
            public = [str(cidr) for cidr in public_cidrs(env.deployer)]
            if exposure != "private" and public:
                routes.append({"via": "public", "cidrs": public})
            private = access.get("private_cidrs") if access is not None else None
            if access is not None and private:
                gateway = access.get("aws_transit_gateway_id")
                routes.append(
                    {
                        "via": "transit-gateway" if gateway else "ccn",
                        "hub": gateway or access.get("tencent_ccn_id"),
                        "cidrs": list(private),
                    }
                )
        reach[cluster.name] = {
            "exposure": cluster.endpoint.exposure,
            "paths": paths,
            "routes": routes,
        }
    return {
        "cidrs": [str(cidr) for cidr in env.deployer.cidrs],
        "hub": hub.model_dump(mode="json", exclude_none=True) if hub is not None else None,
        "reach": reach,
    }


def deployer_role_arn(env: EnvironmentSpec) -> str:
    """ARN of the role Pulumi acts as inside EKS clusters (`identity.deployer_role`)."""
    identity = env.identity
    return f"arn:aws:iam::{identity.aws_account()}:role/{identity.deployer_role}"


def build_clusters(
    env: EnvironmentSpec, providers: CloudProviders, secret_config: SecretConfig
) -> dict[str, ClusterInfo]:
    """Create every cluster of `env` with its node pools; their `ClusterInfo` by name."""
    clusters: dict[str, ClusterInfo] = {}
    for cluster in env.clusters:
        component = Cluster(cluster.name, cluster_args(env, cluster, providers, secret_config))
        clusters[cluster.name] = component.info
    return clusters


def cluster_outputs(clusters: Mapping[str, ClusterInfo]) -> dict[str, Any]:
    """Stack outputs per cluster, for consumers through stack references (kubeconfig secret)."""
    outputs: dict[str, Any] = {}
    for name, info in clusters.items():
        outputs[name] = {
            "cloud": info.cloud,
            "region": info.region,
            "kubernetes_version": info.kubernetes_version,
            "endpoint": info.endpoint,
            "oidc_issuer": info.oidc_issuer,
            "kubeconfig": pulumi.Output.secret(info.kubeconfig),
            "node_pools": {
                pool.name: {
                    "architecture": pool.architecture,
                    "instance_types": list(pool.instance_types),
                    "accelerator": (
                        pool.accelerator.label if pool.accelerator is not None else None
                    ),
                    "sharing": pool.accelerator.sharing if pool.accelerator is not None else None,
                    "spot": pool.spot,
                    "min_size": pool.min_size,
                    "max_size": pool.max_size,
                }
                for pool in info.node_pools
            },
        }
    return outputs
