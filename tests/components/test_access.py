"""The deployer's path to each API endpoint (components/clouds/access.py), as rendered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import minimal_environment

from tkestack import engine


def named(rendering: engine.Rendering, type_: str) -> dict[str, Any]:
    return {r.name: r for r in rendering.of_type(type_)}


def test_private_eks_endpoints_open_443_to_the_deployers_private_cidrs_only(
    rendered: Callable[[str], engine.Rendering],
) -> None:
    # awsdocs EKS user guide `cluster-endpoint.md` ("Accessing a private only API server"):
    # the control plane security group must allow 443 from the connected network.
    rules = named(rendered("prod"), "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted(rules) == ["prod-euc1-api-from-deployer-0", "prod-use1-api-from-deployer-0"]
    rule = rules["prod-use1-api-from-deployer-0"].inputs
    assert (rule["cidrIpv4"], rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == (
        "10.100.0.0/22",
        "tcp",
        443,
        443,
    )
    assert rule["securityGroupId"].startswith("sg-")  # the EKS cluster security group


def test_each_vpc_is_attached_to_its_regions_transit_gateway_and_routes_the_deployer_there(
    rendered: Callable[[str], engine.Rendering],
) -> None:
    rendering = rendered("prod")
    attachments = named(rendering, "aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    assert {name: a.inputs["transitGatewayId"] for name, a in attachments.items()} == {
        "prod-use1-hub": "tgw-0a1b2c3d4e5f60003",
        "prod-euc1-hub": "tgw-0a1b2c3d4e5f60004",
    }
    assert len(attachments["prod-use1-hub"].inputs["subnetIds"]) == 3  # one per zone
    private_tables = [
        r
        for r in rendering.of_type("aws:ec2/routeTable:RouteTable")
        if "-private-routes-" in r.name
    ]
    assert private_tables
    for table in private_tables:
        # Inline routes only: pulumi-aws `ec2/route_table.py` forbids mixing them with
        # `ec2.Route` resources.
        hub_routes = [route for route in table.inputs["routes"] if "transitGatewayId" in route]
        assert [route["cidrBlock"] for route in hub_routes] == ["10.100.0.0/22"]


def test_tke_vpcs_are_attached_to_the_ccn(rendered: Callable[[str], engine.Rendering]) -> None:
    # tencentcloud-iac-pulumi 0.2.3 `ccn/attachment_v2.py` (tencentcloud_ccn_attachment_v2).
    (attachment,) = rendered("prod").of_type("tencentcloud:Ccn/attachmentV2:AttachmentV2")
    inputs = attachment.inputs
    assert (inputs["ccnId"], inputs["instanceType"], inputs["instanceRegion"]) == (
        "ccn-prd00001",
        "VPC",
        "ap-shanghai",
    )


def test_a_public_endpoint_admits_the_deployers_public_cidrs_and_attaches_nothing(
    render_spec: Callable[..., engine.Rendering],
) -> None:
    environment = minimal_environment(deployer={"cidrs": ["52.94.0.0/22"]})
    environment["clusters"][0]["endpoint"] = {
        "exposure": "public-and-private",
        "public_access_cidrs": ["52.94.8.0/24"],
    }
    rendering = render_spec(environment)
    (cluster,) = rendering.of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["52.94.8.0/24", "52.94.0.0/22"]
    assert rendering.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment") == []
    assert rendering.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == []
