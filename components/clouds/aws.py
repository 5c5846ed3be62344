"""EKS on AWS: VPC over three zones, KMS envelope encryption, IAM roles, the EKS control plane
with access entries and control-plane logging, pinned core add-ons, and managed node groups.

Resource graph of one cluster `<name>` (all children of the `Cluster` component, explicit
provider of the region):

    <name>-vpc, <name>-{private,public}-<zone id>, <name>-igw, <name>-nat-<zone id>, route
    tables (zones by Availability Zone ID, `use1-az1`: the same datacenter in every account)
    <name>-secrets-key (+ alias)        envelope encryption of Kubernetes secrets
    <name>-cluster-role, <name>-node-role, <name>-ebs-csi-role (+ policy attachments; the
    node role may fill ECR pull-through caches, `<name>-node-role-pull-through`)
    <name>-control-plane-logs           CloudWatch log group, retention set by us
    <name>-eks                          the control plane (API authentication mode)
    <name>-oidc                         IAM OIDC provider (IRSA for workloads that need it)
    <name>-{vpc-cni,kube-proxy,eks-pod-identity-agent}   add-ons the nodes need to join
    <name>-{coredns,aws-ebs-csi-driver}                  add-ons that need nodes to run on

Node pools (children of their `NodePool`): `<name>-<pool>-launch-template` and
`<name>-<pool>-node-group`.

Access entries for people (tenant groups, the break-glass role) are made by the identity
component (components/identity.py) from `ClusterInfo.cloud_cluster_id`. The cluster's creator
gets no implicit admin (`bootstrapClusterCreatorAdminPermissions: false`): the one role Pulumi
acts as inside the cluster (`deployer_role_arn`) gets an explicit, visible access entry
`<name>-deployer` with `AmazonEKSClusterAdminPolicy` (`<name>-deployer-admin`), and the
kubeconfig assumes that role, so what is installed inside waits for the entry.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .. import catalog
from ..addon import check_addons, install_addon
from ..contracts import POOL_LABEL, ClusterInfo, NodePoolProfile
from ..identity import EKS_CLUSTER_ADMIN_POLICY_ARN
from ..registry import PULL_THROUGH_UPSTREAMS
from . import ClusterAccess, ClusterBackend, PoolRequest, access
from .aws_in_cluster import (
    AUTOSCALER_NAMESPACE,
    AUTOSCALER_SERVICE_ACCOUNT,
    autoscaler_addon,
    autoscaler_policy,
    gp3_storage_class_args,
)

CONTROL_PLANE_LOG_TYPES: tuple[str, ...] = (
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
)
"""Every EKS control-plane log stream: audit and authenticator logs are what an incident needs."""

ADDONS_BEFORE_NODES: tuple[str, ...] = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
"""Installed before node groups: with `bootstrap_self_managed_addons=False` a node without the
VPC CNI never becomes Ready, and the pod identity agent must run before pods ask for roles."""

ADDONS_AFTER_NODES: tuple[str, ...] = ("coredns", "aws-ebs-csi-driver")
"""Installed after node groups: they run Deployments, which stay DEGRADED without nodes."""

VPC_CNI_CONFIGURATION: dict[str, str] = {"enableNetworkPolicy": "true"}
"""Configuration values of the `vpc-cni` add-on: its network policy agent enforces Kubernetes
NetworkPolicies (tenant default-deny). Off by default; the key and its string value are the EKS
user guide's (awsdocs/amazon-eks-user-guide latest/ug/networking/eks-networking-add-ons.adoc,
"Enable network policy", `--configuration-values '{"enableNetworkPolicy": "true"}'`, commit
4d52b4d), which requires VPC CNI 1.14 or later on EKS 1.25 or later (the catalog pins newer)."""

EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
"""Service account of the EBS CSI controller, which gets its IAM role through Pod Identity."""

EBS_CSI_NAMESPACE = "kube-system"
"""Namespace the EKS add-on runs the EBS CSI controller in."""

MANAGED_POLICY = "arn:aws:iam::aws:policy/{}"
"""Catalog regions are all in the `aws` partition (no China or GovCloud regions)."""

CLUSTER_ROLE_POLICIES: tuple[str, ...] = ("AmazonEKSClusterPolicy",)
NODE_ROLE_POLICIES: tuple[str, ...] = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
"""Node role: join the cluster, run the VPC CNI, pull images, and be reachable through SSM
Session Manager instead of SSH (no key pairs, no open ports)."""

NODE_PULL_THROUGH_ACTIONS: tuple[str, ...] = (
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
)
"""What pulling through an ECR pull-through cache needs beyond pulling: import the upstream
image, and create its repository on the first pull (ECR user guide pull-through-cache-iam.html,
"IAM permissions required to sync an upstream registry"). AmazonEC2ContainerRegistryPullOnly
grants neither, so nodes (kubelet pulls with the node role) get them, on the cache prefixes'
repositories of their region only."""

EBS_CSI_POLICIES: tuple[str, ...] = ("service-role/AmazonEBSCSIDriverPolicy",)

CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
"""The only values CloudWatch Logs accepts for `retention_in_days`
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html)."""

ROOT_DEVICE = "/dev/xvda"
"""Root device name of the EKS-optimized AL2023 AMIs."""

IMDS_HOP_LIMIT = 1
"""IMDSv2 response hop limit. 1 means a pod in its own network namespace (one extra hop) cannot
read the node role's credentials from the instance metadata service; pods get AWS credentials
through EKS Pod Identity or IRSA instead. The agents that need IMDS (VPC CNI, pod identity
agent, kube-proxy) run on the host network, where the limit of 1 still reaches IMDS. (EKS's
own default launch template uses 2, which leaves node credentials readable from every pod.)"""

TAINT_EFFECTS: dict[str, str] = {
    "NoSchedule": "NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
}
"""Kubernetes taint effects -> the EKS API's spelling."""


def ami_type(profile: NodePoolProfile) -> str:
    """EKS AMI type of a pool: Amazon Linux 2023, standard or NVIDIA, for its architecture.

    Per https://docs.aws.amazon.com/eks/latest/userguide/ml-eks-optimized-ami.html the AL2023
    x86_64 NVIDIA variant covers g4dn/g5/g6/g6e/p4d/p5 and the AL2023 ARM NVIDIA variant
    covers g5g (and the Grace p6e families).
    """
    if profile.is_gpu:
        return "AL2023_ARM_64_NVIDIA" if profile.architecture == "arm64" else "AL2023_x86_64_NVIDIA"
    return "AL2023_ARM_64_STANDARD" if profile.architecture == "arm64" else "AL2023_x86_64_STANDARD"


def eks_taints(profile: NodePoolProfile) -> list[dict[str, str]]:
    """The pool's taints in the EKS API's form."""
    return [
        {"key": taint.key, "value": taint.value, "effect": TAINT_EFFECTS[taint.effect]}
        for taint in profile.taints
    ]


def log_retention(days: int) -> int:
    """The smallest retention CloudWatch accepts that keeps logs at least `days` days."""
    for allowed in CLOUDWATCH_RETENTION_DAYS:
        if allowed >= days:
            return allowed
    return CLOUDWATCH_RETENTION_DAYS[-1]


def zone_id_order(zone_id: str) -> tuple[str, int]:
    """Sort key of AZ IDs: `use1-az10` after `use1-az9`."""
    prefix, _, number = zone_id.rpartition("-az")
    return prefix, int(number) if number.isdigit() else 0


def choose_zone_ids(offered: Sequence[str], region: str) -> list[str]:
    """The three zones a new cluster spreads over: the lowest-numbered zone IDs the account
    offers in `region`, without those EKS refuses control-plane subnets in. By ID, never by
    letter: letters map to different datacenters per account, and `us-east-1c` may be
    `use1-az3` (awsdocs/amazon-eks-user-guide latest/ug/networking/network-reqs.adoc). New
    zones get higher numbers, so the choice of an existing account does not move."""
    refused = set(catalog.eks_unsupported_zone_ids(region))
    usable = sorted({zone for zone in offered if zone not in refused}, key=zone_id_order)
    if len(usable) < 3:
        raise ValueError(
            f"region {region}: the account offers {len(usable)} zones EKS accepts"
            f" ({', '.join(usable) or 'none'}); a cluster spreads over three"
        )
    return usable[:3]


@dataclass(frozen=True)
class ZoneSubnets:
    """The subnets of one availability zone."""

    zone: str
    """The zone's AZ ID (`use1-az1`): the same datacenter in every account."""
    private_cidr: str
    """Nodes and pods (VPC CNI gives pods VPC addresses, so this is the big one)."""
    public_cidr: str
    """Internet-facing load balancers and the zone's NAT gateway only."""


def plan_subnets(vpc_cidr: str, zones: Sequence[str]) -> list[ZoneSubnets]:
    """Split the VPC: three quarters are the zones' private subnets, the last quarter holds
    three small public subnets (a /16 gives /18 private and /20 public subnets)."""
    network = ipaddress.IPv4Network(vpc_cidr)
    quarters = list(network.subnets(prefixlen_diff=2))
    publics = list(quarters[3].subnets(prefixlen_diff=2))
    return [
        ZoneSubnets(zone, str(quarters[index]), str(publics[index]))
        for index, zone in enumerate(zones[:3])
    ]


def build_kubeconfig(
    cluster_name: str,
    endpoint: str,
    ca_data: str,
    region: str,
    role_arn: str,
    aws_profile: str | None = None,
) -> str:
    """Kubeconfig for an EKS cluster with `aws eks get-token` exec authentication.

    No token is stored: every client (the Kubernetes provider included) asks AWS for a
    15-minute token, assuming `role_arn` (the deployer role, the one with an access entry) with
    the credentials of whoever runs it, from the named `aws_profile` when one is given.

    The profile is the command's `--profile` argument, not `AWS_PROFILE` in the exec `env`: the
    AWS CLI takes credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` before the
    profile of `AWS_PROFILE`, and only an explicit `--profile` outranks them (boto/botocore
    PR #486 "Explicit profile overrides environment variables", for aws/aws-cli#113; AWS CLI
    user guide, cli-configure-envvars.html "Precedence of options"). CI runners that
    export `AWS_*` keys would otherwise get a token for the wrong identity. pulumi-eks does the
    same (pulumi/pulumi-eks nodejs/eks/cluster/cluster.ts `generateKubeconfig`, commit 1069dbb).
    """
    exec_config: dict[str, object] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": [
            "--region",
            region,
            "eks",
            "get-token",
            "--cluster-name",
            cluster_name,
            "--role-arn",
            role_arn,
            "--output",
            "json",
            *(["--profile", aws_profile] if aws_profile else []),
        ],
        "interactiveMode": "Never",
    }
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {"server": endpoint, "certificate-authority-data": ca_data},
            }
        ],
        "contexts": [
            {"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}
        ],
        "current-context": cluster_name,
        "preferences": {},
        "users": [
            {
                "name": cluster_name,
                "user": {"exec": exec_config},
            }
        ],
    }
    return json.dumps(config, sort_keys=True)


def output_field(value: Any, key: str) -> Any:
    """A field of a nested provider output, whether the SDK hands it over typed or as a dict."""
    if isinstance(value, Mapping):
        return cast("Mapping[str, Any]", value).get(key)
    return getattr(value, key)


def oidc_issuer_of(identities: Sequence[Any]) -> str:
    """The OIDC issuer URL in an EKS cluster's `identities` output."""
    return str(output_field(output_field(identities[0], "oidcs")[0], "issuer"))


def _assume_role_policy(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": list(actions),
                }
            ],
        },
        sort_keys=True,
    )


def pod_identity_trust(cluster_arn: str, namespace: str, service_account: str) -> str:
    """Trust policy of a role that EKS Pod Identity hands to one service account of one cluster.

    Pod Identity assumes roles with `sts:TagSession` and sets session tags, among them
    `eks-cluster-arn`, `kubernetes-namespace` and `kubernetes-service-account`
    (awsdocs/amazon-eks-user-guide latest/ug/manage-access/aws-access/service-accounts.adoc,
    "List of session tags added by EKS Pod Identity", commit 4d52b4d). Without conditions on
    them, any Pod Identity association in the account (any cluster, any namespace) could be
    given the role. The cluster ARN names account, region and cluster at once.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EksPodIdentityForOneServiceAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {
                        "StringEquals": {
                            "aws:RequestTag/eks-cluster-arn": cluster_arn,
                            "aws:RequestTag/kubernetes-namespace": namespace,
                            "aws:RequestTag/kubernetes-service-account": service_account,
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


class Backend(ClusterBackend):
    """EKS with managed node groups."""

    cloud = "aws"

    def create_control_plane(self) -> None:
        """Network, encryption key, roles, log group, control plane, identity, early add-ons."""
        self.read_managed_basics()
        self.minor: str = self.args["kubernetes_version"]
        self.addon_versions = catalog.eks_addon_versions(self.minor)
        self.autoscaler_wanted = False
        """Whether a pool lets the cluster autoscaler own its desired size (it is installed)."""
        self._create_network()
        self.cluster_name: pulumi.Output[str]
        """The EKS cluster name, as an output of what creates (or reads) the cluster."""
        if self.args.get("existing_cluster") is not None:
            self._read_existing_cluster()
            return
        self._create_secrets_key()
        self._create_roles()
        self._create_control_plane()
        self._create_ebs_csi_role()
        self._create_deployer_access()
        self._create_identity()
        self.addons_before_nodes = [self._create_addon(name) for name in ADDONS_BEFORE_NODES]

    # -- network ------------------------------------------------------------------------------

    def _tagged(self, name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**self.tags, "Name": self.prefixed(name), **(extra or {})}

    def _create_network(self) -> None:
        if self.adopt_existing_network():
            return
        vpc_cidr = self.args.get("vpc_cidr")
        if vpc_cidr is None:
            raise ValueError(f"cluster {self.name}: an EKS cluster needs vpc_cidr")
        zone_ids = self._zone_ids()
        plan = plan_subnets(vpc_cidr, zone_ids)
        # Before zone IDs, resources were named after the catalog's zone letters, in the same
        # order: alias them by position so an existing network is adopted, not replaced. Where
        # the account's letter and ID differ, `availability_zone_id` shows the difference as a
        # replacement in the preview: pin `availability_zone_ids` to the zones the subnets are
        # in (docs/upgrade-log.md) before updating such a stack.
        old_names = catalog.availability_zones("aws", self.region)
        owned = {f"kubernetes.io/cluster/{self.cloud_name}": "owned"}
        self.vpc = aws.ec2.Vpc(
            f"{self.name}-vpc",
            cidr_block=vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # required for private API endpoint resolution
            tags=self._tagged(f"{self.name}-vpc"),
            opts=self.child_options(protect=self.protect),
        )
        igw = aws.ec2.InternetGateway(
            f"{self.name}-igw",
            vpc_id=self.vpc.id,
            tags=self._tagged(f"{self.name}-igw"),
            opts=self.child_options(),
        )
        public_routes = aws.ec2.RouteTable(
            f"{self.name}-public-routes",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=self._tagged(f"{self.name}-public-routes"),
            opts=self.child_options(),
        )
        per_zone_nat = bool(self.args.get("high_availability_nat", False))
        self.private_subnets: list[aws.ec2.Subnet] = []
        self.public_subnets: list[aws.ec2.Subnet] = []
        nat_gateways: list[aws.ec2.NatGateway] = []

        def renamed(kind: str, index: int, **options: Any) -> pulumi.ResourceOptions:
            alias = pulumi.Alias(name=f"{self.name}-{kind}-{old_names[index]}")
            return self.child_options(aliases=[alias], **options)

        for index, zone_plan in enumerate(plan):
            zone = zone_plan.zone

            public = aws.ec2.Subnet(
                f"{self.name}-public-{zone}",
                vpc_id=self.vpc.id,
                cidr_block=zone_plan.public_cidr,
                availability_zone_id=zone,
                map_public_ip_on_launch=False,  # only load balancers and NAT live here
                tags=self._tagged(
                    f"{self.name}-public-{zone}", {**owned, "kubernetes.io/role/elb": "1"}
                ),
                opts=renamed("public", index=index),
            )
            aws.ec2.RouteTableAssociation(
                f"{self.name}-public-{zone}",
                subnet_id=public.id,
                route_table_id=public_routes.id,
                opts=renamed("public", index=index),
            )
            self.public_subnets.append(public)
            if per_zone_nat or index == 0:
                # One NAT per zone keeps a zone outage from cutting the others' egress (prod);
                # a single NAT saves two gateways' hourly cost (dev, staging).
                eip = aws.ec2.Eip(
                    f"{self.name}-nat-{zone}",
                    domain="vpc",
                    tags=self._tagged(f"{self.name}-nat-{zone}"),
                    opts=renamed("nat", index=index),
                )
                nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"{self.name}-nat-{zone}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags=self._tagged(f"{self.name}-nat-{zone}"),
                        opts=renamed("nat", index=index, depends_on=[igw]),
                    )
                )
            private = aws.ec2.Subnet(
                f"{self.name}-private-{zone}",
                vpc_id=self.vpc.id,
                cidr_block=zone_plan.private_cidr,
                availability_zone_id=zone,
                map_public_ip_on_launch=False,
                tags=self._tagged(
                    f"{self.name}-private-{zone}",
                    {**owned, "kubernetes.io/role/internal-elb": "1"},
                ),
                opts=renamed("private", index=index),
            )
            self.private_subnets.append(private)
        # The deployer's hub (components/clouds/access.py): attached before the private route
        # tables, whose inline routes send the deployer's CIDRs to it.
        self.hub_attachment = access.aws_hub_attachment(
            self, aws, [subnet.id for subnet in self.private_subnets]
        )
        hub_routes = access.aws_hub_routes(self, aws, self.hub_attachment)
        self.deployer_path: list[pulumi.Resource] = (
            [self.hub_attachment] if self.hub_attachment is not None else []
        )
        """What the deployer's runners need to reach the API (hub attachment, hub routes, 443
        ingress): everything installed inside the cluster waits for it."""
        for index, (zone_plan, private) in enumerate(zip(plan, self.private_subnets, strict=True)):
            zone = zone_plan.zone
            nat = nat_gateways[min(index, len(nat_gateways) - 1)]
            private_routes = aws.ec2.RouteTable(
                f"{self.name}-private-routes-{zone}",
                vpc_id=self.vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id),
                    *hub_routes,
                ],
                tags=self._tagged(f"{self.name}-private-routes-{zone}"),
                # Pass this zone's position, or every table would alias another zone's old name.
                opts=renamed("private-routes", index=index),
            )
            if hub_routes:
                self.deployer_path.append(private_routes)
            aws.ec2.RouteTableAssociation(
                f"{self.name}-private-{zone}",
                subnet_id=private.id,
                route_table_id=private_routes.id,
                opts=renamed("private", index=index),
            )
        self.vpc_id = self.vpc.id
        self.node_subnet_ids = [subnet.id for subnet in self.private_subnets]

    def _zone_ids(self) -> list[str]:
        """`availability_zone_ids` when given (validated), else the three lowest-numbered zone
        IDs the account offers in the region that EKS accepts (`choose_zone_ids`): real
        Availability Zones only (no Local or Wavelength Zones, nothing to opt in to)."""
        pinned = self.args.get("availability_zone_ids")
        if pinned:
            return list(pinned)
        offered = aws.get_availability_zones(
            # Not filtered by state: an impaired zone must not shift the choice (and replace
            # every subnet); EKS reports an unavailable zone itself. `opt-in-not-required`
            # keeps Availability Zones only, no Local Zones (pulumi-aws 7.51.1
            # get_availability_zones, "Only Availability Zones (no Local Zones)").
            exclude_zone_ids=catalog.eks_unsupported_zone_ids(self.region),
            filters=[
                aws.GetAvailabilityZonesFilterArgs(
                    name="opt-in-status", values=["opt-in-not-required"]
                ),
            ],
            opts=pulumi.InvokeOptions(
                parent=self.cluster, provider=self.args.get("cloud_provider")
            ),
        )
        return choose_zone_ids(list(offered.zone_ids), self.region)

    # -- keys, roles, control plane -----------------------------------------------------------

    def _create_secrets_key(self) -> None:
        self.secrets_key = aws.kms.Key(
            f"{self.name}-secrets-key",
            description=(
                f"Envelope encryption of Kubernetes secrets of EKS cluster {self.cloud_name}"
            ),
            enable_key_rotation=True,
            deletion_window_in_days=30 if self.protect else 7,
            tags=self._tagged(f"{self.name}-secrets-key"),
            opts=self.child_options(protect=self.protect),
        )
        aws.kms.Alias(
            f"{self.name}-secrets-key",
            name=f"alias/tkestack/{self.cloud_name}/secrets",
            target_key_id=self.secrets_key.key_id,
            opts=self.child_options(),
        )

    def _role(
        self, role: str, trust: pulumi.Input[str], policies: Sequence[str]
    ) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        created = aws.iam.Role(
            f"{self.name}-{role}",
            assume_role_policy=trust,
            tags=self._tagged(f"{self.name}-{role}"),
            opts=self.child_options(),
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{self.name}-{role}-{policy.rsplit('/', 1)[-1]}",
                role=created.name,
                policy_arn=MANAGED_POLICY.format(policy),
                opts=self.child_options(),
            )
            for policy in policies
        ]
        return created, attachments

    def _existing_role(self, key: str) -> pulumi.Input[str] | None:
        """The ARN of `existing_roles[key]`, or None when the component creates that role."""
        return (self.args.get("existing_roles") or {}).get(key)

    def _existing_or_new_role(
        self, key: str, role: str, trust: pulumi.Input[str], policies: Sequence[str]
    ) -> tuple[pulumi.Input[str], list[aws.iam.RolePolicyAttachment]]:
        """The ARN of `existing_roles[key]` when given (nothing created), else of a new role
        with the `trust` policy, with the policy attachments to wait for."""
        existing = self._existing_role(key)
        if existing is not None:
            return existing, []
        created, attachments = self._role(role, trust, policies)
        return created.arn, attachments

    def _create_node_role(self) -> None:
        existing = self._existing_role("node_role_arn")
        if existing is not None:
            self.node_role_arn, self.node_role_policies = existing, []
            return
        role, attachments = self._role(
            "node-role", _assume_role_policy("ec2.amazonaws.com"), NODE_ROLE_POLICIES
        )
        self.node_role_arn = role.arn
        self.node_role_policies = [*attachments, self._node_pull_through_policy(role)]

    def _node_pull_through_policy(self, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Nodes fill the region's ECR pull-through caches (`NODE_PULL_THROUGH_ACTIONS`)."""
        identity = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(
                parent=self.cluster, provider=self.args.get("cloud_provider")
            )
        )
        prefixes = sorted(PULL_THROUGH_UPSTREAMS)
        return aws.iam.RolePolicy(
            f"{self.name}-node-role-pull-through",
            role=role.id,
            name="ecr-pull-through-cache",
            policy=identity.account_id.apply(
                lambda account: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "FillPullThroughCaches",
                                "Effect": "Allow",
                                "Action": list(NODE_PULL_THROUGH_ACTIONS),
                                "Resource": [
                                    f"arn:aws:ecr:{self.region}:{account}:repository/{prefix}/*"
                                    for prefix in prefixes
                                ],
                            }
                        ],
                    },
                    sort_keys=True,
                )
            ),
            opts=self.child_options(),
        )

    def _create_roles(self) -> None:
        self.cluster_role_arn, self.cluster_role_policies = self._existing_or_new_role(
            "cluster_role_arn",
            "cluster-role",
            _assume_role_policy("eks.amazonaws.com"),
            CLUSTER_ROLE_POLICIES,
        )
        self._create_node_role()

    def _pod_identity_trust(self, namespace: str, service_account: str) -> pulumi.Output[str]:
        """`pod_identity_trust` for this cluster (its ARN is known once the cluster exists)."""
        return self.eks.arn.apply(lambda arn: pod_identity_trust(arn, namespace, service_account))

    def _create_ebs_csi_role(self) -> None:
        # Only the EBS CSI controller's service account in kube-system, of this cluster
        # (awsdocs/amazon-eks-user-guide latest/ug/storage/ebs-csi.adoc: the add-on runs as
        # `ebs-csi-controller-sa` in `kube-system`).
        self.ebs_csi_role_arn, self.ebs_csi_role_policies = self._existing_or_new_role(
            "ebs_csi_role_arn",
            "ebs-csi-role",
            self._pod_identity_trust(EBS_CSI_NAMESPACE, EBS_CSI_SERVICE_ACCOUNT),
            EBS_CSI_POLICIES,
        )

    def _create_control_plane(self) -> None:
        # EKS would create this log group itself with "never expire"; creating it first
        # (same name) puts its retention under our control.
        log_group = aws.cloudwatch.LogGroup(
            f"{self.name}-control-plane-logs",
            name=f"/aws/eks/{self.cloud_name}/cluster",
            retention_in_days=log_retention(int(self.args.get("log_retention_days", 30))),
            tags=self._tagged(f"{self.name}-control-plane-logs"),
            opts=self.child_options(),
        )
        exposure = self.args.get("endpoint_exposure", "private")
        public_cidrs = list(self.args.get("public_access_cidrs") or [])
        network_config: dict[str, Any] = {"ip_family": "ipv4"}
        if self.args.get("service_cidr"):
            network_config["service_ipv4_cidr"] = self.args.get("service_cidr")
        self.eks = aws.eks.Cluster(
            f"{self.name}-eks",
            name=self.cloud_name,
            version=catalog.kubernetes_full_version("aws", self.minor),
            role_arn=self.cluster_role_arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=self.node_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=exposure != "private",
                public_access_cidrs=public_cidrs if exposure != "private" else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                # Access entries only: no aws-auth ConfigMap to drift or be edited by hand.
                authentication_mode="API",
                # No hidden, permanent admin for whoever created the cluster: the deployer role
                # gets an explicit access entry instead (`_create_deployer_access`). Changing
                # this on an existing cluster replaces it (set at creation only).
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.secrets_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(**network_config),
            # We install vpc-cni, kube-proxy and CoreDNS as managed add-ons, pinned per version.
            bootstrap_self_managed_addons=False,
            deletion_protection=bool(self.args.get("deletion_protection", False)),
            tags=self._tagged(self.name),
            opts=self.child_options(
                protect=self.protect,
                depends_on=[log_group, *self.cluster_role_policies],
            ),
        )
        self.cluster_name = self.eks.name
        if not hasattr(self, "deployer_path"):
            self.deployer_path = []  # an adopted network: its routes are the enterprise's
        self.deployer_path += access.aws_api_ingress(
            self, aws, self.eks.vpc_config.apply(lambda config: config.cluster_security_group_id)
        )

    def _create_deployer_access(self) -> None:
        """The deployer role's access entry and cluster-scoped admin policy: how `pulumi up`
        installs the platform without the creator's implicit admin. The break-glass role is
        the only other admin (components/identity.py)."""
        role_arn = self.args.get("deployer_role_arn")
        if not role_arn:
            raise ValueError(f"cluster {self.name}: an EKS cluster needs deployer_role_arn")
        self.deployer_role_arn: str = role_arn
        entry = aws.eks.AccessEntry(
            f"{self.name}-deployer",
            cluster_name=self.eks.name,
            principal_arn=role_arn,
            type="STANDARD",
            tags=self._tagged(f"{self.name}-deployer"),
            opts=self.child_options(),
        )
        self.deployer_admin = aws.eks.AccessPolicyAssociation(
            f"{self.name}-deployer-admin",
            cluster_name=self.eks.name,
            principal_arn=entry.principal_arn,
            policy_arn=EKS_CLUSTER_ADMIN_POLICY_ARN,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=self.child_options(),
        )

    def _create_identity(self) -> None:
        self.oidc_issuer: pulumi.Output[str] = self.eks.identities.apply(oidc_issuer_of)
        aws.iam.OpenIdConnectProvider(
            f"{self.name}-oidc",
            url=self.oidc_issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=self._tagged(f"{self.name}-oidc"),
            opts=self.child_options(),
        )

    def _create_addon(
        self, addon: str, depends_on: Sequence[pulumi.Resource] = ()
    ) -> aws.eks.Addon:
        extra: dict[str, Any] = {}
        if addon == "vpc-cni":
            extra["configuration_values"] = json.dumps(VPC_CNI_CONFIGURATION, sort_keys=True)
        if addon == "aws-ebs-csi-driver":
            extra["pod_identity_associations"] = [
                aws.eks.AddonPodIdentityAssociationArgs(
                    role_arn=self.ebs_csi_role_arn, service_account=EBS_CSI_SERVICE_ACCOUNT
                )
            ]
            depends_on = [*depends_on, *self.ebs_csi_role_policies]
        return aws.eks.Addon(
            f"{self.name}-{addon}",
            cluster_name=self.eks.name,
            addon_name=addon,
            addon_version=self.addon_versions[addon],
            # Take over whatever EKS put there at creation; keep later in-cluster edits.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            tags=self._tagged(f"{self.name}-{addon}"),
            opts=self.child_options(depends_on=list(depends_on)),
            **extra,
        )

    # -- an existing cluster (`existing_cluster`) ---------------------------------------------

    def _read_existing_cluster(self) -> None:
        """Read an EKS cluster that is not ours: nothing of its control plane, key, add-ons or
        access entries is created or changed. Its owner grants `deployer_role_arn` access."""
        # Empty when only node pools are added (the package's `NodePool`): no kubeconfig then.
        self.deployer_role_arn = self.args.get("deployer_role_arn") or ""
        existing_cluster = self.args.get("existing_cluster")
        if not existing_cluster:  # the composition picks this path only when it is set
            raise ValueError(f"cluster {self.name}: adopting a cluster needs existing_cluster")
        self.existing = aws.eks.get_cluster_output(
            name=existing_cluster,
            opts=pulumi.InvokeOutputOptions(
                parent=self.cluster, provider=self.args.get("cloud_provider")
            ),
        )
        self.cluster_name = self.existing.name
        self.oidc_issuer = self.existing.identities.apply(oidc_issuer_of)
        self.addons_before_nodes = []
        # Created with the first node pool, unless the enterprise gave its own.
        self.node_role_arn = None

    def _existing_cluster_access(self) -> ClusterAccess:
        # Only the kubeconfig needs the deployer role: node pools alone (the package's
        # `NodePool`) never reach the cluster's API.
        role_arn = self.deployer_role_arn
        if not role_arn:  # `cluster.validate_args` refuses this before any backend runs
            raise ValueError(f"cluster {self.name}: an EKS cluster needs deployer_role_arn")
        existing = self.existing
        kubeconfig = pulumi.Output.all(
            existing.name, existing.endpoint, existing.certificate_authorities
        ).apply(
            lambda values: build_kubeconfig(
                values[0],
                values[1],
                output_field(values[2][0], "data"),
                self.region,
                role_arn,
                self.args.get("aws_profile"),
            )
        )
        return ClusterAccess(
            endpoint=existing.endpoint,
            kubeconfig=pulumi.Output.secret(kubeconfig),
            oidc_issuer=self.oidc_issuer,
            cloud_cluster_id=existing.name,
            vpc_id=self.vpc_id,
            node_subnet_ids=self.node_subnet_ids,
        )

    # -- node pools ---------------------------------------------------------------------------

    def create_node_pool(
        self, pool: pulumi.ComponentResource, request: PoolRequest
    ) -> list[pulumi.Resource]:
        """A launch template (IMDSv2, encrypted gp3 root, tags) and a managed node group."""
        if self.node_role_arn is None:  # the first pool on an existing cluster
            self._create_node_role()
        profile = request.profile
        name = request.resource_name
        instance_tags = self._tagged(name, {POOL_LABEL: profile.name})
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-launch-template",
            description=f"Nodes of pool {profile.name} of EKS cluster {self.cloud_name}",
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=request.disk_size_gib,
                        volume_type="gp3",
                        # The account's default EBS key: a customer key would need a key policy
                        # grant for the Auto Scaling service-linked role, or nodes fail to launch.
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",  # IMDSv2 only
                http_put_response_hop_limit=IMDS_HOP_LIMIT,
                instance_metadata_tags="disabled",
            ),
            # No network_interfaces block: nodes land in private subnets that never map public
            # IPs, and a launch-template interface would drop the EKS cluster security group.
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=resource_type, tags=instance_tags
                )
                for resource_type in ("instance", "volume", "network-interface")
            ],
            tags=self._tagged(f"{name}-launch-template"),
            opts=self.child_options(parent=pool),
        )
        ignore = ["scalingConfig.desiredSize"] if request.autoscaler_owns_desired_size else []
        self.autoscaler_wanted = self.autoscaler_wanted or request.autoscaler_owns_desired_size
        node_group = aws.eks.NodeGroup(
            f"{name}-node-group",
            cluster_name=self.cluster_name,
            node_role_arn=self.node_role_arn,
            subnet_ids=self.node_subnet_ids,
            version=request.kubernetes_version,
            ami_type=ami_type(profile),
            capacity_type="SPOT" if profile.spot else "ON_DEMAND",
            instance_types=list(profile.instance_types),
            labels=dict(profile.labels),
            taints=[aws.eks.NodeGroupTaintArgs(**taint) for taint in eks_taints(profile)],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=profile.min_size,
                max_size=profile.max_size,
                desired_size=request.desired_size,
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id,
                version=launch_template.latest_version.apply(str),
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
            tags=self._tagged(f"{name}-node-group"),
            opts=self.child_options(
                parent=pool,
                ignore_changes=ignore,
                depends_on=[*self.node_role_policies, *self.addons_before_nodes],
            ),
        )
        return [launch_template, node_group]

    # -- after the nodes ----------------------------------------------------------------------

    def finish(self, pools: Sequence[pulumi.Resource]) -> ClusterAccess:
        """CoreDNS and the EBS CSI driver (they need nodes); the exec-auth kubeconfig."""
        if self.args.get("existing_cluster") is not None:
            return self._existing_cluster_access()
        after = [self._create_addon(name, depends_on=pools) for name in ADDONS_AFTER_NODES]
        self.addons_after_nodes = dict(zip(ADDONS_AFTER_NODES, after, strict=True))
        kubeconfig = pulumi.Output.all(
            self.eks.name, self.eks.endpoint, self.eks.certificate_authority
        ).apply(
            lambda values: build_kubeconfig(
                values[0],
                values[1],
                output_field(values[2], "data"),
                self.region,
                self.deployer_role_arn,
                self.args.get("aws_profile"),
            )
        )
        return ClusterAccess(
            endpoint=self.eks.endpoint,
            kubeconfig=pulumi.Output.secret(kubeconfig),
            oidc_issuer=self.oidc_issuer,
            cloud_cluster_id=self.eks.name,
            vpc_id=self.vpc_id,
            node_subnet_ids=self.node_subnet_ids,
            # The Kubernetes provider authenticates as the deployer role: its admin policy first.
            ready=[
                self.deployer_admin,
                *self.addons_before_nodes,
                *after,
                *getattr(self, "deployer_path", []),
            ],
        )

    # -- inside the cluster -------------------------------------------------------------------

    def install_in_cluster(self, info: ClusterInfo) -> list[pulumi.Resource]:
        """The default `gp3` StorageClass (after the EBS CSI driver) and, when a pool lets the
        autoscaler own its desired size, the cluster autoscaler. Nothing on an existing
        cluster (`existing_cluster`): its StorageClasses and autoscaler are its owner's."""
        if self.args.get("existing_cluster") is not None:
            return []
        storage_class = k8s.storage.v1.StorageClass(
            f"{self.name}-gp3",
            **gp3_storage_class_args(),
            opts=pulumi.ResourceOptions(
                parent=self.cluster,
                provider=info.k8s_provider,
                depends_on=[
                    self.addons_after_nodes["aws-ebs-csi-driver"],
                    *getattr(self, "deployer_path", []),
                ],
            ),
        )
        if self.autoscaler_wanted:
            self._install_autoscaler(info)
        return [storage_class]

    def _install_autoscaler(self, info: ClusterInfo) -> None:
        """The cluster autoscaler with a least-privilege role through EKS Pod Identity: the
        role of `existing_roles.autoscaler_role_arn` when given, none at all (a warning) when
        other `existing_roles` are given without it, else a role of its own."""
        addon = autoscaler_addon(self.cloud_name, self.region, self.minor)
        problems = check_addons([addon], info, f"{self.name}.addons")
        if problems:
            # Only GPU or otherwise tainted pools: the autoscaler stays off GPU nodes, so there
            # is nowhere to run it. The cluster is still valid; its pools keep their size.
            pulumi.log.warn(
                "; ".join(problems) + ": no cluster autoscaler installed, node groups keep"
                " their initial desired size (add an untainted pool to get one)",
                resource=self.cluster,
            )
            return
        role_arn = self._existing_role("autoscaler_role_arn")
        if role_arn is None and self.args.get("existing_roles") is not None:
            # An enterprise that brings its roles may not be allowed to create one (or runs
            # its own autoscaler): nothing is created, but pools that hand their desired size
            # to the autoscaler would never be scaled, so say so.
            pulumi.log.warn(
                "existing_roles without autoscaler_role_arn: no cluster autoscaler installed;"
                " node groups keep their initial desired size unless you run one (give"
                " existing_roles.autoscaler_role_arn to have it installed with that role)",
                resource=self.cluster,
            )
            return
        role_ready: list[pulumi.Resource] = []
        if role_arn is None:
            role = aws.iam.Role(
                f"{self.name}-autoscaler-role",
                # Only the autoscaler's service account of this cluster may be given the role.
                assume_role_policy=self._pod_identity_trust(
                    AUTOSCALER_NAMESPACE, AUTOSCALER_SERVICE_ACCOUNT
                ),
                tags=self._tagged(f"{self.name}-autoscaler-role"),
                opts=self.child_options(),
            )
            role_ready.append(
                aws.iam.RolePolicy(
                    f"{self.name}-autoscaler-policy",
                    role=role.name,
                    policy=autoscaler_policy(self.cloud_name, self.region),
                    opts=self.child_options(),
                )
            )
            role_arn = role.arn
        association = aws.eks.PodIdentityAssociation(
            f"{self.name}-autoscaler-identity",
            cluster_name=self.eks.name,
            namespace=AUTOSCALER_NAMESPACE,
            service_account=AUTOSCALER_SERVICE_ACCOUNT,
            role_arn=role_arn,
            tags=self._tagged(f"{self.name}-autoscaler-identity"),
            opts=self.child_options(depends_on=role_ready),
        )
        # Credentials exist before the pod asks for them (the agent answers at pod start).
        install_addon(
            f"{self.name}-{addon.key}", addon, info, self.cluster, depends_on=[association]
        )
