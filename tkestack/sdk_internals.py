"""Every non-public part of the Pulumi SDKs that tkestack relies on, in one list.

The offline engine (`tkestack/engine.py`) runs the stack program under the Pulumi SDK's mock
runtime and records registrations by subclassing its mock monitor; the analyzer runner
(`tkestack/analyzer/`) speaks the SDK's generated protobuf stubs; the policy pack replaces
`pulumi_policy`'s analyzer loop with one doing its work once per call (`policies/servicer.py`).
None of these is a documented API: a minor release of `pulumi` or `pulumi-policy` may move
them.

That is why `pyproject.toml` caps `pulumi` below the next untried minor release and
`constraints.txt` pins what CI installs. `tests/tkestack/test_sdk_internals.py` fails,
naming each moved attribute, when an installed SDK no longer has one of them; `check()`
gives the engine the same answer at run time, so a user with an untried SDK gets a clear
message instead of an AttributeError deep in a render.

`policies/servicer.py` does not import this module (the pack runs in its own process
and degrades to the library's own code path when the servicer's shape changes), but its
internals are listed here too, so that one test covers them all.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .policies.library_surface import LIBRARY_INTERNALS, SERVICER_HELPERS


@dataclass(frozen=True)
class Internal:
    """One SDK attribute tkestack uses although the SDK does not document it."""

    module: str
    """Importable module, e.g. `pulumi.runtime.settings`."""
    attribute: str
    """Dotted attribute path inside the module (`SETTINGS.outputs`); empty: the module."""
    used_by: str
    """The tkestack file that relies on it."""
    why: str
    """What it is used for."""

    @property
    def name(self) -> str:
        """`module:attribute`, as reported."""
        return f"{self.module}:{self.attribute}" if self.attribute else self.module


def _reachable_factory() -> Callable[[Any, Any], bool]:
    attribute = importlib.import_module(
        "pulumi.runtime.resource_cycle_breaker"
    )._DEPENDENCIES_PROPERTY

    def _reachable(from_resource: Any, to_resource: Any) -> bool:
        """`pulumi.runtime.resource_cycle_breaker._reachable` without its recursive
        generators: whether `to_resource` is `from_resource` or among its transitive
        dependencies (the attribute the SDK's `_deps` reads, an empty set when absent). The
        SDK's walk yields every visited resource through a chain of nested generators, one
        per level (1.5M generator steps in a 3,000-resource render); the answer does not
        depend on the order of the walk, which this one does with a list."""
        visited: set[Any] = set()
        pending = [from_resource]
        while pending:
            resource = pending.pop()
            if resource in visited:
                continue
            visited.add(resource)
            if resource == to_resource:
                return True
            pending.extend(getattr(resource, attribute, ()))
        return False

    return _reachable


def _contains_unknowns_factory() -> Callable[[Any], bool]:
    from pulumi.output import Unknown

    def contains_unknowns(val: Any) -> bool:
        """`pulumi.runtime.rpc.contains_unknowns` without a recursive call and a generator per
        value: whether `val`, or any value reachable through dictionaries (`val[key]` for
        each key) and lists, is an `Unknown` (`known_types.is_unknown`); each container is
        descended into once (by `id`, as the SDK's `seen_ids`). The SDK calls it for every
        Output's value when the value is set and again when it is read (7% of a profiled
        render)."""
        if isinstance(val, Unknown):
            return True
        if not isinstance(val, (dict, list)):
            return False
        seen: set[int] = set()
        pending = [val]
        while pending:
            value = pending.pop()
            if isinstance(value, Unknown):
                return True
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, dict):
                pending.extend([value[key] for key in value])
            elif isinstance(value, list):
                pending.extend(value)
        return False

    return contains_unknowns


def _unwrap_type_factory() -> Callable[[Any], Any]:
    from pulumi import _types

    original = _types.unwrap_type
    answers: dict[int, tuple[Any, Any]] = {}

    def unwrap_type(val: Any) -> Any:
        """`pulumi._types.unwrap_type`, answered once per type object: the SDK's function
        depends on nothing but its argument (`typing.get_origin`/`get_args` and whether the
        first union member is an `@input_type` class, fixed when the class is defined) and
        runs a `from . import Output` on every call; `rpc.serialize_property` calls it for
        every property it serializes. Keyed by identity (the type object is kept alive
        with its answer), not equality: `Union[A, B] == Union[B, A]`, and the SDK's answer
        depends on the members' order. An argument that raises is not remembered."""
        known = answers.get(id(val))
        if known is not None and known[0] is val:
            return known[1]
        answer = original(val)
        answers[id(val)] = (val, answer)
        return answer

    return unwrap_type


@dataclass(frozen=True)
class Replacement:
    """An SDK function the offline engine swaps for an equivalent, faster one."""

    module: str
    """Module whose attribute is replaced (every caller looks it up there at call time)."""
    function: str
    """The function's name in that module."""
    why: str
    """What the SDK's function costs a render."""
    make: Callable[[], Callable[..., Any]]
    """Builds the replacement (fresh state for each render)."""
    sources: tuple[tuple[str, str], ...]
    """`(module:function, SHA-256 of its source)` of the SDK function and of the helpers
    its equivalent mirrors, as verified (`inspect.getsource`; identical in the pulumi wheels
    3.260.0 and 3.272.0, the range pyproject.toml allows; upstream pulumi/pulumi
    sdk/python/lib/pulumi). tests/tkestack/test_sdk_replacements.py fails, naming the
    function, when an installed SDK's source differs: an upgrade that changes one is
    looked at, not inherited."""


REPLACEMENTS: tuple[Replacement, ...] = (
    Replacement(
        "pulumi.runtime.resource_cycle_breaker",
        "_reachable",
        "a recursive generator walk of the dependency graph for every dependency",
        _reachable_factory,
        (
            (
                "pulumi.runtime.resource_cycle_breaker:_reachable",
                "b3a7a15d8dbf4db27d5035c6087cd80ff5d71add5f01dc524b3c19ba45854cd6",
            ),
            (
                "pulumi.runtime.resource_cycle_breaker:_with_transitive_deps",
                "b88d68c4472c6ab8948b0bf00ba3afd93b9d70711cac517cde1ef87524f0ec6c",
            ),
            (
                "pulumi.runtime.resource_cycle_breaker:_deps",
                "aa29d49a00faf36ee69b7b95755edecd4e6587c694e56a5f343da24a523e565f",
            ),
        ),
    ),
    Replacement(
        "pulumi.runtime.rpc",
        "contains_unknowns",
        "a recursive generator walk of every Output's value, twice",
        _contains_unknowns_factory,
        (
            (
                "pulumi.runtime.rpc:contains_unknowns",
                "1f1f335b6f48b96055607dbb5be2e53b1163e35ec88704c89a41271070017cc8",
            ),
            (
                "pulumi.runtime.known_types:is_unknown",
                "e80e80f526585c927d86afbbd5464d4e02251699bc50237c83f2a3f19c7c96fb",
            ),
        ),
    ),
    Replacement(
        "pulumi.output",
        "contains_unknowns",
        "the same, called through a wrapper that looks up `rpc.contains_unknowns`",
        _contains_unknowns_factory,
        (
            (
                "pulumi.output:contains_unknowns",
                "7a62cfc4a045e138d98eaf1df1ea44a99574cc34031ec686233946b4471a62bf",
            ),
        ),
    ),
    Replacement(
        "pulumi._types",
        "unwrap_type",
        "an import statement and typing introspection per serialized property",
        _unwrap_type_factory,
        (
            (
                "pulumi._types:unwrap_type",
                "6ccd35036cb0b3d4c00ef27db03174477870a0e212643876bc7b1718e4ff3c06",
            ),
            (
                "pulumi._types:is_input_type",
                "d571ac377804626412428bd4124a1930bfd2026df21b028e2d82b823d29f9aa5",
            ),
            (
                "pulumi._types:_is_union_type",
                "ac2f7e3c2545adecdf66451ce4dbc16b57cb82fcfbcd6c5db6ee870a37cac569",
            ),
        ),
    ),
)
"""The SDK functions replaced while the offline engine runs (`offline_replacements`)."""


INTERNALS: tuple[Internal, ...] = (
    Internal(
        "pulumi.runtime.mocks",
        "MockMonitor",
        "tkestack/engine.py",
        "subclassed to record every registration (URN, inputs, options)",
    ),
    Internal(
        "pulumi.runtime.mocks",
        "MockMonitor.ResourceRegistration",
        "tkestack/engine.py",
        "the monitor's record of a registered resource (read by the SDK's invoke path)",
    ),
    Internal(
        "pulumi.runtime.mocks",
        "MockMonitor.GetDeploymentInfo",
        "tkestack/engine.py",
        "the features the mock monitor supports, handed to the runtime settings",
    ),
    Internal("pulumi.runtime.mocks", "MockResourceArgs", "tkestack/engine.py", "mock arguments"),
    Internal("pulumi.runtime.mocks", "MockSettings", "tkestack/engine.py", "runtime settings"),
    Internal("pulumi.runtime.mocks", "MockEngine", "tkestack/engine.py", "log sink"),
    Internal(
        "pulumi.runtime.settings",
        "SETTINGS",
        "tkestack/engine.py",
        "its `outputs` set and `lock`: wait for every Output linearly (see _run_and_settle)",
    ),
    Internal("pulumi.runtime.settings", "reset_options", "tkestack/engine.py", "per-run reset"),
    Internal("pulumi.runtime.settings", "configure", "tkestack/engine.py", "install the mocks"),
    Internal(
        "pulumi.runtime.rpc",
        "serialize_properties",
        "tkestack/engine.py",
        "non-JSON mock outputs (assets) to the RPC Struct",
    ),
    Internal("pulumi.runtime.stack", "run_in_stack", "tkestack/engine.py", "the root Stack"),
    Internal(
        "pulumi.runtime.resource",
        "_get_stack_trace",
        "tkestack/sdk_internals.py",
        "replaced by an empty trace while the offline engine runs (see no_stack_traces)",
    ),
    Internal(
        "pulumi.runtime.proto.source_pb2",
        "StackTrace",
        "tkestack/sdk_internals.py",
        "the empty trace no_stack_traces answers with",
    ),
    *(
        Internal(
            replacement.module,
            replacement.function,
            "tkestack/sdk_internals.py",
            f"replaced by an equivalent while the offline engine runs ({replacement.why})",
        )
        for replacement in REPLACEMENTS
    ),
    Internal(
        "pulumi.runtime.resource_cycle_breaker",
        "_DEPENDENCIES_PROPERTY",
        "tkestack/sdk_internals.py",
        "the attribute holding a resource's direct dependencies (read as the SDK's `_deps`)",
    ),
    Internal("pulumi.output", "Unknown", "tkestack/sdk_internals.py", "what `is_unknown` tests"),
    Internal("pulumi.runtime.sync_await", "_sync_await", "tkestack/engine.py", "sync await"),
    Internal("pulumi.runtime.sync_await", "_ensure_event_loop", "tkestack/engine.py", "sync await"),
    Internal(
        "pulumi.runtime.proto.resource_pb2",
        "RegisterResourceResponse",
        "tkestack/engine.py",
        "the monitor's answer to a registration",
    ),
    Internal("pulumi.runtime.proto.analyzer_pb2", "", "tkestack/analyzer/codec.py", "analyzer RPC"),
    Internal(
        "pulumi.runtime.proto.analyzer_pb2_grpc", "", "tkestack/analyzer/runner.py", "analyzer stub"
    ),
    Internal("pulumi.runtime.proto.engine_pb2", "", "tkestack/analyzer/engine_service.py", "RPC"),
    Internal(
        "pulumi.runtime.proto.engine_pb2_grpc",
        "",
        "tkestack/analyzer/engine_service.py",
        "engine servicer",
    ),
    Internal("pulumi.runtime.proto.plugin_pb2", "", "tkestack/analyzer/runner.py", "plugin info"),
    Internal(
        "pulumi_policy.policy",
        "_PolicyAnalyzerServicer.Analyze",
        "policies/servicer.py",
        "replaced: policies run on their own types, each resource's view built once per call",
    ),
    Internal(
        "pulumi_policy.policy",
        "_PolicyAnalyzerServicer.AnalyzeStack",
        "policies/servicer.py",
        "replaced: the stack's resources built once per call",
    ),
    *(
        Internal(
            "pulumi_policy.policy",
            f"_PolicyAnalyzerServicer.{method}",
            "policies/servicer.py",
            "the library's per-policy handling",
        )
        for method in SERVICER_HELPERS
    ),
    *(
        Internal(
            "pulumi_policy.policy",
            name,
            "policies/servicer.py",
            "the library's own types and decoding",
        )
        for name in LIBRARY_INTERNALS
    ),
    Internal(
        "pulumi_policy.proxy",
        "UnknownValueError",
        "policies/pack.py",
        "an unknown value read by a rule is not a violation",
    ),
)
"""Every SDK internal in use, with its user and purpose."""


STACK_TRACE_MODULE = "pulumi.runtime.resource"
STACK_TRACE_FUNCTION = "_get_stack_trace"
"""The SDK function that captures the program's call stack for every registration."""


@contextlib.contextmanager
def no_stack_traces() -> Iterator[None]:
    """Within this block the Pulumi SDK captures no call stack for a resource registration
    or read; only the offline engine (`engine.run_program`) enters it.

    `register_resource` and `read_resource` (pulumi/runtime/resource.py) call the module's
    `_get_stack_trace()` for every resource: `traceback.extract_stack()` of the whole call
    stack, each frame's file turned into a `file://` URI (`pathlib.Path.as_uri`) and sent as
    the request's `stackTrace` and `sourcePosition` (the engine shows them next to
    diagnostics). The offline engine's monitor (`engine.RecordingMonitor`) reads neither,
    and the capture was 11-19% of a render (issue 21). The SDK offers no switch for it (no
    option or environment variable in pulumi 3.260-3.272), so the module attribute, which
    both callers look up at call time, answers with an empty `StackTrace` (what the SDK
    itself returns when it finds no user frame; the source position is then None) and is
    restored on exit, also when the program fails.

    Verified identical in the pulumi wheels 3.260.0 and 3.272.0 (the range pyproject.toml
    allows; `pulumi/runtime/resource.py`, upstream pulumi/pulumi
    sdk/python/lib/pulumi/runtime/resource.py). `pulumi up` never enters this block: the
    CLI's language host runs `stacks/program.py` without the engine module."""
    module: Any = importlib.import_module(STACK_TRACE_MODULE)
    from pulumi.runtime.proto import source_pb2

    original = getattr(module, STACK_TRACE_FUNCTION)

    def empty_stack_trace() -> Any:
        return source_pb2.StackTrace()

    setattr(module, STACK_TRACE_FUNCTION, empty_stack_trace)
    try:
        yield
    finally:
        setattr(module, STACK_TRACE_FUNCTION, original)


@contextlib.contextmanager
def offline_replacements() -> Iterator[None]:
    """Within this block the SDK captures no stack traces (`no_stack_traces`) and runs the
    faster equivalents in `REPLACEMENTS`; every original is restored on exit, also when the
    program fails. Only the offline engine (`engine.run_program`) enters it: `pulumi up`
    runs the SDK's own functions (tests/tkestack/test_engine_runtime.py and
    tests/tkestack/test_sdk_replacements.py check both, the latter also that each
    replacement answers as the SDK's function does)."""
    modules: list[tuple[Any, str, Any]] = []
    with no_stack_traces():
        try:
            for replacement in REPLACEMENTS:
                module: Any = importlib.import_module(replacement.module)
                modules.append(
                    (module, replacement.function, getattr(module, replacement.function))
                )
                setattr(module, replacement.function, replacement.make())
            yield
        finally:
            for module, function, original in reversed(modules):
                setattr(module, function, original)


def _present(internal: Internal) -> bool:
    try:
        target: object = importlib.import_module(internal.module)
    except ImportError:
        return False
    for part in filter(None, internal.attribute.split(".")):
        if not hasattr(target, part):
            return False
        target = getattr(target, part)
    return True


def missing(modules: tuple[str, ...] = ("pulumi", "pulumi_policy")) -> list[Internal]:
    """The internals (of the given top-level packages) the installed SDKs no longer have."""
    return [
        internal
        for internal in INTERNALS
        if internal.module.split(".")[0] in modules and not _present(internal)
    ]


def check(modules: tuple[str, ...] = ("pulumi",)) -> None:
    """Raise `RuntimeError` naming every moved internal and the installed SDK versions."""
    moved = missing(modules)
    if not moved:
        return
    from importlib.metadata import PackageNotFoundError, version

    installed = []
    for distribution in ("pulumi", "pulumi-policy"):
        try:
            installed.append(f"{distribution} {version(distribution)}")
        except PackageNotFoundError:
            installed.append(f"{distribution} (not installed)")
    names = ", ".join(internal.name for internal in moved)
    raise RuntimeError(
        f"this Pulumi SDK ({'; '.join(installed)}) lacks internals tkestack's offline engine"
        f" uses: {names}. Install the versions in tkestack's constraints.txt"
        " (see tkestack/sdk_internals.py)."
    )
