"""The offline engine validates an environment once per process, not once per derived stack
(`stacks.program.validation_memo`), and never serves a result for other inputs."""

from __future__ import annotations

import copy

import pytest
from conftest import ROOT, stack_config

from tkestack import fleet
from tkestack.stacks import program
from tkestack.stacks.loader import ENVIRONMENT_KEY, SpecError, sibling_environments


def _inputs() -> tuple[dict, str, str | None, dict]:
    config = stack_config(ROOT / "Pulumi.prod.yaml")
    environment = config.values[ENVIRONMENT_KEY]
    return environment, config.display, config.text, sibling_environments(config.file)


def _counting(monkeypatch) -> list[str]:
    calls: list[str] = []
    load = program.load_environment

    def counted(*args, **kwargs):
        calls.append(args[1])
        return load(*args, **kwargs)

    monkeypatch.setattr(program, "load_environment", counted)
    return calls


def test_rendering_prod_s_five_stacks_validates_the_environment_once(monkeypatch) -> None:
    calls = _counting(monkeypatch)
    rendered = fleet.render_environment(stack_config(ROOT / "Pulumi.prod.yaml"))
    assert len(rendered.stacks) == 5
    # The pre-check and the five program runs read the same value, file and siblings.
    assert calls == ["Pulumi.prod.yaml"]
    assert program._memo is None  # closed with the render: `pulumi up` never sees it


def test_without_the_memo_each_program_run_validates() -> None:
    environment, display, text, siblings = _inputs()
    assert program._memo is None
    first = program.validate(environment, display, text, siblings=siblings)
    again = program.validate(environment, display, text, siblings=siblings)
    assert first is not again and first.spec == again.spec


def test_the_memo_answers_only_the_same_inputs(monkeypatch) -> None:
    environment, display, text, siblings = _inputs()
    calls = _counting(monkeypatch)
    with program.validation_memo():
        first = program.validate(environment, display, text, siblings=siblings)
        assert program.validate(environment, display, text, siblings=siblings) is first
        assert len(calls) == 1
        # Any input changed: validated again, the answer is the new input's.
        changed = copy.deepcopy(environment)
        changed["tags"] = {**changed.get("tags", {}), "memo-probe": "x"}
        other = program.validate(changed, display, text, siblings=siblings)
        assert other.spec != first.spec and len(calls) == 2
        program.validate(environment, display, None, siblings=siblings)
        program.validate(environment, display, text, siblings={})
        assert len(calls) == 4
        with program.validation_memo():  # nested: the same memo
            assert program.validate(environment, display, text, siblings=siblings) is first
    assert program._memo is None


def test_a_refused_spec_is_not_remembered(monkeypatch) -> None:
    environment, display, text, siblings = _inputs()
    broken = copy.deepcopy(environment)
    broken["clusters"] = "not a list"
    calls = _counting(monkeypatch)
    with program.validation_memo():
        for _ in range(2):
            with pytest.raises(SpecError):
                program.validate(broken, display, text, siblings=siblings)
    assert len(calls) == 2


def test_the_sibling_files_are_parsed_once_and_again_when_one_changes(
    tmp_path, monkeypatch
) -> None:
    for name in ("a", "b"):
        (tmp_path / f"Pulumi.{name}.yaml").write_text(
            f"config:\n  tkestack:environment:\n    name: {name}\n", encoding="utf-8"
        )
    calls: list[str] = []
    read = program.sibling_environments

    def counted(path):
        calls.append(path.name)
        return read(path)

    monkeypatch.setattr(program, "sibling_environments", counted)
    stack_file = tmp_path / "Pulumi.a.yaml"
    with program.validation_memo():
        first = program._siblings(stack_file)
        assert program._siblings(stack_file) is first
        assert first == {"Pulumi.b.yaml": {"name": "b"}} and len(calls) == 1
        (tmp_path / "Pulumi.b.yaml").write_text(
            "config:\n  tkestack:environment:\n    name: c\n", encoding="utf-8"
        )
        assert program._siblings(stack_file) == {"Pulumi.b.yaml": {"name": "c"}}
        assert len(calls) == 2
    program._siblings(stack_file)
    program._siblings(stack_file)
    assert len(calls) == 4  # no memo outside a render
