"""`tkestack review`'s two ways to judge a rendering give the same findings: the pack over its
analyzer protocol, as `pulumi preview --policy-pack` runs it (`run_pack`), and its rules in
this process under the same reconciled config (`evaluate_pack`, the default).

Compared on every shipped environment under its own config and under a config that raises,
disables and re-levels policies (the `all` key included), and on a generated fleet (2
clusters here; `bench/run.py` measures the 50-cluster one): the same policies with the same
metadata, and the same findings (policy, URN, message, enforcement level, severity, and the
report fields derived from them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT, stack_config

from tkestack import engine
from tkestack.analyzer import PolicyPackError
from tkestack.policies.rules import BY_NAME, PACK_NAME, RULES, evaluate
from tkestack.review import (
    Finding,
    config_file_for,
    evaluate_pack,
    run_pack,
    subjects,
    tier_of,
)

sys.path.insert(0, str(ROOT / "bench"))
from fleet import write_fleet


def both(rendering: engine.Rendering, config: Path) -> list[Finding]:
    """Assert that both paths judge `rendering` alike under `config`; the findings."""
    name, version, infos, findings = run_pack(rendering, config)
    assert name == PACK_NAME
    assert sorted(info.name for info in infos) == sorted(BY_NAME)
    document = engine.render_json(rendering)
    fast_name, fast_version, fast_infos, fast_findings = evaluate_pack(rendering, config)
    # The rules read the rendering's own maps (secrets revealed, nothing copied): they leave
    # them as they were.
    assert engine.render_json(rendering) == document
    assert (fast_name, fast_version) == (name, version)

    def announced(found):
        return [
            (i.name, i.description, i.enforcement_level, i.severity, i.config_schema, i.policy_type)
            for i in found
        ]

    assert announced(fast_infos) == announced(infos)
    keys = [(f.policy, f.urn, f.message, f.level, f.severity) for f in findings]
    assert [(f.policy, f.urn, f.message, f.level, f.severity) for f in fast_findings] == keys
    assert fast_findings == findings  # the report fields derived from them too
    return findings


@pytest.mark.slow
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_a_shipped_environment_gets_the_same_findings(rendered, env) -> None:
    """The protocol's findings are also those of the rules' own entry point
    (`rules.evaluate` under the config file as read): compared on the same pack run, where
    tests/policies/test_pack_protocol.py started a pack of its own for dev."""
    rendering = rendered(env)
    config = config_file_for(env, tier_of(rendering))
    found = both(rendering, config)
    assert found or env == "prod"  # prod is clean under its own config
    direct = evaluate(subjects(rendering), json.loads(config.read_text(encoding="utf-8")))
    assert {(f.policy, f.urn, f.message, f.level) for f in found} == {
        (f.policy, f.urn, f.message, f.level) for f in direct
    }


@pytest.mark.slow
def test_a_reconfigured_pack_gets_the_same_findings(rendered, tmp_path) -> None:
    """Levels from `all`, per-policy overrides, a disabled policy, changed properties."""
    config = {
        "all": "mandatory",
        RULES[0].name: "disabled",
        RULES[1].name: "advisory",
        "node-pool-scaling-bounds": {"maxNodes": 2},
        "region-allowed": {"enforcementLevel": "advisory", "allowedRegions": ["us-east-1"]},
    }
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    found = both(rendered("prod"), path)
    assert {f.level for f in found if f.policy == "region-allowed"} == {"advisory"}
    assert {f.level for f in found if f.policy != "region-allowed"} == {"mandatory"}
    assert RULES[0].name not in {f.policy for f in found}


@pytest.mark.slow
def test_a_fleet_gets_the_same_findings(tmp_path) -> None:
    """Two clusters: the smallest fleet with what a fleet adds to the shipped environments,
    a peer cluster shipping its metrics and logs to the central one and tenants placed on
    more than one cluster (`bench/fleet.py` places each tenant on both); a third cluster of
    `write_fleet` is one more EKS cluster of the same kind (clusters 0-2 are all on AWS)."""
    stack_file = write_fleet(tmp_path / "Pulumi.fleet.yaml", clusters=2, tenants=2)
    rendering = engine.render(stack_config(stack_file))
    assert both(rendering, config_file_for("prod", "prod"))


def test_both_paths_refuse_a_config_the_engine_refuses(rendered, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"node-pool-scaling-bounds": {"maxNodes": "ten"}}))
    with pytest.raises(PolicyPackError, match="maxNodes") as fast:
        evaluate_pack(rendered("dev"), bad)
    with pytest.raises(PolicyPackError, match="maxNodes") as protocol:
        run_pack(rendered("dev"), bad)
    assert fast.value.reason == protocol.value.reason
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"no-such-policy": "mandatory"}))
    with pytest.raises(PolicyPackError, match="no-such-policy"):
        evaluate_pack(rendered("dev"), unknown)
