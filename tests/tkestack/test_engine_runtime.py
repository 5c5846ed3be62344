"""How the offline engine runs the SDK: no stack-trace capture and no RPC worker thread, and
neither leaks out of the render (issue 21, target 4).

`pulumi up` runs `stacks/__main__.py` under the CLI's language host: that process never
enters `engine.run_program`, so the SDK captures stack traces and uses its thread pool there
exactly as shipped (checked in a fresh interpreter below)."""

from __future__ import annotations

import threading
from typing import Any

import pulumi
import pulumi.runtime.resource as sdk_resource
import pytest

from tkestack import engine, sdk_internals

SDK_GET_STACK_TRACE = sdk_resource._get_stack_trace


def _capture_requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, int]]:
    """Every RegisterResource request the engine's monitor receives, with the thread it ran on."""
    seen: list[tuple[Any, int]] = []
    original = engine.RecordingMonitor.RegisterResource

    def register(self: engine.RecordingMonitor, request: Any) -> Any:
        seen.append((request, threading.get_ident()))
        return original(self, request)

    monkeypatch.setattr(engine.RecordingMonitor, "RegisterResource", register)
    return seen


class _Leaf(pulumi.CustomResource):
    """A typed-SDK-shaped resource: Resource <- CustomResource <- concrete `__init__`, the
    three frames the SDK's `_get_stack_trace` walks past to find the user's code."""

    def __init__(self, name: str) -> None:
        super().__init__("test:index:Leaf", name, {"value": name})


def test_the_render_sends_no_stack_trace_and_runs_the_monitor_on_the_loop_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _capture_requests(monkeypatch)
    loop_threads: list[int] = []

    def program() -> None:
        loop_threads.append(threading.get_ident())
        _Leaf("a")
        _Leaf("b")

    rendering = engine.run_program(program)
    assert [resource.name for resource in rendering.resources] == ["a", "b"]
    leaves = [(request, thread) for request, thread in seen if request.type == "test:index:Leaf"]
    assert len(leaves) == 2
    for request, thread in leaves:
        assert len(request.stackTrace.frames) == 0
        assert not request.HasField("sourcePosition")
        assert thread == loop_threads[0]


def test_outside_the_render_the_sdk_captures_stack_traces_again() -> None:
    def program() -> None:
        # In effect while the program runs...
        assert sdk_resource._get_stack_trace is not SDK_GET_STACK_TRACE
        _Leaf("a")

    engine.run_program(program)
    # ...and the SDK's own function afterwards, which does find frames from here.
    assert sdk_resource._get_stack_trace is SDK_GET_STACK_TRACE
    with sdk_internals.no_stack_traces():
        assert len(sdk_resource._get_stack_trace().frames) == 0
    assert sdk_resource._get_stack_trace is SDK_GET_STACK_TRACE


def test_a_failing_program_restores_the_sdk_too() -> None:
    def program() -> None:
        _Leaf("a")
        raise ValueError("boom")

    with pytest.raises((engine.RenderError, ValueError)):
        engine.run_program(program)
    assert sdk_resource._get_stack_trace is SDK_GET_STACK_TRACE


def test_a_monitor_error_reaches_the_program_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inline executor hands the monitor's exception to the awaiting registration, as the
    thread pool's future did: the render stops with that very exception (checked the same
    with the SDK's thread pool before the change)."""

    def refuse(self: engine.RecordingMonitor, request: Any) -> Any:
        if request.type == "test:index:Leaf":
            raise RuntimeError("monitor refused test:index:Leaf")
        return ORIGINAL_REGISTER(self, request)

    monkeypatch.setattr(engine.RecordingMonitor, "RegisterResource", refuse)
    with pytest.raises(RuntimeError, match="monitor refused"):
        engine.run_program(lambda: _Leaf("a"))


ORIGINAL_REGISTER = engine.RecordingMonitor.RegisterResource


def test_the_pulumi_up_program_keeps_the_sdk_stack_trace_capture(pulumi_up_interpreter) -> None:
    """...and the SDK's own functions where the engine replaces them while it runs, in a
    fresh interpreter that imports what `stacks/__main__.py` imports under `pulumi up`, then
    the engine (conftest's `pulumi_up_interpreter`)."""
    functions = pulumi_up_interpreter["sdk functions"]
    where = ["pulumi.runtime.resource:_get_stack_trace"]
    where += [f"{replaced.module}:{replaced.function}" for replaced in sdk_internals.REPLACEMENTS]
    assert sorted(functions) == sorted(where)
    for name, found in functions.items():
        assert found == name, f"{name} is {found} after the program's and the engine's imports"


def test_the_stack_trace_hook_is_an_internal_checked_against_the_installed_sdk() -> None:
    names = {internal.name for internal in sdk_internals.INTERNALS}
    assert "pulumi.runtime.resource:_get_stack_trace" in names
    assert not sdk_internals.missing()
