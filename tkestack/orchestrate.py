"""`tkestack up|preview|refresh|destroy`: an environment's derived stacks through the Pulumi
Automation API (`pulumi.automation`), a local workspace over this project folder.

The stacks and their order come from `stacks/topology.py`: `topology: single` is one stack
`<env>`; `topology: per-cluster` is the shared stack `<env>` first, then the cluster stacks
`<env>.<cluster>` in the waves of `rollout.waves` (else the dependency levels), up to
`parallel` stacks of a wave at once, in threads (each `Stack.up` runs the `pulumi` CLI in a
subprocess, so threads are enough). `destroy` runs the waves in reverse and the shared stack
last. The first failure stops the run: the wave's stacks not yet started are not started,
the ones running finish, no later wave starts; the `RunReport` says which stacks ran, failed
and were not started.

Stack config is never hand-maintained: the shared (or single) stack is configured by the
environment's own file `Pulumi.<env>.yaml`; each cluster stack's config is generated from it
on every run: its plain keys (`tkestack:environment`, the provider keys such as
`pulumi:disable-default-providers`) as the file holds them, its `secure:` keys as secret
`ConfigValue`s with the values the shared stack decrypts (`Stack.get_all_config`, which runs
`pulumi config --show-secrets --json`), and any key the file no longer holds removed.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from pulumi import automation as auto

from .engine import StackConfig
from .stacks.spec import EnvironmentSpec
from .stacks.topology import StackPart, waves


class Operation(StrEnum):
    """What `tkestack` asks every stack to do (a `pulumi.automation.Stack` method)."""

    up = "up"
    preview = "preview"
    refresh = "refresh"
    destroy = "destroy"


class OrchestrationError(Exception):
    """The run cannot start (a usage or configuration problem): nothing was run."""


class StackLike(Protocol):
    """The part of `pulumi.automation.Stack` the orchestrator calls (the test double
    implements it; tests bind every recorded call to the real method's signature)."""

    def up(
        self,
        *,
        on_output: Callable[[str], Any] | None = None,
        policy_packs: list[str] | None = None,
        policy_pack_configs: list[str] | None = None,
    ) -> Any: ...
    def preview(
        self,
        *,
        on_output: Callable[[str], Any] | None = None,
        policy_packs: list[str] | None = None,
        policy_pack_configs: list[str] | None = None,
    ) -> Any: ...
    def refresh(self, *, on_output: Callable[[str], Any] | None = None) -> Any: ...
    def destroy(self, *, on_output: Callable[[str], Any] | None = None) -> Any: ...
    def get_all_config(self) -> MutableMapping[str, auto.ConfigValue]: ...
    def set_all_config(
        self, config: MutableMapping[str, auto.ConfigValue], *, path: bool = False
    ) -> None: ...
    def remove_all_config(self, keys: list[str], *, path: bool = False) -> None: ...


StackFactory = Callable[[str, Path, str | None], StackLike]
"""(stack name, project folder, secrets provider) -> the selected (or created) stack."""


def automation_stack(name: str, project: Path, secrets_provider: str | None) -> StackLike:
    """The real stack: `create_or_select_stack` on a `LocalWorkspace` over the project folder
    (its `Pulumi.yaml` program; the stack's config file `Pulumi.<name>.yaml` beside it).
    `secrets_provider` is the environment file's `secretsprovider`, so a cluster stack
    created here encrypts its secrets the way the shared stack does."""
    options = auto.LocalWorkspaceOptions(work_dir=str(project), secrets_provider=secrets_provider)
    return auto.create_or_select_stack(name, work_dir=str(project), opts=options)


@dataclass
class RunReport:
    """What a run did, by stack name, in the order the stacks were planned."""

    operation: Operation
    planned: list[list[str]]
    """The waves as run: the shared stack's wave, then the clusters' (reversed for destroy)."""
    ran: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Stack -> the error it stopped with."""

    @property
    def not_started(self) -> list[str]:
        """Planned stacks that neither ran nor failed (after a failure)."""
        done = set(self.ran) | set(self.failed)
        return [name for wave in self.planned for name in wave if name not in done]

    @property
    def ok(self) -> bool:
        """Every planned stack ran."""
        return not self.failed and not self.not_started

    def summary(self) -> str:
        """The lines `tkestack` prints at the end of a run."""
        lines = [f"{self.operation.value}: {len(self.ran)} of {sum(map(len, self.planned))} ran"]
        lines.append(f"ran: {', '.join(self.ran) or 'none'}")
        for name, error in self.failed.items():
            lines.append(f"failed: {name}: {error}")
        if self.not_started:
            lines.append(f"not started: {', '.join(self.not_started)}")
        return "\n".join(lines) + "\n"


def plan(env: EnvironmentSpec, operation: Operation, cluster: str | None = None) -> list[list[str]]:
    """The stacks to run, wave by wave. `cluster`: only that cluster's stack. Raises
    OrchestrationError for a cluster the environment has not or a single-stack environment."""
    if cluster is not None:
        if env.topology == "single":
            raise OrchestrationError(
                f"--cluster {cluster}: environment {env.name} has topology: single (one stack"
                f" {env.name}; docs/topology.md)"
            )
        if cluster not in {c.name for c in env.clusters}:
            known = ", ".join(c.name for c in env.clusters)
            raise OrchestrationError(
                f"--cluster {cluster}: no such cluster in {env.name} (clusters: {known})"
            )
        return [[StackPart(env.name, cluster).stack]]
    shared = [StackPart(env.name).stack]
    if env.topology == "single":
        return [shared]
    clusters = [[StackPart(env.name, name).stack for name in wave] for wave in waves(env)]
    if operation is Operation.destroy:
        # A stack is destroyed before the stacks it reads: the reverse of the deploy order.
        return [list(reversed(wave)) for wave in reversed(clusters)] + [shared]
    return [shared, *clusters]


def _config_text(value: Any) -> str:
    """A plain config value as `pulumi config set-all --plaintext` takes it: strings as they
    are, structured values as JSON (the Python SDK's `Config.get_object` json-decodes a
    string value; the engine reads `pulumi:disable-default-providers` as a JSON-encoded
    string: pulumi/pulumi pkg/resource/deploy, `defaultProviders.shouldDenyRequest`)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def derived_config(
    config: StackConfig, shared: Mapping[str, auto.ConfigValue]
) -> dict[str, auto.ConfigValue]:
    """A cluster stack's config, generated from the environment file `config`: every plain
    key as the file holds it and every `secure:` key as a secret with the value the shared
    stack (`shared`, its decrypted config) holds. Raises OrchestrationError naming a secure
    key the shared stack does not hold (set it there first)."""
    generated = {
        key: auto.ConfigValue(value=_config_text(value), secret=False)
        for key, value in sorted(config.values.items())
    }
    missing = sorted(key for key in config.secrets if key not in shared)
    if missing:
        raise OrchestrationError(
            f"{config.display}: the stack {config.stack} holds no value for the secret config"
            f" {', '.join(missing)}: set it (pulumi config set --secret KEY -s {config.stack})"
            " before deploying the cluster stacks"
        )
    for key in sorted(config.secrets):
        generated[key] = auto.ConfigValue(value=shared[key].value, secret=True)
    return generated


def secrets_provider(config: StackConfig) -> str | None:
    """The environment file's `secretsprovider` (the cluster stacks are created with it)."""
    import yaml

    document = yaml.safe_load(config.text) or {}
    value = document.get("secretsprovider") if isinstance(document, dict) else None
    return str(value) if value else None


class Orchestrator:
    """Runs an operation over an environment's stacks (see the module docstring)."""

    def __init__(
        self,
        config: StackConfig,
        env: EnvironmentSpec,
        project: Path,
        factory: StackFactory | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.env = env
        self.project = project
        self.factory = factory if factory is not None else automation_stack
        self.on_output = on_output
        self._lock = threading.Lock()
        self._generated: dict[str, auto.ConfigValue] | None = None
        self._policy: dict[str, list[str]] = {}

    @functools.cached_property
    def _secrets_provider(self) -> str | None:
        """`secrets_provider` of the environment file, parsed once: every stack of the run
        is created with it."""
        return secrets_provider(self.config)

    def _emit(self, stack: str, line: str) -> None:
        if self.on_output is not None:
            with self._lock:  # lines of stacks running in parallel never interleave mid-line
                self.on_output(f"[{stack}] {line.rstrip()}")

    def _cluster_config(self) -> dict[str, auto.ConfigValue]:
        """The generated cluster stack config (the shared stack's secrets read once)."""
        if self._generated is None:
            shared: Mapping[str, auto.ConfigValue] = {}
            if self.config.secrets:
                shared = self.factory(
                    self.env.name, self.project, self._secrets_provider
                ).get_all_config()
            self._generated = derived_config(self.config, shared)
        return self._generated

    def _run_one(self, operation: Operation, name: str) -> None:
        stack = self.factory(name, self.project, self._secrets_provider)
        if name != self.env.name:
            generated = self._cluster_config()
            stale = sorted(set(stack.get_all_config()) - set(generated))
            if stale:
                stack.remove_all_config(stale)
            stack.set_all_config(dict(generated))
        method = getattr(stack, operation.value)
        method(on_output=lambda line: self._emit(name, line), **self._policy)

    def run(
        self,
        operation: Operation,
        cluster: str | None = None,
        parallel: int = 1,
        policy_packs: Sequence[str] = (),
        policy_pack_configs: Sequence[str] = (),
    ) -> RunReport:
        """Run `operation` over the planned waves; stops at the first failure.
        `policy_packs` (folders) and `policy_pack_configs` (JSON files), for `preview` and `up`:
        every stack runs with them, as `pulumi preview --policy-pack P --policy-pack-config F`
        (`Stack.preview`/`Stack.up` `policy_packs`, `policy_pack_configs`: pulumi
        sdk/python/lib/pulumi/automation/_stack.py, 3.272.0)."""
        if parallel < 1:
            raise OrchestrationError(f"--parallel {parallel}: must be at least 1")
        if (policy_packs or policy_pack_configs) and operation not in (
            Operation.preview,
            Operation.up,
        ):
            raise OrchestrationError(f"{operation.value} takes no policy pack")
        if policy_pack_configs and not policy_packs:
            raise OrchestrationError("a policy pack config without a policy pack")
        self._policy = {}
        if policy_packs:
            self._policy["policy_packs"] = list(policy_packs)
        if policy_pack_configs:
            self._policy["policy_pack_configs"] = list(policy_pack_configs)
        report = RunReport(operation, plan(self.env, operation, cluster))
        if any(name != self.env.name for wave in report.planned for name in wave):
            self._cluster_config()  # before any stack runs: a missing secret refuses the run
        stop = threading.Event()

        def job(name: str) -> None:
            if stop.is_set():
                return  # a stack of this wave failed first: this one is not started
            try:
                self._run_one(operation, name)
            except Exception as error:  # every failure is reported, none ends the others
                stop.set()
                with self._lock:
                    report.failed[name] = describe(error)
                return
            with self._lock:
                report.ran.append(name)

        for wave in report.planned:
            with ThreadPoolExecutor(max_workers=min(parallel, len(wave))) as pool:
                list(pool.map(job, wave))
            if stop.is_set():
                break
        return report


def describe(error: Exception, count: int = 5) -> str:
    """One line for the report. A `CommandError` (the `pulumi` CLI failed) carries only the
    text `code: N / stdout: ... / stderr: ...` (pulumi sdk/python/lib/pulumi/automation/
    errors.py and _cmd.py `CommandResult.__str__`, 3.272.0): its class name (e.g.
    `ConcurrentUpdateError`, another update holds the stack's lock) and the last lines of
    stderr, where the CLI writes its error."""
    text = str(error)
    if isinstance(error, auto.errors.CommandError) and "\n stderr: " in text:
        stderr_text = text.split("\n stderr: ", 1)[1]
        lines = [line.strip() for line in stderr_text.splitlines() if line.strip()]
        return f"{type(error).__name__}: " + (" | ".join(lines[-count:]) or "no stderr")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[:count]) or type(error).__name__
