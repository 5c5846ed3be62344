"""Aliases resolve to the URNs the engine would look up, so renames keep their state."""

from __future__ import annotations

import pulumi
import pytest

from tkestack import engine
from tkestack.urns import alias_urns, make_urn, parse, reachable_urns

STACK, PROJECT = "test", "tkestack"


class Thing(pulumi.ComponentResource):
    """A component with one custom child, named like ours (`{name}-role`)."""

    def __init__(
        self, name: str, child_name: str, child_aliases: list, opts: pulumi.ResourceOptions | None
    ) -> None:
        super().__init__("tkestack:index:Thing", name, None, opts)
        pulumi.ComponentResource(
            "tkestack:index:Part",
            child_name,
            None,
            pulumi.ResourceOptions(parent=self, aliases=child_aliases),
        )
        self.register_outputs({})


def render(child_name: str, child_aliases: list, name: str = "a", opts=None) -> engine.Rendering:
    return engine.run_program(
        lambda: Thing(name, child_name, child_aliases, opts), project=PROJECT, stack=STACK
    )


def test_make_urn_round_trips_and_skips_the_root_stack() -> None:
    stack_urn = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
    urn = make_urn(STACK, PROJECT, stack_urn, "aws:ec2/vpc:Vpc", "v")
    assert urn == "urn:pulumi:test::tkestack::aws:ec2/vpc:Vpc::v"
    assert parse(urn) == (STACK, PROJECT, "aws:ec2/vpc:Vpc", "v")
    child = make_urn(STACK, PROJECT, urn, "aws:ec2/subnet:Subnet", "s")
    assert parse(child)[2] == "aws:ec2/vpc:Vpc$aws:ec2/subnet:Subnet"
    with pytest.raises(ValueError, match="not a Pulumi URN"):
        parse("arn:aws:s3:::bucket")


def test_renamed_child_with_alias_keeps_its_old_urn_reachable() -> None:
    before = render("a-net", [])
    old_urn = next(r.urn for r in before.resources if r.name == "a-net")

    after = render("a-network", [pulumi.Alias(name="a-net")])
    assert old_urn not in after.by_urn()
    assert reachable_urns(after.by_urn())[old_urn].endswith("::a-network")


def test_renamed_child_without_alias_loses_its_old_urn() -> None:
    before = render("a-net", [])
    old_urn = next(r.urn for r in before.resources if r.name == "a-net")
    after = render("a-network", [])
    assert old_urn not in reachable_urns(after.by_urn())


def test_children_follow_a_renamed_parent() -> None:
    before = render("a-net", [])
    after = render(
        "b-net", [], name="b", opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="a")])
    )
    reachable = reachable_urns(after.by_urn())
    for resource in before.resources:
        assert resource.urn in reachable, resource.urn


def test_type_change_with_alias() -> None:
    before = render("a-net", [])
    after = engine.run_program(
        lambda: pulumi.ComponentResource(
            "tkestack:index:Renamed",
            "a",
            None,
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="tkestack:index:Thing")]),
        ),
        project=PROJECT,
        stack=STACK,
    )
    component = after.resources[0]
    old_component = next(r for r in before.resources if r.name == "a")
    assert alias_urns(component, after.by_urn()) == {old_component.urn}
