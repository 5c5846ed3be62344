"""`Cluster`: a Kubernetes cluster on AWS (EKS), Tencent Cloud (TKE) or attached by kubeconfig,
with its node pools, handing the same `ClusterInfo` to everything installed inside.

The component is named after the cluster (the CLI groups resources by their nearest
`tkestack:index:Cluster`), its children `<name>-<role>`, its node pools `<name>-<pool>`.
The cloud specifics live in `components/clouds/<cloud>.py` behind `ClusterBackend`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Literal, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from . import catalog
from .catalog import tke as tke_catalog
from .clouds import ClusterBackend, backend_class
from .clouds.access import DeployerAccess
from .contracts import ClusterInfo
from .errors import raise_problems
from .existing import ExistingNetwork, ExistingRoles
from .node_pool import NodePool, PoolSpec, pool_problems
from .validation import KeyPath, Problem

TYPE_TOKEN = "tkestack:index:Cluster"
CLOUDS: tuple[str, ...] = ("aws", "tencentcloud", "attached")


class AttachedArgs(TypedDict, total=False):
    """How to reach an existing cluster whose lifecycle is not ours."""

    kubeconfig: Required[pulumi.Input[str]]
    """Its kubeconfig (from secret stack config); wrapped as a secret by the component."""
    context: str | None
    """Kubeconfig context to use; default: the kubeconfig's current context."""
    oidc_issuer: str | None
    """The cluster's service-account issuer URL, when its API server has a public one."""


ExistingNetworkArgs = ExistingNetwork
"""The name `ExistingNetwork` had in the Python API before it was shared with the package."""
ExistingRolesArgs = ExistingRoles
"""The name `ExistingRoles` had in the Python API before it was shared with the package."""


class ClusterArgs(TypedDict, total=False):
    """A cluster and its node pools. Fields marked (managed) apply to `aws` and `tencentcloud`
    only; `attached` applies to attached clusters only."""

    cloud: Required[Literal["aws", "tencentcloud", "attached"]]
    """`aws` (EKS), `tencentcloud` (TKE) or `attached` (existing cluster by kubeconfig)."""
    kubernetes_version: Required[str]
    """Control-plane minor version (`1.33`) within the cloud's supported window (catalog)."""
    region: str | None
    """Cloud region (managed); for attached clusters a free-form location label or None."""
    cloud_provider: pulumi.ProviderResource | None
    """Explicit provider of the region (managed). Every cloud resource uses it; required."""
    vpc_cidr: str | None
    """CIDR of the VPC we create, /16 to /24 (managed)."""
    service_cidr: str | None
    """EKS: Kubernetes service CIDR; default: the cloud's (172.20.0.0/16 or 10.100.0.0/16).
    Refused on TKE, whose global-router network takes services from `pod_cidr`."""
    max_services: int | None
    """TKE: service IPs taken from `pod_cidr` (`cluster_max_service_num`, a power of two from
    32 to 32768). Default 256."""
    pod_cidr: str | None
    """Pod CIDR of TKE's global-router network, outside every VPC (required on TKE)."""
    endpoint_exposure: Literal["private", "public", "public-and-private"]
    """API endpoint: `private` (default, VPC only), or also reachable from the internet."""
    public_access_cidrs: Sequence[str]
    """Internet CIDRs allowed to reach a public endpoint."""
    arm_opt_in_taint: bool
    """Taint ARM pools `kubernetes.io/arch=arm64:NoSchedule` (opt-in ARM). Default false."""
    node_pools: Sequence[PoolSpec]
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
    deployer_role_arn: str | None
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
    attached: AttachedArgs | None
    """Attached clusters only: where the kubeconfig comes from."""
    existing_network: ExistingNetwork | None
    """(managed) Place the cluster in this existing VPC and subnets instead of creating a
    network from `vpc_cidr` (which must then be absent). Default: none, a network is created."""
    existing_roles: ExistingRoles | None
    """AWS: IAM roles to use instead of creating them. Default: none, every role is created."""
    existing_cluster: pulumi.Input[str] | None
    """(managed) A cluster that exists already, by the cloud's handle: the EKS cluster name or
    the TKE cluster id (`cls-...`). Nothing of its control plane is created or changed: the
    component reads it (endpoint, CA, issuer), builds its kubeconfig, and creates only the given
    node pools on it. Needs `existing_network` (the subnets of new pools); on AWS the cluster's
    owner grants `deployer_role_arn` its access entry. Default: none."""
    deployer_access: DeployerAccess | None
    """(managed) Where `pulumi up` runs from: the runners' private CIDRs and the existing hub
    (AWS transit gateway, Tencent CCN) the VPC is attached to, so the private API endpoint is
    reachable (components/clouds/access.py). Default: none, nothing attached or opened."""
    name_prefix: str
    """Prefix of every name the component gives the cloud (the EKS/TKE cluster name, log group,
    KMS alias, `Name` tags, VPC and subnet names): `<name_prefix><name>...`. Pulumi resource
    names (URNs) do not change; auto-named resources follow the stack's `pulumi:autonaming`
    config. Letters, digits and `-`. Default: empty."""


OWN_INFRASTRUCTURE_KEYS: tuple[str, ...] = (
    "existing_network",
    "existing_roles",
    "existing_cluster",
)
"""Arguments that bring an enterprise's own cloud infrastructure (managed clusters only)."""
NAME_PREFIX = re.compile(r"^[A-Za-z0-9-]*$")
"""Allowed `name_prefix`: what every cloud accepts at the start of its names (EKS cluster names
take letters, digits, `-` and `_`; TKE, VPC and KMS names accept at least these)."""


def own_infrastructure_problems(args: ClusterArgs) -> list[Problem]:
    """Problems of the bring-your-own arguments of a managed cluster, by argument."""
    problems: list[Problem] = []
    cloud = args["cloud"]
    network = args.get("existing_network")
    if network is not None:
        if args.get("vpc_cidr") is not None:
            problems.append(
                Problem(("vpc_cidr",), "does not apply with existing_network (the VPC exists)")
            )
        subnets = list(network.get("node_subnet_ids") or [])
        if network.get("vpc_id") is None or not subnets:
            problems.append(
                Problem(("existing_network",), "existing_network needs vpc_id and node_subnet_ids")
            )
        elif cloud == "aws" and args.get("existing_cluster") is None and len(subnets) < 2:
            problems.append(
                Problem(
                    ("existing_network", "node_subnet_ids"),
                    "an EKS control plane needs subnets in at least two zones",
                )
            )
    if args.get("existing_cluster") is not None and network is None:
        problems.append(
            Problem(
                ("existing_cluster",),
                "existing_cluster needs existing_network (its VPC and the subnets of new node"
                " pools)",
            )
        )
    if args.get("existing_roles") is not None and cloud != "aws":
        problems.append(Problem(("existing_roles",), "existing_roles are IAM roles, on aws only"))
    prefix = args.get("name_prefix")
    if prefix is not None and (not isinstance(prefix, str) or not NAME_PREFIX.match(prefix)):
        problems.append(
            Problem(("name_prefix",), f"{prefix!r} may hold only letters, digits and '-'")
        )
    return problems


def cloud_pool_problems(pool: PoolSpec, args: ClusterArgs, at: KeyPath) -> list[Problem]:
    """A pool's cloud-specific arguments (TKE `node_image`, `gpu_driver`), by property path
    `<at>.<key>` (`node_pools[index]` in a `Cluster`)."""
    cloud = args.get("cloud")
    if cloud != "tencentcloud":
        return [
            Problem((*at, key), "applies only to tencentcloud pools")
            for key in ("node_image", "gpu_driver")
            if pool.get(key) is not None
        ]
    problems: list[Problem] = []
    architecture = pool.get("architecture")
    if architecture is None:
        found = [catalog.instance_type(cloud, t) for t in pool.get("instance_types") or []]
        known = {t.architecture for t in found if t is not None}
        # Unknown or mixed types are refused when the pool derives its profile.
        architecture = known.pop() if len(known) == 1 else None
    if architecture is not None:
        problems += [
            Problem((*at, "node_image"), problem)
            for problem in tke_catalog.node_image_problems(architecture, pool.get("node_image"))
        ]
    driver = pool.get("gpu_driver")
    installs = args.get("install_gpu_driver", True) and pool.get("accelerator_model") is not None
    if driver is None and installs:
        problems.append(
            Problem(
                (*at, "gpu_driver"),
                "required: TKE installs the NVIDIA driver on this GPU pool"
                " (install_gpu_driver), and which driver and CUDA packages it offers depends on"
                " the image and GPU model (unverified here); name the ones TKE's node pool form"
                " lists",
            )
        )
    if driver is not None and not installs:
        problems.append(
            Problem(
                (*at, "gpu_driver"),
                "applies only to GPU pools whose driver TKE installs (install_gpu_driver true)",
            )
        )
    for key, problem in tke_catalog.gpu_driver_problems(driver) if driver is not None else []:
        problems.append(Problem((*at, "gpu_driver", *((key,) if key else ())), problem))
    return problems


def service_range_problems(args: ClusterArgs) -> list[Problem]:
    """EKS takes a service CIDR, TKE's global router a share of the pod CIDR."""
    max_services = args.get("max_services")
    if args.get("cloud") != "tencentcloud":
        if max_services is not None:
            return [Problem(("max_services",), "applies only to tencentcloud")]
        return []
    if args.get("service_cidr") is not None:
        return [Problem(("service_cidr",), tke_catalog.GR_SERVICE_CIDR_REFUSAL)]
    pod_cidr = args.get("pod_cidr")
    if max_services is None or pod_cidr is None:
        return []
    try:
        addresses = ipaddress.IPv4Network(pod_cidr).num_addresses
    except ValueError:
        return []  # a malformed pod_cidr is reported where the network is checked
    return [
        Problem(("max_services",), problem)
        for problem in tke_catalog.max_services_problems(max_services, addresses)
    ]


def cluster_problems(name: str, args: ClusterArgs) -> list[Problem]:
    """Every problem of the plain (non-Output) arguments, node pools included, by property
    path; empty when the cluster can be built."""
    problems: list[Problem] = []
    cloud = args.get("cloud")
    if cloud not in CLOUDS:
        return [Problem(("cloud",), f"must be one of {', '.join(CLOUDS)}, got {cloud!r}")]
    version = args.get("kubernetes_version")
    if cloud != "attached":
        supported = catalog.supported_kubernetes_versions(cloud)
        if version not in supported:
            problems.append(
                Problem(
                    ("kubernetes_version",),
                    f"{version!r} is not supported on {cloud} ({', '.join(supported)})",
                )
            )
        problems += own_infrastructure_problems(args)
        network_given = args.get("existing_network") is not None
        for key in ("region", *(() if network_given else ("vpc_cidr",)), "cloud_provider"):
            if args.get(key) is None:
                problems.append(Problem((key,), f"{key} is required on {cloud}"))
        if cloud == "aws" and not args.get("deployer_role_arn"):
            problems.append(
                Problem(
                    ("deployer_role_arn",),
                    "deployer_role_arn is required on aws (the role Pulumi uses inside the"
                    " cluster: the creator gets no implicit admin)",
                )
            )
        existing = args.get("existing_cluster") is not None
        if cloud == "tencentcloud" and args.get("pod_cidr") is None and not existing:
            problems.append(Problem(("pod_cidr",), "pod_cidr is required on tencentcloud"))
        problems += service_range_problems(args)
        if args.get("attached") is not None:
            problems.append(Problem(("attached",), "applies only to cloud attached"))
    elif args.get("attached") is None:
        problems.append(Problem(("attached",), "attached (the kubeconfig) is required"))
    else:
        for key in OWN_INFRASTRUCTURE_KEYS:
            if args.get(key) is not None:
                problems.append(Problem((key,), "does not apply to attached clusters"))
    for message in catalog.zone_id_problems(args.get("availability_zone_ids"), args.get("region")):
        problems.append(Problem(("availability_zone_ids",), message))
    if cloud != "aws" and args.get("availability_zone_ids"):
        problems.append(
            Problem(("availability_zone_ids",), "availability zone IDs are AWS's, on aws only")
        )
    pools = list(args.get("node_pools") or [])
    names = [pool.get("name") for pool in pools]
    duplicates = sorted({str(pool) for pool in names if names.count(pool) > 1})
    if duplicates:
        problems.append(
            Problem(("node_pools",), f"node pool names repeat: {', '.join(duplicates)}")
        )
    version_ok = isinstance(version, str)
    for index, pool in enumerate(pools):
        problems += cloud_pool_problems(pool, args, ("node_pools", index))
        problems += pool_problems(
            cloud,
            f"{name}-{pool.get('name')}",
            pool,
            version if version_ok else None,
            ("node_pools", index),
        )
    return problems


def validate_args(name: str, args: ClusterArgs) -> None:
    """Raise `ArgumentsError` (a `pulumi.InputPropertiesError`) listing every problem of the
    arguments (`cluster_problems`)."""
    raise_problems("Cluster", name, cluster_problems(name, args))


class Cluster(pulumi.ComponentResource):
    """A cluster with its node pools and an explicit Kubernetes provider."""

    cloud: str
    """`aws`, `tencentcloud` or `attached`."""
    kubernetes_version: str
    """Control-plane minor version."""
    arm_opt_in_taint: bool
    """Whether ARM pools carry the opt-in taint."""
    install_gpu_driver: bool
    """Whether the cloud installs GPU drivers on GPU nodes."""
    backend: ClusterBackend
    """The cloud backend building this cluster (used by its node pools)."""
    node_pools: list[NodePool]
    """The cluster's node pools."""
    endpoint: pulumi.Output[str]
    """API server URL."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (a Pulumi secret)."""
    oidc_issuer: pulumi.Output[str | None] | None
    """Service-account issuer URL, where the cloud has one (resolves to None on an existing
    TKE cluster whose service-account OIDC is off)."""
    k8s_provider: k8s.Provider
    """Explicit Kubernetes provider for everything installed inside."""
    info: ClusterInfo
    """What the platform services and tenants need, the same on every cloud."""

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Every problem of the arguments (its pools' too), before anything registers.
        validate_args(name, args)
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.cloud = args["cloud"]
        self.kubernetes_version = args["kubernetes_version"]
        self.arm_opt_in_taint = bool(args.get("arm_opt_in_taint", False))
        install = args.get("install_gpu_driver")
        self.install_gpu_driver = install if install is not None else True
        self.backend = backend_class(self.cloud)(self, name, args)
        self.backend.create_control_plane()
        self.node_pools = [
            NodePool(
                f"{name}-{pool['name']}",
                {**pool, "cluster": self},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for pool in args.get("node_pools") or []
        ]
        access = self.backend.finish(self.node_pools)
        self.endpoint = access.endpoint
        self.kubeconfig = pulumi.Output.secret(access.kubeconfig)
        self.oidc_issuer = access.oidc_issuer
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            context=access.context,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(access.ready)),
        )
        self.info = ClusterInfo(
            name=name,
            cloud=self.cloud,
            region=args.get("region"),
            kubernetes_version=self.kubernetes_version,
            endpoint=self.endpoint,
            kubeconfig=self.kubeconfig,
            k8s_provider=self.k8s_provider,
            oidc_issuer=self.oidc_issuer,
            node_pools=[pool.profile for pool in self.node_pools],
            cloud_provider=args.get("cloud_provider"),
            cloud_cluster_id=access.cloud_cluster_id,
            vpc_id=access.vpc_id,
            node_subnet_ids=list(access.node_subnet_ids),
            depends_on=[*self.node_pools, *access.ready],
        )
        # What the cloud needs inside (EKS: default StorageClass, cluster autoscaler): what is
        # installed later (volumes of the platform's add-ons) waits for it.
        self.info.depends_on.extend(self.backend.install_in_cluster(self.info))
        self.register_outputs(
            {
                "cloud": self.cloud,
                "region": args.get("region"),
                "kubernetes_version": self.kubernetes_version,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_issuer": self.oidc_issuer,
                "node_pools": [pool.profile.name for pool in self.node_pools],
            }
        )
