"""docs/policies.md is generated from the pack and matches it."""

from __future__ import annotations

from pathlib import Path

from tkestack.policies.docs import render
from tkestack.policies.rules import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "policies.md"


def test_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m tkestack.policies.docs > docs/policies.md"
    )


def test_every_policy_has_a_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    for rule in RULES:
        assert f"\n### {rule.name}\n" in text
