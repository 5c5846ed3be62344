"""The CI workflow: what issue 17 asks of it, checked on the file itself (no runner here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tkestack import review as reviewing

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "review.yml"


def load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps() -> list[dict]:
    return [step for job in load()["jobs"].values() for step in job.get("steps", [])]


def test_runs_on_pull_requests_and_on_pushes_to_main() -> None:
    triggers = load()[True]  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]


def test_every_action_is_pinned_by_commit_sha_and_checkout_keeps_no_credentials() -> None:
    uses = [step["uses"] for step in steps() if "uses" in step]
    assert uses
    unpinned = [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", u)]
    assert unpinned == []
    checkouts = [s for s in steps() if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)


def test_one_review_run_writes_markdown_and_sarif_against_the_base() -> None:
    [review] = [s for s in steps() if s.get("id") == "review"]
    commands = [
        line for line in review["run"].splitlines() if line.strip().startswith("tkestack review ")
    ]
    assert len(commands) == 1  # one render per environment
    command = review["run"][review["run"].index("tkestack review") :]
    assert '"${base_args[@]}"' in command and "--sarif-output review.sarif" in command


def test_preview_runs_with_the_policy_pack_and_each_clouds_credentials() -> None:
    [preview] = [s for s in steps() if s.get("uses", "").startswith("pulumi/actions@")]
    assert preview["with"]["command"] == "preview"
    assert preview["with"]["policyPacks"] == "policies"
    assert {"TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"} <= set(preview["env"])
    assert any(
        s.get("uses", "").startswith("aws-actions/configure-aws-credentials@") for s in steps()
    )


def test_the_review_job_caches_its_installed_environment_by_the_dependency_hash() -> None:
    review = load()["jobs"]["review"]["steps"]
    [cache] = [s for s in review if s.get("id") == "venv"]
    assert cache["uses"].startswith("actions/cache@")
    assert cache["with"]["path"] == ".venv"
    assert "hashFiles('constraints.txt', 'pyproject.toml')" in cache["with"]["key"]
    assert "steps.python.outputs.python-version" in cache["with"]["key"]
    [install] = [s for s in review if s.get("name") == "Install"]
    assert install["env"]["CACHED"] == "${{ steps.venv.outputs.cache-hit }}"
    assert "-c constraints.txt" in install["run"] and "GITHUB_PATH" in install["run"]
    # The cache step comes before the install it saves.
    assert review.index(cache) < review.index(install)


def test_the_review_job_does_not_cache_the_environment_on_a_bare_requirements_file() -> None:
    """The dependency hash is the pins and pyproject.toml, never a file holding only `-e ..`."""
    key = next(s["with"]["key"] for s in steps() if s.get("uses", "").startswith("actions/cache@"))
    assert "requirements" not in key


def test_the_review_job_keeps_base_renders_between_runs_of_an_environment(monkeypatch) -> None:
    """A pull request's next push reviews against a base rendered already: the base-render
    cache folder is restored from the newest run of the environment (restore-keys by prefix)
    before the review and saved after it (a new key per commit)."""
    review = load()["jobs"]["review"]["steps"]
    [cache] = [s for s in review if s.get("id") == "base-renders"]
    assert cache["uses"].startswith("actions/cache@")
    # The folder the review uses when nothing is configured (as on the runner).
    monkeypatch.delenv(reviewing.BASE_CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    home = str(Path.home())
    assert cache["with"]["path"] == "~" + str(reviewing.base_cache_dir()).removeprefix(home)
    prefix = "review-base-renders-${{ runner.os }}-${{ matrix.environment }}-"
    assert cache["with"]["key"] == prefix + "${{ github.sha }}"
    assert cache["with"]["restore-keys"].strip().splitlines() == [prefix]
    [run] = [s for s in review if s.get("id") == "review"]
    assert review.index(cache) < review.index(run)
    assert "TKESTACK_CACHE_DIR" not in run.get("env", {})  # the default folder, the cached one
    assert "-mtime +7 -delete" in run["run"]  # the folder does not grow forever
