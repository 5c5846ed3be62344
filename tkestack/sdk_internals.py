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
from collections.abc import Iterator
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
