"""Provenance: every resource knows the spec key it came from; `tkestack explain`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tkestack import cli, critical_path, engine, provenance
from tkestack.ownership import cluster_owners

ROOT = Path(__file__).resolve().parents[2]
STAGING = ROOT / "Pulumi.staging.yaml"


def line_of(after: str, needle: str) -> int:
    """1-based line of the first `needle` line after the first `after` line (by hand)."""
    lines = STAGING.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == after)
    return next(i for i in range(start, len(lines)) if lines[i].strip() == needle) + 1


@pytest.fixture(scope="module")
def staging(rendered) -> tuple[engine.Rendering, dict[str, provenance.SpecLocation]]:
    rendering = rendered("staging")
    return rendering, cli.spec_locations(rendering, STAGING, ROOT, STAGING.name)


def test_every_resource_has_a_spec_location(staging) -> None:
    rendering, locations = staging
    assert set(locations) == {r.urn for r in rendering.resources}
    assert all(
        where.file == "Pulumi.staging.yaml" and where.line >= 1 for where in locations.values()
    )


def test_owners_computed_once_give_the_same_locations_and_estimate(staging) -> None:
    """`tkestack review` computes `cluster_owners` once per stack and hands it to both the
    provenance and the deployment estimate: the same result as each computing its own."""
    rendering, locations = staging
    owners = cluster_owners(rendering)
    assert any(owners.values())  # staging's resources do belong to clusters
    config = engine.read_stack_config(STAGING, ROOT)
    locate = cli.spec_locator(config, STAGING.name)
    assert locate(rendering, owners) == locations
    assert critical_path.estimate(rendering, owners=owners) == critical_path.estimate(rendering)


def test_node_pools_tenants_and_clusters_point_at_their_own_keys(staging) -> None:
    rendering, locations = staging
    pool = provenance.find(rendering, "stg-gz-gpu-t4-node-pool")
    where = locations[pool.urn]
    assert where.key == "clusters[1].node_pools[2]"
    assert where.line == line_of("- name: stg-gz", "- name: gpu-t4")
    vpc = next(r for r in rendering.resources if r.type == "tencentcloud:Vpc/instance:Instance")
    assert locations[vpc.urn].key == "clusters[1]"
    assert locations[vpc.urn].line == line_of("clusters:", "- name: stg-gz")
    namespace = next(
        r
        for r in rendering.resources
        if r.type == "kubernetes:core/v1:Namespace"
        and r.inputs.get("metadata", {}).get("labels", {}).get("tkestack.io/tenant") == "web"
    )
    assert locations[namespace.urn].key == "tenants[1]"
    assert locations[namespace.urn].line == line_of("tenants:", "- name: web")


def test_explain_prints_the_chain_from_spec_key_to_inputs(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli.app, ["explain", "staging", "stg-gz-gpu-t4-node-pool"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    line = line_of("- name: stg-gz", "- name: gpu-t4")
    assert lines[0] == f"spec: Pulumi.staging.yaml:{line} clusters[1].node_pools[2]"
    assert lines[1].strip() == "tkestack:index:Cluster stg-gz"
    assert lines[2].strip() == "tkestack:index:NodePool stg-gz-gpu-t4"
    assert "instanceType: GN7.2XLARGE32" in result.stdout


def test_explain_refuses_unknown_and_ambiguous_names(staging) -> None:
    rendering, _ = staging
    with pytest.raises(provenance.ExplainError, match="no resource"):
        provenance.find(rendering, "no-such-resource")
    names = [r.name for r in rendering.resources]
    duplicate = next(name for name in names if names.count(name) > 1)
    with pytest.raises(provenance.ExplainError, match="give a URN"):
        provenance.find(rendering, duplicate)
