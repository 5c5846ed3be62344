"""Peers' checks on our output: checkov's Kubernetes and secrets checks over every render.

checkov runs from its own virtualenv (`make test` builds `.venv-checkov` and exports
TKESTACK_CHECKOV). Every failing check is either fixed or waived with its reason in
policies/checkov-waivers.yaml; a waiver that no longer matches anything fails as well.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ENVIRONMENTS, ROOT

from tkestack import engine

CHECKOV = os.environ.get("TKESTACK_CHECKOV", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
WAIVERS = ROOT / "policies" / "checkov-waivers.yaml"

pytestmark = pytest.mark.skipif(
    not Path(CHECKOV).exists(), reason="checkov not installed (make test installs it)"
)


def run_checkov(directory: Path, framework: str) -> list[dict[str, Any]]:
    """checkov's failed checks over `directory` (JSON report)."""
    result = subprocess.run(
        [
            CHECKOV,
            "-d",
            str(directory),
            "--framework",
            framework,
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout) if result.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    failed = []
    for report in reports:
        assert report.get("summary", {}).get("parsing_errors", 0) == 0, report["summary"]
        results = report.get("results", {})
        failed.extend(results.get("failed_checks", []))
    return failed


def finding_text(finding: dict[str, Any]) -> str:
    """What a waiver's `match` is searched in: the resource and the flagged lines."""
    text = finding.get("resource", "")
    path = finding.get("file_abs_path")
    start, end = finding.get("file_line_range", [0, 0])
    if path and start:
        lines = Path(path).read_text().splitlines()[start - 1 : end]
        text += "\n" + "\n".join(lines)
    return text


@pytest.fixture(scope="module")
def findings(rendered, tmp_path_factory) -> dict[str, list[dict[str, Any]]]:
    directory = tmp_path_factory.mktemp("renders")
    for env in ENVIRONMENTS:
        rendering = rendered(env)
        (directory / f"{env}.yaml").write_text(engine.render_manifests(rendering))
        (directory / f"{env}.json").write_text(engine.render_json(rendering))
    return {
        "kubernetes": run_checkov(directory, "kubernetes"),
        "secrets": run_checkov(directory, "secrets"),
    }


def test_every_finding_is_fixed_or_waived_and_no_waiver_is_stale(findings) -> None:
    waivers = yaml.safe_load(WAIVERS.read_text())["waivers"]
    for waiver in waivers:
        assert waiver.get("reason", "").strip(), f"waiver without a reason: {waiver}"
    used = [0] * len(waivers)
    unwaived = []
    for framework, failed in findings.items():
        for finding in failed:
            text = finding_text(finding)
            matches = [
                index
                for index, waiver in enumerate(waivers)
                if waiver["check"] == finding["check_id"] and re.search(waiver["match"], text)
            ]
            for index in matches:
                used[index] += 1
            if not matches:
                unwaived.append(
                    f"{framework} {finding['check_id']} {finding.get('check_name')}:"
                    f" {finding.get('resource') or finding.get('file_path')}"
                )
    assert not unwaived, "fix these or waive them with a reason:\n" + "\n".join(unwaived)
    stale = [waiver for waiver, count in zip(waivers, used, strict=True) if not count]
    assert not stale, f"waivers that match nothing any more: {stale}"


def test_checkov_does_scan_our_objects(findings, tmp_path) -> None:
    """Not vacuous: checkov flags a privileged pod written the way our manifests are."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "default"},
        "spec": {
            "containers": [
                {"name": "c", "image": "nginx:latest", "securityContext": {"privileged": True}}
            ]
        },
    }
    (tmp_path / "bad.yaml").write_text("# urn:pulumi:x::y::z::bad\n" + yaml.safe_dump(pod))
    ids = {finding["check_id"] for finding in run_checkov(tmp_path, "kubernetes")}
    assert "CKV_K8S_16" in ids  # privileged container
