"""`tkestack render`: formats, exit codes and byte-identical output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, another_hash_seed, minimal_environment, stack_config
from typer.testing import CliRunner

from tkestack import fleet
from tkestack.cli import app

runner = CliRunner()


@pytest.fixture
def dev_rendered_once(monkeypatch, rendered_environment):
    """`tkestack render` of the shipped dev answers with the session's render of that same
    file (conftest `rendered_environment`: `fleet.render_environment` of an equal stack
    config), so the tests using this check the command's own work (its arguments, formats
    and output file) without rendering dev once more each. Any other config renders as
    usual. That the command's render is the library's, byte for byte, in a fresh process:
    `test_render_is_byte_identical_across_runs_and_hash_seeds`. Yields the configs answered
    from the session (a test asserts the shortcut was taken)."""
    original = fleet.render_environment
    shipped = stack_config(ROOT / "Pulumi.dev.yaml")
    dev = rendered_environment("dev")  # rendered (or taken from the session) before the patch
    answered: list[object] = []

    def render_environment(config, processes=1, cluster=None, on_register=None):
        if config == shipped and cluster is None:
            answered.append(config)
            return dev
        return original(config, processes, cluster, on_register)

    monkeypatch.setattr(fleet, "render_environment", render_environment)
    return answered


def test_render_json_shape(dev_rendered_once) -> None:
    document = json.loads(
        runner.invoke(app, ["render", str(ROOT / "Pulumi.dev.yaml"), "-f", "json"]).stdout
    )
    assert document["environment"] == {"project": "tkestack", "stack": "dev"}
    resources = document["resources"]
    assert resources, "the dev environment renders resources"
    urns = [resource["urn"] for resource in resources]
    assert urns == sorted(urns)
    required = {"urn", "type", "name", "parent", "provider", "dependencies", "protect", "inputs"}
    for resource in resources:
        assert required <= resource.keys()
        assert resource["urn"].startswith("urn:pulumi:dev::tkestack::")
        assert resource["urn"].endswith(f"::{resource['name']}")
        # The root stack type never appears in a URN's type chain (as in the real engine).
        assert "pulumi:pulumi:Stack" not in resource["urn"]
    assert dev_rendered_once, "answered from the session's render of the same file"


def test_child_urns_carry_the_parent_type_chain(rendered) -> None:
    rendering = rendered("dev")
    by_urn = rendering.by_urn()
    children = [resource for resource in rendering.resources if resource.parent]
    for child in children:
        parent_type_chain = by_urn[child.parent].urn.split("::")[2]
        assert child.urn.split("::")[2] == f"{parent_type_chain}${child.type}"


def test_custom_resources_have_explicit_providers(rendered) -> None:
    for env in ("dev",):
        for resource in rendered(env).resources:
            if resource.custom and not resource.type.startswith("pulumi:providers:"):
                assert resource.provider, f"{resource.urn} uses a default provider"


@pytest.mark.slow
def test_render_is_byte_identical_across_runs_and_hash_seeds(
    fresh_renders, rendered_environment
) -> None:
    """`python -m tkestack.cli render dev -f json -o FILE` in a fresh process (conftest
    `fresh_renders`: under another hash seed than this process's) writes the same bytes as
    that process's library render and as the session's render of dev (`rendered_environment`:
    this worker's, or another xdist worker's handed over; either checked by
    `another_hash_seed` to be under another seed than the fresh process's)."""
    another_hash_seed(fresh_renders)
    written = fresh_renders["cli-dev.json"]
    assert written and written == fresh_renders["dev.json"]
    assert written == fleet.environment_json(rendered_environment("dev")).encode()


def test_table_format_lists_clouds_and_clusters(dev_rendered_once) -> None:
    result = runner.invoke(app, ["render", "dev"])
    assert result.exit_code == 0, result.output
    assert "dev (dev)" in result.stdout
    assert "resources" in result.stdout
    assert dev_rendered_once, "answered from the session's render of the same file"


def test_output_file(tmp_path: Path, dev_rendered_once) -> None:
    target = tmp_path / "out" / "dev.json"
    result = runner.invoke(app, ["render", "dev", "-f", "json", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(target.read_text())["environment"]["stack"] == "dev"
    assert dev_rendered_once, "answered from the session's render of the same file"


def test_invalid_spec_exits_2_naming_key_and_file() -> None:
    path = ROOT / "tests/fixtures/specs/Pulumi.five-mistakes.yaml"
    result = runner.invoke(app, ["render", str(path)])
    assert result.exit_code == 2
    assert "5 problems" in result.stderr
    assert (
        "Pulumi.five-mistakes.yaml:20: tkestack:environment.clusters[0].node_pools[0].max_size"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is empty"),
        ("config: [1, 2", "not valid YAML"),
        ("config:\n  other:key: 1\n", "no `tkestack:environment`"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_malformed_stack_files_exit_2(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(content)
    result = runner.invoke(app, ["render", str(path)])
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_stack_and_usage_errors_exit_2() -> None:
    result = runner.invoke(app, ["render", "nosuchenv"])
    assert result.exit_code == 2
    assert "no stack 'nosuchenv'" in result.stderr
    assert runner.invoke(app, ["render", "dev", "--format", "xml"]).exit_code == 2


def test_no_resource_is_registered_for_an_invalid_spec(write_stack, monkeypatch) -> None:
    from tkestack import engine

    calls = []
    monkeypatch.setattr(engine, "run_program", lambda *a, **k: calls.append(a))
    bad = minimal_environment(tier="qa")
    with pytest.raises(Exception, match="invalid environment spec"):
        engine.render(engine.read_stack_config(write_stack(bad), ROOT))
    assert calls == []


def test_internal_error_exits_1(monkeypatch) -> None:
    from tkestack import engine

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "run_program", explode)
    result = runner.invoke(app, ["render", "dev", "-f", "json"])
    assert result.exit_code == 1
    assert "internal error: RuntimeError: boom" in result.stderr
    assert "Traceback" not in result.stderr


def test_table_groups_tenants_under_their_clusters(rendered) -> None:
    from tkestack.ownership import cluster_owners

    rendering = rendered("prod")
    owners = cluster_owners(rendering)
    tenants = rendering.of_type("tkestack:index:Tenant")
    assert tenants
    for tenant in tenants:
        assert owners[tenant.urn] is not None and tenant.name.endswith(owners[tenant.urn])
    for resource in rendering.resources:
        if resource.provider and resource.provider.endswith("-k8s"):
            assert owners[resource.urn] == resource.provider.rsplit("::", 1)[-1][: -len("-k8s")]


def test_tasks_that_failed_with_the_program_are_finalized_quietly(caplog) -> None:
    """They are finalized at some later collection, in the middle of unrelated code: logging
    there broke CPython 3.11's `ast.parse` under pytest. The program's error is raised once."""
    import gc
    import logging

    import pulumi

    from tkestack import engine

    def boom(_: object) -> str:
        raise ValueError("boom")

    def program() -> None:
        for index in range(20):
            pulumi.CustomResource(
                "test:index:Thing", f"t{index}", {"x": pulumi.Output.from_input(index).apply(boom)}
            )

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with pytest.raises(ValueError, match="boom"):
            engine.run_program(program)
        gc.collect()
    assert not [record for record in caplog.records if record.name == "asyncio"]


def test_a_stray_failed_task_of_a_successful_run_is_still_reported(caplog) -> None:
    import asyncio
    import gc
    import logging

    from tkestack import engine

    async def fails() -> None:
        raise RuntimeError("stray")

    def program() -> None:
        asyncio.get_event_loop().create_task(fails())  # never awaited

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        engine.run_program(program)
        gc.collect()
    assert any("never retrieved" in record.getMessage() for record in caplog.records)


def test_every_shipped_cluster_owns_its_tree_and_no_name_is_parsed(rendered) -> None:
    """The owners come from recorded data: renaming a cluster's provider changes nothing."""
    import dataclasses

    from tkestack import engine
    from tkestack.ownership import cluster_owners

    rendering = rendered("prod")
    owners = cluster_owners(rendering)
    exported = set(rendering.stack_outputs["clusters"])
    assert {owners[r.urn] for r in rendering.of_type("tkestack:index:Cluster")} == exported
    renamed = {
        r.urn: r.urn.replace("-k8s", "-kube") for r in rendering.resources if r.urn.endswith("-k8s")
    }
    assert renamed

    def rename(resource: engine.RenderedResource) -> engine.RenderedResource:
        return dataclasses.replace(
            resource,
            urn=renamed.get(resource.urn, resource.urn),
            name=resource.name.replace("-k8s", "-kube"),
            provider=renamed.get(resource.provider, resource.provider),
        )

    moved = dataclasses.replace(rendering, resources=[rename(r) for r in rendering.resources])
    assert cluster_owners(moved) == {renamed.get(urn, urn): o for urn, o in owners.items()}
