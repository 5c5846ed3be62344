"""Tenant: namespaces, quotas, limit ranges, network policies and roles on one cluster."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import tenancy_support as ts

from tkestack import engine
from tkestack.components.identity import ACCESS_LEVELS
from tkestack.components.tenant import (
    ESCALATION_VERBS,
    ROLE_RULES,
    ContainerDefaults,
    Tenant,
    TenantArgs,
    TenantQuota,
    role_name,
)

GPU_QUOTA = "requests.nvidia.com/gpu"
HAMI_QUOTAS = {"requests.nvidia.com/gpumem", "limits.nvidia.com/gpumem"}
SUBJECTS = {"admin": ["oidc:leads"], "developer": ["oidc:devs", "oidc:contractors"]}


def render_tenant(
    cloud: str = "aws",
    pools: list[tuple[str, str, dict[str, Any]]] | None = None,
    version: str = "1.33",
    **tenant: Any,
) -> engine.Rendering:
    """Render one Tenant on one cluster; `pools` are (name, kind, derive_profile kwargs)."""

    def program() -> None:
        profiles = [ts.pool(cloud, n, k, **kw) for n, k, kw in pools or [("general", "x86", {})]]
        cluster = ts.cluster("c1", cloud, pools=profiles, version=version)
        args: TenantArgs = {"cluster": cluster, "tenant": "team", **tenant}  # type: ignore[typeddict-item]
        Tenant("team-c1", args)

    return engine.run_program(program)


@pytest.fixture(scope="module")
def two_namespaces() -> engine.Rendering:
    return render_tenant(namespaces=["team-a", "team-b"], subjects=SUBJECTS)


@pytest.fixture(scope="module")
def hami_cluster() -> engine.Rendering:
    return render_tenant(
        pools=[("general", "x86", {}), ("gpu", "gpu", {"sharing": "hami"})],
        quota=TenantQuota(gpus=4, gpu_memory_mib=16384),
        version="1.32",
    )


def by_namespace(rendering: engine.Rendering, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (doc["metadata"]["namespace"], doc["metadata"]["name"]): doc
        for doc in ts.objects(rendering, kind)
    }


@pytest.mark.parametrize("level", ACCESS_LEVELS)
def test_role_rules_are_explicit_and_never_escalate(level: str) -> None:
    for groups, resources, verbs in ROLE_RULES[level]:  # type: ignore[index]
        assert groups and resources and verbs
        assert "*" not in groups and "*" not in resources and "*" not in verbs
        assert not ESCALATION_VERBS & set(verbs)
        assert not any(r.endswith("/*") or r == "serviceaccounts/token" for r in resources)


def _permissions(level: str) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for groups, resources, verbs in ROLE_RULES[level]  # type: ignore[index]
        for group in groups
        for resource in resources
        for verb in verbs
    }


def test_each_level_holds_the_lower_levels_rights_and_more() -> None:
    viewer, developer, admin = (_permissions(level) for level in ("viewer", "developer", "admin"))
    assert viewer < developer < admin
    # An admin can only bind roles whose rights it holds (no `bind` verb): it must hold them.
    assert developer <= admin


def test_secrets_are_write_only_for_developers_and_readable_by_admins() -> None:
    def secret_verbs(level: str) -> set[str]:
        return {verb for group, res, verb in _permissions(level) if (group, res) == ("", "secrets")}

    assert secret_verbs("viewer") == set()
    assert secret_verbs("developer") == {"create", "update", "patch", "delete"}
    assert {"get", "list", "watch"} <= secret_verbs("admin")


def test_only_admins_manage_role_bindings_and_nobody_touches_platform_objects() -> None:
    for level in ("viewer", "developer"):
        assert not {p for p in _permissions(level) if p[1] in ("rolebindings", "roles")}
    admin_rbac = {p for p in _permissions("admin") if p[0] == "rbac.authorization.k8s.io"}
    assert ("rbac.authorization.k8s.io", "roles", "create") not in admin_rbac
    assert ("rbac.authorization.k8s.io", "rolebindings", "create") in admin_rbac
    platform_owned = {"resourcequotas", "limitranges", "namespaces", "daemonsets"}
    for level in ACCESS_LEVELS:
        writes = {
            res for _, res, verb in _permissions(level) if verb not in ("get", "list", "watch")
        }
        assert not writes & platform_owned, level
        # Extra allow rules (load balancer sources) are the namespace admin's call alone.
        assert ("networkpolicies" in writes) == (level == "admin"), level


def test_rendered_roles_match_the_rule_table(two_namespaces: engine.Rendering) -> None:
    roles = by_namespace(two_namespaces, "Role")
    assert sorted(roles) == sorted(
        (ns, role_name(level)) for ns in ("team-a", "team-b") for level in ACCESS_LEVELS
    )
    for (_, name), role in roles.items():
        level = name.removeprefix("tenant-")
        rendered = [
            (tuple(rule["apiGroups"]), tuple(rule["resources"]), tuple(rule["verbs"]))
            for rule in role["rules"]
        ]
        assert rendered == ROLE_RULES[level]  # type: ignore[index]


def test_role_bindings_bind_each_levels_groups_and_skip_empty_levels(
    two_namespaces: engine.Rendering,
) -> None:
    bindings = by_namespace(two_namespaces, "RoleBinding")
    assert sorted(bindings) == sorted(
        (ns, role_name(level)) for ns in ("team-a", "team-b") for level in ("admin", "developer")
    )
    developer = bindings[("team-a", "tenant-developer")]
    assert developer["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "tenant-developer",
    }
    assert [s["name"] for s in developer["subjects"]] == ["oidc:contractors", "oidc:devs"]
    assert {s["kind"] for s in developer["subjects"]} == {"Group"}


def test_namespaces_are_restricted_and_pinned_to_the_cluster_minor(
    two_namespaces: engine.Rendering, hami_cluster: engine.Rendering
) -> None:
    for rendering, version in ((two_namespaces, "v1.33"), (hami_cluster, "v1.32")):
        for namespace in ts.objects(rendering, "Namespace"):
            labels = namespace["metadata"]["labels"]
            assert labels["tkestack.io/tenant"] == "team"
            for mode in ("enforce", "audit", "warn"):
                assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
                assert labels[f"pod-security.kubernetes.io/{mode}-version"] == version
            assert "annotations" not in namespace["metadata"]


def test_baseline_enforces_baseline_warns_restricted_and_records_the_reason() -> None:
    rendering = render_tenant(pod_security="baseline", pod_security_reason="legacy init as root")
    (namespace,) = ts.objects(rendering, "Namespace")
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert namespace["metadata"]["annotations"] == {
        "tkestack.io/pod-security-reason": "legacy init as root"
    }


@pytest.mark.parametrize(
    ("tenant", "key"),
    [
        ({"pod_security": "baseline"}, "pod_security_reason"),
        ({"quota": TenantQuota(gpus=1)}, "quota.gpus"),
        ({"quota": TenantQuota(gpu_memory_mib=1024)}, "quota.gpu_memory_mib"),
        ({"namespaces": ["a", "a"]}, "namespaces"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(tenant: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=rf"Tenant team-c1: .*{key}"):
        render_tenant(**tenant)


def test_quota_without_gpu_pools_has_no_gpu_keys(two_namespaces: engine.Rendering) -> None:
    quotas = by_namespace(two_namespaces, "ResourceQuota")
    assert sorted(quotas) == [("team-a", "tenant-quota"), ("team-b", "tenant-quota")]
    assert quotas[("team-a", "tenant-quota")]["spec"]["hard"] == {
        "pods": "100",
        "requests.cpu": "8",
        "requests.memory": "32Gi",
        "requests.storage": "200Gi",
        "services.loadbalancers": "0",
    }


def test_quota_counts_gpus_and_hami_gpu_memory_where_the_cluster_has_them(
    hami_cluster: engine.Rendering,
) -> None:
    (quota,) = ts.objects(hami_cluster, "ResourceQuota")
    hard = quota["spec"]["hard"]
    assert hard[GPU_QUOTA] == "4"
    assert {key: hard[key] for key in HAMI_QUOTAS} == dict.fromkeys(HAMI_QUOTAS, "16384")


def test_hami_gpu_memory_quota_is_written_only_when_the_tenant_states_one() -> None:
    # Project-HAMi/HAMi pkg/device/quota.go @v2.10.0: a `limits.nvidia.com/gpumem` of 0 is
    # an explicit limit (`LimitSet`) that refuses every GPU pod of the namespace (#2313).
    rendering = render_tenant(
        pools=[("gpu", "gpu", {"sharing": "hami"})], quota=TenantQuota(gpus=2), namespaces=["t"]
    )
    (quota,) = ts.objects(rendering, "ResourceQuota")
    assert quota["spec"]["hard"][GPU_QUOTA] == "2"
    assert not HAMI_QUOTAS & set(quota["spec"]["hard"])


def test_hami_gpu_memory_quota_above_the_pools_capacity_is_refused() -> None:
    # One T4 (16 GiB) per g4dn.xlarge node, max_size 3: 49152 MiB; one MiB more is refused.
    hami = [("gpu", "gpu", {"sharing": "hami", "max_size": 3})]
    rendering = render_tenant(pools=hami, quota=TenantQuota(gpus=1, gpu_memory_mib=49152))
    (quota,) = ts.objects(rendering, "ResourceQuota")
    assert quota["spec"]["hard"]["limits.nvidia.com/gpumem"] == "49152"
    with pytest.raises(ValueError, match=r"quota\.gpu_memory_mib: 49153 MiB is more than the"):
        render_tenant(pools=hami, quota=TenantQuota(gpus=1, gpu_memory_mib=49153))


def test_exclusive_gpu_pool_gets_a_gpu_quota_but_no_gpu_memory_quota() -> None:
    rendering = render_tenant(
        pools=[("gpu", "gpu", {})], quota=TenantQuota(gpus=2), namespaces=["team"]
    )
    (quota,) = ts.objects(rendering, "ResourceQuota")
    assert quota["spec"]["hard"][GPU_QUOTA] == "2"
    assert not HAMI_QUOTAS & set(quota["spec"]["hard"])


def test_limit_range_defaults_requests_but_no_limit(two_namespaces: engine.Rendering) -> None:
    # A default limit is also given to a container that requests more than it and states no
    # limit; the API server then refuses the pod (limit below request), see
    # https://kubernetes.io/docs/concepts/policy/limit-range/. So no default limit by default.
    (item,) = by_namespace(two_namespaces, "LimitRange")[("team-a", "tenant-defaults")]["spec"][
        "limits"
    ]
    assert item == {"type": "Container", "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}


def test_limit_range_default_memory_limit_only_when_asked() -> None:
    rendering = render_tenant(container_defaults=ContainerDefaults(memory_limit="16Gi"))
    (limit_range,) = ts.objects(rendering, "LimitRange")
    assert limit_range["spec"]["limits"][0]["default"] == {"memory": "16Gi"}


def test_network_policies_deny_ingress_then_allow_tenant_monitoring_and_ingress(
    two_namespaces: engine.Rendering,
) -> None:
    policies = by_namespace(two_namespaces, "NetworkPolicy")
    names = {name for ns, name in policies if ns == "team-b"}
    assert names == {
        "default-deny-ingress",
        "allow-same-tenant",
        "allow-monitoring",
        "allow-ingress",
    }
    deny = policies[("team-b", "default-deny-ingress")]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}

    def source(name: str) -> dict[str, Any]:
        spec = policies[("team-b", name)]["spec"]
        assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress"]
        (rule,) = spec["ingress"]
        (peer,) = rule["from"]
        return peer["namespaceSelector"]

    assert source("allow-same-tenant") == {"matchLabels": {"tkestack.io/tenant": "team"}}
    assert source("allow-monitoring") == {
        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
    }
    assert source("allow-ingress") == {
        "matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["ingress-nginx"]}
        ]
    }


@pytest.mark.parametrize("fixture", ["two_namespaces", "hami_cluster"])
def test_every_object_is_valid_for_the_clusters_version(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    rendering: engine.Rendering = request.getfixturevalue(fixture)
    version = "1.33" if fixture == "two_namespaces" else "1.32"
    documents = [doc for _, doc in engine.kubernetes_objects(rendering)]
    kinds = {doc["kind"] for doc in documents}
    assert {"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "Role"} <= kinds
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_every_child_has_the_explicit_cluster_provider(two_namespaces: engine.Rendering) -> None:
    tenant_urn = next(r.urn for r in two_namespaces.resources if r.type == "tkestack:index:Tenant")
    children = [r for r in two_namespaces.resources if r.type.startswith("kubernetes:")]
    assert children
    for child in children:
        assert child.parent == tenant_urn
        assert child.provider is not None and child.provider.endswith("::c1-k8s")
