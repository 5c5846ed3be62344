"""The chart cache: `tkestack charts pull`, and Helm releases expanded with real Helm.

A Helm release in a rendering is one `kubernetes:helm.sh/v3:Release` resource: its chart,
version, repository, namespace, name and values. With the pinned chart archive in the local
cache (`tkestack charts pull`), `expand` renders each release with real Helm, exactly the
values the component passes to the Release, and returns the objects the chart would install
(Deployments, RBAC, Services); `tkestack render --format manifests` prints them and
`tkestack review` judges them (`tkestack/chart_review.py`).

Helm itself: the `helm` binary when it is on the PATH, else the `helm-python-sdk` package
(import name `helm_python`, the optional extra `tkestack[helm]`), which embeds Helm's Go SDK.
Neither is imported or run at module import time.

Digests: the catalog (components/catalog/charts.yaml) pins each chart's `digest`, the sha256
of its `.tgz`; `null` means unrecorded. `tkestack charts pull --record` writes the digest of
the archive it downloads into the catalog (trust on first use); from then on an archive whose
digest differs is refused by `pull` and is never expanded (a mandatory review finding).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from . import cache as caches
from . import engine
from .components import catalog
from .review import HELM_RELEASE

DIGEST_PREFIX = "sha256:"
HOOK_ANNOTATION = "helm.sh/hook"
TEST_HOOKS = frozenset({"test", "test-success", "test-failure"})
"""`helm.sh/hook` values of chart tests: created by `helm test` only, never by an install
(Helm docs, "Chart Tests"), so not objects the release installs."""
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CSIDriver",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "PersistentVolume",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
    }
)
"""Kinds the API server keeps outside namespaces (`kubectl api-resources --namespaced=false`).
Every other object a chart renders without `metadata.namespace` lands in the release's
namespace, as `helm install` applies it; `expand` writes that namespace in, so the rules
(exempt namespaces, `no-default-namespace`) see where it lands."""


class ChartError(Exception):
    """A chart could not be pulled or rendered (the message says which and why)."""


# ---------------------------------------------------------------- what is pinned


@dataclass(frozen=True)
class ChartRef:
    """One chart at one version from one source, and the digest pinned for it."""

    chart: str
    """Chart name inside the repository."""
    version: str
    repository: str
    """https Helm repository URL, or an `oci://` reference of the chart."""
    digest: str | None = None
    """`sha256:<hex>` of the archive, from the catalog; None when unrecorded or not pinned."""
    key: str | None = None
    """Catalog key (`loki`) when the catalog pins this chart; None for a chart it does not."""

    @property
    def label(self) -> str:
        """`loki 17.1.7`."""
        return f"{self.chart} {self.version}"


def catalog_refs(entries: Mapping[str, Mapping[str, Any]] | None = None) -> list[ChartRef]:
    """Every chart the catalog pins (`entries`: a catalog's entries; default the shipped
    one), in catalog key order."""
    entries = catalog.chart_entries() if entries is None else entries
    refs = []
    for key in sorted(entries):
        entry = entries[key]
        digest = entry.get("digest")
        refs.append(
            ChartRef(
                chart=str(entry["chart"]),
                version=str(entry["version"]),
                repository=str(entry.get("repository") or entry["oci"]),
                digest=str(digest) if digest else None,
                key=key,
            )
        )
    return refs


def release_ref(
    inputs: Mapping[str, Any], entries: Mapping[str, Mapping[str, Any]] | None = None
) -> ChartRef | None:
    """The chart a Release's inputs install, with the catalog's digest when the catalog pins
    that chart, version and repository; None when the inputs name no chart."""
    chart, version = inputs.get("chart"), inputs.get("version")
    repository = (inputs.get("repositoryOpts") or {}).get("repo")
    if not isinstance(chart, str) or not chart:
        return None
    if chart.startswith("oci://"):
        repository, chart = chart, chart.rstrip("/").rsplit("/", 1)[-1]
    version = str(version) if version is not None else ""
    repository = str(repository) if repository else ""
    for ref in catalog_refs(entries):
        same_source = ref.repository.rstrip("/") == repository.rstrip("/")
        if (ref.chart, ref.version) == (chart, version) and same_source:
            return ref
    return ChartRef(chart=chart, version=version, repository=repository)


def environment_refs(
    rendering: engine.Rendering, entries: Mapping[str, Mapping[str, Any]] | None = None
) -> list[ChartRef]:
    """The charts of an environment's Helm releases, each once, sorted."""
    found = {
        ref
        for resource in rendering.resources
        if resource.type == HELM_RELEASE
        for ref in [release_ref(engine.revealed(resource.inputs), entries)]
        if ref is not None
    }
    return sorted(found, key=lambda ref: (ref.chart, ref.version, ref.repository))


# ---------------------------------------------------------------- the cache


def cache_dir() -> Path | None:
    """The chart cache: `$TKESTACK_CACHE_DIR/charts` (the base-render cache's root), else
    `$XDG_CACHE_HOME/tkestack/charts`, else `~/.cache/tkestack/charts`; None when
    `TKESTACK_CACHE_DIR` is set empty (caches off)."""
    return caches.cache_dir("charts")


def _source_folder(repository: str) -> str:
    """A folder name for a chart source: readable, and distinct per repository URL."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", re.sub(r"^[a-z]+://", "", repository)).strip("_")
    short = hashlib.sha256(repository.rstrip("/").encode()).hexdigest()[:8]
    return f"{readable[:60]}-{short}"


def archive_path(cache: Path, ref: ChartRef) -> Path:
    """Where the cache keeps `ref`'s archive: `<cache>/<source>/<chart>-<version>.tgz`."""
    return cache / _source_folder(ref.repository) / f"{ref.chart}-{ref.version}.tgz"


def file_digest(path: Path) -> str:
    """`sha256:<hex>` of a file: the digest Helm repository indexes carry per chart archive
    (helm_python.digest gives the same)."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return DIGEST_PREFIX + sha.hexdigest()


# ---------------------------------------------------------------- Helm


class Helm(Protocol):
    """Real Helm: pull an archive, render a chart archive with values."""

    name: str
    """`helm binary (/usr/local/bin/helm)` or `helm-python-sdk 0.2.2`: shown in reports."""

    def pull(self, ref: ChartRef, destination: Path) -> Path:
        """Download `ref`'s archive into the empty folder `destination`; its path."""
        ...

    def template(
        self, archive: Path, name: str, namespace: str, values: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        """(template path, rendered text) of every template, as `helm template` renders
        them for an install; ChartError when the chart refuses to render."""
        ...


@dataclass
class HelmBinary:
    """The `helm` binary (`helm pull`, `helm template`)."""

    path: str
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"helm binary ({self.path})"

    def _run(self, *args: str) -> str:
        completed = subprocess.run(
            [self.path, *args], capture_output=True, text=True, timeout=600, check=False
        )
        if completed.returncode != 0:
            raise ChartError(completed.stderr.strip() or f"helm exited {completed.returncode}")
        return completed.stdout

    def pull(self, ref: ChartRef, destination: Path) -> Path:
        """`helm pull` (repository: `--repo URL`; OCI: the reference itself)."""
        source = [ref.repository] if ref.repository.startswith("oci://") else [ref.chart]
        repo = [] if ref.repository.startswith("oci://") else ["--repo", ref.repository]
        self._run("pull", *source, *repo, "--version", ref.version, "-d", str(destination))
        return _only_archive(destination, ref)

    def template(
        self, archive: Path, name: str, namespace: str, values: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        """`helm template NAME ARCHIVE --namespace NS --values FILE` (JSON is YAML)."""
        with tempfile.TemporaryDirectory(prefix="tkestack-values-") as folder:
            values_file = Path(folder) / "values.json"
            values_file.write_text(json.dumps(values, sort_keys=True), encoding="utf-8")
            text = self._run(
                "template", name, str(archive), "--namespace", namespace, "-f", str(values_file)
            )
        return _split_sources(text)


@dataclass
class HelmSdk:
    """helm-python-sdk (`helm_python`): Helm's Go SDK through its C ABI, no binary."""

    name: str = ""

    def __post_init__(self) -> None:
        import helm_python

        self.name = self.name or f"helm-python-sdk {helm_python.__version__}"

    def pull(self, ref: ChartRef, destination: Path) -> Path:
        """`helm_python.pull` (repository chart name with `repo_url`, or the OCI reference)."""
        import helm_python

        try:
            if ref.repository.startswith("oci://"):
                helm_python.pull(ref.repository, version=ref.version, destination=destination)
            else:
                helm_python.pull(
                    ref.chart,
                    repo_url=ref.repository,
                    version=ref.version,
                    destination=destination,
                )
        except helm_python.HelmError as error:
            raise ChartError(str(error)) from None
        return _only_archive(destination, ref)

    def template(
        self, archive: Path, name: str, namespace: str, values: Mapping[str, Any]
    ) -> list[tuple[str, str]]:
        """`Chart.load(archive).render(values, name=, namespace=, is_install=True)`."""
        import helm_python

        try:
            with helm_python.Chart.load(archive) as chart:
                rendered = chart.render(
                    dict(values), name=name, namespace=namespace, is_install=True
                )
        except helm_python.HelmError as error:
            raise ChartError(str(error)) from None
        return sorted(rendered.items())


def _only_archive(destination: Path, ref: ChartRef) -> Path:
    found = sorted(destination.glob("*.tgz"))
    if len(found) != 1:
        raise ChartError(f"pulling {ref.label} left {len(found)} archives, not one")
    return found[0]


def _split_sources(text: str) -> list[tuple[str, str]]:
    """`helm template` output as (template path, document) pairs, by its `# Source:` lines."""
    pairs: list[tuple[str, str]] = []
    for chunk in re.split(r"(?m)^---\s*$", text):
        match = re.search(r"(?m)^# Source: (.+)$", chunk)
        pairs.append((match.group(1).strip() if match else "", chunk))
    return pairs


def find_helm() -> Helm | None:
    """The `helm` binary on the PATH, else helm-python-sdk when installed, else None."""
    binary = shutil.which("helm")
    if binary:
        return HelmBinary(binary)
    try:
        return HelmSdk()
    except ImportError:
        return None
    except Exception:  # helm_python.HelmLibraryError: its native library does not load here
        return None


NO_HELM = (
    "neither the `helm` binary (on the PATH) nor helm-python-sdk (`pip install"
    " 'tkestack[helm]'`) is available"
)


# ---------------------------------------------------------------- pull


@dataclass(frozen=True)
class PullResult:
    """What `pull` did with one chart."""

    ref: ChartRef
    status: str
    """`pulled`, `cached`, `recorded` (pulled and its digest written to the catalog),
    `mismatch` (refused: the digest differs from the catalog's) or `failed`."""
    digest: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Whether the chart is in the cache, with a digest that matches (or unrecorded)."""
        return self.status in ("pulled", "cached", "recorded")


def pull(
    refs: Sequence[ChartRef],
    cache: Path,
    helm: Helm,
    *,
    record: bool = False,
    catalog_file: Path | None = None,
) -> list[PullResult]:
    """Bring every chart of `refs` into `cache`, checking its digest against the catalog's.

    An archive already cached is checked, not downloaded again. A digest that differs from
    the catalog's is refused: the archive is deleted and the result is `mismatch`. With
    `record`, the digest of an unrecorded catalog chart is written into `catalog_file` (the
    shipped catalog by default)."""
    results = []
    for ref in refs:
        target = archive_path(cache, ref)
        status = "cached"
        if not target.is_file():
            status = "pulled"
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with tempfile.TemporaryDirectory(dir=target.parent, prefix=".pull-") as folder:
                    downloaded = helm.pull(ref, Path(folder))
                    os.replace(downloaded, target)
            except ChartError as error:
                results.append(PullResult(ref, "failed", detail=str(error)))
                continue
        digest = file_digest(target)
        if ref.digest is not None and digest != ref.digest:
            target.unlink()
            results.append(
                PullResult(
                    ref,
                    "mismatch",
                    digest,
                    f"the archive's digest is {digest}, the catalog pins {ref.digest}: refused"
                    " and removed from the cache",
                )
            )
            continue
        if ref.digest is None and record and ref.key is not None:
            record_digest(catalog_file or catalog.charts_file(), ref.key, digest)
            results.append(PullResult(ref, "recorded", digest, "digest written to the catalog"))
            continue
        detail = ""
        if ref.digest is None:
            detail = (
                "digest unrecorded: run with --record to pin it"
                if ref.key is not None
                else "not pinned in the catalog: no digest to check"
            )
        results.append(PullResult(ref, status, digest, detail))
    return results


def record_digest(catalog_file: Path, key: str, digest: str) -> None:
    """Write `digest` as catalog entry `key`'s `digest:` line (its `digest: null` line, or a
    new line after its `version:`), keeping every other line of the file as written."""
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise ChartError(f"not a sha256 digest: {digest!r}")
    lines = catalog_file.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == f"{key}:"), None)
    if start is None:
        raise ChartError(f"no entry {key!r} in {catalog_file}")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "#", "\n", "")),
        len(lines),
    )
    block = range(start + 1, end)
    existing = next((i for i in block if re.match(r"  digest:", lines[i])), None)
    if existing is not None:
        current = lines[existing].split(":", 1)[1].strip().strip("\"'")
        if current not in ("null", "~", "") and current != digest:
            raise ChartError(f"{key}: the catalog already pins {current}; not overwritten")
        lines[existing] = f'  digest: "{digest}"\n'
    else:
        version = next((i for i in block if re.match(r"  version:", lines[i])), None)
        if version is None:
            raise ChartError(f"{key}: no version line in {catalog_file}")
        lines.insert(version + 1, f'  digest: "{digest}"\n')
    catalog_file.write_text("".join(lines), encoding="utf-8")
    catalog.chart_entries.cache_clear()


# ---------------------------------------------------------------- expand


@dataclass(frozen=True)
class ChartObject:
    """One object a release's chart installs."""

    release: engine.RenderedResource
    ref: ChartRef
    template: str
    """The chart template it came from (`loki/templates/single-binary/statefulset.yaml`)."""
    document: dict[str, Any]

    @property
    def kind(self) -> str:
        """The object's kind."""
        return str(self.document.get("kind", ""))

    @property
    def namespace(self) -> str:
        """The object's namespace (`""` for a cluster-scoped kind)."""
        return str((self.document.get("metadata") or {}).get("namespace") or "")

    @property
    def object_name(self) -> str:
        """The object's `metadata.name`."""
        return str((self.document.get("metadata") or {}).get("name") or "")

    @property
    def type(self) -> str:
        """The Pulumi Kubernetes type token of the object (`kubernetes:apps/v1:Deployment`)."""
        api = str(self.document.get("apiVersion", ""))
        group = api if "/" in api else f"core/{api}"
        return f"kubernetes:{group}:{self.kind}"

    @property
    def label(self) -> str:
        """`Deployment logging/loki-gateway` (`ClusterRole loki` when cluster-scoped)."""
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.object_name}"


@dataclass(frozen=True)
class ReleaseProblem:
    """A release whose chart was not expanded, and why."""

    release: engine.RenderedResource
    ref: ChartRef
    kind: str
    """`mismatch` (the cached archive's digest differs from the catalog's) or `render`
    (the chart refused to render with the release's values)."""
    message: str


@dataclass
class Expansion:
    """The Helm releases of a rendering, opened up where the chart cache allows."""

    helm: str = ""
    """Which Helm rendered them (`Helm.name`); empty when none ran."""
    cache: str = ""
    """The chart cache folder used."""
    releases: int = 0
    expanded: list[str] = field(default_factory=list)
    """URNs of the releases whose charts were rendered."""
    objects: list[ChartObject] = field(default_factory=list)
    problems: list[ReleaseProblem] = field(default_factory=list)
    missing: list[tuple[str, ChartRef]] = field(default_factory=list)
    """(release URN, chart) of releases whose chart is not in the cache."""
    unavailable: str = ""
    """Why no release was expanded at all (no cache, no Helm); empty otherwise."""

    @property
    def not_expanded(self) -> list[str]:
        """Names of the releases this expansion did not look inside."""
        done = set(self.expanded)
        names = {urn.rsplit("::", 1)[-1] for urn, _ in self.missing}
        names.update(problem.release.name for problem in self.problems)
        return sorted(names - {urn.rsplit("::", 1)[-1] for urn in done})


def releases(rendering: engine.Rendering) -> list[engine.RenderedResource]:
    """The Helm releases of a rendering, in URN order."""
    return [resource for resource in rendering.resources if resource.type == HELM_RELEASE]


def expand(
    rendering: engine.Rendering,
    cache: Path | None = None,
    helm: Helm | None = None,
    entries: Mapping[str, Mapping[str, Any]] | None = None,
) -> Expansion:
    """Render every Helm release of `rendering` whose chart archive is in `cache` (default
    `cache_dir()`) with `helm` (default `find_helm()`), with the release's own name,
    namespace and values (secrets masked: a secret value is never handed to a template, so
    no output carries it). A cached archive whose digest differs from the catalog's, and a
    chart that refuses the values, are `problems`; a release whose archive is not cached is
    `missing`."""
    found = releases(rendering)
    result = Expansion(releases=len(found))
    cache = cache_dir() if cache is None else cache
    result.cache = str(cache) if cache else ""
    cached: list[tuple[engine.RenderedResource, ChartRef, Path]] = []
    for release in found:
        ref = release_ref(engine.revealed(release.inputs), entries)
        if ref is None:
            continue
        path = archive_path(cache, ref) if cache is not None else None
        if path is None or not path.is_file():
            result.missing.append((release.urn, ref))
            continue
        cached.append((release, ref, path))
    if not cached:
        if found and not result.unavailable:
            result.unavailable = (
                "the chart cache is off (TKESTACK_CACHE_DIR is empty)"
                if cache is None
                else f"no chart of theirs is in the cache {cache} (`tkestack charts pull`)"
            )
        return result
    helm = helm if helm is not None else find_helm()
    if helm is None:
        result.unavailable = NO_HELM
        result.missing.extend((release.urn, ref) for release, ref, _ in cached)
        return result
    result.helm = helm.name
    digests: dict[Path, str] = {}
    for release, ref, path in cached:
        digest = digests.setdefault(path, file_digest(path))
        if ref.digest is not None and digest != ref.digest:
            result.problems.append(
                ReleaseProblem(
                    release,
                    ref,
                    "mismatch",
                    f"the cached archive of {ref.label} has digest {digest}, the catalog pins"
                    f" {ref.digest}: not rendered (pull it again: `tkestack charts pull`)",
                )
            )
            continue
        inputs = release.inputs
        name = str(engine.revealed(inputs.get("name")) or release.name)
        namespace = str(engine.revealed(inputs.get("namespace")) or "default")
        values = engine.masked(inputs.get("values") or {})
        try:
            rendered = helm.template(path, name, namespace, values)
        except ChartError as error:
            result.problems.append(
                ReleaseProblem(
                    release,
                    ref,
                    "render",
                    f"chart {ref.label} refuses the release's values: {error}",
                )
            )
            continue
        result.expanded.append(release.urn)
        for template, text in rendered:
            result.objects.extend(_objects(release, ref, namespace, template, text))
    return result


def _objects(
    release: engine.RenderedResource, ref: ChartRef, namespace: str, template: str, text: str
) -> Iterator[ChartObject]:
    name = template.rsplit("/", 1)[-1]
    if name == "NOTES.txt" or name.startswith("_"):
        return
    with contextlib.suppress(yaml.YAMLError):
        documents = list(yaml.safe_load_all(text))
        for document in documents:
            if not isinstance(document, dict) or "kind" not in document:
                continue
            metadata = document.setdefault("metadata", {})
            if not isinstance(metadata, dict):
                continue
            hooks = {
                hook.strip()
                for hook in str((metadata.get("annotations") or {}).get(HOOK_ANNOTATION, "")).split(
                    ","
                )
            }
            if hooks & TEST_HOOKS:
                continue
            if document["kind"] not in CLUSTER_SCOPED_KINDS and not metadata.get("namespace"):
                metadata["namespace"] = namespace
            yield ChartObject(release, ref, template, document)


def object_id(item: ChartObject) -> str:
    """An identity for a chart object, unique in a rendering (not a Pulumi URN: the object is
    not a Pulumi resource; findings on it are attributed to its release's URN)."""
    return f"{item.release.urn}::{item.type}::{item.namespace}/{item.object_name}"


def manifests(expansion: Expansion) -> str:
    """The expanded objects as multi-document YAML, each headed by its release and template
    (the `--format manifests` part after the rendering's own objects)."""
    parts = []
    for item in expansion.objects:
        body = yaml.safe_dump(item.document, sort_keys=True, default_flow_style=False)
        parts.append(f"# {item.release.urn} chart {item.ref.label}: {item.template}\n{body}")
    return "---\n".join(parts)


def manifests_with_charts(rendering: engine.Rendering) -> tuple[str, list[str]]:
    """`render --format manifests`: the rendering's own objects, then those of every Helm
    release whose chart is in the cache; and the notes for stderr (releases that could not be
    expanded, and why). Without a cached chart, exactly `engine.render_manifests`."""
    text = engine.render_manifests(rendering)
    expansion = expand(rendering)
    notes = [f"{problem.release.name}: {problem.message}" for problem in expansion.problems]
    if expansion.expanded and expansion.missing:
        names = ", ".join(sorted({urn.rsplit("::", 1)[-1] for urn, _ in expansion.missing}))
        notes.append(f"not in the chart cache, not expanded: {names}")
    elif expansion.missing and expansion.unavailable == NO_HELM:
        notes.append(f"Helm releases not expanded: {NO_HELM}")
    extra = manifests(expansion)
    if extra:
        text = f"{text}---\n{extra}" if text else extra
    return text, notes
