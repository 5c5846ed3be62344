"""The policy pack config as the engine applies it (pulumi/pulumi
`pkg/resource/analyzer/config.go`): read a ``--policy-pack-config`` file, reconcile it with
what the pack announced, and validate each policy's properties against its JSON schema.

The reconciliation itself is the pack's one reading, `policies/pack_config.py`; this module
adds what only the driver knows: the schemas and ``initialConfig`` the pack announced over
the wire.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..policies import pack_config
from ..policies.pack_config import PolicyConfig
from .model import PolicyInfo, PolicyPackError


def load_policy_config(source: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``--policy-pack-config`` style JSON file (or pass a mapping through).

    The format is ``{"policy-name": "mandatory"}`` or
    ``{"policy-name": {"enforcementLevel": "advisory", "someProperty": 1}}``; the key ``all``
    sets the enforcement level of every policy.
    """
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyPackError(f"cannot read policy pack config {path}: {exc}") from exc
    if not text.strip():  # the engine accepts an empty file
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyPackError(f"policy pack config {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyPackError(f"policy pack config {path} must be a JSON object")
    return data


_ANNOTATIONS = frozenset({"default", "description", "title", "$comment", "examples"})
"""Draft 7 keywords that never refuse a value (annotations and comments): jsonschema 4.26's
`Draft7Validator.VALIDATORS` has no validator for any of them."""

_TYPES: dict[str, Callable[[Any], bool]] = {
    # jsonschema 4.26 `jsonschema/_types.py`, `draft7_type_checker` (Draft 6's "integer": an
    # int that is not a bool, or a float with no fractional part; "number": not a bool).
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "integer": lambda value: (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
    ),
    "null": lambda value: value is None,
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "object": lambda value: isinstance(value, dict),
    "string": lambda value: isinstance(value, str),
}


def _surely_valid(schema: Any, value: Any) -> bool:
    """True when `value` satisfies `schema` and `schema` uses only the Draft 7 keywords read
    here (`type`, `properties`, `required`, `items` as one schema, annotations): what the
    pack's policies announce (`policies/rules/base.py` `schema`, `string_list`). False when
    the value fails, or the schema says anything else: then `jsonschema` decides and words
    the messages. So the answer is always `jsonschema`'s, without importing it (~80 ms, the
    biggest one-time cost of a review's policy analysis) for a config that conforms;
    `tests/tkestack/test_policy_config_schema.py` holds this check to `jsonschema` on the
    shipped schemas' cases."""
    if not isinstance(schema, dict):
        return False
    for keyword, expected in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        if keyword == "type":
            kinds = expected if isinstance(expected, list) else [expected]
            checks = [_TYPES.get(kind) if isinstance(kind, str) else None for kind in kinds]
            if None in checks or not any(check(value) for check in checks if check):
                return False
        elif keyword == "properties":
            if not isinstance(expected, dict):
                return False
            if isinstance(value, dict) and not all(
                _surely_valid(expected[key], value[key]) for key in expected if key in value
            ):
                return False
        elif keyword == "required":
            if not isinstance(expected, list) or not all(isinstance(k, str) for k in expected):
                return False
            if isinstance(value, dict) and not all(key in value for key in expected):
                return False
        elif keyword == "items":
            if not isinstance(expected, dict):
                return False  # a tuple of schemas or a boolean schema: jsonschema decides
            if isinstance(value, list) and not all(_surely_valid(expected, v) for v in value):
                return False
        else:
            return False
    return True


def _schema_document(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON schema of one policy's properties, as the engine builds it from what the pack
    announced (an object with the policy's `properties` and `required`)."""
    document: dict[str, Any] = {"type": "object"}
    if schema.get("properties"):
        document["properties"] = schema["properties"]
    if schema.get("required"):
        document["required"] = schema["required"]
    return document


def _validate_against_schema(schema: dict[str, Any], props: dict[str, Any]) -> list[str]:
    """Validate one policy's properties: ``jsonschema``'s Draft 7 messages, none when valid
    (``jsonschema`` is imported only when `_surely_valid` cannot say the properties conform)."""
    document = _schema_document(schema)
    if _surely_valid(document, props):
        return []
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a dependency
        return [f"{key} is required" for key in schema.get("required", []) if key not in props]
    validator = jsonschema.Draft7Validator(document)
    errors = sorted(validator.iter_errors(props), key=lambda e: (list(e.path), e.message))
    messages = []
    for error in errors:
        where = ".".join(str(p) for p in error.path)
        messages.append(f"{where}: {error.message}" if where else error.message)
    return messages


def reconcile(
    policies: Iterable[PolicyInfo],
    user: Mapping[str, PolicyConfig] | None,
    initial: Mapping[str, PolicyConfig],
    pack: str,
    version: str,
) -> dict[str, PolicyConfig]:
    """``ReconcilePolicyPackConfig``: schema defaults < initialConfig < user config, then every
    policy's properties validated against its schema (all problems reported at once)."""
    policies = list(policies)
    entries = []
    for policy in policies:
        defaults: dict[str, Any] = {}
        if policy.config_schema:
            for key, prop in (policy.config_schema.get("properties") or {}).items():
                if isinstance(prop, dict) and "default" in prop:
                    defaults[key] = prop["default"]
        entries.append((policy.name, policy.enforcement_level, defaults))
    try:
        result = pack_config.reconcile(entries, user, initial=initial, pack=pack)
    except pack_config.PolicyConfigError as exc:
        raise PolicyPackError(str(exc)) from exc
    errors = []
    for policy in policies:
        if policy.config_schema is None:
            continue
        props = result[policy.name].properties or {}
        for message in _validate_against_schema(policy.config_schema, props):
            errors.append(f"validating policy config: {pack} {version}  {policy.name}: {message}")
    if errors:
        raise PolicyPackError("invalid policy pack config:\n" + "\n".join(sorted(errors)))
    return result
