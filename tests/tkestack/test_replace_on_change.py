"""`tkestack review --base`: replacements propagate to dependents; protected resources block.

Facts pinned here come from the providers' schemas (see tkestack/replace_on_change.py):
- hashicorp/terraform-provider-aws internal/service/eks/cluster.go @00555dc5: vpc_config
  subnet_ids / security_group_ids are not ForceNew; node_group.go @012e0a32: subnet_ids is.
- hashicorp/terraform-provider-aws internal/service/ec2/vpc_.go @00081ce4 and
  vpc_subnet.go @00cda125: cidr_block (both) and vpc_id (subnet) are ForceNew.
- tencentcloudstack/terraform-provider-tencentcloud v1.82.42
  tencentcloud/services/tke/resource_tc_kubernetes_node_pool.go: ForceNew instance_type,
  subnet_ids, node_config.{data_disk, gpu_args, docker_graph_path}; ..._extension.go refuses
  a delete while deletion_protection is set.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from conftest import ROOT, TEST_ACCOUNTS, TEST_DEPLOYER
from review_support import prod_environment, repository_with_change

from tkestack import engine
from tkestack import review as reviewing
from tkestack.replace_on_change import (
    AWS_EKS_CLUSTER,
    AWS_EKS_NODE_GROUP,
    TKE_NODE_POOL,
    forces_replacement,
)


def network_environment(vpc_cidr: str) -> dict[str, Any]:
    return {
        "name": "chain",
        "tier": "dev",
        "identity": dict(TEST_ACCOUNTS),
        "deployer": copy.deepcopy(TEST_DEPLOYER),
        "tags": {"owner": "platform-team", "cost-center": "platform-dev"},
        "clusters": [
            {
                "name": "ch-use1",
                "cloud": "aws",
                "region": "us-east-1",
                "kubernetes_version": "1.33",
                "network": {"vpc_cidr": vpc_cidr},
                "node_pools": [{"name": "general", "instance_types": ["m7i.xlarge"]}],
            }
        ],
    }


def document(rendering: engine.Rendering) -> dict[str, Any]:
    return json.loads(engine.render_json(rendering))


@pytest.fixture(scope="module")
def cidr_change(tmp_path_factory) -> list[reviewing.Change]:
    directory = tmp_path_factory.mktemp("chain")
    documents = []
    head = None
    for cidr in ("10.60.0.0/16", "10.61.0.0/16"):
        path = directory / "Pulumi.chain.yaml"
        config = {"tkestack:environment": network_environment(cidr)}
        path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
        head = engine.render(engine.read_stack_config(path, ROOT))
        documents.append(document(head))
    assert head is not None
    return reviewing.diff(documents[0], documents[1], unknowns=reviewing.unknown_values(head))


def test_a_vpc_cidr_change_replaces_subnets_then_node_groups_and_updates_the_cluster(
    cidr_change,
) -> None:
    by_type: dict[str, list[reviewing.Change]] = {}
    for change in cidr_change:
        by_type.setdefault(change.type, []).append(change)
    [vpc] = by_type["aws:ec2/vpc:Vpc"]
    assert vpc.kind == "replaced" and vpc.replace_keys == ("cidrBlock",)
    subnets = by_type["aws:ec2/subnet:Subnet"]
    assert subnets and all(s.kind == "replaced" for s in subnets)
    # A subnet is replaced for its own CIDR and because the VPC id it takes is unknown.
    assert all("vpcId" in s.replace_keys and vpc.name in s.because for s in subnets)
    [group] = by_type[AWS_EKS_NODE_GROUP]
    assert group.kind == "replaced"
    assert group.replace_keys == ("subnetIds",)
    assert set(group.because) <= {s.name for s in subnets} and group.because
    [cluster] = by_type[AWS_EKS_CLUSTER]
    # EKS updates vpcConfig.subnetIds in place (cluster.go: not ForceNew).
    assert cluster.kind == "changed"
    assert "vpcConfig.subnetIds" in cluster.keys
    assert cluster.because


def test_without_value_tracing_the_whole_input_counts() -> None:
    subnet, group = "aws:ec2/subnet:Subnet", AWS_EKS_NODE_GROUP
    base = {
        "resources": [
            {"urn": "s", "type": subnet, "name": "s", "inputs": {"cidrBlock": "10.0.0.0/24"}},
            {"urn": "g", "type": group, "name": "g", "inputs": {"subnetIds": ["subnet-1"]}},
            {
                "urn": "t",
                "type": "aws:ec2/routeTable:RouteTable",
                "name": "t",
                "inputs": {"routes": [{"natGatewayId": "nat-1"}]},
            },
        ]
    }
    head = copy.deepcopy(base)
    head["resources"][0]["inputs"]["cidrBlock"] = "10.0.1.0/24"
    head["resources"][1]["propertyDependencies"] = {"subnetIds": ["s"]}
    head["resources"][2]["propertyDependencies"] = {"routes": ["s"]}
    changes = {c.urn: c for c in reviewing.diff(base, head)}
    assert changes["g"].kind == "replaced" and changes["g"].because == ("s",)
    # No replace-on-change fact for a route table: updated, not replaced (no guess).
    assert changes["t"].kind == "changed" and changes["t"].because == ("s",)
    # Nothing upstream replaced: nothing propagates.
    assert reviewing.diff(base, copy.deepcopy(base)) == []


@pytest.mark.parametrize(
    ("type_", "key", "replaces"),
    [
        (AWS_EKS_CLUSTER, "vpcConfig.subnetIds", False),
        (AWS_EKS_CLUSTER, "vpcConfig.securityGroupIds", False),
        (AWS_EKS_CLUSTER, "kubernetesNetworkConfig.serviceIpv4Cidr", True),
        (AWS_EKS_NODE_GROUP, "subnetIds", True),
        (AWS_EKS_NODE_GROUP, "scalingConfig.maxSize", False),
        (TKE_NODE_POOL, "autoScalingConfig.instanceType", True),
        (TKE_NODE_POOL, "subnetIds", True),
        (TKE_NODE_POOL, "nodeConfig.dataDisks", True),
        (TKE_NODE_POOL, "nodeConfig.gpuArgs", True),
        (TKE_NODE_POOL, "nodeConfig.dockerGraphPath", True),
        (TKE_NODE_POOL, "maxSize", False),
        (TKE_NODE_POOL, "autoScalingConfig.dataDisks", False),
        ("kubernetes:core/v1:Namespace", "metadata.name", True),
        ("kubernetes:core/v1:Namespace", "metadata.labels", False),
        ("kubernetes:apps/v1:Deployment", "spec.selector.matchLabels", True),
        ("kubernetes:apps/v1:DaemonSet", "spec.selector.matchLabels", False),
    ],
)
def test_replace_on_change_facts(type_: str, key: str, replaces: bool) -> None:
    assert forces_replacement(type_, key) is replaces


# ---------------------------------------------------------------- protected means blocked


def _resource(urn: str, type_: str, protect: bool = False, **inputs: Any) -> dict[str, Any]:
    return {"urn": urn, "type": type_, "name": urn, "protect": protect, "inputs": inputs}


def test_deleting_or_replacing_a_protected_resource_is_blocked_with_remediation() -> None:
    repo = "aws:ecr/repository:Repository"
    base = {
        "resources": [
            _resource("old-repo", repo, protect=True, name="team-a/app"),
            _resource("kept", repo, protect=True, name="team-b/app"),
            _resource("free", repo, name="team-c/app"),
        ]
    }
    head = {
        "resources": [
            _resource("new-repo", repo, protect=True, name="team-z/app"),
            _resource("kept", repo, protect=True, name="team-b/app2"),
            _resource("free", repo, name="team-c/app2"),
        ]
    }
    changes = {c.urn: c for c in reviewing.diff(base, head)}
    removed, replaced = changes["old-repo"], changes["kept"]
    assert removed.kind == "removed" and "`protect`" in removed.blocked
    assert "aliases" in removed.blocked and "`new-repo`" in removed.blocked
    assert replaced.kind == "replaced" and "separate change" in replaced.blocked
    assert changes["free"].kind == "replaced" and changes["free"].blocked is None
    assert changes["new-repo"].blocked is None
    ordered = reviewing.diff(base, head)
    assert [c.urn for c in ordered[:2]] == ["kept", "old-repo"]  # blocked first


def test_a_tke_node_pool_with_deletion_protection_cannot_be_replaced() -> None:
    pool = dict(
        deletionProtection=True,
        autoScalingConfig={"instanceType": "S5.LARGE16"},
        maxSize=3,
    )
    base = {"resources": [_resource("np", TKE_NODE_POOL, **pool)]}
    resized = copy.deepcopy(base)
    resized["resources"][0]["inputs"]["maxSize"] = 6
    [change] = reviewing.diff(base, resized)
    assert change.kind == "changed" and change.blocked is None
    retyped = copy.deepcopy(base)
    retyped["resources"][0]["inputs"]["autoScalingConfig"]["instanceType"] = "S6.LARGE16"
    [change] = reviewing.diff(base, retyped)
    assert change.kind == "replaced"
    assert "deletion protection" in change.blocked and "deletionProtection: false" in (
        change.blocked
    )
    unprotected = copy.deepcopy(base)
    unprotected["resources"][0]["inputs"]["deletionProtection"] = False
    unprotected_retyped = copy.deepcopy(retyped)
    unprotected_retyped["resources"][0]["inputs"]["deletionProtection"] = False
    [change] = reviewing.diff(unprotected, unprotected_retyped)
    assert change.kind == "replaced" and change.blocked is None


@pytest.mark.slow
def test_renaming_a_prod_tenant_is_blocked_not_half_applied(tmp_path, monkeypatch) -> None:
    """The issue's case: a renamed prod tenant deletes its protected ECR repository. The
    review lists it first and exits 1 (it exited 0, and `pulumi up` stopped halfway)."""
    from tkestack import cli

    def environment(tenant: str) -> dict[str, Any]:
        spec = prod_environment()
        spec["tenants"] = [{"name": tenant, "clusters": ["pl-use1"]}]
        return spec

    repo = repository_with_change(
        tmp_path, environment("team-a"), environment("team-b"), "head: rename the tenant"
    )
    monkeypatch.chdir(repo)
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        cli.app, ["review", "difftest", "--base", "HEAD~1", "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["summary"]["mandatory"] == 0  # exit 1 is the blocked change's
    changes = document["changes"]
    first = changes[0]
    assert first["type"] == "aws:ecr/repository:Repository" and first["kind"] == "removed"
    assert "team-a" in first["name"] and "`protect`" in first["blocked"]
    assert "aliases" in first["blocked"] and "team-b" in first["blocked"]
    assert "would be removed: protected" in result.stderr


def test_a_masked_secret_of_another_shape_is_not_a_change() -> None:
    secret = "kubernetes:core/v1:Secret"
    base = {"resources": [_resource("s", secret, stringData="[secret]")]}
    head = {"resources": [_resource("s", secret, stringData={"password": "[secret]"})]}
    assert reviewing.diff(base, head) == []
    changed = {"resources": [_resource("s", secret, stringData={"password": "plain"})]}
    [change] = reviewing.diff(base, changed)
    assert change.kind == "replaced" and change.replace_keys == ("stringData",)


def test_a_replaced_cluster_replaces_its_kubernetes_provider_and_every_object_in_it() -> None:
    """pulumi-kubernetes replaces a provider whose kubeconfig changes or becomes unknown
    (provider/pkg/provider/testdata/diffconfig/computed-kubeconfig) unless clusterIdentifier
    is set; the engine replaces every resource of a replaced provider (pulumi/pulumi
    pkg/resource/deploy/step_generator.go)."""
    provider_type = "pulumi:providers:kubernetes"
    namespace = "kubernetes:core/v1:Namespace"

    def documents(**provider_inputs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        base = {
            "resources": [
                _resource("c", AWS_EKS_CLUSTER, name="c", roleArn="arn:1"),
                _resource("p", provider_type, kubeconfig="[secret]", **provider_inputs),
                {**_resource("ns", namespace, metadata={"name": "team"}), "provider": "p"},
            ]
        }
        head = copy.deepcopy(base)
        head["resources"][0]["inputs"]["roleArn"] = "arn:2"
        head["resources"][1]["propertyDependencies"] = {"kubeconfig": ["c"]}
        return base, head

    changes = {c.urn: c for c in reviewing.diff(*documents())}
    assert changes["c"].kind == "replaced" and changes["c"].because == ()
    assert changes["p"].kind == "replaced" and changes["p"].because == ("c",)
    assert changes["ns"].kind == "replaced" and changes["ns"].because == ("p",)
    assert changes["ns"].replace_keys == ("(provider)",)
    assert next(c.urn for c in reviewing.diff(*documents())) == "c"  # the cause first

    stable = {c.urn: c for c in reviewing.diff(*documents(clusterIdentifier="c"))}
    assert stable["p"].kind == "changed" and "ns" not in stable
