""" "Did you mean ...?": the keys a spec model accepts at a path, and the closest to a typo.

Pure data over the pydantic models of `spec.py` (no Pulumi). The loader uses it where it
builds the "unknown key" message; the rules use `closest` for unknown regions.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from .spec import EnvironmentSpec

SPEC_REFERENCE = "docs/spec.md"
"""Where the spec reference lives (generated from the models; see `stacks/schema.py`)."""


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models inside a field annotation (`X | None`, `list[X]`, `dict[str, X]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, dict):
        args = typing.get_args(annotation)
        if origin is dict:
            args = args[1:]
        return [model for arg in args for model in _models_in(arg)]
    return []


def keys_at(path: Sequence[str | int], root: type[BaseModel] = EnvironmentSpec) -> list[str]:
    """The keys the model at `path` (the parent of an unknown key) accepts; [] if unknown.

    List indexes and dict keys along the path step into the item model."""
    models: list[type[BaseModel]] = [root]
    for part in path:
        if isinstance(part, int):
            continue  # the same model: the list's item type was taken with the field
        following: list[type[BaseModel]] = []
        for model in models:
            field = model.model_fields.get(part)
            if field is not None:
                following.extend(_models_in(field.annotation))
        models = following
        if not models:
            return []
    return sorted({key for model in models for key in model.model_fields})


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `word` when it is close enough to be a typo of it."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_key_message(path: Sequence[str | int]) -> str:
    """The message for an unknown key at `path` (its last part is the key)."""
    key = path[-1] if path else ""
    suggestion = closest(key, keys_at(path[:-1])) if isinstance(key, str) else None
    hint = f"did you mean {suggestion!r}? " if suggestion else "a typo? "
    return f"unknown key ({hint}see the spec reference in {SPEC_REFERENCE})"
