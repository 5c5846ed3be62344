"""Deployment critical path: the chain arithmetic, needed vs false dependencies, the duration
table against the shipped environments and the components, and the review's line."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from platform_clusters import cluster, pool

from tkestack import critical_path, engine, report
from tkestack import review as reviewing
from tkestack.components.catalog import ADDON_REQUIRES
from tkestack.components.gpu_stack import dcgm_addon, operator_addon
from tkestack.components.observability import collector_addon

HELM_RELEASE = critical_path.HELM_RELEASE
STACK = "urn:pulumi:t::p::"


def resource(
    type_: str,
    name: str,
    *,
    parent: str | None = None,
    depends: tuple[str, ...] = (),
    data: tuple[str, ...] = (),
    inputs: dict[str, Any] | None = None,
    provider: str | None = None,
    custom: bool = True,
) -> engine.RenderedResource:
    """A rendered resource; `depends` are ordering edges, `data` flow through inputs."""
    parent_type = parent.split("::")[2] + "$" if parent else ""
    return engine.RenderedResource(
        urn=f"{STACK}{parent_type}{type_}::{name}",
        type=type_,
        name=name,
        custom=custom,
        parent=parent,
        provider=provider,
        dependencies=sorted({*depends, *data}),
        protect=False,
        inputs=inputs or {},
        property_dependencies={"ref": sorted(data)} if data else {},
    )


def rendering(*resources: engine.RenderedResource) -> engine.Rendering:
    return engine.Rendering("p", "t", sorted(resources, key=lambda r: r.urn), {})


def two_pools(chained: bool) -> engine.Rendering:
    """A cluster with two node pools; the second waits for the first when `chained`."""
    vpc = resource("aws:ec2/vpc:Vpc", "vpc")
    eks = resource("aws:eks/cluster:Cluster", "eks", data=(vpc.urn,))
    component = resource("tkestack:index:Cluster", "c", custom=False)
    pool_a = resource("tkestack:index:NodePool", "a", parent=component.urn, custom=False)
    pool_b = resource("tkestack:index:NodePool", "b", parent=component.urn, custom=False)
    group_a = resource("aws:eks/nodeGroup:NodeGroup", "a-ng", parent=pool_a.urn, data=(eks.urn,))
    group_b = resource(
        "aws:eks/nodeGroup:NodeGroup",
        "b-ng",
        parent=pool_b.urn,
        data=(eks.urn,),
        depends=(group_a.urn,) if chained else (),
    )
    return rendering(vpc, eks, component, pool_a, pool_b, group_a, group_b)


def test_longest_chain_adds_the_durations_of_the_types_on_it() -> None:
    estimate = critical_path.estimate(two_pools(chained=False))
    # VPC 5 s, EKS control plane 600 s, node group 240 s (durations.yaml).
    assert estimate.seconds == estimate.floor_seconds == 5 + 600 + 240
    names = [step.name for step in estimate.critical_path]
    assert names[:2] == ["vpc", "eks"] and names[2] in ("a-ng", "b-ng")
    steps = estimate.critical_path
    assert all(after.start == before.end for before, after in itertools.pairwise(steps))
    assert not estimate.false_dependencies and estimate.ratio == 1.0


def test_a_pool_waiting_for_another_pool_is_a_false_dependency() -> None:
    estimate = critical_path.estimate(two_pools(chained=True))
    assert estimate.seconds == 5 + 600 + 240 + 240
    assert estimate.floor_seconds == 5 + 600 + 240
    (edge,) = estimate.serializing
    assert edge.kind == "node pools"
    assert edge.dependent.endswith("::b-ng") and edge.dependency.endswith("::a-ng")
    assert "critical path: vpc → eks → a-ng → b-ng" in estimate.summary()


def releases(dependent_name: str, dependency_name: str) -> engine.Rendering:
    provider = resource("pulumi:providers:kubernetes", "k8s")
    base = resource(
        "kubernetes:helm.sh/v3:Release",
        "base",
        inputs={"name": dependency_name, "namespace": "monitoring"},
        provider=provider.urn,
    )
    dependent = resource(
        "kubernetes:helm.sh/v3:Release",
        "dependent",
        inputs={"name": dependent_name, "namespace": "gpu"},
        provider=provider.urn,
        depends=(base.urn,),
    )
    return rendering(provider, base, dependent)


def test_an_add_on_waits_only_for_the_add_ons_it_requires() -> None:
    needed = critical_path.estimate(releases("dcgm-exporter", "kube-prometheus-stack"))
    assert needed.seconds == needed.floor_seconds == 180 and not needed.false_dependencies
    false = critical_path.estimate(releases("nvidia-device-plugin", "kube-prometheus-stack"))
    assert (false.seconds, false.floor_seconds) == (180, 90)
    assert [edge.kind for edge in false.serializing] == ["add-ons"]


def test_objects_wait_for_their_namespace_but_not_for_another() -> None:
    provider = resource("pulumi:providers:kubernetes", "k8s")
    team = resource(
        "kubernetes:core/v1:Namespace",
        "team",
        inputs={"metadata": {"name": "team"}},
        provider=provider.urn,
    )
    other = resource(
        "kubernetes:core/v1:Namespace",
        "other",
        inputs={"metadata": {"name": "other"}},
        provider=provider.urn,
    )
    role = resource(
        "kubernetes:rbac.authorization.k8s.io/v1:Role",
        "role",
        inputs={"metadata": {"name": "r", "namespace": "team"}},
        provider=provider.urn,
        depends=(team.urn, other.urn),
    )
    estimate = critical_path.estimate(rendering(provider, team, other, role))
    assert [edge.dependency for edge in estimate.false_dependencies] == [other.urn]
    assert estimate.floor_seconds == estimate.seconds == 4  # both namespaces in parallel


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_shipped_environments_have_a_duration_for_every_type(
    rendered: Callable[[str], engine.Rendering], env: str
) -> None:
    estimate = critical_path.estimate(rendered(env))
    assert estimate.unlisted_types == ()
    assert 0 < estimate.floor_seconds <= estimate.seconds
    # The longest chain starts from nothing and holds a managed control plane.
    assert estimate.critical_path[0].start == 0
    assert {step.type for step in estimate.critical_path} & {
        "aws:eks/cluster:Cluster",
        "tencentcloud:Kubernetes/cluster:Cluster",
    }


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_shipped_environments_serialize_no_pools_or_add_ons(
    rendered: Callable[[str], engine.Rendering], env: str
) -> None:
    estimate = critical_path.estimate(rendered(env))
    assert [(edge.dependent, edge.dependency) for edge in estimate.serializing] == []


def harbor_project(url: str) -> engine.Rendering:
    """A Harbor release serving `https://registry.example.com` and a project created through
    a Harbor provider pointed at `url`, ordered after the release."""
    release = resource(
        HELM_RELEASE,
        "harbor",
        inputs={"name": "harbor", "values": {"externalURL": "https://registry.example.com"}},
    )
    component = resource("tkestack:index:Tenant", "t", custom=False)
    api = resource("pulumi:providers:harbor", "api", inputs={"url": url})
    project = resource(
        "harbor:index/project:Project",
        "project",
        parent=component.urn,
        provider=api.urn,
        depends=(release.urn,),
    )
    return rendering(release, component, api, project)


def test_harbor_objects_need_the_release_serving_their_api() -> None:
    assert not critical_path.estimate(
        harbor_project("https://registry.example.com")
    ).false_dependencies
    other = critical_path.estimate(harbor_project("https://other.example.com"))
    assert [edge.dependency.rsplit("::", 1)[-1] for edge in other.false_dependencies] == ["harbor"]


def test_add_on_requirements_have_one_source_the_catalog() -> None:
    """The critical path and the components read `catalog.ADDON_REQUIRES`; the GPU operator
    drops its requirement when its DCGM exporter is off."""
    declared: dict[str, tuple[str, ...]] = {}
    without_dcgm: list[tuple[str, ...]] = []

    def program() -> None:
        info = cluster(pools=[pool("aws", "general"), pool("aws", "gpu", "gpu")])
        for addon in (dcgm_addon(), collector_addon(info), operator_addon(info, dcgm=True)[0]):
            declared[addon.key] = addon.requires
        without_dcgm.append(operator_addon(info, dcgm=False)[0].requires)

    engine.run_program(program)
    assert critical_path.load_durations().addon_requires is ADDON_REQUIRES
    assert declared == dict(ADDON_REQUIRES)
    assert without_dcgm == [()]


def test_review_reports_the_estimate_and_critical_path() -> None:
    estimate = critical_path.estimate(two_pools(chained=True))
    review = reviewing.Review(
        environment="t",
        tier="dev",
        pack="tkestack",
        pack_version="1",
        config_file="c.json",
        resource_count=7,
        policies=[],
        findings=[],
        deployment=estimate,
    )
    text = report.markdown(review)
    assert (
        "Deployment: estimated `pulumi up` from scratch: 18 min 05 s (floor 14 min 05 s, x1.28);"
        " critical path: vpc → eks → a-ng → b-ng." in text
    )
    document = report.as_json(review)
    assert '"floorSeconds": 845.0' in document and '"kind": "node pools"' in document


def test_an_object_waits_for_the_release_whose_helm_creates_its_namespace() -> None:
    """A NetworkPolicy of a namespace Helm creates (`createNamespace`, the GPU add-ons') needs
    the release; in another namespace the same edge is a false dependency."""
    release = resource(
        HELM_RELEASE,
        "dcgm",
        inputs={"name": "dcgm-exporter", "namespace": "dcgm-exporter", "createNamespace": True},
    )

    def policy(namespace: str) -> engine.RenderedResource:
        return resource(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            f"np-{namespace}",
            depends=(release.urn,),
            inputs={"metadata": {"name": "tkestack-metrics", "namespace": namespace}},
        )

    assert not critical_path.estimate(
        rendering(release, policy("dcgm-exporter"))
    ).false_dependencies
    (false,) = critical_path.estimate(rendering(release, policy("elsewhere"))).false_dependencies
    assert false.dependency == release.urn
