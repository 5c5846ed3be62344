"""What an enterprise brings instead of letting a `Cluster` create it: its network, its roles.

Shared by the Python API (`cluster.ClusterArgs`) and the component package
(`package.ClusterInputs`), so the two cannot drift. This module must not use
`from __future__ import annotations`: the package's schema analyzer reads the annotations as
live types.
"""

from collections.abc import Sequence
from typing import TypedDict

import pulumi


class ExistingNetwork(TypedDict):
    """A network that exists already (an enterprise's own VPC). The cluster is placed in it and
    no VPC, subnet, gateway, NAT or route is created: routing, egress and the load balancer
    subnet tags (`kubernetes.io/role/internal-elb` on AWS) stay with the network's owner."""

    vpc_id: pulumi.Input[str]
    """The VPC (`vpc-...`)."""
    node_subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets with a route out, one per zone: nodes, the EKS control plane's network
    interfaces (at least two zones), the TKE intranet endpoint (in the first)."""


class ExistingRoles(TypedDict, total=False):
    """IAM roles that exist already (AWS only). Each role given replaces the one the component
    would create, with its policy attachments: the role's owner keeps its trust and policies."""

    cluster_role_arn: pulumi.Input[str]
    """EKS cluster role: trusted by `eks.amazonaws.com`, with AmazonEKSClusterPolicy."""
    node_role_arn: pulumi.Input[str]
    """Node role of the managed node groups: trusted by `ec2.amazonaws.com`, with
    AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy, AmazonEC2ContainerRegistryPullOnly and
    AmazonSSMManagedInstanceCore, plus `ecr:BatchImportUpstreamImage` and `ecr:CreateRepository`
    on the region's pull-through cache repositories when the registry caches upstreams."""
    ebs_csi_role_arn: pulumi.Input[str]
    """EBS CSI controller role (EKS Pod Identity): trusted by `pods.eks.amazonaws.com` for
    `sts:AssumeRole` and `sts:TagSession`, with AmazonEBSCSIDriverPolicy. Scope its trust to
    the session tags `eks-cluster-arn`, `kubernetes-namespace` (`kube-system`) and
    `kubernetes-service-account` (`ebs-csi-controller-sa`), as the role created here is."""
    autoscaler_role_arn: pulumi.Input[str]
    """Cluster autoscaler role (EKS Pod Identity; used when a pool lets the autoscaler own its
    desired size): trusted by `pods.eks.amazonaws.com` for `sts:AssumeRole` and
    `sts:TagSession` (scoped, as the EBS CSI role, to `kube-system`/`cluster-autoscaler`
    of this cluster), with the permissions of `autoscaler_policy` (describe, and set the
    desired size of groups tagged `k8s.io/cluster-autoscaler/<cluster name>: owned`). Unlike
    the other roles it is never created when left out of `existing_roles`: then no autoscaler
    is installed (a warning), as before this argument existed."""
