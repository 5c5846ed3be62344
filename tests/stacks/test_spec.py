"""Environment spec validation: every problem reported at once, with its exact path."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import ROOT, minimal_environment
from spec_support import problems_of

from tkestack.stacks.loader import SpecError, load_environment


def with_pool(**pool: Any) -> dict[str, Any]:
    environment = minimal_environment()
    environment["clusters"][0]["node_pools"] = [{"name": "p", **pool}]
    return environment


def test_minimal_environment_is_valid() -> None:
    loaded = load_environment(minimal_environment(), "Pulumi.test.yaml")
    assert loaded.spec.clusters[0].node_pools[0].instance_types == ["m7i.xlarge"]
    assert loaded.spec.tags["owner"]  # from stacks/base.yaml


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda e: e.update(tier="qa"), "tier", "'dev', 'staging' or 'prod'"),
        (lambda e: e.update(colour="blue"), "colour", "unknown key"),
        (lambda e: e.update(clusters=[]), "clusters", "at least 1"),
        (lambda e: e["clusters"][0].update(cloud="gcp"), "clusters[0].cloud", "'aws'"),
        (lambda e: e["clusters"][0].update(region="mars-1"), "clusters[0].region", "not a known"),
        (lambda e: e["clusters"][0].pop("region"), "clusters[0].region", "required"),
        (
            lambda e: e["clusters"][0].update(kubernetes_version="1.12"),
            "clusters[0].kubernetes_version",
            "supported window",
        ),
        (
            lambda e: e["clusters"][0].update(kubernetes_version="v1.30"),
            "clusters[0].kubernetes_version",
            "1.32",
        ),
        (
            lambda e: e["clusters"][0]["network"].update(vpc_cidr="10.0.0.0/8"),
            "clusters[0].network.vpc_cidr",
            "/16 and /24",
        ),
        (
            lambda e: e["clusters"][0]["network"].update(vpc_cidr="10.0.0.300/16"),
            "clusters[0].network.vpc_cidr",
            "IPv4",
        ),
        (
            lambda e: e["clusters"][0].update(endpoint={"exposure": "public"}),
            "clusters[0].endpoint.public_access_cidrs",
            "public endpoint",
        ),
        (lambda e: e.update(tags={"owner": "x", "cost-center": ""}), "tags", "cost-center"),
        (
            lambda e: e.update(tenants=[{"name": "t", "clusters": ["nope"]}]),
            "tenants[0].clusters[0]",
            "no cluster named 'nope'",
        ),
        (
            lambda e: e.update(tenants=[{"name": "Bad_Name", "clusters": ["c1"]}]),
            "tenants[0].name",
            "pattern",
        ),
        (
            lambda e: e.update(tenants=[{"name": "t", "clusters": ["c1"], "quota": {"gpus": 1}}]),
            "tenants[0].quota.gpus",
            "no GPU pool",
        ),
        (
            lambda e: e.update(
                tenants=[{"name": "t", "clusters": ["c1"], "pod_security": "baseline"}]
            ),
            "tenants[0].pod_security_reason",
            "reason",
        ),
        (
            lambda e: e.update(observability={"central_cluster": "ghost"}),
            "observability.central_cluster",
            "no cluster named 'ghost'",
        ),
        (
            lambda e: e.update(allowed_regions=["eu-west-1"]),
            "clusters[0].region",
            "not in allowed_regions",
        ),
        (
            # EKS user guide network-reqs.adoc: no control-plane subnets in use1-az3.
            lambda e: e["clusters"][0]["network"].update(
                availability_zone_ids=["use1-az1", "use1-az3", "use1-az4"]
            ),
            "clusters[0].network.availability_zone_ids",
            "EKS refuses control-plane subnets in use1-az3",
        ),
        (
            lambda e: e["clusters"][0]["network"].update(
                availability_zone_ids=["us-east-1a", "us-east-1b", "us-east-1c"]
            ),
            "clusters[0].network.availability_zone_ids",
            "is not a zone ID",
        ),
        (
            lambda e: e["clusters"][0]["network"].update(availability_zone_ids=["use1-az1"]),
            "clusters[0].network.availability_zone_ids",
            "three distinct zone IDs",
        ),
    ],
)
def test_one_mistake_one_problem_with_its_path(mutate: Any, path: str, fragment: str) -> None:
    environment = minimal_environment()
    mutate(environment)
    problems = problems_of(environment)
    assert path in problems, problems
    assert fragment in problems[path]


@pytest.mark.parametrize(
    ("pool", "path", "fragment"),
    [
        ({"instance_types": ["m7i.xlarge"], "min_size": 3, "max_size": 2}, "max_size", "below"),
        (
            {"instance_types": ["m7i.xlarge"], "min_size": 1, "max_size": 2, "desired_size": 5},
            "desired_size",
            "outside",
        ),
        ({"instance_types": ["m7g.xlarge", "m7i.xlarge"]}, "instance_types", "mixes"),
        ({"instance_types": ["m7g.xlarge"], "architecture": "x86_64"}, "architecture", "arm64"),
        ({"instance_types": ["x9.huge"]}, "instance_types[0]", "not a aws instance type"),
        ({"instance_types": ["g5.xlarge"]}, "instance_types[0]", "declare `accelerator`"),
        (
            {"instance_types": ["m7i.xlarge"], "accelerator": {"model": "t4"}},
            "instance_types[0]",
            "no GPU",
        ),
        (
            {"instance_types": ["g4dn.xlarge"], "accelerator": {"model": "a100"}},
            "instance_types[0]",
            "not the a100",
        ),
        (
            {"instance_types": ["g4dn.xlarge"], "accelerator": {"model": "t4", "count": 4}},
            "accelerator.count",
            "has 1",
        ),
        (
            {"instance_types": ["g4dn.xlarge"], "accelerator": {"model": "t4", "replicas": 4}},
            "accelerator.replicas",
            "time-slicing",
        ),
        (
            {"instance_types": ["g4dn.xlarge"], "accelerator": {"model": "quantum"}},
            "accelerator.model",
            "unknown GPU model",
        ),
        (
            {"instance_types": ["m7i.xlarge"], "kubernetes_version": "1.31"},
            "kubernetes_version",
            "more than one minor",
        ),
        (
            {"instance_types": ["m7i.xlarge"], "kubernetes_version": "1.34"},
            "kubernetes_version",
            "ahead",
        ),
        ({"instance_types": []}, "instance_types", "at least 1"),
        ({"instance_types": ["m7i.xlarge"], "max_size": 0}, "max_size", "greater than or equal"),
    ],
)
def test_node_pool_rules(pool: dict[str, Any], path: str, fragment: str) -> None:
    problems = problems_of(with_pool(**pool))
    full = f"clusters[0].node_pools[0].{path}"
    assert full in problems, problems
    assert fragment in problems[full]


def test_duplicate_names_and_overlapping_cidrs() -> None:
    environment = minimal_environment()
    twin = copy.deepcopy(environment["clusters"][0])
    twin["network"]["vpc_cidr"] = "10.0.128.0/17"
    environment["clusters"].append(twin)
    environment["clusters"][0]["node_pools"].append(
        {"name": "general", "instance_types": ["m7i.large"]}
    )
    problems = problems_of(environment)
    assert "already used by clusters[0]" in problems["clusters[1].name"]
    assert "overlaps 10.0.0.0/16" in problems["clusters[1].network.vpc_cidr"]
    assert "already used" in problems["clusters[0].node_pools[1].name"]


def test_attached_cluster_rules() -> None:
    environment = minimal_environment()
    environment["clusters"].append(
        {
            "name": "onprem",
            "cloud": "attached",
            "kubernetes_version": "1.33",
            "network": {"vpc_cidr": "10.9.0.0/16"},
            "node_pools": [{"name": "metal", "instance_types": ["dell-r750"], "spot": True}],
        }
    )
    problems = problems_of(environment)
    assert "kubeconfig_secret" in problems["clusters[1].attached"]
    assert "attached cluster" in problems["clusters[1].network.vpc_cidr"]
    assert "required on attached" in problems["clusters[1].node_pools[0].architecture"]
    assert "not ours" in problems["clusters[1].node_pools[0].spot"]


def test_five_mistakes_are_all_reported_with_file_and_line() -> None:
    """The fixture from the README: five mistakes of five kinds, reported in one pass."""
    from tkestack import engine

    config = engine.read_stack_config(ROOT / "tests/fixtures/specs/Pulumi.five-mistakes.yaml", ROOT)
    with pytest.raises(SpecError) as caught:
        engine.render(config)
    located = caught.value.located
    assert [item.problem.dotted for item in located] == [
        "clusters[0].node_pools[0].max_size",
        "clusters[0].node_pools[1].instance_types",
        "clusters[1].region",
        "clusters[1].network.vpc_cidr",
        "clusters[1].node_pools[0].max_nodes",
    ]
    assert {item.file for item in located} == {"tests/fixtures/specs/Pulumi.five-mistakes.yaml"}
    assert [item.line for item in located] == [20, 22, 25, 28, 32]
    report = caught.value.report()
    assert report.startswith("invalid environment spec: 5 problems")
    assert "tkestack:environment.clusters[1].region" in report


@pytest.mark.parametrize(
    "value",
    [None, "just a string", 42, ["a", "list"], {}],
)
def test_not_an_environment(value: Any) -> None:
    with pytest.raises(SpecError) as caught:
        load_environment(value, "Pulumi.test.yaml")
    assert caught.value.located
    assert all(item.file == "Pulumi.test.yaml" for item in caught.value.located)


# -- values the spec's types allow, refused unless the program can build them (issue 16) -------


def _tencent(region: str, name: str, cidr: str) -> dict[str, Any]:
    return {
        "name": name,
        "cloud": "tencentcloud",
        "region": region,
        "kubernetes_version": "1.32",
        "network": {"vpc_cidr": cidr},
        "node_pools": [{"name": "general", "instance_types": ["S5.LARGE8"]}],
    }


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"observability": {"managed_metrics": "tmp"}}, "observability.managed_metrics", "'none'"),
        (
            {"observability": {"alert_receiver_secret": "hook"}},
            "observability.alert_receiver_secret",
            "remove the key",
        ),
        (
            {"registry": {"pull_through_caches": ["k8s", "docker-hub"]}},
            "registry.pull_through_caches[1]",
            "credentials",
        ),
        (
            {
                "clusters": [
                    _tencent("ap-guangzhou", "gz", "10.1.0.0/16"),
                    _tencent("ap-shanghai", "sh", "10.2.0.0/16"),
                ],
                "observability": {"enabled": False},
            },
            "registry.tencent_edition",
            "premium",
        ),
    ],
)
def test_options_the_program_cannot_build_are_refused(
    overrides: dict[str, Any], path: str, fragment: str
) -> None:
    problems = problems_of(minimal_environment(**overrides))
    assert list(problems) == [path]
    assert fragment in problems[path]


@pytest.mark.parametrize(
    "overrides",
    [
        {"observability": {"managed_metrics": "amp", "enabled": False}},
        {"registry": {"pull_through_caches": ["docker-hub"], "enabled": False}},
        {
            "clusters": [
                _tencent("ap-guangzhou", "gz", "10.1.0.0/16"),
                _tencent("ap-shanghai", "sh", "10.2.0.0/16"),
            ],
            "registry": {"tencent_edition": "premium"},
            "observability": {"enabled": False},
        },
        {
            "clusters": [
                _tencent("ap-guangzhou", "gz", "10.1.0.0/16"),
                _tencent("ap-shanghai", "sh", "10.2.0.0/16"),
            ],
            "registry": {"replicate": False},
            "observability": {"enabled": False},
        },
        {"clusters": [_tencent("ap-guangzhou", "gz", "10.1.0.0/16")]},  # one region: standard
    ],
)
def test_the_buildable_alternatives_pass(overrides: dict[str, Any]) -> None:
    load_environment(minimal_environment(**overrides), "Pulumi.test.yaml")


@pytest.mark.parametrize(
    ("pool", "path", "fragment"),
    [
        ({"labels": {"bad key": "x"}}, "labels.bad key", "qualified name"),
        ({"labels": {"team": "-x"}}, "labels.team", "label value"),
        ({"taints": [{"key": "a/b/c"}]}, "taints[0].key", "DNS subdomain"),
        ({"taints": [{"key": "k", "value": "no way"}]}, "taints[0].value", "label value"),
        ({"name": "p" * 32, "instance_types": ["m7i.xlarge"]}, "name", "EKS allows 63"),
    ],
)
def test_node_labels_taints_and_names_follow_the_node_pool_component(
    pool: dict[str, Any], path: str, fragment: str
) -> None:
    environment = with_pool(**{"instance_types": ["m7i.xlarge"], **pool})
    environment["clusters"][0]["name"] = "c" * 12 if pool.get("name") else "c1"
    problems = problems_of(environment)
    assert list(problems) == [f"clusters[0].node_pools[0].{path}"]
    assert fragment in problems[f"clusters[0].node_pools[0].{path}"]


def test_valid_labels_and_taints_pass() -> None:
    environment = with_pool(
        instance_types=["m7i.xlarge"],
        labels={"example.com/team": "payments", "tier": ""},
        taints=[{"key": "example.com/dedicated", "value": "batch", "effect": "NoExecute"}],
    )
    load_environment(environment, "Pulumi.test.yaml")


def test_a_version_written_as_a_number_asks_for_a_string() -> None:
    environment = minimal_environment()
    environment["clusters"][0]["kubernetes_version"] = 1.3
    problems = problems_of(environment)
    message = problems["clusters[0].kubernetes_version"]
    assert "quoted string" in message and "1.3" in message
    assert "supported" not in message


def test_a_stack_file_that_is_not_utf8_is_a_located_spec_error(tmp_path) -> None:
    from tkestack.stacks.loader import load_stack_file

    path = tmp_path / "Pulumi.latin.yaml"
    path.write_bytes(b"config:\n  tkestack:environment:\n    name: caf\xe9\n")
    with pytest.raises(SpecError, match=r"not UTF-8 text \(byte 0xe9 at offset 45\)"):
        load_stack_file(path)
    path.write_bytes("config:\n  tkestack:environment:\n    name: café\n".encode())
    assert load_stack_file(path)[0]["tkestack:environment"] == {"name": "café"}


def test_pinned_zone_ids_that_eks_accepts_are_valid() -> None:
    environment = minimal_environment()
    environment["clusters"][0]["network"]["availability_zone_ids"] = [
        "use1-az4",
        "use1-az1",
        "use1-az2",
    ]
    loaded = load_environment(environment, "Pulumi.test.yaml")
    assert loaded.spec.clusters[0].network.availability_zone_ids == [
        "use1-az4",
        "use1-az1",
        "use1-az2",
    ]
