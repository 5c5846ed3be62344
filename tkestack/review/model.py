"""The review's report model: a policy finding, a policy of the pack, a change against the
base, and the whole review; the order findings are listed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..critical_path import DeploymentEstimate
from ..policies.rules.clusters import is_stateful
from ..provenance import SpecLocation

if TYPE_CHECKING:  # chart_review imports the review package: a type only, no cycle at run time
    from ..chart_review import ChartReview

SEVERITY_ORDER = ("critical", "high", "medium", "low")
LEVEL_ORDER = ("mandatory", "advisory")


class ReviewError(Exception):
    """The review could not run (bad ref, base render failure, pack failure)."""


@dataclass(frozen=True)
class Finding:
    """One violation, with what a reader needs to act on it."""

    policy: str
    group: str
    level: str
    severity: str
    urn: str | None
    resource_type: str
    resource_name: str
    message: str
    remediation: str
    anchor: str


@dataclass(frozen=True)
class PolicyMeta:
    """A policy of the pack, as `GetAnalyzerInfo` reported it, with house metadata."""

    name: str
    group: str
    description: str
    severity: str
    level: str
    anchor: str
    remediation: str


@dataclass(frozen=True)
class Change:
    """One resource difference between base and head."""

    kind: str
    """`added`, `removed`, `changed` or `replaced`."""
    urn: str
    type: str
    name: str
    keys: tuple[str, ...] = ()
    """Changed input keys (dotted paths)."""
    replace_keys: tuple[str, ...] = ()
    """The changed keys that force a replacement."""
    chart: str | None = None
    """Helm releases: the chart (a release of a chart that keeps data is stateful)."""
    refused: str | None = None
    """Why the cloud would refuse this change (a control plane version that skips a minor
    or goes back), or None."""
    because: tuple[str, ...] = ()
    """Names of replaced resources whose outputs this resource's inputs take: unknown until
    they are recreated, so this resource changes (or is replaced) because of them."""
    blocked: str | None = None
    """Why `pulumi up` would stop at this change (the resource is protected, or the cloud
    refuses to delete it), with what to do; None when nothing blocks it."""

    @property
    def stateful(self) -> bool:
        """Whether losing this resource loses data or identity (`STATEFUL_TYPES`, and
        releases of `STATEFUL_CHARTS`)."""
        return is_stateful(self.type, {"chart": self.chart} if self.chart else {})

    @property
    def destructive(self) -> bool:
        """A replacement or deletion of a stateful resource."""
        return self.stateful and self.kind in ("removed", "replaced")


@dataclass
class Review:
    """Everything `tkestack review` reports."""

    environment: str
    tier: str
    pack: str
    pack_version: str
    config_file: str
    resource_count: int
    policies: list[PolicyMeta]
    findings: list[Finding]
    diff: list[Change] | None = None
    base_ref: str | None = None
    mermaid: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    deployment: DeploymentEstimate | None = None
    """Estimated `pulumi up` wall time from scratch and its critical path."""
    helm_releases: int = 0
    """Helm releases in the environment. The pack sees each release's values; what the
    charts install is in `charts`."""
    charts: ChartReview | None = None
    """`chart_review.ChartReview`: the releases opened up from the chart cache (their
    objects' findings are in `findings`), or None when the review did not try."""
    provenance: dict[str, SpecLocation] = field(default_factory=dict)
    """Per URN, the spec key it came from and where that key is written (`provenance`)."""

    @property
    def mandatory(self) -> list[Finding]:
        """Findings that would block `pulumi up`."""
        return [finding for finding in self.findings if finding.level == "mandatory"]

    @property
    def refused(self) -> list[Change]:
        """Changes the cloud would refuse during `pulumi up` (see `refused_upgrade`)."""
        return [change for change in self.diff or [] if change.refused]

    @property
    def blocked(self) -> list[Change]:
        """Replacements and deletions of protected resources (see `Change.blocked`)."""
        return [change for change in self.diff or [] if change.blocked]


def finding_order(finding: Finding) -> tuple[int, int, str, str, str]:
    """Mandatory before advisory, then by severity, policy, resource and message."""
    level = LEVEL_ORDER.index(finding.level) if finding.level in LEVEL_ORDER else 9
    severity = SEVERITY_ORDER.index(finding.severity) if finding.severity in SEVERITY_ORDER else 9
    return level, severity, finding.policy, finding.urn or "", finding.message
