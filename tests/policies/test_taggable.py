"""The taggable-type list matches the pinned provider SDKs."""

from __future__ import annotations

from tkestack.policies.rules.taggable import TAGGABLE_TYPES, scan


def test_taggable_types_match_the_installed_sdks() -> None:
    assert sorted(TAGGABLE_TYPES) == scan(), (
        "regenerate: python -m tkestack.policies.rules.taggable > policies/rules/taggable_types.txt"
    )
    assert "aws:eks/cluster:Cluster" in TAGGABLE_TYPES
    assert "tencentcloud:Kubernetes/nodePool:NodePool" in TAGGABLE_TYPES
    assert "aws:eks/accessPolicyAssociation:AccessPolicyAssociation" not in TAGGABLE_TYPES
