"""`tkestack review`: render an environment offline, judge it with the policy pack, and (with
a base git ref) diff the resource graph against the base.

The pack is the real one (`policies/`). By default its rules run in this process under the
config the engine would reconcile (`evaluate_pack`); with `protocol=True` (`tkestack review
--protocol`) the pack is started as its own process and driven by
`tkestack.analyzer.PolicyPackRunner` exactly as `pulumi preview --policy-pack` would drive it:
every resource with its inputs, options and provider, then the whole stack (`run_pack`). The
two give the same findings (`tests/policies/test_review_paths.py`). One concern per module:

- `adapters.py`: a rendering as analyzer resources (the protocol) and as rule subjects;
- `model.py`: the report (`Finding`, `PolicyMeta`, `Change`, `Review`) and finding order;
- `pack.py`: which config applies, the pack's findings (either path) and the policy table;
- `diff.py`: the changes from a base render to the head's;
- `base.py`: the base ref's render (a `git worktree`, cached by commit).
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .. import engine
from ..critical_path import estimate as estimate_deployment
from ..policies.rules import PACK_NAME
from .adapters import analyzer_resources, subjects
from .base import BASE_CACHE_ENV, base_cache_dir, render_at_ref, start_base_render
from .diff import CONTROL_PLANE_VERSION, changed_keys, diff, refused_upgrade, unknown_values
from .model import (
    LEVEL_ORDER,
    SEVERITY_ORDER,
    Change,
    Finding,
    PolicyMeta,
    Review,
    ReviewError,
    finding_order,
)
from .pack import (
    POLICY_DIR,
    config_file_for,
    display,
    evaluate_pack,
    policy_metadata,
    run_pack,
    tier_of,
    with_regions,
)

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

__all__ = [
    "BASE_CACHE_ENV",
    "CONTROL_PLANE_VERSION",
    "HELM_RELEASE",
    "LEVEL_ORDER",
    "POLICY_DIR",
    "SEVERITY_ORDER",
    "Change",
    "Finding",
    "PolicyMeta",
    "Review",
    "ReviewError",
    "analyzer_resources",
    "base_cache_dir",
    "changed_keys",
    "config_file_for",
    "diff",
    "evaluate_pack",
    "finding_order",
    "policy_metadata",
    "refused_upgrade",
    "render_at_ref",
    "renderings_kept",
    "review",
    "run_pack",
    "start_base_render",
    "subjects",
    "tier_of",
    "unknown_values",
]


@contextlib.contextmanager
def renderings_kept() -> Iterator[None]:
    """While a review runs over the renderings it keeps to its end: every object alive as it
    starts (the renderings, and the garbage their render left for the collector, whose full
    collection the render defers: ~1 M objects and ~1.7 s CPU after a 50-cluster render) is
    out of the collector's generations (`gc.freeze`), so what the review allocates never has
    them walked. Back in them afterwards (`gc.unfreeze`): a process that goes on collects
    them as before; a process that ends freezes them at exit (`engine._no_collection_at_exit`).
    A process that had frozen objects before is left as it was, with these frozen too:
    `gc.unfreeze` cannot tell the two apart, and unfreezing would undo a freeze not ours."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if frozen_before == 0:
            gc.unfreeze()


def review(
    rendering: engine.Rendering,
    *,
    base: dict[str, Any] | None = None,
    base_ref: str | None = None,
    config_file: Path | None = None,
    allowed_regions: list[str] | None = None,
    project: Path | None = None,
    protocol: bool = False,
    owners: Mapping[str, str | None] | None = None,
) -> Review:
    """Build the review of a rendered environment (and its diff against a base render).

    `allowed_regions` (the environment spec's own `allowed_regions`) replaces the policy
    config's `region-allowed` list, so an environment is judged by the regions it allows
    itself, not by those of the shipped environments; None or empty keeps the config's.
    `protocol` runs the pack as its own process over the analyzer protocol, as `pulumi
    preview --policy-pack` runs it (`run_pack`); by default its rules are evaluated in this
    process (`evaluate_pack`), with the same config and the same findings. `owners`:
    `ownership.cluster_owners(rendering)` when the caller has it already (the CLI computes
    it once for the deployment estimate and the provenance), else computed here."""
    from ..graph import mermaid  # local: graph imports nothing of review, keep it one-way

    tier = tier_of(rendering)
    config_file = config_file or config_file_for(rendering.stack, tier, project)
    with with_regions(config_file, allowed_regions) as effective:
        judge = run_pack if protocol else evaluate_pack
        name, version, infos, findings = judge(rendering, effective)
        # -- Helm releases opened up (tkestack/chart_review.py): their charts' objects,
        # judged under the same effective config; nothing when no chart is cached.
        from ..chart_review import review_charts

        charts = review_charts(rendering, effective)
        findings = sorted([*findings, *charts.findings], key=finding_order)
        # -- end of the Helm releases hook
    result = Review(
        environment=rendering.stack,
        tier=tier,
        pack=name or PACK_NAME,
        pack_version=version,
        config_file=display(config_file, project),
        resource_count=len(rendering.resources),
        policies=policy_metadata(infos, config_file) + charts.policies,
        findings=findings,
        mermaid=mermaid(rendering),
        deployment=estimate_deployment(rendering, owners=owners),
        helm_releases=sum(1 for r in rendering.resources if r.type == HELM_RELEASE),
        charts=charts,
    )
    if base is not None:
        result.diff = diff(
            base, json.loads(engine.render_json(rendering)), unknowns=unknown_values(rendering)
        )
        result.base_ref = base_ref
    return result
