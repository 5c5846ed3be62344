"""The catalog's YAML files read the same under the libyaml-based safe loader the catalog
uses (`catalog.SAFE_LOADER`) as under PyYAML's pure-Python one (issue 21, target 4): same
values, same types, same key order, for every shipped file as it is now (`tkestack charts
pull --record` rewrites charts.yaml)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from tkestack.components import catalog

FILES = sorted(
    entry.name
    for entry in resources.files(catalog.__name__).iterdir()
    if entry.name.endswith(".yaml")
)


def _same(left: Any, right: Any) -> bool:
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return left == right


def test_the_catalog_uses_libyaml_where_pyyaml_has_it() -> None:
    assert FILES == ["charts.yaml", "instances.yaml", "kubernetes.yaml", "regions.yaml"]
    if yaml.__with_libyaml__:
        assert catalog.SAFE_LOADER is yaml.CSafeLoader
    else:  # a PyYAML built without libyaml: the pure-Python loader, nothing to compare
        assert catalog.SAFE_LOADER is yaml.SafeLoader


@pytest.mark.parametrize("filename", FILES)
def test_a_catalog_file_reads_the_same_under_both_loaders(filename: str) -> None:
    text = resources.files(catalog.__name__).joinpath(filename).read_text(encoding="utf-8")
    pure = yaml.load(text, Loader=yaml.SafeLoader)
    assert _same(catalog._read_yaml(filename), pure)
    if yaml.__with_libyaml__:
        assert _same(yaml.load(text, Loader=yaml.CSafeLoader), pure)
