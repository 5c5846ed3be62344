"""The spec reference (docs/spec.md) and the packaged JSON Schema of a stack file are
generated from the models and kept in sync; the shipped stack files carry the editor hint and
validate against the schema; unknown keys get "did you mean"; excluded regions say why."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from conftest import ENVIRONMENTS, ROOT, minimal_environment
from typer.testing import CliRunner

from tkestack.cli import app
from tkestack.components import catalog
from tkestack.stacks import schema
from tkestack.stacks.loader import SpecError, load_environment
from tkestack.stacks.suggest import closest, keys_at, unknown_key_message

runner = CliRunner()


def test_committed_schema_is_generated_from_the_models() -> None:
    assert schema.SCHEMA_FILE.read_text(encoding="utf-8") == schema.schema_text(), (
        "stale: .venv/bin/python -m tkestack.stacks.schema --write"
    )


def test_committed_spec_reference_is_generated_from_the_models() -> None:
    assert (ROOT / "docs" / "spec.md").read_text(encoding="utf-8") == schema.markdown(), (
        "stale: .venv/bin/python -m tkestack.stacks.schema --write"
    )


def test_field_docstrings_are_the_descriptions() -> None:
    pool = schema.environment_schema()["$defs"]["NodePoolConfig"]["properties"]
    assert pool["max_size"]["description"] == "Most nodes; >= min_size."
    assert "| `max_size` | integer | `3` | Most nodes; >= min_size." in schema.markdown()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_shipped_stack_files_carry_the_hint_and_validate(env: str) -> None:
    path = ROOT / f"Pulumi.{env}.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == schema.SCHEMA_HINT
    hinted = (path.parent / schema.SCHEMA_HINT.split("=", 1)[1]).resolve()
    assert hinted == schema.SCHEMA_FILE
    jsonschema.validate(yaml.safe_load(text), schema.environment_schema())


def test_the_schema_refuses_an_unknown_key_like_the_loader() -> None:
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    document["config"]["tkestack:environment"]["clusters"][0]["node_pools"][0]["max_nodes"] = 3
    with pytest.raises(jsonschema.ValidationError, match="max_nodes"):
        jsonschema.validate(document, schema.environment_schema())


def test_the_schema_accepts_layer_defaults_and_refuses_unknown_ones() -> None:
    layer = {"config": {"tkestack:environment": {"defaults": {"node_pool": {"spot": True}}}}}
    jsonschema.validate(layer, schema.environment_schema())
    layer["config"]["tkestack:environment"]["defaults"]["tenant"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(layer, schema.environment_schema())


def test_keys_at_follows_lists_and_optional_models() -> None:
    assert "max_size" in keys_at(("clusters", 0, "node_pools", 0))
    assert "sharing" in keys_at(("clusters", 0, "node_pools", 0, "accelerator"))
    assert keys_at(("no_such_section",)) == []


@pytest.mark.parametrize(
    ("path", "suggestion"),
    [
        (("clusters", 0, "regoin"), "region"),
        (("clusters", 0, "node_pools", 0, "instance_type"), "instance_types"),
        (("observabilty",), "observability"),
    ],
)
def test_unknown_key_with_a_close_match_says_did_you_mean(path, suggestion) -> None:
    assert f"did you mean {suggestion!r}?" in unknown_key_message(path)


def test_unknown_key_without_a_close_match_points_to_the_reference() -> None:
    message = unknown_key_message(("clusters", 0, "zzzzzz"))
    assert "did you mean" not in message and "docs/spec.md" in message


def test_did_you_mean_reaches_the_cli(write_stack) -> None:
    environment = minimal_environment()
    environment["clusters"][0]["kubernetes_verison"] = environment["clusters"][0].pop(
        "kubernetes_version", "1.35"
    )
    result = runner.invoke(app, ["render", str(write_stack(environment))])
    assert result.exit_code == 2
    assert "clusters[0].kubernetes_verison: unknown key (did you mean 'kubernetes_version'?" in (
        result.stderr
    )


def test_an_excluded_region_gives_the_catalogs_reason() -> None:
    reason = catalog.excluded_regions("aws")["us-west-1"]
    environment = minimal_environment()
    environment["clusters"][0]["region"] = "us-west-1"
    with pytest.raises(SpecError) as raised:
        load_environment(environment, "Pulumi.test.yaml", None)
    assert f"'us-west-1' is excluded from the aws catalog: {reason}" in raised.value.report()


def test_a_misspelt_region_gets_did_you_mean() -> None:
    environment = minimal_environment()
    environment["clusters"][0]["region"] = "us-esat-1"
    with pytest.raises(SpecError) as raised:
        load_environment(environment, "Pulumi.test.yaml", None)
    assert "did you mean 'us-east-1'?" in raised.value.report()


def test_closest_refuses_far_words() -> None:
    assert closest("xyz", ["region", "tier"]) is None


def test_schema_is_json_and_deterministic() -> None:
    assert json.loads(schema.schema_text()) == schema.environment_schema()
    assert schema.schema_text() == schema.schema_text()
