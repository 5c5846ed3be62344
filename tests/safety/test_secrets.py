"""Secrets never appear in plain text: not in the render JSON, the manifests, the table, or
any Helm value. The scan knows every value the program marked secret (and every generated
password) and looks for each of them, plus well-known secret shapes, in all outputs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ENVIRONMENTS

from tkestack import engine
from tkestack.cli import render_table

SECRET_SHAPES = {
    "PEM block": re.compile(r"-----BEGIN [A-Z ]+-----"),
    "EKS token": re.compile(r"k8s-aws-v1\.[A-Za-z0-9_-]{20,}"),
    "offline secret config stand-in": re.compile(r"offline-[a-z0-9-]+"),
    "kubeconfig client key or token": re.compile(r'"(client-key-data|token)"\s*:\s*"[^"\[]'),
    "AWS secret key": re.compile(r"(?i)aws_secret_access_key\s*[:=]\s*[A-Za-z0-9/+]{30,}"),
}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, engine.SecretValue):
        yield from _strings(value.value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _secrets_in(value: Any) -> Iterator[str]:
    """Every string leaf inside a secret, anywhere in `value`."""
    if isinstance(value, engine.SecretValue):
        yield from _strings(value.value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secrets_in(item)


GENERATED_SECRET_OUTPUTS = {
    "random:index/randomPassword:RandomPassword": ("result", "bcryptHash"),
}


def known_secrets(rendering: engine.Rendering) -> set[str]:
    """Every secret value of the render that is long enough to search for."""
    found: set[str] = set()
    for resource in rendering.resources:
        found.update(_secrets_in(resource.inputs))
        for key in GENERATED_SECRET_OUTPUTS.get(resource.type, ()):
            value = resource.outputs.get(key)
            if isinstance(value, str):
                found.add(value)
    found.update(_secrets_in(rendering.stack_outputs))
    # Short strings ("true", "admin") would match by accident; they are not secrets' bodies.
    return {secret for secret in found if len(secret) >= 12}


def outputs_of(rendering: engine.Rendering) -> dict[str, str]:
    from rich.console import Console

    console = Console(record=True, width=200, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render_table(rendering))
    return {
        "json": engine.render_json(rendering),
        "manifests": engine.render_manifests(rendering),
        "table": console.export_text(),
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_secret_is_masked_in_every_output(rendered, env: str) -> None:
    rendering = rendered(env)
    secrets = known_secrets(rendering)
    assert secrets, "the environment has secrets (kubeconfigs, passwords) to look for"
    for name, text in outputs_of(rendering).items():
        for secret in secrets:
            assert secret not in text, f"a secret value appears in plain text in --format {name}"
        for shape, pattern in SECRET_SHAPES.items():
            match = pattern.search(text)
            assert match is None, f"{shape} in --format {name}: {match.group(0)[:40]}..."


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kubeconfigs_are_secret_in_stack_outputs(rendered, env: str) -> None:
    rendering = rendered(env)
    for name, cluster in rendering.stack_outputs["clusters"].items():
        assert isinstance(cluster["kubeconfig"], engine.SecretValue), name
        assert (
            json.loads(engine.render_json(rendering))["outputs"]["clusters"][name]["kubeconfig"]
            == engine.SECRET_MARK
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_helm_values_hold_no_secret(rendered, env: str) -> None:
    rendering = rendered(env)
    secrets = known_secrets(rendering)
    releases = rendering.of_type("kubernetes:helm.sh/v3:Release")
    assert releases
    for release in releases:
        values = release.inputs.get("values", {})
        assert not list(_secrets_in(values)), f"{release.name}: a secret inside Helm values"
        text = json.dumps(engine.revealed(values))
        for secret in secrets:
            assert secret not in text, f"{release.name}: a secret value in its Helm values"


def test_the_scan_finds_a_leak() -> None:
    """The scan is not vacuous: a plain copy of a secret is caught."""
    resource = engine.RenderedResource(
        urn="urn:pulumi:t::p::kubernetes:core/v1:ConfigMap::leak",
        type="kubernetes:core/v1:ConfigMap",
        name="leak",
        custom=True,
        parent=None,
        provider=None,
        dependencies=[],
        protect=False,
        inputs={"data": {"password": "correct-horse-battery-staple"}},
    )
    holder = engine.RenderedResource(
        **{
            **resource.__dict__,
            "urn": resource.urn + "2",
            "name": "holder",
            "inputs": {"data": engine.SecretValue({"p": "correct-horse-battery-staple"})},
        }
    )
    rendering = engine.Rendering("p", "t", [resource, holder], {})
    secrets = known_secrets(rendering)
    assert secrets == {"correct-horse-battery-staple"}
    assert any(secret in engine.render_json(rendering) for secret in secrets)
    assert SECRET_SHAPES["PEM block"].search("x -----BEGIN RSA PRIVATE KEY----- y")
