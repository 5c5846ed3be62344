"""What an EKS cluster needs inside it: the default `gp3` StorageClass.

Installed by the AWS cluster backend (`Backend.install_in_cluster`), not by `PlatformServices`,
because it completes a promise the `Cluster` component makes on its own: the backend installs
the EBS CSI driver, but since Kubernetes 1.30 a new EKS cluster has no default StorageClass (the
`gp2` class lost its default annotation), so every PVC that names no class (Prometheus, Loki,
Harbor) would stay Pending.
"""

from __future__ import annotations

from typing import Any

STORAGE_CLASS_NAME = "gp3"
"""Name of the default StorageClass of EKS clusters."""
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
"""Provisioner name of the EBS CSI driver (the EKS managed add-on `aws-ebs-csi-driver`)."""


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
