"""Spec layering: base -> tier -> stack, deterministic, with problems traced to their file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import minimal_environment

from tkestack.stacks.loader import (
    Layer,
    SpecError,
    environment_from_layers,
    load_environment,
    merge,
)


@pytest.mark.parametrize(
    ("lower", "upper", "expected"),
    [
        ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}, {"a": {"x": 1, "y": 3}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),  # lists are replaced whole
        ({"a": {"x": 1}}, {"a": None}, {"a": None}),
        ({"a": 1}, {"a": {"x": 1}}, {"a": {"x": 1}}),
        ({}, {}, {}),
    ],
)
def test_merge(lower: Any, upper: Any, expected: Any) -> None:
    assert merge(lower, upper) == expected


def test_merge_does_not_alias_its_inputs() -> None:
    lower = {"a": {"list": [1]}}
    merged = merge(lower, {"b": 1})
    merged["a"]["list"].append(2)
    assert lower == {"a": {"list": [1]}}


def test_tier_overlay_and_defaults_apply() -> None:
    prod = minimal_environment(tier="prod")
    prod["clusters"][0]["node_pools"].append(
        {"name": "big", "instance_types": ["m7i.xlarge"], "disk_size_gib": 500}
    )
    spec = load_environment(prod, "Pulumi.test.yaml").spec
    general, big = spec.clusters[0].node_pools
    assert general.disk_size_gib == 200  # stacks/tiers/prod.yaml defaults.node_pool
    assert big.disk_size_gib == 500  # explicit value beats defaults
    assert spec.observability.metrics_retention_days == 30
    assert spec.tags["managed-by"] == "tkestack"  # stacks/base.yaml

    dev = load_environment(minimal_environment(), "Pulumi.test.yaml").spec
    assert dev.clusters[0].node_pools[0].disk_size_gib == 100  # base defaults
    assert dev.observability.metrics_retention_days == 3


def test_stack_value_beats_tier_and_base() -> None:
    environment = minimal_environment(observability={"metrics_retention_days": 9})
    environment["tags"] = {"owner": "ml-team"}
    spec = load_environment(environment, "Pulumi.test.yaml").spec
    assert spec.observability.metrics_retention_days == 9
    assert spec.tags["owner"] == "ml-team"
    assert spec.tags["cost-center"] == "platform"  # still from base


def test_merge_is_deterministic(tmp_path: Path) -> None:
    dumps = {
        load_environment(minimal_environment(tier=tier), "x").spec.model_dump_json()
        for tier in ("prod", "prod", "prod")
    }
    assert len(dumps) == 1


def test_problem_in_defaults_names_the_layer_that_wrote_it() -> None:
    base = Layer(
        "stacks/base.yaml",
        {"defaults": {"node_pool": {"disk_size_gib": 5}}},
        lines={("defaults", "node_pool", "disk_size_gib"): 7},
    )
    own = Layer("Pulumi.test.yaml", minimal_environment())
    with pytest.raises(SpecError) as caught:
        environment_from_layers([base, own])
    (located,) = caught.value.located
    assert located.problem.dotted == "clusters[0].node_pools[0].disk_size_gib"
    assert (located.file, located.line) == ("stacks/base.yaml", 7)
    assert located.written_at == "defaults.node_pool.disk_size_gib"
    assert "set at defaults.node_pool.disk_size_gib" in located.render()


def test_unknown_defaults_section() -> None:
    own = Layer("Pulumi.test.yaml", {**minimal_environment(), "defaults": {"pool": {}}})
    with pytest.raises(SpecError) as caught:
        environment_from_layers([own])
    assert [item.problem.dotted for item in caught.value.located] == ["defaults.pool"]


def test_missing_key_points_at_the_parent_in_the_stack_file() -> None:
    environment = minimal_environment()
    del environment["clusters"][0]["kubernetes_version"]
    own = Layer("Pulumi.test.yaml", environment, lines={("clusters", 0): 12})
    with pytest.raises(SpecError) as caught:
        environment_from_layers([own])
    (located,) = caught.value.located
    assert located.problem.dotted == "clusters[0].kubernetes_version"
    assert (located.file, located.line) == ("Pulumi.test.yaml", 12)
