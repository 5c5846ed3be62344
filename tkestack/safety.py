"""Checks that guard every render: secrets stay secret, Kubernetes objects are valid for
their cluster's version, and a peer scanner (checkov) agrees, findings fixed or waived.

Used by the safety tests (tests/safety/) and by `make safety`, which prints the numbers.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import engine
from .ownership import cluster_owners

SECRET_SHAPES: dict[str, re.Pattern[str]] = {
    "PEM block": re.compile(r"-----BEGIN [A-Z ]+-----"),
    "EKS token": re.compile(r"k8s-aws-v1\.[A-Za-z0-9_-]{20,}"),
    "offline secret config stand-in": re.compile(r"offline-[a-z0-9-]+"),
    "kubeconfig client key or token": re.compile(r'"(client-key-data|token)"\s*:\s*"[^"\[]'),
    "AWS secret key": re.compile(r"(?i)aws_secret_access_key\s*[:=]\s*[A-Za-z0-9/+]{30,}"),
}
"""Shapes of secrets that must never appear in any output, whatever produced them."""

GENERATED_SECRET_OUTPUTS: dict[str, tuple[str, ...]] = {
    "random:index/randomPassword:RandomPassword": ("result", "bcryptHash"),
}
"""Outputs that providers mark secret (additionalSecretOutputs) holding generated secrets."""

MIN_SECRET_LENGTH = 12
"""Shorter secret leaves ("true", "admin") would match by accident; they are not bodies."""

CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
}
"""CRD kinds the platform creates (their charts install the CRDs): not in the Kubernetes
OpenAPI schemas, so not validated by kubernetes-validate."""


def secret_strings(value: Any, inside_secret: bool = False) -> Iterator[str]:
    """Every string leaf inside a secret, anywhere in `value`."""
    if isinstance(value, engine.SecretValue):
        yield from secret_strings(value.value, inside_secret=True)
    elif isinstance(value, dict):
        for item in value.values():
            yield from secret_strings(item, inside_secret)
    elif isinstance(value, list):
        for item in value:
            yield from secret_strings(item, inside_secret)
    elif isinstance(value, str) and inside_secret:
        yield value


def known_secrets(rendering: engine.Rendering) -> set[str]:
    """Every secret value of a render that is long enough to search for."""
    found: set[str] = set()
    for resource in rendering.resources:
        found.update(secret_strings(resource.inputs))
        for key in GENERATED_SECRET_OUTPUTS.get(resource.type, ()):
            value = resource.outputs.get(key)
            if isinstance(value, str):
                found.add(value)
    found.update(secret_strings(rendering.stack_outputs))
    return {secret for secret in found if len(secret) >= MIN_SECRET_LENGTH}


def leaks(text: str, secrets: set[str]) -> list[str]:
    """What in `text` is a known secret or has a secret's shape (descriptions, not values)."""
    found = [f"a known secret value ({len(secret)} chars)" for secret in secrets if secret in text]
    for shape, pattern in SECRET_SHAPES.items():
        match = pattern.search(text)
        if match is not None:
            found.append(f"{shape} at offset {match.start()}")
    return found


def shape_preserving_mask(value: Any, inside_secret: bool = False) -> Any:
    """`value` with each secret's string leaves masked, its structure kept (so a Secret's
    `data` map still validates as a map)."""
    if isinstance(value, engine.SecretValue):
        return shape_preserving_mask(value.value, inside_secret=True)
    if isinstance(value, dict):
        return {key: shape_preserving_mask(item, inside_secret) for key, item in value.items()}
    if isinstance(value, list):
        return [shape_preserving_mask(item, inside_secret) for item in value]
    return engine.SECRET_MARK if inside_secret and isinstance(value, str) else value


@dataclass
class ManifestValidation:
    """Outcome of validating a render's Kubernetes objects against their cluster versions."""

    validated: int = 0
    custom_skipped: int = 0
    errors: list[str] = field(default_factory=list)


def validate_manifests(rendering: engine.Rendering) -> ManifestValidation:
    """Validate every Kubernetes object (strict: unknown fields are errors) against the
    OpenAPI schema of the Kubernetes version of the cluster it is installed in."""
    import kubernetes_validate  # dev dependency: only the checks need it

    clusters = rendering.stack_outputs.get("clusters", {})
    versions = {name: info["kubernetes_version"] for name, info in clusters.items()}
    owners = cluster_owners(rendering)
    outcome = ManifestValidation()
    for resource, document in engine.kubernetes_objects(rendering):
        if (document["apiVersion"], document["kind"]) in CUSTOM_KINDS:
            outcome.custom_skipped += 1
            continue
        masked_document = {
            key: value
            for key, value in shape_preserving_mask(resource.inputs).items()
            if not key.startswith("__") and value is not None
        }
        cluster = owners[resource.urn]
        if cluster is None or cluster not in versions:
            outcome.errors.append(f"{resource.urn}: no owning cluster with a Kubernetes version")
            continue
        try:
            kubernetes_validate.validate(masked_document, f"{versions[cluster]}.0", strict=True)
        except kubernetes_validate.ValidationError as error:
            outcome.errors.append(f"{resource.urn}: {error.message} at {list(error.path)}")
            continue
        outcome.validated += 1
    return outcome


@dataclass(frozen=True)
class CheckovFinding:
    """One failed checkov check."""

    framework: str
    check_id: str
    check_name: str
    resource: str
    text: str
    """The resource and the flagged lines: what waivers match against."""
    file: str = ""
    """The scanned file checkov found it in (its path under the scanned folder)."""


def run_checkov(checkov: Path, directory: Path, framework: str) -> tuple[int, list[CheckovFinding]]:
    """(passed checks, failed checks) of checkov over `directory` for one framework."""
    return run_checkov_frameworks(checkov, directory, (framework,))[framework]


def run_checkov_frameworks(
    checkov: Path, directory: Path, frameworks: Sequence[str]
) -> dict[str, tuple[int, list[CheckovFinding]]]:
    """Per framework, (passed checks, failed checks) of ONE checkov run over `directory`
    (checkov's start-up is most of a small scan's time). checkov 3.x takes several
    frameworks after `--framework` and reports each as its own report, named by its
    `check_type` (checkov/main.py normalize_framework_arg; common/output/report.py)."""
    result = subprocess.run(
        [
            str(checkov),
            "-d",
            str(directory),
            "--framework",
            *frameworks,
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-2000:]}")
    reports = json.loads(result.stdout) if result.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    found: dict[str, tuple[int, list[CheckovFinding]]] = {name: (0, []) for name in frameworks}
    for report in reports:
        summary = report.get("summary", {})
        if summary.get("parsing_errors", 0):
            raise RuntimeError(f"checkov could not parse our output: {summary}")
        # A single framework's report may omit check_type when nothing ran; it is that one.
        framework = report.get("check_type") or (frameworks[0] if len(frameworks) == 1 else "")
        if framework not in found:
            raise RuntimeError(f"checkov reported framework {framework!r}, not one of {frameworks}")
        passed, findings = found[framework]
        passed += summary.get("passed", 0)
        for item in report.get("results", {}).get("failed_checks", []):
            text = item.get("resource", "")
            path = item.get("file_abs_path")
            start, end = item.get("file_line_range", [0, 0])
            if path and start:
                text += "\n" + "\n".join(Path(path).read_text().splitlines()[start - 1 : end])
            findings.append(
                CheckovFinding(
                    framework,
                    item["check_id"],
                    item.get("check_name", ""),
                    item.get("resource") or item.get("file_path", ""),
                    text,
                    str(path or item.get("file_path") or ""),
                )
            )
        found[framework] = (passed, findings)
    return found


@dataclass
class WaiverOutcome:
    """Findings split by the waiver file."""

    waived: list[tuple[CheckovFinding, str]] = field(default_factory=list)
    unwaived: list[CheckovFinding] = field(default_factory=list)
    stale: list[dict[str, str]] = field(default_factory=list)


def apply_waivers(findings: Sequence[CheckovFinding], waiver_file: Path) -> WaiverOutcome:
    """Match findings against `waiver_file` (check id + regex over the finding's text)."""
    waivers = yaml.safe_load(waiver_file.read_text())["waivers"]
    outcome = WaiverOutcome()
    used = [0] * len(waivers)
    for finding in findings:
        matched = [
            index
            for index, waiver in enumerate(waivers)
            if waiver["check"] == finding.check_id and re.search(waiver["match"], finding.text)
        ]
        for index in matched:
            used[index] += 1
        if matched:
            outcome.waived.append((finding, waivers[matched[0]]["reason"]))
        else:
            outcome.unwaived.append(finding)
    outcome.stale = [waiver for waiver, count in zip(waivers, used, strict=True) if not count]
    return outcome
