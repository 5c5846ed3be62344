"""The stack program: read the environment from stack config, validate it, compose it.

The same function runs under `pulumi up -s <env>` and under `tkestack render <env>` (the
Pulumi SDK's mock runtime); nothing here knows which.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from .compose import compose
from .loader import ENVIRONMENT_KEY, SpecError, load_environment, sibling_environments


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
    path = stack_file(stack)
    return f"Pulumi.{stack}.yaml", path.read_text(encoding="utf-8") if path else None


def main() -> None:
    """Load and validate the environment, then register every resource of it.

    An invalid spec stops the program before any resource is registered, with a
    `pulumi.RunError` (reported by the CLI without a traceback) listing every problem.
    """
    stack = pulumi.get_stack()
    display, text = _stack_file_text(stack)
    config = pulumi.Config()
    try:
        path = stack_file(stack)
        siblings = sibling_environments(path) if path is not None else {}
        loaded = load_environment(
            config.get_object("environment"), display, text, siblings=siblings
        )
    except SpecError as error:
        raise pulumi.RunError(error.report()) from None
    for warning in loaded.warnings:
        pulumi.log.warn(warning.render())
    outputs = compose(loaded.spec, secret_config=config.require_secret)
    for key, value in sorted(outputs.items()):
        pulumi.export(key, value)


__all__ = ["ENVIRONMENT_KEY", "main"]
