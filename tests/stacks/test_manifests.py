"""Every rendered Kubernetes object validates against its cluster's Kubernetes schema.

`tkestack render <env> --format manifests` objects go through kubernetes-validate (the
Kubernetes OpenAPI schemas, strict: unknown fields are errors) at the version of the cluster
each object is installed in. Custom resources have no schema there: their kinds are listed in
`CUSTOM_KINDS` and skipped (their CRDs come with the charts that own them).
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tkestack import engine

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = [env for env in ("dev", "staging", "prod") if (ROOT / f"Pulumi.{env}.yaml").exists()]
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
}
"""CRD kinds the platform creates (kube-prometheus-stack installs their CRDs): not in the
Kubernetes OpenAPI schemas, so not validated here."""
PROVIDER_SUFFIX = "-k8s"
"""The shipped clusters name their Kubernetes provider `<cluster>-k8s`."""


def cluster_versions(rendering: engine.Rendering) -> dict[str, str]:
    clusters = rendering.stack_outputs["clusters"]
    return {name: info["kubernetes_version"] for name, info in clusters.items()}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_manifests_validate_against_each_clusters_kubernetes_version(rendered, env):
    rendering = rendered(env)
    versions = cluster_versions(rendering)
    documents = [
        yaml.safe_load(part) for part in engine.render_manifests(rendering).split("---\n") if part
    ]
    objects = engine.kubernetes_objects(rendering)
    assert len(documents) == len(objects)
    validated = 0
    for (resource, document), manifest in zip(objects, documents, strict=True):
        assert manifest == document  # the manifests output is exactly these objects
        if (document["apiVersion"], document["kind"]) in CUSTOM_KINDS:
            continue
        # Secrets are masked whole in the manifests; validate their shape with every secret
        # leaf masked instead (the values themselves never reach a message).
        document = {
            key: value
            for key, value in masked_leaves(resource.inputs).items()
            if not key.startswith("__") and value is not None
        }
        provider = resource.provider.rsplit("::", 1)[-1]
        cluster = provider.removesuffix(PROVIDER_SUFFIX)
        version = f"{versions[cluster]}.0"
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{resource.urn}: {error.message} at {list(error.path)}")
        validated += 1
    assert validated > 0


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_secret_value_reaches_the_manifests(rendered, env):
    rendering = rendered(env)
    manifests = engine.render_manifests(rendering)
    for resource in rendering.resources:
        for value in _secrets(resource.inputs):
            if isinstance(value, str) and len(value) >= 8:
                assert value not in manifests, f"{resource.urn} leaks a secret"


def masked_leaves(value):
    """`value` with every secret's leaves replaced by `"[secret]"`, keeping its structure."""
    if isinstance(value, engine.SecretValue):
        return masked_leaves(_mask_all(value.value))
    if isinstance(value, dict):
        return {key: masked_leaves(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked_leaves(item) for item in value]
    return value


def _mask_all(value):
    if isinstance(value, engine.SecretValue):
        return _mask_all(value.value)
    if isinstance(value, dict):
        return {key: _mask_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_all(item) for item in value]
    return engine.SECRET_MARK if isinstance(value, str) else value


def _secrets(value):
    if isinstance(value, engine.SecretValue):
        yield from _leaves(value.value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secrets(item)


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, engine.SecretValue):
        yield from _leaves(value.value)
    else:
        yield value


def test_the_validator_rejects_unknown_fields_in_strict_mode():
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80}], "loadBalancerTyp": "internal"},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.33.0", strict=True)
