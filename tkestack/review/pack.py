"""The policy pack over a rendering: which config file applies, the pack's findings (over its
analyzer protocol, `run_pack`, or its rules evaluated in this process, `evaluate_pack`) and
the policy table."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

from .. import engine
from ..analyzer import PolicyInfo, PolicyPackError, PolicyPackRunner, load_policy_config
from ..analyzer.config import reconcile
from ..analyzer.process import load_project_file
from ..policies import pack_config
from ..policies.rules import BY_NAME, PACK_NAME, RULES
from ..policies.rules import run as run_rules
from .adapters import analyzer_resources, subjects
from .model import Finding, PolicyMeta, ReviewError, finding_order

POLICY_DIR = Path(str(resources.files("tkestack.policies")))
"""The pack shipped with this distribution (package data: works from a wheel, not only from
the source checkout). A project's own `policies/config/` overrides its config files."""


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


def strip_description(message: str, description: str) -> str:
    """pulumi_policy reports `description\\nmessage`; keep the message."""
    prefix = description + "\n"
    return message[len(prefix) :] if message.startswith(prefix) else message


def run_pack(
    rendering: engine.Rendering, config_file: Path, pack_dir: Path = POLICY_DIR
) -> tuple[str, str, list[PolicyInfo], list[Finding]]:
    """Run the pack over its analyzer protocol, as `pulumi preview --policy-pack` runs it:
    (pack name, version, policies, findings)."""
    with PolicyPackRunner(
        pack_dir,
        config=config_file,
        stack=rendering.stack,
        project=rendering.project,
    ) as pack:
        name, infos = pack.info()
        violations = pack.analyze(analyzer_resources(rendering))
        version = pack.pack_version
    described = {info.name: info for info in infos}
    found = [
        (
            violation.policy_name,
            violation.urn,
            strip_description(violation.message, violation.description),
            violation.enforcement_level,
            violation.severity or getattr(described.get(violation.policy_name), "severity", None),
        )
        for violation in violations
    ]
    return name, version, infos, _findings(rendering, found)


def rule_infos() -> list[PolicyInfo]:
    """Every rule as the pack announces it in `GetAnalyzerInfo` (`policies/pack.py`
    `to_policy`), sorted by name as the engine sorts them."""
    return sorted(
        (
            PolicyInfo(
                name=rule.name,
                display_name="",
                description=rule.description,
                enforcement_level=rule.level,
                message="",
                config_schema={
                    "properties": {key: dict(value) for key, value in rule.config.items()},
                    "required": [],
                }
                if rule.config
                else None,
                policy_type="stack" if rule.stack else "resource",
                severity=rule.severity,
            )
            for rule in RULES
        ),
        key=lambda info: info.name,
    )


def evaluate_pack(
    rendering: engine.Rendering, config_file: Path, pack_dir: Path = POLICY_DIR
) -> tuple[str, str, list[PolicyInfo], list[Finding]]:
    """The pack's rules evaluated in this process, without its protocol: the same rules
    (`policies.rules.run`, each resource rule only on its declared types, as the pack's
    analyzer runs it), the same config reconciled and validated by the same code as
    `run_pack`'s (`tkestack.analyzer.config.reconcile`), the same findings (`tests/policies/
    test_review_paths.py` compares the two on every shipped environment and a fleet)."""
    version = str(load_project_file(pack_dir).get("version") or "")
    infos = rule_infos()
    try:
        user = pack_config.parse(load_policy_config(config_file))
    except pack_config.PolicyConfigError as exc:
        raise PolicyPackError(str(exc)) from exc
    settings = pack_config.effective(reconcile(infos, user, {}, PACK_NAME, version))
    found = [
        (v.policy, v.urn, v.message or BY_NAME[v.policy].description, v.level, None)
        for v in run_rules(subjects(rendering), settings)
    ]
    return PACK_NAME, version, infos, _findings(rendering, found)


def _findings(
    rendering: engine.Rendering,
    violations: Sequence[tuple[str, str | None, str, str, str | None]],
) -> list[Finding]:
    """Findings from (policy, urn, message, level, severity) tuples, in report order; a
    missing severity is the rule's."""
    by_urn = rendering.by_urn()
    findings = []
    for policy, urn, message, level, severity in violations:
        rule = BY_NAME.get(policy)
        resource = by_urn.get(urn) if urn else None
        findings.append(
            Finding(
                policy=policy,
                group=rule.group if rule else "",
                level=level,
                severity=severity or (rule.severity if rule else None) or "medium",
                urn=urn,
                resource_type=resource.type if resource else "",
                resource_name=resource.name
                if resource
                else (urn.rsplit("::", 1)[-1] if urn else rendering.stack),
                message=message,
                remediation=rule.remediation if rule else "",
                anchor=rule.anchor if rule else "",
            )
        )
    findings.sort(key=finding_order)
    return findings


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


@contextlib.contextmanager
def with_regions(config_file: Path, allowed_regions: list[str] | None) -> Iterator[Path]:
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


def display(path: Path, project: Path | None = None) -> str:
    """`path` relative to the project (or to the shipped pack's parent), else as given."""
    for root in (project, POLICY_DIR.parent):
        if root is None:
            continue
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            continue
    return str(path)
