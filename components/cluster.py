"""`Cluster`: a Kubernetes cluster on AWS (EKS), Tencent Cloud (TKE) or attached by kubeconfig,
with its node pools, handing the same `ClusterInfo` to everything installed inside.

The component is named after the cluster (the CLI groups resources by their nearest
`tkestack:index:Cluster`), its children `<name>-<role>`, its node pools `<name>-<pool>`.
The cloud specifics live in `components/clouds/<cloud>.py` behind `ClusterBackend`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from . import catalog
from .clouds import ClusterBackend, backend_class
from .clouds.access import DeployerAccess
from .existing import ExistingNetwork, ExistingRoles
from .node_pool import NodePool, PoolSpec
from .profile import ClusterInfo

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
    """Kubernetes service CIDR; default: the cloud's (EKS 172.20.0.0/16 or 10.100.0.0/16)."""
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
    log_retention_days: int
    """AWS: control-plane log retention in days (rounded up to a CloudWatch value). Default 30."""
    deployer_role_arn: str | None
    """AWS (required there): ARN of the IAM role `pulumi up` acts as inside the cluster. The
    cluster's creator gets no implicit admin; this role gets an explicit access entry with
    `AmazonEKSClusterAdminPolicy`, and the kubeconfig assumes it (`aws eks get-token
    --role-arn`), so the identity running Pulumi must be allowed to assume it."""
    aws_profile: str
    """AWS: named profile of the shared AWS config the kubeconfig's `aws eks get-token` runs
    with (exec `env` `AWS_PROFILE`), so kubectl and the Kubernetes provider use the same
    credentials as the AWS provider. Default: none, the caller's ambient credentials."""
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


def validate_own_infrastructure(name: str, args: ClusterArgs) -> None:
    """Check the bring-your-own arguments of a managed cluster; raises ValueError naming the
    argument."""
    cloud = args["cloud"]
    network = args.get("existing_network")
    if network is not None:
        if args.get("vpc_cidr") is not None:
            raise ValueError(
                f"cluster {name}: vpc_cidr does not apply with existing_network (the VPC exists)"
            )
        subnets = list(network.get("node_subnet_ids") or [])
        if network.get("vpc_id") is None or not subnets:
            raise ValueError(f"cluster {name}: existing_network needs vpc_id and node_subnet_ids")
        if cloud == "aws" and args.get("existing_cluster") is None and len(subnets) < 2:
            raise ValueError(
                f"cluster {name}: existing_network.node_subnet_ids: an EKS control plane needs"
                " subnets in at least two zones"
            )
    if args.get("existing_cluster") is not None and network is None:
        raise ValueError(
            f"cluster {name}: existing_cluster needs existing_network (its VPC and the subnets"
            " of new node pools)"
        )
    if args.get("existing_roles") is not None and cloud != "aws":
        raise ValueError(f"cluster {name}: existing_roles are IAM roles, on aws only")
    prefix = args.get("name_prefix")
    if prefix is not None and not NAME_PREFIX.match(prefix):
        raise ValueError(
            f"cluster {name}: name_prefix {prefix!r} may hold only letters, digits and '-'"
        )


def validate_args(name: str, args: ClusterArgs) -> None:
    """Check the plain (non-Output) arguments; raises ValueError naming the argument."""
    cloud = args.get("cloud")
    if cloud not in CLOUDS:
        raise ValueError(f"cluster {name}: cloud must be one of {', '.join(CLOUDS)}, got {cloud!r}")
    version = args.get("kubernetes_version")
    if cloud != "attached":
        supported = catalog.supported_kubernetes_versions(cloud)
        if version not in supported:
            raise ValueError(
                f"cluster {name}: kubernetes_version {version!r} is not supported on {cloud}"
                f" ({', '.join(supported)})"
            )
        validate_own_infrastructure(name, args)
        network_given = args.get("existing_network") is not None
        for key in ("region", *(() if network_given else ("vpc_cidr",)), "cloud_provider"):
            if args.get(key) is None:
                raise ValueError(f"cluster {name}: {key} is required on {cloud}")
        if cloud == "aws" and not args.get("deployer_role_arn"):
            raise ValueError(
                f"cluster {name}: deployer_role_arn is required on aws (the role Pulumi uses"
                " inside the cluster: the creator gets no implicit admin)"
            )
        existing = args.get("existing_cluster") is not None
        if cloud == "tencentcloud" and args.get("pod_cidr") is None and not existing:
            raise ValueError(f"cluster {name}: pod_cidr is required on tencentcloud")
        if args.get("attached") is not None:
            raise ValueError(f"cluster {name}: attached applies only to cloud attached")
    elif args.get("attached") is None:
        raise ValueError(f"cluster {name}: attached (the kubeconfig) is required")
    else:
        for key in OWN_INFRASTRUCTURE_KEYS:
            if args.get(key) is not None:
                raise ValueError(f"cluster {name}: {key} does not apply to attached clusters")
    names = [pool["name"] for pool in args.get("node_pools") or []]
    duplicates = sorted({pool for pool in names if names.count(pool) > 1})
    if duplicates:
        raise ValueError(f"cluster {name}: node pool names repeat: {', '.join(duplicates)}")


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
    oidc_issuer: pulumi.Output[str] | None
    """Service-account issuer URL, where the cloud has one."""
    k8s_provider: k8s.Provider
    """Explicit Kubernetes provider for everything installed inside."""
    info: ClusterInfo
    """What the platform services and tenants need, the same on every cloud."""

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        validate_args(name, args)
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
            cloud=self.cloud,  # type: ignore[arg-type]
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
