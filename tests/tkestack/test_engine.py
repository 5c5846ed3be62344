"""The offline engine's output documents: masked secrets keep their shape."""

from __future__ import annotations

import yaml

from tkestack import engine

SECRET_TYPE = "kubernetes:core/v1:Secret"


def test_a_masked_secret_keeps_its_shape() -> None:
    value = engine.SecretValue({"user": "admin", "tokens": ["a", "b"], "n": 3})
    assert engine.masked(value) == {
        "user": "[secret]",
        "tokens": ["[secret]", "[secret]"],
        "n": "[secret]",
    }
    assert engine.masked(engine.SecretValue("s3cr3t")) == "[secret]"
    assert engine.masked({"plain": "x", "nested": [engine.SecretValue("y")]}) == {
        "plain": "x",
        "nested": ["[secret]"],
    }


def test_manifests_print_a_secret_with_string_data_as_a_map() -> None:
    secret = engine.RenderedResource(
        urn=f"urn:pulumi:t::tkestack::{SECRET_TYPE}::s",
        type=SECRET_TYPE,
        name="s",
        custom=True,
        parent=None,
        provider=None,
        dependencies=[],
        protect=False,
        inputs={
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "stringData": engine.SecretValue({"password": "hunter2", "user": "admin"}),
        },
    )
    text = engine.render_manifests(engine.Rendering("tkestack", "t", [secret], {}))
    document = yaml.safe_load(text.split("\n", 1)[1])
    assert document["stringData"] == {"password": "[secret]", "user": "[secret]"}
    assert "hunter2" not in text
