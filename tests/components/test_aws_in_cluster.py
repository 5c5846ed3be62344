"""EKS in-cluster essentials: the default gp3 StorageClass."""

from __future__ import annotations

import kubernetes_validate
import pulumi_aws as aws
import pytest
from cluster_support import REGIONS, cluster_args, find, render_cluster

from tkestack import engine
from tkestack.components.cluster import Cluster

STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
POOLS = [
    {"name": "general", "instance_types": ["m7i.xlarge"]},
    {"name": "graviton", "instance_types": ["m7g.xlarge"], "min_size": 0},
    {"name": "gpu", "instance_types": ["g5.xlarge"], "accelerator_model": "a10g", "min_size": 0},
]


@pytest.fixture(scope="module")
def eks() -> engine.Rendering:
    return render_cluster("aws", POOLS, kubernetes_version="1.35")


def test_gp3_is_the_encrypted_default_storage_class_after_the_ebs_csi_driver(eks):
    storage_class = find(eks, STORAGE_CLASS, "c1-gp3")
    inputs = storage_class.inputs
    assert inputs["metadata"]["annotations"] == {
        "storageclass.kubernetes.io/is-default-class": "true"
    }
    assert inputs["provisioner"] == "ebs.csi.aws.com"
    assert inputs["parameters"]["type"] == "gp3"
    assert inputs["parameters"]["encrypted"] == "true"
    assert inputs["volumeBindingMode"] == "WaitForFirstConsumer"
    assert inputs["allowVolumeExpansion"] is True
    ebs_driver = find(eks, "aws:eks/addon:Addon", "c1-aws-ebs-csi-driver")
    assert ebs_driver.urn in storage_class.dependencies
    assert storage_class.provider is not None and "c1-k8s" in storage_class.provider
    (document,) = [doc for r, doc in engine.kubernetes_objects(eks) if r is storage_class]
    kubernetes_validate.validate(document, "1.35.0", strict=True)


def test_cluster_info_makes_later_installs_wait_for_the_storage_class():
    seen: dict[str, list[str]] = {}

    def program():
        args = cluster_args("aws", POOLS[:1])
        args["cloud_provider"] = aws.Provider("aws", region=REGIONS["aws"])
        cluster = Cluster("c1", args)
        seen["depends_on"] = [type(r).__name__ for r in cluster.info.depends_on]

    engine.run_program(program)
    assert "StorageClass" in seen["depends_on"]
