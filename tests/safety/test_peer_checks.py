"""Peers' checks on our output: checkov's Kubernetes and secrets checks over every render.

checkov runs from its own virtualenv (`make test` builds `.venv-checkov` and exports
TKESTACK_CHECKOV). Every failing check is either fixed or waived with its reason in
policies/checkov-waivers.yaml; a waiver that no longer matches anything fails as well.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from conftest import ENVIRONMENTS, ROOT

from tkestack import engine, safety

CHECKOV = Path(os.environ.get("TKESTACK_CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
WAIVERS = ROOT / "policies" / "checkov-waivers.yaml"

pytestmark = pytest.mark.skipif(
    not CHECKOV.exists(), reason="checkov not installed (make test installs it)"
)


@pytest.fixture(scope="module")
def findings(rendered, tmp_path_factory) -> list[safety.CheckovFinding]:
    directory = tmp_path_factory.mktemp("renders")
    for env in ENVIRONMENTS:
        rendering = rendered(env)
        (directory / f"{env}.yaml").write_text(engine.render_manifests(rendering))
        (directory / f"{env}.json").write_text(engine.render_json(rendering))
    found: list[safety.CheckovFinding] = []
    # One checkov process for both frameworks (its start-up dominates a scan this size).
    runs = safety.run_checkov_frameworks(CHECKOV, directory, ("kubernetes", "secrets"))
    for framework, (passed, failed) in runs.items():
        assert passed or failed, f"checkov ran no {framework} check over our renders"
        found.extend(failed)
    return found


@pytest.mark.slow
def test_every_finding_is_fixed_or_waived_and_no_waiver_is_stale(findings) -> None:
    waivers = yaml.safe_load(WAIVERS.read_text())["waivers"]
    assert all(waiver.get("reason", "").strip() for waiver in waivers)
    outcome = safety.apply_waivers(findings, WAIVERS)
    assert not outcome.unwaived, "fix these or waive them with a reason:\n" + "\n".join(
        f"{f.framework} {f.check_id} {f.check_name}: {f.resource}" for f in outcome.unwaived
    )
    assert not outcome.stale, f"waivers that match nothing any more: {outcome.stale}"


@pytest.mark.slow
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
    _, failed = safety.run_checkov(CHECKOV, tmp_path, "kubernetes")
    assert "CKV_K8S_16" in {finding.check_id for finding in failed}  # privileged container
