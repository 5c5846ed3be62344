"""The environment spec: what a platform team declares in `Pulumi.<env>.yaml`.

Pure data: pydantic v2 models with `extra="forbid"`, no Pulumi types. The models check
shapes and single fields; every rule that relates two fields (min <= max, a region known
for its cloud, instance types against the accelerator, overlapping CIDRs, references between
sections) lives in `stacks.rules`, which names the exact offending key and runs even when
other parts of the spec are invalid, so one pass reports every problem.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..components import catalog
from ..components.catalog import QUOTA_DEFAULTS

Tier = Literal["dev", "staging", "prod"]
CloudName = Literal["aws", "tencentcloud", "attached"]
"""Any cloud a cluster of the spec may be on; the catalog's `ManagedCloud` is the managed two."""
Architecture = Literal["x86_64", "arm64"]
SharingMode = Literal["exclusive", "time-slicing", "hami"]

DNS_LABEL = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
"""Lower-case DNS label, at most 32 characters: names reach cloud resource names and URNs."""

KUBERNETES_MINOR = re.compile(r"^1\.(\d{2})$")

Name = Annotated[str, Field(pattern=DNS_LABEL, description="Lower-case DNS label, <= 32 chars.")]


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values are immutable after load."""

    # use_attribute_docstrings: the docstring under each field becomes its description in the
    # JSON Schema and docs/spec.md (stacks/schema.py), so the reference cannot drift.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, use_attribute_docstrings=True
    )


def minor_version_number(version: str) -> int:
    """The minor number of a `1.NN` Kubernetes version string (`"1.32"` -> 32)."""
    match = KUBERNETES_MINOR.match(version)
    if match is None:
        raise ValueError(f"Kubernetes version must look like '1.32' (major.minor), got {version!r}")
    return int(match.group(1))


def _check_minor_format(version: str) -> str:
    minor_version_number(version)
    return version


def _version_is_text(version: object) -> object:
    """YAML reads an unquoted `1.30` as the number 1.3: ask for a quoted string instead of
    letting the number become a different version."""
    if version is not None and not isinstance(version, str):
        raise ValueError(
            f"write the version as a quoted string, e.g. '1.33' (YAML reads the unquoted"
            f" {version!r} as a number, which loses trailing zeros)"
        )
    return version


class AcceleratorSpec(SpecModel):
    """The GPUs of a node pool. Images, labels, taints and the GPU stack derive from it."""

    vendor: Literal["nvidia"] = "nvidia"
    """GPU vendor. Only NVIDIA is supported today."""
    model: str = Field(min_length=1)
    """GPU model as the catalog names it, lower case: `t4`, `t4g`, `a10g`, `l4`, `l40s`, `a100`,
    `h100`, `v100`. Must match the GPUs of every instance type in the pool."""
    count: int | None = Field(default=None, ge=1, le=16)
    """GPUs per node. Default: derived from the instance types (they must agree)."""
    sharing: SharingMode = "exclusive"
    """How pods share a GPU: `exclusive` (one pod per GPU), `time-slicing` (the device plugin
    advertises `replicas` virtual GPUs per GPU, no memory isolation) or `hami` (HAMi memory and
    core slicing with its scheduler extender)."""
    replicas: int | None = Field(default=None, ge=2, le=64)
    """Virtual GPUs per physical GPU; only with `sharing: time-slicing` (default 4 there)."""

    @field_validator("model")
    @classmethod
    def _known_model(cls, model: str) -> str:
        known = catalog.gpu_models()
        if model not in known:
            raise ValueError(f"unknown GPU model {model!r}; known: {', '.join(known)}")
        return model


class TaintSpec(SpecModel):
    """A Kubernetes taint added to every node of a pool."""

    key: str = Field(min_length=1, max_length=253)
    value: str = Field(default="", max_length=63)
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class TkeGpuDriverSpec(SpecModel):
    """The NVIDIA driver and CUDA packages TKE installs on a GPU pool's nodes, as TKE's node
    pool form lists them for the pool's image and GPU model. UNVERIFIED here: the provider
    does not check them and TKE publishes no list we could read (components/catalog/tke.py)."""

    driver_name: str = Field(min_length=3, max_length=128)
    """Driver package, e.g. `NVIDIA-Linux-x86_64-470.182.03.run` (the provider's test value)."""
    driver_version: str = Field(pattern=r"^\d+(\.\d+){1,3}$")
    """Driver version, e.g. `470.182.03`; the package name contains it."""
    cuda_name: str = Field(min_length=3, max_length=128)
    """CUDA package, e.g. `cuda_11.4.3_470.82.01_linux.run`."""
    cuda_version: str = Field(pattern=r"^\d+(\.\d+){1,3}$")
    """CUDA version, e.g. `11.4.3`; the package name contains it."""


class NodePoolConfig(SpecModel):
    """One pool of identical-architecture nodes. Everything else is derived from these fields.

    A pool as the stack config states it (`clusters[].node_pools[]`); the composition turns it
    into the component's `PoolSpec` (stacks/clusters.py `pool_spec`), which the component
    package offers as its type `NodePoolSpec`."""

    name: Name
    """Pool name, unique within its cluster."""
    instance_types: list[str] = Field(min_length=1, max_length=20)
    """Cloud instance types (`m7g.xlarge`, `S5.LARGE8`); all of one architecture and, for GPU
    pools, all carrying the accelerator's GPU model. More than one type only helps spot pools."""
    architecture: Architecture | None = None
    """Optional statement of intent; derived from the instance types and checked against them."""
    min_size: int = Field(default=1, ge=0, le=1000)
    """Fewest nodes."""
    max_size: int = Field(default=3, ge=1, le=1000)
    """Most nodes; >= min_size."""
    desired_size: int | None = Field(default=None, ge=0, le=1000)
    """Initial node count, between min and max. Default: min_size."""
    autoscaler_owns_desired_size: bool = True
    """When true the cluster autoscaler owns the node count: drift in the desired size is
    ignored by Pulumi instead of being reset on every `pulumi up`."""
    spot: bool = False
    """Run on spot/preemptible capacity."""
    accelerator: AcceleratorSpec | None = None
    """GPUs of the pool; absent for CPU pools."""
    disk_size_gib: int = Field(default=100, ge=20, le=16384)
    """Root volume size in GiB (encrypted on every cloud)."""
    kubernetes_version: str | None = None
    """Pool's Kubernetes minor version during an upgrade; default: the cluster's. At most one
    minor behind the control plane, never ahead of it."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra node labels, merged over the derived ones (pool, arch, accelerator)."""
    taints: list[TaintSpec] = Field(default_factory=list[TaintSpec])
    """Extra taints, added to the derived ones (GPU taint, optional ARM taint)."""
    node_image: str | None = None
    """Tencent Cloud only: the nodes' OS, a TKE image name or id (`img-xxxxxxxx`) that
    `tccli tke DescribeOSImages` lists as online. Required on ARM pools (TKE's ARM image name
    is unverified here); default on x86 pools `tlinux3.1x86_64`."""
    gpu_driver: TkeGpuDriverSpec | None = None
    """Tencent Cloud GPU pools with `gpu.driver: image`: the driver and CUDA TKE installs.
    Required there (unverified here), refused elsewhere."""

    @field_validator("kubernetes_version")
    @classmethod
    def _check_version(cls, version: str | None) -> str | None:
        return version if version is None else _check_minor_format(version)

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _version_text(cls, version: object) -> object:
        return _version_is_text(version)


class NetworkSpec(SpecModel):
    """Addresses of a cluster's network. CIDRs of one environment's clusters never overlap."""

    vpc_cidr: ipaddress.IPv4Network | None = None
    """VPC CIDR (/16 to /24) for clusters whose network we create; absent for attached ones."""
    service_cidr: ipaddress.IPv4Network | None = None
    """EKS: Kubernetes service CIDR; default: the cloud's default (EKS 172.20.0.0/16). Not on
    TKE, whose global-router network carves services out of `pod_cidr` (see `max_services`)."""
    max_services: int | None = Field(default=None, ge=32, le=32768)
    """TKE only: how many service IPs the cluster takes from `pod_cidr` (TKE's
    `cluster_max_service_num`, a power of two); default 256, TKE's."""
    pod_cidr: ipaddress.IPv4Network | None = None
    """Pod CIDR for clouds with a separate pod network (TKE global router); default derived."""
    availability_zone_ids: list[str] | None = None
    """AWS: the three Availability Zone IDs (`use1-az1`, not `us-east-1a`: letters map to
    different zones per account) the subnets go in. Default: the account's three
    lowest-numbered zone IDs in the region that EKS accepts. Pin them to keep an existing
    network in the zones it is in (docs/upgrade-log.md)."""

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, cidr: ipaddress.IPv4Network | None) -> ipaddress.IPv4Network | None:
        if cidr is not None and not 16 <= cidr.prefixlen <= 24:
            raise ValueError(f"vpc_cidr {cidr} must be between /16 and /24")
        return cidr


class EndpointSpec(SpecModel):
    """How the Kubernetes API endpoint is reached."""

    exposure: Literal["private", "public", "public-and-private"] = "private"
    """`private`: only from inside the VPC (required in prod by policy). `public`/
    `public-and-private`: also from the internet, limited to `public_access_cidrs`."""
    public_access_cidrs: list[ipaddress.IPv4Network] = Field(
        default_factory=list[ipaddress.IPv4Network]
    )
    """Internet CIDRs allowed to reach a public endpoint. Required when exposure is public."""


class AttachedSpec(SpecModel):
    """An existing cluster whose lifecycle is not ours; everything installed inside is."""

    kubeconfig_secret: str = Field(pattern=r"^[a-zA-Z][-a-zA-Z0-9_]*$")
    """Name of the secret stack config key (in the project namespace) holding its kubeconfig:
    set it with `pulumi config set --secret <name> < kubeconfig`."""
    context: str | None = None
    """Kubeconfig context to use; default: the kubeconfig's current context."""
    oidc_issuer: str | None = Field(default=None, pattern=r"^https://")
    """The cluster's OIDC issuer URL, when its API server trusts one (for identity mapping)."""
    internal_address_pool: str | None = Field(
        default=None, pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
    )
    """MetalLB address pool (`IPAddressPool` name) whose addresses only the company's private
    network reaches. Required when the registry is enabled (Harbor's LoadBalancer takes its
    address from this pool) and on a central observability cluster with
    `observability.receiver_exposure: internal` (the receivers' load balancer). The policy pack
    recognises a pool as internal by its name: include `internal` (e.g. `dc-internal`)."""
    registry_hostname: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
    )
    """Harbor's hostname (`registry.dc-frankfurt.example.com`), which the company's DNS must
    resolve to the address MetalLB gives Harbor from `internal_address_pool`: nodes pull
    through containerd, which resolves names through the node's DNS, not CoreDNS. Image
    references and tenants' repository prefixes start with it. Required when the registry is
    enabled."""
    registry_address: ipaddress.IPv4Address | None = None
    """The address Harbor's load balancer asks MetalLB for (it must be in
    `internal_address_pool`), so the DNS record of `registry_hostname` can exist before the
    first `pulumi up`: the tenants' Harbor projects are made through that name. Default:
    the address MetalLB picks, known only once Harbor is installed (the projects then fail on
    the first run and are made by the next one, once the name resolves)."""
    registry_tls_secret: str | None = Field(default=None, pattern=r"^[a-zA-Z][-a-zA-Z0-9_]*$")
    """Name of the secret stack config key (in the project namespace) holding Harbor's TLS
    certificate for `registry_hostname`, issued by the company's PKI (which the nodes
    trust), as one PEM bundle: the certificate, its intermediates, then the private key. Set
    it with `pulumi config set --secret <name> < bundle.pem`. Required when the registry is
    enabled."""


class ClusterSpec(SpecModel):
    """One Kubernetes cluster of the environment."""

    name: Name
    """Cluster name, unique in the environment; part of every cloud resource name."""
    cloud: CloudName
    """`aws` (EKS), `tencentcloud` (TKE) or `attached` (an existing cluster by kubeconfig)."""
    region: str | None = None
    """Cloud region (`us-east-1`, `ap-guangzhou`); required except for attached clusters,
    where it is a free-form location label."""
    kubernetes_version: str
    """Control plane minor version, `1.NN`, within the cloud's supported window."""
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    endpoint: EndpointSpec = Field(default_factory=EndpointSpec)
    arm_opt_in_taint: bool = False
    """Taint ARM pools with `kubernetes.io/arch=arm64:NoSchedule` so only workloads that
    tolerate it land there (for clusters adopting ARM gradually)."""
    attached: AttachedSpec | None = None
    """Only for `cloud: attached`: where its kubeconfig comes from."""
    node_pools: list[NodePoolConfig] = Field(default_factory=list[NodePoolConfig])
    """Node pools; attached clusters list the pools they already have, for scheduling."""
    runner: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    """`topology: per-cluster` only: the GitHub Actions runner label of a self-hosted runner
    inside a network that reaches this cluster's API server; its stack is deployed there.
    Absent: the default runner (which must then reach the cluster)."""

    @field_validator("kubernetes_version")
    @classmethod
    def _check_version(cls, version: str) -> str:
        return _check_minor_format(version)

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _version_text(cls, version: object) -> object:
        return _version_is_text(version)


def supported_versions(cloud: str) -> list[str]:
    """Versions a cluster of `cloud` may run; attached clusters: any version a managed cloud
    we support still runs, since we install the same add-ons there."""
    if cloud == "attached":
        versions = set(catalog.supported_kubernetes_versions("aws"))
        versions |= set(catalog.supported_kubernetes_versions("tencentcloud"))
        return sorted(versions, key=minor_version_number)
    return catalog.supported_kubernetes_versions(cloud)


class RegistrySpec(SpecModel):
    """The image registry of every cluster: ECR on AWS, TCR on Tencent Cloud, Harbor on
    attached clusters."""

    enabled: bool = True
    immutable_tags: bool = True
    """Tags cannot be overwritten once pushed."""
    scan_on_push: bool = True
    """Vulnerability scan of every pushed image (where the registry offers it)."""
    untagged_expiry_days: int = Field(default=14, ge=1, le=3650)
    """Untagged images are deleted after this many days."""
    keep_last_images: int = Field(default=50, ge=1, le=10000)
    """Tagged images kept per repository; older ones are expired."""
    replicate: bool = True
    """Replicate images to the environment's other regions of the same cloud."""
    pull_through_caches: list[Literal["docker-hub", "quay", "ghcr", "k8s", "ecr-public"]] = Field(
        default_factory=lambda: ["ecr-public", "k8s", "quay"]
    )
    """Upstream registries cached by the platform registry (ECR pull-through cache rules)."""
    tencent_edition: Literal["basic", "standard", "premium"] = "standard"
    """TCR instance edition; `premium` is needed for cross-region replication (with Tencent
    clusters in two regions and `replicate`, anything else is refused at validation)."""
    tcr_instance_names: dict[str, str] = Field(default_factory=dict)
    """TCR instance name per Tencent Cloud region (`ap-shanghai: acme-prod-sh`). TCR names are
    global DNS names (`<name>.tencentcloudcr.com`): default `<environment>-<region>-<tencent_uin>`,
    unique to the account; check a name with `tccli tcr CheckInstanceName`."""
    harbor_storage_gib: int = Field(default=200, ge=10, le=65536)
    """Harbor registry volume size on attached clusters."""


class ObservabilitySpec(SpecModel):
    """Metrics, logs and alerts on every cluster, with one place per environment to look."""

    enabled: bool = True
    metrics_retention_days: int | None = Field(default=None, ge=1, le=3650)
    """Prometheus retention; default by tier (dev 3, staging 15, prod 30)."""
    logs_retention_days: int | None = Field(default=None, ge=1, le=3650)
    """Log store retention; default by tier (dev 3, staging 14, prod 30)."""
    metrics_volume_gib: int | None = Field(default=None, ge=1, le=65536)
    """Prometheus persistent volume; default by tier (dev none, staging 50, prod 200)."""
    central_cluster: str | None = None
    """Cluster hosting the environment's central Grafana and the receivers every other cluster
    pushes its metrics and logs to; default: the first cluster."""
    managed_metrics: Literal["none", "amp", "tmp"] = "none"
    """Remote-write metrics to Amazon Managed Prometheus (`amp`) or Tencent TMP (`tmp`). Not
    offered yet: only `none` passes validation while observability is enabled."""
    alert_receiver_secret: str | None = None
    """Secret stack config key holding an Alertmanager receiver webhook URL. Not wired yet:
    refused at validation while observability is enabled."""
    receiver_hostname: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
    )
    """DNS name of the central cluster's receivers, which every other cluster pushes its
    metrics (Prometheus remote-write) and logs (Fluent Bit) to over HTTPS. Your DNS points it
    at the receivers' load balancer (the `receiver_address` stack output). Required when the
    environment has more than one cluster."""
    receiver_tls_secret: str | None = Field(default=None, pattern=r"^[a-zA-Z][-a-zA-Z0-9_]*$")
    """Name of the secret stack config key holding the receivers' TLS certificate for
    `receiver_hostname` as one PEM bundle (certificate, intermediates, then the private key),
    from a CA the clusters' system trust stores accept (Prometheus and Fluent Bit verify it).
    Set it with `pulumi config set --secret <name> < bundle.pem`. Required with
    `receiver_hostname`."""
    receiver_exposure: Literal["public", "internal"] = "public"
    """`public`: the receivers' load balancer faces the internet (TLS and a per-cluster
    credential guard it; no private network needed between clouds). `internal`: only when a
    private path (VPN, peering, Transit Gateway, CCN) reaches the central cluster from every
    other cluster: the cloud's internal load balancer."""
    receiver_source_ranges: list[ipaddress.IPv4Network] | None = None
    """CIDRs the receivers' load balancer admits. Default: `0.0.0.0/0` when public (the peers
    egress through NAT addresses not known in advance); the other clusters' `vpc_cidr` when
    internal."""
    credentials_rotation: str = Field(default="1", min_length=1, max_length=64)
    """Any value; changing it replaces every cluster's push credential on the next
    `pulumi up` (new passwords, new central htpasswd)."""


class GpuSpec(SpecModel):
    """The GPU stack on clusters that have GPU pools."""

    driver: Literal["image", "operator"] = "image"
    """`image`: drivers come with the node image (EKS NVIDIA AMI, TKE GPU images) and only the
    device plugin is installed; `operator`: the NVIDIA GPU operator installs drivers."""
    dcgm_exporter: bool = True
    """Export GPU metrics with DCGM exporter, scraped by Prometheus."""


class QuotaSpec(SpecModel):
    """Per-namespace resource quota of a tenant on each of its clusters."""

    # Defaults: catalog.QUOTA_DEFAULTS, shared with the Tenant component's TenantQuota.
    cpu: str = QUOTA_DEFAULTS.cpu
    """Total CPU requests (Kubernetes quantity)."""
    memory: str = QUOTA_DEFAULTS.memory
    """Total memory requests (Kubernetes quantity)."""
    pods: int = Field(default=QUOTA_DEFAULTS.pods, ge=1)
    storage: str = QUOTA_DEFAULTS.storage
    """Total persistent volume claims."""
    load_balancers: int = Field(default=QUOTA_DEFAULTS.load_balancers, ge=0)
    """Services of type LoadBalancer."""
    gpus: int = Field(default=QUOTA_DEFAULTS.gpus, ge=0)
    """`nvidia.com/gpu` requests; needs a GPU pool on every cluster of the tenant."""
    gpu_memory_mib: int = Field(default=QUOTA_DEFAULTS.gpu_memory_mib, ge=0)
    """HAMi `nvidia.com/gpumem` (MiB); needs a HAMi-shared GPU pool and at most the GPU memory
    of the cluster's HAMi pools at max_size. 0 (default): no GPU memory quota is written (HAMi
    2.10 reads an explicit 0 as a block on every GPU pod)."""

    @field_validator("cpu", "memory", "storage")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?", value):
            raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. '8', '500m', '32Gi')")
        return value


class GroupsSpec(SpecModel):
    """Identity-provider group names per access level."""

    admins: list[str] = Field(default_factory=list)
    developers: list[str] = Field(default_factory=list)
    viewers: list[str] = Field(default_factory=list)


class TenantSpec(SpecModel):
    """A team or project: a bounded home on each cluster it is placed on."""

    name: Name
    """Tenant name, unique; namespaces and registry prefixes derive from it."""
    clusters: list[str] = Field(min_length=1)
    """Names of the environment's clusters the tenant is placed on."""
    namespaces: list[Name] = Field(default_factory=list)
    """Namespaces; default: one named after the tenant."""
    pod_security: Literal["restricted", "baseline"] = "restricted"
    """Pod Security admission level enforced on the tenant's namespaces."""
    pod_security_reason: str | None = None
    """Why a tenant needs `baseline`; required then, recorded as a namespace annotation."""
    quota: QuotaSpec = Field(default_factory=QuotaSpec)
    groups: GroupsSpec = Field(default_factory=GroupsSpec)
    """Who the tenant's admins, developers and viewers are (identity-provider groups)."""


class IdentitySpec(SpecModel):
    """How people from the company's identity provider reach the clusters, per cloud."""

    aws_role_arn_pattern: str = "arn:aws:iam::{account}:role/tkestack-{group}"
    """IAM role that members of an identity-provider group assume on AWS; `{group}` and
    `{account}` are substituted."""
    aws_account_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    """AWS account the environment's EKS clusters live in (12 digits); required when a cluster
    is on AWS: the AWS provider refuses every other account (`allowed_account_ids`)."""
    tencent_uin: str | None = Field(default=None, pattern=r"^\d{5,20}$")
    """Tencent Cloud root account UIN; required when a cluster is on Tencent Cloud."""
    oidc_groups_prefix: str = "oidc:"
    """Prefix of group names as attached clusters' OIDC authenticator presents them."""
    break_glass_role: str = "tkestack-break-glass"
    """The one named role bound to cluster-admin, for platform operators in an emergency."""
    deployer_role: str = Field(default="tkestack-deployer", pattern=r"^[\w+=,.@-]{1,64}$")
    """IAM role name (in `aws_account_id`) that `pulumi up` acts as inside EKS clusters. Each
    EKS cluster gives it an explicit access entry with `AmazonEKSClusterAdminPolicy` (the only
    admin besides the break-glass role; the cluster creator gets no implicit admin), and the
    Kubernetes provider's kubeconfig assumes it (`aws eks get-token --role-arn`), so whoever
    runs `pulumi up` must be allowed to assume it. A name other than the default also goes into
    the `rbac-no-cluster-admin` and `eks-access-namespace-scoped` policies' `deployerSubjects`."""

    def aws_account(self) -> str:
        """`aws_account_id`, which the spec rules require whenever a cluster is on AWS."""
        if self.aws_account_id is None:
            raise ValueError("identity.aws_account_id is required when a cluster is on AWS")
        return self.aws_account_id

    def tencent_account(self) -> str:
        """`tencent_uin`, which the spec rules require whenever a cluster is on Tencent Cloud."""
        if self.tencent_uin is None:
            raise ValueError("identity.tencent_uin is required when a cluster is on Tencent Cloud")
        return self.tencent_uin


class DeployerHubSpec(SpecModel):
    """A network that already reaches where deployments run from: the program attaches each
    cluster's VPC to it and routes the deployer's CIDRs through it."""

    aws_transit_gateways: dict[str, str] = Field(default_factory=dict)
    """AWS Transit Gateway id per region (`{us-east-1: tgw-0123456789abcdef0}`); a gateway is
    regional, so an EKS cluster is reachable privately only in a region listed here. The
    gateway must already route the deployer's CIDRs (its attachment to the runners' network is
    the enterprise's). Cross-account gateways must be shared to the account (AWS RAM) first."""
    tencent_ccn_id: str | None = Field(default=None, pattern=r"^ccn-[0-9a-z]{8}$")
    """Tencent Cloud Connect Network id (`ccn-xxxxxxxx`), global: every TKE cluster's VPC is
    attached to it. It must already carry the deployer's CIDRs."""

    @field_validator("aws_transit_gateways")
    @classmethod
    def _gateway_ids(cls, gateways: dict[str, str]) -> dict[str, str]:
        for region, gateway in gateways.items():
            if not re.fullmatch(r"tgw-[0-9a-f]{8,17}", gateway):
                raise ValueError(f"{region}: {gateway!r} is not a transit gateway id (tgw-...)")
        return gateways


class RolloutSpec(SpecModel):
    """The order the cluster stacks of a `topology: per-cluster` environment are deployed in."""

    waves: list[list[str]] = Field(default_factory=list[list[str]])
    """Waves of cluster names, deployed one wave after the other (the clusters of a wave in
    parallel); `rest` stands for every cluster no wave names. Empty: the dependency levels
    (the first wave the clusters that read no other cluster stack, each next wave the
    clusters that read only earlier ones; `stacks/topology.py` `waves`). A cluster whose
    stack reads another cluster stack's outputs (the central observability cluster reads its
    peers', a cluster sharing a region's registry reads the registry owner's) must come in a
    later wave than that stack."""


class DeployerSpec(SpecModel):
    """Where `pulumi up` runs from: the only place, besides the VPC itself, that reaches the
    clusters' API servers."""

    cidrs: list[ipaddress.IPv4Network] = Field(default_factory=list[ipaddress.IPv4Network])
    """Source addresses of the runners. Public ones go into the allowlist of public endpoints;
    private ones (RFC 1918, or RFC 6598 shared space) are opened on 443 in each private
    endpoint's security group and routed through `hub`. Documentation and reserved ranges are
    refused: no runner egresses from them."""
    hub: DeployerHubSpec | None = None
    """The existing network that carries the private CIDRs to the clusters' VPCs. Without it a
    private endpoint has no path from any runner (the VPC is created by the same run) and is
    refused."""


class TrustSpec(SpecModel):
    """Who may assume a role the bootstrap creates (at least one of the fields)."""

    aws_principal_arns: list[str] = Field(default_factory=list)
    """IAM principals (an SSO permission-set role, a CI user or role,
    `arn:aws:iam::<account>:root` for a whole account) trusted with `sts:AssumeRole`."""
    github_repository: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
    )
    """`org/repo` whose GitHub Actions jobs may assume the role through GitHub's OIDC provider,
    only from the GitHub environment named after this environment
    (`sub` = `repo:<org/repo>:environment:<env>`)."""
    github_oidc_provider_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$",
    )
    """The account's existing GitHub OIDC provider (one per account and URL); default: the
    bootstrap creates it."""
    saml_provider_arn: str | None = Field(
        default=None, pattern=r"^arn:aws:iam::\d{12}:saml-provider/[\w+=,.@-]{1,128}$"
    )
    """The enterprise identity provider's IAM SAML provider: people federate with
    `sts:AssumeRoleWithSAML`."""


class BootstrapSpec(SpecModel):
    """What the environment needs before its first `pulumi up`, created per account by the
    bootstrap project (`bootstrap/`), unless the enterprise brings its own."""

    deployer_trust: TrustSpec | None = None
    """Who may assume the deployer role (`identity.deployer_role`). Required unless that role
    is listed in `existing_roles`."""
    people_trust: TrustSpec | None = None
    """Who may assume the break-glass and tenant-group roles (the enterprise identity
    provider). Required unless all of them are listed in `existing_roles`."""
    existing_roles: list[str] = Field(default_factory=list)
    """IAM role names that already exist in `identity.aws_account_id`: the bootstrap creates
    none of them, and access entries may name them."""
    tencent_service_roles: Literal["create", "existing"] = "create"
    """`create`: the bootstrap creates TKE's and CVM's CAM service roles with the preset
    policies the environment needs; `existing`: the account already has them (TKE creates
    `TKE_QCSRole` when a root account first authorises the console)."""
    deployer_policy_arns: list[str] = Field(
        default_factory=lambda: ["arn:aws:iam::aws:policy/AdministratorAccess"],
        max_length=20,
    )
    """Managed policies of the deployer role. Default `AdministratorAccess`: `pulumi up`
    creates IAM roles, KMS keys, VPCs and clusters; replace it with your own narrower policy
    (or a permissions boundary of yours) where your security team requires it."""
    state_bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    """S3 bucket for Pulumi state (`pulumi login s3://<bucket>`), created versioned, encrypted
    and private in the first AWS region; absent: no bucket (Pulumi Cloud or your own)."""


class EnvironmentSpec(SpecModel):
    """A whole environment: `pulumi up -s <name>` deploys it."""

    name: Name
    """Environment name; the stack name by convention."""
    tier: Tier
    """`dev`, `staging` or `prod`: selects hardened defaults and policy enforcement."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags on every taggable cloud resource; `owner` and `cost-center` are required."""
    allowed_regions: list[str] = Field(default_factory=list)
    """Regions clusters may use; empty: any known region."""
    clusters: list[ClusterSpec] = Field(min_length=1)
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    observability: ObservabilitySpec = Field(default_factory=ObservabilitySpec)
    gpu: GpuSpec = Field(default_factory=GpuSpec)
    identity: IdentitySpec = Field(default_factory=IdentitySpec)
    tenants: list[TenantSpec] = Field(default_factory=list[TenantSpec])
    deployer: DeployerSpec = Field(default_factory=DeployerSpec)
    """Where deployments run from; the program opens the API servers to exactly that."""
    bootstrap: BootstrapSpec = Field(default_factory=BootstrapSpec)
    """Per-account prerequisites the bootstrap project creates (`tkestack render --bootstrap`)."""
    topology: Literal["single", "per-cluster"] = "single"
    """`single`: one stack `<name>` holds the whole environment. `per-cluster`: a shared stack
    `<name>` and one stack `<name>.<cluster>` per cluster, in one Pulumi project; the stack
    name says which part the program builds (docs/topology.md)."""
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    """`topology: per-cluster` only: the waves the cluster stacks are deployed in."""

    @field_validator("tags")
    @classmethod
    def _required_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        missing = [key for key in ("owner", "cost-center") if not tags.get(key)]
        if missing:
            raise ValueError(f"required tags missing: {', '.join(missing)}")
        return tags

    def tcr_instance_name(self, region: str) -> str:
        """The TCR instance of `region`: `registry.tcr_instance_names`, else
        `<environment>-<region>-<tencent_uin>` (TCR names are global DNS names; the account's
        UIN keeps the default from colliding with other accounts', the environment with this
        account's other environments). The program and `tkestack preflight` both read it."""
        named = self.registry.tcr_instance_names.get(region)
        if named is not None:
            return named
        return f"{self.name}-{region}-{self.identity.tencent_account()}"

    def cluster(self, name: str) -> ClusterSpec:
        """The cluster called `name` (KeyError when absent)."""
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)
