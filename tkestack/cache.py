"""tkestack's local caches (base renders, Helm charts): one root, one switch."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "TKESTACK_CACHE_DIR"
"""The caches' root (default `$XDG_CACHE_HOME/tkestack`, else `~/.cache/tkestack`);
`TKESTACK_CACHE_DIR=` (empty) turns every cache off."""


def cache_dir(kind: str) -> Path | None:
    """The folder of one cache under the root (`kind`: `base-renders`, `charts`), or None
    when `TKESTACK_CACHE_DIR` is set empty."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) / kind if configured else None
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(home) / "tkestack" / kind
