"""The environment spec's reference, generated from the pydantic models of `spec.py`.

Two outputs, both derived from the models (field docstrings are the descriptions), both
checked by tests/stacks/test_schema.py against what is committed:

- `stacks/environment.schema.json` (installed as `tkestack/stacks/environment.schema.json`):
  a JSON Schema of a stack file, `Pulumi.<env>.yaml`. The shipped stack files name it on
  their first line (`# yaml-language-server: $schema=...`), so editors with the YAML
  language server (VS Code's YAML extension) validate and complete them;
- `docs/spec.md`: the same, as a page people read; every "unknown key" error points to it.

A stack file's `tkestack:environment` is one layer over `stacks/base.yaml` and its tier
(`stacks/loader.py`), so the schema requires nothing: a key the lower layers give may be
absent. It does refuse unknown keys, like the loader. Cross-field rules (`stacks/rules.py`:
min <= max, known regions, overlapping CIDRs...) are not in the schema; the loader checks them.

Regenerate both after changing a model:

    .venv/bin/python -m tkestack.stacks.schema --write
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .loader import DEFAULTS_KEYS, ENVIRONMENT_KEY
from .spec import EnvironmentSpec

HERE = Path(__file__).resolve().parent
SCHEMA_FILE = HERE / "environment.schema.json"
"""The packaged JSON Schema (package data of `tkestack.stacks`)."""
DOC_FILE = HERE.parent / "docs" / "spec.md"
"""The reference page, in the source checkout."""
SCHEMA_HINT = "# yaml-language-server: $schema=stacks/environment.schema.json"
"""First line of every shipped `Pulumi.<env>.yaml` (a path relative to the stack file)."""
SCHEMA_ID = "https://tkestack.invalid/schema/environment.schema.json"
"""A stable `$id` (not fetched: editors read the file through the hint's relative path)."""
DEFAULTS_MODELS = {"cluster": "ClusterSpec", "node_pool": "NodePoolConfig"}


def _without_required(node: Any) -> Any:
    """A copy of a schema with every `required` removed (a layer may omit anything)."""
    if isinstance(node, dict):
        return {key: _without_required(value) for key, value in node.items() if key != "required"}
    if isinstance(node, list):
        return [_without_required(value) for value in node]
    return node


def environment_schema() -> dict[str, Any]:
    """The JSON Schema of a stack file (`Pulumi.<env>.yaml`), deterministic."""
    model = EnvironmentSpec.model_json_schema(mode="validation")
    definitions = _without_required(model.pop("$defs"))
    layer = _without_required(model)
    assert set(DEFAULTS_MODELS) == set(DEFAULTS_KEYS), "loader defaults changed"
    layer["properties"]["defaults"] = {
        "type": "object",
        "additionalProperties": False,
        "description": "Settings merged under every cluster (`cluster`) and every node pool"
        " (`node_pool`) of the environment, so that common settings are written once. Not"
        " part of the environment itself.",
        "properties": {
            key: {"$ref": f"#/$defs/{name}"} for key, name in sorted(DEFAULTS_MODELS.items())
        },
    }
    definitions["EnvironmentLayer"] = layer
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "tkestack stack config (Pulumi.<env>.yaml)",
        "description": "A Pulumi stack config file of a tkestack project. Its"
        f" `{ENVIRONMENT_KEY}` value is one layer of the environment spec (reference:"
        " docs/spec.md). Generated from stacks/spec.py by stacks/schema.py.",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "description": "Stack configuration: the environment, and provider settings"
                " (`aws:region`, secrets as `secure:` values...).",
                "properties": {ENVIRONMENT_KEY: {"$ref": "#/$defs/EnvironmentLayer"}},
            }
        },
        "$defs": dict(sorted(definitions.items())),
    }


def schema_text() -> str:
    """The schema file's content."""
    return json.dumps(environment_schema(), indent=2, sort_keys=False) + "\n"


# ---------------------------------------------------------------- markdown


def _type_of(node: dict[str, Any]) -> str:
    """A short type label of a property schema, links to the section of a model."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "anyOf" in node:
        options = [option for option in node["anyOf"] if option.get("type") != "null"]
        label = " \\| ".join(_type_of(option) for option in options)
        return label + (" or null" if len(options) < len(node["anyOf"]) else "")
    kind = node.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map of {_type_of(node['additionalProperties'])}"
    if kind == "object":
        return "map"
    return kind


def _constraints(node: dict[str, Any]) -> str:
    parts = []
    for key, label in (
        ("minimum", ">="),
        ("maximum", "<="),
        ("minLength", "length >="),
        ("maxLength", "length <="),
        ("minItems", "items >="),
        ("maxItems", "items <="),
    ):
        if key in node:
            parts.append(f"{label} {node[key]}")
    if "pattern" in node:
        parts.append(f"pattern `{node['pattern']}`")
    for option in node.get("anyOf", []):
        if option.get("type") != "null":
            inner = _constraints(option)
            if inner:
                parts.append(inner)
    return ", ".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(node: dict[str, Any], required: bool) -> str:
    if "default" in node:
        return f"`{json.dumps(node['default'])}`"
    return "**required**" if required else "-"


def _sections(root: str, definitions: dict[str, Any], required: dict[str, set[str]]) -> list[str]:
    """One section per model, in the order they are reached from the environment."""
    order: list[str] = []
    queue = [root]
    while queue:
        name = queue.pop(0)
        if name in order:
            continue
        order.append(name)
        text = json.dumps(definitions[name].get("properties", {}))
        for ref in sorted(set(text.split('"#/$defs/')[1:]), key=text.index):
            queue.append(ref.split('"', 1)[0])
    lines: list[str] = []
    for name in order:
        model = definitions[name]
        lines += [f"## {name}", ""]
        if model.get("description"):
            lines += [" ".join(model["description"].split()), ""]
        lines += ["| key | type | default | description |", "|---|---|---|---|"]
        for key, node in model.get("properties", {}).items():
            description = node.get("description", "")
            if not description and "$ref" in node:
                target = definitions[node["$ref"].rsplit("/", 1)[-1]]
                description = target.get("description", "")
            limits = _constraints(node)
            if limits:
                description = f"{description} ({limits})" if description else f"({limits})"
            lines.append(
                f"| `{key}` | {_type_of(node)} | {_default(node, key in required[name])} |"
                f" {_cell(description)} |"
            )
        lines.append("")
    return lines


def markdown() -> str:
    """docs/spec.md."""
    full = EnvironmentSpec.model_json_schema(mode="validation")
    definitions = dict(full.pop("$defs"))
    definitions["EnvironmentSpec"] = full
    required = {name: set(model.get("required", [])) for name, model in definitions.items()}
    lines = [
        "# The environment spec",
        "",
        "<!-- generated by `python -m tkestack.stacks.schema --write`; do not edit -->",
        "",
        f"An environment is the value `{ENVIRONMENT_KEY}` of a stack file, `Pulumi.<env>.yaml`.",
        "It is layered, lowest first: `stacks/base.yaml` (every environment), then",
        "`stacks/tiers/<tier>.yaml` (hardening per tier), then the stack file's own value.",
        "Mappings merge key by key; lists and scalars are replaced whole by a later layer.",
        "A layer may hold `defaults.cluster` and `defaults.node_pool`, merged under every",
        'cluster and node pool. "required" below means required once the layers are merged.',
        "",
        'Unknown keys are errors (with a "did you mean" when a known key is close). Rules',
        "that relate fields (min <= max, regions known for the cloud, CIDRs that must not",
        "overlap, instance types against the accelerator) are checked by `stacks/rules.py`",
        "and reported with file, line and key, before any resource is registered.",
        "",
        "## Editor support",
        "",
        "The JSON Schema of a stack file ships with the package, `stacks/environment.schema.json`",
        "(installed: `<site-packages>/tkestack/stacks/environment.schema.json`). The shipped",
        "stack files start with",
        "",
        "```yaml",
        SCHEMA_HINT,
        "```",
        "",
        "so VS Code's YAML extension (and any editor using the YAML language server) validates",
        "and completes them. In a project of your own, point the hint at the installed file:",
        '`python -c "import tkestack.stacks.schema as s; print(s.SCHEMA_FILE)"`.',
        "",
    ]
    lines += _sections("EnvironmentSpec", definitions, required)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """`--write` regenerates both files; `--check` exits 1 when either is stale."""
    parser = argparse.ArgumentParser(prog="python -m tkestack.stacks.schema")
    parser.add_argument("--write", action="store_true", help="rewrite both files")
    parser.add_argument("--check", action="store_true", help="exit 1 if either is stale")
    args = parser.parse_args(argv)
    outputs = {SCHEMA_FILE: schema_text(), DOC_FILE: markdown()}
    if args.write:
        for path, text in outputs.items():
            path.write_text(text, encoding="utf-8")
        return 0
    stale = [str(path) for path, text in outputs.items() if path.read_text("utf-8") != text]
    if args.check:
        for path in stale:
            sys.stderr.write(f"{path} is stale: python -m tkestack.stacks.schema --write\n")
        return 1 if stale else 0
    sys.stdout.write(outputs[SCHEMA_FILE])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["SCHEMA_FILE", "SCHEMA_HINT", "environment_schema", "markdown", "schema_text"]
