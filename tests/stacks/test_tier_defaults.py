"""Defaults with one source each: tier defaults in `stacks/tiers/<tier>.yaml` (a spec built
without the loader gets the same retention as one the loader layered), tenant quota defaults
in `catalog.QUOTA_DEFAULTS` (the spec and the Tenant component read it)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import minimal_environment

from tkestack.stacks.loader import TIERS_DIR, load_environment, tier_default
from tkestack.stacks.platform import retention
from tkestack.stacks.spec import EnvironmentSpec

TIERS = ("dev", "staging", "prod")


def _yaml(tier: str) -> dict[str, Any]:
    return yaml.safe_load((TIERS_DIR / f"{tier}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("tier", TIERS)
def test_a_spec_built_without_the_loader_gets_the_tier_yamls_retention(tier: str) -> None:
    environment = minimal_environment(tier=tier)
    bare = EnvironmentSpec.model_validate(
        {"tags": {"owner": "t", "cost-center": "1"}, **environment}
    )
    assert bare.observability.logs_retention_days is None  # no tier layer applied...
    layered = load_environment(environment, "Pulumi.test.yaml").spec
    assert retention(bare) == retention(layered)  # ...yet the same defaults
    observability = _yaml(tier)["observability"]
    got = retention(bare)
    assert got.metrics_retention_days == observability["metrics_retention_days"]
    assert got.logs_retention_days == observability["logs_retention_days"]
    assert got.metrics_volume_gib == observability.get("metrics_volume_gib")
    assert got.logs_volume_gib == got.metrics_volume_gib  # the spec has no key of its own


def test_the_specs_own_value_wins_over_the_tier() -> None:
    environment = minimal_environment(tier="prod", observability={"logs_retention_days": 90})
    spec = load_environment(environment, "Pulumi.test.yaml").spec
    assert retention(spec).logs_retention_days == 90


def test_a_key_the_tier_does_not_set_has_no_default() -> None:
    assert "metrics_volume_gib" not in _yaml("dev")["observability"]
    assert tier_default("dev", "observability", "metrics_volume_gib") is None
    assert tier_default("dev", "no_such_section", "x") is None


def test_tenant_quota_defaults_come_from_the_catalog_in_spec_and_component() -> None:
    from dataclasses import asdict

    from tkestack.components.catalog import QUOTA_DEFAULTS
    from tkestack.components.tenant import TenantQuota
    from tkestack.stacks.spec import QuotaSpec

    assert QuotaSpec().model_dump() == asdict(QUOTA_DEFAULTS) == asdict(TenantQuota())


def test_a_quota_below_the_specs_bounds_is_still_refused() -> None:
    from pydantic import ValidationError

    from tkestack.stacks.spec import QuotaSpec

    with pytest.raises(ValidationError, match="pods"):
        QuotaSpec(pods=0)
