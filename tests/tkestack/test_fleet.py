"""Fleet topology (issue 15): prod and a generated fleet split into a shared stack and one
stack per cluster lose and duplicate no resource against their single-stack render, every
stack reference is answered from the render of the stack it reads, and the `pulumi state
move` commands carry each cluster's resources."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, shared_render, stack_config

from tkestack import engine, fleet

sys.path.insert(0, str(ROOT / "bench"))
from fleet import scaled_tenants, write_fleet


@pytest.fixture(scope="module")
def prod_split(
    rendered_environment, tmp_path_factory
) -> tuple[engine.Rendering, dict[str, engine.Rendering]]:
    """The single-stack render of prod (once per test run: conftest's `shared_render`), and
    the shipped prod's derived stacks as `tkestack render prod` renders them."""
    config = fleet.with_topology(stack_config(ROOT / "Pulumi.prod.yaml"), "single")
    single = shared_render(tmp_path_factory, "prod-single", lambda: engine.render(config))
    return single, rendered_environment("prod").stacks


@pytest.mark.slow
def test_shipped_prod_renders_as_a_shared_stack_and_one_per_cluster(prod_split) -> None:
    _, parts = prod_split
    # In deploy order: the shared stack, then the waves of `rollout.waves`.
    assert list(parts) == [
        "prod",
        "prod.prod-sh",
        "prod.prod-euc1",
        "prod.prod-onprem",
        "prod.prod-use1",
    ]
    # The shared stack holds no cluster's resource, only the environment's references
    # (docs/topology.md says why each shared thing lives in a cluster stack).
    assert parts["prod"].resources == []
    assert set(parts["prod"].stack_outputs) == {"environment", "deployer"}
    for name, part in parts.items():
        assert {urn.split("::", 1)[0] for urn in part.by_urn()} <= {f"urn:pulumi:{name}"}


def test_the_whole_view_has_every_stack_and_the_single_stacks_outputs(
    prod_split, rendered_environment
) -> None:
    single, parts = prod_split
    whole = rendered_environment("prod").whole
    assert len(whole.resources) == sum(len(part.resources) for part in parts.values())
    assert [r.urn for r in whole.resources] == sorted(r.urn for r in whole.resources)
    # The merged outputs of the derived stacks are the single stack's, to the byte.
    assert engine.masked(whole.stack_outputs) == engine.masked(single.stack_outputs)
    assert engine.revealed(whole.stack_outputs) == engine.revealed(single.stack_outputs)


def test_prod_split_loses_and_duplicates_nothing(prod_split) -> None:
    single, parts = prod_split
    assert fleet.split_differences(single, parts) == []
    moved = sum(len(p.resources) for p in parts.values())
    providers = sum(
        1 for p in parts.values() for r in p.resources if r.type.startswith("pulumi:providers:")
    )
    single_providers = len([r for r in single.resources if r.type.startswith("pulumi:providers")])
    assert moved - providers == len(single.resources) - single_providers


def test_the_central_cluster_admits_its_peers_through_stack_references(prod_split) -> None:
    single, parts = prod_split
    # prod-use1 is central: its stack reads the three peers' push credentials (secret), so the
    # receivers' htpasswd is the same secret document as in the single stack.
    name = "prod-use1-observability-receiver-htpasswd"
    [split_secret] = [r for r in parts["prod.prod-use1"].resources if r.name == name]
    [single_secret] = [r for r in single.resources if r.name == name]
    data = split_secret.inputs["stringData"]
    assert isinstance(data, engine.SecretValue)
    assert engine.revealed(data)[".htpasswd"].count(":") == 3
    assert data == single_secret.inputs["stringData"]


def test_a_difference_is_reported() -> None:
    resource = engine.RenderedResource(
        urn="urn:pulumi:x::tkestack::t::a",
        type="t",
        name="a",
        custom=True,
        parent=None,
        provider=None,
        dependencies=[],
        protect=False,
        inputs={"k": 1},
    )
    changed = copy.deepcopy(resource)
    changed.urn = "urn:pulumi:x.c::tkestack::t::a"
    changed.inputs = {"k": 2}
    single = engine.Rendering("tkestack", "x", [resource], {})
    assert fleet.split_differences(
        single, {"x.c": engine.Rendering("tkestack", "x.c", [changed], {})}
    ) == ["x.c: urn:pulumi:::tkestack::t::a differs from the single stack's"]
    assert fleet.split_differences(single, {}) == [
        "urn:pulumi:::tkestack::t::a is in no stack of the split"
    ]
    twice = {s: engine.Rendering("tkestack", s, [resource], {}) for s in ("x.a", "x.b")}
    assert fleet.split_differences(single, twice) == [
        "urn:pulumi:::tkestack::t::a is in both x.a and x.b"
    ]


def test_state_moves_name_every_resource_of_each_cluster_stack(prod_split) -> None:
    single, parts = prod_split
    commands = fleet.state_move_commands(single, parts)
    assert len(commands) == 4
    use1 = next(c for c in commands if "--dest prod.prod-use1 " in c)
    assert use1.startswith("pulumi state move --source prod --dest prod.prod-use1 ")
    top = {r.urn for r in single.resources if r.parent is None}
    named = [word.strip("'") for c in commands for word in c.split()[7:]]
    # Every top-level resource but the region providers (copied by the CLI) is moved exactly
    # once; the CLI moves children with their parent, and every resource is a descendant of
    # a top-level one.
    assert sorted(named) == sorted(u for u in top if "::pulumi:providers:" not in u)
    parents = {r.urn: r.parent for r in single.resources}
    for urn in parents:
        while parents[urn] is not None:
            urn = parents[urn]
        assert urn in top


SHARING_CLUSTERS = ("eks-00", "eks-01", "eks-06", "tke-03", "tke-04", "tke-08")
"""Six of the bench's 10-cluster fleet: what its split reads across stacks, on each cloud.
`eks-06` creates us-east-1's ECR registry and the central `eks-00` (composed last) reads it
(an ECR handle, beside every peer's push credential); `tke-03` creates ap-nanjing's TCR
instance and `tke-08` reads it (a TCR handle); `eks-01` (us-west-2) and `tke-04`
(ap-singapore) give each cloud a second region, so both registry owners replicate (an ECR
replication configuration, TCR replications). The four other clusters only repeat those
cases (eks-07 and tke-09 read their region's owner as tke-08 does; eks-02 and eks-05 own a
registry as eks-01 does), and each would cost two more renders of a five-pool cluster."""


def _registry_sharing_fleet(path: Path) -> Path:
    """The bench's 10-cluster fleet (`write_fleet`, as `make bench` writes it at 50) with
    only SHARING_CLUSTERS, its tenants on those of their clusters (each keeps one or two)."""
    write_fleet(path, 10, scaled_tenants(10))
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    environment = document["config"]["tkestack:environment"]
    environment["clusters"] = [c for c in environment["clusters"] if c["name"] in SHARING_CLUSTERS]
    for tenant in environment["tenants"]:
        tenant["clusters"] = [name for name in tenant["clusters"] if name in SHARING_CLUSTERS]
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_fleet_sharing_regional_registries_splits_without_loss(tmp_path) -> None:
    """Clusters over two AWS and two TKE regions: two clusters share a registry on each
    cloud (one reads the other's registry through a stack reference), tenants'
    registry namespaces live with their first cluster on that registry, and the central
    cluster reads its peers. The same calls as `make bench` makes for the 50-cluster fleet
    (bench/run.py, bench_fleet_topology), on the six clusters of SHARING_CLUSTERS."""
    from tkestack.stacks import topology

    config = stack_config(_registry_sharing_fleet(tmp_path / "Pulumi.fleet.yaml"))
    spec = fleet.environment_spec(fleet.with_topology(config, "per-cluster"))
    # The reads the property is about: each cloud's registry is read from another stack.
    assert topology.registry_owners(spec) == {
        "aws/us-west-2": "eks-01",
        "aws/us-east-1": "eks-06",
        "tencentcloud/ap-nanjing": "tke-03",
        "tencentcloud/ap-singapore": "tke-04",
    }
    needs = topology.dependencies(spec)
    assert needs["tke-08"] == ["tke-03"]
    assert needs["eks-00"] == ["eks-01", "eks-06", "tke-03", "tke-04", "tke-08"]
    single = engine.render(fleet.with_topology(config, "single"))
    rendered = fleet.render_environment(fleet.with_topology(config, "per-cluster"))
    assert len(rendered.stacks) == 7
    assert fleet.split_differences(single, rendered.stacks) == []
    assert sum(map(len, rendered.waves)) == 6
    # Every registry owner replicates to its cloud's other region (ECR and TCR).
    replicating = {
        r.name
        for r in single.resources
        if r.type == "aws:ecr/replicationConfiguration:ReplicationConfiguration"
        or (r.type == "tencentcloud:Tcr/instance:Instance" and r.inputs.get("replications"))
    }
    assert replicating == {
        "eks-01-registry-replication",
        "eks-06-registry-replication",
        "tke-03-registry-tcr",
        "tke-04-registry-tcr",
    }


def test_a_stack_of_an_unknown_cluster_is_refused(write_stack) -> None:
    config = fleet.with_topology(stack_config(ROOT / "Pulumi.prod.yaml"), "per-cluster")
    with pytest.raises(engine.RenderError, match="no cluster 'nope' in prod"):
        engine.render_stack(config, "prod.nope", {})


def test_a_cluster_stack_of_a_single_topology_is_refused() -> None:
    config = fleet.with_topology(stack_config(ROOT / "Pulumi.prod.yaml"), "single")
    with pytest.raises(engine.RenderError, match="has topology: single"):
        engine.render_stack(config, "prod.prod-use1", {})


def test_a_reference_to_a_stack_not_rendered_fails_loudly() -> None:
    config = fleet.with_topology(stack_config(ROOT / "Pulumi.prod.yaml"), "per-cluster")
    with pytest.raises(Exception, match=r"no render of stack 'prod\.prod-euc1'"):
        engine.render_stack(config, "prod.prod-use1", {})


def test_relative_urn_drops_only_the_stack() -> None:
    assert fleet.relative_urn("urn:pulumi:prod.a::tkestack::t::n") == "urn:pulumi:::tkestack::t::n"
    assert fleet.relative_urn(None) is None
    assert Path(ROOT / "Pulumi.prod.yaml").is_file()


# --- the command line: render --cluster, topology ------------------------------------------


def test_cli_renders_one_cluster_stack_with_the_stacks_it_reads_answered(
    monkeypatch, rendered_environment
) -> None:
    from typer.testing import CliRunner

    from tkestack import cli

    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(
        cli.app, ["render", "prod", "--cluster", "prod-use1", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    # The one stack's own document, equal to that stack in the whole environment's render
    # (its references answered from prod-sh, prod-euc1 and prod-onprem's renders).
    expected = engine.render_json(rendered_environment("prod").stacks["prod.prod-use1"])
    assert result.stdout == expected
    refused = CliRunner().invoke(cli.app, ["render", "prod", "--cluster", "nope"])
    assert refused.exit_code == 2 and "no cluster 'nope' in prod" in refused.stderr
    single = CliRunner().invoke(cli.app, ["render", "dev", "--cluster", "dev-use1"])
    assert single.exit_code == 2 and "topology: single" in single.stderr


def test_cli_topology_lists_the_stacks_waves_and_runners(monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from tkestack import cli

    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli.app, ["topology", "prod", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [[entry["stack"] for entry in wave] for wave in document["waves"]] == [
        ["prod.prod-sh"],
        ["prod.prod-euc1", "prod.prod-onprem"],
        ["prod.prod-use1"],
    ]
    assert document["stacks"][0] == {
        "stack": "prod",
        "cluster": None,
        "wave": 0,
        "runner": None,
        "reads": [],
    }
    use1 = document["stacks"][-1]
    assert use1["runner"] == "prod-aws-us-east-1"
    assert use1["reads"] == ["prod-euc1", "prod-onprem", "prod-sh"]
    dev = json.loads(CliRunner().invoke(cli.app, ["topology", "dev", "--json"]).stdout)
    assert dev["topology"] == "single" and dev["waves"] == [] and len(dev["stacks"]) == 1


# --- review and picture of a per-cluster environment ---------------------------------------


def test_after_the_state_move_no_stack_differs_from_the_single_stack_base(
    prod_split, rendered_environment
) -> None:
    """`review --base` of a base that deployed prod as one stack compares each resource under
    the stack that holds it now (as after `pulumi state move`): no stack has a change."""
    from tkestack import review as reviewing

    single, _ = prod_split
    base = single.to_json()
    rendered = rendered_environment("prod")
    for stack, part in rendered.stacks.items():
        stack_base = fleet.base_for_stack(base, rendered, stack)
        assert len(stack_base["resources"]) == len(part.resources), stack
        assert reviewing.diff(stack_base, part.to_json()) == [], stack
    # A base that is itself per-cluster is split by the stack each URN names.
    document = json.loads(fleet.environment_json(rendered))
    split = fleet.base_for_stack(document, rendered, "prod.prod-sh")
    assert {r["urn"] for r in split["resources"]} == set(rendered.stacks["prod.prod-sh"].by_urn())


def test_a_resource_no_cluster_stack_holds_is_removed_from_the_shared_stack(
    prod_split, rendered_environment
) -> None:
    from tkestack import review as reviewing

    single, _ = prod_split
    base = single.to_json()
    stray = dict(base["resources"][0], urn="urn:pulumi:prod::tkestack::t:m:Gone::gone")
    base["resources"] = [*base["resources"], stray]
    rendered = rendered_environment("prod")
    shared = fleet.base_for_stack(base, rendered, "prod")
    assert [r["urn"] for r in shared["resources"]] == [stray["urn"]]
    [change] = reviewing.diff(shared, rendered.stacks["prod"].to_json())
    assert (change.kind, change.urn) == ("removed", stray["urn"])


def test_the_picture_shows_the_stacks_and_waves(rendered_environment) -> None:
    from tkestack import graph

    rendered = rendered_environment("prod")
    text = graph.mermaid(rendered.whole, rendered.stack_nodes())
    assert 'stack_prod[["stack prod (shared)"]]' in text
    assert 'stack_prod -->|"then"| wave_1' in text
    assert 'wave_2 -->|"then"| wave_3' in text
    assert 'wave_1 -.->|"prod.prod-sh on prod-tencent-ap-shanghai"| cluster_prod_sh' in text
    assert 'wave_3 -.->|"prod.prod-use1 on prod-aws-us-east-1"| cluster_prod_use1' in text
    dot = graph.dot(rendered.whole, rendered.stack_nodes())
    assert 'wave_2 -> cluster_prod_onprem [label="prod.prod-onprem on prod-dc-frankfurt"' in dot
    assert rendered_environment("dev").stack_nodes() == []


def _two_clusters(write_stack, regions: list[str] | None) -> Path:
    """Two EKS clusters as per-cluster stacks, c2 first; `regions`: the spec's
    `allowed_regions` (None: the policy config's, which has no us-west-2)."""
    from conftest import minimal_environment

    environment = minimal_environment(name="duo", topology="per-cluster")
    if regions is not None:
        environment["allowed_regions"] = regions
    second = copy.deepcopy(environment["clusters"][0])
    second.update(name="c2", region="us-west-2", network={"vpc_cidr": "10.1.0.0/16"})
    second["runner"] = "net-usw2"
    environment["clusters"].append(second)
    environment["rollout"] = {"waves": [["c2"], ["rest"]]}
    environment["observability"] = {"enabled": False}  # no central receivers to configure
    return write_stack(environment, "duo")


def test_review_of_a_per_cluster_environment_has_a_section_per_stack(write_stack) -> None:
    from typer.testing import CliRunner

    from tkestack import cli

    path = _two_clusters(write_stack, ["us-east-1", "us-west-2"])
    out = path.parent
    result = CliRunner().invoke(
        cli.app,
        [
            "review",
            str(path),
            "-o",
            str(out / "review.md"),
            "--json-output",
            str(out / "review.json"),
            "--sarif-output",
            str(out / "review.sarif"),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "review.json").read_text())
    assert [(s["stack"], s["wave"], s["runner"]) for s in document["stacks"]] == [
        ("duo", None, None),
        ("duo.c2", 1, "net-usw2"),
        ("duo.c1", 2, None),
    ]
    assert [s["review"]["environment"] for s in document["stacks"]] == ["duo", "duo.c2", "duo.c1"]
    counts = [s["review"]["resources"] for s in document["stacks"]]
    assert counts[0] == 0 and all(counts[1:])
    markdown = (out / "review.md").read_text()
    assert markdown.startswith("<!-- tkestack-review:duo -->\n")
    assert markdown.count("<!-- tkestack-review:") == 1  # one comment for the environment
    assert "| `duo.c2` | wave 1, runner `net-usw2` |" in markdown
    assert "### tkestack review: `duo.c1`" in markdown
    assert 'wave_1 -.->|"duo.c2 on net-usw2"| cluster_c2' in markdown
    sarif = json.loads((out / "review.sarif").read_text())
    [run] = sarif["runs"]
    assert run["automationDetails"]["id"] == "tkestack-review/duo/"
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"] if "ruleIndex" in r)
    # One stack alone; a mandatory violation of any stack fails the review (exit 1).
    path = _two_clusters(write_stack, None)
    one = CliRunner().invoke(cli.app, ["review", str(path), "--cluster", "c2", "--format", "json"])
    assert one.exit_code == 1, one.output
    assert "1 mandatory policy violation(s) in duo.c2" in one.stderr
    [only] = json.loads(one.stdout)["stacks"]
    assert only["stack"] == "duo.c2"
    assert [v["policy"] for v in only["review"]["violations"] if v["level"] == "mandatory"] == [
        "region-allowed"
    ]


def test_rendering_the_stacks_in_processes_gives_the_same_documents(rendered_environment) -> None:
    config = stack_config(ROOT / "Pulumi.prod.yaml")
    parallel = fleet.render_environment(config, processes=2)
    assert fleet.environment_json(parallel) == fleet.environment_json(rendered_environment("prod"))


def test_the_rollout_estimate_runs_each_wave_s_stacks_on_the_first_free_runner() -> None:
    seconds = {"e": 10.0, "e.a": 100.0, "e.b": 50.0, "e.c": 50.0, "e.d": 30.0}
    waves = [["e.a", "e.b", "e.c"], ["e.d"]]
    assert fleet.rollout_seconds(seconds, waves, 1) == 10 + 200 + 30
    # Two runners: a on one, b then c on the other: the wave takes 100 s.
    assert fleet.rollout_seconds(seconds, waves, 2) == 10 + 100 + 30
    assert fleet.rollout_seconds(seconds, waves, None) == 10 + 100 + 30
    # In listed order, not longest first: b and c first leave a to start at 50 s.
    assert fleet.rollout_seconds(seconds, [["e.b", "e.c", "e.a"], ["e.d"]], 2) == 10 + 150 + 30
