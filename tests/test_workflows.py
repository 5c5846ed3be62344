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
    [preview] = [
        s for s in steps() if s.get("uses", "").startswith("pulumi/actions@") and "with" in s
    ]
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


# --- deploy.yml: the stacks of an environment, wave by wave, each on its runner (issue 15) ---

DEPLOY = ROOT / ".github" / "workflows" / "deploy.yml"


def deploy() -> dict:
    return yaml.safe_load(DEPLOY.read_text(encoding="utf-8"))


def test_deploy_actions_are_pinned_by_commit_sha_and_checkout_keeps_no_credentials() -> None:
    all_steps = [step for job in deploy()["jobs"].values() for step in job.get("steps", [])]
    uses = [step["uses"] for step in all_steps if "uses" in step]
    assert uses
    assert [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", u)] == []
    checkouts = [s for s in all_steps if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == len(deploy()["jobs"])  # every job checks out, without credentials
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


def _plan_script() -> tuple[str, dict]:
    [step] = [s for s in deploy()["jobs"]["plan"]["steps"] if s.get("id") == "topology"]
    run = step["run"]
    assert run.splitlines()[0] == 'tkestack topology "$ENVIRONMENT" --json > topology.json'
    script = run[run.index("<<'PY'\n") + len("<<'PY'\n") : run.rindex("PY")]
    return script, step["env"]


def _plan(tmp_path: Path, document: dict) -> dict[str, list]:
    """Run the plan job's script on a `tkestack topology --json` document."""
    import json
    import os
    import subprocess
    import sys

    script, env = _plan_script()
    (tmp_path / "topology.json").write_text(json.dumps(document), encoding="utf-8")
    output = tmp_path / "output"
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "WAVE_JOBS": env["WAVE_JOBS"], "GITHUB_OUTPUT": str(output)},
        check=True,
        capture_output=True,
    )
    lines = output.read_text(encoding="utf-8").splitlines()
    return {line.split("=", 1)[0]: json.loads(line.split("=", 1)[1]) for line in lines}


def _prod_topology() -> dict:
    from conftest import stack_config

    from tkestack import fleet

    return fleet.topology_document(fleet.environment_spec(stack_config(ROOT / "Pulumi.prod.yaml")))


def test_the_plan_job_makes_each_wave_s_matrix_from_the_environment_file(tmp_path) -> None:
    outputs = _plan(tmp_path, _prod_topology())
    assert set(outputs) == {f"wave_{n}" for n in range(1, 5)}
    assert [[e["stack"] for e in outputs[f"wave_{n}"]] for n in range(1, 5)] == [
        ["prod.prod-sh"],
        ["prod.prod-euc1", "prod.prod-onprem"],
        ["prod.prod-use1"],
        [],
    ]
    # Each cluster stack runs on the self-hosted runner its spec names.
    assert outputs["wave_1"][0]["runs_on"] == ["self-hosted", "prod-tencent-ap-shanghai"]
    assert outputs["wave_1"][0]["cluster"] == "prod-sh"
    assert outputs["wave_3"][0]["runs_on"] == ["self-hosted", "prod-aws-us-east-1"]
    # A cluster without a runner label goes to the default runner.
    document = _prod_topology()
    document["waves"][0][0]["runner"] = None
    assert _plan(tmp_path, document)["wave_1"][0]["runs_on"] == "ubuntu-latest"


def test_the_plan_job_refuses_more_waves_than_the_workflow_has_jobs(tmp_path) -> None:
    import subprocess

    document = _prod_topology()
    document["waves"] = [[entry] for entry in document["stacks"][1:]] * 2  # 8 waves
    try:
        _plan(tmp_path, document)
    except subprocess.CalledProcessError as error:
        assert "has 8 waves; this workflow has 4 wave jobs" in error.stderr.decode()
    else:
        raise AssertionError("8 waves were accepted by a workflow with 4 wave jobs")


def test_the_shared_stack_runs_first_on_the_default_runner_then_the_waves_in_order() -> None:
    jobs = deploy()["jobs"]
    _, env = _plan_script()
    waves = [name for name in jobs if name.startswith("wave-")]
    assert waves == [f"wave-{n}" for n in range(1, int(env["WAVE_JOBS"]) + 1)]
    assert set(jobs["plan"]["outputs"]) == {f"wave_{n}" for n in range(1, len(waves) + 1)}
    shared = jobs["shared"]
    assert shared["needs"] == "plan" and shared["runs-on"] == "ubuntu-latest"
    [pulumi] = [s for s in shared["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert pulumi["with"]["stack-name"] == "${{ inputs.environment }}"
    assert pulumi["with"]["command"] == "${{ inputs.operation }}"
    previous = "shared"
    for number, name in enumerate(waves, start=1):
        job = jobs[name]
        assert job["needs"] == ["plan", previous]  # a wave after the one before
        assert "!failure()" in job["if"] and f"needs.plan.outputs.wave_{number}" in job["if"]
        assert job["strategy"]["fail-fast"] is False  # a running pulumi up is never cut off
        assert job["strategy"]["matrix"]["stack"] == (
            f"${{{{ fromJSON(needs.plan.outputs.wave_{number}) }}}}"
        )
        assert job["runs-on"] == "${{ matrix.stack.runs_on }}"
        assert job["environment"] == "${{ inputs.environment }}"
        [deploy_step] = [s for s in job["steps"] if "tkestack" in s.get("run", "")]
        assert deploy_step["run"] == 'tkestack "$OPERATION" "$ENVIRONMENT" --cluster "$CLUSTER"'
        assert deploy_step["env"]["CLUSTER"] == "${{ matrix.stack.cluster }}"
        assert any(s.get("uses", "").startswith("pulumi/actions@") for s in job["steps"])
        previous = name
    assert shared["environment"] == "${{ inputs.environment }}"


def _stacks_script() -> tuple[str, str]:
    [step] = [s for s in load()["jobs"]["stacks"]["steps"] if s.get("id") == "topology"]
    run = step["run"]
    script = run[run.index("<<'PY'\n") + len("<<'PY'\n") : run.rindex("PY")]
    return run, script


def test_the_stacks_job_lists_each_cluster_stack_of_a_per_cluster_environment(tmp_path) -> None:
    """Issue 15: the review workflow previews every derived stack, not only the shared one.
    The stacks job's own script runs here on `tkestack topology --json` of prod and dev."""
    import json
    import os
    import subprocess
    import sys

    from conftest import stack_config

    from tkestack import fleet

    run, script = _stacks_script()
    assert 'tkestack topology "$env" --json > "topology-$env.json"' in run
    for env in ("prod", "dev"):
        spec = fleet.environment_spec(stack_config(ROOT / f"Pulumi.{env}.yaml"))
        document = fleet.topology_document(spec)
        (tmp_path / f"topology-{env}.json").write_text(json.dumps(document), encoding="utf-8")
    output = tmp_path / "output"
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "ENVIRONMENTS": '["dev","prod"]', "GITHUB_OUTPUT": str(output)},
        check=True,
        capture_output=True,
    )
    [line] = output.read_text(encoding="utf-8").splitlines()
    key, value = line.split("=", 1)
    clusters = json.loads(value)
    assert key == "clusters"
    # dev is `single`: its one stack is the preview job's; prod's four cluster stacks here.
    assert [entry["stack"] for entry in clusters] == [
        "prod.prod-sh",
        "prod.prod-euc1",
        "prod.prod-onprem",
        "prod.prod-use1",
    ]
    assert {entry["environment"] for entry in clusters} == {"prod"}
    assert clusters[0]["runs_on"] == ["self-hosted", "prod-tencent-ap-shanghai"]
    assert clusters[0]["cluster"] == "prod-sh"


def test_each_cluster_stack_is_previewed_with_the_policy_pack_on_its_runner() -> None:
    jobs = load()["jobs"]
    job = jobs["preview-clusters"]
    assert job["needs"] == "stacks"
    assert job["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.clusters) }}"
    assert job["strategy"]["fail-fast"] is False
    assert job["runs-on"] == "${{ matrix.runs_on }}"
    # Never a fork's code on the self-hosted runners.
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    [step] = [s for s in job["steps"] if "tkestack preview" in s.get("run", "")]
    assert step["run"].split() == [
        "tkestack",
        "preview",
        '"$ENVIRONMENT"',
        "--cluster",
        '"$CLUSTER"',
        "--policy-pack",
        "policies",
        "--policy-pack-config",
        '"$POLICY_CONFIG"',
    ]
    assert step["env"]["CLUSTER"] == "${{ matrix.cluster }}"
    assert {"PULUMI_ACCESS_TOKEN", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"} <= set(
        step["env"]
    )
    names = [s.get("name") for s in job["steps"]]
    # The same credentials check as the environment's own preview, for the cluster's cloud.
    clouds = job["steps"][names.index("Clouds this stack uses, and their credentials")]
    assert clouds["env"]["CLUSTER"] == "${{ matrix.cluster }}"
    assert clouds == next(s for s in jobs["preview"]["steps"] if s.get("id") == "clouds")
    assert names.index("Install the Pulumi CLI") < names.index(step["name"])
