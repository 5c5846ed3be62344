"""What the checks need to know about an environment, derived from its spec and the catalog
the program itself uses, never from a rendering: preflight registers no resources.

Each fact carries the spec key it comes from, so a finding names the key to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..components import catalog
from ..components.catalog import tke as tke_catalog
from ..stacks.spec import ClusterSpec, EnvironmentSpec, NodePoolConfig

GROUP_FIELDS = ("admins", "developers", "viewers")


@dataclass(frozen=True)
class PoolFacts:
    """One node pool as capacity and placement checks see it."""

    cluster: str
    name: str
    key: str
    """`clusters[i].node_pools[j]`."""
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    spot: bool
    vcpu: int
    """vCPUs of the pool's largest instance type (the catalog's figure): the demand of one
    node when the autoscaler may pick any of the types."""
    gpu: bool
    architecture: str
    node_image: str | None = None
    """Tencent Cloud: the image the pool's nodes run (`node_image`, else the x86 default);
    None for an ARM pool that names none (the spec rules refuse that)."""


@dataclass(frozen=True)
class ClusterFacts:
    """One cluster of a managed cloud."""

    name: str
    key: str
    """`clusters[i]`."""
    cloud: str
    region: str
    kubernetes_version: str
    zones: tuple[str, ...]
    """The zones the program spreads subnets and pools over (catalog/regions.yaml)."""
    pools: tuple[PoolFacts, ...]


@dataclass(frozen=True)
class Principal:
    """A role the program references but does not create."""

    name: str
    key: str
    """The spec key that names it."""
    purpose: str
    arn: str = ""
    """AWS: the full ARN (its account may differ from the environment's)."""


@dataclass(frozen=True)
class AttachedFacts:
    """A cluster attached by kubeconfig: its API endpoint is reached, nothing is created."""

    name: str
    key: str
    kubeconfig_secret: str
    context: str | None


@dataclass
class EnvironmentFacts:
    """Everything preflight checks, per cloud."""

    name: str
    aws_account: str | None
    tencent_uin: str | None
    clusters: list[ClusterFacts] = field(default_factory=list)
    attached: list[AttachedFacts] = field(default_factory=list)
    aws_principals: list[Principal] = field(default_factory=list)
    registry_enabled: bool = True
    pull_through_caches: tuple[str, ...] = ()
    tencent_edition: str = "standard"
    gpu_driver: str = "image"
    tcr_instance_names: dict[str, str] = field(default_factory=dict)
    """TCR instance name per region of a Tencent cluster (`EnvironmentSpec.tcr_instance_name`)."""

    def of_cloud(self, cloud: str) -> list[ClusterFacts]:
        """The managed clusters on `cloud`, in spec order."""
        return [cluster for cluster in self.clusters if cluster.cloud == cloud]

    def registry_owners(self, cloud: str) -> list[ClusterFacts]:
        """The first cluster of each region of `cloud`: the one that owns the region's
        registry (stacks/platform.py `_registry_key`)."""
        owners: dict[str, ClusterFacts] = {}
        for cluster in self.of_cloud(cloud):
            owners.setdefault(cluster.region, cluster)
        return list(owners.values())


def _pool_facts(
    cloud: str, cluster: ClusterSpec, ci: int, pool: NodePoolConfig, pi: int
) -> PoolFacts:
    types = [catalog.instance_type(cloud, name) for name in pool.instance_types]
    known = [item for item in types if item is not None]
    architecture = known[0].architecture if known else (pool.architecture or "x86_64")
    return PoolFacts(
        cluster=cluster.name,
        name=pool.name,
        key=f"clusters[{ci}].node_pools[{pi}]",
        instance_types=tuple(pool.instance_types),
        min_size=pool.min_size,
        max_size=pool.max_size,
        spot=pool.spot,
        vcpu=max((item.vcpu for item in known), default=0),
        gpu=pool.accelerator is not None or any(item.has_gpu for item in known),
        architecture=architecture,
        node_image=pool.node_image
        or (
            tke_catalog.X86_NODE_IMAGE
            if cloud == "tencentcloud" and architecture == "x86_64"
            else None
        ),
    )


def aws_principals(env: EnvironmentSpec) -> list[Principal]:
    """Roles EKS access entries and the kubeconfig name but the program does not create:
    the deployer role, the break-glass role and every tenant group's role on an AWS cluster
    (stacks/clusters.py `deployer_role_arn`, components/identity.py)."""
    from ..components.identity import aws_role_arn, break_glass_role_arn

    if not any(cluster.cloud == "aws" for cluster in env.clusters):
        return []
    account = env.identity.aws_account()
    identity = env.identity
    principals = [
        Principal(
            identity.deployer_role,
            "identity.deployer_role",
            "the role `pulumi up` acts as inside EKS clusters (the kubeconfig assumes it)",
            f"arn:aws:iam::{account}:role/{identity.deployer_role}",
        ),
        Principal(
            identity.break_glass_role,
            "identity.break_glass_role",
            "the break-glass role (an EKS access entry with cluster admin)",
            break_glass_role_arn(account, identity.break_glass_role),
        ),
    ]
    aws_clusters = {cluster.name for cluster in env.clusters if cluster.cloud == "aws"}
    seen: set[str] = set()
    for ti, tenant in enumerate(env.tenants):
        if not aws_clusters & set(tenant.clusters):
            continue
        for level in GROUP_FIELDS:
            for gi, group in enumerate(getattr(tenant.groups, level)):
                if group in seen:
                    continue
                seen.add(group)
                arn = aws_role_arn(identity.aws_role_arn_pattern, account, group)
                principals.append(
                    Principal(
                        arn.rsplit("/", 1)[-1],
                        f"tenants[{ti}].groups.{level}[{gi}]",
                        f"the IAM role of group {group!r} (an EKS access entry)",
                        arn,
                    )
                )
    return principals


def environment_facts(env: EnvironmentSpec) -> EnvironmentFacts:
    """The facts of a validated environment."""
    facts = EnvironmentFacts(
        name=env.name,
        aws_account=env.identity.aws_account_id,
        tencent_uin=env.identity.tencent_uin,
        registry_enabled=env.registry.enabled,
        pull_through_caches=tuple(env.registry.pull_through_caches),
        tencent_edition=env.registry.tencent_edition,
        gpu_driver=env.gpu.driver,
    )
    if env.registry.enabled and any(c.cloud == "tencentcloud" for c in env.clusters):
        facts.tcr_instance_names = {
            c.region: env.tcr_instance_name(c.region)
            for c in env.clusters
            if c.cloud == "tencentcloud" and c.region is not None
        }
    for ci, cluster in enumerate(env.clusters):
        key = f"clusters[{ci}]"
        if cluster.cloud == "attached":
            attached = cluster.attached
            if attached is not None:
                facts.attached.append(
                    AttachedFacts(cluster.name, key, attached.kubeconfig_secret, attached.context)
                )
            continue
        region = cluster.region or ""
        facts.clusters.append(
            ClusterFacts(
                name=cluster.name,
                key=key,
                cloud=cluster.cloud,
                region=region,
                kubernetes_version=cluster.kubernetes_version,
                zones=tuple(catalog.availability_zones(cluster.cloud, region)),
                pools=tuple(
                    _pool_facts(cluster.cloud, cluster, ci, pool, pi)
                    for pi, pool in enumerate(cluster.node_pools)
                ),
            )
        )
    facts.aws_principals = aws_principals(env)
    return facts
