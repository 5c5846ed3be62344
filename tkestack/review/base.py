"""The base render of `review --base REF`: the base ref's own code renders the environment.

Two ways, the same document (tests/tkestack/test_review_base.py renders a change both ways):

- When the base commit's code is byte for byte the code this process runs (the package
  folders of its `[tool.setuptools.package-dir]`, and the project's `Pulumi.yaml`), only
  its stack files can differ: a PR that changes an environment, not the program. The base's
  `Pulumi.*.yaml` files are written to a temporary folder and rendered by this code in a
  forked process (Linux), which inherits the modules already imported (issue 21, target 1).
- Otherwise the ref is checked out with `git worktree add` into a temporary directory, and
  `python -m tkestack.cli render ENV --format json` runs there with an import path that
  resolves every `tkestack.*` package to that checkout (never to the installed head code);
  the subprocess verifies this before rendering.

`start_base_render` starts it in the background so the head render runs meanwhile (the CLI
waits on both), and a finished base render is cached by commit, environment and installed
SDK versions (`base_cache_dir`): a commit's tree fixes its spec and lockfile, the installed
SDKs are the head's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..cache import CACHE_ENV, cache_dir
from .model import ReviewError


class _Checkout:
    """`git worktree add --detach` of a ref into a temporary directory, removed on exit."""

    def __init__(self, repo: Path, ref: str) -> None:
        self.repo = repo
        self.ref = ref
        self._tmp = tempfile.TemporaryDirectory(prefix="tkestack-base-")
        self.path = Path(self._tmp.name) / "tree"

    def __enter__(self) -> Path:
        commit = _git(self.repo, "rev-parse", "--verify", "--quiet", f"{self.ref}^{{commit}}")
        if commit is None:
            self._tmp.cleanup()
            raise ReviewError(f"git ref {self.ref!r} does not name a commit in {self.repo}")
        if _git(self.repo, "worktree", "add", "--detach", str(self.path), commit) is None:
            self._tmp.cleanup()
            raise ReviewError(f"cannot check out {self.ref} ({commit[:12]}) into a worktree")
        return self.path

    def __exit__(self, *exc: object) -> None:
        _git(self.repo, "worktree", "remove", "--force", str(self.path))
        self._tmp.cleanup()
        _git(self.repo, "worktree", "prune")


def _git(repo: Path, *args: str) -> str | None:
    completed = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() if completed.returncode == 0 else None


_BOOTSTRAP = """
import importlib, os, runpy, sys
root = os.path.realpath(sys.argv[1])
sys.argv = ["tkestack", *sys.argv[2:]]
sys.path.insert(0, os.path.join(root, ".tkestack-import"))
import tkestack
for name in {packages!r}:
    module = importlib.import_module(name)
    where = os.path.realpath(module.__file__)
    if not where.startswith(root + os.sep):
        sys.exit(f"base render would import {{name}} from {{where}}, not from the base checkout")
runpy.run_module("tkestack.cli", run_name="__main__")
"""


def _import_root(tree: Path) -> list[str]:
    """Lay out `<tree>/.tkestack-import/tkestack/...` as symlinks into the checkout, following
    the checkout's own `[tool.setuptools.package-dir]`; returns the package names mapped."""
    mapping = {"tkestack": "tkestack"}
    pyproject = tree / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        found = data.get("tool", {}).get("setuptools", {}).get("package-dir", {})
        mapping.update({str(k): str(v) for k, v in found.items()})
    root = tree / ".tkestack-import"
    package = root / "tkestack"
    package.mkdir(parents=True)
    own = tree / mapping.get("tkestack", "tkestack")
    for child in sorted(own.iterdir()):
        (package / child.name).symlink_to(child.resolve())
    names = ["tkestack"]
    for name, folder in sorted(mapping.items()):
        parts = name.split(".")
        if len(parts) != 2 or parts[0] != "tkestack" or not (tree / folder).is_dir():
            continue
        link = package / parts[1]
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to((tree / folder).resolve())
        names.append(name)
    return names


BASE_CACHE_ENV = CACHE_ENV
"""Where base renders are cached (`tkestack.cache`)."""
_CACHE_FORMAT = "base-render-1"


def base_cache_dir() -> Path | None:
    """The base-render cache folder, or None when `TKESTACK_CACHE_DIR` is set empty."""
    return cache_dir("base-renders")


def _render_distributions() -> list[str]:
    """`name==version` of every installed runtime dependency of tkestack: the base render runs
    the base tree's code with the head's installed SDKs, so they are part of the cache key."""
    import re
    from importlib import metadata

    try:
        requires = metadata.requires("tkestack") or []
    except metadata.PackageNotFoundError:
        requires = []
    found = []
    for requirement in requires:
        if "extra ==" in requirement:
            continue  # dev/test extras do not change a render
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}==absent")
    return sorted(found)


def _cache_key(commit: str, env: str, relative: Path) -> str:
    parts = [_CACHE_FORMAT, commit, env, relative.as_posix(), sys.version]
    return hashlib.sha256("\n".join(parts + _render_distributions()).encode()).hexdigest()


def _cache_read(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # a torn or foreign file: render again (and overwrite it)
    return document if isinstance(document, dict) else None


def _cache_write(path: Path | None, document: dict[str, Any]) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole then renamed: a concurrent review never reads half a document.
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
        ) as handle:
            json.dump(document, handle)  # key order kept: a cached base reviews as a fresh one
        os.replace(handle.name, path)
    except OSError:
        pass  # a read-only or full cache folder costs a render next time, never the review


class _Base:
    """Where a base render comes from: the repository, the commit, the project folder in it
    and the cache file (None: cache off)."""

    def __init__(self, ref: str, env: str, project_dir: Path) -> None:
        repo_root = _git(project_dir, "rev-parse", "--show-toplevel")
        if repo_root is None:
            raise ReviewError(f"{project_dir} is not inside a git repository (needed for --base)")
        self.ref, self.env, self.project_dir = ref, env, project_dir
        self.repo_root = Path(repo_root)
        self.relative = project_dir.resolve().relative_to(self.repo_root.resolve())
        commit = _git(self.repo_root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if commit is None:
            raise ReviewError(f"git ref {ref!r} does not name a commit in {repo_root}")
        self.commit = commit
        folder = base_cache_dir()
        self.cached_at = (
            folder / f"{_cache_key(commit, env, self.relative)}.json" if folder else None
        )


def start_base_render(ref: str, env: str, project_dir: Path) -> Future[dict[str, Any]]:
    """The base render, started in the background; `.result()` is the `render --format json`
    document of ENV as the code at `ref` renders it, or raises its ReviewError.

    Call it before this process renders anything: when the base commit runs this process's
    own code, the base renders in a process forked here (the caller's render runs meanwhile
    on the other core); otherwise in a subprocess at a checkout of the ref, waited for on a
    thread. A cached render answers at once."""
    try:
        base = _Base(ref, env, project_dir)
    except ReviewError as error:
        return _finished(error=error)
    cached = _cache_read(base.cached_at)
    if cached is not None:
        return _finished(cached)
    if _forks(base):
        return _render_forked(base)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tkestack-base")
    future = executor.submit(_render_checkout, base)
    executor.shutdown(wait=False)
    return future


def render_at_ref(ref: str, env: str, project_dir: Path) -> dict[str, Any]:
    """The `render --format json` document of ENV as the code at `ref` renders it (from the
    base-render cache when the same commit was rendered with the same SDKs before)."""
    return start_base_render(ref, env, project_dir).result()


def renders_forked(ref: str, env: str, project_dir: Path) -> bool:
    """Whether the base at `ref` would be rendered by this code in a forked process (its
    commit runs this code, on Linux) rather than at a checkout of it."""
    try:
        return _forks(_Base(ref, env, project_dir))
    except ReviewError:
        return False


def _forks(base: _Base) -> bool:
    """The one condition for rendering `base` in a forked process (`start_base_render`)."""
    return _can_fork() and _runs_this_code(base)


def _finished(
    document: dict[str, Any] | None = None, error: ReviewError | None = None
) -> Future[dict[str, Any]]:
    future: Future[dict[str, Any]] = Future()
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(document or {})
    return future


def _render_checkout(base: _Base, timeout: float = 600) -> dict[str, Any]:
    document = _render_commit(
        base.repo_root, base.commit, base.ref, base.env, base.relative, timeout
    )
    _cache_write(base.cached_at, document)
    return document


# ---------------------------------------------------------------- the base runs this code


def _can_fork() -> bool:
    # fork() keeps the imported modules; other start methods import everything again, which
    # is what the checkout's subprocess does anyway. Linux only: macOS's system frameworks
    # are not fork-safe (Python's own default there is spawn).
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def _blob_id(data: bytes) -> str:
    """The git object id of a file's content (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _package_folders(base: _Base) -> dict[str, str] | None:
    """The base tree's package -> folder mapping (`[tool.setuptools.package-dir]`, as
    `_import_root` lays it out), or None when its pyproject.toml cannot be read."""
    text = _git(base.repo_root, "show", f"{base.commit}:pyproject.toml")
    if text is None:
        return None
    try:
        found = tomllib.loads(text).get("tool", {}).get("setuptools", {}).get("package-dir", {})
    except tomllib.TOMLDecodeError:
        return None
    mapping = {"tkestack": "tkestack"}
    mapping.update({str(k): str(v) for k, v in found.items() if isinstance(v, str)})
    return mapping


def _running_files(folder: Path) -> dict[str, str]:
    """Every file under a running package's folder (bytecode caches aside) by path relative
    to it, with its git object id."""
    found = {}
    for path in folder.rglob("*"):
        if "__pycache__" in path.parts or path.suffix == ".pyc" or not path.is_file():
            continue
        found[path.relative_to(folder).as_posix()] = _blob_id(path.read_bytes())
    return found


def _tree_files(base: _Base, folder: str) -> dict[str, str]:
    """Every file of `folder` in the base commit by path relative to it, with its object id."""
    listing = _git(base.repo_root, "ls-tree", "-r", "--full-tree", base.commit, "--", folder)
    found = {}
    for line in (listing or "").splitlines():
        meta, _, path = line.partition("\t")
        mode, kind, oid = meta.split()
        if kind == "blob" and mode != "120000":  # a symlink's blob is its target's name
            found[path.removeprefix(folder.rstrip("/") + "/")] = oid
    return found


def _runs_this_code(base: _Base) -> bool:
    """Whether the base commit's program is this process's, byte for byte: each package
    folder of the base tree holds exactly the files the running package's folder holds, and
    the project's `Pulumi.yaml` (its name is in every URN) is the same. Anything else (a
    changed, added or removed module or catalog file, an unreadable pyproject.toml, a
    running package that is not one folder) goes through the checkout."""
    mapping = _package_folders(base)
    if mapping is None:
        return False
    for package, folder in mapping.items():
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        if len(locations) != 1:
            return False
        tree = _tree_files(base, folder)
        if not tree or tree != _running_files(Path(locations[0])):
            return False
    project_file = base.project_dir / "Pulumi.yaml"
    at_base = _git_bytes(base.repo_root, "show", f"{base.commit}:{_in_tree(base, 'Pulumi.yaml')}")
    return project_file.is_file() and at_base == project_file.read_bytes()


def _in_tree(base: _Base, name: str) -> str:
    return (base.relative / name).as_posix() if base.relative.parts else name


def _git_bytes(repo: Path, *args: str) -> bytes | None:
    completed = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    return completed.stdout if completed.returncode == 0 else None


def _render_forked(base: _Base) -> Future[dict[str, Any]]:
    """Render the base's stack files with this code in a process forked now."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    forked = pool.submit(_render_stack_files, base)  # the fork happens here, in this thread
    pool.shutdown(wait=False)
    result: Future[dict[str, Any]] = Future()

    def finish(done: Future[tuple[str, str]]) -> None:
        try:
            kind, text = done.result()
        except Exception as error:  # the process died (BrokenProcessPool) or did not start
            result.set_exception(
                ReviewError(f"rendering {base.env} at {base.ref} failed: {error!r}")
            )
            return
        if kind == "error":
            result.set_exception(ReviewError(f"rendering {base.env} at {base.ref} failed:\n{text}"))
            return
        document = json.loads(text)
        _cache_write(base.cached_at, document)
        result.set_result(document)

    forked.add_done_callback(finish)
    return result


def _render_stack_files(base: _Base) -> tuple[str, str]:
    """In the forked process: the base commit's `Pulumi.*.yaml` files of the project folder,
    written to a temporary folder, rendered as `render ENV --format json` renders them.
    Returns ("document", JSON text) or ("error", the message the CLI would print)."""
    # Imported here: the review imports neither the fleet nor the stack loader otherwise.
    from .. import engine, fleet
    from ..stacks.loader import SpecError

    prefix = _in_tree(base, "")
    listing = _git(base.repo_root, "ls-tree", "--name-only", base.commit, "--", prefix or ".")
    names = [
        line.removeprefix(prefix)
        for line in (listing or "").splitlines()
        if line.removeprefix(prefix).startswith("Pulumi.")
        and line.endswith((".yaml", ".yml"))
        and line.removeprefix(prefix) != "Pulumi.yaml"
    ]
    with tempfile.TemporaryDirectory(prefix="tkestack-base-") as folder:
        for name in names:
            data = _git_bytes(base.repo_root, "show", f"{base.commit}:{prefix}{name}")
            if data is not None:
                (Path(folder) / name).write_bytes(data)
        stack_file = Path(folder) / f"Pulumi.{base.env}.yaml"
        if not stack_file.is_file():
            return "document", json.dumps({"resources": [], "outputs": {}, "missing": True})
        os.chdir(folder)  # messages name `Pulumi.ENV.yaml`, as the checkout's render does
        try:
            config = engine.read_stack_config(stack_file, base.project_dir)
            rendered = fleet.render_environment(config)
        except SpecError as error:
            return "error", error.report()
        except (engine.ProgramError, engine.RenderError, fleet.FleetError) as error:
            return "error", f"error: {error}"
        if rendered.topology == "single":
            return "document", engine.render_json(rendered.whole)
        return "document", fleet.environment_json(rendered)


def _render_commit(
    repo_root: Path, commit: str, ref: str, env: str, relative: Path, timeout: float
) -> dict[str, Any]:
    with _Checkout(repo_root, commit) as tree:
        project = tree / relative
        stack_file = project / f"Pulumi.{env}.yaml"
        if not stack_file.is_file():
            return {"resources": [], "outputs": {}, "missing": True}
        packages = _import_root(tree)
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")
        }
        completed = subprocess.run(
            [
                sys.executable,
                "-c",
                _BOOTSTRAP.format(packages=packages),
                str(tree),
                "render",
                env,
                "--format",
                "json",
            ],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise ReviewError(
                f"rendering {env} at {ref} failed (exit {completed.returncode}):\n"
                + completed.stderr.strip()[-4000:]
            )
        try:
            return json.loads(completed.stdout)
        except json.JSONDecodeError as error:
            raise ReviewError(
                f"rendering {env} at {ref} printed no JSON document: {error}"
            ) from None
