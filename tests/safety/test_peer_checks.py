"""Peers' checks on our output: checkov's Kubernetes and secrets checks over every render.

checkov runs from its own virtualenv (`make test` builds `.venv-checkov` and exports
TKESTACK_CHECKOV). Every failing check is either fixed or waived with its reason in
policies/checkov-waivers.yaml; a waiver that no longer matches anything fails as well.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


FRAMEWORKS = ("kubernetes", "secrets")
"""checkov's checks run over the renders, in ONE checkov process over one folder (its
start-up, ~2.6 CPU-s, is most of a small scan's cost): the Kubernetes checks read the
manifests, and parse every `.json` that mentions `apiVersion` and `kind` (checkov 3.3.30
checkov/kubernetes/kubernetes_utils.py K8_POSSIBLE_ENDINGS, kubernetes/parser/k8_json.py
`load`), finding no Kubernetes object in our JSON; the secrets checks read both, the JSON
carrying every input the manifests carry and more. Over the full renders that parse cost
~3 CPU-s, more than a start-up, so the two ran apart; over `distinct_json`'s third of the
lines it costs less (checkov 3.3.30 at 32b905a: ~5.5 CPU-s for one process against ~8 for
two, with the same failed checks and passed counts)."""

DOCUMENT_SEPARATOR = "---\n"
"""Between two documents of `render --format manifests` (engine.render_manifests)."""


def distinct_manifests(manifests: dict[str, str]) -> dict[str, str]:
    """Each environment's `render --format manifests` text keeping only the documents whose
    object (all but the `# URN` comment line above it) no earlier document of any
    environment had. prod's clusters and the three environments install the same tenant
    Roles, NetworkPolicies, quotas and rules: 275 documents, 82 distinct objects (checkov's
    run, start-up included, ~3.3 CPU-s before, ~2.6 after). checkov's Kubernetes checks judge an
    object by its content (its id is `Kind.namespace.name`, part of it), and its graph
    checks connect objects by their names and labels, which a kept copy carries the same
    (checkov 3.3.30 checkov/kubernetes/runner.py, graph_builder/): a repeated object can
    only repeat its first copy's findings, under the same resource id. Run both ways
    (checkov 3.3.30 at 32b905a): the same failed checks (check, resource, lines)."""
    seen: set[str] = set()
    kept: dict[str, str] = {}
    for env, text in manifests.items():
        documents = text.split(DOCUMENT_SEPARATOR)
        assert DOCUMENT_SEPARATOR.join(documents) == text
        new = []
        for document in documents:
            comment, body = document.split("\n", 1)
            assert comment.startswith("# urn:pulumi:"), comment
            if body not in seen:
                seen.add(body)
                new.append(document)
        kept[env] = DOCUMENT_SEPARATOR.join(new)
    return kept


def manifest_objects(texts: Iterable[str]) -> set[str]:
    """Every distinct object (a document less its `# URN` line) of these manifests."""
    return {
        document.split("\n", 1)[1] for text in texts for document in text.split(DOCUMENT_SEPARATOR)
    }


def distinct_json(documents: dict[str, str]) -> dict[str, str]:
    """Each environment's `render --format json` document, formatted as `render_json`
    formats it, less every object entry (`"key": value`, at any depth of a resource) that an
    earlier entry already carried byte for byte, with the same comma after it, in this or
    an earlier environment. An object's last entry always stays, so every line left keeps
    its comma and every resource its urn. prod's clusters install the same add-ons and
    tenants with the same inputs, tags and dependencies: 50,838 lines become ~16,500.
    checkov's secrets scan runs every plugin on every line (bc-detect-secrets 1.5.52,
    detect_secrets/core/scan.py `_process_line_based_plugins`), ~0.13 ms a line: ~9 CPU-s
    before, ~4.5 after, start-up included.

    Enough because the secrets checks read a line at a time, with the five lines either
    side as context (detect_secrets/util/code_snippet.py `get_code_snippet`): the scan
    still sees every distinct line of the renders (asserted), and each left-out entry as a
    whole, its key above its values, where it was kept. What differs is only which lines
    stand next to a kept entry; a repeated line's findings would repeat the kept one's,
    and waivers match a finding's line, not its place. Run both ways (checkov 3.3.30 at
    32b905a): the same failed checks (check, secret hash, flagged line)."""
    seen: set[str] = set()

    def prune(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                prune(item)
        elif isinstance(value, dict):
            last = max(value, default=None)
            for key in sorted(value):
                entry = json.dumps({key: value[key]}, sort_keys=True) + ("" if key == last else ",")
                if entry in seen and key != last:
                    del value[key]
                else:
                    seen.add(entry)
                    prune(value[key])

    kept: dict[str, str] = {}
    for env, text in documents.items():
        document = json.loads(text)
        prune(document["resources"])
        kept[env] = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return kept


def lines(texts: Iterable[str]) -> set[str]:
    """The distinct lines of these texts, as the secrets scan reads them (stripped)."""
    return {line.strip() for text in texts for line in text.splitlines()}


@pytest.fixture(scope="module")
def scan(rendered, tmp_path_factory) -> list[safety.CheckovFinding]:
    """Every failed check of checkov's Kubernetes checks over every environment's manifests
    (`distinct_manifests`) and the sentinel pod beside them, and of its secrets checks over
    every environment's JSON (`distinct_json`), and the other framework's over each:
    one checkov process (FRAMEWORKS)."""
    manifests = {env: engine.render_manifests(rendered(env)) for env in ENVIRONMENTS}
    documents = {env: engine.render_json(rendered(env)) for env in ENVIRONMENTS}
    scanned = {"kubernetes": distinct_manifests(manifests), "secrets": distinct_json(documents)}
    # Not one object, not one line the renders carry is left out of the scan.
    assert manifest_objects(scanned["kubernetes"].values()) == manifest_objects(manifests.values())
    assert lines(scanned["secrets"].values()) == lines(documents.values())
    directory = tmp_path_factory.mktemp("renders")
    for env in ENVIRONMENTS:
        (directory / f"{env}.yaml").write_text(scanned["kubernetes"][env])
        (directory / f"{env}.json").write_text(scanned["secrets"][env])
    sentinel = "# urn:pulumi:x::y::z::bad\n" + yaml.safe_dump(SENTINEL_POD)
    (directory / "sentinel.yaml").write_text(sentinel)
    runs = safety.run_checkov_frameworks(CHECKOV, directory, FRAMEWORKS)
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
