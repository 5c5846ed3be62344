"""No input crashes the render or half-applies it: whatever the stack file holds, the result
is a rendered environment or a clean validation error (exit 2) with a path, and an invalid
spec registers no resource.

`TKESTACK_FUZZ_EXAMPLES` scales the number of generated cases (5,000 in `make bench`);
`TKESTACK_PROGRAM_FUZZ_EXAMPLES` those that run the whole program.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whole_program import render_or_refuse

from tkestack import engine
from tkestack.stacks.loader import Located, SpecError
from tkestack.stacks.problems import Problem

EXAMPLES = int(os.environ.get("TKESTACK_FUZZ_EXAMPLES", "150"))
PROGRAM_EXAMPLES = int(os.environ.get("TKESTACK_PROGRAM_FUZZ_EXAMPLES", "10"))
"""Cases run through the whole program (a valid one renders the dev environment, about a
second): bounded in `make test`, scaled by `make safety`."""
DEV_TEXT = (ROOT / "Pulumi.dev.yaml").read_text()
DEV_LINES = DEV_TEXT.splitlines()

line_edits = st.lists(
    st.tuples(
        st.sampled_from(["delete", "duplicate", "indent", "dedent", "replace-value", "garble"]),
        st.integers(min_value=0, max_value=len(DEV_LINES) - 1),
        st.sampled_from(
            [
                "",
                "-1",
                "1.99",
                "gcp",
                "mars-1",
                "x9.huge",
                "[",
                "{a: b",
                "null",
                "'1.33'",
                "999999999999",
                "g5g.2xlarge",
                "hami",
                "0.0.0.0/0",
                "~",
                "!!python/object:os.system",
                "&a",
                "*a",
                "'",
                '"',
                "\t",
            ]
        ),
    ),
    min_size=1,
    max_size=4,
)


def edited(edits: list[tuple[str, int, str]]) -> str:
    lines = list(DEV_LINES)
    for action, index, token in edits:
        index %= len(lines)
        line = lines[index]
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, line)
        elif action == "indent":
            lines[index] = "  " + line
        elif action == "dedent":
            lines[index] = line[2:]
        elif action == "replace-value" and ":" in line:
            lines[index] = line.split(":", 1)[0] + ": " + token
        else:
            lines[index] = line[: len(line) // 2] + token + line[len(line) // 2 :]
        if not lines:
            break
    return "\n".join(lines) + "\n"


def check_stack_text(text: str, tmp: Path) -> None:
    """Render `text` as a stack file through the whole program: it renders, or it is refused
    at validation (located problems) before the program registers anything."""
    path = tmp / "Pulumi.fuzz.yaml"
    path.write_text(text)
    render_or_refuse(path)


@pytest.mark.slow
@settings(
    max_examples=PROGRAM_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(edits=line_edits)
def test_edited_stack_files_render_or_fail_cleanly(edits, tmp_path) -> None:
    check_stack_text(edited(edits), tmp_path)


@settings(
    max_examples=max(EXAMPLES // 3, 20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=200))
def test_arbitrary_text_fails_cleanly(text, tmp_path) -> None:
    check_stack_text(text, tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "config:\n",
        "config:\n  tkestack:environment: null\n",
        "config:\n  tkestack:environment: [1, 2]\n",
        "config:\n  tkestack:environment:\n    name: x\n",
        "config: !!python/object/apply:os.system ['true']\n",
        "\x00\x01",
        "config:\n  tkestack:environment: {name: dev, tier: dev, clusters: [{name: a, cloud: gcp}]}\n",
    ],
)
def test_known_bad_files(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SpecError):
        path = tmp_path / "Pulumi.bad.yaml"
        path.write_text(text)
        engine.render(engine.read_stack_config(path, ROOT))


@pytest.mark.parametrize(
    "stack_file",
    [
        *(ROOT / f"Pulumi.{env}.yaml" for env in ("dev", "staging", "prod")),
        *sorted((ROOT / "tests" / "fixtures" / "specs").glob("Pulumi.*.yaml")),
    ],
    ids=lambda path: path.name,
)
def test_shipped_stacks_and_fixtures_render_or_are_refused_before_registering(
    stack_file: Path,
) -> None:
    result = render_or_refuse(stack_file)
    if stack_file.parent == ROOT:
        assert isinstance(result, engine.Rendering), "a shipped environment renders"
    else:
        assert isinstance(result, SpecError), "a fixture of mistakes is refused"


@pytest.mark.parametrize(
    "example",
    sorted(
        path.parent
        for path in (ROOT / "examples").glob("*/Pulumi.yaml")
        if "runtime: python" in path.read_text(encoding="utf-8")
        or "name: python" in path.read_text(encoding="utf-8")
    ),
    ids=lambda path: path.name,
)
def test_every_python_example_renders_through_the_whole_program(example: Path) -> None:
    (stack_file,) = sorted(example.glob("Pulumi.*.yaml"))
    assert isinstance(render_or_refuse(stack_file, program=example), engine.Rendering)


def test_a_refusal_after_registration_fails_the_check(tmp_path: Path, monkeypatch) -> None:
    """The check can fail: a program that registers and then refuses is caught."""
    from tkestack.stacks import program

    original = program.main

    def late_refusal() -> None:
        import pulumi

        pulumi.ComponentResource("tkestack:index:Probe", "probe")
        raise SpecError([Located(Problem(("tier",), "refused late"), "Pulumi.dev.yaml", 1, "")])

    monkeypatch.setattr(program, "main", late_refusal)
    with pytest.raises(AssertionError, match=r"refused after \d+ registrations"):
        render_or_refuse(ROOT / "Pulumi.dev.yaml")
    monkeypatch.setattr(program, "main", original)
