"""Problems found in a spec, with the exact key path they concern.

The one error model of the project lives in `components/validation.py` (components raise it
for their arguments); the spec layer uses the same `Problem` and adds file and line
(`stacks/loader.py`)."""

from __future__ import annotations

from ..components.validation import KeyPath, PathPart, Problem, format_path

__all__ = ["KeyPath", "PathPart", "Problem", "format_path"]
