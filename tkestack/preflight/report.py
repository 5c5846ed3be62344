"""Preflight reports: a table for the terminal, JSON for scripts, markdown for PR comments
(the same shape as `tkestack review`'s)."""

from __future__ import annotations

import json
from collections import Counter

from rich.console import Console
from rich.table import Table

from .model import PreflightFinding, exit_code

ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️", "pass": "✅"}  # noqa: RUF001
STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan", "pass": "green"}


def summary(findings: list[PreflightFinding]) -> dict[str, int]:
    """Count per severity, every severity present (zeros included)."""
    counts = Counter(item.severity for item in findings)
    return {severity: counts.get(severity, 0) for severity in ("error", "warning", "info", "pass")}


def as_json(environment: str, findings: list[PreflightFinding]) -> str:
    """`{environment, exit_code, summary, findings: [...]}`, keys sorted."""
    document = {
        "environment": environment,
        "exit_code": exit_code(findings),
        "summary": summary(findings),
        "findings": [item.as_dict() for item in findings],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(environment: str, findings: list[PreflightFinding]) -> str:
    """A PR comment: verdict, counts, then every finding but the passes (which are counted)."""
    counts = summary(findings)
    blocked = exit_code(findings) != 0
    verdict = (
        f"❌ **{counts['error']} blocking finding(s)**: fix them before `pulumi up`"
        if blocked
        else "✅ **clear**: nothing blocks the first `pulumi up`"
    )
    lines = [
        f"## tkestack preflight: `{environment}`",
        "",
        verdict,
        "",
        f"{counts['error']} error · {counts['warning']} warning · {counts['info']} info ·"
        f" {counts['pass']} passed",
        "",
    ]
    shown = [item for item in findings if item.severity != "pass"]
    if shown:
        lines += ["| | Check | Spec key | PreflightFinding | Fix |", "|---|---|---|---|---|"]
        for item in shown:
            where = f"`{item.key}`" + (f"<br>{item.location}" if item.location else "")
            lines.append(
                f"| {ICONS[item.severity]} | `{item.check}` | {_cell(where)} |"
                f" {_cell(item.message)} | {_cell(item.fix)} |"
            )
        lines.append("")
    return "\n".join(lines)


def table(environment: str, findings: list[PreflightFinding], console: Console) -> None:
    """Print a table of the findings and a one-line verdict."""
    grid = Table(title=f"preflight {environment}", show_lines=False, expand=False)
    for column in ("", "check", "spec key", "finding", "fix"):
        grid.add_column(column, overflow="fold")
    for item in findings:
        where = item.key + (f"\n{item.location}" if item.location else "")
        grid.add_row(
            f"[{STYLES[item.severity]}]{item.severity}[/]",
            item.check,
            where,
            item.message,
            item.fix,
        )
    console.print(grid)
    counts = summary(findings)
    console.print(
        f"{counts['error']} error, {counts['warning']} warning, {counts['info']} info,"
        f" {counts['pass']} passed"
    )
