"""The input contract, as one check the fuzzers and the shipped stacks share: a stack file
either renders (the whole program runs to the end) or is refused at validation with located
problems, before the program runs, so nothing is registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from conftest import ROOT

from tkestack import engine
from tkestack.stacks.loader import SpecError


def render_or_refuse(stack_file: Path, program: Path | None = None) -> engine.Rendering | SpecError:
    """Render `stack_file` through the whole program (or, with `program`, through that
    embedding project's own program, as `tkestack render --program` does). Returns the
    rendering, or the SpecError of a refused spec; fails (AssertionError, or the program's own
    exception) on anything else: an internal error, or a refusal after the program started
    registering."""
    registered: list[int] = []
    original = engine.run_program

    def counting(*args: Any, **kwargs: Any) -> engine.Rendering:
        inner = kwargs.pop("on_register", None)

        def on_register(count: int) -> None:
            registered.append(count)
            if inner is not None:
                inner(count)

        return original(*args, on_register=on_register, **kwargs)

    with mock.patch.object(engine, "run_program", counting):
        try:
            if program is not None:
                config = engine.read_stack_config(stack_file, program)
                rendering = engine.render_program(config, program)
            else:
                config = engine.read_stack_config(stack_file, ROOT)
                rendering = engine.render(config)
        except SpecError as error:
            assert error.located, "a SpecError carries at least one problem"
            assert all(item.file and item.problem.message for item in error.located)
            assert registered == [], f"refused after {max(registered)} registrations"
            return error
    assert registered, "a valid spec registers resources"
    assert len(rendering.resources) == max(registered)
    return rendering


def write_environment(directory: Path, environment: Any, stack: str = "fuzz") -> Path:
    """`environment` as the `tkestack:environment` value of `Pulumi.<stack>.yaml`."""
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": {"tkestack:environment": environment}}))
    return path
