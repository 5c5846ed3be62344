"""`tkestack review` end to end: verdicts and exit codes, the base/head diff, SARIF."""

from __future__ import annotations

import dataclasses
import gc
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import TEST_ACCOUNTS
from review_support import DEPLOYER, git, prod_environment, repository_with_changes, write_stack
from typer.testing import CliRunner

from tkestack import cli, engine, fleet, report
from tkestack import review as reviewing
from tkestack.review import base as base_render

ROOT = Path(__file__).resolve().parents[2]
SARIF_SUBSET = ROOT / "tests" / "fixtures" / "sarif-2.1.0-subset.schema.json"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"


def with_defects(rendering: engine.Rendering) -> engine.Rendering:
    """The rendering with an untainted GPU node group and a wildcard ClusterRole (the spec
    cannot express either: GPU taints are derived, roles come from components)."""
    resources = []
    for resource in rendering.resources:
        if resource.type == "aws:eks/nodeGroup:NodeGroup" and "gpu" in resource.name:
            inputs = {k: v for k, v in resource.inputs.items() if k != "taints"}
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    provider = next(r for r in resources if r.type == "pulumi:providers:kubernetes")
    name = "pl-use1-wildcard-operator"
    resources.append(
        engine.RenderedResource(
            urn=f"urn:pulumi:{rendering.stack}::{rendering.project}::{CLUSTER_ROLE}::{name}",
            type=CLUSTER_ROLE,
            name=name,
            custom=True,
            parent=None,
            provider=provider.urn,
            dependencies=[],
            protect=False,
            inputs={
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "wildcard-operator"},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            },
        )
    )
    resources.sort(key=lambda r: r.urn)
    return dataclasses.replace(rendering, resources=resources)


def render_with_defects(monkeypatch: pytest.MonkeyPatch, rendering: engine.Rendering) -> None:
    """The CLI's render answers with `rendering` `with_defects` (no render runs)."""
    monkeypatch.setattr(
        cli,
        "run_render_environment",
        lambda *args, **kwargs: fleet.EnvironmentRender.single(with_defects(rendering)),
    )


@pytest.fixture(scope="module")
def public_prod(tmp_path_factory) -> tuple[Path, engine.Rendering]:
    directory = tmp_path_factory.mktemp("prodlike")
    stack_file = write_stack(
        directory,
        "prodlike",
        prod_environment(endpoint={"exposure": "public", "public_access_cidrs": ["0.0.0.0/0"]}),
    )
    return stack_file, engine.render(engine.read_stack_config(stack_file, ROOT))


def test_prod_with_public_endpoint_untainted_gpu_and_wildcard_role_exits_1(
    public_prod, monkeypatch
) -> None:
    stack_file, rendering = public_prod
    render_with_defects(monkeypatch, rendering)
    result = CliRunner().invoke(cli.app, ["review", str(stack_file), "--format", "json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    mandatory = {
        (v["policy"], v["resourceName"])
        for v in document["violations"]
        if v["level"] == "mandatory"
    }
    assert ("cluster-endpoint-private", "pl-use1-eks") in mandatory
    assert ("gpu-pool-tainted", "pl-use1-gpu-node-group") in mandatory
    assert ("rbac-no-wildcards", "pl-use1-wildcard-operator") in mandatory


def test_the_renderings_are_out_of_the_collections_while_the_review_runs_and_only_then(
    public_prod, monkeypatch
) -> None:
    """`review.renderings_kept`: the rendering (and its render's garbage) frozen while the
    policies run, unfrozen when the command ends, a failing one (exit 1) included, so a
    process that goes on (this one) collects them."""
    stack_file, rendering = public_prod
    render_with_defects(monkeypatch, rendering)
    frozen = []
    judge = reviewing.review

    def spy(*args: Any, **kwargs: Any) -> Any:
        frozen.append(gc.get_freeze_count())
        return judge(*args, **kwargs)

    monkeypatch.setattr(reviewing, "review", spy)
    # The suite freezes what its collection built (tests/conftest.py): start unfrozen, as the
    # command does, and leave the suite's freeze as it was after.
    suite_frozen = gc.get_freeze_count()
    gc.unfreeze()
    try:
        result = CliRunner().invoke(cli.app, ["review", str(stack_file), "--format", "json"])
        assert result.exit_code == 1, result.output
        assert len(frozen) == 1 and frozen[0] > 0
        assert gc.get_freeze_count() == 0
        with pytest.raises(RuntimeError), reviewing.renderings_kept():
            assert gc.get_freeze_count() > 0
            raise RuntimeError
        assert gc.get_freeze_count() == 0
        # A freeze made before the review is not undone by it (only added to).
        gc.freeze()
        before = gc.get_freeze_count()
        with reviewing.renderings_kept():
            pass
        assert gc.get_freeze_count() >= before > 0
    finally:
        if suite_frozen:
            gc.freeze()
        else:
            gc.unfreeze()


def test_protocol_runs_the_pack_over_its_protocol_and_reports_the_same(
    public_prod, monkeypatch
) -> None:
    """`--protocol` drives the pack as `pulumi preview` does; the default evaluates its rules
    in process: the same document either way."""
    stack_file, rendering = public_prod
    render_with_defects(monkeypatch, rendering)
    over_protocol = []
    run_pack = reviewing.run_pack

    def spy(*args: Any, **kwargs: Any) -> Any:
        over_protocol.append(args[0].stack)
        return run_pack(*args, **kwargs)

    monkeypatch.setattr(reviewing, "run_pack", spy)
    command = ["review", str(stack_file), "--format", "json"]
    default = CliRunner().invoke(cli.app, command)
    assert over_protocol == []
    protocol = CliRunner().invoke(cli.app, [*command, "--protocol"])
    assert over_protocol == ["prodlike"]
    assert default.exit_code == protocol.exit_code == 1, protocol.output
    assert protocol.stdout == default.stdout


def test_markdown_groups_by_level_and_severity_and_draws_the_environment(public_prod) -> None:
    _, rendering = public_prod
    result = reviewing.review(with_defects(rendering))
    text = report.markdown(result)
    assert text.startswith("<!-- tkestack-review:prodlike -->")
    assert "mandatory violation(s): this change would be blocked" in text
    mandatory_at = text.index("#### Mandatory")
    assert text.index("`cluster-endpoint-private`") > mandatory_at
    assert "```mermaid\nflowchart LR" in text
    assert "gpu: x86_64, GPU nvidia-t4" in text


def test_sarif_is_valid_and_has_a_rule_per_policy_and_a_result_per_violation(public_prod):
    _, rendering = public_prod
    result = reviewing.review(with_defects(rendering))
    document = json.loads(report.sarif(result, "Pulumi.prodlike.yaml"))
    schema = json.loads(SARIF_SUBSET.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(document, schema)
    run = document["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [
        p.name for p in result.policies
    ]
    assert len(run["results"]) == len(result.findings)
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["cluster-endpoint-private"] == "error"


def test_shipped_spec_with_private_endpoint_has_no_endpoint_violation(tmp_path) -> None:
    stack_file = write_stack(tmp_path, "prodlike", prod_environment())
    result = CliRunner().invoke(cli.app, ["review", str(stack_file), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    policies = {v["policy"] for v in json.loads(result.stdout)["violations"]}
    assert "cluster-endpoint-private" not in policies
    assert "gpu-pool-tainted" not in policies


def test_usage_errors_exit_2(tmp_path) -> None:
    result = CliRunner().invoke(cli.app, ["review", "no-such-env"])
    assert result.exit_code == 2
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  tkestack:environment:\n    name: Bad Name\n", encoding="utf-8")
    assert CliRunner().invoke(cli.app, ["review", str(bad)]).exit_code == 2


# ---------------------------------------------------------------- base/head diff


def dev_environment(service_cidr: str = "172.20.0.0/16", version: str = "1.33") -> dict[str, Any]:
    return {
        "name": "difftest",
        "tier": "dev",
        "identity": dict(TEST_ACCOUNTS),
        "deployer": DEPLOYER,
        "tags": {"owner": "platform-team", "cost-center": "platform-dev"},
        "clusters": [
            {
                "name": "dt-use1",
                "cloud": "aws",
                "region": "us-east-1",
                "kubernetes_version": version,
                "network": {"vpc_cidr": "10.50.0.0/16", "service_cidr": service_cidr},
                "node_pools": [{"name": "general", "instance_types": ["m7i.xlarge"]}],
            }
        ],
    }


@pytest.fixture(scope="module")
def difftest_repo(tmp_path_factory) -> Path:
    """One repository for the base/head diff tests: the base on `main`, each test's change a
    branch on top of it. The tests of one worker share the base commit, so its render (a
    fresh process at the base tree) runs once and the base-render cache answers the other."""
    return repository_with_changes(
        tmp_path_factory.mktemp("difftest"),
        dev_environment(),
        {
            "new-service-cidr": (dev_environment("172.21.0.0/16"), "head: new service CIDR"),
            "skip-a-minor": (dev_environment(version="1.35"), "head: straight to 1.35"),
        },
    )


@pytest.mark.slow
def test_base_diff_shows_cluster_replacement_at_the_top(
    difftest_repo, tmp_path, monkeypatch
) -> None:
    git(difftest_repo, "checkout", "-q", "new-service-cidr")
    monkeypatch.chdir(difftest_repo)

    # One invocation: the markdown on stdout, the JSON of the same review beside it.
    output = tmp_path / "review.json"
    result = CliRunner().invoke(
        cli.app, ["review", "difftest", "--base", "HEAD~1", "--json-output", str(output)]
    )
    assert result.exit_code in (0, 1), result.output
    changes = json.loads(output.read_text())["changes"]
    top = changes[0]
    assert top["type"] == "aws:eks/cluster:Cluster"
    assert top["kind"] == "replaced" and top["destructive"]
    assert top["replaceKeys"] == ["kubernetesNetworkConfig.serviceIpv4Cidr"]
    assert top["because"] == []
    # A new cluster means a new Kubernetes provider, so every object in the cluster is
    # replaced with it: each later destructive change is a consequence, naming its cause.
    consequences = [c for c in changes[1:] if c["destructive"]]
    assert consequences and all(c["because"] for c in consequences)
    assert any(
        c["type"] == "pulumi:providers:kubernetes" and c["kind"] == "replaced" for c in changes
    )

    markdown = result.stdout
    caution = markdown.index("[!CAUTION]")
    assert caution < markdown.index("### Changes against `HEAD~1`")
    assert "**replaced** `dt-use1-eks`" in markdown


def test_base_ref_that_does_not_exist_is_a_usage_error(tmp_path, monkeypatch) -> None:
    """Refused before the head is rendered: the user waits for no render to learn of a typo."""
    monkeypatch.chdir(ROOT)
    heads: list[str] = []
    monkeypatch.setattr(cli, "run_render_environment", lambda env, **_: heads.append(env))
    result = CliRunner().invoke(cli.app, ["review", "dev", "--base", "no-such-ref-xyz"])
    assert result.exit_code == 2
    assert "no-such-ref-xyz" in result.output
    assert heads == []


def test_diff_classifies_changes() -> None:
    cluster = "aws:eks/cluster:Cluster"
    base = {
        "resources": [
            {"urn": "u1", "type": cluster, "name": "c", "inputs": {"version": "1.32"}},
            {"urn": "u2", "type": "aws:ecr/repository:Repository", "name": "r", "inputs": {}},
            {"urn": "u3", "type": cluster, "name": "d", "inputs": {"name": "d"}},
        ]
    }
    head = {
        "resources": [
            {"urn": "u1", "type": cluster, "name": "c", "inputs": {"version": "1.33"}},
            {"urn": "u3", "type": cluster, "name": "d", "inputs": {"name": "d2"}},
            {"urn": "u4", "type": cluster, "name": "e", "inputs": {}},
        ]
    }
    changes = reviewing.diff(base, head)
    assert [(c.kind, c.urn) for c in changes] == [
        ("replaced", "u3"),
        ("removed", "u2"),
        ("changed", "u1"),
        ("added", "u4"),
    ]
    assert changes[2].keys == ("version",)


def test_diff_flags_control_plane_versions_the_cloud_refuses() -> None:
    eks, tke = "aws:eks/cluster:Cluster", "tencentcloud:Kubernetes/cluster:Cluster"
    refused = reviewing.refused_upgrade
    assert refused(eks, {"version": "1.33"}, {"version": "1.34"}) is None
    assert refused(tke, {"clusterVersion": "1.30.0"}, {"clusterVersion": "1.30.2"}) is None
    assert refused(eks, {"version": "1.33"}, {"version": "1.33"}) is None
    assert refused(eks, {}, {"version": "1.35"}) is None  # no known version before
    assert refused("aws:eks/nodeGroup:NodeGroup", {"version": "1.31"}, {"version": "1.35"}) is None
    assert refused(eks, {"version": "1.33"}, {"version": "1.35"}) == (
        "`version` 1.33 -> 1.35: control planes upgrade one minor version at a time;"
        " go through 1.34 first, one `pulumi up` each"
    )
    assert "go through 1.31, 1.32 first" in refused(
        tke, {"clusterVersion": "1.30.0"}, {"clusterVersion": "1.33.1"}
    )
    assert "cannot be downgraded" in refused(eks, {"version": "1.34"}, {"version": "1.33"})
    assert "cannot be downgraded" in refused(
        tke, {"clusterVersion": "1.30.2"}, {"clusterVersion": "1.30.0"}
    )
    assert "go through 1.33" in refused(eks, {"version": "v1.32"}, {"version": "v1.34"})

    base = {"resources": [{"urn": "u1", "type": eks, "name": "c", "inputs": {"version": "1.32"}}]}
    head = {"resources": [{"urn": "u1", "type": eks, "name": "c", "inputs": {"version": "1.34"}}]}
    [change] = reviewing.diff(base, head)
    assert change.kind == "changed" and "go through 1.33" in change.refused


@pytest.mark.slow
def test_review_fails_on_an_upgrade_that_skips_a_minor(
    difftest_repo, tmp_path, monkeypatch
) -> None:
    git(difftest_repo, "checkout", "-q", "skip-a-minor")
    monkeypatch.chdir(difftest_repo)

    # Markdown, JSON and SARIF of the same review from one invocation (what CI runs).
    json_output, sarif_output = tmp_path / "review.json", tmp_path / "review.sarif"
    result = CliRunner().invoke(
        cli.app,
        [
            *("review", "difftest", "--base", "HEAD~1"),
            *("--json-output", str(json_output), "--sarif-output", str(sarif_output)),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "**Changes the cloud would refuse during `pulumi up`:**" in result.stdout
    assert "`dt-use1-eks` `aws:eks/cluster:Cluster`: `version` 1.33 -> 1.35" in result.stdout
    assert "go through 1.34 first" in result.stderr
    changes = json.loads(json_output.read_text())["changes"]
    [refused] = [c for c in changes if c["refused"]]
    assert refused["type"] == "aws:eks/cluster:Cluster"
    sarif = json.loads(sarif_output.read_text())
    jsonschema.validate(sarif, json.loads(SARIF_SUBSET.read_text()))
    run = sarif["runs"][0]
    [result] = [r for r in run["results"] if r["ruleId"] == "control-plane-upgrade-refused"]
    assert result["level"] == "error"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


# ---------------------------------------------------------------- base render: parallel, cached


def test_base_renders_while_the_head_renders(monkeypatch) -> None:
    """`review --base` starts the base render before the head render and both run at once:
    the fake base render waits for the head render to start, the fake head for the base."""
    import threading

    import typer

    base_started, head_started = threading.Event(), threading.Event()

    def base_render_stub(base: Any) -> dict[str, Any]:
        base_started.set()
        assert head_started.wait(60), "the head render never started while the base rendered"
        return {"resources": [], "outputs": {}}

    def head_render(*args: Any, **kwargs: Any) -> fleet.EnvironmentRender:
        head_started.set()
        assert base_started.wait(60), "the base render had not started when the head rendered"
        raise typer.Exit(7)  # stop here: the order is what this test is about

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TKESTACK_CACHE_DIR", "")
    # The checkout's path (a thread waiting on a subprocess); the forked path of a base that
    # runs this code is in test_review_base.py.
    monkeypatch.setattr(base_render, "_runs_this_code", lambda base: False)
    monkeypatch.setattr(base_render, "_render_checkout", base_render_stub)
    monkeypatch.setattr(cli, "run_render_environment", head_render)
    result = CliRunner().invoke(cli.app, ["review", "dev", "--base", "HEAD"])
    assert result.exit_code == 7, result.output
    assert base_started.is_set() and head_started.is_set()


def _two_commits(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "ci")
    for text in ("one", "two"):
        (repo / "Pulumi.env.yaml").write_text(f"config: {{x: {text}}}\n", encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", text)
    return repo


def test_a_base_render_is_reused_for_the_same_commit_and_not_for_another(
    tmp_path, monkeypatch
) -> None:
    repo = _two_commits(tmp_path)
    monkeypatch.setenv("TKESTACK_CACHE_DIR", str(tmp_path / "cache"))
    renders: list[str] = []

    def render_commit(root, commit, ref, env, relative, timeout) -> dict[str, Any]:
        renders.append(commit)
        return {"resources": [{"urn": commit}], "outputs": {}}

    monkeypatch.setattr(base_render, "_render_commit", render_commit)
    first = reviewing.render_at_ref("HEAD~1", "env", repo)
    again = reviewing.render_at_ref("main~1", "env", repo)  # another name, the same commit
    other = reviewing.render_at_ref("HEAD", "env", repo)
    assert first == again and first != other
    assert len(renders) == 2 and renders[0] != renders[1]
    # A torn cache file is rendered again, not trusted.
    [torn] = [
        p
        for p in (tmp_path / "cache" / "base-renders").iterdir()
        if p.read_text() and json.loads(p.read_text()) == first
    ]
    torn.write_text('{"resources": [', encoding="utf-8")
    assert reviewing.render_at_ref("HEAD~1", "env", repo) == first
    assert len(renders) == 3


def test_an_empty_cache_dir_setting_turns_the_base_cache_off(tmp_path, monkeypatch) -> None:
    repo = _two_commits(tmp_path)
    monkeypatch.setenv("TKESTACK_CACHE_DIR", "")
    renders: list[str] = []
    monkeypatch.setattr(
        base_render,
        "_render_commit",
        lambda root, commit, *rest: renders.append(commit) or {"resources": [], "outputs": {}},
    )
    reviewing.render_at_ref("HEAD", "env", repo)
    reviewing.render_at_ref("HEAD", "env", repo)
    assert len(renders) == 2
    assert reviewing.base_cache_dir() is None


def test_the_base_cache_key_follows_the_installed_sdks(monkeypatch) -> None:
    key = base_render._cache_key("a" * 40, "prod", Path("."))
    monkeypatch.setattr(base_render, "_render_distributions", lambda: ["pulumi-aws==0.0.1"])
    assert base_render._cache_key("a" * 40, "prod", Path(".")) != key
