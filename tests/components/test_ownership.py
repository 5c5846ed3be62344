"""`components.ownership.owners`: which cluster owns a resource, from recorded data only."""

from __future__ import annotations

from tkestack.components.ownership import Recorded, owners, recorded_labels


def node(urn, parent=None, provider=None, custom=True, label=None, kubeconfig=None) -> Recorded:
    return Recorded(urn, parent, provider, custom, label, kubeconfig)


def test_labels_and_kubeconfigs_decide_and_the_tree_carries_them() -> None:
    clusters = {"a": "kubeconfig-a", "b": "kubeconfig-b"}
    found = owners(
        [
            node("cluster-a", custom=False),
            node("vpc-a", parent="cluster-a", label="a"),
            node("k8s-a", parent="cluster-a"),
            # An attached cluster records nothing but its provider's kubeconfig.
            node("cluster-b", custom=False),
            node("k8s-b", parent="cluster-b", kubeconfig="kubeconfig-b"),
            node("pool-b", parent="cluster-b", custom=False),
            # A platform component made only of Kubernetes objects follows their provider.
            node("services", custom=False),
            node("release", parent="services", provider="k8s-b"),
            node("repository", parent="services", provider="aws"),
            node("aws"),
        ],
        clusters,
    )
    assert found == {
        "cluster-a": "a",
        "vpc-a": "a",
        "k8s-a": "a",
        "cluster-b": "b",
        "k8s-b": "b",
        "pool-b": "b",
        "services": "b",
        "release": "b",
        "repository": "b",
        "aws": None,
    }


def test_the_provider_wins_over_a_stray_label_and_unknown_clusters_are_ignored() -> None:
    found = owners(
        [
            node("k8s-a", kubeconfig="kubeconfig-a"),
            node("object", provider="k8s-a", label="b"),
            node("tagged", label="not-exported"),
            node("shared", custom=False),
            node("left", parent="shared", label="a"),
            node("right", parent="shared", label="b"),
        ],
        {"a": "kubeconfig-a", "b": "kubeconfig-b"},
    )
    assert found["object"] == "a"
    assert found["tagged"] is None
    # A component whose resources serve two clusters belongs to neither.
    assert found["shared"] is None


def test_recorded_labels_read_tags_labels_and_metadata_labels() -> None:
    assert recorded_labels({"tags": {"tkestack.io/cluster": "a"}}) == {"tkestack.io/cluster": "a"}
    assert recorded_labels({"metadata": {"labels": {"tkestack.io/tenant": "web", "app": "x"}}}) == {
        "tkestack.io/tenant": "web"
    }
    assert recorded_labels({"tags": {"tkestack.io/cluster": 3}, "name": "a-k8s"}) == {}
