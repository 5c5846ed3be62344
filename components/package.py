"""The components as a Pulumi package, for TypeScript, Go, C#, Java and YAML programs.

`components/__main__.py` hosts the three classes of this module (`Cluster`, `PlatformServices`,
`Tenant`) with the Pulumi SDK's component provider host, which infers the package schema from
their type annotations and docstrings (`pulumi.provider.experimental`); other languages get
them with `pulumi package add`. The generated schema is kept in `tests/golden/schema.json`.

Each class is a thin facade over the Python component of the same name: it turns plain,
serializable inputs into that component's arguments and creates it as its only child, so every
resource is built by the one implementation the Python API uses. What cannot cross a language
boundary stays in Python:

- providers are not inputs: the cloud provider comes from the resource options
  (`providers: [...]` in YAML, `{ providers: [...] }` in TypeScript), as for any component;
- a cluster is handed to `PlatformServices` and `Tenant` as a `ClusterReference` (its kubeconfig
  and a description of its node pools) instead of a `ClusterInfo` with live provider objects;
- node pools are declared on the `Cluster` (`nodePools`), also for a cluster that exists
  already (`existingCluster`): a pool needs its cluster's backend, which lives in-process.

A package user's URNs therefore read `tkestack:index:Tenant$tkestack:index:Tenant::<name>`
(the facade, then the component it creates); the Python API's URNs are unchanged.

This module must not use `from __future__ import annotations`: the schema analyzer reads the
annotations as live types.
"""

import enum
import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, NotRequired, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from pulumi.provider.experimental.component import ComponentProvider

from . import cluster as clusters
from . import platform_services as platform
from . import tenant as tenancy
from .clouds.attached import server_of
from .existing import ExistingNetwork, ExistingRoles
from .gpu_stack import GpuStackArgs
from .node_pool import PoolSpec, pool_profile
from .observability import (
    ObservabilityArgs,
    PushCredential,
    PushTarget,
    ReceiverSettings,
    RetentionSettings,
)
from .profile import ClusterInfo
from .profile import Taint as TaintValue
from .registry import RegistryArgs
from .registry_namespace import RegistrySettings

PACKAGE_NAME = "tkestack"
"""Package name: the first part of every type token (`tkestack:index:Cluster`)."""


def type_token(component: type) -> str:
    """`tkestack:index:<Class>`: the token the component provider host gives a class, and the
    one the Python component of the same name registers with."""
    return f"{PACKAGE_NAME}:index:{component.__name__}"


def package_version() -> str:
    """The version of the installed distribution, which is the package's version."""
    return importlib.metadata.version(PACKAGE_NAME)


# -- enumerations ------------------------------------------------------------------------------


class Cloud(enum.StrEnum):
    """Where a cluster runs."""

    AWS = "aws"
    """Amazon EKS."""
    TENCENTCLOUD = "tencentcloud"
    """Tencent Kubernetes Engine (TKE)."""
    ATTACHED = "attached"
    """An existing cluster reached by its kubeconfig, whose lifecycle is not ours."""


class EndpointExposure(enum.StrEnum):
    """Who reaches a managed cluster's API server."""

    PRIVATE = "private"
    """Only from inside the VPC."""
    PUBLIC = "public"
    """Also from the internet (`publicAccessCidrs`)."""
    PUBLIC_AND_PRIVATE = "public-and-private"
    """From the VPC and from the internet (`publicAccessCidrs`)."""


class Architecture(enum.StrEnum):
    """CPU architecture of a node pool."""

    X86_64 = "x86_64"
    """x86-64 (amd64)."""
    ARM64 = "arm64"
    """64-bit ARM (Graviton, Yitian)."""


class GpuSharing(enum.StrEnum):
    """How pods share a pool's GPUs."""

    EXCLUSIVE = "exclusive"
    """One pod per GPU."""
    TIME_SLICING = "time-slicing"
    """NVIDIA device plugin time-slicing (`replicas` virtual GPUs per GPU)."""
    HAMI = "hami"
    """HAMi: GPU memory and compute shares per pod."""


class TaintEffect(enum.StrEnum):
    """Effect of a node taint."""

    NO_SCHEDULE = "NoSchedule"
    """Pods without a toleration are not scheduled on the node."""
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    """The scheduler avoids the node for pods without a toleration."""
    NO_EXECUTE = "NoExecute"
    """Pods without a toleration are evicted from the node."""


class PodSecurityLevel(enum.StrEnum):
    """Pod Security Standard enforced in a tenant's namespaces."""

    RESTRICTED = "restricted"
    """The hardened profile (default)."""
    BASELINE = "baseline"
    """The minimally restrictive profile; needs `podSecurityReason`."""


class GpuDriver(enum.StrEnum):
    """Where GPU nodes get their NVIDIA driver."""

    IMAGE = "image"
    """From the node image (EKS NVIDIA AMI, TKE driver install)."""
    OPERATOR = "operator"
    """From the NVIDIA GPU operator."""


class TcrEdition(enum.StrEnum):
    """Tencent Container Registry edition."""

    BASIC = "basic"
    """Basic edition."""
    STANDARD = "standard"
    """Standard edition (default)."""
    PREMIUM = "premium"
    """Premium edition: required for replication to other regions."""


# -- shared input types ------------------------------------------------------------------------


class Taint(TypedDict):
    """A node taint."""

    key: str
    """Taint key."""
    value: str
    """Taint value."""
    effect: TaintEffect
    """Taint effect."""


class NodePoolSpec(TypedDict):
    """What a pool is, independent of the cluster it joins."""

    name: str
    """Pool name, unique in its cluster (a DNS label); the `tkestack.io/node-pool` label."""
    instance_types: Sequence[str]
    """Cloud instance types, all of one architecture (and one GPU model for GPU pools).
    More than one type only helps spot pools find capacity."""
    architecture: NotRequired[Architecture]
    """Statement of intent; derived from the instance types and checked against them.
    Required on attached clusters, whose hardware is not in the catalog."""
    accelerator_model: NotRequired[str]
    """GPU model of every node (`t4`, `a10g`, `l4`...); None for CPU pools."""
    accelerator_count: NotRequired[int]
    """GPUs per node; default: derived from the instance types."""
    sharing: NotRequired[GpuSharing]
    """How pods share a GPU. Default `exclusive`."""
    replicas: NotRequired[int]
    """Virtual GPUs per GPU with time-slicing (default 4 there)."""
    spot: NotRequired[bool]
    """Spot/preemptible capacity. Default false."""
    min_size: NotRequired[int]
    """Fewest nodes. Default 1."""
    max_size: NotRequired[int]
    """Most nodes. Default 3."""
    desired_size: NotRequired[int]
    """Initial node count. Default: `min_size`."""
    autoscaler_owns_desired_size: NotRequired[bool]
    """When true (default), the cluster autoscaler owns the node count: Pulumi ignores drift of
    the desired size instead of resetting it on every `pulumi up`."""
    disk_size_gib: NotRequired[int]
    """Encrypted node disk size in GiB. Default 100."""
    kubernetes_version: NotRequired[str]
    """Kubelet minor version during an upgrade (EKS only); default: the cluster's. At most one
    minor behind the control plane, never ahead."""
    labels: NotRequired[Mapping[str, str]]
    """Extra node labels, merged over the derived ones."""
    taints: NotRequired[Sequence[Taint]]
    """Extra taints, added to the derived ones."""
    node_image: NotRequired[str]
    """Tencent Cloud: the nodes' OS, a TKE public image name (`tlinux3.1x86_64`) or an image
    id (`img-xxxxxxxx`) that `tccli tke DescribeOSImages` lists. Required on ARM pools: TKE's
    ARM image name is unverified here, so tkestack does not guess it. Default on x86 pools:
    `tlinux3.1x86_64`. Not allowed on other clouds."""
    gpu_driver: NotRequired[Mapping[str, str]]
    """Tencent Cloud GPU pools whose driver TKE installs (`install_gpu_driver`): the NVIDIA
    driver and CUDA packages, keys `driver_name`, `driver_version`, `cuda_name`,
    `cuda_version`, as TKE's node pool form lists them for the pool's image and GPU model
    (e.g. `NVIDIA-Linux-x86_64-470.182.03.run` / `470.182.03`). The provider does not check
    them (unverified here), so tkestack asks rather than guesses. Required there; not allowed
    elsewhere."""


class ClusterReference(TypedDict):
    """A cluster to install into, described by plain values: one made by the `Cluster`
    component (its outputs), an enterprise's own, or any cluster reachable by kubeconfig."""

    name: str
    """Cluster name: in child resource names, metrics labels, Grafana data sources and cloud
    role names."""
    cloud: Cloud
    """Where the cluster runs; `aws` and `tencentcloud` enable cloud identity and registries,
    whose cloud provider is taken from the resource options."""
    kubernetes_version: str
    """Control-plane minor version (`1.33`): pins the Pod Security admission version."""
    kubeconfig: pulumi.Input[str]
    """Kubeconfig of the cluster; wrapped as a secret. Everything inside is installed through
    an explicit Kubernetes provider built from it."""
    context: NotRequired[str]
    """Kubeconfig context to use; default: the kubeconfig's current context."""
    region: NotRequired[str]
    """Cloud region (managed clusters)."""
    node_pools: NotRequired[Sequence[NodePoolSpec]]
    """The cluster's node pools as they are: add-ons are placed by their architecture, labels,
    taints and GPUs."""
    arm_opt_in_taint: NotRequired[bool]
    """Whether ARM pools carry `kubernetes.io/arch=arm64:NoSchedule`. Default false."""
    oidc_issuer: NotRequired[pulumi.Input[str]]
    """Service-account issuer URL, where the cluster has one (EKS, TKE)."""
    cloud_cluster_id: NotRequired[pulumi.Input[str]]
    """The cloud's handle of the cluster: EKS cluster name or TKE cluster id (workload
    identity needs it)."""
    vpc_id: NotRequired[pulumi.Input[str]]
    """The cluster's VPC (managed clusters)."""
    node_subnet_ids: NotRequired[Sequence[pulumi.Input[str]]]
    """Subnets of the cluster's nodes (managed clusters)."""


def _plain(value: Any) -> Any:
    """`value` with enumeration members replaced by their values, recursively: the Python
    components compare and render plain strings."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def pool_spec(spec: NodePoolSpec) -> PoolSpec:
    """A package node pool as the Python `PoolSpec`."""
    pool: dict[str, Any] = _plain({key: value for key, value in spec.items() if key != "taints"})
    pool["taints"] = [
        TaintValue(taint["key"], taint["value"], _plain(taint["effect"]))
        for taint in spec.get("taints") or ()
    ]
    # Why the ignore below: `pool` is built key by key from the package's wire dict; the keys are
    # NodePoolArgs' own (tests/golden/schema.json pins them).
    return pool  # type: ignore[return-value]


def _provider_of(
    opts: pulumi.ResourceOptions | None, package: str
) -> pulumi.ProviderResource | None:
    """The provider of `package` among the resource options' providers, if one was given."""
    if opts is None:
        return None
    providers = opts.providers
    candidates: list[pulumi.ProviderResource] = []
    if isinstance(providers, Mapping):
        candidates = [provider for key, provider in providers.items() if key == package]
    elif providers:
        candidates = [provider for provider in providers if provider.package == package]
    if opts.provider is not None and getattr(opts.provider, "package", None) == package:
        candidates.append(opts.provider)
    return candidates[0] if candidates else None


def cluster_info(
    parent: pulumi.ComponentResource,
    name: str,
    reference: ClusterReference,
    opts: pulumi.ResourceOptions | None,
) -> ClusterInfo:
    """The `ClusterInfo` of a referenced cluster, with a Kubernetes provider `<name>-k8s` (a
    child of `parent`) over its kubeconfig and the cloud provider from the resource options."""
    cloud = _plain(reference["cloud"])
    context = reference.get("context")
    kubeconfig = pulumi.Output.secret(reference["kubeconfig"])
    provider = k8s.Provider(
        f"{name}-k8s",
        kubeconfig=kubeconfig,
        context=context,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    arm_taint = bool(reference.get("arm_opt_in_taint", False))
    issuer = reference.get("oidc_issuer")
    cluster_id = reference.get("cloud_cluster_id")
    vpc_id = reference.get("vpc_id")
    return ClusterInfo(
        name=reference["name"],
        cloud=cloud,
        region=reference.get("region"),
        kubernetes_version=reference["kubernetes_version"],
        endpoint=pulumi.Output.unsecret(kubeconfig.apply(lambda text: server_of(text, context))),
        kubeconfig=kubeconfig,
        k8s_provider=provider,
        oidc_issuer=pulumi.Output.from_input(issuer) if issuer is not None else None,
        node_pools=[
            pool_profile(cloud, pool_spec(pool), arm_taint)
            for pool in reference.get("node_pools") or ()
        ],
        cloud_provider=_provider_of(opts, cloud) if cloud != "attached" else None,
        cloud_cluster_id=pulumi.Output.from_input(cluster_id) if cluster_id is not None else None,
        vpc_id=pulumi.Output.from_input(vpc_id) if vpc_id is not None else None,
        node_subnet_ids=[
            pulumi.Output.from_input(subnet) for subnet in reference.get("node_subnet_ids") or ()
        ],
    )


def _required_provider(
    opts: pulumi.ResourceOptions | None, cloud: str, what: str
) -> pulumi.ProviderResource:
    """The `cloud` provider from the resource options, or an error saying where it goes."""
    provider = _provider_of(opts, cloud)
    if provider is None:
        raise ValueError(
            f"{what}: pass the {cloud} provider of the cluster's region in the resource options"
            f" (YAML `options: providers: [...]`); providers are never inputs"
        )
    return provider


def _child(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent)


# -- Cluster -----------------------------------------------------------------------------------


class AttachedCluster(TypedDict):
    """How to reach an existing cluster whose lifecycle is not ours."""

    kubeconfig: pulumi.Input[str]
    """Its kubeconfig (from secret stack config); wrapped as a secret by the component."""
    context: NotRequired[str]
    """Kubeconfig context to use; default: the kubeconfig's current context."""
    oidc_issuer: NotRequired[str]
    """The cluster's service-account issuer URL, when its API server has a public one."""


class ClusterInputs(TypedDict, total=False):
    """Inputs of the package's `Cluster`: the Python `ClusterArgs` without `cloud_provider`
    (the provider of the cluster's cloud comes from the resource options)."""

    cloud: Required[Cloud]
    """`aws` (EKS), `tencentcloud` (TKE) or `attached` (existing cluster by kubeconfig)."""
    kubernetes_version: Required[str]
    """Control-plane minor version (`1.33`) within the cloud's supported window (catalog)."""
    region: str
    """Cloud region (managed); for attached clusters a free-form location label or None."""
    vpc_cidr: str
    """CIDR of the VPC we create, /16 to /24 (managed)."""
    service_cidr: str
    """EKS: Kubernetes service CIDR; default: the cloud's (172.20.0.0/16 or 10.100.0.0/16).
    Refused on TKE, whose global-router network takes services from `pod_cidr`."""
    max_services: int
    """TKE: service IPs taken from `pod_cidr` (`cluster_max_service_num`, a power of two from
    32 to 32768). Default 256."""
    pod_cidr: str
    """Pod CIDR of TKE's global-router network, outside every VPC (required on TKE)."""
    endpoint_exposure: EndpointExposure
    """API endpoint: `private` (default, VPC only), or also reachable from the internet."""
    public_access_cidrs: Sequence[str]
    """Internet CIDRs allowed to reach a public endpoint."""
    arm_opt_in_taint: bool
    """Taint ARM pools `kubernetes.io/arch=arm64:NoSchedule` (opt-in ARM). Default false."""
    node_pools: Sequence[NodePoolSpec]
    """The cluster's node pools, created as `NodePool` children named `<name>-<pool>`."""
    tags: Mapping[str, str]
    """Tags on every taggable cloud resource."""
    protect: bool
    """Pulumi `protect` on stateful resources (control plane, VPC, KMS key). Default false."""
    deletion_protection: bool
    """The cloud's own deletion protection on the cluster (and TKE node pools). Default false."""
    high_availability_nat: bool
    """AWS: one NAT gateway per zone instead of one shared. Default false."""
    availability_zone_ids: Sequence[str]
    """AWS: the three Availability Zone IDs (`use1-az1`, not `us-east-1a`) the VPC's subnets go
    in, in order. Default: the three lowest-numbered zone IDs the account offers in the region,
    without those EKS refuses (`use1-az3`, `usw1-az2`, `cac1-az3`). Pin them to keep a stack
    whose subnets were placed by zone letter in its zones (docs/upgrade-log.md)."""
    log_retention_days: int
    """AWS: control-plane log retention in days (rounded up to a CloudWatch value). Default 30."""
    deployer_role_arn: str
    """AWS (required there): ARN of the IAM role `pulumi up` acts as inside the cluster. The
    cluster's creator gets no implicit admin; this role gets an explicit access entry with
    `AmazonEKSClusterAdminPolicy`, and the kubeconfig assumes it (`aws eks get-token
    --role-arn`), so the identity running Pulumi must be allowed to assume it."""
    aws_profile: str
    """AWS: named profile of the shared AWS config the kubeconfig's `aws eks get-token` runs
    with (its `--profile` argument, which outranks `AWS_*` credential variables), so kubectl and
    the Kubernetes provider use the same credentials as the AWS provider. Default: none, the
    caller's ambient credentials."""
    install_gpu_driver: bool
    """Whether GPU nodes get their NVIDIA driver from the cloud (EKS NVIDIA AMI, TKE driver
    install) rather than from the GPU operator. Default true."""
    attached: AttachedCluster
    """Attached clusters only: where the kubeconfig comes from."""
    existing_network: ExistingNetwork
    """(managed) Place the cluster in this existing VPC and subnets instead of creating a
    network from `vpc_cidr` (which must then be absent). Default: none, a network is created."""
    existing_roles: ExistingRoles
    """AWS: IAM roles to use instead of creating them. Default: none, every role is created."""
    existing_cluster: pulumi.Input[str]
    """(managed) A cluster that exists already, by the cloud's handle: the EKS cluster name or
    the TKE cluster id (`cls-...`). Nothing of its control plane is created or changed: the
    component reads it (endpoint, CA, issuer), builds its kubeconfig, and creates only the given
    node pools on it. Needs `existing_network` (the subnets of new pools); on AWS the cluster's
    owner grants `deployer_role_arn` its access entry. Default: none."""
    name_prefix: str
    """Prefix of every name the component gives the cloud (the EKS/TKE cluster name, log group,
    KMS alias, `Name` tags, VPC and subnet names): `<name_prefix><name>...`. Pulumi resource
    names (URNs) do not change; auto-named resources follow the stack's `pulumi:autonaming`
    config. Letters, digits and `-`. Default: empty."""


class Cluster(pulumi.ComponentResource):
    """A Kubernetes cluster on AWS (EKS), Tencent Cloud (TKE) or attached by kubeconfig, with
    its node pools. Pass the provider of its cloud and region in the resource options."""

    cloud: str
    """`aws`, `tencentcloud` or `attached`."""
    region: str | None
    """Cloud region (or the attached cluster's location label)."""
    kubernetes_version: str
    """Control-plane minor version (`1.33`)."""
    endpoint: pulumi.Output[str]
    """API server URL."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig of the cluster (a Pulumi secret). EKS: `aws eks get-token` exec
    authentication assuming `deployerRoleArn`, no stored token."""
    oidc_issuer: pulumi.Output[str] | None
    """Service-account issuer URL, where the cloud has one."""
    cloud_cluster_id: pulumi.Output[str] | None
    """The cloud's handle of the cluster: EKS cluster name, TKE cluster id; absent when
    attached."""
    vpc_id: pulumi.Output[str] | None
    """The cluster's VPC (created, or the existing one); absent when attached."""
    node_subnet_ids: list[pulumi.Output[str]]
    """Subnets of the nodes; empty when attached."""
    node_pools: list[str]
    """Names of the cluster's node pools."""

    def __init__(
        self, name: str, args: ClusterInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(type(self)), name, None, opts)
        python_args: dict[str, Any] = _plain(
            {key: value for key, value in args.items() if key != "node_pools"}
        )
        python_args["node_pools"] = [pool_spec(pool) for pool in args.get("node_pools") or ()]
        cloud = python_args["cloud"]
        if cloud != "attached":
            python_args["cloud_provider"] = _required_provider(opts, cloud, f"Cluster {name}")
        # Why the ignore below: python_args is assembled key by key from the wire dict (a dict[str,
        # Any]); Cluster validates it (validate_args) before registering.
        built = clusters.Cluster(name, python_args, opts=_child(self))  # type: ignore[arg-type]
        info = built.info
        self.cloud = cloud
        self.region = info.region
        self.kubernetes_version = info.kubernetes_version
        self.endpoint = info.endpoint
        self.kubeconfig = info.kubeconfig
        self.oidc_issuer = info.oidc_issuer
        self.cloud_cluster_id = info.cloud_cluster_id
        self.vpc_id = info.vpc_id
        self.node_subnet_ids = list(info.node_subnet_ids)
        self.node_pools = [pool.name for pool in info.node_pools]
        self.register_outputs(
            {
                "cloud": self.cloud,
                "region": self.region,
                "kubernetes_version": self.kubernetes_version,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_issuer": self.oidc_issuer,
                "cloud_cluster_id": self.cloud_cluster_id,
                "vpc_id": self.vpc_id,
                "node_subnet_ids": self.node_subnet_ids,
                "node_pools": self.node_pools,
            }
        )


# -- PlatformServices --------------------------------------------------------------------------


class RegistryOptions(TypedDict, total=False):
    """The platform registry: ECR on AWS, TCR on Tencent Cloud, Harbor on attached clusters."""

    immutable_tags: bool
    """Tags cannot be overwritten once pushed."""
    scan_on_push: bool
    """Vulnerability scan of every pushed image."""
    untagged_expiry_days: int
    """Untagged images are deleted after this many days."""
    keep_last_images: int
    """Tagged images kept per repository; older ones are expired."""
    protect: bool
    """Protect stateful pieces (repositories with images, TCR instance and namespaces, Harbor)
    from deletion: set in prod."""
    replication_regions: Sequence[str]
    """Other regions of the same cloud to replicate images to. Default: none."""
    account_id: str
    """AWS account id (ECR registry id, replication destination). Required on AWS."""
    pull_through_caches: Sequence[str]
    """AWS: upstreams to cache (keys of `PULL_THROUGH_UPSTREAMS`). Default: none."""
    pull_through_credentials: Mapping[str, pulumi.Input[str]]
    """AWS: Secrets Manager ARN per upstream that needs credentials (`docker-hub`, `ghcr`)."""
    tencent_edition: TcrEdition
    """TCR edition; `premium` is required for replication. Default `standard`."""
    tcr_instance_name: str
    """TCR instance name: globally unique across Tencent Cloud, its domain is
    `<name>.tencentcloudcr.com`, so a lower-case DNS label. Required when this registry creates
    the instance (no default: a generic name such as `<cluster>-registry` is likely taken;
    check one with `tccli tcr CheckInstanceName --RegistryName <name>`)."""
    vpc_id: pulumi.Input[str]
    """Tencent Cloud: the cluster's VPC, attached to the TCR instance (private pulls). Without
    it nodes cannot reach the (private) instance: the composer warns."""
    subnet_id: pulumi.Input[str]
    """Tencent Cloud: the subnet the TCR private endpoint is placed in."""
    harbor_storage_gib: int
    """Attached: Harbor registry volume size, GiB. Default 200."""
    harbor_hostname: str
    """Attached: Harbor's hostname, resolved by the company's DNS to Harbor's load balancer
    (containerd on the nodes does not use CoreDNS). Required when this cluster owns Harbor."""
    harbor_tls_bundle: pulumi.Input[str]
    """Attached: PEM bundle for `harbor_hostname` from a CA the nodes trust: the certificate,
    its intermediates, then the private key. Secret. Required when this cluster owns Harbor."""
    harbor_load_balancer_annotations: Mapping[str, pulumi.Input[str]]
    """Attached: annotations of Harbor's LoadBalancer Service that take its address from the
    internal MetalLB pool. Required when this cluster owns Harbor."""
    tags: Mapping[str, str]
    """Tags on cloud resources (the AWS provider adds its default tags too)."""


REGISTRY_SETTINGS_FIELDS: tuple[str, ...] = (
    "immutable_tags",
    "scan_on_push",
    "untagged_expiry_days",
    "keep_last_images",
    "protect",
)
"""`RegistryOptions` fields that are the Python `RegistrySettings` (defaults live there)."""


class Retention(TypedDict):
    """How long and how much is kept."""

    metrics_retention_days: int
    """Prometheus retention, days."""
    logs_retention_days: int
    """Loki retention, days (Loki's minimum is one day)."""
    metrics_volume_gib: NotRequired[int]
    """Prometheus persistent volume, GiB; None keeps metrics on an emptyDir (dev)."""
    logs_volume_gib: NotRequired[int]
    """Loki persistent volume, GiB; None keeps logs on an emptyDir (dev)."""


class PushTargetOptions(TypedDict, total=False):
    """Where a peer cluster pushes its metrics and logs: the central cluster's receivers."""

    hostname: Required[str]
    """DNS name of the central receivers (their TLS certificate is issued for it)."""
    port: int
    """HTTPS port of the receivers' load balancer."""


class PushCredentialInput(TypedDict):
    """The credential one peer pushes with, as the central receivers check it."""

    cluster: str
    """Peer cluster name: its basic-auth user name."""
    password_hash: pulumi.Input[str]
    """bcrypt hash of the peer's password (the peer's `pushPasswordHash` output)."""


class ReceiverOptions(TypedDict):
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


class ObservabilityOptions(TypedDict, total=False):
    """Metrics, logs and alerts of the cluster."""

    retention: Required[Retention]
    """Retention and volumes, by tier."""
    central: bool
    """This cluster hosts the environment's Grafana. Default False."""
    receiver: ReceiverOptions
    """Central cluster only: run the receivers the peers push to. Default: none (a single
    cluster environment has no peers)."""
    peers: Sequence[PushCredentialInput]
    """Central cluster only: the peers' credentials the receivers admit (needs `receiver`)."""
    push_to: PushTargetOptions
    """Peer clusters only: push metrics and logs to the central receivers. Excludes
    `central` and `receiver`."""
    credentials_rotation: str
    """A value kept by a peer's push credential (`keepers`): changing it replaces the password
    on the next `pulumi up` (the central htpasswd follows). It is also a pod annotation of the
    peer's Fluent Bit and the central gateway, so they restart onto the new credential
    (environment variables are read at start). Give every cluster the same value. Default
    "1"."""
    protect: bool
    """Protect the releases that own persistent volumes (Prometheus with storage, Loki with a
    volume) and their namespaces from deletion. Default False; the composer sets it in prod."""
    gpu_alerts: bool
    """Add GPU alert rules (DCGM metrics). Default: whether the cluster has GPU pools."""


class GpuOptions(TypedDict, total=False):
    """The GPU stack: device plugins per sharing mode, HAMi or the GPU operator, DCGM."""

    enabled: bool
    """Install the GPU stack. Default: whether the cluster has GPU pools."""
    driver: GpuDriver
    """`image`: drivers come with the node image; `operator`: the GPU operator installs them.
    Default `image`."""
    dcgm_exporter: bool
    """Export GPU metrics with DCGM exporter and a ServiceMonitor. Default True."""


class PlatformServicesInputs(TypedDict, total=False):
    """Inputs of the package's `PlatformServices`. A registry on AWS or Tencent Cloud takes its
    cloud provider from the resource options."""

    cluster: Required[ClusterReference]
    """The cluster the services are installed in."""
    registry: RegistryOptions
    """Registry settings; absent: no registry."""
    observability: ObservabilityOptions
    """Observability settings; absent: no observability stack."""
    gpu: GpuOptions
    """GPU stack settings. Default: a GPU stack with default settings when the cluster has GPU
    pools."""


def registry_args(options: RegistryOptions, cluster: ClusterInfo) -> RegistryArgs:
    """Package registry options as the Python `RegistryArgs`."""
    plain: dict[str, Any] = _plain(dict(options))
    settings = {key: plain.pop(key) for key in REGISTRY_SETTINGS_FIELDS if key in plain}
    # Why the ignore below: the wire dict's keys are RegistryArgs' own (schema golden); a TypedDict
    # cannot be spread from a dict[str, Any].
    return {**plain, "cluster": cluster, "settings": RegistrySettings(**settings)}  # type: ignore[typeddict-item]


def observability_args(options: ObservabilityOptions, cluster: ClusterInfo) -> ObservabilityArgs:
    """Package observability options as the Python `ObservabilityArgs`."""
    plain: dict[str, Any] = dict(options)
    retention = options["retention"]
    plain["retention"] = RetentionSettings(
        metrics_retention_days=retention["metrics_retention_days"],
        logs_retention_days=retention["logs_retention_days"],
        metrics_volume_gib=retention.get("metrics_volume_gib"),
        logs_volume_gib=retention.get("logs_volume_gib"),
    )
    plain["peers"] = [
        PushCredential(
            cluster=peer["cluster"],
            password_hash=pulumi.Output.secret(peer["password_hash"]),
        )
        for peer in options.get("peers") or ()
    ]
    receiver = options.get("receiver")
    if receiver is not None:
        plain["receiver"] = ReceiverSettings(
            hostname=receiver["hostname"],
            tls_bundle=receiver["tls_bundle"],
            load_balancer_annotations=dict(receiver.get("load_balancer_annotations") or {}),
            source_ranges=list(receiver.get("source_ranges") or ()),
        )
    push_to = options.get("push_to")
    if push_to is not None:
        plain["push_to"] = PushTarget(**push_to)
    # Why the ignore below: the wire dict's keys are ObservabilityArgs' own (schema golden); a
    # TypedDict cannot be spread from a dict[str, Any].
    return {**plain, "cluster": cluster}  # type: ignore[typeddict-item]


class PlatformServices(pulumi.ComponentResource):
    """Registry, observability and GPU stack of one cluster, given by reference."""

    addon_keys: list[str]
    """Every Helm add-on installed in the cluster, sorted."""
    registry_endpoint: pulumi.Output[str] | None
    """Registry host image references start with; absent without a registry."""
    harbor_admin_password: pulumi.Output[str] | None
    """Attached clusters with a registry: Harbor's admin password (a Pulumi secret)."""
    grafana_admin_password: pulumi.Output[str] | None
    """Central cluster: Grafana's admin password (a Pulumi secret)."""
    push_password_hash: pulumi.Output[str] | None
    """Peer clusters: bcrypt hash of the push password (a Pulumi secret), for the central
    cluster's `observability.peers`."""
    receiver_address: pulumi.Output[str] | None
    """Central cluster with receivers: the load balancer's address, which the receivers'
    hostname must resolve to."""
    gpu_sharing: dict[str, str] | None
    """Sharing mode of every GPU pool (`exclusive`, `time-slicing-4`, `hami`), by pool."""

    def __init__(
        self,
        name: str,
        args: PlatformServicesInputs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(type_token(type(self)), name, None, opts)
        cluster = cluster_info(self, name, args["cluster"], opts)
        python_args: dict[str, Any] = {"cluster": cluster}
        registry = args.get("registry")
        if registry is not None and cluster.cloud != "attached":
            _required_provider(opts, cluster.cloud, f"PlatformServices {name}: registry")
        if registry is not None:
            python_args["registry"] = registry_args(registry, cluster)
        observability = args.get("observability")
        if observability is not None:
            python_args["observability"] = observability_args(observability, cluster)
        gpu = dict(args.get("gpu") or {})
        if not gpu.pop("enabled", bool(cluster.gpu_pools)):
            python_args["gpu"] = None
        elif gpu or cluster.gpu_pools:
            python_args["gpu"] = GpuStackArgs(cluster=cluster, **_plain(gpu))
        # Why the ignore below: python_args is assembled from the wire dict (dict[str, Any]);
        # PlatformServices checks its arguments before registering.
        built = platform.PlatformServices(name, python_args, opts=_child(self))  # type: ignore[arg-type]
        self.addon_keys = list(built.addon_keys)
        self.registry_endpoint = built.registry.endpoint if built.registry else None
        self.harbor_admin_password = (
            built.registry.harbor_admin_password if built.registry else None
        )
        self.grafana_admin_password = None
        self.push_password_hash = None
        self.receiver_address = None
        if built.observability is not None:
            self.grafana_admin_password = built.observability.grafana_admin_password
            credential = built.observability.push_credential
            if credential is not None:
                self.push_password_hash = credential.password_hash
            self.receiver_address = built.observability.receiver_address
        self.gpu_sharing = dict(built.gpu_stack.sharing) if built.gpu_stack else None
        self.register_outputs(
            {
                "addon_keys": self.addon_keys,
                "registry_endpoint": self.registry_endpoint,
                "harbor_admin_password": self.harbor_admin_password,
                "grafana_admin_password": self.grafana_admin_password,
                "push_password_hash": self.push_password_hash,
                "receiver_address": self.receiver_address,
                "gpu_sharing": self.gpu_sharing,
            }
        )


# -- Tenant ------------------------------------------------------------------------------------


class TenantQuota(TypedDict, total=False):
    """Resource quota of each of a tenant's namespaces."""

    cpu: str
    """Total CPU requests (Kubernetes quantity)."""
    memory: str
    """Total memory requests (Kubernetes quantity)."""
    pods: int
    """Pods in a non-terminal state."""
    storage: str
    """Total storage requests of persistent volume claims."""
    load_balancers: int
    """Services of type LoadBalancer (each one a cloud load balancer)."""
    gpus: int
    """`nvidia.com/gpu` requests; needs a GPU pool on the cluster. With time-slicing or HAMi
    these are virtual GPUs."""
    gpu_memory_mib: int
    """HAMi `nvidia.com/gpumem` in MiB; needs a HAMi-shared GPU pool and at most the GPU
    memory of its HAMi pools at max_size. 0: no GPU memory quota is written (HAMi 2.10 reads
    an explicit 0 as "no GPU pod")."""


class ContainerDefaults(TypedDict, total=False):
    """LimitRange defaults for containers that state no requests or limits."""

    cpu_request: str
    """CPU request of a container that states none (Kubernetes quantity)."""
    memory_request: str
    """Memory request of a container that states none (Kubernetes quantity)."""
    memory_limit: str
    """Default memory limit of a container that states none; None (default): no default
    limit. The LimitRanger gives the default limit to every container without a limit, also
    to one that requests more memory, and the API server then refuses the pod (limit below
    request; https://kubernetes.io/docs/concepts/policy/limit-range/, "Constraints on resource
    limits and requests"): a GPU job asking for 8Gi and no limit would never start. Set it
    only above any request a tenant's containers state without a limit. No default CPU
    limit either: CPU limits throttle, requests already share fairly."""


class WorkloadIdentitySettings(TypedDict, total=False):
    """What `Tenant` needs to give its service accounts a cloud role (EKS, TKE)."""

    account: Required[str]
    """AWS account id or Tencent Cloud root UIN."""
    tcr_instance_id: pulumi.Input[str]
    """TKE: TCR instance of the tenant's registry namespace."""
    tags: Mapping[str, str]
    """Tags of cloud resources the provider does not tag by default (TKE CAM role)."""


class TenantInputs(TypedDict, total=False):
    """Inputs of the package's `Tenant`. Workload identity takes the cloud provider of the
    cluster from the resource options."""

    cluster: Required[ClusterReference]
    """The cluster the tenant is placed on; its Kubernetes provider creates every object."""
    tenant: Required[str]
    """Tenant name (DNS label); the `tkestack.io/tenant` label of its namespaces."""
    namespaces: Sequence[str]
    """Namespaces of the tenant on this cluster. Default: one named after the tenant."""
    pod_security: PodSecurityLevel
    """Pod Security level enforced: `restricted` (default) or `baseline`."""
    pod_security_reason: str
    """Why the tenant needs `baseline`; required then, recorded as a namespace annotation."""
    quota: TenantQuota
    """Quota of each namespace. Default: `TenantQuota()`."""
    container_defaults: ContainerDefaults
    """LimitRange defaults. Default: `ContainerDefaults()`."""
    subjects: Mapping[str, Sequence[str]]
    """Kubernetes group names bound to each level's Role (`identity.kubernetes_group` of the
    identity-provider groups). A level without groups gets its Role but no RoleBinding."""
    monitoring_namespace: str
    """Namespace of the observability stack that scrapes tenant pods. Default: `monitoring`."""
    ingress_namespaces: Sequence[str]
    """Namespaces of ingress controllers allowed to reach tenant pods.
    Default: `("ingress-nginx",)`."""
    registry_prefix: pulumi.Input[str]
    """`<registry host>/<tenant>` of the tenant's registry namespace, recorded on each
    namespace (`tkestack.io/registry`) so people know where to push."""
    workload_identity: WorkloadIdentitySettings
    """Cloud identity of the tenant's `cloud-workload` service accounts; None: none."""
    registry_pull_secret: pulumi.Input[str]
    """A `.dockerconfigjson` with pull-only credentials for the tenant's registry namespace
    (`RegistryNamespace.pull_secret`, TCR), stored as the Secret `registry-pull` in each
    namespace; pods pull with `imagePullSecrets: [{name: registry-pull}]`. None: no Secret
    (ECR pulls with the nodes' role)."""


class Tenant(pulumi.ComponentResource):
    """A tenant on one cluster, given by reference: namespaces, quotas, limit ranges, network
    policies and roles."""

    namespaces: list[str]
    """The tenant's namespaces on the cluster."""
    roles: dict[str, str]
    """Access level -> Role name (the same in every namespace)."""
    workload_identity_role: pulumi.Output[str] | None
    """Cloud role of the tenant's `cloud-workload` service accounts, when the cloud has one."""

    def __init__(
        self, name: str, args: TenantInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(type(self)), name, None, opts)
        cluster = cluster_info(self, name, args["cluster"], opts)
        python_args: dict[str, Any] = _plain(
            {key: value for key, value in args.items() if key != "cluster"}
        )
        python_args["cluster"] = cluster
        if "quota" in python_args:
            python_args["quota"] = tenancy.TenantQuota(**python_args["quota"])
        if "container_defaults" in python_args:
            defaults = python_args["container_defaults"]
            python_args["container_defaults"] = tenancy.ContainerDefaults(**defaults)
        identity = args.get("workload_identity")
        if identity is not None and cluster.cloud != "attached":
            _required_provider(opts, cluster.cloud, f"Tenant {name}: workload_identity")
        if identity is not None:
            python_args["workload_identity"] = tenancy.WorkloadIdentitySettings(
                account=identity["account"],
                tcr_instance_id=identity.get("tcr_instance_id"),
                tags=dict(identity.get("tags") or {}),
            )
        # Why the ignore below: python_args is assembled from the wire dict (dict[str, Any]); Tenant
        # checks its arguments before registering.
        built = tenancy.Tenant(name, python_args, opts=_child(self))  # type: ignore[arg-type]
        self.namespaces = list(built.namespaces)
        self.roles = dict(built.roles)
        self.workload_identity_role = built.workload_identity_role
        self.register_outputs(
            {
                "namespaces": self.namespaces,
                "roles": self.roles,
                "workload_identity_role": self.workload_identity_role,
            }
        )


HOSTED_COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (Cluster, PlatformServices, Tenant)
"""The components the package offers, in schema order."""

SECRET_OUTPUTS: Mapping[str, frozenset[str]] = {
    "Cluster": frozenset({"kubeconfig"}),
    "PlatformServices": frozenset(
        {"harbor_admin_password", "grafana_admin_password", "push_password_hash"}
    ),
    "Tenant": frozenset(),
}
"""Outputs of each package component that are always Pulumi secrets (the others never are);
the schema cannot say it, docs/components/package.md and the contract tests do."""


# -- what the package mirrors ------------------------------------------------------------------


class Mirror(NamedTuple):
    """A package input type and the Python arguments type it mirrors, field for field."""

    package: type
    python: tuple[type, ...]
    """The Python types whose fields it carries (one, or a TypedDict and a settings dataclass)."""
    in_process_only: Mapping[str, str]
    """Python fields the package does not offer, each with the reason."""
    package_only: Mapping[str, str] = {}
    """Package fields the Python type does not have, each with the reason."""
    reworded: frozenset[str] = frozenset()
    """Fields whose description differs on purpose (the package's words fit other languages)."""


PROVIDER_FROM_OPTIONS = "providers are resource options in every language, not inputs"
LIVE_CLUSTER = "a live ClusterInfo cannot cross languages: `cluster` is a ClusterReference"

MIRRORS: tuple[Mirror, ...] = (
    Mirror(
        ClusterInputs,
        (clusters.ClusterArgs,),
        {
            "cloud_provider": PROVIDER_FROM_OPTIONS,
            "deployer_access": "not offered yet: the hub attachment and API ingress of the"
            " deployer's path are composed by the stacks layer (issue 14)",
        },
    ),
    Mirror(NodePoolSpec, (PoolSpec,), {}),
    Mirror(AttachedCluster, (clusters.AttachedArgs,), {}),
    Mirror(
        PlatformServicesInputs,
        (platform.PlatformServicesArgs,),
        {},
        reworded=frozenset({"cluster", "registry", "observability", "gpu"}),
    ),
    Mirror(
        RegistryOptions,
        (RegistryArgs, RegistrySettings),
        {
            "cluster": "the registry serves PlatformServices' `cluster`",
            "settings": "its fields are options of their own (`immutableTags`...)",
            "shared": "a RegistryHandle holds live provider objects: one registry per program",
        },
    ),
    Mirror(Retention, (RetentionSettings,), {}),
    Mirror(PushTargetOptions, (PushTarget,), {}),
    Mirror(PushCredentialInput, (PushCredential,), {}, reworded=frozenset({"password_hash"})),
    Mirror(ReceiverOptions, (ReceiverSettings,), {}),
    Mirror(
        ObservabilityOptions,
        (ObservabilityArgs,),
        {"cluster": "the stack observes PlatformServices' `cluster`"},
    ),
    Mirror(
        GpuOptions,
        (GpuStackArgs,),
        {
            "cluster": "the stack serves PlatformServices' `cluster`",
            "installed_addons": "PlatformServices passes the observability add-ons itself",
            "after": "resources cannot be inputs; PlatformServices orders the stack itself",
        },
        package_only={"enabled": "absent options cannot say `None` (no GPU stack) in YAML"},
    ),
    Mirror(
        TenantInputs,
        (tenancy.TenantArgs,),
        {},
        reworded=frozenset({"cluster", "quota", "container_defaults", "workload_identity"}),
    ),
    Mirror(TenantQuota, (tenancy.TenantQuota,), {}),
    Mirror(ContainerDefaults, (tenancy.ContainerDefaults,), {}),
    Mirror(WorkloadIdentitySettings, (tenancy.WorkloadIdentitySettings,), {}),
    Mirror(
        ClusterReference,
        (ClusterInfo,),
        {
            "endpoint": "read from the kubeconfig",
            "k8s_provider": "built from the kubeconfig (`<name>-k8s`)",
            "cloud_provider": PROVIDER_FROM_OPTIONS,
            "depends_on": "the engine orders resources by their inputs across languages",
        },
        package_only={
            "context": "which kubeconfig context the Kubernetes provider uses",
            "arm_opt_in_taint": "derives the ARM pools' taint, as the Cluster does",
        },
        reworded=frozenset(
            {"name", "cloud", "kubernetes_version", "kubeconfig", "region", "node_pools"}
            | {"oidc_issuer", "cloud_cluster_id", "vpc_id", "node_subnet_ids"}
        ),
    ),
)
"""Every package input type with the Python type it mirrors (checked by the schema tests)."""


class PackageProvider(ComponentProvider):
    """The SDK's component provider, but a component's `pulumi.InputPropertiesError` reaches
    the engine as such. The SDK (pulumi 3.272 provider/experimental/component.py `construct`)
    wraps every exception of a constructor in `ComponentInitError`, and its server only turns
    an `InputPropertiesError` it sees directly into the per-property gRPC error details
    (provider/experimental/server.py `Construct`): unwrapped here, so `pulumi preview` of a
    YAML, TypeScript or Go program lists every bad input with its property path."""

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: Any,
        options: pulumi.ResourceOptions | None = None,
    ) -> Any:
        try:
            return super().construct(name, resource_type, inputs, options)
        except Exception as error:
            inner = getattr(error, "inner", None)
            if isinstance(inner, pulumi.InputPropertiesError):
                raise inner from None
            raise


def package_schema(version: str | None = None) -> dict[str, Any]:
    """The package schema exactly as the component provider host serves it (`GetSchema`):
    inferred by the SDK's analyzer from the classes of this module."""
    provider = ComponentProvider(
        list(HOSTED_COMPONENTS), PACKAGE_NAME, version=version or package_version()
    )
    # Why the ignore below: ComponentProvider.schema is typed Optional in the pulumi SDK; it is set
    # by the constructor above.
    schema: dict[str, Any] = json.loads(provider.schema)  # type: ignore[arg-type]
    return schema
