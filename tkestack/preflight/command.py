"""The `tkestack preflight` command behind the CLI's thin hook (tkestack/cli.py)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from . import report
from .model import PreflightUsageError, exit_code
from .reach import Connector, tcp_connect
from .runner import load_stack, run_preflight

__all__ = ["PreflightUsageError", "parse_kubeconfigs", "run"]


def parse_kubeconfigs(values: list[str]) -> dict[str, Path]:
    """`--kubeconfig CLUSTER=PATH` options as {cluster: path}."""
    result: dict[str, Path] = {}
    for value in values:
        cluster, sep, path = value.partition("=")
        if not sep or not cluster or not path:
            raise PreflightUsageError(f"--kubeconfig {value!r}: expected CLUSTER=PATH")
        if not Path(path).is_file():
            raise PreflightUsageError(f"--kubeconfig {value!r}: {path} does not exist")
        result[cluster] = Path(path)
    return result


def run(
    stack_file: Path,
    clouds: set[str] | None = None,
    format: str = "table",
    aws_profile: str | None = None,
    kubeconfigs: Mapping[str, Path] | None = None,
    aws_clients: Callable[[], Any] | None = None,
    tencent_clients: Callable[[], Any] | None = None,
    connect: Connector = tcp_connect,
) -> tuple[str, int]:
    """(report text, exit code) for one stack. SpecError and PreflightUsageError propagate
    (exit 2); the client factories are for tests (default: the user's credentials)."""
    loaded = load_stack(stack_file, stack_file.name)
    unknown = set(kubeconfigs or {}) - {c.name for c in loaded.spec.clusters}
    if unknown:
        raise PreflightUsageError(f"--kubeconfig: no cluster {', '.join(sorted(unknown))}")
    if aws_clients is None:
        from .aws import boto3_clients

        def aws_clients() -> Any:
            return boto3_clients(aws_profile)

    findings = run_preflight(
        loaded,
        stack_file,
        clouds=clouds or None,
        aws_clients=aws_clients,
        tencent_clients=tencent_clients,
        kubeconfigs=kubeconfigs,
        connect=connect,
    )
    name = loaded.spec.name
    if format == "json":
        text = report.as_json(name, findings)
    elif format == "markdown":
        text = report.markdown(name, findings)
    else:
        buffer = io.StringIO()
        report.table(name, findings, Console(file=buffer, width=160, force_terminal=False))
        text = buffer.getvalue()
    return text, exit_code(findings)
