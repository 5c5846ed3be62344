"""`stateful-resources-protected` covers Helm releases of charts that keep data
(`STATEFUL_CHARTS`), and only those."""

from __future__ import annotations

from policy_cases import HELM, findings_of, helm, res

from tkestack import review
from tkestack.policies.rules.clusters import STATEFUL_CHARTS, is_stateful

POLICY = "stateful-resources-protected"


def test_an_unprotected_release_of_a_data_chart_fires() -> None:
    loki = res(HELM, "loki", helm("loki", {}))
    (finding,) = findings_of(POLICY, [loki])
    assert "Release" in finding and "not protected" in finding


def test_protected_data_releases_and_other_charts_pass() -> None:
    protected = [
        res(HELM, chart, helm(chart, {}), protect=True) for chart in sorted(STATEFUL_CHARTS)
    ]
    other = res(HELM, "ingress", helm("ingress-nginx", {}, "ingress"))
    assert findings_of(POLICY, [*protected, other]) == []


def test_review_and_policy_share_the_classification() -> None:
    assert is_stateful(HELM, {"chart": "harbor"})
    assert not is_stateful(HELM, {"chart": "ingress-nginx"})
    assert is_stateful("aws:eks/cluster:Cluster", {})


def test_review_counts_removing_a_data_release_as_destructive() -> None:
    def release(name: str, chart: str) -> dict[str, object]:
        return {
            "urn": f"urn:pulumi:prod::tkestack::{HELM}::{name}",
            "type": HELM,
            "name": name,
            "inputs": {"chart": chart},
        }

    base = {"resources": [release("loki", "loki"), release("ingress", "ingress-nginx")]}
    changes = {change.name: change for change in review.diff(base, {"resources": []})}
    assert changes["loki"].destructive
    assert not changes["ingress"].destructive
