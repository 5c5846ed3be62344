"""The pack over its real analyzer protocol returns the same verdicts as the rules called
directly, on the policy cases (every shipped environment: tests/policies/
test_review_paths.py, from the same pack run as its protocol path)."""

from __future__ import annotations

import pytest
from policy_cases import BAD, CASES, CONFIG, OK, to_wire

from tkestack.analyzer import AnalyzerProvider, AnalyzerResource, PolicyPackRunner, Unknown
from tkestack.policies.rules import BY_NAME, PACK_NAME, evaluate
from tkestack.policies.rules.base import Provider, Subject
from tkestack.review import POLICY_DIR
from tkestack.review.pack import strip_description


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


def verdicts_over_protocol(pack: PolicyPackRunner, resources: list[AnalyzerResource]):
    name, infos = pack.info()
    violations = pack.analyze(resources)
    assert name == PACK_NAME
    assert sorted(info.name for info in infos) == sorted(BY_NAME)
    found = {
        (v.policy_name, v.urn, strip_description(v.message, v.description), v.enforcement_level)
        for v in violations
    }
    return found, pack.effective_config


def direct(resources: list[Subject], config) -> set[tuple[str, str | None, str, str]]:
    return {(f.policy, f.urn, f.message, f.level) for f in evaluate(resources, config)}


def preview_cluster() -> AnalyzerResource:
    """An EKS cluster as a preview sees it: its role, network and access config unknown."""
    return AnalyzerResource(
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


@pytest.mark.slow
def test_cases_same_verdicts_over_protocol_and_direct() -> None:
    """Every policy's cases over the protocol and directly; then, in the same pack process,
    a preview's unknown values over the protocol. Its config raises levels and sets
    properties but disables no policy (checked), and a level other than `disabled` does not
    decide whether a policy applies, so the unknown values are judged as under the default
    config."""
    everything: list[Subject] = []
    for policy in sorted(CASES):
        for kind in (OK, BAD):
            everything.extend(isolate(f"{policy}-{kind}", CASES[policy][kind]))
    config = {name: {"enforcementLevel": "mandatory", **values} for name, values in CONFIG.items()}
    with PolicyPackRunner(POLICY_DIR, config=config, stack="test") as pack:
        over_protocol, effective = verdicts_over_protocol(pack, [to_wire(s) for s in everything])
        preview = pack.analyze_report([preview_cluster()])
    expected = direct(everything, config)
    assert over_protocol == expected
    # every policy fired somewhere, so the comparison covers the whole pack
    assert {policy for policy, *_ in expected} == set(BY_NAME)
    assert effective["region-allowed"]["allowedRegions"] == ["eu-central-1"]
    assert all(level != "disabled" for level in (v["enforcementLevel"] for v in effective.values()))

    # Unknown values make policies not applicable over the protocol.
    fired = {v.policy_name for v in preview.violations}
    skipped = {n.policy_name for n in preview.not_applicable}
    assert {"cluster-endpoint-private", "cluster-no-creator-admin"} <= skipped
    assert not fired & {
        "cluster-endpoint-private",
        "cluster-no-creator-admin",
        "cluster-access-entries",
    }
    assert "cluster-deletion-protection" in fired  # known inputs are still judged
