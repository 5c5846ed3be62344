"""What an EKS cluster needs inside it: the default `gp3` StorageClass and the cluster autoscaler.

Both are installed by the AWS cluster backend (`Backend.install_in_cluster`), not by
`PlatformServices`, because they complete promises the `Cluster` component makes on its own:

- the backend installs the EBS CSI driver, but since Kubernetes 1.30 a new EKS cluster has no
  default StorageClass (the `gp2` class lost its default annotation), so every PVC that names
  no class (Prometheus, Loki, Harbor) would stay Pending;
- every node group ignores drift of its desired size because "the cluster autoscaler owns it"
  (`autoscaler_owns_desired_size`): a `Cluster` used without `PlatformServices` (embedded) must
  still get the autoscaler, or pools with `min_size: 0` never get a node.

Auto-discovery needs no tags from us: EKS tags the Auto Scaling group of every managed node
group with `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/<cluster>`
(https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from .. import catalog
from ..addon import AddonSpec, PodGroup

STORAGE_CLASS_NAME = "gp3"
"""Name of the default StorageClass of EKS clusters."""
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
"""Provisioner name of the EBS CSI driver (the EKS managed add-on `aws-ebs-csi-driver`)."""

AUTOSCALER_ADDON = "cluster-autoscaler"
"""Add-on key, Helm release and chart key in components/catalog/charts.yaml."""
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
"""Service account of the autoscaler (`rbac.serviceAccount.name`): the Pod Identity target."""
AUTOSCALER_NAMESPACE = "kube-system"

AUTOSCALER_WRITE_ACTIONS: tuple[str, ...] = (
    "autoscaling:SetDesiredCapacity",
    "autoscaling:TerminateInstanceInAutoScalingGroup",
)
"""The only mutating calls; allowed only on Auto Scaling groups tagged for this cluster."""
AUTOSCALER_READ_ACTIONS: tuple[str, ...] = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
)
"""Reads of the AWS provider of the autoscaler (Describe* calls accept no resource scope).
Per https://docs.aws.amazon.com/eks/latest/best-practices/cas.html and the autoscaler's
cloudprovider/aws README."""


def gp3_storage_class_args() -> dict[str, Any]:
    """The `gp3` StorageClass: encrypted EBS gp3, bound where the pod lands, expandable, default.

    `WaitForFirstConsumer` creates the volume in the zone of the node the pod is scheduled on
    (EBS volumes are zonal). `encrypted: "true"` uses the account's default EBS key.
    Parameters: https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/parameters.md
    """
    return {
        "metadata": {
            "name": STORAGE_CLASS_NAME,
            "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
        },
        "provisioner": EBS_CSI_PROVISIONER,
        "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
        "reclaim_policy": "Delete",
        "volume_binding_mode": "WaitForFirstConsumer",
        "allow_volume_expansion": True,
    }


@functools.cache
def _autoscaler_image_tags() -> dict[str, str]:
    tags = catalog.chart_entries()[AUTOSCALER_ADDON]["image_tags"]
    return {str(minor): str(tag) for minor, tag in tags.items()}


def autoscaler_image_tag(kubernetes_version: str) -> str:
    """The cluster-autoscaler image tag for a cluster minor (`1.35` -> `v1.35.0`).

    The autoscaler's minor must match the cluster's; ValueError naming `kubernetes_version`
    when the catalog has no tag for that minor.
    """
    tags = _autoscaler_image_tags()
    if kubernetes_version not in tags:
        raise ValueError(
            f"kubernetes_version: no cluster-autoscaler image pinned for {kubernetes_version}"
            f" in components/catalog/charts.yaml (pinned: {', '.join(sorted(tags))})"
        )
    return tags[kubernetes_version]


def autoscaler_addon(cluster_name: str, region: str, kubernetes_version: str) -> AddonSpec:
    """The cluster autoscaler for EKS cluster `cluster_name` (the name EKS knows it by).

    Values are plain data known at preview. Its one pod group is an ordinary workload: the add-on
    base keeps it off GPU pools and lets it onto amd64 and arm64 pools (multi-arch image).
    """
    return AddonSpec(
        key=AUTOSCALER_ADDON,
        chart=AUTOSCALER_ADDON,
        values={
            "cloudProvider": "aws",
            "awsRegion": region,
            "autoDiscovery": {"clusterName": cluster_name},
            "image": {"tag": autoscaler_image_tag(kubernetes_version)},
            "rbac": {"serviceAccount": {"create": True, "name": AUTOSCALER_SERVICE_ACCOUNT}},
            # Pools spread over three zones: keep similar groups balanced when scaling up.
            "extraArgs": {"balance-similar-node-groups": True},
        },
        pod_groups=(PodGroup(""),),
        namespace=AUTOSCALER_NAMESPACE,
        create_namespace=False,
    )


def autoscaler_policy(cluster_name: str, region: str) -> str:
    """Least-privilege IAM policy of the autoscaler of EKS cluster `cluster_name`.

    Scaling calls are allowed only on Auto Scaling groups carrying the
    `k8s.io/cluster-autoscaler/<cluster>` tag EKS puts on the cluster's managed node groups;
    `eks:DescribeNodegroup` (labels and taints for scale-from-zero) only on this cluster's node
    groups; the Describe* reads accept no resource scope.
    """
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ScaleOnlyThisClustersGroups",
                "Effect": "Allow",
                "Action": list(AUTOSCALER_WRITE_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"
                    }
                },
            },
            {
                "Sid": "DiscoverGroupsAndInstanceTypes",
                "Effect": "Allow",
                "Action": list(AUTOSCALER_READ_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "NodeGroupTemplatesForScaleFromZero",
                "Effect": "Allow",
                "Action": ["eks:DescribeNodegroup"],
                "Resource": f"arn:aws:eks:{region}:*:nodegroup/{cluster_name}/*",
            },
        ],
    }
    return json.dumps(document, sort_keys=True)
