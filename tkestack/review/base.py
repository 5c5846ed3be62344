"""The base render of `review --base REF`: the base ref's own code renders the environment.

The ref is checked out with `git worktree add` into a temporary directory, and `python -m
tkestack.cli render ENV --format json` runs there with an import path that resolves every
`tkestack.*` package to that checkout (never to the installed head code); the subprocess
verifies this before rendering. `start_base_render` starts it in the background so the head
render runs meanwhile (the CLI waits on both), and a finished base render is cached by
commit, environment and installed SDK versions (`base_cache_dir`): a commit's tree fixes its
spec and lockfile, the installed SDKs are the head's.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import Future, ThreadPoolExecutor
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


def start_base_render(ref: str, env: str, project_dir: Path) -> Future[dict[str, Any]]:
    """`render_at_ref` in a background thread (the render itself is a subprocess, so the
    caller's own render runs meanwhile on the other core); `.result()` raises its
    ReviewError."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tkestack-base")
    future = executor.submit(render_at_ref, ref, env, project_dir)
    executor.shutdown(wait=False)
    return future


def render_at_ref(ref: str, env: str, project_dir: Path, timeout: float = 600) -> dict[str, Any]:
    """The `render --format json` document of ENV as the code at `ref` renders it (from the
    base-render cache when the same commit was rendered with the same SDKs before)."""
    repo_root = _git(project_dir, "rev-parse", "--show-toplevel")
    if repo_root is None:
        raise ReviewError(f"{project_dir} is not inside a git repository (needed for --base)")
    relative = project_dir.resolve().relative_to(Path(repo_root).resolve())
    commit = _git(Path(repo_root), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit is None:
        raise ReviewError(f"git ref {ref!r} does not name a commit in {repo_root}")
    folder = base_cache_dir()
    cached_at = folder / f"{_cache_key(commit, env, relative)}.json" if folder else None
    cached = _cache_read(cached_at)
    if cached is not None:
        return cached
    document = _render_commit(Path(repo_root), commit, ref, env, relative, timeout)
    _cache_write(cached_at, document)
    return document


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
