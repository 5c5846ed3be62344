"""`tkestack review`: render an environment offline, run the policy pack over Pulumi's
analyzer protocol, and (with a base git ref) diff the resource graph against the base.

The pack is the real one (`policies/`), started as its own process and driven by
`tkestack.analyzer.PolicyPackRunner` exactly as `pulumi preview --policy-pack` would drive it:
every resource with its inputs, options and provider, then the whole stack.

The base render runs the *base ref's* code: the ref is checked out with `git worktree add`
into a temporary directory, and `python -m tkestack.cli render ENV --format json` runs there
with an import path that resolves every `tkestack.*` package to that checkout (never to the
installed head code); the subprocess verifies this before rendering. `start_base_render`
starts it in the background so the head render runs meanwhile (the CLI waits on both), and a
finished base render is cached by commit, environment and installed SDK versions
(`base_cache_dir`): a commit's tree fixes its spec and lockfile, the installed SDKs are the
head's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import engine
from .analyzer import AnalyzerProvider, AnalyzerResource, PolicyInfo, PolicyPackRunner, Secret
from .components.catalog import version_parts
from .critical_path import DeploymentEstimate
from .critical_path import estimate as estimate_deployment
from .policies import pack_config
from .policies.rules import BY_NAME, PACK_NAME
from .policies.rules.base import Provider, Subject
from .policies.rules.clusters import is_stateful
from .provenance import SpecLocation
from .replace_on_change import DELETION_PROTECTION, forces_replacement

if TYPE_CHECKING:  # chart_review imports this module: a type only, no import cycle at run time
    from .chart_review import ChartReview

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
POLICY_DIR = Path(str(resources.files("tkestack.policies")))
"""The pack shipped with this distribution (package data: works from a wheel, not only from
the source checkout). A project's own `policies/config/` overrides its config files."""
SEVERITY_ORDER = ("critical", "high", "medium", "low")
LEVEL_ORDER = ("mandatory", "advisory")

CONTROL_PLANE_VERSION: dict[str, str] = {
    "aws:eks/cluster:Cluster": "version",
    "tencentcloud:Kubernetes/cluster:Cluster": "clusterVersion",
}
"""The input holding a managed control plane's Kubernetes version, per type. EKS and TKE
upgrade a control plane one minor version at a time and never downgrade it: the cloud
refuses any other change, after `pulumi up` has already changed what came before it."""


class ReviewError(Exception):
    """The review could not run (bad ref, base render failure, pack failure)."""


# ---------------------------------------------------------------- resources for the pack


def _wire(value: Any) -> Any:
    """Rendered input values as the analyzer driver sends them (secrets stay secret)."""
    if isinstance(value, engine.SecretValue):
        return Secret(_wire(value.value))
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def _provider_ref(
    resource: engine.RenderedResource,
    by_urn: Mapping[str, engine.RenderedResource],
    stack: str,
    project: str,
) -> tuple[str, str, str, dict[str, Any]] | None:
    """(urn, type, name, inputs) of the provider the engine would use for `resource`."""
    if resource.provider:
        found = by_urn.get(resource.provider)
        type_ = resource.provider.split("::")[2].rsplit("$", 1)[-1]
        name = resource.provider.rsplit("::", 1)[-1]
        return resource.provider, type_, name, dict(found.inputs) if found else {}
    package = resource.type.split(":", 1)[0]
    if not resource.custom or package in ("pulumi", "tkestack"):
        return None
    # The engine gives such a resource its package's default provider.
    type_ = f"pulumi:providers:{package}"
    return f"urn:pulumi:{stack}::{project}::{type_}::default", type_, "default", {}


def analyzer_resources(rendering: engine.Rendering) -> list[AnalyzerResource]:
    """Every rendered resource as the engine describes it to analyzers."""
    by_urn = rendering.by_urn()
    result = []
    for resource in rendering.resources:
        ref = _provider_ref(resource, by_urn, rendering.stack, rendering.project)
        provider = (
            AnalyzerProvider(urn=ref[0], type=ref[1], name=ref[2], properties=_wire(ref[3]))
            if ref
            else None
        )
        result.append(
            AnalyzerResource(
                urn=resource.urn,
                type=resource.type,
                name=resource.name,
                properties=_wire(resource.inputs),
                parent=resource.parent,
                provider=provider,
                protect=resource.protect,
                dependencies=tuple(resource.dependencies),
                property_dependencies={
                    key: tuple(urns) for key, urns in resource.property_dependencies.items()
                },
                ignore_changes=tuple(resource.options.get("ignoreChanges", ())),
                delete_before_replace=resource.options.get("deleteBeforeReplace"),
                additional_secret_outputs=tuple(
                    resource.options.get("additionalSecretOutputs", ())
                ),
            )
        )
    return result


def subjects(rendering: engine.Rendering) -> list[Subject]:
    """Every rendered resource as the rules see it (for direct evaluation)."""
    by_urn = rendering.by_urn()
    result = []
    for resource in rendering.resources:
        ref = _provider_ref(resource, by_urn, rendering.stack, rendering.project)
        dependencies = set(resource.dependencies)
        for urns in resource.property_dependencies.values():
            dependencies.update(urns)
        result.append(
            Subject(
                type=resource.type,
                name=resource.name,
                urn=resource.urn,
                props=engine.revealed(resource.inputs),
                protect=resource.protect,
                parent=resource.parent,
                provider=Provider(ref[0], ref[1], ref[2], engine.revealed(ref[3])) if ref else None,
                dependencies=tuple(sorted(dependencies)),
            )
        )
    return result


# ---------------------------------------------------------------- the report model


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


def config_file_for(env: str, tier: str, project: Path | None = None) -> Path:
    """The pack config of an environment: `<env>.json`, else `<tier>.json`, first in the
    project's own `policies/config/` (when `project` is given), then in the shipped pack's."""
    folders = [project / "policies" / "config"] if project is not None else []
    folders.append(POLICY_DIR / "config")
    for folder in folders:
        for name in (env, tier):
            path = folder / f"{name}.json"
            if path.is_file():
                return path
    searched = ", ".join(str(folder) for folder in folders)
    raise ReviewError(
        f"no policy config for environment {env!r} or tier {tier!r} (searched {searched})"
    )


def tier_of(rendering: engine.Rendering) -> str:
    """The environment's tier from the stack outputs."""
    environment = rendering.stack_outputs.get("environment")
    tier = environment.get("tier") if isinstance(environment, dict) else None
    return str(tier) if tier else "dev"


def _strip_description(message: str, description: str) -> str:
    """pulumi_policy reports `description\\nmessage`; keep the message."""
    prefix = description + "\n"
    return message[len(prefix) :] if message.startswith(prefix) else message


def run_pack(
    rendering: engine.Rendering, config_file: Path, pack_dir: Path = POLICY_DIR
) -> tuple[str, str, list[PolicyInfo], list[Finding]]:
    """Run the pack over the rendering: (pack name, version, policies, findings)."""
    by_urn = rendering.by_urn()
    with PolicyPackRunner(
        pack_dir,
        config=config_file,
        stack=rendering.stack,
        project=rendering.project,
        max_workers=1,  # deterministic, and the pack process has 2 cores at most anyway
    ) as pack:
        name, infos = pack.info()
        violations = pack.analyze(analyzer_resources(rendering))
        version = pack.pack_version
    described = {info.name: info for info in infos}
    findings = []
    for violation in violations:
        rule = BY_NAME.get(violation.policy_name)
        info = described.get(violation.policy_name)
        resource = by_urn.get(violation.urn) if violation.urn else None
        findings.append(
            Finding(
                policy=violation.policy_name,
                group=rule.group if rule else "",
                level=violation.enforcement_level,
                severity=violation.severity or (info.severity if info else None) or "medium",
                urn=violation.urn,
                resource_type=resource.type if resource else "",
                resource_name=resource.name
                if resource
                else (violation.urn.rsplit("::", 1)[-1] if violation.urn else rendering.stack),
                message=_strip_description(violation.message, violation.description),
                remediation=rule.remediation if rule else "",
                anchor=rule.anchor if rule else "",
            )
        )
    findings.sort(key=finding_order)
    return name, version, infos, findings


def finding_order(finding: Finding) -> tuple[int, int, str, str, str]:
    """Mandatory before advisory, then by severity, policy, resource and message."""
    level = LEVEL_ORDER.index(finding.level) if finding.level in LEVEL_ORDER else 9
    severity = SEVERITY_ORDER.index(finding.severity) if finding.severity in SEVERITY_ORDER else 9
    return level, severity, finding.policy, finding.urn or "", finding.message


def policy_metadata(infos: list[PolicyInfo], config_file: Path) -> list[PolicyMeta]:
    """Policies with their effective level under `config_file`."""
    config = json.loads(config_file.read_text(encoding="utf-8") or "{}")
    # The pack's one reading of its config (the `all` key included), over the levels the
    # pack itself announced.
    levels = pack_config.effective(
        pack_config.reconcile(
            ((info.name, info.enforcement_level, None) for info in infos),
            pack_config.parse(config),
            pack=PACK_NAME,
        )
    )
    result = []
    for info in infos:
        rule = BY_NAME.get(info.name)
        level = levels[info.name]["enforcementLevel"]
        result.append(
            PolicyMeta(
                name=info.name,
                group=rule.group if rule else "",
                description=info.description,
                severity=info.severity or "medium",
                level=level,
                anchor=rule.anchor if rule else "",
                remediation=rule.remediation if rule else "",
            )
        )
    return result


def review(
    rendering: engine.Rendering,
    *,
    base: dict[str, Any] | None = None,
    base_ref: str | None = None,
    config_file: Path | None = None,
    allowed_regions: list[str] | None = None,
    project: Path | None = None,
) -> Review:
    """Build the review of a rendered environment (and its diff against a base render).

    `allowed_regions` (the environment spec's own `allowed_regions`) replaces the policy
    config's `region-allowed` list, so an environment is judged by the regions it allows
    itself, not by those of the shipped environments; None or empty keeps the config's."""
    from .graph import mermaid  # local: graph imports nothing of review, keep it one-way

    tier = tier_of(rendering)
    config_file = config_file or config_file_for(rendering.stack, tier, project)
    with _with_regions(config_file, allowed_regions) as effective:
        name, version, infos, findings = run_pack(rendering, effective)
        # -- Helm releases opened up (tkestack/chart_review.py): their charts' objects,
        # judged under the same effective config; nothing when no chart is cached.
        from .chart_review import review_charts

        charts = review_charts(rendering, effective)
        findings = sorted([*findings, *charts.findings], key=finding_order)
        # -- end of the Helm releases hook
    result = Review(
        environment=rendering.stack,
        tier=tier,
        pack=name or PACK_NAME,
        pack_version=version,
        config_file=_display(config_file, project),
        resource_count=len(rendering.resources),
        policies=policy_metadata(infos, config_file) + charts.policies,
        findings=findings,
        mermaid=mermaid(rendering),
        deployment=estimate_deployment(rendering),
        helm_releases=sum(1 for r in rendering.resources if r.type == HELM_RELEASE),
        charts=charts,
    )
    if base is not None:
        result.diff = diff(
            base, json.loads(engine.render_json(rendering)), unknowns=unknown_values(rendering)
        )
        result.base_ref = base_ref
    return result


@contextlib.contextmanager
def _with_regions(config_file: Path, allowed_regions: list[str] | None) -> Iterator[Path]:
    """`config_file`, or a temporary copy whose `region-allowed.allowedRegions` is
    `allowed_regions` (when given and the config enables that policy)."""
    config = json.loads(config_file.read_text(encoding="utf-8") or "{}")
    rule = config.get("region-allowed")
    if not allowed_regions or rule is None or rule == "disabled":
        yield config_file
        return
    if isinstance(rule, str):
        rule = {"enforcementLevel": rule}
    config["region-allowed"] = {**rule, "allowedRegions": sorted(set(allowed_regions))}
    with tempfile.TemporaryDirectory(prefix="tkestack-policy-") as directory:
        path = Path(directory) / config_file.name
        path.write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
        yield path


def _display(path: Path, project: Path | None = None) -> str:
    """`path` relative to the project (or to the shipped pack's parent), else as given."""
    for root in (project, POLICY_DIR.parent):
        if root is None:
            continue
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            continue
    return str(path)


# ---------------------------------------------------------------- diff


def _all_masked(value: Any) -> bool:
    """Whether every leaf of `value` is the secret mark (a masked secret, of any shape)."""
    if isinstance(value, dict):
        return all(_all_masked(item) for item in value.values())
    if isinstance(value, list):
        return all(_all_masked(item) for item in value)
    return value == engine.SECRET_MARK


def changed_keys(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths where `old` and `new` differ (maps recursed, lists compared whole).

    A masked secret on one side and a masked secret of another shape on the other are not a
    change: neither render shows the value (a base rendered before masked secrets kept their
    shape prints `"[secret]"` for a whole map)."""
    if old != new and engine.SECRET_MARK in (old, new) and _all_masked(old) and _all_masked(new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else key
            if key not in old or key not in new:
                yield path
            else:
                yield from changed_keys(old[key], new[key], path)
    elif old != new:
        yield prefix or "(value)"


def refused_upgrade(type_: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    """Why the cloud would refuse to move a control plane from `before`'s inputs to
    `after`'s: a version that goes back (minor or patch), or skips a minor. None when it
    would accept it."""
    key = CONTROL_PLANE_VERSION.get(type_)
    if key is None:
        return None
    old, new = version_parts(before.get(key)), version_parts(after.get(key))
    if old is None or new is None:
        return None
    shown = f"`{key}` {before[key]} -> {after[key]}"
    common = min(len(old), len(new))  # "1.33" (EKS) carries no patch to compare
    if new[:common] < old[:common]:
        return f"{shown}: a Kubernetes control plane cannot be downgraded"
    if new[0] != old[0]:
        return f"{shown}: control planes upgrade one minor version at a time"
    if new[1] - old[1] <= 1:
        return None
    steps = ", ".join(f"{old[0]}.{minor}" for minor in range(old[1] + 1, new[1]))
    return (
        f"{shown}: control planes upgrade one minor version at a time; go through {steps}"
        " first, one `pulumi up` each"
    )


MIN_UNKNOWN_LENGTH = 8
"""Computed output strings shorter than this (`ACTIVE`, `admin`) are too common to trace."""


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every leaf; a list is one leaf holding its whole value (lists
    are compared whole, as in `changed_keys`)."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _leaves(value[key], f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, engine.SecretValue):
        yield from _strings(value.value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def unknown_values(rendering: engine.Rendering) -> dict[str, frozenset[str]]:
    """Per URN, the output strings `pulumi preview` would show as unknown if the resource were
    replaced: what its provider computes (ids, ARNs, endpoints), not what the program gave
    it. In process only (they may hold secrets): never written to a document."""
    result = {}
    for resource in rendering.resources:
        given = set(_strings(resource.inputs))
        result[resource.urn] = frozenset(
            text
            for text in _strings(resource.computed())
            if len(text) >= MIN_UNKNOWN_LENGTH and text not in given
        )
    return result


def _unknown_paths(
    inputs: Mapping[str, Any], key: str, unknown: frozenset[str] | None
) -> tuple[str, ...]:
    """The input paths under top-level `key` that take a replaced resource's outputs: the
    leaves holding (or embedding) one of its `unknown` values; the whole key when none can be
    traced (a value derived through an apply, or no values known)."""
    if key not in inputs:
        return ()
    if unknown:
        found = tuple(
            path
            for path, value in _leaves(inputs[key], key)
            if any(text in item for item in _strings(value) for text in unknown)
        )
        if found:
            return found
    return (key,)


def _protection(
    kind: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any] | None,
    added_types: Mapping[str, list[str]],
) -> str | None:
    """Why `pulumi up` would stop at deleting `before` (removed, or the delete half of a
    replacement), with what to do; None when nothing stops it."""
    if kind not in ("removed", "replaced"):
        return None
    action = "replace" if kind == "replaced" else "delete"
    if before.get("protect") or (after or {}).get("protect"):
        renamed = added_types.get(before.get("type", ""), []) if kind == "removed" else []
        rename = (
            f"; if it was renamed (to {', '.join(f'`{n}`' for n in renamed[:3])}?), add"
            " `aliases` naming the old URN instead, so nothing is deleted"
            if renamed
            else "; if it is a rename, add `aliases` naming the old URN instead"
        )
        return (
            f"protected (`protect`): `pulumi up` refuses to {action} it and stops with the"
            " changes before it applied. Unprotect it in a separate change (`pulumi state"
            " unprotect` or `protect=False`), apply that, then this one" + rename
        )
    key = DELETION_PROTECTION.get(before.get("type", ""))
    if key and before.get("inputs", {}).get(key) is True:
        return (
            f"deletion protection (`{key}: true`): the cloud refuses to delete it, so the"
            f" {action} half-applies. Set `{key}: false` in a separate change and apply it"
            " first, then this one"
        )
    return None


def diff(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    unknowns: Mapping[str, frozenset[str]] | None = None,
) -> list[Change]:
    """Resource changes from the base render document to the head one (`render --format
    json` documents), destructive changes first.

    Replacements propagate as the engine propagates them: a replaced resource's computed
    outputs are unknown in the head's preview, so each resource whose inputs take them (its
    `propertyDependencies`) changes, and is itself replaced when such an input forces a
    replacement (`replace_on_change`). `unknowns` (from `unknown_values`) names the output
    values per URN, to find which nested input takes them; without it the whole top-level
    input counts."""
    old = {r["urn"]: r for r in base.get("resources", [])}
    new = {r["urn"]: r for r in head.get("resources", [])}
    unknowns = unknowns or {}
    added_types: dict[str, list[str]] = {}
    for urn in sorted(set(new) - set(old)):
        added_types.setdefault(new[urn]["type"], []).append(new[urn]["name"])
    dependents: dict[str, list[tuple[str, str]]] = {}
    for urn, resource in new.items():
        for key, urns in sorted(resource.get("propertyDependencies", {}).items()):
            for dependency in urns:
                dependents.setdefault(dependency, []).append((urn, key))
    keys: dict[str, list[str]] = {}
    replacing: dict[str, list[str]] = {}
    because: dict[str, list[str]] = {}
    for urn in sorted(set(old) & set(new)):
        before, after = old[urn], new[urn]
        found = list(changed_keys(before.get("inputs", {}), after.get("inputs", {})))
        if before.get("provider") != after.get("provider"):
            found.append("(provider)")
        if found:
            keys[urn] = found
            extra = tuple(after.get("options", {}).get("replaceOnChanges", ()))
            inputs = after.get("inputs", {})
            forcing = [
                key
                for key in found
                if key == "(provider)" or forces_replacement(after["type"], key, extra, inputs)
            ]
            if forcing:
                replacing[urn] = forcing
    managed: dict[str, list[str]] = {}
    for urn, resource in new.items():
        if resource.get("provider"):
            managed.setdefault(resource["provider"], []).append(urn)
    queue = sorted(replacing)
    while queue:
        replaced = queue.pop(0)
        # A replaced provider replaces every resource it manages (step_generator.go).
        for urn in (
            managed.get(replaced, [])
            if new[replaced]["type"].startswith("pulumi:providers:")
            else []
        ):
            if urn not in old:
                continue
            name = new[replaced]["name"]
            if name not in because.setdefault(urn, []):
                because[urn].append(name)
            known = keys.setdefault(urn, [])
            if "(provider)" not in known:
                known.append("(provider)")
            if urn not in replacing:
                replacing[urn] = ["(provider)"]
                queue.append(urn)
            elif "(provider)" not in replacing[urn]:
                replacing[urn].append("(provider)")
        for urn, key in dependents.get(replaced, []):
            if urn not in old or replaced == urn:
                continue
            after = new[urn]
            paths = _unknown_paths(after.get("inputs", {}), key, unknowns.get(replaced))
            if not paths:
                continue
            name = new[replaced]["name"]
            if name not in because.setdefault(urn, []):
                because[urn].append(name)
            known = keys.setdefault(urn, [])
            known.extend(path for path in paths if path not in known)
            extra = tuple(after.get("options", {}).get("replaceOnChanges", ()))
            forcing = [
                path
                for path in paths
                if forces_replacement(after["type"], path, extra, after.get("inputs", {}))
            ]
            if forcing:
                first = urn not in replacing
                listed = replacing.setdefault(urn, [])
                listed.extend(path for path in forcing if path not in listed)
                if first:
                    queue.append(urn)
    changes: list[Change] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        source = after or before
        assert source is not None
        chart = source.get("inputs", {}).get("chart")
        chart = chart if isinstance(chart, str) else None
        if before is None:
            changes.append(Change("added", urn, source["type"], source["name"], chart=chart))
            continue
        if after is None:
            changes.append(
                Change(
                    "removed",
                    urn,
                    source["type"],
                    source["name"],
                    chart=chart,
                    blocked=_protection("removed", before, None, added_types),
                )
            )
            continue
        if urn not in keys:
            continue
        kind = "replaced" if urn in replacing else "changed"
        refused = (
            None
            if kind == "replaced"
            else refused_upgrade(after["type"], before.get("inputs", {}), after.get("inputs", {}))
        )
        changes.append(
            Change(
                kind,
                urn,
                after["type"],
                after["name"],
                tuple(keys[urn]),
                tuple(replacing.get(urn, ())),
                chart,
                refused,
                because=tuple(because.get(urn, ())),
                blocked=_protection(kind, before, after, added_types),
            )
        )
    order = {"replaced": 0, "removed": 1, "changed": 2, "added": 3}
    # Blocked first, then destructive; within each, causes before their consequences.
    changes.sort(
        key=lambda c: (c.blocked is None, not c.destructive, order[c.kind], bool(c.because), c.urn)
    )
    return changes


# ---------------------------------------------------------------- base render


class _Checkout:
    """`git worktree add --detach` of a ref into a temporary directory, removed on exit."""

    def __init__(self, repo: Path, ref: str) -> None:
        self.repo = repo
        self.ref = ref
        self._tmp = tempfile.TemporaryDirectory(prefix="tkestack-base-")
        self.path = Path(self._tmp.name) / "tree"

    def __enter__(self) -> Path:
        commit = _git(self.repo, "rev-parse", "--verify", "--quiet", f"{self.ref}^{{commit}}")
        if commit is None:
            self._tmp.cleanup()
            raise ReviewError(f"git ref {self.ref!r} does not name a commit in {self.repo}")
        if _git(self.repo, "worktree", "add", "--detach", str(self.path), commit) is None:
            self._tmp.cleanup()
            raise ReviewError(f"cannot check out {self.ref} ({commit[:12]}) into a worktree")
        return self.path

    def __exit__(self, *exc: object) -> None:
        _git(self.repo, "worktree", "remove", "--force", str(self.path))
        self._tmp.cleanup()
        _git(self.repo, "worktree", "prune")


def _git(repo: Path, *args: str) -> str | None:
    completed = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() if completed.returncode == 0 else None


_BOOTSTRAP = """
import importlib, os, runpy, sys
root = os.path.realpath(sys.argv[1])
sys.argv = ["tkestack", *sys.argv[2:]]
sys.path.insert(0, os.path.join(root, ".tkestack-import"))
import tkestack
for name in {packages!r}:
    module = importlib.import_module(name)
    where = os.path.realpath(module.__file__)
    if not where.startswith(root + os.sep):
        sys.exit(f"base render would import {{name}} from {{where}}, not from the base checkout")
runpy.run_module("tkestack.cli", run_name="__main__")
"""


def _import_root(tree: Path) -> list[str]:
    """Lay out `<tree>/.tkestack-import/tkestack/...` as symlinks into the checkout, following
    the checkout's own `[tool.setuptools.package-dir]`; returns the package names mapped."""
    mapping = {"tkestack": "tkestack"}
    pyproject = tree / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        found = data.get("tool", {}).get("setuptools", {}).get("package-dir", {})
        mapping.update({str(k): str(v) for k, v in found.items()})
    root = tree / ".tkestack-import"
    package = root / "tkestack"
    package.mkdir(parents=True)
    own = tree / mapping.get("tkestack", "tkestack")
    for child in sorted(own.iterdir()):
        (package / child.name).symlink_to(child.resolve())
    names = ["tkestack"]
    for name, folder in sorted(mapping.items()):
        parts = name.split(".")
        if len(parts) != 2 or parts[0] != "tkestack" or not (tree / folder).is_dir():
            continue
        link = package / parts[1]
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to((tree / folder).resolve())
        names.append(name)
    return names


BASE_CACHE_ENV = "TKESTACK_CACHE_DIR"
"""Where base renders are cached (default `$XDG_CACHE_HOME/tkestack`, else `~/.cache/tkestack`);
`TKESTACK_CACHE_DIR=` (empty) turns the cache off."""
_CACHE_FORMAT = "base-render-1"


def base_cache_dir() -> Path | None:
    """The base-render cache folder, or None when `TKESTACK_CACHE_DIR` is set empty."""
    configured = os.environ.get(BASE_CACHE_ENV)
    if configured is not None:
        return Path(configured) / "base-renders" if configured else None
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(home) / "tkestack" / "base-renders"


def _render_distributions() -> list[str]:
    """`name==version` of every installed runtime dependency of tkestack: the base render runs
    the base tree's code with the head's installed SDKs, so they are part of the cache key."""
    import re
    from importlib import metadata

    try:
        requires = metadata.requires("tkestack") or []
    except metadata.PackageNotFoundError:
        requires = []
    found = []
    for requirement in requires:
        if "extra ==" in requirement:
            continue  # dev/test extras do not change a render
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}==absent")
    return sorted(found)


def _cache_key(commit: str, env: str, relative: Path) -> str:
    parts = [_CACHE_FORMAT, commit, env, relative.as_posix(), sys.version]
    return hashlib.sha256("\n".join(parts + _render_distributions()).encode()).hexdigest()


def _cache_read(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # a torn or foreign file: render again (and overwrite it)
    return document if isinstance(document, dict) else None


def _cache_write(path: Path | None, document: dict[str, Any]) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole then renamed: a concurrent review never reads half a document.
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
        ) as handle:
            json.dump(document, handle)  # key order kept: a cached base reviews as a fresh one
        os.replace(handle.name, path)
    except OSError:
        pass  # a read-only or full cache folder costs a render next time, never the review


def start_base_render(ref: str, env: str, project_dir: Path) -> Future[dict[str, Any]]:
    """`render_at_ref` in a background thread (the render itself is a subprocess, so the
    caller's own render runs meanwhile on the other core); `.result()` raises its
    ReviewError."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tkestack-base")
    future = executor.submit(render_at_ref, ref, env, project_dir)
    executor.shutdown(wait=False)
    return future


def render_at_ref(ref: str, env: str, project_dir: Path, timeout: float = 600) -> dict[str, Any]:
    """The `render --format json` document of ENV as the code at `ref` renders it (from the
    base-render cache when the same commit was rendered with the same SDKs before)."""
    repo_root = _git(project_dir, "rev-parse", "--show-toplevel")
    if repo_root is None:
        raise ReviewError(f"{project_dir} is not inside a git repository (needed for --base)")
    relative = project_dir.resolve().relative_to(Path(repo_root).resolve())
    commit = _git(Path(repo_root), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit is None:
        raise ReviewError(f"git ref {ref!r} does not name a commit in {repo_root}")
    folder = base_cache_dir()
    cached_at = folder / f"{_cache_key(commit, env, relative)}.json" if folder else None
    cached = _cache_read(cached_at)
    if cached is not None:
        return cached
    document = _render_commit(Path(repo_root), commit, ref, env, relative, timeout)
    _cache_write(cached_at, document)
    return document


def _render_commit(
    repo_root: Path, commit: str, ref: str, env: str, relative: Path, timeout: float
) -> dict[str, Any]:
    with _Checkout(repo_root, commit) as tree:
        project = tree / relative
        stack_file = project / f"Pulumi.{env}.yaml"
        if not stack_file.is_file():
            return {"resources": [], "outputs": {}, "missing": True}
        packages = _import_root(tree)
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")
        }
        completed = subprocess.run(
            [
                sys.executable,
                "-c",
                _BOOTSTRAP.format(packages=packages),
                str(tree),
                "render",
                env,
                "--format",
                "json",
            ],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise ReviewError(
                f"rendering {env} at {ref} failed (exit {completed.returncode}):\n"
                + completed.stderr.strip()[-4000:]
            )
        try:
            return json.loads(completed.stdout)
        except json.JSONDecodeError as error:
            raise ReviewError(
                f"rendering {env} at {ref} printed no JSON document: {error}"
            ) from None
