"""No input crashes the render or half-applies it: whatever the stack file holds, the result
is a rendered environment or a clean validation error (exit 2) with a path, and an invalid
spec registers no resource.

`TKESTACK_FUZZ_EXAMPLES` scales the number of generated cases (5,000 in `make bench`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tkestack import engine
from tkestack.stacks.loader import SpecError

EXAMPLES = int(os.environ.get("TKESTACK_FUZZ_EXAMPLES", "150"))
DEV_TEXT = (ROOT / "Pulumi.dev.yaml").read_text()
DEV_LINES = DEV_TEXT.splitlines()

line_edits = st.lists(
    st.tuples(
        st.sampled_from(["delete", "duplicate", "indent", "dedent", "replace-value", "garble"]),
        st.integers(min_value=0, max_value=len(DEV_LINES) - 1),
        st.sampled_from(["", "-1", "1.99", "gcp", "mars-1", "x9.huge", "[", "{a: b", "null",
                         "'1.33'", "999999999999", "g5g.2xlarge", "hami", "0.0.0.0/0", "~",
                         "!!python/object:os.system", "&a", "*a", "'", '"', "\t"]),
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


def check_stack_text(text: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Render `text` as a stack file: success, or a SpecError with located problems and no
    resource registered."""
    path = tmp / "Pulumi.fuzz.yaml"
    path.write_text(text)
    registered: list[object] = []
    monkeypatch.setattr(engine, "run_program", lambda *args, **kwargs: registered.append(args))
    try:
        config = engine.read_stack_config(path, ROOT)
        engine.render(config)
    except SpecError as error:
        assert error.located
        assert all(item.file and item.problem.message for item in error.located)
        assert registered == [], "an invalid spec registered resources"
        return
    assert len(registered) == 1  # valid: the program ran once


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(edits=line_edits)
def test_edited_stack_files_render_or_fail_cleanly(edits, tmp_path, monkeypatch) -> None:
    check_stack_text(edited(edits), tmp_path, monkeypatch)


@settings(max_examples=max(EXAMPLES // 3, 20), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_arbitrary_text_fails_cleanly(text, tmp_path, monkeypatch) -> None:
    check_stack_text(text, tmp_path, monkeypatch)


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
