"""The components' input contract: every problem of the arguments, each with its property
path, raised at once as a `pulumi.InputPropertiesError` before anything registers; and the
Kubernetes and cloud formats behind the rules (sources cited in components/validation.py and
components/node_pool.py)."""

from __future__ import annotations

import os
from typing import Any

import pulumi
import pytest
from cluster_support import cluster_args, render_cluster
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tenancy_support import cluster as tenant_cluster

from tkestack import engine
from tkestack.components.cluster import cluster_problems
from tkestack.components.contracts import Taint
from tkestack.components.errors import ArgumentsError, raise_problems
from tkestack.components.node_pool import pool_problems
from tkestack.components.tenant import Tenant, TenantQuota
from tkestack.components.validation import (
    Problem,
    dns_label_problems,
    label_problems,
    quantity_problems,
    taint_problems,
)

EXAMPLES = int(os.environ.get("TKESTACK_FUZZ_EXAMPLES", "150"))
PROGRAM_EXAMPLES = int(os.environ.get("TKESTACK_PROGRAM_FUZZ_EXAMPLES", "10"))

# -- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "bad"),
    [
        ({"team": "payments", "tkestack.io/pool": "gpu", "a.b/c_d-e.f": ""}, []),
        ({"bad key": "x"}, ["bad key"]),
        ({"Example.COM/x": "y"}, ["Example.COM/x"]),  # the prefix is a lower-case subdomain
        ({"a/b/c": "y"}, ["a/b/c"]),
        ({"x" * 64: "y"}, ["x" * 64]),  # names are at most 63
        ({"ok": "-starts-with-dash"}, ["ok"]),
        ({"ok": "v" * 64}, ["ok"]),  # values are at most 63
    ],
)
def test_label_syntax(labels: dict[str, str], bad: list[str]) -> None:
    problems = label_problems(labels, ("labels",))
    assert sorted({problem.path[1] for problem in problems}) == sorted(bad)


@pytest.mark.parametrize(
    ("taint", "bad"),
    [
        (("dedicated", "gpu", "NoSchedule"), []),
        (("example.com/dedicated", "", "PreferNoSchedule"), []),
        (("dedicated", "gpu", "NoExecute"), []),
        (("dedicated", "gpu", "Never"), ["effect"]),
        (("bad key", "gpu", "NoSchedule"), ["key"]),
        (("dedicated", "not ok", "NoSchedule"), ["value"]),
    ],
)
def test_taint_syntax(taint: tuple[str, str, str], bad: list[str]) -> None:
    problems = taint_problems(*taint, ("taints", 0))
    assert [problem.path[-1] for problem in problems] == bad


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("8", True),
        ("500m", True),
        ("32Gi", True),
        ("1.5", True),
        ("1e3", True),
        ("2Ei", True),
        ("lots", False),
        ("-1", False),
        ("8 Gi", False),
        ("1.5.2", False),
        ("", False),
        (8, False),
    ],
)
def test_quantity_syntax(value: Any, ok: bool) -> None:
    assert (quantity_problems(value, ("cpu",)) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("team-a", True),
        ("a", True),
        ("Team", False),
        ("-a", False),
        ("a_b", False),
        ("a" * 64, False),
        (None, False),
    ],
)
def test_dns_label_syntax(value: Any, ok: bool) -> None:
    assert (dns_label_problems(value, ("name",)) == []) is ok


def test_one_error_lists_every_problem_as_input_properties() -> None:
    problems = [Problem(("labels", "a b"), "bad key"), Problem(("taints", 0, "effect"), "bad")]
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        raise_problems("NodePool", "c1-gpu", problems)
    error = raised.value
    assert isinstance(error, ArgumentsError) and isinstance(error, ValueError)
    assert error.errors == [
        {"property_path": "labels.a b", "reason": "bad key"},
        {"property_path": "taints[0].effect", "reason": "bad"},
    ]
    assert str(error).startswith("NodePool c1-gpu: labels.a b: bad key; taints[0].effect")
    raise_problems("NodePool", "c1-gpu", [])  # no problem: no error


# -- NodePool (through Cluster and alone) ------------------------------------------------------

GOOD_POOL: dict[str, Any] = {"name": "general", "instance_types": ["m7i.xlarge"]}


@pytest.mark.parametrize(
    ("cloud", "pool", "path", "fragment"),
    [
        ("aws", {"name": "general"}, "instance_types", "required"),
        ("aws", {**GOOD_POOL, "instance_types": []}, "instance_types", "required"),
        ("aws", {**GOOD_POOL, "sharing": "hami"}, "sharing", "no GPU"),
        ("aws", {**GOOD_POOL, "replicas": 4}, "replicas", "no GPU"),
        ("aws", {**GOOD_POOL, "labels": {"bad key": "x"}}, "labels.bad key", "qualified name"),
        (
            "aws",
            {**GOOD_POOL, "taints": [Taint("k", "v", "Sometimes")]},  # type: ignore[arg-type]
            "taints[0].effect",
            "not a taint effect",
        ),
        ("aws", {**GOOD_POOL, "name": "Bad_Name"}, "name", "DNS-1123"),
        ("aws", {**GOOD_POOL, "name": "p" * 42}, "name", "EKS allows 63"),
        ("tencentcloud", {"name": "p" * 26, "instance_types": ["S5.LARGE8"]}, "name", "at most 25"),
        ("aws", {**GOOD_POOL, "min_size": 3, "max_size": 2}, "max_size", "min_size"),
        ("aws", {**GOOD_POOL, "kubernetes_version": 1.3}, "kubernetes_version", "'1.33'"),
        (
            "aws",
            {**GOOD_POOL, "taints": [{"key": "k", "effect": "NoSchedule"}]},
            "taints[0]",
            "Taint(key, value, effect)",
        ),
    ],
)
def test_each_pool_rule_names_its_property(
    cloud: str, pool: dict[str, Any], path: str, fragment: str
) -> None:
    problems = cluster_problems("c1", cluster_args(cloud, [pool], cloud_provider=object()))
    assert [p.dotted for p in problems] == [f"node_pools[0].{path}"]
    assert fragment in problems[0].message


@pytest.mark.parametrize(
    ("cloud", "pool"),
    [
        # c1- + 41 + -node-group + -xxxxxxx: 63 characters, the most EKS takes.
        ("aws", {"name": "p" * 41, "instance_types": ["m7i.xlarge"]}),
        ("tencentcloud", {"name": "p" * 25, "instance_types": ["S5.LARGE8"]}),
        (
            "aws",
            {
                **GOOD_POOL,
                "labels": {"example.com/team": "a"},
                "taints": [Taint("dedicated", "x", "NoExecute")],
            },
        ),
        (
            "aws",
            {
                "name": "gpu",
                "instance_types": ["g4dn.xlarge"],
                "accelerator_model": "t4",
                "sharing": "time-slicing",
                "replicas": 4,
            },
        ),
    ],
)
def test_pools_within_the_rules_have_no_problem(cloud: str, pool: dict[str, Any]) -> None:
    assert cluster_problems("c1", cluster_args(cloud, [pool], cloud_provider=object())) == []


def test_a_cluster_lists_every_problem_of_every_pool_and_registers_nothing() -> None:
    pools = [
        {"name": "a", "instance_types": ["m7i.xlarge"], "labels": {"bad key": "x"}},
        {"name": "b", "sharing": "hami"},
    ]
    registered: list[int] = []
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        engine.run_program(lambda: render_program("aws", pools), on_register=registered.append)
    paths = [error["property_path"] for error in raised.value.errors or []]
    assert paths == [
        "node_pools[0].labels.bad key",
        "node_pools[1].instance_types",
        "node_pools[1].sharing",
    ]
    assert registered == [], "nothing is registered for refused arguments"


def render_program(cloud: str, pools: list[dict[str, Any]]) -> None:
    from tkestack.components.cluster import Cluster

    Cluster("c1", cluster_args(cloud, pools, cloud_provider=object()))


# -- Tenant --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "paths"),
    [
        ({"tenant": "Team_A"}, ["tenant"]),
        ({"tenant": "team", "namespaces": ["ok", "Not OK"]}, ["namespaces[1]"]),
        ({"tenant": "team", "pod_security": "privileged"}, ["pod_security"]),
        (
            {"tenant": "team", "quota": TenantQuota(cpu="lots", memory="-1Gi")},
            ["quota.cpu", "quota.memory"],
        ),
        ({"tenant": "team"}, []),
    ],
)
def test_tenant_rules_name_their_property(args: dict[str, Any], paths: list[str]) -> None:
    failure: list[BaseException] = []

    def program() -> None:
        try:
            Tenant("team-c1", {"cluster": tenant_cluster(), **args})  # type: ignore[typeddict-item]
        except pulumi.InputPropertiesError as error:
            failure.append(error)

    rendering = engine.run_program(program)
    found = [e["property_path"] for e in failure[0].errors or []] if failure else []
    assert found == paths
    tenants = rendering.of_type("tkestack:index:Tenant")
    assert len(tenants) == (0 if paths else 1), "a refused Tenant registers nothing"


# -- the component arguments fuzzer ----------------------------------------------------------

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 70),
    st.text(max_size=8),
    st.sampled_from(
        [
            "m7i.xlarge",
            "m7g.xlarge",
            "g4dn.xlarge",
            "t4",
            "hami",
            "time-slicing",
            "exclusive",
            "arm64",
            "x86_64",
            "1.32",
            "1.33",
            "NoSchedule",
            "a/b",
        ]
    ),
    st.lists(st.sampled_from(["m7i.xlarge", "m7g.xlarge", "g4dn.xlarge", "nope"]), max_size=3),
    st.dictionaries(
        st.sampled_from(["team", "bad key", "a.b/c", "-x"]),
        st.sampled_from(["a", "", "-bad", "x" * 64]),
        max_size=2,
    ),
)
pool_keys = st.sampled_from(
    [
        "name",
        "instance_types",
        "architecture",
        "accelerator_model",
        "accelerator_count",
        "sharing",
        "replicas",
        "min_size",
        "max_size",
        "desired_size",
        "labels",
        "kubernetes_version",
    ]
)
pools = st.dictionaries(pool_keys, values, max_size=6).map(
    lambda pool: {"name": "general", "instance_types": ["m7i.xlarge"], **pool}
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(pool=pools)
def test_pool_arguments_give_problems_never_crashes(pool: dict[str, Any]) -> None:
    problems = pool_problems("aws", "c1-pool", pool, "1.33", ("node_pools", 0))
    assert all(p.path[:2] == ("node_pools", 0) and p.message for p in problems)


@settings(
    max_examples=PROGRAM_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(pool=pools)
def test_pool_arguments_build_or_are_refused_before_registering(pool: dict[str, Any]) -> None:
    """Arguments without problems build the cluster; any other is refused before the
    Cluster registers (an InputPropertiesError listing the problems)."""
    expected = cluster_problems("c1", cluster_args("aws", [pool], cloud_provider=object()))
    if expected:
        registered: list[int] = []
        with pytest.raises(pulumi.InputPropertiesError) as raised:
            engine.run_program(lambda: render_program("aws", [pool]), on_register=registered.append)
        assert len(raised.value.errors or []) == len(expected)
        assert registered == []
    else:
        rendering = render_cluster("aws", [pool])
        assert rendering.of_type("tkestack:index:NodePool")


# -- across languages: the component package ---------------------------------------------------


def test_the_package_provider_reports_input_errors_per_property(monkeypatch) -> None:
    """The SDK wraps a constructor's exception in ComponentInitError; the package's provider
    hands the engine the InputPropertiesError itself, whose `errors` the server turns into
    per-property details (pulumi provider/experimental/server.py `Construct`)."""
    from pulumi.provider.experimental.component import ComponentProvider
    from pulumi.provider.experimental.server import ComponentInitError

    from tkestack.components.package import PACKAGE_NAME, PackageProvider

    refused = ArgumentsError("Tenant", "team-c1", [Problem(("tenant",), "not a DNS label")])
    provider = PackageProvider(version="0.0.0")

    def construct(*args: Any, **kwargs: Any) -> Any:
        raise ComponentInitError(refused)

    monkeypatch.setattr(ComponentProvider, "construct", construct)
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        provider.construct("team-c1", f"{PACKAGE_NAME}:index:Tenant", {}, None)
    assert raised.value is refused
    assert raised.value.errors == [{"property_path": "tenant", "reason": "not a DNS label"}]

    other = RuntimeError("boom")

    def construct_other(*args: Any, **kwargs: Any) -> Any:
        raise ComponentInitError(other)

    monkeypatch.setattr(ComponentProvider, "construct", construct_other)
    with pytest.raises(ComponentInitError):  # anything else stays as the SDK reports it
        provider.construct("team-c1", f"{PACKAGE_NAME}:index:Tenant", {}, None)


# -- WorkloadIdentity ----------------------------------------------------------------------------


def _bare_cluster(cloud: str, **known: Any) -> Any:
    from tkestack.components.contracts import ClusterInfo

    fields: dict[str, Any] = {
        "name": "c1",
        "cloud": cloud,
        "region": None,
        "kubernetes_version": "1.32",
        "endpoint": "https://c1",
        "kubeconfig": "kubeconfig",
        "k8s_provider": None,
    }
    return ClusterInfo(**{**fields, **known})


@pytest.mark.parametrize(
    ("cloud", "known", "paths"),
    [
        (
            "tencentcloud",
            {},
            [
                "cluster.cloud_provider",
                "cluster.region",
                "cluster.cloud_cluster_id",
                "cluster.oidc_issuer",
            ],
        ),
        ("attached", {}, ["cluster.cloud"]),
        (
            "aws",
            {"region": "us-east-1", "cloud_provider": object(), "cloud_cluster_id": "c1"},
            [],
        ),
    ],
)
def test_workload_identity_lists_every_problem_of_its_cluster(
    cloud: str, known: dict[str, Any], paths: list[str]
) -> None:
    from tkestack.components.identity import workload_identity_problems

    problems = workload_identity_problems(
        {
            "cluster": _bare_cluster(cloud, **known),
            "tenant": "team",  # type: ignore[typeddict-item]
            "namespaces": ["team"],
            "account": "123456789012",
        }
    )
    assert [problem.dotted for problem in problems] == paths
