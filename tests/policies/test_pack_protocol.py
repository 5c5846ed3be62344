"""The pack over its real analyzer protocol returns the same verdicts as the rules called
directly, on the policy cases and on a shipped environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_cases import BAD, CASES, CONFIG, OK, to_wire

from tkestack.analyzer import AnalyzerProvider, AnalyzerResource, PolicyPackRunner
from tkestack.policies.rules import BY_NAME, PACK_NAME, evaluate
from tkestack.policies.rules.base import Provider, Subject
from tkestack.review import POLICY_DIR, analyzer_resources, subjects
from tkestack.review.pack import strip_description

CONFIG_DIR = POLICY_DIR / "config"


def isolate(key: str, resources: list[Subject]) -> list[Subject]:
    """The case's resources under URNs of their own, links kept inside the case, each case
    in a cluster (component) of its own so stack policies do not see other cases' objects
    as being in the same cluster."""
    renamed = {r.urn: f"{r.urn}-{key}" for r in resources}
    own_cluster = f"urn:pulumi:test::tkestack::tkestack:index:Cluster::case-{key}"
    result = [Subject(type="tkestack:index:Cluster", name=f"case-{key}", urn=own_cluster, props={})]
    for r in resources:
        provider = r.provider
        if provider is not None and provider.urn in renamed:
            provider = Provider(renamed[provider.urn], provider.type, provider.name, provider.props)
        result.append(
            Subject(
                type=r.type,
                name=f"{r.name}-{key}",
                urn=renamed[r.urn],
                props=r.props,
                protect=r.protect,
                parent=renamed.get(r.parent, r.parent) if r.parent else own_cluster,
                provider=provider,
                dependencies=tuple(renamed.get(d, d) for d in r.dependencies),
            )
        )
    return result


def verdicts_over_protocol(resources: list[AnalyzerResource], config, stack: str = "test"):
    with PolicyPackRunner(POLICY_DIR, config=config, stack=stack) as pack:
        name, infos = pack.info()
        violations = pack.analyze(resources)
        effective = pack.effective_config
    assert name == PACK_NAME
    assert sorted(info.name for info in infos) == sorted(BY_NAME)
    found = {
        (v.policy_name, v.urn, strip_description(v.message, v.description), v.enforcement_level)
        for v in violations
    }
    return found, effective


def direct(resources: list[Subject], config) -> set[tuple[str, str | None, str, str]]:
    return {(f.policy, f.urn, f.message, f.level) for f in evaluate(resources, config)}


@pytest.mark.slow
def test_cases_same_verdicts_over_protocol_and_direct() -> None:
    everything: list[Subject] = []
    for policy in sorted(CASES):
        for kind in (OK, BAD):
            everything.extend(isolate(f"{policy}-{kind}", CASES[policy][kind]))
    config = {name: {"enforcementLevel": "mandatory", **values} for name, values in CONFIG.items()}
    over_protocol, effective = verdicts_over_protocol([to_wire(s) for s in everything], config)
    expected = direct(everything, config)
    assert over_protocol == expected
    # every policy fired somewhere, so the comparison covers the whole pack
    assert {policy for policy, *_ in expected} == set(BY_NAME)
    assert effective["region-allowed"]["allowedRegions"] == ["eu-central-1"]


@pytest.mark.slow
@pytest.mark.parametrize("env", ["dev"])
def test_shipped_environment_same_verdicts(rendered, env: str) -> None:
    rendering = rendered(env)
    config_file = CONFIG_DIR / f"{env}.json"
    over_protocol, _ = verdicts_over_protocol(analyzer_resources(rendering), config_file, stack=env)
    import json

    expected = direct(subjects(rendering), json.loads(Path(config_file).read_text()))
    assert over_protocol == expected
    assert over_protocol, "the shipped environment should trip at least its advisory policies"


def test_unknown_values_make_policies_not_applicable_over_protocol() -> None:
    from tkestack.analyzer import Unknown

    cluster = AnalyzerResource(
        urn="urn:pulumi:test::tkestack::aws:eks/cluster:Cluster::preview",
        type="aws:eks/cluster:Cluster",
        name="preview",
        properties={
            "roleArn": Unknown(),
            "vpcConfig": Unknown("object"),
            "accessConfig": Unknown("object"),
            "version": "1.33",
        },
        provider=AnalyzerProvider(
            "urn:pulumi:test::tkestack::pulumi:providers:aws::aws",
            "pulumi:providers:aws",
            "aws",
            {"region": "us-east-1"},
        ),
    )
    with PolicyPackRunner(POLICY_DIR, stack="test") as pack:
        report = pack.analyze_report([cluster])
    fired = {v.policy_name for v in report.violations}
    skipped = {n.policy_name for n in report.not_applicable}
    assert {"cluster-endpoint-private", "cluster-no-creator-admin"} <= skipped
    assert not fired & {
        "cluster-endpoint-private",
        "cluster-no-creator-admin",
        "cluster-access-entries",
    }
    assert "cluster-deletion-protection" in fired  # known inputs are still judged
