"""Findings of `tkestack preflight`: what a check saw, how bad it is, which spec key it is
about and how to fix it. Pure data: no cloud SDK is imported here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info", "pass"]
"""`error` blocks the first `pulumi up` (exit 1); `warning` is worth reading but does not
block; `info` is context (what was not checked and why); `pass` is a check that ran clean."""

SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2, "pass": 3}

EXIT_CLEAR, EXIT_BLOCKED, EXIT_USAGE = 0, 1, 2
"""Exit codes: all clear, a blocking finding, usage or credentials problem."""


class PreflightUsageError(Exception):
    """Preflight cannot run: a missing SDK, missing or refused credentials, a bad option.
    Exit 2, never confused with a finding about the account."""


@dataclass(frozen=True)
class PreflightFinding:
    """One result of one check."""

    check: str
    """Stable id of the check (`aws.capacity.vcpu-quota`): scripts and docs key on it."""
    severity: Severity
    cloud: str
    """`aws`, `tencentcloud` or `attached`."""
    key: str
    """Spec key the finding concerns (`clusters[0].node_pools[2].instance_types[0]`)."""
    message: str
    """What was seen."""
    fix: str = ""
    """What to do about it (empty for passes)."""
    location: str = ""
    """`file:line` where the key is written, when known."""
    details: dict[str, object] = field(default_factory=dict)
    """Figures behind the message (quota, demand, zones) for `--format json`."""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self)


def sort_findings(findings: Iterable[PreflightFinding]) -> list[PreflightFinding]:
    """Worst first, then by check id and key: the same account gives the same report."""
    return sorted(
        findings,
        key=lambda item: (SEVERITY_ORDER[item.severity], item.check, item.key, item.message),
    )


def exit_code(findings: Iterable[PreflightFinding]) -> int:
    """0 when nothing blocks, 1 when any finding is an error."""
    return EXIT_BLOCKED if any(item.severity == "error" for item in findings) else EXIT_CLEAR
