"""Malformed specs always yield a clean, located validation error, never another exception.

`TKESTACK_FUZZ_EXAMPLES` sets the number of generated cases (the benchmark run uses 5,000).
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from conftest import minimal_environment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whole_program import render_or_refuse, write_environment

from tkestack import engine
from tkestack.stacks.loader import SpecError
from tkestack.stacks.program import validate

EXAMPLES = int(os.environ.get("TKESTACK_FUZZ_EXAMPLES", "150"))
PROGRAM_EXAMPLES = int(os.environ.get("TKESTACK_PROGRAM_FUZZ_EXAMPLES", "10"))
"""Cases run through the whole program (bounded in `make test`, scaled by `make safety`)."""

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "1.33",
            "1.3",
            "aws",
            "tencentcloud",
            "attached",
            "10.0.0.0/16",
            "t4",
            "m7g.xlarge",
            "g4dn.xlarge",
            "S5.LARGE8",
            "us-east-1",
            "ap-guangzhou",
            "hami",
            "time-slicing",
            "prod",
            "",
            "0.0.0.0/0",
            "-1",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=10), children, max_size=4),
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


@st.composite
def mutated_environments(draw: st.DrawFn) -> Any:
    """A valid environment with one to four random mutations at random places."""
    environment: Any = minimal_environment(
        tenants=[{"name": "team", "clusters": ["c1"]}],
    )
    environment["clusters"][0]["node_pools"].append(
        {"name": "gpu", "instance_types": ["g4dn.xlarge"], "accelerator": {"model": "t4"}}
    )
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(environment)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add-key", "duplicate"]))
        if not path:
            environment = draw(json_values) if action == "replace" else environment
            continue
        parent = environment
        for part in path[:-1]:
            parent = parent[part]
        leaf = path[-1]
        if action == "replace":
            parent[leaf] = draw(json_values)
        elif action == "delete":
            del parent[leaf]
        elif action == "add-key" and isinstance(parent[leaf], dict):
            parent[leaf][draw(st.text(min_size=1, max_size=8))] = draw(json_values)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[leaf]))
    return environment


def _check(environment: Any) -> None:
    """Validation (the spec and the components' own checks over it) refuses cleanly."""
    try:
        validate(environment, "Pulumi.fuzz.yaml")
    except SpecError as error:
        assert error.located, "a SpecError always carries at least one problem"
        for item in error.located:
            assert item.file in {
                "Pulumi.fuzz.yaml",
                "stacks/base.yaml",
                "stacks/tiers/dev.yaml",
                "stacks/tiers/staging.yaml",
                "stacks/tiers/prod.yaml",
            }
            assert item.problem.message
            assert item.render()
        assert error.report().startswith("invalid environment spec")


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_environments())
def test_mutated_specs_fail_cleanly(environment: Any) -> None:
    _check(environment)


@settings(max_examples=max(EXAMPLES // 3, 20), deadline=None)
@given(json_values)
def test_arbitrary_values_fail_cleanly(value: Any) -> None:
    _check(value)


@pytest.mark.slow
@settings(
    max_examples=PROGRAM_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(environment=mutated_environments())
def test_mutated_specs_render_or_are_refused_before_registering(environment: Any, tmp_path):
    """Through the whole program: what validation accepts renders to the end."""
    render_or_refuse(write_environment(tmp_path, environment))


def test_the_unmutated_environment_renders(tmp_path) -> None:
    environment = minimal_environment(tenants=[{"name": "team", "clusters": ["c1"]}])
    result = render_or_refuse(write_environment(tmp_path, environment))
    assert isinstance(result, engine.Rendering)
