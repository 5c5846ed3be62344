"""Run the checks an environment needs, locate each finding in the spec files, and compare
the environment with the project's other stacks (registry singletons they would share)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..stacks.loader import (
    ENVIRONMENT_KEY,
    LoadedEnvironment,
    SpecError,
    load_environment,
    load_stack_file,
    sibling_environments,
)
from ..stacks.loader import _locate as locate_problem  # the loader's own file:line finder
from ..stacks.problems import KeyPath, Problem
from .facts import EnvironmentFacts, environment_facts
from .model import PreflightFinding, PreflightUsageError, sort_findings
from .reach import Connector, check_reach, tcp_connect

CLOUDS = ("aws", "tencentcloud")

ClientFactory = Callable[[str, str], Any]


def load_stack(
    stack_file: Path, display: str | None = None, siblings: bool = True
) -> LoadedEnvironment:
    """Load and validate a stack's environment as the program does (SpecError when invalid),
    the one-account-per-environment rule included: an environment sharing an AWS account or
    Tencent Cloud root account with a sibling stack file is refused (exit 2, located at
    `identity.*`), which covers the registry singletons two environments would share.
    `siblings=False` loads the file alone (a neighbour read for its TCR names)."""
    shown = display or stack_file.name
    config, text = load_stack_file(stack_file, shown)
    return load_environment(
        config.get(ENVIRONMENT_KEY),
        shown,
        text,
        siblings=sibling_environments(stack_file) if siblings else None,
    )


def key_path(key: str) -> KeyPath:
    """`clusters[0].node_pools[2].instance_types[0]` -> its parts (first key of a list)."""
    first = key.split(",", 1)[0].strip()
    parts: list[str | int] = []
    for name, index in re.findall(r"([A-Za-z_]+)|\[(\d+)\]", first):
        parts.append(name if name else int(index))
    return tuple(parts)


def locate(findings: list[PreflightFinding], loaded: LoadedEnvironment) -> list[PreflightFinding]:
    """Each finding with the file and line where its key is written (or its nearest parent)."""
    located = []
    for finding in findings:
        path = key_path(finding.key)
        if not path or not loaded.layers:
            located.append(finding)
            continue
        where = locate_problem(Problem(path, finding.message), loaded.layers)
        location = f"{where.file}:{where.line}" if where.line else where.file
        located.append(replace(finding, location=location))
    return located


def cross_environment(facts: EnvironmentFacts, stack_file: Path) -> list[PreflightFinding]:
    """TCR instance names this environment shares with the project's other stacks: TCR names
    are global, so even environments in different accounts (the one-account rule, applied when
    the stack loads) collide on them."""
    findings: list[PreflightFinding] = []
    for other_file in sorted(stack_file.parent.glob("Pulumi.*.yaml")):
        if other_file.resolve() == stack_file.resolve():
            continue
        try:
            other = environment_facts(load_stack(other_file, siblings=False).spec)
        except (SpecError, ValueError, KeyError):
            continue  # an invalid neighbour is its own preflight's business
        if not (facts.registry_enabled and other.registry_enabled):
            continue
        mine_tcr = {name: region for region, name in facts.tcr_instance_names.items()}
        theirs_tcr = set(other.tcr_instance_names.values())
        for name in sorted(set(mine_tcr) & theirs_tcr):
            findings.append(
                PreflightFinding(
                    "names.tcr-shared-with-environment",
                    "error",
                    "tencentcloud",
                    f"registry.tcr_instance_names.{mine_tcr[name]}",
                    f"{other.name} ({other_file.name}) names its TCR instance {name} too: TCR"
                    " instance names are global",
                    "set registry.tcr_instance_names so that each environment's differ",
                )
            )
    return findings


def run_preflight(
    loaded: LoadedEnvironment,
    stack_file: Path,
    clouds: set[str] | None = None,
    aws_clients: Callable[[], ClientFactory] | None = None,
    tencent_clients: Callable[[], ClientFactory] | None = None,
    kubeconfigs: Mapping[str, Path] | None = None,
    connect: Connector = tcp_connect,
) -> list[PreflightFinding]:
    """Every check the environment needs. `clouds` limits the run (default: every cloud of
    the environment); the client factories are called only for a cloud that is checked, so
    an SDK is imported only when its cloud is in the environment."""
    facts = environment_facts(loaded.spec)
    present = {cluster.cloud for cluster in facts.clusters}
    wanted = set(clouds) if clouds else present | {"attached"}
    unknown = (set(clouds or ()) & set(CLOUDS)) - present
    if unknown:
        raise PreflightUsageError(
            f"--cloud {', '.join(sorted(unknown))}: {facts.name} has no cluster there"
        )
    findings: list[PreflightFinding] = []
    if "aws" in wanted and "aws" in present:
        from .aws import AwsChecks, boto3_clients

        findings += AwsChecks(facts, (aws_clients or boto3_clients)(), connect).run()
    if "tencentcloud" in wanted and "tencentcloud" in present:
        from .tencentcloud import TencentChecks, sdk_clients

        findings += TencentChecks(facts, (tencent_clients or sdk_clients)(), connect).run()
    if "attached" in wanted and facts.attached:
        findings += check_reach(facts.attached, kubeconfigs or {}, connect)
    findings += [item for item in cross_environment(facts, stack_file) if item.cloud in wanted]
    return sort_findings(locate(findings, loaded))
