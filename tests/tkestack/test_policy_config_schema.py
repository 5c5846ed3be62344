"""The policy config's schema check (`tkestack.analyzer.config`) answers as `jsonschema` does.

A config whose properties `_surely_valid` accepts is not checked by `jsonschema` at all (its
import is the biggest one-time cost of a review's policy analysis, issue 21), so that check
must accept exactly what `jsonschema`'s Draft 7 validator accepts: compared here on every
schema the pack announces (`review.pack.rule_infos`, the same infos both review paths
reconcile with) with every property set to values of every JSON type, on generated values,
and on schemas with keywords it leaves to `jsonschema`. `_validate_against_schema` then
returns `jsonschema`'s own messages in every case, and a review of a shipped environment
never imports `jsonschema`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tkestack.analyzer.config import (
    _ANNOTATIONS,
    _schema_document,
    _surely_valid,
    _validate_against_schema,
)
from tkestack.review.pack import POLICY_DIR, rule_infos

SAMPLES: list[Any] = [
    None,
    True,
    False,
    0,
    7,
    -1,
    2.0,  # Draft 6+: an integer
    2.5,
    "",
    "x",
    [],
    ["a", "b"],
    [1],
    ["a", None],
    [["a"]],
    {},
    {"a": 1},
]
"""A value of every JSON type, with the edges of Draft 7's types (bool is no integer, 2.0 is)."""

SCHEMAS = {info.name: info.config_schema for info in rule_infos() if info.config_schema}
"""Every policy's config schema as the pack announces it, by policy."""


def jsonschema_messages(document: dict[str, Any], props: Any) -> list[str]:
    """What the analyzer driver reported before the quick check: `jsonschema`'s messages."""
    errors = sorted(
        jsonschema.Draft7Validator(document).iter_errors(props),
        key=lambda e: (list(e.path), e.message),
    )
    return [
        f"{'.'.join(str(p) for p in e.path)}: {e.message}" if e.path else e.message for e in errors
    ]


def cases(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema's defaults, nothing set, and each property set to each sample."""
    properties = schema["properties"]
    defaults = {key: prop["default"] for key, prop in properties.items() if "default" in prop}
    found = [defaults, {}, {"unknownProperty": 1}]
    for key in properties:
        found.extend({**defaults, key: sample} for sample in SAMPLES)
    return found


def test_the_pack_announces_schemas_to_check() -> None:
    assert len(SCHEMAS) >= 20
    kinds = {prop["type"] for schema in SCHEMAS.values() for prop in schema["properties"].values()}
    assert kinds == {"array", "boolean", "integer", "string"}


@pytest.mark.parametrize("policy", sorted(SCHEMAS))
def test_accepts_and_refuses_what_jsonschema_does_on_every_shipped_schema(policy) -> None:
    schema = SCHEMAS[policy]
    document = _schema_document(schema)
    jsonschema.Draft7Validator.check_schema(document)
    refused = 0
    for props in cases(schema):
        expected = jsonschema_messages(document, props)
        assert _surely_valid(document, props) == (not expected), props
        assert _validate_against_schema(schema, props) == expected
        refused += bool(expected)
    assert refused  # the cases include values the schema refuses


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(SCHEMAS)), st.data())
def test_agrees_with_jsonschema_on_generated_values(policy, data) -> None:
    schema = SCHEMAS[policy]
    document = _schema_document(schema)
    key = data.draw(st.sampled_from(sorted(schema["properties"])))
    props = {key: data.draw(json_values)}
    expected = jsonschema_messages(document, props)
    assert _surely_valid(document, props) == (not expected)
    assert _validate_against_schema(schema, props) == expected


@pytest.mark.parametrize(
    ("schema", "props"),
    [
        # Keywords the quick check does not read: jsonschema decides and words the messages.
        ({"properties": {"n": {"type": "integer", "minimum": 0}}}, {"n": -1}),
        ({"properties": {"n": {"type": "integer", "minimum": 0}}}, {"n": 3}),
        ({"properties": {"s": {"type": "string", "enum": ["a", "b"]}}}, {"s": "c"}),
        ({"properties": {"s": {"type": "string", "minLength": 3}}}, {"s": "ab"}),
        ({"properties": {"l": {"type": "array", "items": [{"type": "string"}]}}}, {"l": [1]}),
        ({"properties": {"l": {"items": {"type": "string"}, "maxItems": 1}}}, {"l": ["a", "b"]}),
        ({"properties": {"x": {"type": ["string", "null"]}}}, {"x": None}),
        ({"properties": {"x": {"type": ["string", "null"]}}}, {"x": 1}),
        ({"properties": {"x": True}}, {"x": 1}),
        # Required properties: checked here.
        ({"properties": {"a": {"type": "string"}}, "required": ["a"]}, {}),
        ({"properties": {"a": {"type": "string"}}, "required": ["a"]}, {"a": "set"}),
    ],
)
def test_other_keywords_get_jsonschemas_answer(schema, props) -> None:
    document = _schema_document(schema)
    expected = jsonschema_messages(document, props)
    if _surely_valid(document, props):
        assert expected == []
    assert _validate_against_schema(schema, props) == expected


def test_the_keywords_passed_over_never_refuse_a_value_in_jsonschema() -> None:
    """`_ANNOTATIONS` are skipped by the quick check: jsonschema's Draft 7 validator has no
    validator for them; the ones it reads are validators there."""
    assert not _ANNOTATIONS & set(jsonschema.Draft7Validator.VALIDATORS)
    assert {"type", "properties", "required", "items"} <= set(jsonschema.Draft7Validator.VALIDATORS)


def test_minimum_is_left_to_jsonschema() -> None:
    document = _schema_document({"properties": {"n": {"type": "integer", "minimum": 0}}})
    assert not _surely_valid(document, {"n": 3})  # not read here: never accepted blindly
    assert _validate_against_schema(document, {"n": -1}) == ["n: -1 is less than the minimum of 0"]


@pytest.mark.slow
def test_reviewing_a_shipped_config_does_not_import_jsonschema() -> None:
    """Each shipped config, reconciled and validated as `evaluate_pack` does, in a fresh
    process: valid, and `jsonschema` never loaded."""
    script = """
import json, sys
from tkestack.analyzer import load_policy_config
from tkestack.analyzer.config import reconcile
from tkestack.policies import pack_config
from tkestack.review.pack import POLICY_DIR, rule_infos
for name in sys.argv[1:]:
    user = pack_config.parse(load_policy_config(POLICY_DIR / "config" / name))
    reconcile(rule_infos(), user, {}, "tkestack", "0")
print(json.dumps("jsonschema" in sys.modules))
"""
    names = sorted(path.name for path in (POLICY_DIR / "config").glob("*.json"))
    assert names == ["dev.json", "prod.json", "staging.json"]
    completed = subprocess.run(
        [sys.executable, "-c", script, *names], capture_output=True, text=True, check=True
    )
    assert json.loads(completed.stdout) is False
