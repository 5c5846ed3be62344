"""The stack program: read the environment from stack config, validate it, compose it.

The same function runs under `pulumi up -s <env>` and under `tkestack render <env>` (the
Pulumi SDK's mock runtime); nothing here knows which.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pulumi

from .compose import compose
from .loader import (
    ENVIRONMENT_KEY,
    LoadedEnvironment,
    SpecError,
    load_environment,
    refuse,
    sibling_environments,
)
from .plan import plan_problems
from .topology import parse_stack, topology_problems


def stack_file(stack: str) -> Path | None:
    """`Pulumi.<stack>.yaml` in the working directory or the project root, if it exists."""
    name = f"Pulumi.{stack}.yaml"
    for directory in (Path.cwd(), Path(__file__).resolve().parent.parent):
        path = directory / name
        if path.is_file():
            return path
    return None


def _stack_file_text(stack: str) -> tuple[str, str | None]:
    """Name and text of `Pulumi.<stack>.yaml`, for line numbers in messages (best effort)."""
    name = f"Pulumi.{stack}.yaml"
    path = stack_file(stack)
    if path is None:
        return name, None
    try:
        return name, path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # no line numbers; the loader reports it
        return name, None


# The offline engine's memo of `validate` (None: off, as under `pulumi up`). Only
# `validation_memo` turns it on: `tkestack render ENV` runs this program once per derived
# stack of a per-cluster environment in one process, each run validating the same environment.
_memo: dict[str, LoadedEnvironment] | None = None
# The sibling environments the program reads beside its stack file, under the same switch,
# keyed by the names and bytes of every `Pulumi.*.yaml` there (parsing them is the cost).
_siblings_memo: dict[str, dict[str, Any]] | None = None


@contextlib.contextmanager
def validation_memo() -> Generator[None]:
    """While open, `validate` answers a call it has answered before in this process from a
    memo keyed by everything it reads (the environment value, the file name and text, the
    sibling environments), so it never serves a result for other inputs. For the offline
    engine, which runs the program once per derived stack of one environment; every real
    `pulumi up` runs the program in its own process and validates. Nested uses share one
    memo; a refused spec is not remembered (it raises again)."""
    global _memo, _siblings_memo
    outer, outer_siblings = _memo, _siblings_memo
    if outer is None:
        _memo, _siblings_memo = {}, {}
    try:
        yield
    finally:
        _memo, _siblings_memo = outer, outer_siblings


def keep_validation_memo() -> None:
    """Turn the memo on for the rest of this process (a render worker process's
    initializer: the worker renders only stacks of the environment it was started for)."""
    global _memo, _siblings_memo
    if _memo is None:
        _memo, _siblings_memo = {}, {}


def _siblings(path: Path) -> dict[str, Any]:
    """`sibling_environments(path)`, from the memo while `validation_memo` is open."""
    if _siblings_memo is None:
        return sibling_environments(path)
    digest = hashlib.sha256(str(path).encode())
    for file in sorted(path.parent.glob("Pulumi.*.yaml")):
        digest.update(file.name.encode() + b"\0")
        try:
            digest.update(file.read_bytes())
        except OSError:
            digest.update(b"\0unreadable")
        digest.update(b"\0")
    key = digest.hexdigest()
    if key not in _siblings_memo:
        _siblings_memo[key] = sibling_environments(path)
    return _siblings_memo[key]


def _memo_key(
    environment: Any, display: str, text: str | None, siblings: dict[str, Any] | None
) -> str:
    document = json.dumps(
        [environment, display, text, siblings], sort_keys=True, default=repr, ensure_ascii=True
    )
    return hashlib.sha256(document.encode()).hexdigest()


def validate(
    environment: Any,
    display: str,
    text: str | None = None,
    siblings: dict[str, Any] | None = None,
) -> LoadedEnvironment:
    """Every check on the inputs, before anything is registered: the spec (shapes and rules)
    and then every component's own argument checks over what the composition would pass them
    (`stacks/plan.py`). Raises SpecError listing every problem with file, line and key.
    `siblings`: the project's other environments (`sibling_environments`), for the
    one-account-per-environment rule."""
    key = None if _memo is None else _memo_key(environment, display, text, siblings)
    if _memo is not None and key is not None and key in _memo:
        return _memo[key]
    loaded = load_environment(environment, display, text, siblings=siblings)
    refuse(loaded, [*plan_problems(loaded.spec), *topology_problems(loaded.spec)])
    if _memo is not None and key is not None:
        _memo[key] = loaded
    return loaded


def main() -> None:
    """Load and validate the environment, then register every resource of it.

    An invalid spec stops the program before any resource is registered, with a
    `pulumi.RunError` (reported by the CLI without a traceback) listing every problem.
    """
    stack = pulumi.get_stack()
    # A per-cluster topology's stack `<env>.<cluster>` is configured from the environment's
    # file (`tkestack/orchestrate.py` generates its config from it).
    part = parse_stack(stack)
    display, text = _stack_file_text(part.environment)
    config = pulumi.Config()
    try:
        path = stack_file(part.environment)
        siblings = _siblings(path) if path is not None else {}
        loaded = validate(config.get_object("environment"), display, text, siblings=siblings)
    except SpecError as error:
        raise pulumi.RunError(error.report()) from None
    for warning in loaded.warnings:
        pulumi.log.warn(warning.render())
    if part.cluster is not None and loaded.spec.topology == "single":
        raise pulumi.RunError(
            f"stack {stack}: environment {part.environment} has topology: single"
            f" (deploy it as the stack {part.environment})"
        )
    if part.cluster is not None and part.cluster not in {c.name for c in loaded.spec.clusters}:
        raise pulumi.RunError(f"stack {stack}: no cluster {part.cluster!r} in {part.environment}")
    outputs = compose(loaded.spec, secret_config=config.require_secret, part=part)
    for key, value in sorted(outputs.items()):
        pulumi.export(key, value)


__all__ = ["ENVIRONMENT_KEY", "keep_validation_memo", "main", "validate", "validation_memo"]
