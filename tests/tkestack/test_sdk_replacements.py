"""The SDK functions the offline engine swaps for faster equivalents answer exactly as the
SDK's own, are the SDK functions they were verified against, and are in effect only while
the engine runs a program (issue 21, target 4; tkestack/sdk_internals.py `REPLACEMENTS`).

Each equivalent is compared with the installed SDK's original on the same inputs: every
pair of a random dependency graph (the cycle breaker's reachability), values with nesting,
sharing, self-reference and unknowns at every depth (`contains_unknowns`), and every type
annotation of the Kubernetes and AWS input classes a render uses (`unwrap_type`)."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import random
import typing
from typing import Any

import pulumi
import pulumi._types as sdk_types
import pulumi.runtime.resource_cycle_breaker as sdk_cycles
import pulumi.runtime.rpc as sdk_rpc
import pytest
from conftest import ROOT
from pulumi.output import Unknown

from tkestack import engine, sdk_internals
from tkestack.sdk_internals import REPLACEMENTS

SDK_FUNCTIONS = {
    (replacement.module, replacement.function): getattr(
        importlib.import_module(replacement.module), replacement.function
    )
    for replacement in REPLACEMENTS
}


def _replacement(module: str, function: str) -> Any:
    (found,) = [r for r in REPLACEMENTS if (r.module, r.function) == (module, function)]
    return found.make()


@pytest.mark.parametrize(
    "qualified,digest",
    [source for replacement in REPLACEMENTS for source in replacement.sources],
)
def test_each_replaced_sdk_function_is_the_source_it_was_verified_against(
    qualified: str, digest: str
) -> None:
    module, function = qualified.split(":")
    source = inspect.getsource(getattr(importlib.import_module(module), function))
    assert hashlib.sha256(source.encode()).hexdigest() == digest, (
        f"{qualified} changed in this Pulumi SDK: check that its replacement in"
        " tkestack/sdk_internals.py still answers the same, then update its digest"
    )


class _Node:
    """Stands in for a Resource: hashable by identity, dependencies set by the SDK's own
    `_add_dep` (the attribute `_direct_computed_dependencies`)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"node{self.index}"


@pytest.mark.parametrize("seed", range(6))
def test_reachability_is_the_sdks_for_every_pair_of_a_random_graph(seed: int) -> None:
    rng = random.Random(seed)
    nodes: list[Any] = [_Node(index) for index in range(40)]
    for _ in range(rng.randrange(20, 90)):
        # Arbitrary edges, cycles included (the SDK refuses to add those, but a walk must
        # still terminate on them).
        sdk_cycles._add_dep(rng.choice(nodes), rng.choice(nodes))
    original = SDK_FUNCTIONS[("pulumi.runtime.resource_cycle_breaker", "_reachable")]
    replacement = _replacement("pulumi.runtime.resource_cycle_breaker", "_reachable")
    answers = [(original(a, b), replacement(a, b)) for a in nodes for b in [*nodes, _Node(-1)]]
    assert [sdk for sdk, _ in answers] == [ours for _, ours in answers]
    assert any(sdk for sdk, _ in answers) and not all(sdk for sdk, _ in answers)


def _values() -> list[Any]:
    unknown = Unknown()
    shared: dict[str, Any] = {"a": [1, 2, {"b": "c"}]}
    looped: dict[str, Any] = {"x": 1}
    looped["self"] = looped
    looped_list: list[Any] = [1, 2]
    looped_list.append(looped_list)

    class Mapping(dict):  # a dict subclass: read through `val[key]`, as the SDK does
        def __getitem__(self, key: Any) -> Any:
            return unknown if key == "hidden" else super().__getitem__(key)

    return [
        None,
        "text",
        42,
        1.5,
        True,
        unknown,
        [],
        {},
        [1, "a", None],
        {"a": {"b": {"c": [1, 2, [3, {"d": unknown}]]}}},
        {"a": {"b": {"c": [1, 2, [3, {"d": 4}]]}}},
        [shared, shared, {"again": shared}],
        [shared, {"late": unknown}],
        looped,
        {"outer": looped, "then": [unknown]},
        looped_list,
        [looped_list, unknown],
        (unknown,),  # tuples are not descended into, by either
        {"t": (unknown,)},
        Mapping(hidden=1, shown=2),
        Mapping(shown=2),
        {Unknown(): 1},  # keys are not values
    ]


@pytest.mark.parametrize("index", range(len(_values())))
@pytest.mark.parametrize("module", ["pulumi.runtime.rpc", "pulumi.output"])
def test_contains_unknowns_is_the_sdks(module: str, index: int) -> None:
    original = SDK_FUNCTIONS[(module, "contains_unknowns")]
    replacement = _replacement(module, "contains_unknowns")
    value = _values()[index]
    assert replacement(value) is original(value)


def test_unwrap_type_keys_by_identity_not_equality() -> None:
    """`Union[A, B] == Union[B, A]`, but the SDK's answer depends on the order."""
    replacement = _replacement("pulumi._types", "unwrap_type")
    original = SDK_FUNCTIONS[("pulumi._types", "unwrap_type")]
    forward = str | typing.Awaitable[str] | pulumi.Output[str]
    backward = pulumi.Output[str] | str | typing.Awaitable[str]
    assert forward == backward
    assert replacement(forward) is original(forward)
    assert replacement(backward) is original(backward)
    assert original(forward) != original(backward)


def _sdk_now() -> dict[tuple[str, str], Any]:
    return {
        (r.module, r.function): getattr(importlib.import_module(r.module), r.function)
        for r in REPLACEMENTS
    }


def test_the_replacements_are_in_effect_only_while_a_program_runs() -> None:
    during: list[dict[tuple[str, str], Any]] = []
    engine.run_program(lambda: during.append(_sdk_now()))
    assert all(during[0][key] is not SDK_FUNCTIONS[key] for key in SDK_FUNCTIONS)
    assert _sdk_now() == SDK_FUNCTIONS

    def failing() -> None:
        raise ValueError("boom")

    with pytest.raises((engine.RenderError, ValueError)):
        engine.run_program(failing)
    assert _sdk_now() == SDK_FUNCTIONS
    assert sdk_rpc.contains_unknowns is SDK_FUNCTIONS[("pulumi.runtime.rpc", "contains_unknowns")]
    assert sdk_types.unwrap_type is SDK_FUNCTIONS[("pulumi._types", "unwrap_type")]
    # `pulumi up`'s process never runs them: tests/tkestack/test_engine_runtime.py.


def test_a_render_is_the_same_with_the_sdks_own_functions(
    monkeypatch: pytest.MonkeyPatch, rendered
) -> None:
    """dev rendered with the replacements (the session's render: conftest `rendered`) and
    with the SDK's own functions (the latter also recording every type the render asks
    `unwrap_type` about, each then answered by the replacement as by the SDK)."""
    config = engine.read_stack_config(ROOT / "Pulumi.dev.yaml", ROOT)
    faster = engine.render_json(rendered("dev"))
    original = SDK_FUNCTIONS[("pulumi._types", "unwrap_type")]
    asked: list[Any] = []

    def recording(val: Any) -> Any:
        asked.append(val)
        return original(val)

    recorder = sdk_internals.Replacement("pulumi._types", "unwrap_type", "", lambda: recording, ())
    monkeypatch.setattr(sdk_internals, "REPLACEMENTS", (recorder,))
    assert engine.render_json(engine.render(config)) == faster
    assert len(asked) > 1000
    types = list({id(val): val for val in asked}.values())
    replacement = _replacement("pulumi._types", "unwrap_type")
    expected = [original(val) for val in types]
    # Twice: the first answer computed, the second remembered.
    for _ in range(2):
        assert [replacement(val) for val in types] == expected
