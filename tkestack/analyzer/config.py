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
from collections.abc import Iterable, Mapping
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


def _validate_against_schema(schema: dict[str, Any], props: dict[str, Any]) -> list[str]:
    """Validate one policy's properties; uses ``jsonschema`` when installed."""
    document: dict[str, Any] = {"type": "object"}
    if schema.get("properties"):
        document["properties"] = schema["properties"]
    if schema.get("required"):
        document["required"] = schema["required"]
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a dev dependency
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
