"""Problems found in a spec, with the exact key path they concern."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

PathPart = str | int
KeyPath = tuple[PathPart, ...]


def format_path(path: Sequence[PathPart]) -> str:
    """`("clusters", 1, "node_pools", 0, "max_size")` -> `clusters[1].node_pools[0].max_size`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (`path` inside the environment) and what."""

    path: KeyPath
    """Key path inside the environment value, empty for the whole document."""
    message: str
    """What is wrong and, where it helps, what would be right."""
    severity: Literal["error", "warning"] = "error"
    """Errors stop the render/deployment; warnings are reported and the run goes on."""

    @property
    def dotted(self) -> str:
        """The path as users write it: `clusters[1].node_pools[0].max_size`."""
        return format_path(self.path)
