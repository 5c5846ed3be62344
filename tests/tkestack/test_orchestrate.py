"""The Automation API orchestrator (issue 15, item 2) against a workspace double that records
every call: the order of waves, the parallelism bound, stop at the first failure, the destroy
order and the generated cluster stack config; and every recorded call bound to the real
`pulumi.automation` signature (pulumi 3.272.0, the installed SDK: sdk/python/lib/pulumi/
automation/_stack.py, _local_workspace.py, _config.py), so the double cannot drift from it.
There is no Pulumi CLI here: nothing runs a real stack."""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, stack_config
from pulumi import automation as auto
from typer.testing import CliRunner

from tkestack import cli, engine, fleet, orchestrate
from tkestack.orchestrate import Operation, OrchestrationError, Orchestrator
from tkestack.stacks.program import validate

runner = (
    CliRunner(mix_stderr=False)
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters
    else CliRunner()
)

SECRETS = {
    "tkestack:onprem-kubeconfig": "kubeconfig-from-the-shared-stack",
    "tkestack:onprem-registry-tls": "pem-from-the-shared-stack",
    "tkestack:prod-receiver-tls": "receiver-pem-from-the-shared-stack",
}


class Workspace:
    """A local workspace double: one `FakeStack` per stack name, every call recorded."""

    def __init__(self, fail: set[str] = frozenset(), delay: float = 0.0, gather: int = 0) -> None:
        self.fail = fail
        self.delay = delay
        self.gather = gather
        """The first `gather` cluster stack operations wait (up to 10 s) until that many run
        at once: the overlap the bound allows happens on any machine load, and one more
        would show."""
        self.arrived = 0
        self.lock = threading.Condition()
        self.calls: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = []
        self.created: list[tuple[str, Path, str | None]] = []
        self.stacks: dict[str, FakeStack] = {}
        self.running = 0
        self.most_running = 0
        self.spans: dict[str, tuple[float, float]] = {}

    def factory(self, name: str, project: Path, secrets_provider: str | None) -> FakeStack:
        with self.lock:
            self.created.append((name, project, secrets_provider))
            if name not in self.stacks:
                config = (
                    {k: auto.ConfigValue(v, secret=True) for k, v in SECRETS.items()}
                    if "." not in name
                    else {}
                )
                self.stacks[name] = FakeStack(self, name, config)
            return self.stacks[name]

    def operations(self) -> list[tuple[str, str]]:
        """(method, stack) of every up/preview/refresh/destroy, in call order."""
        return [(m, s) for s, m, _, _ in self.calls if m in {op.value for op in Operation}]


class FakeStack:
    """Records like `pulumi.automation.Stack`; an operation on a stack in `fail` raises."""

    def __init__(self, workspace: Workspace, name: str, config: dict[str, auto.ConfigValue]):
        self.workspace = workspace
        self.name = name
        self.config = config

    def _record(self, method: str, *args: Any, **kwargs: Any) -> None:
        with self.workspace.lock:
            self.workspace.calls.append((self.name, method, args, kwargs))

    def _operation(self, method: str, **kwargs: Any) -> None:
        self._record(method, **kwargs)
        workspace = self.workspace
        with workspace.lock:
            workspace.running += 1
            workspace.most_running = max(workspace.most_running, workspace.running)
            workspace.lock.notify_all()
            if "." in self.name:
                workspace.arrived += 1
                if workspace.arrived <= workspace.gather:
                    workspace.lock.wait_for(lambda: workspace.running >= workspace.gather, 10)
        start = time.monotonic()
        try:
            kwargs["on_output"](f"{method} running")
            if self.name not in workspace.fail:  # a failing stack fails at once
                time.sleep(workspace.delay)
            if self.name in workspace.fail:
                raise auto.errors.CommandError(
                    auto.CommandResult(stdout="", stderr="error: boom\ndetail", code=255)
                )
        finally:
            with workspace.lock:
                workspace.running -= 1
                workspace.spans[self.name] = (start, time.monotonic())

    def up(self, **kwargs: Any) -> None:
        self._operation("up", **kwargs)

    def preview(self, **kwargs: Any) -> None:
        self._operation("preview", **kwargs)

    def refresh(self, **kwargs: Any) -> None:
        self._operation("refresh", **kwargs)

    def destroy(self, **kwargs: Any) -> None:
        self._operation("destroy", **kwargs)

    def get_all_config(self) -> dict[str, auto.ConfigValue]:
        self._record("get_all_config")
        return dict(self.config)

    def set_all_config(self, config: dict[str, auto.ConfigValue], *, path: bool = False) -> None:
        self._record("set_all_config", config, path=path)
        self.config.update(config)

    def remove_all_config(self, keys: list[str], *, path: bool = False) -> None:
        self._record("remove_all_config", keys, path=path)
        for key in keys:
            self.config.pop(key)


def _environment(waves: list[list[str]] | None, topology: str = "per-cluster") -> Any:
    """The shipped prod's config in `topology` with `waves`, and its validated spec: built
    once per (waves, topology) and shared by the tests (the config is a frozen dataclass and
    the spec a frozen model; nothing here or in the orchestrator changes them)."""
    frozen = None if waves is None else tuple(tuple(wave) for wave in waves)
    return _validated_environment(frozen, topology)


@functools.cache
def _validated_environment(
    waves: tuple[tuple[str, ...], ...] | None, topology: str
) -> tuple[engine.StackConfig, Any]:
    config = fleet.with_topology(stack_config(ROOT / "Pulumi.prod.yaml"), topology)
    if topology == "per-cluster":
        # `waves` replaces the shipped prod's rollout.waves; None: no waves (dependency levels).
        values = copy.deepcopy(config.values)
        values["tkestack:environment"].pop("rollout", None)
        if waves is not None:
            values["tkestack:environment"]["rollout"] = {"waves": [list(w) for w in waves]}
        config = dataclasses.replace(config, values=values)
    env = validate(config.values["tkestack:environment"], config.display, config.text).spec
    return config, env


WAVES = [["prod-sh"], ["rest"], ["prod-use1"]]


def _run(
    workspace: Workspace,
    operation: Operation,
    waves: list[list[str]] | None = WAVES,
    parallel: int = 1,
    cluster: str | None = None,
    topology: str = "per-cluster",
) -> orchestrate.RunReport:
    config, env = _environment(waves, topology)
    orchestrator = Orchestrator(config, env, ROOT, factory=workspace.factory, on_output=None)
    return orchestrator.run(operation, cluster, parallel)


def test_up_runs_the_shared_stack_then_the_spec_s_waves_in_order() -> None:
    workspace = Workspace(delay=0.01)
    report = _run(workspace, Operation.up, parallel=2)
    expected = [
        ["prod"],
        ["prod.prod-sh"],
        ["prod.prod-euc1", "prod.prod-onprem"],
        ["prod.prod-use1"],
    ]
    assert report.planned == expected and report.ok
    assert sorted(report.ran) == sorted(name for wave in expected for name in wave)
    # Every stack of a wave ended before any stack of the next wave started.
    for earlier, later in itertools.pairwise(expected):
        last_end = max(workspace.spans[name][1] for name in earlier)
        first_start = min(workspace.spans[name][0] for name in later)
        assert last_end <= first_start
    assert {m for m, _ in workspace.operations()} == {"up"}


def test_without_rollout_waves_the_clusters_run_in_dependency_levels() -> None:
    workspace = Workspace()
    report = _run(workspace, Operation.preview, waves=None)
    # prod-use1 (central receivers, the region's registry) reads the other three stacks.
    assert report.planned == [
        ["prod"],
        ["prod.prod-euc1", "prod.prod-sh", "prod.prod-onprem"],
        ["prod.prod-use1"],
    ]
    assert [s for _, s in workspace.operations()] == [n for w in report.planned for n in w]


@pytest.mark.parametrize("parallel", [1, 2, 3])
def test_a_wave_runs_at_most_parallel_stacks_at_once(parallel: int) -> None:
    workspace = Workspace(delay=0.05, gather=parallel)
    report = _run(workspace, Operation.up, waves=None, parallel=parallel)
    assert report.ok
    # The widest wave has three stacks: exactly `parallel` of them overlap.
    assert workspace.most_running == parallel


def test_the_first_failure_stops_the_wave_and_the_later_waves() -> None:
    workspace = Workspace(fail={"prod.prod-euc1"})
    report = _run(workspace, Operation.up, waves=None, parallel=1)
    assert report.ran == ["prod"]
    assert list(report.failed) == ["prod.prod-euc1"]
    assert report.failed["prod.prod-euc1"] == "CommandError: error: boom | detail"
    assert report.not_started == ["prod.prod-sh", "prod.prod-onprem", "prod.prod-use1"]
    assert not report.ok
    assert [s for _, s in workspace.operations()] == ["prod", "prod.prod-euc1"]
    summary = report.summary()
    assert "failed: prod.prod-euc1: " in summary
    assert "not started: prod.prod-sh, prod.prod-onprem, prod.prod-use1" in summary


def test_stacks_running_beside_a_failure_finish_and_the_rest_of_the_wave_waits() -> None:
    workspace = Workspace(fail={"prod.prod-euc1"}, delay=0.5, gather=2)
    report = _run(workspace, Operation.up, waves=None, parallel=2)
    # prod-euc1 and prod-sh ran at once; prod-sh finished, prod-onprem was never started.
    assert report.ran == ["prod", "prod.prod-sh"]
    assert list(report.failed) == ["prod.prod-euc1"]
    assert report.not_started == ["prod.prod-onprem", "prod.prod-use1"]


def test_a_failure_other_than_the_cli_s_is_described_by_its_first_lines() -> None:
    assert orchestrate.describe(ValueError("first\n\nsecond")) == "first | second"
    assert orchestrate.describe(ValueError()) == "ValueError"
    locked = auto.errors.ConcurrentUpdateError(
        auto.CommandResult(stdout="Updating", stderr="error: [409] Conflict", code=255)
    )
    assert orchestrate.describe(locked) == "ConcurrentUpdateError: error: [409] Conflict"


def test_a_failing_shared_stack_starts_no_cluster_stack() -> None:
    workspace = Workspace(fail={"prod"})
    report = _run(workspace, Operation.up)
    assert report.ran == [] and list(report.failed) == ["prod"]
    assert len(report.not_started) == 4


def test_destroy_runs_the_waves_in_reverse_and_the_shared_stack_last() -> None:
    workspace = Workspace()
    report = _run(workspace, Operation.destroy)
    assert report.planned == [
        ["prod.prod-use1"],
        ["prod.prod-onprem", "prod.prod-euc1"],
        ["prod.prod-sh"],
        ["prod"],
    ]
    assert workspace.operations() == [("destroy", name) for wave in report.planned for name in wave]


def test_cluster_stack_config_is_generated_from_the_environment_file() -> None:
    workspace = Workspace()
    config, _ = _environment(WAVES)
    _run(workspace, Operation.up)
    sets = {s: args[0] for s, m, args, _ in workspace.calls if m == "set_all_config"}
    # The shared stack is configured by its own file; every cluster stack by the generator.
    assert sorted(sets) == ["prod.prod-euc1", "prod.prod-onprem", "prod.prod-sh", "prod.prod-use1"]
    for generated in sets.values():
        assert set(generated) == set(config.values) | set(SECRETS)
        assert all(isinstance(value, auto.ConfigValue) for value in generated.values())
        environment = generated["tkestack:environment"]
        assert not environment.secret
        assert json.loads(environment.value) == config.values["tkestack:environment"]
        assert json.loads(generated["pulumi:disable-default-providers"].value) == ["*"]
        for key, value in SECRETS.items():
            assert generated[key].secret and generated[key].value == value


def test_config_keys_the_file_no_longer_holds_are_removed() -> None:
    workspace = Workspace()
    stale = workspace.factory("prod.prod-sh", ROOT, None)
    stale.config["tkestack:old-key"] = auto.ConfigValue("x")
    _run(workspace, Operation.up)
    removed = [args[0] for s, m, args, _ in workspace.calls if m == "remove_all_config"]
    assert removed == [["tkestack:old-key"]]
    assert "tkestack:old-key" not in stale.config


def test_a_secret_the_shared_stack_lacks_refuses_the_run_before_any_stack_runs() -> None:
    workspace = Workspace()
    shared = workspace.factory("prod", ROOT, None)
    del shared.config["tkestack:prod-receiver-tls"]
    with pytest.raises(OrchestrationError, match="tkestack:prod-receiver-tls"):
        _run(workspace, Operation.up)
    assert workspace.operations() == []


def test_a_single_stack_environment_runs_one_stack_with_its_own_config() -> None:
    workspace = Workspace()
    report = _run(workspace, Operation.up, waves=None, topology="single")
    assert report.planned == [["prod"]] and report.ran == ["prod"]
    assert [m for _, m, _, _ in workspace.calls] == ["up"]


def test_cluster_option_runs_that_cluster_s_stack_only() -> None:
    workspace = Workspace()
    report = _run(workspace, Operation.refresh, cluster="prod-sh")
    assert report.planned == [["prod.prod-sh"]]
    assert workspace.operations() == [("refresh", "prod.prod-sh")]


@pytest.mark.parametrize(
    ("cluster", "topology", "message"),
    [("nope", "per-cluster", "no such cluster"), ("prod-sh", "single", "topology: single")],
)
def test_cluster_option_refusals(cluster: str, topology: str, message: str) -> None:
    workspace = Workspace()
    with pytest.raises(OrchestrationError, match=message):
        _run(workspace, Operation.up, waves=None, cluster=cluster, topology=topology)
    assert workspace.calls == []


def test_parallel_below_one_is_refused() -> None:
    with pytest.raises(OrchestrationError, match="--parallel 0"):
        _run(Workspace(), Operation.up, parallel=0)


def test_preview_with_a_policy_pack_runs_every_stack_with_it() -> None:
    # The review workflow previews each derived stack with the pack (issue 15).
    workspace = Workspace()
    config, env = _environment(WAVES, "per-cluster")
    orchestrator = Orchestrator(config, env, ROOT, factory=workspace.factory, on_output=None)
    report = orchestrator.run(
        Operation.preview, "prod-sh", 1, ["policies"], ["policies/config/prod.json"]
    )
    assert report.ok and report.ran == ["prod.prod-sh"]
    [(name, _, args, kwargs)] = [c for c in workspace.calls if c[1] == "preview"]
    assert name == "prod.prod-sh"
    assert kwargs["policy_packs"] == ["policies"]
    assert kwargs["policy_pack_configs"] == ["policies/config/prod.json"]
    # The real `Stack.preview` (pulumi 3.272.0) takes exactly these keywords.
    inspect.signature(auto.Stack.preview).bind(object(), *args, **kwargs)


@pytest.mark.parametrize(
    ("operation", "packs", "configs", "message"),
    [
        (Operation.refresh, ["policies"], [], "refresh takes no policy pack"),
        (Operation.destroy, ["policies"], [], "destroy takes no policy pack"),
        (Operation.preview, [], ["c.json"], "config without a policy pack"),
    ],
)
def test_policy_pack_refusals(
    operation: Operation, packs: list[str], configs: list[str], message: str
) -> None:
    workspace = Workspace()
    config, env = _environment(WAVES, "per-cluster")
    orchestrator = Orchestrator(config, env, ROOT, factory=workspace.factory, on_output=None)
    with pytest.raises(OrchestrationError, match=message):
        orchestrator.run(operation, None, 1, packs, configs)
    assert workspace.calls == []


# --- the double against the real Automation API -------------------------------------------


def test_every_recorded_call_binds_to_the_real_stack_method() -> None:
    workspace = Workspace()
    stale = workspace.factory("prod.prod-sh", ROOT, None)
    stale.config["tkestack:old-key"] = auto.ConfigValue("x")
    for operation in Operation:
        _run(workspace, operation)
    methods = {method for _, method, _, _ in workspace.calls}
    assert methods == {
        "up",
        "preview",
        "refresh",
        "destroy",
        "get_all_config",
        "set_all_config",
        "remove_all_config",
    }
    for _, method, args, kwargs in workspace.calls:
        real = getattr(auto.Stack, method)
        inspect.signature(real).bind(object(), *args, **kwargs)  # raises on a drifted call
    # The double's own methods take what the real ones take.
    for method in methods:
        real = inspect.signature(getattr(auto.Stack, method)).parameters
        double = inspect.signature(getattr(FakeStack, method)).parameters
        named = [p for p in double if p not in {"self", "kwargs"}]
        assert set(named) <= set(real), method


def test_a_call_the_real_signature_refuses_fails_the_binding() -> None:
    with pytest.raises(TypeError):
        inspect.signature(auto.Stack.up).bind(object(), on_output=print, no_such_option=True)
    with pytest.raises(TypeError):
        inspect.signature(auto.ConfigValue).bind("v", secret=True, path=True)


def test_the_real_factory_selects_a_local_workspace_stack_over_the_project(monkeypatch) -> None:
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    real = auto.create_or_select_stack

    def record(*args: Any, **kwargs: Any) -> str:
        inspect.signature(real).bind(*args, **kwargs)
        seen.append((args, kwargs))
        return "stack"

    monkeypatch.setattr(auto, "create_or_select_stack", record)
    assert orchestrate.automation_stack("prod.prod-sh", ROOT, "awskms://alias/x") == "stack"
    (args, kwargs) = seen[0]
    assert args == ("prod.prod-sh",) and kwargs["work_dir"] == str(ROOT)
    options = kwargs["opts"]
    assert isinstance(options, auto.LocalWorkspaceOptions)
    assert options.work_dir == str(ROOT) and options.secrets_provider == "awskms://alias/x"


def test_the_secrets_provider_comes_from_the_environment_file() -> None:
    config = stack_config(ROOT / "Pulumi.prod.yaml")
    assert orchestrate.secrets_provider(config) is None
    text = "secretsprovider: awskms://alias/tkestack\n" + config.text
    assert orchestrate.secrets_provider(dataclasses.replace(config, text=text)) == (
        "awskms://alias/tkestack"
    )


def test_a_run_reads_the_secrets_provider_once_for_every_stack(monkeypatch) -> None:
    """Every stack of a run (the shared one, then each cluster stack) is created with the
    file's `secretsprovider`, parsed from the file once per run, not once per stack."""
    config, env = _environment(WAVES)
    config = dataclasses.replace(config, text="secretsprovider: awskms://alias/x\n" + config.text)
    reads: list[str | None] = []
    original = orchestrate.secrets_provider

    def counting(read: Any) -> str | None:
        reads.append(original(read))
        return reads[-1]

    monkeypatch.setattr(orchestrate, "secrets_provider", counting)
    workspace = Workspace()
    report = Orchestrator(config, env, ROOT, factory=workspace.factory).run(Operation.up, None, 2)
    assert report.ok and len(report.ran) == 5
    assert {provider for _, _, provider in workspace.created} == {"awskms://alias/x"}
    assert reads == ["awskms://alias/x"]


# --- the command line ------------------------------------------------------------------------


WAVES_LINE = "      waves: [[prod-sh], [rest], [prod-use1]]\n"
"""The shipped prod's rollout waves, as its file spells them."""


def _per_cluster_file(tmp_path: Path) -> Path:
    """A copy of the shipped prod (per-cluster, in the waves of WAVES_LINE)."""
    text = (ROOT / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    assert "    topology: per-cluster\n" in text and WAVES_LINE in text
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_up_reports_ran_failed_and_not_started_with_exit_1(monkeypatch, tmp_path) -> None:
    workspace = Workspace(fail={"prod.prod-sh"})
    monkeypatch.setattr(orchestrate, "automation_stack", workspace.factory)
    monkeypatch.chdir(ROOT)
    result = runner.invoke(cli.app, ["up", str(_per_cluster_file(tmp_path)), "--parallel", "1"])
    assert result.exit_code == 1, result.output
    # The canary prod-sh is the first wave: it fails, no other cluster stack starts.
    assert "ran: prod\n" in result.stdout
    assert "failed: prod.prod-sh: " in result.stdout
    assert "not started: prod.prod-euc1, prod.prod-onprem, prod.prod-use1" in result.stdout


def test_cli_preview_of_every_stack_exits_0(monkeypatch, tmp_path) -> None:
    workspace = Workspace()
    monkeypatch.setattr(orchestrate, "automation_stack", workspace.factory)
    monkeypatch.chdir(ROOT)
    result = runner.invoke(cli.app, ["preview", str(_per_cluster_file(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "preview: 5 of 5 ran" in result.stdout
    assert {project for _, project, _ in workspace.created} == {ROOT}


def test_cli_preview_passes_the_policy_pack_to_the_cluster_stack(monkeypatch, tmp_path) -> None:
    workspace = Workspace()
    monkeypatch.setattr(orchestrate, "automation_stack", workspace.factory)
    monkeypatch.chdir(ROOT)
    arguments = ["preview", str(_per_cluster_file(tmp_path)), "--cluster", "prod-sh"]
    arguments += ["--policy-pack", "policies", "--policy-pack-config", "p.json"]
    result = runner.invoke(cli.app, arguments)
    assert result.exit_code == 0, result.output
    [kwargs] = [c[3] for c in workspace.calls if c[1] == "preview"]
    assert kwargs["policy_packs"] == ["policies"] and kwargs["policy_pack_configs"] == ["p.json"]


def test_cli_unknown_cluster_is_a_usage_error(monkeypatch, tmp_path) -> None:
    workspace = Workspace()
    monkeypatch.setattr(orchestrate, "automation_stack", workspace.factory)
    monkeypatch.chdir(ROOT)
    result = runner.invoke(
        cli.app, ["destroy", str(_per_cluster_file(tmp_path)), "--cluster", "nope"]
    )
    assert result.exit_code == 2
    assert "no such cluster" in result.stderr
    assert workspace.calls == []


def test_cli_invalid_spec_is_refused_before_any_stack(monkeypatch, tmp_path) -> None:
    workspace = Workspace()
    monkeypatch.setattr(orchestrate, "automation_stack", workspace.factory)
    monkeypatch.chdir(ROOT)
    path = _per_cluster_file(tmp_path)
    text = path.read_text(encoding="utf-8").replace(WAVES_LINE, "      waves: [[x]]\n")
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(cli.app, ["up", str(path)])
    assert result.exit_code == 2
    assert "rollout" in result.stderr
    assert workspace.calls == [] and workspace.created == []


def test_engine_reads_the_same_values_the_generator_writes() -> None:
    # The generated JSON decodes to the value the offline render hands the program.
    config = stack_config(ROOT / "Pulumi.prod.yaml")
    generated = orchestrate.derived_config(
        config, {k: auto.ConfigValue(v, secret=True) for k, v in SECRETS.items()}
    )
    runtime = engine._runtime_config(config)
    for key in config.values:
        assert json.loads(generated[key].value) == json.loads(runtime[key])
