"""Every rendered Kubernetes object validates against its cluster's Kubernetes schema.

`tkestack render <env> --format manifests` objects go through kubernetes-validate (the
Kubernetes OpenAPI schemas, strict: unknown fields are errors) at the version of the cluster
each object is installed in (`tkestack.safety.validate_manifests`). Custom resources have no
schema there: their kinds are listed in `safety.CUSTOM_KINDS` and skipped (their CRDs come
with the charts that own them).
"""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml
from conftest import ENVIRONMENTS

from tkestack import engine, safety

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader, on libyaml when the install has it (the same YAML 1.1 safe schema,
parsed in C: prod's manifests, about 120 kB, in a seventh of the pure-Python time)."""


@pytest.mark.slow
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_manifests_validate_against_each_clusters_kubernetes_version(rendered, env):
    rendering = rendered(env)
    documents = [
        yaml.load(part, Loader=SAFE_LOADER)
        for part in engine.render_manifests(rendering).split("---\n")
        if part
    ]
    objects = engine.kubernetes_objects(rendering)
    assert len(documents) == len(objects)
    for (_, document), manifest in zip(objects, documents, strict=True):
        assert manifest == document  # the manifests output is exactly these objects
    outcome = safety.validate_manifests(rendering)
    assert not outcome.errors, "\n".join(outcome.errors)
    assert outcome.validated > 0
    assert outcome.validated + outcome.custom_skipped == len(objects)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_secret_value_reaches_the_manifests(rendered, env):
    rendering = rendered(env)
    assert safety.leaks(engine.render_manifests(rendering), safety.known_secrets(rendering)) == []


def test_the_validator_rejects_unknown_fields_in_strict_mode():
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80}], "loadBalancerTyp": "internal"},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.33.0", strict=True)


def test_validation_reports_an_object_with_an_unknown_field():
    """validate_manifests is not vacuous: an object with a typo is reported with its URN."""
    resource = engine.RenderedResource(
        urn="urn:pulumi:t::p::kubernetes:core/v1:Service::x",
        type="kubernetes:core/v1:Service",
        name="x",
        custom=True,
        parent=None,
        provider="urn:pulumi:t::p::pulumi:providers:kubernetes::c1-k8s",
        dependencies=[],
        protect=False,
        inputs={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "x"},
            "spec": {"ports": [{"port": 80}], "loadBalancerTyp": "internal"},
        },
    )
    rendering = engine.Rendering(
        "p", "t", [resource], {"clusters": {"c1": {"kubernetes_version": "1.33"}}}
    )
    outcome = safety.validate_manifests(rendering)
    assert outcome.validated == 0
    assert len(outcome.errors) == 1 and outcome.errors[0].startswith(resource.urn)
