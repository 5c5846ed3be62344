"""The loader keeps the last parsed YAML texts and line indexes (stacks/loader.py `_parsed`,
`_whole_line_index`): every read still gets its own data, and a malformed file still fails
every time with the same located problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tkestack.stacks import loader
from tkestack.stacks.loader import SpecError

TEXT = "config:\n  tkestack:environment:\n    name: a\n    clusters: &c [x, y]\n    again: *c\n"


def test_each_read_gets_its_own_copy_of_the_same_data(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.a.yaml"
    path.write_text(TEXT, encoding="utf-8")
    first, text = loader.read_yaml_file(path, "Pulumi.a.yaml")
    second, _ = loader.read_yaml_file(path, "Pulumi.a.yaml")
    assert text == TEXT
    assert first == second == yaml.safe_load(TEXT)
    environment = first["config"]["tkestack:environment"]
    # An alias stays one object within a read, as yaml.safe_load gives it.
    assert environment["clusters"] is environment["again"]
    environment["clusters"].append("z")
    environment["name"] = "changed"
    assert second == yaml.safe_load(TEXT)  # a caller's edit reaches no other read
    assert loader.read_yaml_file(path, "Pulumi.a.yaml")[0] == yaml.safe_load(TEXT)


def test_a_line_index_is_a_new_map_per_call() -> None:
    whole = loader._line_index(TEXT)
    assert whole[("config", "tkestack:environment", "clusters")] == 4
    whole.clear()
    scoped = loader._line_index(TEXT, ("config", "tkestack:environment"))
    assert scoped == {
        (): 2,
        ("name",): 3,
        ("clusters",): 4,
        ("clusters", 0): 4,
        ("clusters", 1): 4,
        ("again",): 5,
        ("again", 0): 4,
        ("again", 1): 4,
    }
    assert loader._line_index(TEXT)[("config",)] == 1


def test_a_malformed_file_fails_on_every_read(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text("config: [1, 2\n", encoding="utf-8")
    messages = []
    for _ in range(2):
        with pytest.raises(SpecError) as caught:
            loader.read_yaml_file(path, "Pulumi.bad.yaml")
        messages.append(caught.value.report())
    assert messages[0] == messages[1] and "not valid YAML" in messages[0]
