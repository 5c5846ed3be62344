"""The project's own facts, read from one place: its distribution metadata.

The project's address is written once, in pyproject.toml's `[project.urls]`; everything that
prints a link (SARIF `informationUri`/`helpUri`, policy remediation links, review reports)
reads it from here, so a fork or a move changes one line.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import metadata
from pathlib import Path

from . import __version__

DISTRIBUTION = "tkestack"
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@functools.cache
def project_urls() -> dict[str, str]:
    """`[project.urls]` by label (`Homepage`, `Documentation`, ...).

    From the installed distribution's metadata (`Project-URL`); from pyproject.toml when the
    metadata is absent or stale (a checkout that was never installed, or installed before
    the URLs were added)."""
    urls: dict[str, str] = {}
    try:
        for entry in metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            urls[label.strip()] = url.strip()
    except metadata.PackageNotFoundError:
        pass
    if not urls and _PYPROJECT.is_file():
        with _PYPROJECT.open("rb") as handle:
            urls = dict(tomllib.load(handle).get("project", {}).get("urls", {}))
    return urls


def homepage() -> str:
    """The project's address (`Homepage`)."""
    return project_urls().get("Homepage", "").rstrip("/")


def docs_url(page: str, anchor: str = "") -> str:
    """Link to `docs/<page>` (with `#anchor`) under the project's `Documentation` URL."""
    base = project_urls().get("Documentation", f"{homepage()}/blob/main/docs").rstrip("/")
    return f"{base}/{page}" + (f"#{anchor}" if anchor else "")


def version() -> str:
    """The version of this code (the one source, `tkestack.__version__`)."""
    return __version__
