"""The same spec renders byte-identical results, across runs and Python hash seeds.

Both tests read `fresh_renders` (conftest): every environment rendered in ONE fresh process
under another hash seed than this run's test workers (once per test run), and compare it with
the renders of this run's test workers (`rendered_environment`) or of this process.
"""

from __future__ import annotations

import pytest
from conftest import ENVIRONMENTS, ROOT, another_hash_seed, stack_config

from tkestack import engine, fleet


@pytest.mark.slow
def test_every_environment_renders_byte_identical_across_hash_seeds(
    rendered_environment, fresh_renders
) -> None:
    """Every environment's JSON (prod's holds every one of its derived stacks:
    `fleet.environment_json`) and manifests, rendered in a test worker of this run (after
    whatever that worker rendered before) and in a fresh process under another hash seed:
    the same bytes."""
    for env in ENVIRONMENTS:
        rendered = rendered_environment(env)
        assert fresh_renders[f"{env}.json"], env
        assert fleet.environment_json(rendered).encode() == fresh_renders[f"{env}.json"], env
        assert engine.render_manifests(rendered.whole).encode() == fresh_renders[f"{env}.yaml"]
    another_hash_seed(fresh_renders)  # this process's and each render's


@pytest.mark.slow
def test_in_process_renders_match_a_fresh_process(fresh_renders) -> None:
    """Rendering again in the same process (state left by earlier renders, this environment's
    own included) changes nothing."""
    config = stack_config(ROOT / "Pulumi.dev.yaml")
    first = fleet.render_environment(config)
    again = fleet.render_environment(config)
    assert fleet.environment_json(first).encode() == fresh_renders["dev.json"]
    assert fleet.environment_json(again).encode() == fresh_renders["dev.json"]
    another_hash_seed(fresh_renders)
