"""Secrets never appear in plain text: not in the render JSON, the manifests, the table, or
any Helm value. The scan knows every value the program marked secret (and every generated
password) and looks for each of them, plus well-known secret shapes, in all outputs."""

from __future__ import annotations

import json

import pytest
from conftest import ENVIRONMENTS

from tkestack import engine
from tkestack.cli import render_table
from tkestack.safety import SECRET_SHAPES, known_secrets, leaks, secret_strings


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
        found = leaks(text, secrets)
        assert not found, f"secrets in plain text in --format {name}: {found}"


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
        assert not list(secret_strings(values)), f"{release.name}: a secret inside Helm values"
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
    assert leaks(engine.render_json(rendering), secrets) == ["a known secret value (28 chars)"]
    assert SECRET_SHAPES["PEM block"].search("x -----BEGIN RSA PRIVATE KEY----- y")
