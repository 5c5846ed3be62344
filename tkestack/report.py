"""Formats of `tkestack review`: markdown (pull-request comment), JSON and SARIF 2.1.0.

Every format is deterministic: findings in `review.finding_order`, changes destructive-first,
no timestamps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from .metadata import docs_url
from .review import SEVERITY_ORDER, Change, Finding, Review

COMMENT_MARKER = "<!-- tkestack-review:{env} -->"
"""First line of the markdown: lets CI find and update its own pull-request comment."""
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = docs_url("policies.md")
"""The policy reference, under the project's `Documentation` URL (pyproject.toml)."""
SECURITY_SEVERITY = {"critical": "9.5", "high": "7.5", "medium": "5.0", "low": "2.0"}
"""GitHub code scanning maps `security-severity` >= 9 to critical, >= 7 high, >= 4 medium."""
MAX_TABLE_ROWS = 200
"""Findings per markdown table; the rest are counted (a PR comment holds 65536 chars)."""


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _resource(finding: Finding) -> str:
    if finding.urn is None:
        return "(stack)"
    short = finding.resource_type.rsplit(":", 1)[-1] if finding.resource_type else ""
    return f"`{finding.resource_name}`" + (f" ({short})" if short else "")


def _spec_link(review: Review, urn: str | None) -> str:
    """` from [clusters[0].node_pools[1]](Pulumi.dev.yaml#L27)`: the spec key a resource came
    from, linked to its line (relative to the project, as in the pull request)."""
    where = review.provenance.get(urn) if urn else None
    if where is None:
        return ""
    label = where.key or "environment"
    return f" from [`{_cell(label)}`]({where.file}#L{where.line})"


def _counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {"mandatory": 0, "advisory": 0}
    for finding in findings:
        counts[finding.level] = counts.get(finding.level, 0) + 1
    return counts


def _change_row(change: Change) -> str:
    keys = ", ".join(f"`{k}`" for k in change.keys[:8]) + (" ..." if len(change.keys) > 8 else "")
    forcing = ", ".join(f"`{k}`" for k in change.replace_keys[:8])
    if change.because:
        upstream = ", ".join(f"`{_cell(name)}`" for name in change.because[:4])
        more = " ..." if len(change.because) > 4 else ""
        forcing = f"{forcing} " if forcing else ""
        forcing += f"because {upstream}{more} is replaced"
    return (
        f"| {change.kind} | `{_cell(change.name)}` | `{change.type}` | {keys or '-'} |"
        f" {forcing or '-'} |"
    )


def _helm_note(review: Review) -> str:
    """What the review saw of the Helm releases: the charts it opened up (with which Helm,
    how many objects, checkov's run) and those it did not look inside, and why."""
    expansion = review.charts.expansion if review.charts is not None else None
    expanded = len(expansion.expanded) if expansion is not None else 0
    not_expanded = expansion.not_expanded if expansion is not None else []
    if not expanded:
        why = (
            f" ({expansion.unavailable})" if expansion is not None and expansion.unavailable else ""
        )
        names = f": {', '.join(f'`{n}`' for n in not_expanded)}" if not_expanded else ""
        return (
            f"> [!NOTE]\n> {review.helm_releases} Helm release(s) reviewed by their values"
            f" only: this review did not look inside the charts{why}{names} (the Deployments,"
            " RBAC and Services they install), and a chart that refuses its values is found"
            " only by `pulumi up`. `tkestack charts pull` fills the chart cache."
        )
    assert expansion is not None and review.charts is not None
    text = (
        f"> [!NOTE]\n> {expanded} of {review.helm_releases} Helm release(s) opened up with"
        f" {expansion.helm}: {len(expansion.objects)} object(s) their charts install were"
        " judged by the pack's rules"
        + (f" and {review.charts.checkov}" if review.charts.checkov.startswith("checkov:") else "")
        + "."
    )
    if review.charts.checkov and not review.charts.checkov.startswith("checkov:"):
        text += f" {review.charts.checkov}."
    if not_expanded:
        text += " Did not look inside: " + ", ".join(f"`{n}`" for n in not_expanded) + "."
    return text


def markdown(review: Review) -> str:
    """The pull-request comment."""
    counts = _counts(review.findings)
    lines = [COMMENT_MARKER.format(env=review.environment)]
    lines.append(f"## tkestack review: `{review.environment}` ({review.tier})")
    verdict = (
        f"**{counts['mandatory']} mandatory violation(s): this change would be blocked.**"
        if counts["mandatory"]
        else "No mandatory violations."
    )
    lines.append("")
    lines.append(
        f"{verdict} {counts['advisory']} advisory. {review.resource_count} resources checked by"
        f" {len(review.policies)} policies (pack `{review.pack}` {review.pack_version}, config"
        f" `{review.config_file}`)."
    )
    if review.deployment is not None:
        lines.append("")
        lines.append(f"Deployment: {review.deployment.summary()}.")
        if review.deployment.unreachable:
            lines.append("")
            lines.append(
                "> [!WARNING]\n> **No declared path from the deployer reaches the API of:** "
                + ", ".join(review.deployment.unreachable)
            )
    if review.helm_releases:
        lines.append("")
        lines.append(_helm_note(review))
    if review.diff is not None:
        destructive = [c for c in review.diff if c.destructive]
        if destructive:
            lines.append("")
            lines.append("> [!CAUTION]\n> **Stateful resources would be replaced or deleted:**")
            for change in destructive:
                why = (
                    f" (forced by {', '.join(change.replace_keys)})" if change.replace_keys else ""
                )
                lines.append(f"> - **{change.kind}** `{change.name}` `{change.type}`{why}")
        if review.blocked:
            lines.append("")
            lines.append(
                "> [!CAUTION]\n> **Protected resources would be replaced or deleted"
                " (`pulumi up` would stop halfway):**"
            )
            for change in review.blocked:
                lines.append(
                    f"> - **{change.kind}** `{change.name}` `{change.type}`: {change.blocked}"
                )
        if review.refused:
            lines.append("")
            lines.append("> [!CAUTION]\n> **Changes the cloud would refuse during `pulumi up`:**")
            for change in review.refused:
                lines.append(f"> - `{change.name}` `{change.type}`: {change.refused}")
        lines.append("")
        lines.append(f"### Changes against `{review.base_ref or 'base'}`")
        totals = {
            kind: sum(c.kind == kind for c in review.diff)
            for kind in ("replaced", "removed", "changed", "added")
        }
        lines.append(", ".join(f"{n} {kind}" for kind, n in totals.items()) + ".")
        if review.diff:
            lines.append("")
            lines.append("| change | resource | type | changed keys | replaces because |")
            lines.append("|---|---|---|---|---|")
            lines.extend(_change_row(change) for change in review.diff[:MAX_TABLE_ROWS])
            if len(review.diff) > MAX_TABLE_ROWS:
                lines.append(f"\n... and {len(review.diff) - MAX_TABLE_ROWS} more changes.")
    lines.append("")
    lines.append("### Policy violations")
    if not review.findings:
        lines.append("")
        lines.append("None.")
    for level in ("mandatory", "advisory"):
        at_level = [f for f in review.findings if f.level == level]
        if not at_level:
            continue
        lines.append("")
        lines.append(f"#### {level.capitalize()} ({len(at_level)})")
        for severity in SEVERITY_ORDER:
            group = [f for f in at_level if f.severity == severity]
            if not group:
                continue
            lines.append("")
            lines.append(f"**{severity}** ({len(group)})")
            lines.append("")
            lines.append("| policy | resource | violation | remediation |")
            lines.append("|---|---|---|---|")
            for finding in group[:MAX_TABLE_ROWS]:
                lines.append(
                    f"| `{finding.policy}` | {_resource(finding)}{_spec_link(review, finding.urn)}"
                    f" | {_cell(finding.message)} | {_cell(finding.remediation)} |"
                )
            if len(group) > MAX_TABLE_ROWS:
                lines.append(f"\n... and {len(group) - MAX_TABLE_ROWS} more.")
    if review.mermaid:
        lines.append("")
        lines.append("### Environment")
        lines.append("")
        lines.append("```mermaid")
        lines.append(review.mermaid.rstrip("\n"))
        lines.append("```")
    lines.append("")
    return "\n".join(lines)


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "policy": finding.policy,
        "group": finding.group,
        "level": finding.level,
        "severity": finding.severity,
        "urn": finding.urn,
        "resourceType": finding.resource_type,
        "resourceName": finding.resource_name,
        "message": finding.message,
        "remediation": finding.remediation,
        "anchor": finding.anchor,
    }


def _with_spec(document: dict[str, Any], review: Review) -> dict[str, Any]:
    where = review.provenance.get(document["urn"]) if document["urn"] else None
    document["spec"] = {"file": where.file, "line": where.line, "key": where.key} if where else None
    return document


def _helm_json(review: Review) -> dict[str, Any]:
    expansion = review.charts.expansion if review.charts is not None else None
    if expansion is None:
        return {"releases": review.helm_releases, "expanded": False}
    return {
        "releases": review.helm_releases,
        "expanded": bool(expansion.expanded),
        "helm": expansion.helm,
        "expandedReleases": sorted(urn.rsplit("::", 1)[-1] for urn in expansion.expanded),
        "notExpanded": expansion.not_expanded,
        "objects": len(expansion.objects),
        "unavailable": expansion.unavailable,
        "checkov": review.charts.checkov if review.charts is not None else "",
    }


def as_json(review: Review) -> str:
    """The machine-readable review."""
    document: dict[str, Any] = {
        "environment": review.environment,
        "tier": review.tier,
        "pack": {"name": review.pack, "version": review.pack_version, "config": review.config_file},
        "resources": review.resource_count,
        "summary": _counts(review.findings),
        "helm": _helm_json(review),
        "violations": [_with_spec(_finding_json(f), review) for f in review.findings],
        "policies": [
            {
                "name": p.name,
                "group": p.group,
                "severity": p.severity,
                "level": p.level,
                "description": p.description,
                "anchor": p.anchor,
            }
            for p in review.policies
        ],
    }
    if review.deployment is not None:
        document["deployment"] = {
            "seconds": review.deployment.seconds,
            "floorSeconds": review.deployment.floor_seconds,
            "criticalPath": [step.urn for step in review.deployment.critical_path],
            "deployer": {
                "cidrs": list(review.deployment.deployer_cidrs),
                "reach": {
                    r.cluster: {
                        "exposure": r.exposure,
                        "paths": list(r.paths),
                        "resources": list(r.path_resources),
                    }
                    for r in review.deployment.reach
                },
            },
            "falseDependencies": [
                {"dependent": edge.dependent, "dependency": edge.dependency, "kind": edge.kind}
                for edge in review.deployment.serializing
            ],
        }
    if review.diff is not None:
        document["base"] = review.base_ref
        document["changes"] = [
            {
                "kind": c.kind,
                "urn": c.urn,
                "type": c.type,
                "name": c.name,
                "keys": list(c.keys),
                "replaceKeys": list(c.replace_keys),
                "stateful": c.stateful,
                "destructive": c.destructive,
                "refused": c.refused,
                "because": list(c.because),
                "blocked": c.blocked,
            }
            for c in review.diff
        ]
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _fingerprint(finding: Finding) -> str:
    text = "\x00".join((finding.policy, finding.urn or "", finding.message))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


REFUSED_UPGRADE_RULE: dict[str, Any] = {
    "id": "control-plane-upgrade-refused",
    "name": "ControlPlaneUpgradeRefused",
    "shortDescription": {
        "text": "A control plane's Kubernetes version moves one minor at a time, never back."
    },
    "fullDescription": {
        "text": "EKS and TKE refuse a control plane version that skips a minor or goes back;"
        " pulumi preview does not see it, pulumi up fails at the cluster (tkestack review"
        " against --base)."
    },
    "help": {
        "text": "Deploy the intermediate minor versions first, one pulumi up each.",
        "markdown": "**Remediation:** deploy the intermediate minor versions first, one"
        " `pulumi up` each.",
    },
    "helpUri": docs_url("review.md", "the-diff---base"),
    "defaultConfiguration": {"level": "error", "enabled": True},
    "properties": {"tags": ["change-safety"], "precision": "high"},
}
"""The SARIF rule of `Review.refused` changes (not a policy of the pack: it needs the base)."""

PROTECTED_CHANGE_RULE: dict[str, Any] = {
    "id": "protected-resource-deleted",
    "name": "ProtectedResourceDeleted",
    "shortDescription": {
        "text": "A change replaces or deletes a protected resource: pulumi up would stop halfway."
    },
    "fullDescription": {
        "text": "Resources with `protect` or a cloud's deletion protection cannot be deleted or"
        " replaced; pulumi up fails on them after applying the changes before them (tkestack"
        " review against --base)."
    },
    "help": {
        "text": "Unprotect the resource in a separate change and apply it first, or add an"
        " alias if the change is a rename.",
        "markdown": "**Remediation:** unprotect the resource (or turn off its deletion"
        " protection) in a separate change and apply it first; if the change is a rename, add"
        " `aliases` instead.",
    },
    "helpUri": docs_url("review.md", "the-diff---base"),
    "defaultConfiguration": {"level": "error", "enabled": True},
    "properties": {"tags": ["change-safety"], "precision": "high"},
}
"""The SARIF rule of `Review.blocked` changes."""


def sarif(review: Review, artifact: str) -> str:
    """SARIF 2.1.0 for code-scanning upload: a rule per policy, a result per violation,
    located at the environment's stack config file (`artifact`)."""
    index = {policy.name: i for i, policy in enumerate(review.policies)}

    def physical(urn: str | None) -> dict[str, Any]:
        """Where the resource's spec key is written; the stack file's first line for the
        stack itself or a resource without provenance."""
        where = review.provenance.get(urn) if urn else None
        return {
            "artifactLocation": {"uri": where.file if where else artifact},
            "region": {"startLine": where.line if where else 1},
        }

    rules = []
    for policy in review.policies:
        rules.append(
            {
                "id": policy.name,
                "name": "".join(part.capitalize() for part in policy.name.split("-")),
                "shortDescription": {"text": policy.description},
                "fullDescription": {"text": f"{policy.description} ({policy.anchor})"},
                "help": {
                    "text": policy.remediation or policy.description,
                    "markdown": f"**Remediation:** {policy.remediation}\n\n"
                    f"Mirrors: {policy.anchor}",
                },
                "helpUri": f"{INFORMATION_URI}#{policy.name}",
                "defaultConfiguration": {
                    "level": "error" if policy.level == "mandatory" else "warning",
                    "enabled": policy.level != "disabled",
                },
                "properties": {
                    "tags": sorted({"security", policy.group}),
                    "security-severity": SECURITY_SEVERITY.get(policy.severity, "5.0"),
                    "precision": "high",
                },
            }
        )
    if review.diff is not None:
        rules.extend((REFUSED_UPGRADE_RULE, PROTECTED_CHANGE_RULE))
    results = []
    for finding in review.findings:
        result: dict[str, Any] = {
            "ruleId": finding.policy,
            "level": "error" if finding.level == "mandatory" else "warning",
            "message": {"text": f"{finding.resource_name}: {finding.message}"},
            "locations": [
                {
                    "physicalLocation": physical(finding.urn),
                    "logicalLocations": [
                        {
                            "name": finding.resource_name,
                            "fullyQualifiedName": finding.urn or review.environment,
                            "kind": "resource" if finding.urn else "module",
                        }
                    ],
                }
            ],
            "partialFingerprints": {"tkestackFinding/v1": _fingerprint(finding)},
            "properties": {"enforcementLevel": finding.level, "severity": finding.severity},
        }
        where = review.provenance.get(finding.urn) if finding.urn else None
        if where is not None and where.key:
            result["properties"]["specKey"] = where.key
        if finding.policy in index:
            result["ruleIndex"] = index[finding.policy]
        results.append(result)
    change_results = [
        (REFUSED_UPGRADE_RULE, change, change.refused) for change in review.refused
    ] + [(PROTECTED_CHANGE_RULE, change, change.blocked) for change in review.blocked]
    for rule, change, why in change_results:
        results.append(
            {
                "ruleId": rule["id"],
                "ruleIndex": rules.index(rule),
                "level": "error",
                "message": {"text": f"{change.name} ({change.kind}): {why}"},
                "locations": [
                    {
                        "physicalLocation": physical(change.urn),
                        "logicalLocations": [
                            {
                                "name": change.name,
                                "fullyQualifiedName": change.urn,
                                "kind": "resource",
                            }
                        ],
                    }
                ],
                "partialFingerprints": {
                    "tkestackFinding/v1": hashlib.sha256(
                        f"{rule['id']}\x00{change.urn}\x00{why}".encode()
                    ).hexdigest()[:32]
                },
            }
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": f"tkestack-policy-pack-{review.pack}",
                        "version": review.pack_version or "0.0.0",
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"tkestack-review/{review.environment}/"},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
