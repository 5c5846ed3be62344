"""What the analyzer driver hands in and gets back: resources, violations, policy metadata,
the pack's log lines and the driver's one error type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..components.wire import UNKNOWN_BY_KIND, UnknownKind


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
        return UNKNOWN_BY_KIND[self.kind]


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
class NotApplicable:
    """A policy that declared itself not applicable (``PolicyNotApplicable``)."""

    policy_name: str
    urn: str | None
    reason: str


@dataclass(frozen=True)
class AnalysisReport:
    """Everything one :meth:`PolicyPackRunner.analyze_report` run produced."""

    violations: tuple[Violation, ...]
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
