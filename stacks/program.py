"""The stack program: read the environment from stack config, validate it, compose it.

The same function runs under `pulumi up -s <env>` and under `tkestack render <env>` (the
Pulumi SDK's mock runtime); nothing here knows which.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from .compose import compose
from .loader import ENVIRONMENT_KEY, LoadedEnvironment, SpecError, load_environment, refuse
from .plan import plan_problems


def _stack_file_text(stack: str) -> tuple[str, str | None]:
    """Name and text of `Pulumi.<stack>.yaml`, for line numbers in messages (best effort)."""
    name = f"Pulumi.{stack}.yaml"
    for directory in (Path.cwd(), Path(__file__).resolve().parent.parent):
        path = directory / name
        if path.is_file():
            try:
                return name, path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):  # no line numbers; the loader reports it
                return name, None
    return name, None


def validate(environment: Any, display: str, text: str | None = None) -> LoadedEnvironment:
    """Every check on the inputs, before anything is registered: the spec (shapes and rules)
    and then every component's own argument checks over what the composition would pass them
    (`stacks/plan.py`). Raises SpecError listing every problem with file, line and key."""
    loaded = load_environment(environment, display, text)
    refuse(loaded, plan_problems(loaded.spec))
    return loaded


def main() -> None:
    """Load and validate the environment, then register every resource of it.

    An invalid spec stops the program before any resource is registered, with a
    `pulumi.RunError` (reported by the CLI without a traceback) listing every problem.
    """
    stack = pulumi.get_stack()
    display, text = _stack_file_text(stack)
    config = pulumi.Config()
    try:
        loaded = validate(config.get_object("environment"), display, text)
    except SpecError as error:
        raise pulumi.RunError(error.report()) from None
    for warning in loaded.warnings:
        pulumi.log.warn(warning.render())
    outputs = compose(loaded.spec, secret_config=config.require_secret)
    for key, value in sorted(outputs.items()):
        pulumi.export(key, value)


__all__ = ["ENVIRONMENT_KEY", "main", "validate"]
