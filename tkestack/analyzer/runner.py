"""The analysis loop: the engine's calls to a policy pack, in the engine's order.

:class:`PolicyPackRunner` starts the engine service (`engine_service.py`) and the pack
(`process.py`), then makes the same ``pulumirpc.Analyzer`` calls as the engine:
``Handshake`` (``UNIMPLEMENTED`` tolerated) -> ``ConfigureStack`` -> ``GetPluginInfo`` ->
``GetAnalyzerInfo`` -> ``Configure`` (the reconciled per-policy config, `config.py`) and, per
:meth:`PolicyPackRunner.analyze` call, ``Analyze`` for every resource, one after another as
the engine's step generator sends them, and one ``AnalyzeStack`` over all of them.

``Remediate`` is not called: the tkestack pack defines no remediations, so for it the
engine's ``Remediate`` step changes nothing, and a policy configured at the ``remediate``
level is reported by ``Analyze`` as mandatory (pulumi_policy downgrades it), as here. A pack
with remediations would be judged on its unremediated inputs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, plugin_pb2

from ..policies import pack_config
from ..policies.pack_config import PolicyConfig
from . import config as configs
from .codec import (
    GRPC_OPTIONS,
    LEVEL_TO_PROTO,
    PROTO_TO_LEVEL,
    PROTO_TO_POLICY_TYPE,
    PROTO_TO_SEVERITY,
    analyze_request,
    plain_struct,
    plain_value,
    provider_resource,
    stack_entry,
)
from .engine_service import EngineServer
from .model import (
    AnalysisReport,
    AnalyzerResource,
    LogEntry,
    NotApplicable,
    PolicyInfo,
    PolicyPackError,
    Violation,
)
from .process import PackLog, PackProcess, StackEnvironment, load_project_file, python_executable


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
    :param startup_timeout: seconds to wait for the pack to report its port and accept calls.
    :param rpc_timeout: deadline of each analyzer call, in seconds.
    :param shutdown_timeout: grace period after ``SIGINT`` before the pack is killed.
    :param environment: extra environment variables for the pack's process.
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
        startup_timeout: float = 30.0,
        rpc_timeout: float = 60.0,
        shutdown_timeout: float = 5.0,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self._raw_config = configs.load_policy_config(config) if config is not None else None
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
        self.startup_timeout = startup_timeout
        self.rpc_timeout = rpc_timeout
        self.shutdown_timeout = shutdown_timeout
        self._extra_environment = dict(environment or {})

        self.pack_name = ""
        self.pack_version = ""
        self.plugin_version = ""
        self.supports_config = False
        self.policies: list[PolicyInfo] = []
        self.effective_config: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        """Names of the analyzer RPCs issued so far, in issue order (for tracing)."""

        self._log = PackLog()
        self._process = PackProcess(self.pack_dir, self._log)
        self._engine: EngineServer | None = None
        self._initial_config: dict[str, PolicyConfig] = {}
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
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
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The pack's exit code once it has exited (after :meth:`close`), else ``None``."""
        return self._process.exited()

    @property
    def engine_address(self) -> str:
        """Address of the engine service handed to the pack."""
        return self._engine.address if self._engine is not None else ""

    @property
    def logs(self) -> list[LogEntry]:
        """Engine ``Log`` calls and stdout/stderr lines of the pack, in arrival order."""
        return self._log.entries

    def start(self) -> None:
        """Launch and configure the pack; raises :class:`PolicyPackError` on failure."""
        if self._started:
            raise RuntimeError("PolicyPackRunner.start() called twice")
        if self._closed:
            raise RuntimeError("PolicyPackRunner cannot be restarted after close()")
        self._started = True
        try:
            project_file = load_project_file(self.pack_dir)
            self._engine = EngineServer(self._log.add)
            self._process.launch(
                self._python or python_executable(self.pack_dir, project_file),
                self._engine.address,
                StackEnvironment(
                    self.project, self.stack, self.organization, self.dry_run, self.stack_config
                ),
                self.startup_timeout,
                self._extra_environment,
            )
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
        self._process.stop(self.shutdown_timeout)
        if self._engine is not None:
            self._engine.stop()
            self._engine = None

    # ---------------------------------------------------------------- startup steps

    def _connect(self) -> None:
        port = self._process.port
        channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=GRPC_OPTIONS)
        self._channel = channel
        remaining = max(0.5, self._process.deadline - time.monotonic())
        try:
            grpc.channel_ready_future(channel).result(timeout=remaining)
        except grpc.FutureTimeoutError:
            raise self._log.error(
                f"policy pack {self.pack_dir} did not accept connections on port {port}"
            ) from None
        self._stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=self.engine_address,
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
                    "properties": plain_value(
                        struct_pb2.Value(struct_value=p.configSchema.properties)
                    ),
                    "required": list(p.configSchema.required),
                }
            level = PROTO_TO_LEVEL.get(p.enforcementLevel)
            if level is None:
                raise self._log.error(
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
                    policy_type=PROTO_TO_POLICY_TYPE.get(p.policy_type),
                    severity=PROTO_TO_SEVERITY.get(p.severity),
                )
            )
        self.policies = sorted(policies, key=lambda pi: pi.name)  # the engine sorts by name
        self._initial_config = {
            name: PolicyConfig(
                # An initialConfig entry without a level arrives as 0 == ADVISORY, and the
                # engine applies it as "advisory"; we do the same.
                PROTO_TO_LEVEL.get(cfg.enforcementLevel, "advisory"),
                plain_value(struct_pb2.Value(struct_value=cfg.properties)) or None,
            )
            for name, cfg in info.initialConfig.items()
        }

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
        config = configs.reconcile(
            self.policies,
            self._user_config,
            self._initial_config,
            self.pack_name,
            self.pack_version,
        )
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, cfg in sorted(config.items()):
            level = cfg.enforcement_level or "advisory"
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(
                    enforcementLevel=LEVEL_TO_PROTO[level],
                    properties=plain_struct(cfg.properties),
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
        """Like :meth:`analyze`, also returning the policies that declared themselves not
        applicable (a value unknown during preview).

        Each resource is encoded once: its ``Analyze`` request's properties, options and
        provider (each provider encoded once per call) are reused in ``AnalyzeStack``.
        """
        self._require_started()
        seen: set[str] = set()
        repeated: set[str] = set()
        for resource in resources:  # one pass: a fleet has thousands of resources
            (repeated if resource.urn in seen else seen).add(resource.urn)
        duplicates = sorted(repeated)
        if duplicates:
            raise ValueError(f"duplicate resource URNs: {', '.join(duplicates)}")
        violations: list[Violation] = []
        not_applicable: list[NotApplicable] = []
        providers: dict[int, analyzer_pb2.AnalyzerProviderResource | None] = {}
        entries: list[analyzer_pb2.AnalyzerResource] = []
        for resource in resources:
            key = id(resource.provider)  # the provider objects live as long as `resources`
            if key not in providers:
                providers[key] = provider_resource(resource)
            request = analyze_request(resource, provider=providers[key])
            response = self._call("Analyze", request)
            assert isinstance(response, analyzer_pb2.AnalyzeResponse)
            violations.extend(
                self._violation(d, default_urn=resource.urn) for d in response.diagnostics
            )
            not_applicable.extend(
                NotApplicable(n.policy_name, resource.urn, n.reason)
                for n in response.not_applicable
            )
            entries.append(stack_entry(resource, request))

        stack_request = analyzer_pb2.AnalyzeStackRequest(resources=entries)
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
        not_applicable.sort(key=lambda n: (n.urn is not None, n.urn or "", n.policy_name))
        return AnalysisReport(tuple(violations), tuple(not_applicable))

    # ---------------------------------------------------------------- analysis helpers

    def _violation(
        self, diag: analyzer_pb2.AnalyzeDiagnostic, default_urn: str | None
    ) -> Violation:
        level = PROTO_TO_LEVEL.get(diag.enforcementLevel)
        if level is None:
            raise self._log.error(
                f"invalid enforcement level {diag.enforcementLevel} in a diagnostic"
            )
        return Violation(
            policy_name=diag.policyName,
            policy_pack=diag.policyPackName,
            description=diag.description,
            message=diag.message,
            enforcement_level=level,
            urn=diag.urn or default_urn,
            severity=PROTO_TO_SEVERITY.get(diag.severity),
            policy_pack_version=self.pack_version or diag.policyPackVersion,
        )

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
            self._log.settle_stderr()
            message = f"{method} failed: {name}: {details}"
            exited = self._process.exited()
            if exited is not None:
                message += f" (the policy pack exited with code {exited})"
            raise self._log.error(message) from None
