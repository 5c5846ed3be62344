"""The offline engine: run the real stack program under the Pulumi SDK's mock runtime.

`render(stack_file)` reads `Pulumi.<env>.yaml`, validates the environment (stopping before
any resource is registered when it is invalid), hands the stack config to the Pulumi runtime
as `pulumi up` would, runs `stacks.program.main` in-process and records every resource
registration: URN (exactly as the engine forms it), type, parent, provider, dependencies,
options and inputs. No CLI, no plugins, no credentials.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import gc
import inspect
import json
import os
import runpy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from . import lazy_sdk, sdk_internals
from .components.wire import RESOURCE_SIG, SECRET_SIG, SIG_KEY
from .mocks import PlatformMocks, fake_kubeconfig

# The cloud SDKs' service packages load module by module in the engine's process (only the
# classes a render names are built); `pulumi up` never imports this module.
lazy_sdk.install()


def _no_collection_at_exit() -> None:
    """Move every object to the collector's permanent generation (`gc.freeze`), so the
    interpreter's shutdown does not scan the whole heap for cycles again and again while it
    tears down the modules: ~0.45 s of the ~2.7 s a cold `tkestack render prod` took was
    spent after its last atexit handler (CPU seconds, medians, bench/run.py's command line),
    ~0.05 s with this. Objects are still freed as their modules are cleared; only
    cyclic garbage left at exit is no longer collected (the OS reclaims the process; CLIs
    such as mypy skip the teardown altogether with `os._exit`). Registered when the engine is
    imported, so it runs after every atexit handler registered later (LIFO): they still
    run, with the heap as it was. `pulumi up` never imports this module."""
    gc.freeze()


atexit.register(_no_collection_at_exit)

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
SECRET_MARK = "[secret]"


class RenderError(Exception):
    """The program failed for a reason other than an invalid spec (an internal error)."""


class SecretValue:
    """A value the program marked secret; kept for policies, masked in every output."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other.value == self.value

    def __hash__(self) -> int:
        return hash(json.dumps(self.value, sort_keys=True, default=str))

    def __repr__(self) -> str:
        return SECRET_MARK


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def decode(value: Any) -> Any:
    """A protobuf-JSON property value as Python: secrets as SecretValue, resource
    references as their URN, numbers as int where integral."""
    if isinstance(value, dict):
        signature = value.get(SIG_KEY)
        if signature == SECRET_SIG:
            return SecretValue(decode(value.get("value")))
        if signature == RESOURCE_SIG:
            return value.get("urn")
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, float):
        return _number(value)
    return value


def masked(value: Any) -> Any:
    """`value` with every secret replaced by `"[secret]"` (for output). A secret map or list
    keeps its shape (keys kept, each value masked): a masked Secret's `stringData` is still a
    map of strings that a schema (and kubeconform, checkov) accepts."""
    if isinstance(value, SecretValue):
        return _masked_shape(value.value)
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def _masked_shape(value: Any) -> Any:
    if isinstance(value, SecretValue):
        return _masked_shape(value.value)
    if isinstance(value, dict):
        return {key: _masked_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked_shape(item) for item in value]
    return SECRET_MARK


_SCALARS = frozenset({str, int, float, bool, type(None)})


def revealed(value: Any) -> Any:
    """`value` with secrets unwrapped (for policy evaluation, never for output). The maps and
    lists that hold no secret are the rendering's own: read the result, never write to it."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, SecretValue):
        return revealed(value.value)
    if isinstance(value, dict):
        shown: dict[Any, Any] | None = None
        for key, item in value.items():
            if type(item) in _SCALARS:
                continue
            found = revealed(item)
            if found is not item:
                shown = shown if shown is not None else dict(value)
                shown[key] = found
        return value if shown is None else shown
    if isinstance(value, list):
        items: list[Any] | None = None
        for index, item in enumerate(value):
            if type(item) in _SCALARS:
                continue
            found = revealed(item)
            if found is not item:
                items = items if items is not None else list(value)
                items[index] = found
        return value if items is None else items
    return value


def _as_mock_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Decoded inputs in the shape the SDK hands to `Mocks.new_resource`: secrets as the
    wrapped `{sig: secret, value}` dictionaries (so a mock that copies one keeps it secret)."""
    if not _has_secret(inputs):
        return inputs
    return _wrap_secrets(inputs)


def _has_secret(value: Any) -> bool:
    if isinstance(value, SecretValue):
        return True
    if isinstance(value, dict):
        return any(_has_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_secret(item) for item in value)
    return False


def _wrap_secrets(value: Any) -> Any:
    if isinstance(value, SecretValue):
        return {SIG_KEY: SECRET_SIG, "value": revealed(value.value)}
    if isinstance(value, dict):
        return {key: _wrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wrap_secrets(item) for item in value]
    return value


def _response_struct(outputs: dict[str, Any]) -> struct_pb2.Struct:
    """The outputs as the RPC's Struct. Mock outputs are plain JSON-shaped data, so protobuf's
    own conversion suffices; anything else (assets, resources) goes through the SDK's
    serializer, as the SDK's mock monitor would do for every resource."""
    struct = struct_pb2.Struct()
    try:
        struct.update(outputs)
    except (TypeError, ValueError):
        _ensure_event_loop()
        struct = _sync_await(pulumi_rpc.serialize_properties(outputs, {}))
    return struct


@dataclass
class RenderedResource:
    """One resource registration, as the engine would record it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    dependencies: list[str]
    protect: bool
    inputs: dict[str, Any]
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form with secrets masked and keys in a stable order."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "dependencies": self.dependencies,
            "protect": self.protect,
            "options": masked(self.options),
            "inputs": masked(self.inputs),
            "propertyDependencies": self.property_dependencies,
        }

    def computed(self) -> dict[str, Any]:
        """The outputs the provider computes (absent from, or different from, the inputs):
        what `pulumi preview` shows as unknown when this resource is replaced, so its
        dependents see them change (`review.diff` propagates replacements through them).
        Never part of an output document: a provider may compute secrets the program did
        not mark (a password's `result`)."""
        return {
            key: value
            for key, value in sorted(self.outputs.items())
            if key not in self.inputs or self.inputs[key] != value
        }


@dataclass
class Rendering:
    """The resource graph of one environment, sorted by URN."""

    project: str
    stack: str
    resources: list[RenderedResource]
    stack_outputs: dict[str, Any]

    def by_urn(self) -> dict[str, RenderedResource]:
        """Resources indexed by URN."""
        return {resource.urn: resource for resource in self.resources}

    def of_type(self, type_: str) -> list[RenderedResource]:
        """Resources of one type token, in URN order."""
        return [resource for resource in self.resources if resource.type == type_]

    def to_json(self) -> dict[str, Any]:
        """`{"environment": ..., "resources": [...], "outputs": ...}`, secrets masked."""
        return {
            "environment": {"project": self.project, "stack": self.stack},
            "outputs": masked(self.stack_outputs),
            "resources": [resource.to_json() for resource in self.resources],
        }


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, recording what the real engine would see of each resource.

    It also forms URNs the way the engine does: the root stack's type is not part of its
    children's qualified type.
    """

    def __init__(self, mocks: PlatformMocks, on_register: Callable[[int], None] | None) -> None:
        super().__init__(mocks)
        self.records: dict[str, RenderedResource] = {}
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}
        self._on_register = on_register

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URN as `pkg/resource/urn.go` builds it (children of the stack omit its type)."""
        if parent and parent != self.stack_urn:
            parent_type = parent.split("::")[2]
            type_ = f"{parent_type}${type_}"
        project = pulumi.get_project()
        stack = pulumi.get_stack()
        return f"urn:pulumi:{stack}::{project}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        """Record the registration and answer it as the SDK's mock monitor would, decoding the
        inputs once.

        The SDK's `MockMonitor.RegisterResource` deserializes the inputs, hands them to the
        mocks and serializes the whole state back, which the SDK deserializes again: for a
        Helm release with large values that is most of a resource's cost. Here the inputs are
        decoded once (for the record and for the mocks) and the answer carries only what the
        mocks computed: the SDK resolves every output the answer lacks from the inputs it sent
        (`pulumi.runtime.rpc.resolve_outputs`, outside previews), exactly as for an echo.
        """
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == ROOT_STACK_TYPE:
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = decode(json_format.MessageToDict(request.object))
        mock_inputs = _as_mock_inputs(inputs)
        resource_id, state = self.mocks.new_resource(
            pulumi_mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=mock_inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
            )
        )
        # What the mocks computed: every key they did not hand back unchanged from the inputs
        # (a top-level None is no value: the SDK's serializer drops it too).
        computed = {
            key: value
            for key, value in state.items()
            if value is not None and (key not in mock_inputs or mock_inputs[key] is not value)
        }
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        response = resource_pb2.RegisterResourceResponse(
            urn=urn, id=resource_id, object=_response_struct(computed)
        )
        provider = request.provider.rsplit("::", 1)[0] if request.provider else None
        options: dict[str, Any] = {}
        if request.ignoreChanges:
            options["ignoreChanges"] = sorted(request.ignoreChanges)
        if request.replaceOnChanges:
            options["replaceOnChanges"] = sorted(request.replaceOnChanges)
        if request.additionalSecretOutputs:
            options["additionalSecretOutputs"] = sorted(request.additionalSecretOutputs)
        if request.deleteBeforeReplace:
            options["deleteBeforeReplace"] = True
        if request.HasField("retainOnDelete") and request.retainOnDelete:
            options["retainOnDelete"] = True
        if request.deletedWith:
            options["deletedWith"] = request.deletedWith
        aliases = [json_format.MessageToDict(alias) for alias in request.aliases]
        if aliases:
            options["aliases"] = aliases
        timeouts = json_format.MessageToDict(request.customTimeouts)
        if timeouts:
            options["customTimeouts"] = timeouts
        parent = request.parent if request.parent and request.parent != self.stack_urn else None
        self.records[urn] = RenderedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=parent,
            provider=provider,
            dependencies=sorted(set(request.dependencies)),
            protect=bool(request.protect),
            inputs=inputs,
            property_dependencies={
                key: sorted(set(deps.urns))
                for key, deps in sorted(request.propertyDependencies.items())
            },
            options=options,
            outputs={**inputs, **decode(computed)},
        )
        if self._on_register is not None:
            self._on_register(len(self.records))
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        """Keep the stack's outputs."""
        if request.urn == self.stack_urn:
            self.stack_outputs = decode(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)


@dataclass(frozen=True)
class StackConfig:
    """A stack config file as the Pulumi CLI would hand it to the program."""

    project: str
    stack: str
    file: Path
    display: str
    text: str
    values: dict[str, Any]
    """Plain config values by full key (`tkestack:environment`)."""
    secrets: dict[str, str]
    """Secret config keys, with the placeholder the offline render uses for each."""


def project_name(project_dir: Path) -> str:
    """The `name` in `Pulumi.yaml`: the project part of every URN."""
    data = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8"))
    return str(data["name"])


def offline_secret(key: str) -> str:
    """What a `secure:` config value stands for offline: it cannot be decrypted without the
    stack's secrets provider, so a deterministic stand-in of the right shape is used (a
    kubeconfig for keys that hold one, a PEM bundle for keys named `...tls...`)."""
    if "kubeconfig" in key:
        return fake_kubeconfig(key, f"https://{key}.offline.invalid:6443", key)
    if "tls" in key:
        return fake_tls_bundle(key)
    return "offline-" + key


def fake_tls_bundle(key: str) -> str:
    """A PEM-shaped certificate + private key bundle standing in for secret config `key`:
    the blocks the program splits, with a body that is no certificate or key at all."""
    body = base64.b64encode(f"offline stand-in for {key}".encode()).decode()
    return "".join(
        f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"
        for label in ("CERTIFICATE", "PRIVATE KEY")
    )


def read_stack_config(stack_file: Path, project_dir: Path) -> StackConfig:
    """Read `Pulumi.<stack>.yaml` the way the CLI does (config + `secure:` values)."""
    from .stacks.loader import load_stack_file  # local: keep engine import light

    stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml").removesuffix(".yml")
    try:
        display = str(stack_file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        display = str(stack_file)
    config, text = load_stack_file(stack_file, display)
    project = project_name(project_dir)
    values: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for key, value in config.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            secrets[full_key] = offline_secret(full_key.split(":", 1)[1])
        else:
            values[full_key] = value
    return StackConfig(project, stack, stack_file, display, text, values, secrets)


def _runtime_config(config: StackConfig) -> dict[str, str]:
    """Config as the language host receives it: strings, structured values as JSON."""
    result = {}
    for key, value in {**config.values, **config.secrets}.items():
        result[key] = value if isinstance(value, str) else json.dumps(value)
    return result


def render(
    config: StackConfig,
    on_register: Callable[[int], None] | None = None,
) -> Rendering:
    """Validate `config`'s environment, then run the stack program for it under mocks.

    Raises `stacks.loader.SpecError` for an invalid spec (before any registration) and
    `RenderError` for anything else that stops the program.
    """
    return render_stack(config, config.stack, on_register=on_register)


def render_stack(
    config: StackConfig,
    stack: str,
    references: dict[str, dict[str, Any]] | None = None,
    on_register: Callable[[int], None] | None = None,
    validated: bool = False,
) -> Rendering:
    """Run the stack program as the derived stack `stack` of `config`'s environment
    (`<env>` or `<env>.<cluster>`, `stacks/topology.py`), configured from the environment's
    file as the orchestrator configures it; `references` answers its stack references with
    the outputs of the stacks it reads. `validated`: the caller has run the same checks on
    `config` already (`tkestack.fleet` renders many stacks of one environment); the program
    validates again itself, as every `pulumi up` does. Raises like `render`."""
    from .stacks.loader import ENVIRONMENT_KEY, sibling_environments
    from .stacks.program import main, validate

    # Every input check before the program runs: nothing is registered for a refused spec.
    if not validated:
        validate(
            config.values.get(ENVIRONMENT_KEY),
            config.display,
            config.text,
            siblings=sibling_environments(config.file),
        )
    return run_program(
        main,
        project=config.project,
        stack=stack,
        config=_runtime_config(config),
        secret_keys=sorted(config.secrets),
        on_register=on_register,
        references=references,
        id_stack=config.stack,
    )


class ProgramError(Exception):
    """A `--program` folder that cannot be run offline (the message names the file)."""


def program_entry(program_dir: Path) -> Path:
    """The Python file Pulumi would run for the project in `program_dir`: `Pulumi.yaml`'s
    `main` (a file, or a folder holding `__main__.py`; default the project folder).

    Raises `ProgramError` when the project is not a Python program or has no entry file."""
    project_file = program_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise ProgramError(f"{project_file} does not exist: --program takes a Pulumi project")
    try:
        data = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ProgramError(f"{project_file}: not valid YAML ({error})") from None
    runtime = data.get("runtime") if isinstance(data, dict) else None
    name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if name != "python":
        raise ProgramError(
            f"{project_file}: runtime {name!r}; only Python programs render offline"
            " (a YAML program needs the Pulumi CLI)"
        )
    entry = program_dir / str(data.get("main") or ".")
    if entry.is_dir():
        entry = entry / "__main__.py"
    if not entry.is_file():
        raise ProgramError(f"{project_file}: program entry {entry} does not exist")
    return entry


@contextlib.contextmanager
def _program_context(directory: Path) -> Iterator[None]:
    """Working directory and import path as Pulumi's Python host sets them for a program:
    the program's folder is both."""
    previous_cwd = Path.cwd()
    sys.path.insert(0, str(directory))
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(directory))


def render_program(
    config: StackConfig,
    program_dir: Path,
    on_register: Callable[[int], None] | None = None,
) -> Rendering:
    """Run the Python program of the Pulumi project in `program_dir` (an embedding project
    such as examples/python-enterprise) under mocks with `config`, as `pulumi up` would.

    Raises `ProgramError` when the folder holds no Python program, `RenderError` when the
    program stops."""
    entry = program_entry(program_dir).resolve()

    def program() -> None:
        with _program_context(entry.parent):
            runpy.run_path(str(entry), run_name="__main__")

    return run_program(
        program,
        project=config.project,
        stack=config.stack,
        config=_runtime_config(config),
        secret_keys=sorted(config.secrets),
        on_register=on_register,
    )


BOOTSTRAP_PROJECT = "tkestack-bootstrap"
"""The bootstrap project's name (`bootstrap/Pulumi.yaml`): the project part of its URNs."""


def render_bootstrap(
    config: StackConfig, on_register: Callable[[int], None] | None = None
) -> Rendering:
    """Run the bootstrap program (`bootstrap/`) for `config`'s environment under mocks: the
    roles, service roles and state bucket that environment needs first."""
    from .stacks.bootstrap import main

    environment = {
        key: value for key, value in config.values.items() if key.endswith(":environment")
    }
    return run_program(
        main,
        project=BOOTSTRAP_PROJECT,
        stack=config.stack,
        config=_runtime_config(
            StackConfig(
                BOOTSTRAP_PROJECT,
                config.stack,
                config.file,
                config.display,
                config.text,
                environment,
                {},
            )
        ),
        on_register=on_register,
    )


async def _run_and_settle(program: Callable[[], Any]) -> None:
    """Run `program`, then wait until every Output it created has settled.

    The SDK's `wait_for_rpcs` (pulumi/runtime/stack.py) waits on the set of pending Outputs
    with `asyncio.wait(..., FIRST_COMPLETED)` in a loop: every round re-registers a callback
    on each pending Output and returns after the first one completes, so a program with N
    pending Outputs costs O(N * rounds), N being ~16 per resource (one per output property).
    On a 2-cluster fleet that loop took over a third of the render. Waiting for all of them
    at once is linear; the SDK's own wait then finds nothing pending. Failed Outputs stay
    in the SDK's set (its cleanup callback keeps them), so the SDK still raises their
    errors exactly as before. Offline engine only: `pulumi up` runs the program unchanged.
    """
    result = program()
    if inspect.isawaitable(result):
        await result
    outputs = pulumi_settings.SETTINGS.outputs
    while True:
        with pulumi_settings.SETTINGS.lock:
            pending = [output for output in outputs if not output.done()]
        if not pending:
            return
        await asyncio.wait(pending)


class _AbandonedAfterFailure:
    """The run loop's exception handler. Once the program has failed, a task or future whose
    exception nobody retrieved failed with it, and its error is raised already: such reports
    are dropped. Anything else, and everything while the program has not failed, is reported
    as asyncio would.

    Why: the failed tasks stay in reference cycles (their tracebacks) and are finalized at
    some later collection, in the middle of whatever runs then; CPython 3.11's `ast.parse`
    fails with "AST constructor recursion depth mismatch" when that finalizer logs during it
    (seen under pytest, which parses modules to rewrite assertions)."""

    def __init__(self) -> None:
        self.program_failed = False

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        abandoned = str(context.get("message", "")).endswith("exception was never retrieved")
        if self.program_failed and abandoned:
            return
        loop.default_exception_handler(context)


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """The run loop's default executor: runs each call at once, on the loop's thread.

    The SDK sends every monitor RPC (register, read, invoke, outputs) through
    `loop.run_in_executor(None, ...)` (pulumi/runtime/resource.py, invoke.py, settings.py)
    because a real monitor is a gRPC server the call blocks on. The offline monitor answers
    in-process, so a worker thread only adds a hand-off per call (a queue put, a thread
    wake-up, the GIL passed back and forth, a self-pipe write to wake the loop): measured
    5-10% of a fleet render. Run inline, the answer is a finished future the loop picks up
    on its next round, as it picks up a thread's. `asyncio` accepts only a
    `ThreadPoolExecutor` as default executor (`set_default_executor`), hence the subclass;
    it never starts a thread. A monitor method that waits on a coroutine (`_sync_await` in
    the SDK's `MockMonitor.Invoke`/`ReadResource`, or `_response_struct`'s fallback) then
    pumps the running loop re-entrantly, as a synchronous invoke in a program does under
    `pulumi up` (pulumi/runtime/sync_await.py)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call `fn` now; its result or exception in a finished future."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the awaiting task, as a thread would
            future.set_exception(error)
        return future


RUN_GC_THRESHOLD = (1_000_000, 20, 100)
"""CPython's collector thresholds while a program runs (default (700, 10, 10))."""


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a program runs.

    A render allocates tens of objects per resource (Outputs, futures, tasks, property
    dictionaries) that mostly live until the end of the run: the resources hold their
    Outputs, so the cycles among them (Output, task, resource) become garbage only when the
    run is over. With CPython's default thresholds the collector rescans that growing heap
    thousands of times: 42% of a 50-cluster render (14.0 s -> 8.3 s with a first threshold
    of 50,000, 7.5 s with no collection at all). With 1,000,000 a 53-cluster render (5,734
    resources, fresh processes as bench/run.py's render-scale) took 9.5-9.8 s CPU against
    11.1-11.6 s with 50,000 and 9.6-10.5 s with none, the same peak memory in all three
    (287-289 MiB): the collector still runs, on every million objects a program keeps.
    Restored afterwards.
    """
    before = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run_program(
    program: Callable[[], None],
    *,
    project: str = "tkestack",
    stack: str = "test",
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    on_register: Callable[[int], None] | None = None,
    references: dict[str, dict[str, Any]] | None = None,
    id_stack: str | None = None,
) -> Rendering:
    """Run any Pulumi program function under the mock runtime and record its resources.

    `config` holds full keys (`tkestack:environment`) with string values, as the language
    host receives them. Used by `render` and by component tests. `references`: the outputs
    of other stacks by stack name (decoded, as `Rendering.stack_outputs`), answering the
    program's `pulumi.StackReference`s; `id_stack`: make resource ids as if the program ran
    as that stack (a split stack keeps its resources' ids, as `pulumi state move` does).
    """
    # A Pulumi SDK whose internals moved fails here, naming them, not in the middle of a run.
    sdk_internals.check()
    mocks = PlatformMocks(
        references={name: _wrap_secrets(outputs) for name, outputs in (references or {}).items()},
        id_stack=(stack, id_stack) if id_stack is not None else None,
    )
    monitor = RecordingMonitor(mocks, on_register)
    pulumi_settings.reset_options(project=project, stack=stack, preview=False)
    pulumi.runtime.set_all_config(config or {}, secret_keys or [])
    settings = pulumi_mocks.MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=pulumi_mocks.MockEngine(None),
        project=project,
        stack=stack,
        dry_run=False,
        organization="organization",
        callbacks=None,
    )
    pulumi_settings.configure(settings)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_InlineExecutor(max_workers=1))
    handler = _AbandonedAfterFailure()
    loop.set_exception_handler(handler)
    try:
        asyncio.set_event_loop(loop)
        with _fewer_collections(), sdk_internals.offline_replacements():
            loop.run_until_complete(run_in_stack(lambda: _run_and_settle(program)))
    except pulumi.RunError as error:
        handler.program_failed = True
        raise RenderError(str(error)) from error
    except BaseException:
        handler.program_failed = True
        raise
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        pulumi_settings.reset_options()
        pulumi.runtime.set_all_config({})
    resources = sorted(monitor.records.values(), key=lambda resource: resource.urn)
    return Rendering(project, stack, resources, monitor.stack_outputs)


def render_json(rendering: Rendering) -> str:
    """The `--format json` document: sorted keys, two-space indent, trailing newline."""
    return json.dumps(rendering.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def kubernetes_objects(rendering: Rendering) -> list[tuple[RenderedResource, dict[str, Any]]]:
    """The Kubernetes objects of the environment (apiVersion/kind/... from their inputs)."""
    objects = []
    for resource in rendering.resources:
        if not resource.custom or not resource.type.startswith("kubernetes:"):
            continue
        inputs = masked(resource.inputs)
        if "apiVersion" not in inputs or "kind" not in inputs:
            continue
        document = {
            key: value
            for key, value in inputs.items()
            if not key.startswith("__") and value is not None
        }
        objects.append((resource, document))
    return objects


def render_manifests(rendering: Rendering) -> str:
    """The `--format manifests` document: multi-document YAML, one object per resource."""
    parts = []
    for resource, document in kubernetes_objects(rendering):
        body = yaml.safe_dump(document, sort_keys=True, default_flow_style=False)
        parts.append(f"# {resource.urn}\n{body}")
    return "---\n".join(parts)
