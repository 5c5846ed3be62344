"""The review of what Helm releases install: their charts' objects judged like our own.

`tkestack/charts.py` expands each release whose chart is in the cache; here the objects are
judged:

- by the pack's rules, through the direct evaluator (`policies.rules.evaluate`) under the
  same effective config as the pack run. The objects are not Pulumi resources, so the
  analyzer protocol never sees them; each is a `Subject` with the release as its parent and
  the release's provider (so a stack rule finds its cluster), and every finding on one is
  attributed to the release's URN (its spec key, its SARIF line) and names the object;
- by checkov's Kubernetes checks (advisory), when checkov is found (`TKESTACK_CHECKOV`, else
  on the PATH);
- a chart that refuses the release's values, and a cached archive whose digest differs from
  the catalog's, are mandatory findings: `pulumi up` would fail on the first, and the second
  is not the chart that was reviewed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import engine
from .charts import HELM_RELEASE, ChartObject, Expansion, expand, object_id
from .policies.rules import BY_NAME, evaluate
from .policies.rules.base import Subject
from .review import Finding, PolicyMeta, subjects

CHECKOV_ENV = "TKESTACK_CHECKOV"
"""Path of the checkov executable the review runs over chart objects (else `checkov` on the
PATH; neither: the objects are judged by the pack's rules only)."""
OPTION_RULES = frozenset({"stateful-resources-protected"})
"""Rules that judge Pulumi resource options (`protect`), which a chart's object does not have:
not run on chart objects."""
RENDER_POLICY = PolicyMeta(
    name="helm-chart-renders",
    group="charts",
    description="Every Helm release's chart renders with the values tkestack passes it.",
    severity="high",
    level="mandatory",
    anchor="tkestack (Helm releases opened up)",
    remediation="Change the release's values (or the chart pin) until `helm template` accepts"
    " them; `pulumi up` would fail on this release.",
)
DIGEST_POLICY = PolicyMeta(
    name="helm-chart-digest",
    group="charts",
    description="Each cached chart archive has the digest the catalog pins.",
    severity="critical",
    level="mandatory",
    anchor="tkestack (chart supply chain)",
    remediation="Pull the chart again (`tkestack charts pull`); if upstream re-published the"
    " version, review the new archive before changing the catalog's digest.",
)


@dataclass
class ChartReview:
    """What the review saw inside the Helm releases."""

    expansion: Expansion
    findings: list[Finding] = field(default_factory=list)
    policies: list[PolicyMeta] = field(default_factory=list)
    """Policies of the findings that the pack does not describe (the two chart policies,
    the checkov checks that failed): their SARIF rules."""
    checkov: str = ""
    """How checkov ran over the objects (`checkov 3.2.x: N passed, M failed`), or why not."""


def find_checkov() -> Path | None:
    """checkov from `TKESTACK_CHECKOV`, else on the PATH."""
    configured = os.environ.get(CHECKOV_ENV)
    if configured:
        return Path(configured) if Path(configured).exists() else None
    found = shutil.which("checkov")
    return Path(found) if found else None


def chart_subjects(objects: list[ChartObject], resources: list[Subject]) -> list[Subject]:
    """Each chart object as the rules see a resource: its release (one of `resources`) as
    parent, the release's provider, an identity of its own (`charts.object_id`)."""
    by_urn = {subject.urn: subject for subject in resources if subject.type == HELM_RELEASE}
    result = []
    for item in objects:
        release = by_urn.get(item.release.urn)
        result.append(
            Subject(
                type=item.type,
                name=item.object_name,
                urn=object_id(item),
                props=item.document,
                parent=item.release.urn,
                provider=release.provider if release else None,
                dependencies=(item.release.urn,),
            )
        )
    return result


def _object_finding(item: ChartObject, policy: str, level: str, message: str) -> Finding:
    rule = BY_NAME.get(policy)
    return Finding(
        policy=policy,
        group=rule.group if rule else "",
        level=level,
        severity=rule.severity if rule else "medium",
        urn=item.release.urn,
        resource_type=item.type,
        resource_name=f"{item.release.name}: {item.label}",
        message=f"{message} (chart {item.ref.label}, {item.template})",
        remediation=rule.remediation if rule else "",
        anchor=rule.anchor if rule else "",
    )


def policy_findings(
    rendering: engine.Rendering, objects: list[ChartObject], file_config: Mapping[str, Any]
) -> list[Finding]:
    """The pack's rules over the chart objects, with the rendering's resources beside them
    (stack rules need the node pools and clusters); only findings on chart objects are kept
    (the pack run already reported the rest)."""
    if not objects:
        return []
    resources = subjects(rendering)
    by_id = {object_id(item): item for item in objects}
    findings = []
    for violation in evaluate([*resources, *chart_subjects(objects, resources)], file_config):
        item = by_id.get(violation.urn or "")
        if item is None or violation.policy in OPTION_RULES:
            continue
        findings.append(_object_finding(item, violation.policy, violation.level, violation.message))
    return findings


def checkov_findings(
    objects: list[ChartObject], checkov: Path | None
) -> tuple[list[Finding], list[PolicyMeta], str]:
    """checkov's Kubernetes checks over the chart objects (one file per object, so each
    finding maps back to its object): advisory findings, a policy per failed check, and a
    one-line account of the run."""
    from .safety import run_checkov

    if not objects:
        return [], [], ""
    if checkov is None:
        return [], [], f"checkov not found (set {CHECKOV_ENV} or put it on the PATH): not run"
    with tempfile.TemporaryDirectory(prefix="tkestack-chart-objects-") as folder:
        files: dict[str, ChartObject] = {}
        for index, item in enumerate(objects):
            path = Path(folder) / f"object-{index:05d}.yaml"
            path.write_text(yaml.safe_dump(item.document, sort_keys=True), encoding="utf-8")
            files[path.name] = item
        try:
            passed, failed = run_checkov(checkov, Path(folder), "kubernetes")
        except (RuntimeError, OSError, json.JSONDecodeError) as error:
            return [], [], f"checkov failed: {str(error)[:300]}"
    findings, policies = [], {}
    for found in failed:
        item = files.get(Path(found.file).name)
        if item is None:
            continue
        findings.append(
            Finding(
                policy=found.check_id,
                group="checkov",
                level="advisory",
                severity="medium",
                urn=item.release.urn,
                resource_type=item.type,
                resource_name=f"{item.release.name}: {item.label}",
                message=f"{found.check_name} (chart {item.ref.label}, {item.template})",
                remediation=f"See checkov {found.check_id}; set it through the release's values.",
                anchor=f"checkov {found.check_id}",
            )
        )
        policies.setdefault(
            found.check_id,
            PolicyMeta(
                name=found.check_id,
                group="checkov",
                description=found.check_name or found.check_id,
                severity="medium",
                level="advisory",
                anchor=f"checkov {found.check_id}",
                remediation="Set it through the release's values.",
            ),
        )
    summary = f"checkov: {passed} passed, {len(failed)} failed over {len(objects)} chart objects"
    return findings, [policies[key] for key in sorted(policies)], summary


def problem_findings(expansion: Expansion) -> list[Finding]:
    """A mandatory finding per release whose chart refused its values or whose cached
    archive's digest differs from the catalog's."""
    findings = []
    for problem in expansion.problems:
        policy = DIGEST_POLICY if problem.kind == "mismatch" else RENDER_POLICY
        findings.append(
            Finding(
                policy=policy.name,
                group=policy.group,
                level=policy.level,
                severity=policy.severity,
                urn=problem.release.urn,
                resource_type=HELM_RELEASE,
                resource_name=problem.release.name,
                message=problem.message,
                remediation=policy.remediation,
                anchor=policy.anchor,
            )
        )
    return findings


def review_charts(
    rendering: engine.Rendering,
    config_file: Path,
    *,
    cache: Path | None = None,
    checkov: Path | None = None,
) -> ChartReview:
    """Expand the rendering's Helm releases from the chart cache and judge what they install,
    under the pack config `config_file` (the effective one the pack ran with)."""
    expansion = expand(rendering, cache)
    result = ChartReview(expansion)
    if expansion.problems:
        result.findings.extend(problem_findings(expansion))
        kinds = {problem.kind for problem in expansion.problems}
        result.policies.extend(
            policy
            for policy in (DIGEST_POLICY, RENDER_POLICY)
            if ("mismatch" if policy is DIGEST_POLICY else "render") in kinds
        )
    if expansion.objects:
        file_config = json.loads(config_file.read_text(encoding="utf-8") or "{}")
        result.findings.extend(policy_findings(rendering, expansion.objects, file_config))
        found, policies, result.checkov = checkov_findings(
            expansion.objects, checkov if checkov is not None else find_checkov()
        )
        result.findings.extend(found)
        result.policies.extend(policies)
    return result
