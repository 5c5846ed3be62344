"""EKS in-cluster essentials: the default gp3 StorageClass and the cluster autoscaler."""

from __future__ import annotations

import json

import kubernetes_validate
import pulumi_aws as aws
import pytest
from cluster_support import REGIONS, cluster_args, find, render_cluster

from tkestack import engine
from tkestack.components.clouds.aws_in_cluster import (
    AUTOSCALER_READ_ACTIONS,
    AUTOSCALER_WRITE_ACTIONS,
    autoscaler_image_tag,
)
from tkestack.components.cluster import Cluster

STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
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


def test_autoscaler_release_discovers_this_cluster_and_stays_off_gpu_nodes(eks):
    release = find(eks, RELEASE, "c1-cluster-autoscaler").inputs
    assert release["chart"] == "cluster-autoscaler"
    assert release["version"] == "9.59.0"
    assert release["repositoryOpts"]["repo"] == "https://kubernetes.github.io/autoscaler"
    assert release["namespace"] == "kube-system"
    values = release["values"]
    assert values["autoDiscovery"] == {"clusterName": "c1"}
    assert values["awsRegion"] == "us-east-1"
    assert values["cloudProvider"] == "aws"
    assert values["image"]["tag"] == "v1.35.0"
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    # Multi-arch image: no arch pin in a cluster with amd64 and arm64 pools; no GPU toleration.
    assert "kubernetes.io/arch" not in values.get("nodeSelector", {})
    assert values["tolerations"] == []


def test_autoscaler_credentials_through_pod_identity_before_the_release(eks):
    association = find(
        eks, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "c1-autoscaler-identity"
    )
    assert association.inputs["namespace"] == "kube-system"
    assert association.inputs["serviceAccount"] == "cluster-autoscaler"
    role = find(eks, "aws:iam/role:Role", "c1-autoscaler-role")
    assert association.inputs["roleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    # Scoped by the Pod Identity session tags (awsdocs/amazon-eks-user-guide
    # latest/ug/manage-access/aws-access/service-accounts.adoc, commit 4d52b4d), as tenant roles.
    cluster = find(eks, "aws:eks/cluster:Cluster", "c1-eks")
    assert trust["Condition"]["StringEquals"] == {
        "aws:RequestTag/eks-cluster-arn": cluster.outputs["arn"],
        "aws:RequestTag/kubernetes-namespace": "kube-system",
        "aws:RequestTag/kubernetes-service-account": "cluster-autoscaler",
    }
    release = find(eks, RELEASE, "c1-cluster-autoscaler")
    assert association.urn in release.dependencies


def test_autoscaler_policy_scales_only_this_clusters_tagged_groups(eks):
    role_policy = find(eks, "aws:iam/rolePolicy:RolePolicy", "c1-autoscaler-policy")
    policy = json.loads(role_policy.inputs["policy"])
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    scale = statements["ScaleOnlyThisClustersGroups"]
    assert sorted(scale["Action"]) == sorted(AUTOSCALER_WRITE_ACTIONS)
    assert scale["Condition"] == {
        "StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/c1": "owned"}
    }
    reads = statements["DiscoverGroupsAndInstanceTypes"]["Action"]
    assert reads == list(AUTOSCALER_READ_ACTIONS)
    assert all(":Describe" in action or ":Get" in action for action in reads)
    nodegroups = statements["NodeGroupTemplatesForScaleFromZero"]
    assert nodegroups["Action"] == ["eks:DescribeNodegroup"]
    assert nodegroups["Resource"] == "arn:aws:eks:us-east-1:*:nodegroup/c1/*"
    every_action = [a for s in policy["Statement"] for a in s["Action"]]
    assert not any(action.endswith("*") for action in every_action)


def test_no_autoscaler_when_no_pool_lets_it_own_the_desired_size():
    pools = [{**pool, "autoscaler_owns_desired_size": False} for pool in POOLS[:1]]
    rendering = render_cluster("aws", pools)
    assert [r.name for r in rendering.of_type(RELEASE)] == []
    assert [r.name for r in rendering.of_type(STORAGE_CLASS)] == ["c1-gp3"]


def test_autoscaler_image_follows_the_cluster_minor():
    assert autoscaler_image_tag("1.33") == "v1.33.0"
    with pytest.raises(ValueError, match=r"kubernetes_version: no cluster-autoscaler image"):
        autoscaler_image_tag("1.99")


def test_no_autoscaler_where_only_gpu_pools_could_host_it():
    rendering = render_cluster("aws", POOLS[2:])
    assert rendering.of_type(RELEASE) == []
    assert rendering.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []
