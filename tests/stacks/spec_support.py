"""Helpers of the spec tests: the problems a spec is refused with."""

from __future__ import annotations

from typing import Any

import pytest

from tkestack.stacks.loader import SpecError, load_environment


def problems_of(environment: Any) -> dict[str, str]:
    """{dotted path: message} of every error `environment` has (must have at least one)."""
    with pytest.raises(SpecError) as caught:
        load_environment(environment, "Pulumi.test.yaml")
    return {
        item.problem.dotted: item.problem.message
        for item in caught.value.located
        if item.problem.severity == "error"
    }
