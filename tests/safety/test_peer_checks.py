"""Peers' checks on our output: checkov's Kubernetes and secrets checks over every render.

checkov runs from its own virtualenv (`make test` builds `.venv-checkov` and exports
TKESTACK_CHECKOV). Every failing check is either fixed or waived with its reason in
policies/checkov-waivers.yaml; a waiver that no longer matches anything fails as well.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
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


SENTINEL_NAMESPACE = "tkestack-checkov-sentinel"
"""The namespace of the sentinel pod (no render of ours has it): its findings are the sentinel's."""
SENTINEL_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "bad", "namespace": SENTINEL_NAMESPACE},
    "spec": {
        "containers": [
            {"name": "c", "image": "nginx:latest", "securityContext": {"privileged": True}}
        ]
    },
}
"""A privileged pod written the way our manifests are: checkov must flag it."""


def is_sentinel(finding: safety.CheckovFinding) -> bool:
    return f".{SENTINEL_NAMESPACE}." in finding.resource


FRAMEWORK_FILES = {"kubernetes": "*.yaml", "secrets": "*.json"}
"""What each checkov framework is given: the Kubernetes checks the manifests (the JSON holds
no Kubernetes object, yet checkov's Kubernetes runner parses every `.json`, ~3 CPU-s for the
2.2 MB of renders: checkov/kubernetes/kubernetes_utils.py K8_POSSIBLE_ENDINGS), the secrets
checks the JSON, which carries every input the manifests carry and more. Run both ways once
(checkov 3.2, dev+staging+prod at 75f772b): both frameworks over every file and this split
gave the same failed checks (18 kubernetes, 6 secrets, none of them in a manifest) and the
same passed counts."""


@pytest.fixture(scope="module")
def scan(rendered, tmp_path_factory) -> list[safety.CheckovFinding]:
    """Every failed check of checkov's Kubernetes checks over every environment's manifests
    and the sentinel pod beside them, and of its secrets checks over every environment's
    JSON: two checkov processes side by side, one per framework and its files."""
    directories = {name: tmp_path_factory.mktemp(f"renders-{name}") for name in FRAMEWORK_FILES}
    for env in ENVIRONMENTS:
        rendering = rendered(env)
        (directories["kubernetes"] / f"{env}.yaml").write_text(engine.render_manifests(rendering))
        (directories["secrets"] / f"{env}.json").write_text(engine.render_json(rendering))
    sentinel = "# urn:pulumi:x::y::z::bad\n" + yaml.safe_dump(SENTINEL_POD)
    (directories["kubernetes"] / "sentinel.yaml").write_text(sentinel)
    for name, pattern in FRAMEWORK_FILES.items():
        assert {path.name for path in directories[name].iterdir()} == {
            path.name for path in directories[name].glob(pattern)
        }
    with ThreadPoolExecutor(len(FRAMEWORK_FILES)) as pool:
        runs = dict(
            zip(
                FRAMEWORK_FILES,
                pool.map(
                    lambda name: safety.run_checkov(CHECKOV, directories[name], name),
                    FRAMEWORK_FILES,
                ),
                strict=True,
            )
        )
    found: list[safety.CheckovFinding] = []
    for framework, (passed, failed) in runs.items():
        assert passed or failed, f"checkov ran no {framework} check over our renders"
        found.extend(failed)
    return found


@pytest.fixture(scope="module")
def findings(scan) -> list[safety.CheckovFinding]:
    """The failed checks of our renders (the sentinel's left out)."""
    return [finding for finding in scan if not is_sentinel(finding)]


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
def test_checkov_does_scan_our_objects(scan) -> None:
    """Not vacuous: in the same run, checkov flags the sentinel, a privileged pod written the
    way our manifests are."""
    flagged = {finding.check_id for finding in scan if is_sentinel(finding)}
    assert "CKV_K8S_16" in flagged  # privileged container
