"""One reading of a policy pack config for every caller: the analyzer driver, the direct
evaluator and the review's policy table all honour the `all` key the same way.

The semantics are the engine's, pulumi/pulumi `pkg/resource/analyzer/config.go`
(`applyConfig`: `all`'s level to every policy first, then per-policy entries; commit
070757c7a28dff940697ffc0f76f7d01361cd42e)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tkestack.analyzer import PolicyPackRunner
from tkestack.policies import pack_config
from tkestack.policies.rules import BY_NAME, RULES, effective_config, evaluate
from tkestack.review import POLICY_DIR, policy_metadata

# Two policies of the real pack: one named in the config, one that only `all` reaches.
NAMED, OTHER = RULES[0].name, RULES[1].name
CONFIG = {"all": "disabled", NAMED: "mandatory"}


def _levels(effective: dict[str, dict[str, object]]) -> dict[str, object]:
    return {name: cfg["enforcementLevel"] for name, cfg in effective.items()}


def test_all_sets_every_level_and_a_policy_entry_overrides_it() -> None:
    levels = _levels(effective_config(CONFIG))
    assert levels[NAMED] == "mandatory"  # the policy's own entry wins over `all`
    assert levels[OTHER] == "disabled"
    assert set(levels.values()) == {"mandatory", "disabled"} and "all" not in levels


def test_all_as_an_object_sets_levels_but_its_properties_reach_no_policy() -> None:
    levels = effective_config({"all": {"enforcementLevel": "mandatory", "bogus": 1}})
    assert all(cfg["enforcementLevel"] == "mandatory" for cfg in levels.values())
    assert all("bogus" not in cfg for cfg in levels.values())


def test_without_all_the_packs_own_levels_stand() -> None:
    levels = _levels(effective_config({}))
    assert levels == {rule.name: rule.level for rule in RULES}


def test_direct_evaluation_runs_nothing_when_all_is_disabled() -> None:
    from tkestack.policies.rules.base import Subject

    bare = Subject(type="aws:s3/bucketV2:BucketV2", name="b", urn="urn:b", props={})
    assert evaluate([bare], {}) != []  # the bare resource does break some rule...
    assert evaluate([bare], {"all": "disabled"}) == []  # ...and `all` switches them all off


def test_an_unknown_policy_name_is_refused_by_the_direct_evaluator_too() -> None:
    with pytest.raises(pack_config.PolicyConfigError, match="does not have: no-such-policy"):
        effective_config({"no-such-policy": "mandatory"})


def test_a_bad_level_under_all_is_refused() -> None:
    with pytest.raises(pack_config.PolicyConfigError, match="not a valid enforcement level"):
        effective_config({"all": "blocking"})


def test_the_analyzer_the_evaluator_and_the_review_agree_on_all(tmp_path: Path) -> None:
    config_file = tmp_path / "policy-config.json"
    config_file.write_text(json.dumps(CONFIG), encoding="utf-8")
    with PolicyPackRunner(POLICY_DIR, config=config_file) as pack:
        _, infos = pack.info()
        over_the_wire = _levels(pack.effective_config)
    assert sorted(over_the_wire) == sorted(BY_NAME)
    direct = _levels(effective_config(CONFIG))
    reviewed = {meta.name: meta.level for meta in policy_metadata(infos, config_file)}
    assert over_the_wire == direct == reviewed
    assert reviewed[OTHER] == "disabled"  # review.py used to ignore `all` here
