"""The path from where deployments run to a managed cluster's API endpoint.

A cluster's VPC is created by the same `pulumi up` that then talks to its API server, so no
runner can already be inside it. `DeployerAccess` says where the runners are (private CIDRs
of the company network) and which existing hub carries them; the backends call these helpers
to attach the VPC to the hub, route the CIDRs through it and open 443 to exactly them.

Facts and their sources:

- EKS private endpoint from a connected network: "Connect your network to the VPC with an AWS
  transit gateway ... You must ensure that your Amazon EKS control plane security group
  contains rules to allow ingress traffic on port 443 from your connected network"
  (awsdocs, EKS user guide `cluster-endpoint.md`, "Accessing a private only API server").
  The control plane security group is the cluster security group EKS creates
  (`vpc_config.cluster_security_group_id`, pulumi-aws 7.x `eks/cluster.py`).
- A transit gateway route in a VPC route table needs the VPC's attachment to that gateway
  (`ec2transitgateway.VpcAttachment`: `transit_gateway_id`, `vpc_id`, `subnet_ids`, one subnet
  per zone; pulumi-aws 7.x `ec2transitgateway/vpc_attachment.py`). Route tables that carry
  inline `routes` must not be combined with `ec2.Route` resources (pulumi-aws `ec2/route_table.py`
  "NOTE on Route Tables and Routes"), so the hub routes are inline routes of the private
  route tables.
- Tencent Cloud: `ccn.AttachmentV2` (`ccn_id`, `instance_type` `VPC`, `instance_id`,
  `instance_region`), the CCN attachment tencentcloud-iac-pulumi 0.2.3 exports
  (`ccn/__init__.py` imports `attachment_v2` only; bridged from terraform-provider-tencentcloud
  v1.82.42 `tencentcloud_ccn_attachment_v2`). That the VPC then learns the CCN's routes to the
  deployer's CIDRs without a route table entry of ours is **unverified** here (docs/bootstrap.md).
  The TKE intranet endpoint takes no security group (`tencentcloud_kubernetes_cluster_endpoint`
  has only `cluster_internet_security_group` at v1.82.42), so no 443 rule is written there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import pulumi


class DeployerAccess(TypedDict, total=False):
    """Where `pulumi up` runs from, as far as one cluster is concerned."""

    private_cidrs: Sequence[str]
    """Private source CIDRs of the runners (company network), reached through the hub: opened
    on 443 to the API endpoint and routed from the cluster's private subnets to the hub."""
    aws_transit_gateway_id: str | None
    """AWS: the existing transit gateway (same region) the VPC is attached to. Default none."""
    tencent_ccn_id: str | None
    """Tencent Cloud: the existing CCN the VPC is attached to. Default none."""


def access_of(args: Any) -> DeployerAccess:
    """The cluster's `deployer_access` argument (empty: no hub, nothing opened)."""
    access = args.get("deployer_access")
    return access if access else DeployerAccess()


def aws_hub_attachment(
    backend: Any, aws: Any, subnet_ids: Sequence[pulumi.Input[str]]
) -> Any | None:
    """Attach the cluster's VPC to the deployer's transit gateway (one subnet per zone)."""
    access = access_of(backend.args)
    gateway = access.get("aws_transit_gateway_id")
    if not gateway:
        return None
    return aws.ec2transitgateway.VpcAttachment(
        f"{backend.name}-hub",
        transit_gateway_id=gateway,
        vpc_id=backend.vpc.id,
        subnet_ids=list(subnet_ids),
        tags=backend._tagged(f"{backend.name}-hub"),
        opts=backend.child_options(),
    )


def aws_hub_routes(backend: Any, aws: Any, attachment: Any | None) -> list[Any]:
    """Inline routes of a private route table: the deployer's CIDRs through the hub."""
    if attachment is None:
        return []
    return [
        aws.ec2.RouteTableRouteArgs(
            cidr_block=cidr, transit_gateway_id=attachment.transit_gateway_id
        )
        for cidr in access_of(backend.args).get("private_cidrs") or []
    ]


def aws_api_ingress(
    backend: Any, aws: Any, security_group_id: pulumi.Input[str | None]
) -> list[Any]:
    """443 from each private deployer CIDR on the EKS cluster security group.

    `security_group_id` is optional in pulumi_aws's type of `vpc_config` (a computed nested
    field) although EKS always creates the cluster security group."""
    access = access_of(backend.args)
    if not access.get("aws_transit_gateway_id"):
        return []
    return [
        aws.vpc.SecurityGroupIngressRule(
            f"{backend.name}-api-from-deployer-{index}",
            security_group_id=security_group_id,
            cidr_ipv4=cidr,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="Kubernetes API from the deployer's runners (through the hub)",
            tags=backend._tagged(f"{backend.name}-api-from-deployer-{index}"),
            opts=backend.child_options(),
        )
        for index, cidr in enumerate(access.get("private_cidrs") or [])
    ]


def tencent_hub_attachment(backend: Any, tencentcloud: Any) -> Any | None:
    """Attach the cluster's VPC to the deployer's CCN."""
    ccn = access_of(backend.args).get("tencent_ccn_id")
    if not ccn:
        return None
    return tencentcloud.ccn.AttachmentV2(
        f"{backend.name}-hub",
        ccn_id=ccn,
        instance_type="VPC",
        instance_id=backend.vpc_id,
        instance_region=backend.region,
        description=f"tkestack {backend.cloud_name}: API reach for the deployer",
        opts=backend.child_options(),
    )


__all__ = [
    "DeployerAccess",
    "access_of",
    "aws_api_ingress",
    "aws_hub_attachment",
    "aws_hub_routes",
    "tencent_hub_attachment",
]
