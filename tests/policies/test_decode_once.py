"""The pack's decode-once fast path answers exactly as pulumi_policy does without it.

`policies/decode_once.py` shares each resource's decoded properties between the policies
of one `Analyze`/`AnalyzeStack` call. These tests drive pulumi_policy's own analyzer
servicer in-process with and without that sharing (the unwrapped methods run outside any
scope, so nothing is shared) over every policy's passing and failing cases, values unknown
during preview, and a shipped environment.
"""

from __future__ import annotations

import functools
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
from tkestack.policies import decode_once
from tkestack.policies.pack import policies
from tkestack.policies.rules import PACK_NAME

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
    assert decode_once.install()
    return SERVICER(PACK_NAME, "0.0.1", policies(), EnforcementLevel.ADVISORY, *([None] * 7))


def answers(servicer, requests, method: str) -> Iterator[tuple[dict, dict]]:
    """(answer with sharing, answer without) for each request."""
    shared = getattr(SERVICER, method)
    unshared = shared.__wrapped__
    for request in requests:
        yield (
            json_format.MessageToDict(shared(servicer, request, None)),
            json_format.MessageToDict(unshared(servicer, request, None)),
        )


def test_install_wraps_the_analyzer_once(servicer) -> None:
    analyze = SERVICER.Analyze
    assert decode_once.install()
    assert SERVICER.Analyze is analyze
    assert not hasattr(analyze.__wrapped__, "__wrapped__")


def test_every_policy_case_gets_the_same_answer(servicer) -> None:
    resources = case_resources()
    compared = list(answers(servicer, [analyze_request(r) for r in resources], "Analyze"))
    for (with_sharing, without), resource in zip(compared, resources, strict=True):
        assert with_sharing == without, resource.urn
    # Not vacuous: the failing cases fire, and the unknown values are reported as such.
    fired = {d["policyName"] for answer, _ in compared for d in answer.get("diagnostics", [])}
    assert len(fired) >= 40, sorted(fired)
    assert any("during preview" in str(a) for a, _ in compared)


@pytest.mark.slow
def test_stack_policies_get_the_same_answer(servicer, rendered) -> None:
    staging = tuple(review.analyzer_resources(rendered("staging")))
    requests = [
        policy_module.proto.AnalyzeStackRequest(
            resources=[stack_resource(resource) for resource in resources]
        )
        for resources in [*case_sets(), staging]
    ]
    compared = list(answers(servicer, requests, "AnalyzeStack"))
    for with_sharing, without in compared:
        assert with_sharing == without
    fired = {d["policyName"] for answer, _ in compared for d in answer.get("diagnostics", [])}
    assert len(fired) >= 10, sorted(fired)


@pytest.mark.slow
def test_a_shipped_environment_gets_the_same_answers(servicer, rendered) -> None:
    resources = review.analyzer_resources(rendered("prod"))
    requests = [analyze_request(resource) for resource in resources]
    for (with_sharing, without), resource in zip(
        answers(servicer, requests, "Analyze"), resources, strict=True
    ):
        assert with_sharing == without, resource.urn


def unproxied(value: Any) -> Any:
    """pulumi_policy's unknown-checking proxy as plain data (its raw targets)."""
    if isinstance(value, proxy_module._DictProxy):
        return {key: unproxied(item) for key, item in value["__target"].items()}
    if isinstance(value, proxy_module._ListProxy):
        return [unproxied(item) for item in value["__target"]]
    return value


def shared_view(message) -> Any:
    """Within a scope: the decoded properties every policy of the call was handed."""
    return policy_module.unknown_checking_proxy(
        policy_module.deserialize_properties(policy_module.json_format.MessageToDict(message))
    )


def fresh_decoding(message) -> Any:
    return policy_module.deserialize_properties(json_format.MessageToDict(message))


def test_rules_leave_the_shared_properties_as_they_were(servicer, rendered) -> None:
    """Every policy of a call sees the same objects, so no rule may write to them: resource
    policies in Analyze, stack policies in AnalyzeStack."""
    for resource in case_resources():
        request = analyze_request(resource)
        with decode_once._call_scope():
            SERVICER.Analyze.__wrapped__(servicer, request, None)
            seen = shared_view(request.properties)
        assert unproxied(seen) == fresh_decoding(request.properties), resource.urn
    staging = review.analyzer_resources(rendered("staging"))
    for resources in [*case_sets(), staging]:
        stack = policy_module.proto.AnalyzeStackRequest(
            resources=[stack_resource(resource) for resource in resources]
        )
        with decode_once._call_scope():
            SERVICER.AnalyzeStack.__wrapped__(servicer, stack, None)
            seen_all = [shared_view(entry.properties) for entry in stack.resources]
        for entry, seen in zip(stack.resources, seen_all, strict=True):
            assert unproxied(seen) == fresh_decoding(entry.properties), entry.urn


def test_outside_a_call_nothing_is_shared(servicer) -> None:
    request = analyze_request(case_resources()[0])
    first = policy_module.json_format.MessageToDict(request.properties)
    assert policy_module.json_format.MessageToDict(request.properties) is not first


def test_an_unfamiliar_pulumi_policy_is_left_alone(monkeypatch) -> None:
    monkeypatch.delattr(policy_module, "unknown_checking_proxy")
    assert decode_once.install() is False
