"""Shared fixtures: offline renders of the shipped environments, and of ad-hoc specs."""

from __future__ import annotations

import copy
import functools
import gc
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tkestack import engine, fleet

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "staging", "prod")


def stack_config(stack_file: Path) -> engine.StackConfig:
    """Read a stack config file of this project."""
    return engine.read_stack_config(stack_file, ROOT)


@pytest.fixture(scope="session", autouse=True)
def base_render_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`review --base` caches base renders; the suite's go to one folder per session (and
    worker), never the user's ~/.cache, so each session starts cold."""
    folder = tmp_path_factory.mktemp("tkestack-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TKESTACK_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session", autouse=True)
def kubernetes_schemas_parsed_once() -> Iterator[None]:
    """kubernetes-validate reads and parses its schema files on every `validate` call: the
    kind's schema and the version's whole `_definitions.json` (1.4 MB) for each object
    (kubernetes_validate/utils.py, `validate` calls `schema_contents` twice). The suite
    validates hundreds of objects, so each file is parsed once per session instead (a cache
    over `schema_contents`, keyed by file; a missing file still raises). The same files, the
    library's own validation."""
    from kubernetes_validate import utils

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utils, "schema_contents", functools.cache(utils.schema_contents))
        yield


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[object]:
    """No cyclic garbage collection while collecting: importing the test modules (the cloud
    SDKs, moto, hypothesis) adds objects that live to the end, and each full collection
    walks all of them (17 per xdist worker, ~1.5 of its ~6 CPU-s of collection). After it,
    what collection built is collected once and frozen out of every later collection
    (`gc.freeze`), and the young generation is collected less often (tests allocate in
    bulk: pulumi resources, moto's tables), so full collections come rarer: the same
    garbage is collected, later. (The xdist controller collects nothing: this runs around
    its no-op.)"""
    gc.disable()
    try:
        return (yield)
    finally:
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
        gc.enable()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` run first (stable order otherwise): xdist hands tests out in
    collection order, so a slow test collected last would run alone on one core at the end.
    Every worker collects the same order, as xdist requires."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, produce: Callable[[Path], None]
) -> Path:
    """The folder `name` that `produce(folder)` filled, ONCE per test run: shared by the
    xdist workers through their common temp root (a lock: the first worker to ask produces,
    the others wait and read). A `produce` that raises marks nothing done, so every asker
    fails alike. Each run starts empty (pytest's temp root is per run): nothing is carried
    from one run to the next. xdist's `--dist loadgroup` would keep the tests of one such
    result on one worker instead, but it does not group on pytest 9.2 (pytest-dev/pytest-xdist
    issue 1386)."""
    import fcntl

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's temp root, common to every worker
    folder = root / name
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / f"{name}.done"
        if not done.exists():
            folder.mkdir(exist_ok=True)
            produce(folder)
            done.touch()
    return folder


HASH_PROBE = "tkestack"
"""A string whose `hash()` tells two processes' hash seeds apart."""

FRESH_RENDER = """
import contextlib
import io
import runpy
import sys
from pathlib import Path
out = Path(sys.argv[1])
probe, *environments = sys.argv[2:]
(out / "hash-probe").write_text(str(hash(probe)))


# `python -m MODULE ARGS`: runpy runs the module as `-m` does; returns its exit status.
def run_module(module, *args):
    sys.argv = ["tkestack", *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        return 0 if done.code is None else done.code if isinstance(done.code, int) else 1
    return 0


# `python -m tkestack.cli render dev -f json -o FILE`, first.
if run_module("tkestack.cli", "render", "dev", "-f", "json", "-o", str(out / "cli-dev.json")):
    raise SystemExit("tkestack.cli render dev failed")
from tkestack import engine, fleet
for env in environments:
    config = engine.read_stack_config(Path(f"Pulumi.{env}.yaml"), Path("."))
    rendered = fleet.render_environment(config)
    (out / f"{env}.json").write_text(fleet.environment_json(rendered))
    (out / f"{env}.yaml").write_text(engine.render_manifests(rendered.whole))
# `python -m tkestack --version` (tkestack/__main__.py, which no render imports): its exit
# status, then what it printed.
with contextlib.redirect_stdout(io.StringIO()) as printed:
    status = run_module("tkestack", "--version")
(out / "python-m-tkestack-version").write_text(f"{status}\\n{printed.getvalue()}")
"""

FRESH_SEED = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
"""The hash seed of the fresh process of `fresh_renders`: never this run's own fixed seed, if
it has one (without PYTHONHASHSEED every process draws a random seed; the tests compare the
hash probe's values, so a clash cannot pass unnoticed)."""


@pytest.fixture(scope="session")
def fresh_renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """What ONE fresh process under the hash seed FRESH_SEED writes, by file name: every
    shipped environment's JSON (`ENV.json`) and manifests (`ENV.yaml`) as `tkestack render`
    renders them, dev's JSON as `python -m tkestack.cli render dev -f json -o FILE` writes it
    (`cli-dev.json`, run first), `hash-probe`: `hash(HASH_PROBE)` there, and, last,
    `python-m-tkestack-version`: the exit status and output of `python -m tkestack
    --version` (tests/tkestack/test_cli.py; one interpreter start fewer than its own). The
    tests compare these with this process's own renders (`rendered_environment`), made under
    another hash seed after whatever the session rendered before. Rendered once per test run
    (`once_per_run`)."""

    def produce(directory: Path) -> None:
        subprocess.run(
            [sys.executable, "-c", FRESH_RENDER, str(directory), HASH_PROBE, *ENVIRONMENTS],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": FRESH_SEED},
            check=True,
            capture_output=True,
        )

    directory = once_per_run(tmp_path_factory, f"fresh-renders-seed-{FRESH_SEED}", produce)
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.fixture(scope="session")
def pulumi_up_interpreter(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ONE fresh interpreter finds that imports what the `pulumi up` program imports
    (`sdk_support.NAMES`, mode `eager`): every public name of the SDK service packages as
    shipped (`sdk_support.PACKAGES`), the loader of `pulumi_aws.ec2`, and, after it imports
    the engine too, where the SDK functions the engine replaces while it runs come from
    (tests/tkestack/test_lazy_sdk.py, tests/tkestack/test_engine_runtime.py). Once per test
    run (`once_per_run`)."""
    import json

    from sdk_support import names

    def produce(directory: Path) -> None:
        (directory / "eager.json").write_text(json.dumps(names("eager")), encoding="utf-8")

    folder = once_per_run(tmp_path_factory, "pulumi-up-interpreter", produce)
    return json.loads((folder / "eager.json").read_text(encoding="utf-8"))


RENDERED_UNDER: dict[str, str] = {}
"""Each `shared_render` this process holds, by name: `hash(HASH_PROBE)` in the process that
rendered it (this one, or the test worker of this run that asked first)."""


def another_hash_seed(fresh: dict[str, bytes]) -> None:
    """Assert that the fresh process of `fresh_renders` ran under another hash seed than this
    one and than the processes that made the shared renders this one holds (`RENDERED_UNDER`).
    The test workers of a run share one fixed PYTHONHASHSEED or each draw a random one, so a
    render another worker makes later is under another seed than the fresh process too."""
    probes = {str(hash(HASH_PROBE)), *RENDERED_UNDER.values()}
    assert fresh["hash-probe"].decode() not in probes, "the same hash seed twice"


Made = TypeVar("Made")


def shared_render(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[], Made]
) -> Made:
    """`make()`'s render, made once per test run (`once_per_run`): the test worker that asks
    first renders it, then pickles it for the run's other workers, which read it back as
    `render --parallel` reads the renders of its worker processes (`fleet.render_fleet`).
    Records the rendering process's hash probe in RENDERED_UNDER."""
    made: list[Made] = []

    def produce(folder: Path) -> None:
        made.append(make())
        (folder / "render.pickle").write_bytes(pickle.dumps(made[0], pickle.HIGHEST_PROTOCOL))
        (folder / "hash-probe").write_text(str(hash(HASH_PROBE)), encoding="utf-8")

    folder = once_per_run(tmp_path_factory, f"render-{name}", produce)
    RENDERED_UNDER[name] = (folder / "hash-probe").read_text(encoding="utf-8")
    return made[0] if made else pickle.loads((folder / "render.pickle").read_bytes())


@pytest.fixture(scope="session")
def rendered_environment(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], fleet.EnvironmentRender]:
    """Every stack of a shipped environment (`dev`, `staging`, `prod`) rendered as `tkestack
    render` does (`fleet.render_environment`), once per test run: by the first test worker
    that asks, the others reading its render (`shared_render`)."""
    cache: dict[str, fleet.EnvironmentRender] = {}

    def get(env: str) -> fleet.EnvironmentRender:
        if env not in cache:
            config = stack_config(ROOT / f"Pulumi.{env}.yaml")
            cache[env] = shared_render(
                tmp_path_factory, f"environment-{env}", lambda: fleet.render_environment(config)
            )
        return cache[env]

    return get


@pytest.fixture(scope="session")
def rendered(
    rendered_environment: Callable[[str], fleet.EnvironmentRender],
) -> Callable[[str], engine.Rendering]:
    """A shipped environment as one view: its one stack's render, or for a `per-cluster`
    environment (prod) every derived stack's resources under their own URNs with the stack
    outputs merged (`fleet.combined`; no resource lost or duplicated against the single-stack
    render: tests/tkestack/test_fleet.py)."""

    def get(env: str) -> engine.Rendering:
        return rendered_environment(env).whole

    return get


@pytest.fixture
def write_stack(tmp_path: Path) -> Callable[..., Path]:
    """Write `Pulumi.<stack>.yaml` holding `environment` (and extra config) into tmp_path."""

    def write(environment: Any, stack: str = "test", **extra_config: Any) -> Path:
        config = {"tkestack:environment": environment, **extra_config}
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def render_spec(write_stack: Callable[..., Path]) -> Callable[..., engine.Rendering]:
    """Render an environment given as a dict (layered over stacks/base.yaml and its tier)."""

    def render(environment: Any, stack: str = "test", **extra_config: Any) -> engine.Rendering:
        return engine.render(stack_config(write_stack(environment, stack, **extra_config)))

    return render


TEST_ACCOUNTS: dict[str, str] = {"aws_account_id": "123456789012", "tencent_uin": "100000000001"}
"""The `identity` accounts of test specs: the spec rules require them when a cluster is on
that cloud (no default could be the real account)."""

TEST_DEPLOYER: dict[str, Any] = {
    "cidrs": ["10.250.0.0/24"],
    "hub": {
        "aws_transit_gateways": {
            region: "tgw-0123456789abcdef0"
            for region in ("us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "ap-northeast-1")
        },
        "tencent_ccn_id": "ccn-test0001",
    },
}
"""The `deployer` of test specs: private runners behind a hub that reaches every test region
(the spec rules refuse a private API endpoint no declared path reaches)."""


def minimal_environment(**overrides: Any) -> dict[str, Any]:
    """A small valid environment (one EKS cluster, one x86 pool) to build test cases from."""
    environment: dict[str, Any] = {
        "name": "test",
        "tier": "dev",
        "identity": dict(TEST_ACCOUNTS),
        "deployer": copy.deepcopy(TEST_DEPLOYER),
        "clusters": [
            {
                "name": "c1",
                "cloud": "aws",
                "region": "us-east-1",
                "kubernetes_version": "1.33",
                "network": {"vpc_cidr": "10.0.0.0/16"},
                "node_pools": [
                    {"name": "general", "instance_types": ["m7i.xlarge"], "max_size": 3}
                ],
            }
        ],
    }
    environment.update(overrides)
    return environment
