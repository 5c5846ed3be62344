"""`tkestack review` formats: SARIF against the official OASIS schema, findings located at the
spec line they came from (provenance), markdown links to that line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from review_support import prod_environment, write_stack
from typer.testing import CliRunner

from tkestack import cli

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = Path("shared") / "schemas" / "sarif-schema-2.1.0.json"


def official_sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema from `shared/` beside the clone (CI lays it out so; a
    worktree finds it further up). Skips, saying where it looked, only when it is absent."""
    looked = []
    for directory in ROOT.parents:
        candidate = directory / SCHEMA_PATH
        looked.append(str(candidate))
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    pytest.skip(f"official SARIF schema not found (looked at {', '.join(looked[:3])}, ...)")


def key_line(stack_file: Path, *path: str | int) -> int:
    """The 1-based line of a key path under `config.tkestack:environment` (by hand: the text
    is searched for the key in order, independently of the loader's index)."""
    lines = stack_file.read_text(encoding="utf-8").splitlines()
    data = yaml.safe_load(stack_file.read_text(encoding="utf-8"))["config"]
    node = data["tkestack:environment"]
    start = next(i for i, line in enumerate(lines) if line.strip() == "tkestack:environment:")
    for part in path:
        if isinstance(part, int):
            name = node[part]["name"]
            start = next(
                i for i in range(start, len(lines)) if lines[i].strip() == f"- name: {name}"
            )
        else:
            start = next(
                i for i in range(start, len(lines)) if lines[i].strip().startswith(f"{part}:")
            )
        node = node[part]
    return start + 1


@pytest.fixture(scope="module")
def public_prod_sarif(tmp_path_factory) -> tuple[Path, dict, str]:
    directory = tmp_path_factory.mktemp("prodlike-sarif")
    stack_file = write_stack(
        directory,
        "prodlike",
        prod_environment(endpoint={"exposure": "public", "public_access_cidrs": ["0.0.0.0/0"]}),
    )
    # One review, both documents (what CI runs).
    sarif_file = directory / "review.sarif"
    markdown = CliRunner().invoke(
        cli.app, ["review", str(stack_file), "--sarif-output", str(sarif_file)]
    )
    assert markdown.exit_code == 1, markdown.output
    return stack_file, json.loads(sarif_file.read_text(encoding="utf-8")), markdown.stdout


def test_sarif_validates_against_the_official_schema(public_prod_sarif) -> None:
    _, document, _ = public_prod_sarif
    jsonschema.validate(document, official_sarif_schema())
    broken = json.loads(json.dumps(document))
    broken["runs"][0]["results"][0]["level"] = "fatal"  # not a SARIF level
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, official_sarif_schema())


def test_sarif_results_point_at_the_spec_line_they_came_from(public_prod_sarif) -> None:
    stack_file, document, _ = public_prod_sarif
    results = document["runs"][0]["results"]
    by_policy = {r["ruleId"]: r for r in results}
    endpoint = by_policy["cluster-endpoint-private"]
    region = endpoint["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == key_line(stack_file, "clusters", 0)
    assert endpoint["properties"]["specKey"] == "clusters[0]"
    # Not every result on line 1: the stack file's first line is `config:`.
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results} != {1}


def test_markdown_links_each_finding_to_its_spec_line(public_prod_sarif) -> None:
    stack_file, _, markdown = public_prod_sarif
    line = key_line(stack_file, "clusters", 0)
    assert f"from [`clusters[0]`](Pulumi.prodlike.yaml#L{line})" in markdown


@pytest.mark.slow
def test_region_allowlist_comes_from_the_environments_own_spec(tmp_path) -> None:
    environment = prod_environment()
    environment["allowed_regions"] = ["us-west-2"]
    environment["clusters"][0]["region"] = "us-west-2"
    stack_file = write_stack(tmp_path, "newprod", environment)
    runner = CliRunner()
    own = runner.invoke(cli.app, ["review", str(stack_file), "--format", "json"])
    assert own.exit_code in (0, 1), own.output
    assert "region-allowed" not in {v["policy"] for v in json.loads(own.stdout)["violations"]}
    # The shipped prod config alone (us-east-1, eu-central-1, ap-shanghai) refuses it.
    shipped = runner.invoke(
        cli.app,
        [
            "review",
            str(stack_file),
            "--format",
            "json",
            "--policy-config",
            str(ROOT / "policies" / "config" / "prod.json"),
        ],
    )
    violations = json.loads(shipped.stdout)["violations"]
    assert any(v["policy"] == "region-allowed" and "us-west-2" in v["message"] for v in violations)


def test_the_review_says_it_did_not_look_inside_helm_releases(public_prod_sarif) -> None:
    _, _, markdown = public_prod_sarif
    assert "Helm release(s) reviewed by their values only" in markdown
    assert "did not look inside the charts" in markdown


def test_sarif_of_blocked_and_refused_changes_validates(public_prod_sarif) -> None:
    """With --base: the change rules and their results are valid SARIF too."""
    from tkestack import report
    from tkestack.review import Change, Review

    eks = "aws:eks/cluster:Cluster"
    review = Review(
        environment="prodlike",
        tier="prod",
        pack="tkestack",
        pack_version="1.0.0",
        config_file="policies/config/prod.json",
        resource_count=2,
        policies=[],
        findings=[],
        diff=[
            Change("removed", "urn:a", "aws:ecr/repository:Repository", "a", blocked="protected"),
            Change("changed", "urn:b", eks, "b", ("version",), refused="skips a minor"),
        ],
        base_ref="HEAD~1",
    )
    document = json.loads(report.sarif(review, "Pulumi.prodlike.yaml"))
    jsonschema.validate(document, official_sarif_schema())
    rules = [rule["id"] for rule in document["runs"][0]["tool"]["driver"]["rules"]]
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {
        "protected-resource-deleted",
        "control-plane-upgrade-refused",
    }
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in results)
