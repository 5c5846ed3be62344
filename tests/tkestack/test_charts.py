"""Helm releases opened up: `tkestack charts pull`, the chart cache, and releases expanded
with real Helm for `render --format manifests` and `review` (tkestack/charts.py,
tkestack/chart_review.py).

The charts are the project's own (tests/fixtures/charts/): packaged with helm-python-sdk once
per session into a temporary folder, served by a local HTTP repository whose index
`repo_index_generate` builds. No downloaded chart is used: the upstream charts cannot be
fetched here. The prod test seeds the cache with STAND-INS: the test chart packaged under the
name and version of each of prod's releases, so prod's wiring (its releases' chart, version,
repository, name, namespace and values) is exercised end to end; what upstream's charts
would install is not.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from conftest import ROOT
from typer.testing import CliRunner

from tkestack import chart_review, charts, cli, engine, fleet, report
from tkestack.policies.rules import effective_config
from tkestack.review import review

helm_python = pytest.importorskip("helm_python", reason="helm-python-sdk (the [helm] extra)")

DEMO = ROOT / "tests" / "fixtures" / "charts" / "tkestack-demo"
CHECKOV = Path(os.environ.get("TKESTACK_CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
PROD_CONFIG = ROOT / "policies" / "config" / "prod.json"


def package(tmp: Path, destination: Path, name: str, version: str, **values: Any) -> Path:
    """The test chart packaged as `name` `version` (a stand-in under another chart's name),
    with its default values overridden by `values`."""
    source = tmp / f"src-{name}-{version}" / name
    shutil.copytree(DEMO, source)
    chart = yaml.safe_load((source / "Chart.yaml").read_text())
    chart["name"] = name
    (source / "Chart.yaml").write_text(yaml.safe_dump(chart))
    defaults = yaml.safe_load((source / "values.yaml").read_text())
    (source / "values.yaml").write_text(yaml.safe_dump({**defaults, **values}))
    destination.mkdir(parents=True, exist_ok=True)
    return Path(helm_python.package(source, destination=destination, version=version))


@pytest.fixture(scope="session")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local HTTP chart repository holding tkestack-demo 0.1.0 (packaged once)."""
    tmp = tmp_path_factory.mktemp("chart-repo")
    served = tmp / "repo"
    package(tmp, served, "tkestack-demo", "0.1.0")
    helm_python.repo_index_generate(served)
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def catalog_file(folder: Path, repository: str, digest: str | None = None) -> Path:
    """A chart catalog pinning tkestack-demo 0.1.0 from `repository`, written like the
    shipped one (a comment, then `digest: null` under `version:`)."""
    path = folder / "charts.yaml"
    path.write_text(
        "# test catalog\n\n"
        "tkestack-demo:\n"
        "  chart: tkestack-demo\n"
        f"  repository: {repository}\n"
        '  version: "0.1.0"\n'
        f"  digest: {json.dumps(digest) if digest else 'null'}\n"
        "  namespace: apps\n",
        encoding="utf-8",
    )
    return path


def entries(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_shipped_catalog_pins_a_digest_field_for_every_chart_unrecorded() -> None:
    """The upstream digests could not be downloaded where the catalog was written: each is
    recorded as unrecorded (null), never invented."""
    refs = charts.catalog_refs()
    assert refs and all(ref.digest is None for ref in refs)
    assert all(ref.key for ref in refs)


def test_pull_records_the_digest_then_finds_it_cached(tmp_path, repository) -> None:
    catalog = catalog_file(tmp_path, repository)
    cache = tmp_path / "cache"
    helm = charts.HelmSdk()
    first = charts.pull(
        charts.catalog_refs(entries(catalog)), cache, helm, record=True, catalog_file=catalog
    )
    assert [result.status for result in first] == ["recorded"]
    archive = charts.archive_path(cache, first[0].ref)
    digest = charts.file_digest(archive)
    assert first[0].digest == digest == helm_python.digest(archive)
    assert entries(catalog)["tkestack-demo"]["digest"] == digest
    assert catalog.read_text().startswith("# test catalog\n")  # the rest of the file kept
    again = charts.pull(charts.catalog_refs(entries(catalog)), cache, helm, catalog_file=catalog)
    assert [(result.status, result.digest) for result in again] == [("cached", digest)]


def test_pull_without_record_leaves_the_digest_unrecorded(tmp_path, repository) -> None:
    catalog = catalog_file(tmp_path, repository)
    results = charts.pull(charts.catalog_refs(entries(catalog)), tmp_path / "c", charts.HelmSdk())
    assert results[0].status == "pulled" and "--record" in results[0].detail
    assert entries(catalog)["tkestack-demo"]["digest"] is None


def test_pull_refuses_an_archive_whose_digest_differs(tmp_path, repository) -> None:
    other = "sha256:" + "0" * 64
    catalog = catalog_file(tmp_path, repository, digest=other)
    cache = tmp_path / "cache"
    results = charts.pull(
        charts.catalog_refs(entries(catalog)),
        cache,
        charts.HelmSdk(),
        record=True,
        catalog_file=catalog,
    )
    assert [result.status for result in results] == ["mismatch"]
    assert not results[0].ok and other in results[0].detail
    assert not charts.archive_path(cache, results[0].ref).exists()  # refused, not cached
    assert entries(catalog)["tkestack-demo"]["digest"] == other  # never overwritten


def test_a_chart_the_repository_lacks_fails_its_pull(tmp_path, repository) -> None:
    ref = charts.ChartRef("tkestack-demo", "9.9.9", repository)
    results = charts.pull([ref], tmp_path / "cache", charts.HelmSdk())
    assert results[0].status == "failed" and "9.9.9" in results[0].detail


def test_charts_pull_command_records_and_then_refuses_a_mismatch(
    tmp_path, repository, monkeypatch
) -> None:
    monkeypatch.setenv("TKESTACK_CACHE_DIR", str(tmp_path / "cache-root"))
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)  # helm-python-sdk
    catalog = catalog_file(tmp_path, repository)
    runner = CliRunner()
    recorded = runner.invoke(cli.app, ["charts", "pull", "--catalog", str(catalog), "--record"])
    assert recorded.exit_code == 0, recorded.output
    assert "recorded" in recorded.stdout and "tkestack-demo 0.1.0" in recorded.stdout
    assert str(tmp_path / "cache-root" / "charts") in recorded.stdout
    cached = runner.invoke(cli.app, ["charts", "pull", "--catalog", str(catalog)])
    assert cached.exit_code == 0 and "cached" in cached.stdout
    catalog_file(tmp_path, repository, digest="sha256:" + "1" * 64)
    refused = runner.invoke(cli.app, ["charts", "pull", "--catalog", str(catalog)])
    assert refused.exit_code == 1 and "mismatch" in refused.stdout


# ---------------------------------------------------------------- expansion


@dataclass(frozen=True)
class Secret:
    """A release value the program wraps in `pulumi.Output.secret` (inside the program)."""

    text: str


def release_program(repository: str, **releases: dict[str, Any]) -> engine.Rendering:
    """A rendering with one Helm release of tkestack-demo per keyword (its values), through
    an explicit Kubernetes provider, as the components install add-ons."""

    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        for name, values in releases.items():
            k8s.helm.v3.Release(
                name,
                name=name,
                chart="tkestack-demo",
                version="0.1.0",
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repository),
                namespace="apps",
                values={
                    key: pulumi.Output.secret(value.text) if isinstance(value, Secret) else value
                    for key, value in values.items()
                },
                opts=pulumi.ResourceOptions(provider=provider),
            )

    return engine.run_program(program)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory, repository) -> Path:
    """A chart cache holding tkestack-demo 0.1.0 (pulled from the local repository)."""
    cache = tmp_path_factory.mktemp("chart-cache")
    ref = charts.ChartRef("tkestack-demo", "0.1.0", repository)
    assert [r.status for r in charts.pull([ref], cache, charts.HelmSdk())] == ["pulled"]
    return cache


def test_expansion_renders_the_release_with_its_own_name_namespace_and_values(
    seeded, repository
) -> None:
    rendering = release_program(repository, web={"privileged": True, "replicas": 3})
    expansion = charts.expand(rendering, seeded, charts.HelmSdk())
    assert expansion.expanded == [rendering.resources[0].urn] and not expansion.problems
    labels = sorted(item.label for item in expansion.objects)
    # The chart-test Pod (helm.sh/hook: test) is not installed by `helm install`.
    assert labels == ["ClusterRole web-reader", "Deployment apps/web", "Service apps/web"]
    deployment = next(item for item in expansion.objects if item.kind == "Deployment")
    assert deployment.type == "kubernetes:apps/v1:Deployment"
    assert deployment.document["spec"]["replicas"] == 3
    container = deployment.document["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"] == {"privileged": True}
    assert deployment.template == "tkestack-demo/templates/deployment.yaml"


def test_render_manifests_carry_the_chart_objects(seeded, repository, monkeypatch) -> None:
    monkeypatch.setattr(charts, "cache_dir", lambda: seeded)
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)
    rendering = release_program(repository, web={})
    text, notes = charts.manifests_with_charts(rendering)
    assert notes == []
    documents = [doc for doc in yaml.safe_load_all(text) if doc]
    assert {(doc["kind"], doc["metadata"]["name"]) for doc in documents} >= {
        ("Deployment", "web"),
        ("Service", "web"),
        ("ClusterRole", "web-reader"),
    }
    assert f"# {rendering.resources[0].urn} chart tkestack-demo 0.1.0:" in text
    assert text == charts.manifests_with_charts(rendering)[0]  # deterministic


def test_a_secret_value_never_reaches_a_template(seeded, repository) -> None:
    rendering = release_program(repository, web={"image": Secret("s3cret-image-ref")})
    expansion = charts.expand(rendering, seeded, charts.HelmSdk())
    assert expansion.objects and not expansion.problems
    assert "s3cret-image-ref" not in charts.manifests(expansion)
    # The template got the mark (`image: [secret]`, which YAML reads as a list).
    deployment = next(item for item in expansion.objects if item.kind == "Deployment")
    image = deployment.document["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == ["secret"]


def test_without_the_cache_the_review_says_it_did_not_look_inside(tmp_path, repository) -> None:
    rendering = release_program(repository, web={})
    result = chart_review.review_charts(rendering, PROD_CONFIG, cache=tmp_path / "empty")
    assert not result.findings and not result.expansion.objects
    assert result.expansion.not_expanded == ["web"]
    assert "tkestack charts pull" in result.expansion.unavailable


def test_a_chart_that_refuses_its_values_is_a_mandatory_finding(seeded, repository) -> None:
    rendering = release_program(repository, web={}, broken={"refuse": True})
    result = chart_review.review_charts(rendering, PROD_CONFIG, cache=seeded, checkov=None)
    refused = [f for f in result.findings if f.policy == "helm-chart-renders"]
    assert len(refused) == 1 and refused[0].level == "mandatory"
    assert refused[0].resource_name == "broken"
    assert "these values are not supported" in refused[0].message
    assert "validate.yaml" in refused[0].message
    assert result.expansion.not_expanded == ["broken"]
    assert chart_review.RENDER_POLICY in result.policies


def test_a_cached_archive_with_another_digest_is_refused_by_the_review(
    tmp_path, repository
) -> None:
    cache = tmp_path / "cache"
    ref = charts.ChartRef("tkestack-demo", "0.1.0", repository)
    charts.pull([ref], cache, charts.HelmSdk())
    pinned = entries(catalog_file(tmp_path, repository, digest="sha256:" + "2" * 64))
    rendering = release_program(repository, web={})
    expansion = charts.expand(rendering, cache, charts.HelmSdk(), pinned)
    assert not expansion.objects and [p.kind for p in expansion.problems] == ["mismatch"]
    findings = chart_review.problem_findings(expansion)
    assert [(f.policy, f.level) for f in findings] == [("helm-chart-digest", "mandatory")]


@pytest.mark.slow
@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov not installed (make test installs it)")
def test_workload_policy_and_checkov_find_a_privileged_chart_container(seeded, repository) -> None:
    """A privileged release and a calm one (not privileged) side by side in one review, so
    checkov starts once: findings are attributed per release, so the calm one's are its own."""
    rendering = release_program(repository, web={"privileged": True}, calm={})
    urns = {release.name: release.urn for release in charts.releases(rendering)}
    web, calm = urns["web"], urns["calm"]
    result = chart_review.review_charts(rendering, PROD_CONFIG, cache=seeded, checkov=CHECKOV)
    assert sorted(result.expansion.expanded) == sorted([web, calm])
    privileged = [f for f in result.findings if f.policy == "pod-no-privileged"]
    assert len(privileged) == 1
    assert privileged[0].urn == web  # attributed to the release
    assert privileged[0].resource_name == "web: Deployment apps/web"
    assert "runs privileged" in privileged[0].message
    checkov = {f.policy for f in result.findings if f.group == "checkov" and f.urn == web}
    assert "CKV_K8S_16" in checkov  # checkov: "Container should not be privileged"
    assert result.checkov.startswith("checkov: ")
    assert {p.name for p in result.policies} >= {"CKV_K8S_16"}
    # Not privileged: neither flags it.
    assert not [
        f
        for f in result.findings
        if f.urn == calm and f.policy in ("pod-no-privileged", "CKV_K8S_16")
    ]


# ---------------------------------------------------------------- prod, end to end


@pytest.fixture(scope="module")
def prod_stand_in_cache(rendered, tmp_path_factory) -> Path:
    """A chart cache seeded with STAND-INS for prod's charts: the test chart packaged under
    each of prod's release charts' name and version (privileged by default), at the cache
    path of prod's own repository. Not upstream's charts."""
    root = tmp_path_factory.mktemp("prod-charts")
    cache = root / "charts"
    for ref in charts.environment_refs(rendered("prod")):
        target = charts.archive_path(cache, ref)
        built = package(root, target.parent, ref.chart, ref.version, privileged=True)
        assert built == target
    return root


@pytest.mark.slow
@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov not installed (make test installs it)")
def test_with_a_chart_cache_the_review_of_prod_includes_the_charts_objects(
    rendered, prod_stand_in_cache, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("TKESTACK_CACHE_DIR", str(prod_stand_in_cache))
    monkeypatch.setenv("TKESTACK_CHECKOV", str(CHECKOV))
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)
    prod = rendered("prod")
    releases = charts.releases(prod)
    result = review(prod, config_file=PROD_CONFIG)
    assert result.charts is not None
    assert sorted(result.charts.expansion.expanded) == sorted(r.urn for r in releases)
    assert result.charts.expansion.not_expanded == []
    on_charts = [
        f
        for f in result.findings
        if f.resource_name.split(": ", 1)[0] in {r.name for r in releases}
        and ": " in f.resource_name
    ]
    privileged = {f.urn for f in on_charts if f.policy == "pod-no-privileged"}
    # Every release's Deployment is flagged, except where the config exempts its namespace.
    config = effective_config(json.loads(PROD_CONFIG.read_text()))
    exempt = set(config["pod-no-privileged"]["exemptNamespaces"])
    expected = {r.urn for r in releases if r.inputs["namespace"] not in exempt}
    assert privileged == expected and expected
    assert {f.urn for f in on_charts if f.policy == "CKV_K8S_16"} == {r.urn for r in releases}
    assert result.charts.checkov.startswith("checkov: ")
    markdown = report.markdown(result)
    assert f"{len(releases)} of {len(releases)} Helm release(s) opened up" in markdown
    assert "did not look inside" not in markdown
    document = json.loads(report.as_json(result))
    assert document["helm"]["expanded"] is True
    assert document["helm"]["objects"] == 3 * len(releases)
    sarif = json.loads(report.sarif(result, "Pulumi.prod.yaml"))
    rule_ids = {rule["id"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"pod-no-privileged", "CKV_K8S_16"} <= rule_ids


@pytest.mark.slow
def test_render_prod_manifests_with_stand_in_charts(
    rendered_environment, prod_stand_in_cache, monkeypatch
) -> None:
    """`tkestack render prod --format manifests` expands prod's releases from the cache. The
    command's render of prod is the session's (`rendered_environment`: the same
    `fleet.render_environment` of the same Pulumi.prod.yaml, rendered once per session), so
    this test pays for the expansion, not for a second render of prod."""
    prod = rendered_environment("prod")
    calls: list[tuple[engine.StackConfig, tuple[Any, ...]]] = []

    def session_render(config: engine.StackConfig, *args: Any, **kwargs: Any) -> Any:
        calls.append((config, args))
        return prod

    monkeypatch.setattr(fleet, "render_environment", session_render)
    monkeypatch.setenv("TKESTACK_CACHE_DIR", str(prod_stand_in_cache))
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli.app, ["render", "prod", "--format", "manifests"])
    assert result.exit_code == 0, result.output
    assert "chart loki 17.1.7: loki/templates/deployment.yaml" in result.stdout
    assert "chart kube-prometheus-stack 88.2.0:" in result.stdout
    # The command asked for prod's whole environment, from the file the session rendered.
    assert [(config.file.resolve(), args) for config, args in calls] == [
        ((ROOT / "Pulumi.prod.yaml").resolve(), (1, None))
    ]


@pytest.mark.skipif(shutil.which("helm") is None, reason="no helm binary on the PATH")
def test_the_helm_binary_renders_like_the_sdk(seeded, repository) -> None:
    """Where a `helm` binary is installed, both render the same objects."""
    rendering = release_program(repository, web={"privileged": True})
    binary = charts.expand(rendering, seeded, charts.HelmBinary(shutil.which("helm") or "helm"))
    sdk = charts.expand(rendering, seeded, charts.HelmSdk())

    def documents(expansion: charts.Expansion) -> list[str]:
        return sorted(json.dumps(item.document, sort_keys=True) for item in expansion.objects)

    assert documents(binary) == documents(sdk) and documents(sdk)


HELM_STAND_IN = """#!{python}
# A STAND-IN for the `helm` binary: the two commands tkestack runs (`helm pull`, `helm
# template`), with helm's arguments and helm template's output format ("---" then
# "# Source: <template>" before each rendered template, NOTES.txt and partials left out),
# done by helm-python-sdk. It tests how tkestack drives and reads a binary, not helm itself.
import json, sys
import helm_python
args = sys.argv[1:]
def option(name):
    return args[args.index(name) + 1]
try:
    if args[0] == "pull":
        helm_python.pull(args[1], repo_url=option("--repo"), version=option("--version"),
                         destination=option("-d"))
    elif args[0] == "template":
        with open(option("-f")) as handle:
            values = json.load(handle)
        with helm_python.Chart.load(args[2]) as chart:
            rendered = chart.render(values, name=args[1], namespace=option("--namespace"),
                                    is_install=True)
        for path, text in sorted(rendered.items()):
            if path.endswith("NOTES.txt") or not text.strip():
                continue
            sys.stdout.write("---\\n# Source: " + path + "\\n" + text + "\\n")
except helm_python.HelmError as error:
    sys.stderr.write("Error: " + str(error) + "\\n")
    sys.exit(1)
"""


def test_a_helm_binary_is_driven_with_helms_arguments_and_read_by_its_sources(
    tmp_path, seeded, repository
) -> None:
    import sys

    shim = tmp_path / "helm"
    shim.write_text(HELM_STAND_IN.format(python=sys.executable))
    shim.chmod(0o755)
    binary = charts.HelmBinary(str(shim))
    pulled = charts.pull(
        [charts.ChartRef("tkestack-demo", "0.1.0", repository)], tmp_path / "c", binary
    )
    assert [r.status for r in pulled] == ["pulled"]
    rendering = release_program(repository, web={"privileged": True}, broken={"refuse": True})
    through_binary = charts.expand(rendering, seeded, binary)
    through_sdk = charts.expand(rendering, seeded, charts.HelmSdk())

    def seen(expansion: charts.Expansion) -> list[tuple[str, str]]:
        return [
            (item.template, json.dumps(item.document, sort_keys=True)) for item in expansion.objects
        ]

    assert seen(through_binary) == seen(through_sdk) and seen(through_sdk)
    assert [p.release.name for p in through_binary.problems] == ["broken"]
    assert "these values are not supported" in through_binary.problems[0].message


def test_helm_python_is_imported_only_to_pull_or_render() -> None:
    """The CLI, the review and the chart modules load without helm-python-sdk: it is an
    optional extra, imported when a chart is pulled or rendered."""
    import subprocess
    import sys

    code = (
        "import sys, tkestack.cli, tkestack.review, tkestack.charts, tkestack.chart_review\n"
        "print('helm_python' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert completed.stdout.strip() == "False"
