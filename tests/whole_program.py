"""The input contract, as one check the fuzzers and the shipped stacks share: a stack file
either renders (the whole program runs to the end) or is refused at validation with located
problems, before the program runs, so nothing is registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from conftest import ROOT

from tkestack import engine, fleet
from tkestack.stacks.loader import SpecError


def render_or_refuse(stack_file: Path, program: Path | None = None) -> engine.Rendering | SpecError:
    """Render `stack_file` through the whole program (or, with `program`, through that
    embedding project's own program, as `tkestack render --program` does). Returns the
    rendering, or the SpecError of a refused spec; fails (AssertionError, or the program's own
    exception) on anything else: an internal error, or a refusal after the program started
    registering."""
    runs: list[list[int]] = []  # the registration counts of each program run (each stack)
    original = engine.run_program

    def counting(*args: Any, **kwargs: Any) -> engine.Rendering:
        inner = kwargs.pop("on_register", None)
        registered: list[int] = []
        runs.append(registered)

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
                # Every derived stack of a per-cluster environment, as `tkestack render`.
                config = engine.read_stack_config(stack_file, ROOT)
                rendering = fleet.render_environment(config).whole
        except SpecError as error:
            assert error.located, "a SpecError carries at least one problem"
            assert all(item.file and item.problem.message for item in error.located)
            assert not any(runs), f"refused after {sum(map(len, runs))} registrations"
            return error
    assert any(runs), "a valid spec registers resources"
    assert len(rendering.resources) == sum(max(counts, default=0) for counts in runs)
    return rendering


def write_environment(directory: Path, environment: Any, stack: str = "fuzz") -> Path:
    """`environment` as the `tkestack:environment` value of `Pulumi.<stack>.yaml`."""
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": {"tkestack:environment": environment}}))
    return path
