"""`tkestack`: the offline command line (render, review, graph), `preflight`, the one
command that reads a cloud account (with the user's own credentials), and `up`, `preview`,
`refresh`, `destroy`: the environment's stacks through the Automation API (the Pulumi CLI
and the user's credentials).

Exit codes: 0 done; 2 invalid spec or usage (message on stderr naming key and file);
1 internal error (`review`: 1 mandatory policy violations, 3 internal error; `preflight`: 1
a blocking finding; `up` and the others: 1 a stack failed).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.tree import Tree

from . import __version__, engine, fleet
from .ownership import cluster_owners, exported_clusters
from .stacks.loader import SpecError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="TKEStack as code: render and review environments offline, without cloud credentials.",
)
stderr = Console(stderr=True)

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID = 0, 1, 2


class RenderFormat(StrEnum):
    """Output formats of `tkestack render`."""

    table = "table"
    json = "json"
    manifests = "manifests"


def fail(message: str, code: int) -> NoReturn:
    """Print `message` on stderr and exit with `code`."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()  # a buffered stderr (click < 8.2's test runner) would lose it on exit
    raise typer.Exit(code)


def find_project(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding `Pulumi.yaml`."""
    for directory in (start.resolve(), *start.resolve().parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return None


def _no_project(where: Path) -> NoReturn:
    fail(
        f"error: no Pulumi project (Pulumi.yaml) at or above {where}: run tkestack inside a"
        " project folder, or pass --program DIR",
        EXIT_INVALID,
    )


def resolve_stack(env: str, program: Path | None = None) -> tuple[Path, Path]:
    """(stack config file, project directory) for ENV: a stack name or a config file path.

    With `program`, the project is that folder and a stack name is looked up in it;
    otherwise the project is the nearest `Pulumi.yaml` at or above the stack file (or the
    working directory). No project is a usage error, never a guess."""
    if program is not None and not (program / "Pulumi.yaml").is_file():
        fail(f"error: --program {program}: no Pulumi.yaml in that folder", EXIT_INVALID)
    candidate = Path(env)
    if candidate.suffix in (".yaml", ".yml") or os.sep in env:
        if not candidate.is_file():
            fail(f"error: stack config file {env} does not exist", EXIT_INVALID)
        project = program or find_project(candidate.parent) or find_project(Path.cwd())
        if project is None:
            _no_project(candidate.parent.resolve())
        return candidate, project
    project = program or find_project(Path.cwd())
    if project is None:
        _no_project(Path.cwd())
    stack_file = project / f"Pulumi.{env}.yaml"
    if not stack_file.is_file():
        known = sorted(
            path.name.removeprefix("Pulumi.").removesuffix(".yaml")
            for path in project.glob("Pulumi.*.yaml")
        )
        fail(
            f"error: no stack {env!r}: {stack_file} does not exist"
            f" (stacks here: {', '.join(known) or 'none'})",
            EXIT_INVALID,
        )
    return stack_file, project


def run_render(
    env: str,
    show_progress: bool,
    internal_code: int = EXIT_INTERNAL,
    program: Path | None = None,
    bootstrap: bool = False,
) -> engine.Rendering:
    """Render ENV as one view (every derived stack of a per-cluster environment:
    `fleet.EnvironmentRender.whole`); see `run_render_environment`."""
    return run_render_environment(
        env, show_progress, internal_code, program=program, bootstrap=bootstrap
    ).whole


def run_render_environment(
    env: str,
    show_progress: bool,
    internal_code: int = EXIT_INTERNAL,
    program: Path | None = None,
    bootstrap: bool = False,
    cluster: str | None = None,
    parallel: int = 1,
    config: engine.StackConfig | None = None,
) -> fleet.EnvironmentRender:
    """Render ENV's stacks (`fleet.render_environment`: the one stack, or every derived stack
    of a per-cluster environment; `cluster`: only `<env>.<cluster>`, `parallel`: worker
    processes), turning every failure into its exit code (`internal_code` for failures
    that are not the spec's fault). `program`: a Pulumi project folder whose own Python
    program runs instead of the shipped stack program; `bootstrap`: the environment's
    bootstrap program (bootstrap/) instead; `config`: ENV's stack config when the caller has
    read it already (`read_config`)."""
    stack_file, project = resolve_stack(env, program)
    with render_failures(internal_code):
        config = config or engine.read_stack_config(stack_file, project)
        if bootstrap:
            return fleet.EnvironmentRender.single(engine.render_bootstrap(config))

        def run(on_register: Callable[[int], None] | None = None) -> fleet.EnvironmentRender:
            if program is not None:
                return fleet.EnvironmentRender.single(
                    engine.render_program(config, program, on_register=on_register)
                )
            return fleet.render_environment(config, parallel, cluster, on_register=on_register)

        if not show_progress:
            return run()
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=stderr, transient=True
        ) as progress:
            task = progress.add_task(f"rendering {config.stack}", total=None)
            return run(
                lambda count: progress.update(
                    task, description=f"rendering {config.stack}: {count} resources"
                )
            )


def read_config(stack_file: Path, project: Path, internal_code: int) -> engine.StackConfig:
    """`engine.read_stack_config`, its failures turned into exit codes as a render's are."""
    with render_failures(internal_code):
        return engine.read_stack_config(stack_file, project)


@contextlib.contextmanager
def render_failures(internal_code: int) -> Iterator[None]:
    """Turn a failure of reading or rendering a stack into its exit code (`internal_code` for
    failures that are not the spec's fault)."""
    try:
        yield
    except SpecError as error:
        fail(error.report(), EXIT_INVALID)
    except (engine.ProgramError, fleet.FleetError) as error:
        fail(f"error: {error}", EXIT_INVALID)
    except engine.RenderError as error:
        fail(f"error: the stack program stopped: {error}", internal_code)
    except Exception as error:
        if os.environ.get("TKESTACK_DEBUG"):
            traceback.print_exc()
        fail(
            f"internal error: {type(error).__name__}: {error}"
            " (set TKESTACK_DEBUG=1 for the traceback)",
            internal_code,
        )


def render_table(rendering: engine.Rendering) -> Tree:
    """A tree per cloud and cluster, with resource counts by type."""
    counts: dict[str | None, Counter[str]] = {}
    owners = cluster_owners(rendering)
    for resource in rendering.resources:
        counts.setdefault(owners[resource.urn], Counter())[resource.type] += 1
    clusters = set(exported_clusters(rendering))
    environment = rendering.stack_outputs.get("environment", {})
    tier = environment.get("tier", "?") if isinstance(environment, dict) else "?"
    tree = Tree(
        f"[bold]{rendering.stack}[/] ({tier}) - {len(rendering.resources)} resources",
        guide_style="dim",
    )
    cluster_outputs = rendering.stack_outputs.get("clusters", {})
    by_cloud: dict[str, list[str]] = {}
    for name in sorted(clusters):
        info = cluster_outputs.get(name, {}) if isinstance(cluster_outputs, dict) else {}
        by_cloud.setdefault(str(info.get("cloud", "unknown")), []).append(name)
    for cloud in sorted(by_cloud):
        cloud_node = tree.add(f"[bold cyan]{cloud}[/]")
        for name in by_cloud[cloud]:
            info = cluster_outputs.get(name, {}) if isinstance(cluster_outputs, dict) else {}
            total = sum(counts.get(name, Counter()).values())
            label = (
                f"[bold]{name}[/] {info.get('region', '')} k8s {info.get('kubernetes_version', '')}"
            )
            cluster_node = cloud_node.add(f"{label} - {total} resources")
            for type_, count in sorted(counts.get(name, Counter()).items()):
                cluster_node.add(f"{count:>4}  {type_}")
    shared = counts.get(None, Counter())
    if shared:
        shared_node = tree.add(f"[bold]environment-wide[/] - {sum(shared.values())} resources")
        for type_, count in sorted(shared.items()):
            shared_node.add(f"{count:>4}  {type_}")
    return tree


# ---------------------------------------------------------------- fleet topology (issue 15)


def fleet_table(rendered: fleet.EnvironmentRender) -> Tree:
    """`render_table` of a per-cluster environment: a tree per derived stack, in deploy
    order, each labelled with its wave and runner."""
    if rendered.topology == "single":
        return render_table(rendered.whole)
    total = sum(len(part.resources) for part in rendered.stacks.values())
    tree = Tree(
        f"[bold]{rendered.environment}[/] per-cluster - {len(rendered.stacks)} stack(s),"
        f" {len(rendered.waves)} wave(s), {total} resources",
        guide_style="dim",
    )
    for name, part in rendered.stacks.items():
        wave = rendered.wave_of(name)
        if wave is None:
            label = "shared stack, first; default runner"
        else:
            label = f"wave {wave}; runner {rendered.runners.get(name) or 'default'}"
        node = tree.add(f"[bold magenta]stack {name}[/] ({label})")
        node.add(render_table(part))
    return tree


@app.command()
def topology(
    env: EnvArgument,
    json_format: Annotated[
        bool, typer.Option("--json", help="The stacks and waves as a JSON document.")
    ] = False,
    moves: Annotated[
        bool,
        typer.Option(
            "--moves",
            help="The `pulumi state move` commands that carry a deployed single stack ENV over"
            " to the per-cluster stacks without replacing anything (renders both).",
        ),
    ] = False,
    output: OutputOption = None,
) -> None:
    """The stacks ENV deploys as (docs/topology.md): the shared stack, then the cluster stacks
    wave by wave, each with its runner label and the stacks it reads."""
    stack_file, project = resolve_stack(env)
    try:
        config = engine.read_stack_config(stack_file, project)
        spec = fleet.environment_spec(config)
    except SpecError as error:
        fail(error.report(), EXIT_INVALID)
    if moves:
        if spec.topology == "single":
            fail(f"error: {spec.name} has topology: single: nothing to move", EXIT_INVALID)
        split = run_render_environment(str(stack_file), show_progress=False)
        single = engine.render(fleet.with_topology(config, "single"))
        commands = fleet.state_move_commands(single, split.stacks)
        write_output("".join(f"{command}\n" for command in commands), output)
        return
    document = fleet.topology_document(spec)
    if json_format:
        write_output(json.dumps(document, indent=2, sort_keys=True) + "\n", output)
        return
    lines = [f"{spec.name}: topology {spec.topology}"]
    for entry in document["stacks"]:
        where = f"wave {entry['wave']}" if entry["wave"] else "shared"
        if spec.topology == "single":
            where = "the one stack"
        reads = f", reads {', '.join(entry['reads'])}" if entry["reads"] else ""
        lines.append(f"  {entry['stack']}: {where}, runner {entry['runner'] or 'default'}{reads}")
    write_output("\n".join(lines) + "\n", output)


# ---------------------------------------------------------------- end fleet topology


def write_output(text: str, output: Path | None) -> None:
    """Write to `output`, or stdout when absent."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"error: cannot write {output}: {error.strerror}", EXIT_INVALID)


EnvArgument = Annotated[
    str, typer.Argument(help="Stack name (reads Pulumi.ENV.yaml) or a stack config file.")
]
"""The ENV argument of every command."""
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]
"""The --output option of every command."""
ProgramOption = Annotated[
    Path | None,
    typer.Option(
        "--program",
        help="A Pulumi project folder whose own Python program to run (an embedding"
        " project such as examples/python-enterprise) instead of the shipped stack program;"
        " ENV is looked up in it.",
        file_okay=False,
    ),
]
"""The --program option of every command."""


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tkestack {__version__}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def cli(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """TKEStack as code: render and review environments offline, without cloud credentials."""


@app.command()
def render(
    env: EnvArgument,
    format: Annotated[
        RenderFormat, typer.Option("--format", "-f", help="Output format.")
    ] = RenderFormat.table,
    output: OutputOption = None,
    program: ProgramOption = None,
    bootstrap: Annotated[
        bool,
        typer.Option(
            "--bootstrap",
            help="Render the environment's bootstrap project instead (bootstrap/: the roles,"
            " CAM service roles and state bucket it needs first).",
        ),
    ] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Only the stack ENV.CLUSTER of a per-cluster environment (the stacks it"
            " reads are rendered first to answer its stack references).",
        ),
    ] = None,
    parallel: Annotated[
        int,
        typer.Option(
            "--parallel",
            min=1,
            help="Render the cluster stacks of one dependency level in this many processes.",
        ),
    ] = 1,
) -> None:
    """Render an environment offline: the real stack program under Pulumi's mock runtime.
    A per-cluster environment renders every derived stack (docs/topology.md)."""
    if bootstrap and program is not None:
        fail(
            "error: --bootstrap renders this project's bootstrap; not with --program", EXIT_INVALID
        )
    if cluster is not None and (bootstrap or program is not None):
        fail("error: --cluster renders a stack of the shipped program only", EXIT_INVALID)
    rendered = run_render_environment(
        env,
        show_progress=format is RenderFormat.table and output is None,
        program=program,
        bootstrap=bootstrap,
        cluster=cluster,
        parallel=parallel,
    )
    rendering = rendered.whole
    if format is RenderFormat.json:
        # One stack (--cluster, or a single environment): that stack's document.
        single = cluster is not None or rendered.topology == "single"
        write_output(
            engine.render_json(rendering) if single else fleet.environment_json(rendered), output
        )
    elif format is RenderFormat.manifests:
        # Helm releases whose chart is in the cache are expanded (tkestack/charts.py).
        from .charts import manifests_with_charts

        text, notes = manifests_with_charts(rendering)
        for note in notes:
            stderr.print(f"note: {note}", style="yellow", highlight=False)
        write_output(text, output)
    elif output is None:
        Console().print(fleet_table(rendered))
    else:
        console = Console(record=True, width=120, file=open(os.devnull, "w"))  # noqa: SIM115
        console.print(fleet_table(rendered))
        write_output(console.export_text(), output)


class ReviewFormat(StrEnum):
    """Output formats of `tkestack review`."""

    markdown = "markdown"
    json = "json"
    sarif = "sarif"


class GraphFormat(StrEnum):
    """Output formats of `tkestack graph`."""

    mermaid = "mermaid"
    dot = "dot"


EXIT_VIOLATIONS = 1
"""`tkestack review`: mandatory policy violations."""
EXIT_REVIEW_INTERNAL = 3
"""`tkestack review`: the review itself failed (never confused with exit 1 in CI)."""


def spec_locations(
    rendering: engine.Rendering, stack_file: Path, project: Path, artifact: str
) -> dict[str, Any]:
    """Per URN, the spec key it came from and its line in the stack file (`provenance`)."""
    return spec_locator(engine.read_stack_config(stack_file, project), artifact)(rendering)


def spec_locator(config: engine.StackConfig, artifact: str) -> Callable[..., dict[str, Any]]:
    """`spec_locations` of `config`'s stack file for any number of its renderings (the derived
    stacks of a per-cluster environment): the file is read and indexed once. The locator
    takes a rendering and, optionally, its `cluster_owners` when the caller has them."""
    from .provenance import locator
    from .stacks.loader import ENVIRONMENT_KEY

    environment = config.values.get(ENVIRONMENT_KEY)
    if environment is None:
        # An embedding program (--program) has no environment spec.
        return lambda rendering, owners=None: {}
    return locator(environment, artifact, config.text, cluster_owners)


@app.command()
def review(
    env: EnvArgument,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Git ref to diff against (renders ENV with that ref's code)."),
    ] = None,
    format: Annotated[
        ReviewFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ReviewFormat.markdown,
    output: OutputOption = None,
    policy_config: Annotated[
        Path | None,
        typer.Option(
            "--policy-config",
            help="Policy pack config JSON (default: <env or tier>.json in the project's"
            " policies/config/, else the shipped pack's).",
        ),
    ] = None,
    sarif_output: Annotated[
        Path | None,
        typer.Option(
            "--sarif-output",
            help="Also write the SARIF document of the same review here (one render, both"
            " formats: CI's comment and code scanning).",
        ),
    ] = None,
    json_output: Annotated[
        Path | None,
        typer.Option(
            "--json-output",
            help="Also write the JSON document of the same review here (with --sarif-output:"
            " markdown, JSON and SARIF from one invocation).",
        ),
    ] = None,
    program: ProgramOption = None,
    protocol: Annotated[
        bool,
        typer.Option(
            "--protocol",
            help="Run the policy pack as its own process over Pulumi's analyzer protocol, as"
            " `pulumi preview --policy-pack` does (default: its rules in this process, same"
            " findings, faster).",
        ),
    ] = False,
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", help="Only the stack ENV.CLUSTER of a per-cluster environment."),
    ] = None,
) -> None:
    """Review an environment: policy violations, the diff against a base ref, a picture.
    A per-cluster environment is reviewed stack by stack (a section per derived stack).

    Exit 0: no mandatory violations; 1: mandatory violations, or a change against the base
    that the cloud would refuse (a control plane version skipping a minor or going back), or
    that replaces or deletes a protected resource; 2: invalid spec or usage; 3: the review
    could not run.
    """
    from . import report
    from . import review as reviewing
    from .analyzer import PolicyPackError

    if policy_config is not None and not policy_config.is_file():
        fail(f"error: --policy-config {policy_config} does not exist", EXIT_INVALID)
    if base is not None and program is not None:
        fail("error: --base renders the shipped stack program; not with --program", EXIT_INVALID)
    stack_file, project = resolve_stack(env, program)
    progress = stderr.is_terminal  # long steps show progress on a terminal only
    # The base renders in its own process while this one renders the head: two cores, about
    # one render's wall time for both (issue 21), and none at all when the base is cached.
    stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml").removesuffix(".yml")
    pending = None if base is None else reviewing.start_base_render(base, stack, project)
    if pending is not None and pending.done():
        # A ref that resolves to no commit fails at once: no head render before saying so.
        refused = pending.exception()
        if isinstance(refused, reviewing.ReviewError):
            fail(f"error: --base {base}: {refused}", EXIT_INVALID)
    config = read_config(stack_file, project, EXIT_REVIEW_INTERNAL)  # read once, used thrice
    rendered = run_render_environment(
        env,
        show_progress=progress,
        internal_code=EXIT_REVIEW_INTERNAL,
        program=program,
        cluster=cluster,
        config=config,
    )
    rendering = rendered.whole
    # The review allocates over renderings it keeps to its end: leave them (and what their
    # render left for the collector) out of the collections it triggers.
    with reviewing.renderings_kept():
        base_document = None
        if pending is not None:
            try:
                with (
                    stderr.status(f"rendering {rendering.stack} at {base}", spinner="dots")
                    if progress and not pending.done()
                    else contextlib.nullcontext()
                ):
                    base_document = pending.result()
            except reviewing.ReviewError as error:
                fail(f"error: --base {base}: {error}", EXIT_INVALID)
        allowed_regions = None
        if policy_config is None and program is None:
            # The environment's own allowlist, not the shipped environments' (issue 17); an
            # embedding program (--program) has no environment spec to read it from.
            from .stacks.loader import ENVIRONMENT_KEY, load_environment

            loaded = load_environment(
                config.values.get(ENVIRONMENT_KEY), config.display, config.text
            )
            allowed_regions = list(loaded.spec.allowed_regions)
        try:
            artifact = str(stack_file.resolve().relative_to(project.resolve()))
        except ValueError:
            artifact = stack_file.name
        locate = spec_locator(config, artifact)
        # A per-cluster environment: one review per derived stack (what each `pulumi up` judges).
        results: dict[str, reviewing.Review] = {}
        for name, part in rendered.stacks.items():
            per_cluster = rendered.topology == "per-cluster"
            # Once per stack, for both the deployment estimate and the provenance.
            owners = cluster_owners(part)
            try:
                results[name] = reviewing.review(
                    part,
                    base=(
                        fleet.base_for_stack(base_document, rendered, name)
                        if per_cluster and base_document is not None
                        else base_document
                    ),
                    base_ref=base,
                    config_file=policy_config
                    or (
                        reviewing.config_file_for(
                            rendered.environment, reviewing.tier_of(part), project
                        )
                        if per_cluster
                        else None
                    ),
                    allowed_regions=allowed_regions,
                    project=project,
                    protocol=protocol,
                    owners=owners,
                )
            except (PolicyPackError, reviewing.ReviewError) as error:
                fail(f"error: the policy pack could not run: {error}", EXIT_REVIEW_INTERNAL)
            results[name].provenance = locate(part, owners)
        if rendered.topology == "per-cluster":
            from . import fleet_report

            moved = base_document is not None and fleet.moved_base(base_document, rendered)
            if format is ReviewFormat.json:
                text = fleet_report.as_json(rendered, results)
            elif format is ReviewFormat.sarif:
                text = fleet_report.sarif(rendered, results, artifact)
            else:
                text = fleet_report.markdown(rendered, results, moved_base=moved)
            write_output(text, output)
            if json_output is not None:
                write_output(fleet_report.as_json(rendered, results), json_output)
            if sarif_output is not None:
                write_output(fleet_report.sarif(rendered, results, artifact), sarif_output)
        else:
            [result] = results.values()
            if format is ReviewFormat.json:
                text = report.as_json(result)
            elif format is ReviewFormat.sarif:
                text = report.sarif(result, artifact)
            else:
                text = report.markdown(result)
            write_output(text, output)
            if json_output is not None:
                write_output(report.as_json(result), json_output)
            if sarif_output is not None:
                write_output(report.sarif(result, artifact), sarif_output)
        failed = False
        for name, result in results.items():
            if result.mandatory:
                stderr.print(
                    f"{len(result.mandatory)} mandatory policy violation(s) in {name}", style="red"
                )
            for change in result.refused:
                stderr.print(f"{change.name}: {change.refused}", style="red")
            for change in result.blocked:
                stderr.print(f"{change.name} would be {change.kind}: {change.blocked}", style="red")
            failed = failed or bool(result.mandatory or result.refused or result.blocked)
        if failed:
            raise typer.Exit(EXIT_VIOLATIONS)


charts_app = typer.Typer(
    no_args_is_help=True, help="The chart cache: Helm charts the environments' releases install."
)
app.add_typer(charts_app, name="charts")


@charts_app.command("pull")
def charts_pull(
    env: Annotated[
        str | None,
        typer.Argument(
            help="Pull only the charts of this environment's Helm releases (stack name or"
            " stack config file); default: every chart the catalog pins."
        ),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Write the digest of each pulled chart whose catalog digest is unrecorded"
            " into the catalog (trust on first use: review and commit the change).",
        ),
    ] = False,
    catalog_file: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            help="A chart catalog (charts.yaml) to use instead of the shipped one (a mirror's"
            " own pins).",
            dir_okay=False,
        ),
    ] = None,
    program: ProgramOption = None,
) -> None:
    """Fetch each pinned chart into the local cache (~/.cache/tkestack/charts, or
    $TKESTACK_CACHE_DIR/charts) and check its digest against the catalog's.

    With the cache, `render --format manifests` and `review` expand the Helm releases with
    real Helm (the `helm` binary on the PATH, else helm-python-sdk). Exit 0: every chart
    cached; 1: a digest mismatch (the archive is refused) or a failed pull; 2: usage.
    """
    import yaml

    from . import charts

    entries = None
    if catalog_file is not None:
        try:
            loaded = yaml.safe_load(catalog_file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            fail(f"error: --catalog {catalog_file}: {error}", EXIT_INVALID)
        if not isinstance(loaded, dict):
            fail(f"error: --catalog {catalog_file}: not a mapping of charts", EXIT_INVALID)
        entries = loaded
    cache = charts.cache_dir()
    if cache is None:
        fail("error: the cache is off (TKESTACK_CACHE_DIR is set empty)", EXIT_INVALID)
    helm = charts.find_helm()
    if helm is None:
        fail(f"error: cannot pull charts: {charts.NO_HELM}", EXIT_INVALID)
    if env is None:
        refs = charts.catalog_refs(entries)
    else:
        refs = charts.environment_refs(
            run_render(env, show_progress=stderr.is_terminal, program=program), entries
        )
    try:
        results = charts.pull(refs, cache, helm, record=record, catalog_file=catalog_file)
    except charts.ChartError as error:
        fail(f"error: {error}", EXIT_INTERNAL)
    lines = [f"chart cache {cache} (Helm: {helm.name})"]
    for result in results:
        detail = f"  {result.detail}" if result.detail else ""
        lines.append(f"{result.status:<9} {result.ref.label:<32} {result.digest or '-'}{detail}")
    write_output("\n".join(lines) + "\n", None)
    if not all(result.ok for result in results):
        raise typer.Exit(EXIT_INTERNAL)


@app.command()
def explain(
    env: EnvArgument,
    resource: Annotated[str, typer.Argument(help="A resource URN, or a name if unique.")],
    output: OutputOption = None,
) -> None:
    """Explain a resource: the spec key it came from (file and line), the components it sits
    in, and its inputs (secrets masked)."""
    from . import provenance

    stack_file, project = resolve_stack(env)
    rendering = run_render(env, show_progress=stderr.is_terminal)
    try:
        found = provenance.find(rendering, resource)
    except provenance.ExplainError as error:
        fail(f"error: {error}", EXIT_INVALID)
    try:
        artifact = str(stack_file.resolve().relative_to(project.resolve()))
    except ValueError:
        artifact = stack_file.name
    locations = spec_locations(rendering, stack_file, project, artifact)
    write_output(provenance.explain(rendering, found, locations), output)


@app.command()
def graph(
    env: EnvArgument,
    format: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="Output format.")
    ] = GraphFormat.mermaid,
    output: OutputOption = None,
    program: ProgramOption = None,
) -> None:
    """Draw an environment: clouds, clusters, node pools (arch, GPUs) and tenants; a
    per-cluster environment's stacks and waves."""
    from . import graph as drawing

    rendered = run_render_environment(env, show_progress=False, program=program)
    # A per-cluster environment: its derived stacks and waves too (docs/topology.md).
    stacks = rendered.stack_nodes()
    draw = drawing.dot if format is GraphFormat.dot else drawing.mermaid
    write_output(draw(rendered.whole, stacks), output)


class PreflightFormat(StrEnum):
    """Output formats of `tkestack preflight`."""

    table = "table"
    json = "json"
    markdown = "markdown"


class PreflightCloud(StrEnum):
    """Clouds `tkestack preflight --cloud` can limit the run to."""

    aws = "aws"
    tencentcloud = "tencentcloud"


@app.command()
def preflight(
    env: EnvArgument,
    cloud: Annotated[
        list[PreflightCloud] | None,
        typer.Option("--cloud", help="Check only this cloud (repeatable; default: all)."),
    ] = None,
    format: Annotated[
        PreflightFormat, typer.Option("--format", "-f", help="Output format.")
    ] = PreflightFormat.table,
    output: OutputOption = None,
    aws_profile: Annotated[
        str | None, typer.Option("--aws-profile", help="AWS profile (default: AWS_PROFILE).")
    ] = None,
    kubeconfig: Annotated[
        list[str] | None,
        typer.Option(
            "--kubeconfig", help="CLUSTER=PATH: an attached cluster's kubeconfig (repeatable)."
        ),
    ] = None,
) -> None:
    """Check a real account before the first `pulumi up` (read only, your credentials).

    Exit 0: all clear; 1: a blocking finding; 2: invalid spec, usage or credentials problem.
    """
    from .preflight import command

    stack_file, _ = resolve_stack(env)
    try:
        text, code = command.run(
            stack_file,
            clouds={item.value for item in cloud or []},
            format=format.value,
            aws_profile=aws_profile,
            kubeconfigs=command.parse_kubeconfigs(kubeconfig or []),
        )
    except SpecError as error:
        fail(error.report(), EXIT_INVALID)
    except command.PreflightUsageError as error:
        fail(f"error: {error}", EXIT_INVALID)
    write_output(text, output)
    if code:
        raise typer.Exit(code)


ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster", help="Only this cluster's stack ENV.CLUSTER (topology: per-cluster)."
    ),
]
"""The --cluster option of the Automation API commands."""
ParallelOption = Annotated[
    int,
    typer.Option("--parallel", min=1, help="Stacks of one wave run at once (default 1)."),
]
"""The --parallel option of the Automation API commands."""
PolicyPackOption = Annotated[
    list[str] | None,
    typer.Option(
        "--policy-pack",
        help="Run every stack with this policy pack folder (pulumi --policy-pack; repeatable).",
    ),
]
"""The --policy-pack option of `tkestack preview|up`."""
PolicyPackConfigOption = Annotated[
    list[str] | None,
    typer.Option(
        "--policy-pack-config",
        help="The JSON config of each --policy-pack, in order (pulumi --policy-pack-config).",
    ),
]
"""The --policy-pack-config option of `tkestack preview|up`."""


def run_stacks(
    operation: str,
    env: str,
    cluster: str | None,
    parallel: int,
    policy_packs: list[str] | None = None,
    policy_pack_configs: list[str] | None = None,
) -> None:
    """Run `operation` over ENV's derived stacks through the Automation API
    (`tkestack/orchestrate.py`). Exit 0: every stack ran; 1: a stack failed (the report says
    which ran, failed and were not started); 2: invalid spec or usage."""
    from . import orchestrate
    from .stacks.loader import ENVIRONMENT_KEY
    from .stacks.program import validate

    stack_file, project = resolve_stack(env)
    try:
        config = engine.read_stack_config(stack_file, project)
        from .stacks.loader import sibling_environments

        spec = validate(
            config.values.get(ENVIRONMENT_KEY),
            config.display,
            config.text,
            siblings=sibling_environments(config.file),
        ).spec
    except SpecError as error:
        fail(error.report(), EXIT_INVALID)
    if config.stack != spec.name and "." not in config.stack:
        fail(
            f"error: {config.display}: the stack {config.stack} holds environment {spec.name}:"
            " the derived stacks are named after the environment (docs/topology.md)",
            EXIT_INVALID,
        )
    if "." in config.stack:
        fail(
            f"error: {env}: run the environment's stack {spec.name}; its cluster stacks"
            " are derived from it (--cluster CLUSTER runs one)",
            EXIT_INVALID,
        )
    orchestrator = orchestrate.Orchestrator(
        config, spec, project, on_output=lambda line: stderr.out(line, highlight=False)
    )
    try:
        report = orchestrator.run(
            orchestrate.Operation(operation),
            cluster,
            parallel,
            policy_packs or (),
            policy_pack_configs or (),
        )
    except orchestrate.OrchestrationError as error:
        fail(f"error: {error}", EXIT_INVALID)
    except Exception as error:
        if os.environ.get("TKESTACK_DEBUG"):
            traceback.print_exc()
        fail(f"error: {type(error).__name__}: {error}", EXIT_INTERNAL)
    sys.stdout.write(report.summary())
    if not report.ok:
        raise typer.Exit(EXIT_INTERNAL)


@app.command()
def up(
    env: EnvArgument,
    cluster: ClusterOption = None,
    parallel: ParallelOption = 1,
    policy_pack: PolicyPackOption = None,
    policy_pack_config: PolicyPackConfigOption = None,
) -> None:
    """Deploy ENV's stacks (pulumi up through the Automation API): the shared stack, then
    the cluster stacks wave by wave; stops at the first failure (exit 1)."""
    run_stacks("up", env, cluster, parallel, policy_pack, policy_pack_config)


@app.command()
def preview(
    env: EnvArgument,
    cluster: ClusterOption = None,
    parallel: ParallelOption = 1,
    policy_pack: PolicyPackOption = None,
    policy_pack_config: PolicyPackConfigOption = None,
) -> None:
    """Preview ENV's stacks in deploy order (pulumi preview through the Automation API),
    each with the policy packs given (`--policy-pack policies --policy-pack-config F`)."""
    run_stacks("preview", env, cluster, parallel, policy_pack, policy_pack_config)


@app.command()
def refresh(env: EnvArgument, cluster: ClusterOption = None, parallel: ParallelOption = 1) -> None:
    """Refresh ENV's stacks in deploy order (pulumi refresh through the Automation API)."""
    run_stacks("refresh", env, cluster, parallel)


@app.command()
def destroy(env: EnvArgument, cluster: ClusterOption = None, parallel: ParallelOption = 1) -> None:
    """Destroy ENV's stacks: the cluster waves in reverse, the shared stack last."""
    run_stacks("destroy", env, cluster, parallel)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
