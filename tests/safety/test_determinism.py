"""The same spec renders byte-identical results, across runs and Python hash seeds.

Both tests read `fresh_renders` (conftest): every environment rendered in two fresh processes
with different hash seeds, once per test run (shared by the xdist workers).
"""

from __future__ import annotations

import pytest
from conftest import ENVIRONMENTS, FRESH_SEEDS


@pytest.mark.slow
def test_every_environment_renders_byte_identical_across_hash_seeds(fresh_renders) -> None:
    first, second = (fresh_renders[seed] for seed in FRESH_SEEDS)
    assert len(first) == 2 * len(ENVIRONMENTS)
    assert all(first.values())
    for name, content in first.items():
        assert second[name] == content, f"{name} differs between hash seeds"


@pytest.mark.slow
def test_in_process_renders_match_a_fresh_process(rendered_environment, fresh_renders) -> None:
    """Rendering again in the same process (state left by earlier renders) changes nothing;
    prod's document holds every one of its derived stacks (`fleet.environment_json`)."""
    from tkestack import fleet

    fresh = fresh_renders[FRESH_SEEDS[0]]
    for env in ENVIRONMENTS:
        document = fleet.environment_json(rendered_environment(env))
        assert document.encode() == fresh[f"{env}.json"]
