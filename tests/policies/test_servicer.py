"""The pack's once-per-call analyzer answers exactly as pulumi_policy's own loop does.

`policies/servicer.py` runs a resource policy only on the types it declares and builds each
resource's view once per `Analyze`/`AnalyzeStack` call. These tests drive pulumi_policy's
analyzer servicer in-process with the replaced methods and with the library's own (kept as
`__wrapped__`) over every policy's passing and failing cases, values unknown during preview,
under the shipped configs' levels, and over shipped environments.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from policy_cases import BAD, CASES, OK, to_wire
from pulumi_policy import EnforcementLevel
from pulumi_policy import policy as policy_module
from pulumi_policy import proxy as proxy_module

from tkestack import review
from tkestack.analyzer import (
    AnalyzerResource,
    Unknown,
    analyze_request,
    stack_resource,
)
from tkestack.policies import servicer as once
from tkestack.policies.pack import policies, policy_types
from tkestack.policies.rules import PACK_NAME, RULES

SERVICER = policy_module._PolicyAnalyzerServicer


def with_unknowns(resource: AnalyzerResource) -> AnalyzerResource:
    """The resource as a preview sees it before its dependencies exist: every top-level
    string input unknown."""
    props = {
        key: Unknown("string") if isinstance(value, str) else value
        for key, value in resource.properties.items()
    }
    return AnalyzerResource(
        urn=resource.urn + "-preview",
        type=resource.type,
        name=resource.name + "-preview",
        properties=props,
        provider=resource.provider,
    )


@functools.cache
def case_sets() -> tuple[tuple[AnalyzerResource, ...], ...]:
    """Every policy's passing and failing resource sets."""
    return tuple(
        tuple(to_wire(subject) for subject in cases[kind])
        for _, cases in sorted(CASES.items())
        for kind in (OK, BAD)
    )


def case_resources() -> list[AnalyzerResource]:
    """Every resource of every case, and each as a preview with unknown values."""
    resources = [resource for case in case_sets() for resource in case]
    return [*resources, *(with_unknowns(resource) for resource in resources)]


@pytest.fixture(scope="module")
def servicer() -> policy_module._PolicyAnalyzerServicer:
    assert once.install(policy_types())
    return SERVICER(PACK_NAME, "0.0.1", policies(), EnforcementLevel.ADVISORY, *([None] * 7))


@pytest.fixture(scope="module")
def prod_levels(servicer) -> Iterator[policy_module._PolicyAnalyzerServicer]:
    """A servicer configured with prod's levels (mandatory, advisory and disabled policies)."""
    configured = SERVICER(PACK_NAME, "0.0.1", policies(), EnforcementLevel.ADVISORY, *([None] * 7))
    raw = json.loads((review.POLICY_DIR / "config" / "prod.json").read_text(encoding="utf-8"))
    request = policy_module.proto.ConfigureAnalyzerRequest()
    levels = {"advisory": 0, "mandatory": 1, "remediate": 2, "disabled": 3}
    for name, value in raw.items():
        level = value if isinstance(value, str) else value.get("enforcementLevel", "advisory")
        request.policyConfig[name].enforcementLevel = levels[level]
    # One policy at the remediate level: reported as mandatory by both loops.
    request.policyConfig[RULES[0].name].enforcementLevel = levels["remediate"]
    configured.Configure(request, None)
    return configured


def answers(servicer, requests, method: str) -> Iterator[tuple[dict, dict]]:
    """(answer of the replaced method, answer of the library's) for each request."""
    replaced = getattr(SERVICER, method)
    library = replaced.__wrapped__
    for request in requests:
        yield (
            json_format.MessageToDict(replaced(servicer, request, None)),
            json_format.MessageToDict(library(servicer, request, None)),
        )


def test_install_replaces_the_analyzer_once(servicer) -> None:
    analyze = SERVICER.Analyze
    assert once.install(policy_types())
    assert SERVICER.Analyze is analyze
    assert not hasattr(analyze.__wrapped__, "__wrapped__")


def test_the_types_come_from_the_rules() -> None:
    types = policy_types()
    assert types and all(types[rule.name] == rule.types for rule in RULES if rule.name in types)
    assert not any(rule.stack for rule in RULES if rule.name in types)


@pytest.mark.parametrize("configured", ["servicer", "prod_levels"])
def test_every_policy_case_gets_the_same_answer(configured, request) -> None:
    servicer = request.getfixturevalue(configured)
    resources = case_resources()
    compared = list(answers(servicer, [analyze_request(r) for r in resources], "Analyze"))
    for (replaced, library), resource in zip(compared, resources, strict=True):
        assert replaced == library, resource.urn
    # Not vacuous: the failing cases fire, and the unknown values are reported as such.
    fired = {d["policyName"] for answer, _ in compared for d in answer.get("diagnostics", [])}
    assert len(fired) >= 40, sorted(fired)
    assert any("during preview" in str(a) for a, _ in compared)


def test_stack_policies_get_the_same_answer(servicer, prod_levels, rendered) -> None:
    staging = tuple(review.analyzer_resources(rendered("staging")))
    requests = [
        policy_module.proto.AnalyzeStackRequest(
            resources=[stack_resource(resource) for resource in resources]
        )
        for resources in [*case_sets(), staging]
    ]
    for configured in (servicer, prod_levels):
        compared = list(answers(configured, requests, "AnalyzeStack"))
        for replaced, library in compared:
            assert replaced == library
        fired = {d["policyName"] for answer, _ in compared for d in answer.get("diagnostics", [])}
        assert len(fired) >= 10, sorted(fired)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_shipped_environment_gets_the_same_answers(servicer, prod_levels, rendered, env) -> None:
    resources = review.analyzer_resources(rendered(env))
    requests = [analyze_request(resource) for resource in resources]
    for configured in (servicer, prod_levels):
        for (replaced, library), resource in zip(
            answers(configured, requests, "Analyze"), resources, strict=True
        ):
            assert replaced == library, resource.urn


def unproxied(value: Any) -> Any:
    """pulumi_policy's unknown-checking proxy as plain data (its raw targets)."""
    if isinstance(value, proxy_module._DictProxy):
        return {key: unproxied(item) for key, item in value["__target"].items()}
    if isinstance(value, proxy_module._ListProxy):
        return [unproxied(item) for item in value["__target"]]
    return value


def fresh_decoding(message) -> Any:
    return policy_module.deserialize_properties(json_format.MessageToDict(message))


def test_rules_leave_the_shared_properties_as_they_were(servicer, rendered, monkeypatch) -> None:
    """Every policy of a call sees the same objects, so no rule may write to them: resource
    policies in Analyze, stack policies in AnalyzeStack."""
    seen: list[tuple[Any, Any]] = []
    build = once._properties

    def recording(message: Any) -> Any:
        view = build(message)
        seen.append((message, view))
        return view

    monkeypatch.setattr(once, "_properties", recording)
    for resource in case_resources():
        SERVICER.Analyze(servicer, analyze_request(resource), None)
    staging = review.analyzer_resources(rendered("staging"))
    for resources in [*case_sets(), staging]:
        stack = policy_module.proto.AnalyzeStackRequest(
            resources=[stack_resource(resource) for resource in resources]
        )
        SERVICER.AnalyzeStack(servicer, stack, None)
    assert len(seen) > len(staging)  # not vacuous: every call built its views here
    for message, view in seen:
        assert unproxied(view) == fresh_decoding(message)


def test_an_unfamiliar_pulumi_policy_is_left_alone(monkeypatch) -> None:
    monkeypatch.delattr(policy_module, "unknown_checking_proxy")
    assert once.supported() is False
    assert once.install(policy_types()) is False
