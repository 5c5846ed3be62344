"""Offline driver for Pulumi CrossGuard policy packs (Python, ``pulumi-policy``).

This module runs a policy pack the way the Pulumi engine does during ``pulumi preview
--policy-pack <dir>``, but without the Pulumi CLI or any plugin binaries:

1. It serves a minimal ``pulumirpc.Engine`` gRPC service (``Log``, ``GetRootResource``,
   ``SetRootResource``, ``StartDebugging``, ``RequirePulumiVersion``) on ``127.0.0.1:0``.
2. It launches the pack exactly like the ``pulumi-analyzer-policy-python`` shim:
   ``<python> -u -m pulumi.policy <engine-address> .`` with the pack directory as working
   directory, in its own process group, with ``PULUMI_CONFIG``/``PULUMI_PROJECT``/``PULUMI_STACK``/
   ``PULUMI_DRY_RUN``/``PULUMI_ORGANIZATION`` set as the engine's ``constructEnv`` does.
3. It reads the analyzer's port (first stdout line), dials it and then makes the same
   ``pulumirpc.Analyzer`` calls as the engine, in the same order:
   ``Handshake`` (``UNIMPLEMENTED`` tolerated) -> ``ConfigureStack`` -> ``GetPluginInfo`` ->
   ``GetAnalyzerInfo`` -> ``Configure`` (the reconciled per-policy config) and, per
   :meth:`PolicyPackRunner.analyze` call, ``Remediate`` + ``Analyze`` for every resource and
   one ``AnalyzeStack`` over all of them.
4. On exit it closes the channel, interrupts the pack's process group (``SIGINT``, which makes
   ``PolicyPack`` stop its server and return), escalates to ``SIGKILL`` after a grace period,
   reaps the process, joins the pipe reader threads and stops the engine server.

Property values are encoded like the engine's ``MarshalProperties`` with ``KeepUnknowns``,
``KeepSecrets`` and ``SkipInternalKeys``: wrap a value in :class:`Secret` to send it as a
secret (``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": ...}``)
and use :class:`Unknown` for a value that is not known during preview.

Example::

    with PolicyPackRunner(Path("policies/pack"), config={"s3-bucket-tags": "advisory"}) as pack:
        name, policies = pack.info()
        violations = pack.analyze([AnalyzerResource(urn=..., type=..., name=..., properties={})])
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import grpc
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import (
    analyzer_pb2,
    analyzer_pb2_grpc,
    engine_pb2,
    engine_pb2_grpc,
    plugin_pb2,
)

from .components.wire import (
    ARCHIVE_SIG,
    ASSET_SIG,
    SECRET_SIG,
    SIG_KEY,
    UNKNOWN_BY_KIND,
    UNKNOWN_KINDS,
    UnknownKind,
)
from .policies import pack_config
from .policies.pack_config import PolicyConfig

__all__ = [
    "UNKNOWN",
    "AnalysisReport",
    "AnalyzerProvider",
    "AnalyzerResource",
    "CustomTimeouts",
    "LogEntry",
    "NotApplicable",
    "PolicyInfo",
    "PolicyPackError",
    "PolicyPackRunner",
    "Remediation",
    "Secret",
    "Unknown",
    "Violation",
    "decode_properties",
    "encode_properties",
    "load_policy_config",
]

# --------------------------------------------------------------------------------------------------
# Wire constants (sdk/go/common/resource/properties.go and plugin/rpc.go).
# --------------------------------------------------------------------------------------------------

# One copy of the wire constants for the engine, this codec and the policy rules.
SPECIAL_SIG_KEY = SIG_KEY
_UNKNOWN_SENTINELS = UNKNOWN_BY_KIND
_SENTINEL_KINDS = UNKNOWN_KINDS

_LEVEL_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_PROTO_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PROTO.items()}
_PROTO_TO_SEVERITY = {
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
_PROTO_TO_POLICY_TYPE = {
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}
_LOG_SEVERITIES = {
    engine_pb2.DEBUG: "debug",
    engine_pb2.INFO: "info",
    engine_pb2.WARNING: "warning",
    engine_pb2.ERROR: "error",
}

# Same limit the policy SDK and the engine use (400 MiB).
_MAX_RPC_MESSAGE_SIZE = 400 * 1024 * 1024
_GRPC_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_RPC_MESSAGE_SIZE),
    ("grpc.max_send_message_length", _MAX_RPC_MESSAGE_SIZE),
]
_STDERR_TAIL_LINES = 60

# --------------------------------------------------------------------------------------------------
# Public data types.
# --------------------------------------------------------------------------------------------------


class PolicyPackError(RuntimeError):
    """The policy pack could not be started, configured or run.

    ``stderr_tail`` holds the last lines the pack wrote to stderr (tracebacks end up there);
    they are also appended to the message.
    """

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        self.reason = message
        self.stderr_tail = stderr_tail
        text = message
        if stderr_tail.strip():
            text += "\n--- policy pack stderr (tail) ---\n" + stderr_tail.rstrip()
        super().__init__(text)


@dataclass(frozen=True)
class Secret:
    """Marks a property value as secret; it is sent with the engine's secret signature."""

    value: Any


@dataclass(frozen=True)
class Unknown:
    """A property value not known during preview (the engine's ``Computed`` value).

    ``kind`` picks the typed sentinel the engine would send (``string`` by default).
    """

    kind: UnknownKind = "string"

    @property
    def sentinel(self) -> str:
        """The wire sentinel string for this unknown."""
        return _UNKNOWN_SENTINELS[self.kind]


UNKNOWN = Unknown()
"""An unknown string value."""


@dataclass(frozen=True)
class CustomTimeouts:
    """``AnalyzerResourceOptions.CustomTimeouts`` in seconds (0 means provider default)."""

    create: float = 0.0
    update: float = 0.0
    delete: float = 0.0


@dataclass(frozen=True)
class AnalyzerProvider:
    """The provider of a resource (``AnalyzerProviderResource``)."""

    urn: str
    type: str
    name: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalyzerResource:
    """One resource to analyze, as the engine describes it to analyzers.

    ``properties`` are the resource's inputs (``Analyze``) and also what ``AnalyzeStack`` sees.
    Values may be JSON-like Python values, :class:`Secret`, :class:`Unknown`, or Pulumi
    assets/archives. Keys starting with ``__`` are dropped, as the engine does.
    """

    urn: str
    type: str
    name: str
    properties: Mapping[str, Any]
    parent: str | None = None
    provider: AnalyzerProvider | None = None
    protect: bool = False
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    delete_before_replace: bool | None = None
    additional_secret_outputs: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    custom_timeouts: CustomTimeouts = field(default_factory=CustomTimeouts)


@dataclass(frozen=True)
class PolicyInfo:
    """Metadata of one policy, from ``GetAnalyzerInfo``.

    ``enforcement_level`` is the level the pack declares; the effective level after the
    config file is applied is in :attr:`PolicyPackRunner.effective_config`.
    ``config_schema`` is ``{"properties": {...}, "required": [...]}`` or ``None``.
    """

    name: str
    display_name: str
    description: str
    enforcement_level: str
    message: str
    config_schema: dict[str, Any] | None
    policy_type: str | None = None
    severity: str | None = None


@dataclass(frozen=True)
class Violation:
    """A policy violation (``AnalyzeDiagnostic``).

    ``urn`` is the offending resource, or ``None`` for a stack-level violation. Diagnostics from
    ``Analyze`` without a URN are attributed to the analyzed resource, as the engine does.
    """

    policy_name: str
    policy_pack: str
    description: str
    message: str
    enforcement_level: str
    urn: str | None
    severity: str | None = None
    policy_pack_version: str = ""

    @property
    def mandatory(self) -> bool:
        """True if this violation blocks a deployment."""
        return self.enforcement_level == "mandatory"


@dataclass(frozen=True)
class Remediation:
    """A remediation the pack applied to a resource (``Remediation``).

    ``properties`` are the rewritten inputs (decoded; secrets come back as :class:`Secret`),
    ``diagnostic`` is set instead when the remediation could not run.
    """

    policy_name: str
    policy_pack: str
    description: str
    urn: str
    properties: dict[str, Any] | None
    diagnostic: str | None = None


@dataclass(frozen=True)
class NotApplicable:
    """A policy that declared itself not applicable (``PolicyNotApplicable``)."""

    policy_name: str
    urn: str | None
    reason: str


@dataclass(frozen=True)
class AnalysisReport:
    """Everything one :meth:`PolicyPackRunner.analyze_report` run produced."""

    violations: tuple[Violation, ...]
    remediations: tuple[Remediation, ...] = ()
    not_applicable: tuple[NotApplicable, ...] = ()

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        """The violations that would block ``pulumi up``."""
        return tuple(v for v in self.violations if v.mandatory)


@dataclass(frozen=True)
class LogEntry:
    """A log line from the pack: an ``Engine.Log`` call, or a line of its stdout/stderr."""

    source: Literal["engine", "stdout", "stderr"]
    severity: str
    message: str
    urn: str | None = None


# --------------------------------------------------------------------------------------------------
# Property encoding (engine MarshalProperties: KeepUnknowns, KeepSecrets, SkipInternalKeys).
# --------------------------------------------------------------------------------------------------


def _asset_fields(value: Any) -> dict[str, Any] | None:
    import pulumi  # imported lazily: only needed for asset values

    if isinstance(value, pulumi.FileAsset):
        return {SPECIAL_SIG_KEY: ASSET_SIG, "path": str(value.path)}
    if isinstance(value, pulumi.StringAsset):
        return {SPECIAL_SIG_KEY: ASSET_SIG, "text": value.text}
    if isinstance(value, pulumi.RemoteAsset):
        return {SPECIAL_SIG_KEY: ASSET_SIG, "uri": value.uri}
    if isinstance(value, pulumi.AssetArchive):
        return {SPECIAL_SIG_KEY: ARCHIVE_SIG, "assets": dict(value.assets)}
    if isinstance(value, pulumi.FileArchive):
        return {SPECIAL_SIG_KEY: ARCHIVE_SIG, "path": str(value.path)}
    if isinstance(value, pulumi.RemoteArchive):
        return {SPECIAL_SIG_KEY: ARCHIVE_SIG, "uri": value.uri}
    return None


def _encode_value(value: Any, path: str) -> struct_pb2.Value:
    if isinstance(value, Secret):
        secret = struct_pb2.Struct()
        secret.fields[SPECIAL_SIG_KEY].string_value = SECRET_SIG
        secret.fields["value"].CopyFrom(_encode_value(value.value, path))
        return struct_pb2.Value(struct_value=secret)
    if isinstance(value, Unknown):
        return struct_pb2.Value(string_value=value.sentinel)
    if value is None:
        return struct_pb2.Value(null_value=struct_pb2.NULL_VALUE)
    if isinstance(value, bool):
        return struct_pb2.Value(bool_value=value)
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise TypeError(f"property {path}: non-finite number {value!r} cannot be sent")
        return struct_pb2.Value(number_value=number)
    if isinstance(value, str):
        return struct_pb2.Value(string_value=value)
    if isinstance(value, Mapping):
        return struct_pb2.Value(struct_value=_encode_struct(value, path))
    if isinstance(value, list | tuple):
        items = [_encode_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return struct_pb2.Value(list_value=struct_pb2.ListValue(values=items))
    asset = _asset_fields(value)
    if asset is not None:
        return struct_pb2.Value(struct_value=_encode_struct(asset, path))
    raise TypeError(f"property {path}: values of type {type(value).__name__} cannot be sent")


def _encode_struct(props: Mapping[str, Any], path: str) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    for key in sorted(props):
        if not isinstance(key, str):
            raise TypeError(f"property {path}: keys must be strings, got {key!r}")
        if key.startswith("__"):  # resource.IsInternalPropertyKey: skipped by the engine
            continue
        result.fields[key].CopyFrom(_encode_value(props[key], f"{path}.{key}" if path else key))
    return result


def encode_properties(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Encode resource properties the way the engine sends them to analyzers."""
    return _encode_struct(props, "")


def _decode_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and abs(number) < 2**53:
            return int(number)
        return number
    if kind == "string_value":
        unknown_kind = _SENTINEL_KINDS.get(value.string_value)
        # Why the ignore below: _SENTINEL_KINDS maps to the Unknown kinds' Literal values; the dict
        # is typed dict[str, str].
        return Unknown(unknown_kind) if unknown_kind else value.string_value  # type: ignore[arg-type]
    if kind == "list_value":
        return [_decode_value(v) for v in value.list_value.values]
    fields = value.struct_value.fields
    if SPECIAL_SIG_KEY in fields and fields[SPECIAL_SIG_KEY].string_value == SECRET_SIG:
        return Secret(_decode_value(fields["value"]) if "value" in fields else None)
    return {k: _decode_value(v) for k, v in sorted(fields.items())}


def decode_properties(props: struct_pb2.Struct) -> dict[str, Any]:
    """Decode a property struct; secrets become :class:`Secret`, unknowns :class:`Unknown`."""
    return {k: _decode_value(v) for k, v in sorted(props.fields.items())}


def _resource_options(resource: AnalyzerResource) -> analyzer_pb2.AnalyzerResourceOptions:
    timeouts = resource.custom_timeouts
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=list(resource.ignore_changes),
        deleteBeforeReplace=bool(resource.delete_before_replace),
        deleteBeforeReplaceDefined=resource.delete_before_replace is not None,
        additionalSecretOutputs=list(resource.additional_secret_outputs),
        aliases=list(resource.aliases),
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
            create=timeouts.create, update=timeouts.update, delete=timeouts.delete
        ),
        parent=resource.parent or "",
    )


def _provider_resource(resource: AnalyzerResource) -> analyzer_pb2.AnalyzerProviderResource | None:
    if resource.provider is None:
        return None
    p = resource.provider
    return analyzer_pb2.AnalyzerProviderResource(
        urn=p.urn, type=p.type, name=p.name, properties=encode_properties(p.properties)
    )


def _described(resource: AnalyzerResource, props: struct_pb2.Struct | None) -> dict[str, Any]:
    """The fields every analyzer request carries for a resource."""
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "properties": encode_properties(resource.properties) if props is None else props,
        "options": _resource_options(resource),
        "provider": _provider_resource(resource),
    }


def analyze_request(
    resource: AnalyzerResource, props: struct_pb2.Struct | None = None
) -> analyzer_pb2.AnalyzeRequest:
    """The engine's ``Analyze``/``Remediate`` request for `resource` (`props`: its encoded
    properties, when already encoded or remediated)."""
    return analyzer_pb2.AnalyzeRequest(**_described(resource, props))


def stack_resource(
    resource: AnalyzerResource, props: struct_pb2.Struct | None = None
) -> analyzer_pb2.AnalyzerResource:
    """`resource` as one entry of the engine's ``AnalyzeStack`` request."""
    property_deps = {
        key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
        for key, urns in resource.property_dependencies.items()
        if urns  # the engine skips properties without dependencies
    }
    return analyzer_pb2.AnalyzerResource(
        **_described(resource, props),
        parent=resource.parent or "",
        dependencies=list(resource.dependencies),
        propertyDependencies=property_deps,
    )


def _plain_struct(values: Mapping[str, Any] | None) -> struct_pb2.Struct:
    """Encode a JSON-like mapping (policy config, schemas) as a protobuf Struct."""
    result = struct_pb2.Struct()
    if values:
        result.update(dict(values))
    return result


def _plain_value(value: struct_pb2.Value) -> Any:
    """Decode a protobuf Value as plain JSON-like data (no signature handling)."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "list_value":
        return [_plain_value(v) for v in value.list_value.values]
    if kind == "struct_value":
        return {k: _plain_value(v) for k, v in value.struct_value.fields.items()}
    return getattr(value, kind)


# --------------------------------------------------------------------------------------------------
# Policy config (pkg/resource/analyzer/config.go).
# --------------------------------------------------------------------------------------------------


def load_policy_config(source: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``--policy-pack-config`` style JSON file (or pass a mapping through).

    The format is ``{"policy-name": "mandatory"}`` or
    ``{"policy-name": {"enforcementLevel": "advisory", "someProperty": 1}}``; the key ``all``
    sets the enforcement level of every policy.
    """
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyPackError(f"cannot read policy pack config {path}: {exc}") from exc
    if not text.strip():  # the engine accepts an empty file
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyPackError(f"policy pack config {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyPackError(f"policy pack config {path} must be a JSON object")
    return data


def _validate_against_schema(schema: dict[str, Any], props: dict[str, Any]) -> list[str]:
    """Validate one policy's properties; uses ``jsonschema`` when installed."""
    document: dict[str, Any] = {"type": "object"}
    if schema.get("properties"):
        document["properties"] = schema["properties"]
    if schema.get("required"):
        document["required"] = schema["required"]
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a dev dependency
        return [f"{key} is required" for key in schema.get("required", []) if key not in props]
    validator = jsonschema.Draft7Validator(document)
    errors = sorted(validator.iter_errors(props), key=lambda e: (list(e.path), e.message))
    messages = []
    for error in errors:
        where = ".".join(str(p) for p in error.path)
        messages.append(f"{where}: {error.message}" if where else error.message)
    return messages


# --------------------------------------------------------------------------------------------------
# The engine side: a minimal pulumirpc.Engine service.
# --------------------------------------------------------------------------------------------------


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    """What the Pulumi host server offers plugins: logging and root-resource state."""

    def __init__(self, sink: Callable[[LogEntry], None]) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        self._root_urn = ""

    def Log(self, request: engine_pb2.LogRequest, context: grpc.ServicerContext) -> Any:
        self._sink(
            LogEntry(
                source="engine",
                severity=_LOG_SEVERITIES.get(request.severity, "info"),
                message=request.message,
                urn=request.urn or None,
            )
        )
        return empty_pb2.Empty()

    def GetRootResource(
        self, request: engine_pb2.GetRootResourceRequest, context: grpc.ServicerContext
    ) -> Any:
        with self._lock:
            return engine_pb2.GetRootResourceResponse(urn=self._root_urn)

    def SetRootResource(
        self, request: engine_pb2.SetRootResourceRequest, context: grpc.ServicerContext
    ) -> Any:
        with self._lock:
            self._root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()

    def StartDebugging(
        self, request: engine_pb2.StartDebuggingRequest, context: grpc.ServicerContext
    ) -> Any:
        # The engine answers "debugging is not enabled" when no debug context is attached.
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, "debugging is not enabled")

    def RequirePulumiVersion(
        self, request: engine_pb2.RequirePulumiVersionRequest, context: grpc.ServicerContext
    ) -> Any:
        return engine_pb2.RequirePulumiVersionResponse()


# --------------------------------------------------------------------------------------------------
# The runner.
# --------------------------------------------------------------------------------------------------

_T = TypeVar("_T")
_R = TypeVar("_R")


def _wait_exited(pid: int, timeout: float) -> bool:
    """Wait until child ``pid`` has exited, without reaping it; ``False`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:  # already reaped
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Last-resort cleanup (garbage collection / interpreter exit) for a forgotten runner."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


class PolicyPackRunner:
    """Run a Python CrossGuard policy pack over the real analyzer gRPC protocol.

    Use as a context manager (or call :meth:`start` / :meth:`close`). Startup launches the pack,
    performs the engine's handshake and configuration calls and fails with
    :class:`PolicyPackError` (including the pack's stderr tail) if anything goes wrong; the
    process is always cleaned up.

    :param pack_dir: directory holding ``PulumiPolicy.yaml`` and ``__main__.py``.
    :param config: policy config, as a mapping or the path of a JSON file in the
        ``pulumi preview --policy-pack-config`` format (see :func:`load_policy_config`).
    :param python: interpreter for the pack; default: the ``virtualenv`` declared in
        ``PulumiPolicy.yaml`` if it exists, else the current interpreter.
    :param stack: stack name (``ConfigureStack`` and ``PULUMI_STACK``).
    :param project: project name (``ConfigureStack`` and ``PULUMI_PROJECT``).
    :param organization: organization (the engine uses ``organization`` for DIY backends).
    :param dry_run: ``True`` for a preview, ``False`` for an update.
    :param stack_config: stack configuration, ``{"project:key": "value"}``.
    :param stack_config_secret_keys: keys of ``stack_config`` that are secrets.
    :param stack_tags: stack tags, visible to policies as ``args.stack_tags``.
    :param max_workers: concurrent ``Analyze`` calls (the pack serves with 4 threads);
        ``1`` analyzes strictly one resource after another like the engine's step generator.
    :param startup_timeout: seconds to wait for the pack to report its port and accept calls.
    :param rpc_timeout: deadline of each analyzer call, in seconds.
    :param shutdown_timeout: grace period after ``SIGINT`` before the pack is killed.
    """

    def __init__(
        self,
        pack_dir: Path | str,
        config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        python: str | None = None,
        stack: str = "dev",
        project: str = "tkestack",
        *,
        organization: str = "organization",
        dry_run: bool = True,
        stack_config: Mapping[str, str] | None = None,
        stack_config_secret_keys: Iterable[str] = (),
        stack_tags: Mapping[str, str] | None = None,
        max_workers: int = 4,
        startup_timeout: float = 30.0,
        rpc_timeout: float = 60.0,
        shutdown_timeout: float = 5.0,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self._raw_config = load_policy_config(config) if config is not None else None
        try:
            self._user_config = pack_config.parse(self._raw_config)
        except pack_config.PolicyConfigError as exc:
            raise PolicyPackError(str(exc)) from exc
        self._python = python
        self.stack = stack
        self.project = project
        self.organization = organization
        self.dry_run = dry_run
        self.stack_config = dict(stack_config or {})
        self.stack_config_secret_keys = tuple(stack_config_secret_keys)
        self.stack_tags = dict(stack_tags or {})
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.startup_timeout = startup_timeout
        self.rpc_timeout = rpc_timeout
        self.shutdown_timeout = shutdown_timeout

        self.pack_name = ""
        self.pack_version = ""
        self.plugin_version = ""
        self.supports_config = False
        self.policies: list[PolicyInfo] = []
        self.effective_config: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        """Names of the analyzer RPCs issued so far, in issue order (for tracing)."""

        self._logs: list[LogEntry] = []
        self._logs_lock = threading.Lock()
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        self._stderr_lines = 0
        self._port_queue: queue.Queue[int | str | None] = queue.Queue()
        self._proc: subprocess.Popen[bytes] | None = None
        self._readers: list[threading.Thread] = []
        self._engine_server: grpc.Server | None = None
        self._engine_executor: futures.ThreadPoolExecutor | None = None
        self._engine_address = ""
        self._port = 0
        self._deadline = 0.0
        self._initial_config: dict[str, PolicyConfig] = {}
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._finalizer: weakref.finalize | None = None
        self._started = False
        self._closed = False

    # ---------------------------------------------------------------- context management

    def __enter__(self) -> PolicyPackRunner:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """Process id of the policy pack (``None`` before start)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def engine_address(self) -> str:
        """Address of the engine service handed to the pack."""
        return self._engine_address

    @property
    def logs(self) -> list[LogEntry]:
        """Engine ``Log`` calls and stdout/stderr lines of the pack, in arrival order."""
        with self._logs_lock:
            return list(self._logs)

    def start(self) -> None:
        """Launch and configure the pack; raises :class:`PolicyPackError` on failure."""
        if self._started:
            raise RuntimeError("PolicyPackRunner.start() called twice")
        if self._closed:
            raise RuntimeError("PolicyPackRunner cannot be restarted after close()")
        self._started = True
        try:
            project_file = self._load_project_file()
            self._start_engine()
            self._launch(project_file)
            self._connect()
            self._configure_stack()
            self._get_plugin_info()
            self._get_analyzer_info(project_file)
            self._configure()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Shut the pack down (SIGINT, then SIGKILL), reap it and release every resource."""
        if self._closed:
            return
        self._closed = True
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._stub = None
        proc = self._proc
        if proc is not None:
            self._stop_process(proc)
            if self._finalizer is not None:
                self._finalizer.detach()
        for reader in self._readers:
            reader.join(timeout=5)
        if proc is not None:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        if self._engine_server is not None:
            self._engine_server.stop(grace=None).wait(timeout=5)
            self._engine_server = None
        if self._engine_executor is not None:
            self._engine_executor.shutdown(wait=True)
            self._engine_executor = None

    def _stop_process(self, proc: subprocess.Popen[bytes]) -> None:
        """Interrupt, then kill, the pack's process group; reap the pack.

        The leader is waited for without being reaped (``WNOWAIT``) so its zombie keeps the
        process-group id reserved while leftover children of the pack are killed.
        """
        if proc.returncode is not None:  # already reaped (e.g. it crashed during startup)
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGINT)  # like cmdutil.InterruptChildren
        if not _wait_exited(proc.pid, self.shutdown_timeout):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            _wait_exited(proc.pid, 10.0)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers in the group, if any
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    # ---------------------------------------------------------------- startup steps

    def _load_project_file(self) -> dict[str, Any]:
        path = self.pack_dir / "PulumiPolicy.yaml"
        if not path.is_file():
            raise PolicyPackError(
                f"failed to load Pulumi policy project located at {str(self.pack_dir)!r}: "
                f"{path} does not exist"
            )
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise PolicyPackError(f"cannot read {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise PolicyPackError(f"{path} must be a YAML mapping")
        runtime = data.get("runtime")
        runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
        if runtime_name != "python":
            raise PolicyPackError(
                f"{path}: runtime {runtime_name!r} is not supported; only Python packs can run"
            )
        return data

    def _python_executable(self, project_file: dict[str, Any]) -> str:
        if self._python:
            return self._python
        runtime = project_file.get("runtime")
        options = runtime.get("options") if isinstance(runtime, dict) else None
        venv = options.get("virtualenv") if isinstance(options, dict) else None
        if isinstance(venv, str) and venv:
            candidate = (self.pack_dir / venv).resolve() / "bin" / "python"
            if candidate.is_file():
                return str(candidate)
        return sys.executable

    def _start_engine(self) -> None:
        self._engine_executor = futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="tkestack-engine"
        )
        server = grpc.server(self._engine_executor, options=_GRPC_OPTIONS)
        engine_pb2_grpc.add_EngineServicer_to_server(_EngineServicer(self._add_log), server)
        port = server.add_insecure_port("127.0.0.1:0")
        if port == 0:
            raise PolicyPackError("could not bind the engine gRPC server on 127.0.0.1")
        server.start()
        self._engine_server = server
        self._engine_address = f"127.0.0.1:{port}"

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_ORGANIZATION"):
            env.pop(key, None)
        if self.stack_config:
            env["PULUMI_CONFIG"] = json.dumps(self.stack_config, sort_keys=True)
        if self.organization:
            env["PULUMI_ORGANIZATION"] = self.organization
        env["PULUMI_PROJECT"] = self.project
        env["PULUMI_STACK"] = self.stack
        env["PULUMI_DRY_RUN"] = "true" if self.dry_run else "false"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _launch(self, project_file: dict[str, Any]) -> None:
        python = self._python_executable(project_file)
        # pulumi-analyzer-policy-python: `python -u -m pulumi.policy <engine> <program>`,
        # run with the policy pack directory as working directory and program ".".
        argv = [python, "-u", "-m", "pulumi.policy", self._engine_address, "."]
        try:
            proc = subprocess.Popen(
                argv,
                cwd=self.pack_dir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # own process group, like cmdutil.RegisterProcessGroup
            )
        except OSError as exc:
            raise PolicyPackError(f"could not start policy pack with {python!r}: {exc}") from exc
        self._proc = proc
        self._finalizer = weakref.finalize(self, _kill_group, proc)
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [
            threading.Thread(
                target=self._read_stdout,
                args=(proc.stdout,),
                name=f"tkestack-pack-stdout-{proc.pid}",
                daemon=True,
            ),
            threading.Thread(
                target=self._read_stderr,
                args=(proc.stderr,),
                name=f"tkestack-pack-stderr-{proc.pid}",
                daemon=True,
            ),
        ]
        for reader in self._readers:
            reader.start()

        deadline = time.monotonic() + self.startup_timeout
        try:
            first = self._port_queue.get(timeout=self.startup_timeout)
        except queue.Empty:
            raise self._error(
                f"policy pack {self.pack_dir} did not report its gRPC port within "
                f"{self.startup_timeout:g}s"
            ) from None
        if first is None:
            code = self._wait_exit(max(0.5, deadline - time.monotonic()))
            raise self._error(
                f"policy pack {self.pack_dir} exited (code {code}) before reporting its gRPC port"
            )
        if isinstance(first, str):
            raise self._error(
                f"policy pack {self.pack_dir} wrote an invalid port to stdout: {first!r}"
            )
        self._port = first
        self._deadline = deadline

    def _connect(self) -> None:
        channel = grpc.insecure_channel(f"127.0.0.1:{self._port}", options=_GRPC_OPTIONS)
        self._channel = channel
        remaining = max(0.5, self._deadline - time.monotonic())
        try:
            grpc.channel_ready_future(channel).result(timeout=remaining)
        except grpc.FutureTimeoutError:
            raise self._error(
                f"policy pack {self.pack_dir} did not accept connections on port {self._port}"
            ) from None
        self._stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=self._engine_address,
            root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir),
        )
        self._call("Handshake", request, optional=True)

    def _configure_stack(self) -> None:
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack,
            project=self.project,
            organization=self.organization,
            dry_run=self.dry_run,
            config=self.stack_config,
            config_secret_keys=list(self.stack_config_secret_keys),
            tags=self.stack_tags,
        )
        self._call("ConfigureStack", request, optional=True)

    def _get_plugin_info(self) -> None:
        info = self._call("GetPluginInfo", empty_pb2.Empty())
        assert isinstance(info, plugin_pb2.PluginInfo)
        self.plugin_version = info.version

    def _get_analyzer_info(self, project_file: dict[str, Any]) -> None:
        info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        assert isinstance(info, analyzer_pb2.AnalyzerInfo)
        self.pack_name = info.name
        # The version from PulumiPolicy.yaml wins over the one the pack reports.
        self.pack_version = str(project_file.get("version") or info.version)
        self.supports_config = info.supportsConfig
        policies = []
        for p in info.policies:
            schema: dict[str, Any] | None = None
            if p.HasField("configSchema"):
                schema = {
                    "properties": _plain_value(
                        struct_pb2.Value(struct_value=p.configSchema.properties)
                    ),
                    "required": list(p.configSchema.required),
                }
            level = _PROTO_TO_LEVEL.get(p.enforcementLevel)
            if level is None:
                raise self._error(
                    f"policy {p.name!r} has an invalid enforcement level {p.enforcementLevel}"
                )
            policies.append(
                PolicyInfo(
                    name=p.name,
                    display_name=p.displayName,
                    description=p.description,
                    enforcement_level=level,
                    message=p.message,
                    config_schema=schema,
                    policy_type=_PROTO_TO_POLICY_TYPE.get(p.policy_type),
                    severity=_PROTO_TO_SEVERITY.get(p.severity),
                )
            )
        self.policies = sorted(policies, key=lambda pi: pi.name)  # the engine sorts by name
        self._initial_config = {
            name: PolicyConfig(
                # An initialConfig entry without a level arrives as 0 == ADVISORY, and the
                # engine applies it as "advisory"; we do the same.
                _PROTO_TO_LEVEL.get(cfg.enforcementLevel, "advisory"),
                _plain_value(struct_pb2.Value(struct_value=cfg.properties)) or None,
            )
            for name, cfg in info.initialConfig.items()
        }

    def _reconcile_config(self) -> dict[str, PolicyConfig]:
        """``ReconcilePolicyPackConfig``: schema defaults < initialConfig < user config."""
        # The reconciliation itself is the pack's (policies/pack_config.py); only the schema
        # defaults are read here, from the schemas the pack announced over the wire.
        entries = []
        for policy in self.policies:
            defaults: dict[str, Any] = {}
            if policy.config_schema:
                for key, prop in (policy.config_schema.get("properties") or {}).items():
                    if isinstance(prop, dict) and "default" in prop:
                        defaults[key] = prop["default"]
            entries.append((policy.name, policy.enforcement_level, defaults))
        try:
            result = pack_config.reconcile(
                entries, self._user_config, initial=self._initial_config, pack=self.pack_name
            )
        except pack_config.PolicyConfigError as exc:
            raise PolicyPackError(str(exc)) from exc
        errors = []
        for policy in self.policies:
            if policy.config_schema is None:
                continue
            props = result[policy.name].properties or {}
            for message in _validate_against_schema(policy.config_schema, props):
                errors.append(
                    f"validating policy config: {self.pack_name} {self.pack_version}  "
                    f"{policy.name}: {message}"
                )
        if errors:
            raise PolicyPackError("invalid policy pack config:\n" + "\n".join(sorted(errors)))
        return result

    def _configure(self) -> None:
        if not self.supports_config:
            if self._raw_config:
                raise PolicyPackError(
                    f"policy pack {self.pack_name!r} at {str(self.pack_dir)!r} does not support "
                    "config"
                )
            self.effective_config = {
                p.name: {"enforcementLevel": p.enforcement_level} for p in self.policies
            }
            return
        config = self._reconcile_config()
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, cfg in sorted(config.items()):
            level = cfg.enforcement_level or "advisory"
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(
                    enforcementLevel=_LEVEL_TO_PROTO[level],
                    properties=_plain_struct(cfg.properties),
                )
            )
            if name != "all":  # "all" is forwarded as the engine does, but is no policy
                self.effective_config[name] = {"enforcementLevel": level, **(cfg.properties or {})}
        if request.policyConfig:
            self._call("Configure", request)

    # ---------------------------------------------------------------- public API

    def info(self) -> tuple[str, list[PolicyInfo]]:
        """The pack's name and its policies (sorted by name), from ``GetAnalyzerInfo``."""
        self._require_started()
        return self.pack_name, list(self.policies)

    def round_trip(self) -> None:
        """One ``GetPluginInfo`` call: the analyzer protocol's own cost per call, with no
        policy work (the bench's ceiling for resources per second)."""
        self._require_started()
        self._call("GetPluginInfo", empty_pb2.Empty())

    def analyze(self, resources: Sequence[AnalyzerResource]) -> list[Violation]:
        """Analyze each resource and then the whole stack; return every violation.

        Results are sorted deterministically: stack-level violations (no URN) first, then by
        URN, policy name and message.
        """
        return list(self.analyze_report(resources).violations)

    def analyze_report(self, resources: Sequence[AnalyzerResource]) -> AnalysisReport:
        """Like :meth:`analyze`, also returning remediations and not-applicable policies.

        For every resource, ``Remediate`` runs first when some policy is at the ``remediate``
        level (the pack only remediates at that level), and ``Analyze`` then sees the
        remediated properties, as in the engine's step generator. ``AnalyzeStack`` runs once
        at the end over all (remediated) resources.
        """
        self._require_started()
        seen: set[str] = set()
        repeated: set[str] = set()
        for resource in resources:  # one pass: a fleet has thousands of resources
            (repeated if resource.urn in seen else seen).add(resource.urn)
        duplicates = sorted(repeated)
        if duplicates:
            raise ValueError(f"duplicate resource URNs: {', '.join(duplicates)}")
        remediate = any(
            cfg.get("enforcementLevel") == "remediate" for cfg in self.effective_config.values()
        )
        encoded = [encode_properties(r.properties) for r in resources]

        def run_one(
            item: tuple[AnalyzerResource, struct_pb2.Struct],
        ) -> tuple[struct_pb2.Struct, list[Violation], list[Remediation], list[NotApplicable]]:
            resource, props = item
            remediations: list[Remediation] = []
            not_applicable: list[NotApplicable] = []
            if remediate:
                props, remediations, skipped = self._remediate(resource, props)
                not_applicable.extend(skipped)
            response = self._call("Analyze", analyze_request(resource, props))
            assert isinstance(response, analyzer_pb2.AnalyzeResponse)
            violations = [
                self._violation(d, default_urn=resource.urn) for d in response.diagnostics
            ]
            not_applicable.extend(
                NotApplicable(n.policy_name, resource.urn, n.reason)
                for n in response.not_applicable
            )
            return props, violations, remediations, not_applicable

        results = self._map(run_one, list(zip(resources, encoded, strict=True)))

        violations: list[Violation] = []
        remediations: list[Remediation] = []
        not_applicable: list[NotApplicable] = []
        final_props: list[struct_pb2.Struct] = []
        for props, v, r, n in results:
            final_props.append(props)
            violations.extend(v)
            remediations.extend(r)
            not_applicable.extend(n)

        stack_request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                stack_resource(res, props)
                for res, props in zip(resources, final_props, strict=True)
            ]
        )
        stack_response = self._call("AnalyzeStack", stack_request, optional=True)
        if isinstance(stack_response, analyzer_pb2.AnalyzeResponse):
            violations.extend(
                self._violation(d, default_urn=None) for d in stack_response.diagnostics
            )
            not_applicable.extend(
                NotApplicable(n.policy_name, None, n.reason) for n in stack_response.not_applicable
            )

        violations.sort(
            key=lambda v: (
                v.urn is not None,
                v.urn or "",
                v.policy_name,
                v.message,
                v.enforcement_level,
            )
        )
        remediations.sort(key=lambda r: r.urn)  # per-resource order is kept (stable sort)
        not_applicable.sort(key=lambda n: (n.urn is not None, n.urn or "", n.policy_name))
        return AnalysisReport(tuple(violations), tuple(remediations), tuple(not_applicable))

    # ---------------------------------------------------------------- analysis helpers

    def _remediate(
        self, resource: AnalyzerResource, props: struct_pb2.Struct
    ) -> tuple[struct_pb2.Struct, list[Remediation], list[NotApplicable]]:
        response = self._call("Remediate", analyze_request(resource, props), optional=True)
        if response is None:  # UNIMPLEMENTED: the engine skips remediation
            return props, [], []
        assert isinstance(response, analyzer_pb2.RemediateResponse)
        remediations = []
        for rem in response.remediations:
            new_props: dict[str, Any] | None = None
            if rem.diagnostic:
                self._add_log(LogEntry("engine", "warning", rem.diagnostic, resource.urn))
            elif rem.HasField("properties"):
                # The engine uses the transformed inputs from this point onwards.
                props = rem.properties
                new_props = decode_properties(rem.properties)
            remediations.append(
                Remediation(
                    policy_name=rem.policyName,
                    policy_pack=rem.policyPackName,
                    description=rem.description,
                    urn=resource.urn,
                    properties=new_props,
                    diagnostic=rem.diagnostic or None,
                )
            )
        skipped = [
            NotApplicable(n.policy_name, resource.urn, n.reason) for n in response.not_applicable
        ]
        return props, remediations, skipped

    def _violation(
        self, diag: analyzer_pb2.AnalyzeDiagnostic, default_urn: str | None
    ) -> Violation:
        level = _PROTO_TO_LEVEL.get(diag.enforcementLevel)
        if level is None:
            raise self._error(f"invalid enforcement level {diag.enforcementLevel} in a diagnostic")
        return Violation(
            policy_name=diag.policyName,
            policy_pack=diag.policyPackName,
            description=diag.description,
            message=diag.message,
            enforcement_level=level,
            urn=diag.urn or default_urn,
            severity=_PROTO_TO_SEVERITY.get(diag.severity),
            policy_pack_version=self.pack_version or diag.policyPackVersion,
        )

    def _map(self, fn: Callable[[_T], _R], items: list[_T]) -> list[_R]:
        if self.max_workers == 1 or len(items) <= 1:
            return [fn(item) for item in items]
        with futures.ThreadPoolExecutor(
            max_workers=min(self.max_workers, len(items)), thread_name_prefix="tkestack-analyze"
        ) as pool:
            return list(pool.map(fn, items))

    # ---------------------------------------------------------------- plumbing

    def _require_started(self) -> None:
        if not self._started or self._closed or self._stub is None:
            raise RuntimeError(
                "PolicyPackRunner is not running; use it as a context manager or call start()"
            )

    def _call(self, method: str, request: Any, *, optional: bool = False) -> Any:
        """Invoke an analyzer RPC; ``optional`` tolerates ``UNIMPLEMENTED`` like the engine."""
        assert self._stub is not None
        self.calls.append(method)
        try:
            return getattr(self._stub, method)(request, timeout=self.rpc_timeout)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            if optional and code == grpc.StatusCode.UNIMPLEMENTED:
                return None
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            name = code.name if code is not None else "UNKNOWN"
            self._settle_stderr()
            message = f"{method} failed: {name}: {details}"
            if self._proc is not None and self._proc.poll() is not None:
                message += f" (the policy pack exited with code {self._proc.returncode})"
            raise self._error(message) from None

    def _settle_stderr(self, wait: float = 0.3) -> None:
        """Give the stderr reader a moment to pick up a traceback the pack just printed."""
        deadline = time.monotonic() + wait
        seen = self._stderr_lines
        while time.monotonic() < deadline:
            time.sleep(0.02)
            if self._stderr_lines != seen:
                seen = self._stderr_lines
                deadline = max(deadline, time.monotonic() + 0.05)

    def _error(self, message: str) -> PolicyPackError:
        with self._logs_lock:
            tail = "\n".join(self._stderr_tail)
        return PolicyPackError(message, tail)

    def _wait_exit(self, timeout: float) -> int | None:
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        for reader in self._readers:
            reader.join(timeout=2)
        return code

    def _add_log(self, entry: LogEntry) -> None:
        with self._logs_lock:
            self._logs.append(entry)
            if entry.source == "stderr":
                self._stderr_tail.append(entry.message)
                self._stderr_lines += 1

    def _read_stdout(self, stream: Any) -> None:
        first = True
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if first:
                first = False
                text = line.strip()
                if text.isdigit() and 0 < int(text) <= 65535:
                    self._port_queue.put(int(text))
                else:
                    self._port_queue.put(line)
                continue
            if line.strip():
                self._add_log(LogEntry("stdout", "info", line))
        if first:
            self._port_queue.put(None)

    def _read_stderr(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line.strip():
                self._add_log(LogEntry("stderr", "info", line))
