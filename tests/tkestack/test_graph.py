"""`tkestack graph`: clouds, clusters, pools with arch/GPU, tenants; deterministic."""

from __future__ import annotations

from typer.testing import CliRunner

from tkestack import cli, graph


def test_mermaid_draws_clouds_clusters_pools_and_tenants(rendered) -> None:
    rendering = rendered("staging")
    text = graph.mermaid(rendering)
    assert text.startswith("flowchart LR\n")
    assert (
        'subgraph cloud_aws["aws"]' in text
        and 'subgraph cloud_tencentcloud["tencentcloud"]' in text
    )
    shown = graph.picture(rendering)
    for cluster in shown.clusters:
        assert f"env --> cluster_{cluster.name.replace('-', '_')}" in text
        for pool in cluster.pools:
            assert pool.architecture in ("x86_64", "arm64")
            assert pool.label in text
    assert any(p.accelerator for c in shown.clusters for p in c.pools)
    assert "class " in text and " gpu" in text
    assert any(c.tenants for c in shown.clusters)
    assert "tenant ml-research" in text
    assert graph.mermaid(rendering) == text


def test_dot_is_a_digraph(rendered) -> None:
    text = graph.dot(rendered("dev"))
    assert text.startswith("digraph tkestack {") and text.rstrip().endswith("}")
    assert "pool_dev_use1_gpu_t4" in text and "fillcolor" in text


def test_cli_graph_formats() -> None:
    result = CliRunner().invoke(cli.app, ["graph", "dev", "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("digraph")
    assert CliRunner().invoke(cli.app, ["graph", "nope"]).exit_code == 2
