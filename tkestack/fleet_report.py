"""The review of a `topology: per-cluster` environment: one `review.Review` per derived
stack (each stack is what one `pulumi up --policy-pack` would judge), reported together:
markdown with a section per stack under one summary table, JSON with a document per stack,
and SARIF as one run holding every stack's results (code scanning takes one run per tool and
category)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import report
from .fleet import EnvironmentRender
from .graph import mermaid
from .review import Review


def _where(rendered: EnvironmentRender, stack: str) -> str:
    wave = rendered.wave_of(stack)
    if wave is None:
        return "shared, first"
    return f"wave {wave}, runner `{rendered.runners.get(stack) or 'default'}`"


def markdown(
    rendered: EnvironmentRender, reviews: Mapping[str, Review], moved_base: bool = False
) -> str:
    """One comment: the environment's marker and a table of the stacks, then each stack's
    review (`report.markdown`, its heading one level down)."""
    lines = [report.COMMENT_MARKER.format(env=rendered.environment)]
    lines.append(
        f"## tkestack review: `{rendered.environment}` (per-cluster: {len(reviews)} stack(s),"
        f" {len(rendered.waves)} wave(s))"
    )
    lines.append("")
    if moved_base:
        lines.append(
            "The base deployed this environment as one stack: each of its resources is compared"
            " under the stack that holds it now, as after `pulumi state move` (`tkestack"
            f" topology {rendered.environment} --moves`; docs/topology.md)."
        )
        lines.append("")
    lines.append("```mermaid")
    lines.append(mermaid(rendered.whole, rendered.stack_nodes()).rstrip("\n"))
    lines.append("```")
    lines.append("")
    lines.append("| stack | where | resources | mandatory | advisory | changes |")
    lines.append("|---|---|---|---|---|---|")
    for stack, result in reviews.items():
        mandatory = len(result.mandatory)
        advisory = len(result.findings) - mandatory
        changes = "-" if result.diff is None else str(len(result.diff))
        lines.append(
            f"| `{stack}` | {_where(rendered, stack)} | {result.resource_count} | {mandatory}"
            f" | {advisory} | {changes} |"
        )
    for stack, result in reviews.items():
        body = report.markdown(result).splitlines()
        marker = report.COMMENT_MARKER.format(env=result.environment)
        body = [line for line in body if line != marker]
        body = [("#" + line) if line.startswith("#") else line for line in body]
        lines.append("")
        lines.append(f"<!-- stack {stack}: {_where(rendered, stack)} -->")
        lines.extend(body)
    return "\n".join(lines).rstrip("\n") + "\n"


def as_json(rendered: EnvironmentRender, reviews: Mapping[str, Review]) -> str:
    """`{"environment", "topology", "stacks": [{"stack", "wave", "runner", "review"}]}`, each
    review the document `report.as_json` makes of it."""
    document: dict[str, Any] = {
        "environment": rendered.environment,
        "topology": rendered.topology,
        "stacks": [
            {
                "stack": stack,
                "wave": rendered.wave_of(stack),
                "runner": rendered.runners.get(stack),
                "review": json.loads(report.as_json(result)),
            }
            for stack, result in reviews.items()
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def sarif(rendered: EnvironmentRender, reviews: Mapping[str, Review], artifact: str) -> str:
    """One SARIF run with every stack's results (`report.sarif` of each; the rules are the
    union, each result's `ruleIndex` pointing into it; a result's logical location is its
    URN, which names its stack)."""
    documents = [json.loads(report.sarif(result, artifact)) for result in reviews.values()]
    first = documents[0]
    run = first["runs"][0]
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for document in documents:
        for item in document["runs"]:
            for rule in item["tool"]["driver"]["rules"]:
                if rule["id"] not in index:
                    index[rule["id"]] = len(rules)
                    rules.append(rule)
            for result in item["results"]:
                if "ruleIndex" in result:
                    result = {**result, "ruleIndex": index[result["ruleId"]]}
                results.append(result)
    run["tool"]["driver"]["rules"] = rules
    run["results"] = results
    run["automationDetails"] = {"id": f"tkestack-review/{rendered.environment}/"}
    first["runs"] = [run]
    return json.dumps(first, indent=2, sort_keys=True) + "\n"
