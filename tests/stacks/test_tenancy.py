"""The tenancy step: one tenant spec, equivalent homes on every cloud; validation rules."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest
import tenancy_support as ts
from conftest import TEST_ACCOUNTS, TEST_DEPLOYER, minimal_environment

from tkestack import engine
from tkestack.components.registry_namespace import RegistryHandle, RegistrySettings
from tkestack.stacks.loader import SpecError, load_environment
from tkestack.stacks.tenancy import build_tenants

CLUSTERS = [
    {
        "name": "eks1",
        "cloud": "aws",
        "region": "us-east-1",
        "kubernetes_version": "1.33",
        "network": {"vpc_cidr": "10.0.0.0/16"},
        "node_pools": [
            {"name": "general", "instance_types": ["m7i.xlarge"], "max_size": 4},
            {
                "name": "gpu",
                "instance_types": ["g4dn.xlarge"],
                "min_size": 0,
                "max_size": 2,
                "accelerator": {"model": "t4"},
            },
        ],
    },
    {
        "name": "tke1",
        "cloud": "tencentcloud",
        "region": "ap-guangzhou",
        "kubernetes_version": "1.32",
        "network": {"vpc_cidr": "10.1.0.0/16", "pod_cidr": "172.20.0.0/16"},
        "node_pools": [
            {"name": "general", "instance_types": ["S5.LARGE8"], "max_size": 4},
            {
                "name": "gpu",
                "instance_types": ["GN7.2XLARGE32"],
                "min_size": 0,
                "max_size": 2,
                "accelerator": {"model": "t4"},
                # terraform-provider-tencentcloud v1.82.42, resource_tc_kubernetes_node_pool_test.go
                "gpu_driver": {
                    "driver_name": "NVIDIA-Linux-x86_64-470.182.03.run",
                    "driver_version": "470.182.03",
                    "cuda_name": "cuda_11.4.3_470.82.01_linux.run",
                    "cuda_version": "11.4.3",
                },
            },
        ],
    },
]
TENANTS = [
    {
        "name": "ml",
        "clusters": ["eks1", "tke1"],
        "namespaces": ["ml-train", "ml-serve"],
        "quota": {"cpu": "4", "memory": "8Gi", "gpus": 1},
        "groups": {"admins": ["ml-leads"], "developers": ["ml-eng"], "viewers": ["analysts"]},
    },
    {"name": "web", "clusters": ["eks1"], "groups": {"developers": ["web-eng", "ml-eng"]}},
]


def environment(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "multi",
        "tier": "dev",
        "identity": dict(TEST_ACCOUNTS),
        "deployer": copy.deepcopy(TEST_DEPLOYER),
        "clusters": copy.deepcopy(CLUSTERS),
        "tenants": copy.deepcopy(TENANTS),
        # Two clusters: the peers push to the central receivers, which need a name and a cert.
        "observability": {
            "receiver_hostname": "receivers.multi.example.com",
            "receiver_tls_secret": "receiver-tls",
        },
        **overrides,
    }


def cluster_infos(env: Any) -> dict[str, Any]:
    """ClusterInfos as the clusters step would hand them (pools derived from the spec)."""
    infos = {}
    for spec in env.clusters:
        pools = [
            ts.pool(
                spec.cloud, pool.name, "gpu" if pool.accelerator else "x86", max_size=pool.max_size
            )
            for pool in spec.node_pools
        ]
        infos[spec.name] = ts.cluster(
            spec.name, spec.cloud, pools=pools, version=spec.kubernetes_version
        )
    return infos


def render_tenancy(raw: dict[str, Any], platform: bool = False) -> engine.Rendering:
    env = load_environment(raw, "Pulumi.multi.yaml").spec

    def program() -> None:
        clusters = cluster_infos(env)
        services = None
        if platform:
            services = {name: fake_platform(info) for name, info in clusters.items()}
        outputs = build_tenants(env, clusters, services)
        for key, value in outputs.items():
            pulumi.export(key, value)

    return engine.run_program(program, stack="multi")


def fake_platform(cluster: Any) -> SimpleNamespace:
    """What the platform step hands per cluster: `services.registry.handle`."""
    handle = RegistryHandle(
        key=f"{cluster.cloud}/{cluster.region}",
        cloud=cluster.cloud,
        settings=RegistrySettings(),
        endpoint=pulumi.Output.from_input(f"registry.{cluster.region}.example.invalid"),
        provider=cluster.cloud_provider,
        kms_key_arn=pulumi.Output.from_input("arn:aws:kms:us-east-1:123456789012:key/k")
        if cluster.cloud == "aws"
        else None,
        creation_role_arn=pulumi.Output.from_input("arn:aws:iam::123456789012:role/ecr-create")
        if cluster.cloud == "aws"
        else None,
        tcr_instance_id=pulumi.Output.from_input("tcr-abc")
        if cluster.cloud == "tencentcloud"
        else None,
    )
    return SimpleNamespace(registry=SimpleNamespace(handle=handle))


@pytest.fixture(scope="module")
def rendering() -> engine.Rendering:
    return render_tenancy(environment(), platform=True)


def tenant_objects(rendering: engine.Rendering, tenant_urn_name: str) -> list[dict[str, Any]]:
    """Kubernetes objects under one Tenant component, comparable across clouds."""
    tenant_urn = next(
        r.urn
        for r in rendering.resources
        if r.type == "tkestack:index:Tenant" and r.name == tenant_urn_name
    )
    parents = {r.urn: r.parent for r in rendering.resources}

    def under(urn: str | None) -> bool:
        while urn is not None:
            if urn == tenant_urn:
                return True
            urn = parents.get(urn)
        return False

    return [doc for resource, doc in engine.kubernetes_objects(rendering) if under(resource.urn)]


def without_cloud_identity(document: dict[str, Any]) -> dict[str, Any]:
    """A document with what legitimately differs per cloud taken out: group names people
    arrive under, workload-identity annotations, the pinned Pod Security version."""
    document = copy.deepcopy(document)
    metadata = document["metadata"]
    if document["kind"] == "RoleBinding":
        for subject in document["subjects"]:
            subject["name"] = subject["name"].split(":", 1)[1]
    if document["kind"] == "ServiceAccount":
        metadata.pop("annotations", None)
    if document["kind"] == "Namespace":
        metadata["labels"] = {
            k: v for k, v in metadata["labels"].items() if not k.endswith("-version")
        }
        metadata.get("annotations", {}).pop("tkestack.io/registry", None)
    return document


def test_a_tenant_on_two_clouds_gets_equivalent_kubernetes_objects(
    rendering: engine.Rendering,
) -> None:
    on_eks = tenant_objects(rendering, "ml-eks1")
    on_tke = tenant_objects(rendering, "ml-tke1")
    # TKE alone carries an image pull Secret per namespace: TCR namespaces are private and
    # nodes pull with the namespace's pull-only service account; EKS nodes pull with their role.
    pulls = [d for d in on_tke if d["kind"] == "Secret"]
    assert sorted(d["metadata"]["namespace"] for d in pulls) == ["ml-serve", "ml-train"]
    assert {d["metadata"]["name"] for d in pulls} == {"registry-pull"}
    assert {d["type"] for d in pulls} == {"kubernetes.io/dockerconfigjson"}
    assert not [d for d in on_eks if d["kind"] == "Secret"]
    on_tke = [d for d in on_tke if d["kind"] != "Secret"]
    key = lambda d: (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, on_eks)) == sorted(map(key, on_tke))
    kinds = {d["kind"] for d in on_eks}
    assert kinds == {
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
        "ServiceAccount",
    }
    eks = {key(d): without_cloud_identity(d) for d in on_eks}
    tke = {key(d): without_cloud_identity(d) for d in on_tke}
    assert eks == tke


def test_each_cloud_names_the_groups_its_own_way(rendering: engine.Rendering) -> None:
    def developers(tenant: str) -> list[str]:
        (binding,) = [
            d
            for d in tenant_objects(rendering, tenant)
            if d["kind"] == "RoleBinding"
            and d["metadata"]["namespace"] == "ml-train"
            and d["metadata"]["name"] == "tenant-developer"
        ]
        return [s["name"] for s in binding["subjects"]]

    assert developers("ml-eks1") == ["tkestack:ml-eng"]
    assert developers("ml-tke1") == ["oidc:ml-eng"]


def test_pod_security_is_pinned_to_each_clusters_minor(rendering: engine.Rendering) -> None:
    for tenant, version in (("ml-eks1", "v1.33"), ("ml-tke1", "v1.32")):
        for namespace in (d for d in tenant_objects(rendering, tenant) if d["kind"] == "Namespace"):
            assert (
                namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"]
                == version
            )


def test_every_group_is_mapped_once_per_eks_cluster(rendering: engine.Rendering) -> None:
    entries = rendering.of_type("aws:eks/accessEntry:AccessEntry")
    principals = sorted(e.inputs["principalArn"] for e in entries)
    assert principals == sorted(
        f"arn:aws:iam::123456789012:role/tkestack-{g}"
        for g in ("analysts", "break-glass", "ml-eng", "ml-leads", "web-eng")
    )
    assert not [r for r in rendering.resources if r.type.startswith("tencentcloud:Cam/oidc")]


def test_only_the_break_glass_role_is_bound_to_cluster_admin(rendering: engine.Rendering) -> None:
    bindings = [
        d
        for _, d in engine.kubernetes_objects(rendering)
        if d["kind"] in ("ClusterRoleBinding", "RoleBinding")
        and d["roleRef"]["name"] in ("cluster-admin", "admin", "edit")
    ]
    assert [(d["kind"], d["subjects"]) for d in bindings] == [
        (
            "ClusterRoleBinding",
            [
                {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Group",
                    "name": "oidc:tkestack-break-glass",
                }
            ],
        )
    ]
    associations = rendering.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert [(a.inputs["principalArn"], a.inputs["policyArn"]) for a in associations] == [
        (
            "arn:aws:iam::123456789012:role/tkestack-break-glass",
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        )
    ]
    outputs = rendering.stack_outputs["identity"]
    assert outputs["eks1"]["break_glass"] == "arn:aws:iam::123456789012:role/tkestack-break-glass"
    assert outputs["tke1"]["break_glass"] == "oidc:tkestack-break-glass"


def test_no_rendered_role_has_a_wildcard(rendering: engine.Rendering) -> None:
    roles = [
        d for _, d in engine.kubernetes_objects(rendering) if d["kind"] in ("Role", "ClusterRole")
    ]
    assert len(roles) == 3 * (2 + 2 + 1)  # levels x namespaces of ml on eks1, tke1, web on eks1
    for role in roles:
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], (role["metadata"], rule)


def test_registry_namespaces_are_one_per_tenant_and_region(rendering: engine.Rendering) -> None:
    names = sorted(
        r.name for r in rendering.resources if r.type == "tkestack:index:RegistryNamespace"
    )
    assert names == [
        "ml-registry-aws-us-east-1",
        "ml-registry-tencentcloud-ap-guangzhou",
        "web-registry-aws-us-east-1",
    ]
    (policy,) = [
        r
        for r in rendering.of_type("tencentcloud:Cam/policy:Policy")
        if r.name.startswith("ml-tke1")
    ]
    assert "repository/tcr-abc/ml/*" in policy.inputs["document"]
    namespace = next(d for d in tenant_objects(rendering, "ml-eks1") if d["kind"] == "Namespace")
    assert namespace["metadata"]["annotations"]["tkestack.io/registry"] == (
        "registry.us-east-1.example.invalid/ml"
    )


def test_without_the_platform_step_tenants_have_no_registry_namespace() -> None:
    rendering = render_tenancy(environment())
    assert not rendering.of_type("tkestack:index:RegistryNamespace")
    assert not rendering.of_type("tencentcloud:Cam/policy:Policy")
    assert len(rendering.of_type("tkestack:index:Tenant")) == 3


# --- validation rules -------------------------------------------------------------------


def problems(raw: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """{path: (severity, message)} of every problem, warnings included."""
    try:
        loaded = load_environment(raw, "Pulumi.multi.yaml")
    except SpecError as error:
        located = error.located
    else:
        located = loaded.warnings
    return {i.problem.dotted: (i.problem.severity, i.problem.message) for i in located}


def over_capacity(tier: str) -> dict[str, Any]:
    raw = environment(tier=tier)
    # eks1: 4 x m7i.xlarge (4 vCPU, 16 GiB) + 2 x g4dn.xlarge (4 vCPU, 16 GiB) = 24 vCPU.
    raw["tenants"][1]["quota"] = {"cpu": "20", "memory": "8Gi"}
    return raw


@pytest.mark.parametrize(
    ("tier", "severity"), [("dev", "warning"), ("staging", "warning"), ("prod", "error")]
)
def test_quotas_over_a_clusters_capacity(tier: str, severity: str) -> None:
    found = problems(over_capacity(tier))
    assert found["tenants[1].quota.cpu"][0] == severity
    message = found["tenants[1].quota.cpu"][1]
    assert "'eks1'" in message and "28 vCPU" in message and "24 vCPU" in message
    assert "ml 8 (4 x 2 namespace(s))" in message
    assert "tenants[1].quota.memory" not in found


def test_quotas_within_capacity_raise_nothing() -> None:
    assert problems(environment(tier="prod")) == {}


def test_warnings_do_not_stop_a_dev_render() -> None:
    loaded = load_environment(over_capacity("dev"), "Pulumi.multi.yaml")
    assert [w.problem.dotted for w in loaded.warnings] == ["tenants[1].quota.cpu"]


def hami_environment(gpu_memory_mib: int) -> dict[str, Any]:
    raw = environment(tier="prod")
    # eks1's gpu pool: 2 x g4dn.xlarge (one T4, 16 GiB each) at max_size = 32768 MiB.
    raw["clusters"][0]["node_pools"][1]["accelerator"]["sharing"] = "hami"
    raw["tenants"][0]["clusters"] = ["eks1"]
    raw["tenants"][0]["quota"]["gpu_memory_mib"] = gpu_memory_mib
    return raw


def test_hami_gpu_memory_quota_within_the_pools_capacity_passes() -> None:
    assert "tenants[0].quota.gpu_memory_mib" not in problems(hami_environment(32768))


def test_hami_gpu_memory_quota_above_the_pools_capacity_is_an_error() -> None:
    severity, message = problems(hami_environment(32769))["tenants[0].quota.gpu_memory_mib"]
    assert severity == "error"
    assert "32769 MiB" in message and "32768 MiB" in message and "'eks1'" in message


def test_memory_quantities_in_every_unit_are_summed() -> None:
    raw = environment(tier="prod")
    raw["tenants"][1]["quota"] = {"memory": "90000M"}  # 83.8 GiB + ml 16 GiB > 96 GiB
    found = problems(raw)
    assert found["tenants[1].quota.memory"][0] == "error"


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (
            lambda e: e["tenants"][0]["groups"].update(viewers=["data team"]),
            "tenants[0].groups.viewers[0]",
            "cannot be mapped",
        ),
        (
            lambda e: e["tenants"][0]["groups"].update(admins=["break-glass"]),
            "tenants[0].groups.admins[0]",
            "break-glass role",
        ),
        (
            lambda e: e["tenants"][0]["groups"].update(developers=["deployer"]),
            "tenants[0].groups.developers[0]",
            "deployer role",
        ),
        (
            lambda e: e["identity"].update(deployer_role="tkestack-break-glass"),
            "identity.deployer_role",
            "two roles",
        ),
        (
            lambda e: e["identity"].update(deployer_role="not a role"),
            "identity.deployer_role",
            "pattern",
        ),
        (
            lambda e: e["identity"].update(aws_role_arn_pattern="arn:aws:iam::1:role/fixed"),
            "identity.aws_role_arn_pattern",
            "{group}",
        ),
        (
            lambda e: e["tenants"][1].update(quota={"gpus": 1}, clusters=["tke1", "eks1"]),
            "tenants[1].quota.gpus",
            None,
        ),
    ],
)
def test_identity_rules_name_the_exact_key(mutate: Any, path: str, fragment: str | None) -> None:
    raw = environment()
    mutate(raw)
    found = problems(raw)
    if fragment is None:  # a valid change: GPU pools exist on both clusters
        assert path not in found
        return
    assert found[path][0] == "error"
    assert fragment in found[path][1]


def test_gpu_quota_on_a_cluster_without_gpu_pools_is_an_error() -> None:
    raw = minimal_environment(tenants=[{"name": "t", "clusters": ["c1"], "quota": {"gpus": 1}}])
    assert problems(raw)["tenants[0].quota.gpus"][0] == "error"


def test_outputs_name_each_tenants_namespaces_per_cluster(rendering: engine.Rendering) -> None:
    tenants = rendering.stack_outputs["tenants"]
    assert tenants["ml"]["eks1"]["namespaces"] == ["ml-train", "ml-serve"]
    assert tenants["web"]["eks1"]["roles"] == {
        "admin": "tenant-admin",
        "developer": "tenant-developer",
        "viewer": "tenant-viewer",
    }
    assert json.dumps(tenants, sort_keys=True)  # plain data, serialisable


# --- the shipped environments -----------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_shipped_roles_never_use_wildcards(env: str, rendered: Any) -> None:
    rendering = rendered(env)
    roles = [
        d for _, d in engine.kubernetes_objects(rendering) if d["kind"] in ("Role", "ClusterRole")
    ]
    assert roles, f"{env} renders no Role at all"
    for role in roles:
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), (env, role["metadata"], rule)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_shipped_environments_bind_cluster_admin_only_to_break_glass_and_deployer(
    env: str, rendered: Any
) -> None:
    """RBAC cluster-admin: only the break-glass group. EKS: exactly two cluster-admin access
    policies per cluster, the break-glass role's and the deployer role's (no creator admin)."""
    rendering = rendered(env)
    spec = load_environment(rendered_config(env), f"Pulumi.{env}.yaml").spec
    oidc_clusters = [c.name for c in spec.clusters if c.cloud != "aws"]
    eks_clusters = [c.name for c in spec.clusters if c.cloud == "aws"]
    admin_bindings = [
        d
        for _, d in engine.kubernetes_objects(rendering)
        if d["kind"] in ("ClusterRoleBinding", "RoleBinding")
        and d["roleRef"]["name"] == "cluster-admin"
    ]
    assert len(admin_bindings) == len(oidc_clusters)
    for binding in admin_bindings:
        assert binding["metadata"]["name"] == "tkestack-break-glass"
        assert [s["name"] for s in binding["subjects"]] == ["oidc:tkestack-break-glass"]
    associations = rendering.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    account = spec.identity.aws_account_id
    admins = sorted(
        f"arn:aws:iam::{account}:role/{role}"
        for role in (spec.identity.break_glass_role, spec.identity.deployer_role)
    )
    assert sorted(a.inputs["principalArn"] for a in associations) == sorted(
        admins * len(eks_clusters)
    )
    assert {a.inputs["policyArn"].rsplit("/", 1)[-1] for a in associations} <= {
        "AmazonEKSClusterAdminPolicy"
    }
    control_planes = rendering.of_type("aws:eks/cluster:Cluster")
    assert len(control_planes) == len(eks_clusters)
    for control_plane in control_planes:
        assert (
            control_plane.inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
        )


def rendered_config(env: str) -> Any:
    from conftest import ROOT, stack_config

    from tkestack.stacks.loader import ENVIRONMENT_KEY

    return stack_config(ROOT / f"Pulumi.{env}.yaml").values[ENVIRONMENT_KEY]


def test_prod_gives_every_tenant_its_full_home_on_each_cluster(rendered: Any) -> None:
    rendering = rendered("prod")
    spec = load_environment(rendered_config("prod"), "Pulumi.prod.yaml").spec
    registries = {r.name for r in rendering.of_type("tkestack:index:RegistryNamespace")}
    for tenant in spec.tenants:
        for cluster_name in tenant.clusters:
            cluster = spec.cluster(cluster_name)
            objects = tenant_objects(rendering, f"{tenant.name}-{cluster_name}")
            kinds = sorted(d["kind"] for d in objects)
            namespaces = len(tenant.namespaces) or 1
            assert kinds.count("Namespace") == namespaces
            assert kinds.count("ResourceQuota") == namespaces
            assert kinds.count("LimitRange") == namespaces
            assert kinds.count("Role") == 3 * namespaces
            names = {d["metadata"]["name"] for d in objects if d["kind"] == "NetworkPolicy"}
            assert "default-deny-ingress" in names
            bound = {d["metadata"]["name"] for d in objects if d["kind"] == "RoleBinding"}
            levels = {"admin": "admins", "developer": "developers", "viewer": "viewers"}
            assert bound == {
                f"tenant-{level}" for level, key in levels.items() if getattr(tenant.groups, key)
            }
            quota = next(d for d in objects if d["kind"] == "ResourceQuota")
            has_gpu = any(p.accelerator for p in cluster.node_pools)
            assert ("requests.nvidia.com/gpu" in quota["spec"]["hard"]) == has_gpu
            if cluster.cloud != "attached":
                assert any(d["kind"] == "ServiceAccount" for d in objects), cluster_name
                key = f"{cluster.cloud}-{cluster.region}"
            else:
                key = f"attached-{cluster_name}"
            assert f"{tenant.name}-registry-{key}" in registries, (tenant.name, cluster_name)
    identity = rendering.stack_outputs["identity"]
    assert sorted(identity) == sorted(c.name for c in spec.clusters)


def test_tke_tenants_pull_with_a_pull_only_tcr_account(rendering: engine.Rendering) -> None:
    # terraform-provider-tencentcloud v1.82.42: resource_tc_tcr_service_account.md (permissions
    # resource = namespace, actions tcr:PullRepository), .go (`password` Computed, Sensitive),
    # extension_tcr.go (TCR_NAME_PREFIX "tcr$": the login name).
    (account,) = rendering.of_type("tencentcloud:Tcr/serviceAccount:ServiceAccount")
    assert account.inputs["name"] == "ml-pull"
    assert account.inputs["permissions"] == [{"resource": "ml", "actions": ["tcr:PullRepository"]}]
    secrets = [
        r
        for r in rendering.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == "registry-pull"
    ]
    assert {r.inputs["metadata"]["namespace"] for r in secrets} == {"ml-train", "ml-serve"}
    for secret in secrets:
        data = secret.inputs["stringData"]
        assert isinstance(data, engine.SecretValue)  # the credentials never reach state plain
        ((host, auth),) = json.loads(data.value[".dockerconfigjson"])["auths"].items()
        # The host the tenant's images are under (the namespace's registry annotation).
        (namespace,) = [
            r
            for r in rendering.of_type("kubernetes:core/v1:Namespace")
            if r.inputs["metadata"]["name"] == secret.inputs["metadata"]["namespace"]
            and "ml-tke1" in r.urn
        ]
        prefix = namespace.inputs["metadata"]["annotations"]["tkestack.io/registry"]
        assert prefix == f"{host}/ml"
        assert auth["username"] == "tcr$ml-pull"
        assert auth["password"] == account.outputs["password"]
