"""Deployer reach, bootstrap trust and account layout rules (stacks/rules_access.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, minimal_environment

from tkestack.stacks.loader import (
    ENVIRONMENT_KEY,
    Layer,
    SpecError,
    environment_from_layers,
    load_stack_file,
    sibling_environments,
)
from tkestack.stacks.rules import environment_problems
from tkestack.stacks.rules_access import account_sharing_problems


def problems_at(environment: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in environment_problems(environment):
        if problem.severity == "error":
            found.setdefault(problem.dotted, []).append(problem.message)
    return found


def with_deployer(deployer: dict[str, Any] | None, **overrides: Any) -> dict[str, Any]:
    environment = minimal_environment(**overrides)
    if deployer is None:
        environment.pop("deployer")
    else:
        environment["deployer"] = deployer
    return environment


TGW = {"aws_transit_gateways": {"us-east-1": "tgw-0123456789abcdef0"}}


def test_the_test_specs_pass() -> None:
    assert problems_at(minimal_environment()) == {}


@pytest.mark.parametrize(
    ("cidr", "why"),
    [
        ("203.0.113.0/24", "documentation range (RFC 5737)"),
        ("198.51.100.7/32", "documentation range (RFC 5737)"),
        ("192.0.2.0/24", "documentation range (RFC 5737)"),
        ("169.254.0.0/16", "reserved range"),
        ("127.0.0.0/8", "reserved range"),
        ("240.0.0.0/8", "reserved range"),
    ],
)
def test_deployer_cidrs_no_runner_can_have_are_refused(cidr: str, why: str) -> None:
    found = problems_at(with_deployer({"cidrs": ["10.100.0.0/22", cidr], "hub": TGW}))
    assert why in found["deployer.cidrs[1]"][0]


def test_a_deployer_cidr_inside_a_cluster_vpc_is_refused() -> None:
    found = problems_at(with_deployer({"cidrs": ["10.0.4.0/24"], "hub": TGW}))
    assert "overlaps cluster 'c1'" in found["deployer.cidrs[0]"][0]


def test_a_private_endpoint_no_declared_path_reaches_is_refused() -> None:
    found = problems_at(with_deployer(None))
    assert (
        "no declared path reaches this private API endpoint"
        in (found["clusters[0].endpoint.exposure"][0])
    )


def test_a_hub_in_another_region_is_no_path() -> None:
    hub = {"aws_transit_gateways": {"eu-central-1": "tgw-0123456789abcdef0"}}
    found = problems_at(with_deployer({"cidrs": ["10.100.0.0/22"], "hub": hub}))
    assert "transit gateway for us-east-1" in found["clusters[0].endpoint.exposure"][0]


def test_a_hub_without_private_cidrs_is_no_path() -> None:
    found = problems_at(with_deployer({"cidrs": ["52.94.0.0/22"], "hub": TGW}))
    assert "clusters[0].endpoint.exposure" in found


def test_a_tke_cluster_needs_the_ccn() -> None:
    environment = with_deployer({"cidrs": ["10.100.0.0/22"], "hub": TGW})
    environment["clusters"][0].update(
        cloud="tencentcloud",
        region="ap-guangzhou",
        kubernetes_version="1.32",
        node_pools=[{"name": "general", "instance_types": ["S5.LARGE16"]}],
    )
    assert "deployer.hub CCN" in problems_at(environment)["clusters[0].endpoint.exposure"][0]
    environment["deployer"]["hub"]["tencent_ccn_id"] = "ccn-abcd1234"
    assert "clusters[0].endpoint.exposure" not in problems_at(environment)


def test_a_public_endpoint_is_reached_from_the_deployers_public_cidrs() -> None:
    environment = with_deployer({"cidrs": ["52.94.0.0/22"]})
    environment["clusters"][0]["endpoint"] = {
        "exposure": "public",
        "public_access_cidrs": ["52.94.8.0/24"],
    }
    assert problems_at(environment) == {}


@pytest.mark.parametrize(
    ("cidr", "why"),
    [
        ("10.1.0.0/16", "private range"),
        ("100.64.0.0/10", "private range"),
        ("203.0.113.0/24", "documentation range"),
        ("0.0.0.0/8", "reserved range"),
    ],
)
def test_public_allowlists_admit_only_internet_addresses(cidr: str, why: str) -> None:
    environment = with_deployer({"cidrs": ["52.94.0.0/22"]})
    environment["clusters"][0]["endpoint"] = {"exposure": "public", "public_access_cidrs": [cidr]}
    assert why in problems_at(environment)["clusters[0].endpoint.public_access_cidrs[0]"][0]


def test_the_whole_internet_may_still_be_written_out() -> None:
    environment = with_deployer({"cidrs": ["52.94.0.0/22"]})
    environment["clusters"][0]["endpoint"] = {
        "exposure": "public",
        "public_access_cidrs": ["0.0.0.0/0"],
    }
    assert problems_at(environment) == {}


# -- bootstrap ----------------------------------------------------------------------------------


def test_a_bootstrap_section_must_say_who_assumes_the_roles_it_creates() -> None:
    environment = minimal_environment(
        bootstrap={
            "people_trust": {"saml_provider_arn": "arn:aws:iam::123456789012:saml-provider/idp"}
        }
    )
    found = problems_at(environment)
    assert "deployer role 'tkestack-deployer'" in found["bootstrap.deployer_trust"][0]
    environment["bootstrap"]["existing_roles"] = ["tkestack-deployer"]
    assert problems_at(environment) == {}


def test_a_trust_that_names_nobody_is_refused() -> None:
    environment = minimal_environment(
        bootstrap={"deployer_trust": {}, "existing_roles": ["tkestack-break-glass"]}
    )
    assert "names nobody" in problems_at(environment)["bootstrap.deployer_trust"][0]


# -- one account per environment ----------------------------------------------------------------


def test_two_environments_in_one_account_are_refused() -> None:
    dev = minimal_environment()
    staging = copy.deepcopy(dev)
    staging.update(name="staging", tier="staging")
    (problem,) = account_sharing_problems(dev, {"Pulumi.staging.yaml": staging})
    assert problem.dotted == "identity.aws_account_id"
    assert "also environment 'staging'" in problem.message
    staging["identity"]["aws_account_id"] = "999999999999"
    assert account_sharing_problems(dev, {"Pulumi.staging.yaml": staging}) == []


def test_the_loader_reports_the_shared_account_with_the_sibling_file() -> None:
    dev = minimal_environment()
    other = copy.deepcopy(dev)
    other["name"] = "prod"
    with pytest.raises(SpecError) as caught:
        environment_from_layers([Layer("Pulumi.test.yaml", dev)], {"Pulumi.prod.yaml": other})
    assert "Pulumi.prod.yaml" in caught.value.report()


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_the_shipped_environments_each_have_their_own_accounts(env: str) -> None:
    config, _ = load_stack_file(ROOT / f"Pulumi.{env}.yaml")
    siblings = sibling_environments(ROOT / f"Pulumi.{env}.yaml")
    assert len(siblings) == 2  # the two other shipped environments are compared
    assert account_sharing_problems(config[ENVIRONMENT_KEY], siblings) == []


def test_a_cluster_stack_s_generated_config_is_no_sibling_environment(tmp_path: Path) -> None:
    # `tkestack up` generates Pulumi.<env>.<cluster>.yaml from the environment's own file
    # (tkestack/orchestrate.py): the same accounts, and the same environment, not another.
    environment = minimal_environment()
    for name in ("Pulumi.test.yaml", "Pulumi.test.cluster-a.yaml", "Pulumi.other.yaml"):
        (tmp_path / name).write_text(
            yaml.safe_dump({"config": {ENVIRONMENT_KEY: environment}}), encoding="utf-8"
        )
    assert sorted(sibling_environments(tmp_path / "Pulumi.test.yaml")) == ["Pulumi.other.yaml"]
