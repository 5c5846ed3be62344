"""Every policy: a passing and a failing resource set, evaluated directly."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from policy_cases import BAD, CASES, OK, findings_of, res

from tkestack.policies.rules import BY_NAME, RULES, evaluate
from tkestack.policies.rules.base import Stack, Subject, Unknowable, get


def test_every_policy_has_cases_and_there_are_at_least_40() -> None:
    assert len(RULES) >= 40
    assert sorted(CASES) == sorted(BY_NAME)


@pytest.mark.parametrize("policy", sorted(BY_NAME))
def test_passing_case_passes(policy: str) -> None:
    assert CASES[policy][OK], f"{policy} has no passing case"
    assert findings_of(policy, CASES[policy][OK]) == []


@pytest.mark.parametrize("policy", sorted(BY_NAME))
def test_failing_case_fails(policy: str) -> None:
    assert CASES[policy][BAD], f"{policy} has no failing case"
    assert findings_of(policy, CASES[policy][BAD]), f"{policy} did not fire"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_metadata_is_complete(rule) -> None:
    assert rule.name == rule.name.lower() and " " not in rule.name and "_" not in rule.name
    assert rule.description.endswith(".") and len(rule.description) > 20
    assert rule.severity in ("low", "medium", "high", "critical")
    assert rule.anchor and "?" not in rule.anchor
    assert rule.remediation
    assert rule.stack or rule.types or rule.name == "explicit-provider"
    for key, schema in rule.config.items():
        assert "default" in schema and "type" in schema, (rule.name, key)


def test_missing_inputs_with_unsafe_defaults_are_violations() -> None:
    """An EKS cluster with only the required inputs: the defaults are public, unencrypted,
    unlogged, creator-admin, CONFIG_MAP."""
    bare = res("aws:eks/cluster:Cluster", "bare", {"roleArn": "r", "vpcConfig": {"subnetIds": []}})
    fired = {f.policy for f in evaluate([bare])}
    assert {
        "cluster-endpoint-private",
        "cluster-endpoint-public-cidrs",
        "cluster-secrets-encryption",
        "cluster-control-plane-logging",
        "cluster-kubernetes-version-supported",
        "cluster-access-entries",
        "cluster-no-creator-admin",
        "cluster-deletion-protection",
    } <= fired


def test_unknown_values_never_crash_or_fire() -> None:
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    cluster = res(
        "aws:eks/cluster:Cluster",
        "eks",
        {"vpcConfig": unknown, "version": unknown, "accessConfig": unknown},
    )
    group = res(
        "aws:eks/nodeGroup:NodeGroup", "ng", {"instanceTypes": unknown, "scalingConfig": unknown}
    )
    fired = {f.policy for f in evaluate([cluster, group])}
    assert not fired & {
        "cluster-endpoint-private",
        "cluster-kubernetes-version-supported",
        "node-pool-scaling-bounds",
        "cluster-no-creator-admin",
    }
    with pytest.raises(Unknowable):
        get({"a": unknown}, "a")


def test_stack_scope_follows_provider_to_cluster_component() -> None:
    from policy_cases import CLUSTER_PARENT, K8S_IN_CLUSTER, cluster_component, deployment

    app = res("kubernetes:apps/v1:Deployment", "app", deployment())
    stack = Stack([cluster_component(), K8S_IN_CLUSTER, app])
    assert stack.scope(app) == CLUSTER_PARENT


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_stack_scope_groups_resources_as_the_ownership_function_does(
    env: str, rendered: Callable[[str], Any]
) -> None:
    """The policies' cluster scope (recorded tags, parents and providers: a policy sees no
    stack outputs) and the CLI's owner (`tkestack.ownership.cluster_owners`, which also
    reads the exported kubeconfigs) group every resource of a cluster alike: the same
    partition, the attached cluster of prod included."""
    from tkestack.ownership import cluster_owners
    from tkestack.review import subjects

    rendering = rendered(env)
    stack = Stack(subjects(rendering))
    owned = {urn: name for urn, name in cluster_owners(rendering).items() if name is not None}
    by_scope: dict[str, set[str]] = {}
    for resource in stack.resources:
        if resource.urn in owned:
            by_scope.setdefault(stack.scope(resource), set()).add(owned[resource.urn])
    assert "" not in by_scope  # every resource a cluster owns has a scope
    assert all(len(names) == 1 for names in by_scope.values()), by_scope
    clusters = sorted(name for names in by_scope.values() for name in names)
    assert clusters == sorted(set(owned.values()))  # one scope per cluster
    if env == "prod":
        assert len(clusters) >= 4  # two EKS, one TKE, the attached one


CLUSTER_ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def admin_association(principal: str) -> Subject:
    return res(
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "admin",
        {
            "clusterName": "c1",
            "principalArn": principal,
            "policyArn": CLUSTER_ADMIN_POLICY_ARN,
            "accessScope": {"type": "cluster"},
        },
    )


@pytest.mark.parametrize("policy", ["rbac-no-cluster-admin", "eks-access-namespace-scoped"])
def test_named_admins_are_break_glass_and_the_deployer_access_entry_only(policy: str) -> None:
    """The deployer role (identity.deployer_role) is admin through its EKS access policy only:
    any other role's cluster-admin association still fails, and so does an RBAC binding of
    the deployer's name."""
    for principal in (
        "arn:aws:iam::123456789012:role/tkestack-break-glass",
        "arn:aws:iam::123456789012:role/tkestack-deployer",
    ):
        assert findings_of(policy, [admin_association(principal)]) == []
    other = admin_association("arn:aws:iam::123456789012:role/tkestack-deployer-2")
    assert findings_of(policy, [other])
    binding = res(
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        "deployer",
        {
            "metadata": {"name": "deployer"},
            "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [
                {"kind": "User", "name": "arn:aws:iam::123456789012:role/tkestack-deployer"}
            ],
        },
    )
    assert findings_of("rbac-no-cluster-admin", [binding])


def scanning_configuration(region: str | None = None) -> Subject:
    props: dict[str, object] = {
        "scanType": "BASIC",
        "rules": [
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}],
            }
        ],
    }
    if region is not None:
        props["region"] = region
    return res(
        "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "scanning", props
    )


def test_registry_scanning_configuration_covers_templates_of_its_own_region_only() -> None:
    """The pull-through cache template (provider in us-east-1) is scanned by a configuration
    of us-east-1, not by one of another region; repositories without scanOnPush likewise."""
    template = res(
        "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
        "cache-template",
        {"prefix": "ROOT", "appliedFors": ["PULL_THROUGH_CACHE"]},
    )
    unscanned = res("aws:ecr/repository:Repository", "repo", {"name": "team/app"})
    policy = "registry-scan-on-push"
    assert len(findings_of(policy, [template, unscanned])) == 2
    assert findings_of(policy, [template, unscanned, scanning_configuration()]) == []
    elsewhere = scanning_configuration("eu-central-1")
    assert len(findings_of(policy, [template, unscanned, elsewhere])) == 2
    assert findings_of(policy, [template, unscanned, scanning_configuration("us-east-1")]) == []


def central_service(
    app: str = "prometheus",
    kind: str = "LoadBalancer",
    annotations: dict[str, str] | None = None,
    source_ranges: list[str] | None = None,
) -> Subject:
    spec: dict[str, object] = {"type": kind, "selector": {"app.kubernetes.io/name": app}}
    if source_ranges is not None:
        spec["loadBalancerSourceRanges"] = source_ranges
    metadata = {"name": f"{app}-central", "namespace": "monitoring"}
    return res(
        "kubernetes:core/v1:Service",
        f"{app}-central",
        {"metadata": {**metadata, "annotations": annotations or {}}, "spec": spec},
    )


@pytest.mark.parametrize("app", ["prometheus", "alertmanager", "loki"])
def test_unauthenticated_apis_behind_services_stay_internal_and_source_limited(app: str) -> None:
    policy = "prometheus-not-public"
    pool = {"metallb.io/address-pool": "dc-internal"}
    ok = central_service(app, annotations=pool, source_ranges=["10.30.0.0/16"])
    assert findings_of(policy, [ok]) == []
    assert findings_of(policy, [central_service(app, source_ranges=["10.30.0.0/16"])])
    assert findings_of(policy, [central_service(app, annotations=pool)])
    assert findings_of(policy, [central_service(app, kind="NodePort")])
    assert findings_of(policy, [central_service(app, kind="ClusterIP")]) == []
    # Other apps' Services are the internal-load-balancers policy's business, not this one's.
    assert findings_of(policy, [central_service("web")]) == []


def test_the_authenticated_loki_gateway_may_be_public_and_only_it() -> None:
    """The receivers (Loki gateway pods: TLS and basic auth, checked on the release by
    `loki-gateway-authenticated`) may sit behind a public load balancer; a Service selecting
    Loki's single binary may not."""
    policy = "prometheus-not-public"
    selector = {"app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki"}
    spec = {"type": "LoadBalancer", "loadBalancerSourceRanges": ["0.0.0.0/0"]}

    def service(component: str) -> Subject:
        return res(
            "kubernetes:core/v1:Service",
            f"receiver-{component}",
            {
                "metadata": {"name": "r", "namespace": "logging"},
                "spec": {
                    **spec,
                    "selector": {**selector, "app.kubernetes.io/component": component},
                },
            },
        )

    assert findings_of(policy, [service("gateway")]) == []
    assert findings_of(policy, [service("single-binary")])


def harbor_project(**props) -> Subject:
    return res(
        "harbor:index/project:Project",
        "ml-project",
        {"name": "ml", "public": False, "vulnerabilityScanning": True, **props},
    )


def harbor_project_rules(project: Subject) -> list[Subject]:
    """The immutable tag rule and retention policy of `project`, created after it."""
    return [
        res(
            "harbor:index/immutableTagRule:ImmutableTagRule",
            "ml-immutable-tags",
            {"projectId": "7", "repoMatching": "**", "tagMatching": "**"},
            dependencies=(project.urn,),
        ),
        res(
            "harbor:index/retentionPolicy:RetentionPolicy",
            "ml-retention",
            {"scope": "7", "schedule": "Daily", "rules": [{"mostRecentlyPushed": 50}]},
            dependencies=(project.urn,),
        ),
    ]


HARBOR_RULES = (
    "registry-immutable-tags",
    "registry-scan-on-push",
    "registry-not-public",
    "registry-lifecycle-policy",
)


def test_harbor_projects_follow_the_registry_rules() -> None:
    project = harbor_project()
    for policy in HARBOR_RULES:
        assert findings_of(policy, [project, *harbor_project_rules(project)]) == [], policy
    assert findings_of("registry-immutable-tags", [project]) == [
        "Harbor project has no immutable tag rule"
    ]
    assert findings_of("registry-lifecycle-policy", [project]) == [
        "Harbor project has no retention policy: images are kept forever"
    ]
    assert findings_of("registry-not-public", [harbor_project(public=True)])
    assert findings_of("registry-scan-on-push", [harbor_project(vulnerabilityScanning=False)])
    # A disabled rule does not count.
    rule, retention = harbor_project_rules(project)
    off = dataclasses.replace(rule, props={**rule.props, "disabled": True})
    assert findings_of("registry-immutable-tags", [project, off, retention])
    # The provider's defaults are private and scanning: unset is fine.
    bare = res("harbor:index/project:Project", "bare", {"name": "ml"})
    assert findings_of("registry-not-public", [bare]) == []
    assert findings_of("registry-scan-on-push", [bare]) == []


def test_harbor_provider_over_plain_http_is_refused() -> None:
    from policy_cases import harbor_provider

    plain_http = harbor_provider(insecure="false", url="http://registry.dc1.example.com")
    assert findings_of("registry-api-tls-verified", [plain_http]) == [
        "the Harbor provider talks to http://registry.dc1.example.com without TLS: its"
        " password travels in clear"
    ]


def tenant_in_cluster(*cloud: Subject) -> list[Subject]:
    """A tenant namespace with its default-deny policy, in the cluster component `c1` that
    also holds the `cloud` resources."""
    from policy_cases import (
        DEFAULT_DENY,
        K8S_IN_CLUSTER,
        cluster_component,
        in_namespace,
        tenant_namespace,
    )

    deny = in_namespace("kubernetes:networking.k8s.io/v1:NetworkPolicy", "deny", DEFAULT_DENY)
    return [cluster_component(), K8S_IN_CLUSTER, tenant_namespace(), deny, *cloud]


def in_c1(type_: str, name: str, props: dict) -> Subject:
    from policy_cases import CLUSTER_PARENT

    return res(type_, name, props, parent=CLUSTER_PARENT)


# The add-on's key and string value: awsdocs/amazon-eks-user-guide
# latest/ug/networking/eks-networking-add-ons.adoc ("Enable network policy"), commit 4d52b4d.
ENFORCING_CNI = '{"enableNetworkPolicy": "true"}'


@pytest.mark.parametrize(
    ("configuration", "enforced"),
    [
        (ENFORCING_CNI, True),
        (None, False),  # the add-on's default: the network policy agent is off
        ('{"enableNetworkPolicy": "false"}', False),
        ('{"enableNetworkPolicy": true}', False),  # a JSON boolean, not the string EKS reads
        ("not json", False),
    ],
)
def test_default_deny_fails_where_the_eks_cluster_does_not_enforce_it(
    configuration: str | None, enforced: bool
) -> None:
    props = {"addonName": "vpc-cni"}
    if configuration is not None:
        props["configurationValues"] = configuration
    resources = tenant_in_cluster(
        in_c1("aws:eks/cluster:Cluster", "c1-eks", {"name": "c1"}),
        in_c1("aws:eks/addon:Addon", "c1-vpc-cni", props),
    )
    findings = findings_of("tenant-namespace-default-deny", resources)
    assert (findings == []) is enforced, findings
    if not enforced:
        assert "not enforced" in findings[0]


@pytest.mark.parametrize(
    ("addon", "enforced"),
    [
        (("tencentcloud:Kubernetes/addon:Addon", {"addonName": "networkpolicy"}), True),
        (
            ("tencentcloud:Kubernetes/addonAttachment:AddonAttachment", {"name": "networkpolicy"}),
            True,
        ),
        (("tencentcloud:Kubernetes/addon:Addon", {"addonName": "cbs"}), False),
        (None, False),
    ],
)
def test_default_deny_fails_where_the_tke_cluster_has_no_network_policy_addon(
    addon: tuple[str, dict] | None, enforced: bool
) -> None:
    cloud = [in_c1("tencentcloud:Kubernetes/cluster:Cluster", "c1-tke", {"clusterName": "c1"})]
    if addon is not None:
        cloud.append(in_c1(addon[0], "c1-network-policy", addon[1]))
    findings = findings_of("tenant-namespace-default-deny", tenant_in_cluster(*cloud))
    assert (findings == []) is enforced, findings


def test_default_deny_does_not_judge_clusters_the_stack_does_not_create() -> None:
    # Attached clusters and existing_cluster: no cloud cluster resource, the owner decides.
    assert findings_of("tenant-namespace-default-deny", tenant_in_cluster()) == []


def test_a_namespace_helm_creates_needs_a_network_policy_too() -> None:
    """The GPU add-ons' namespaces have no Namespace resource (Helm creates them): their release
    stands for them, in the pinned catalog's namespaces (components/catalog/charts.yaml)."""
    from policy_cases import DEFAULT_DENY, HELM, NETWORK_POLICY_TYPE, helm, in_namespace

    from tkestack.components.addon import chart_pin
    from tkestack.policies.rules.observability import PLATFORM_NAMESPACES

    charts = ["kube-prometheus-stack", "loki", "harbor", "nvidia-device-plugin", "dcgm-exporter"]
    assert sorted(PLATFORM_NAMESPACES) == sorted({chart_pin(c).namespace for c in charts})
    release = res(
        HELM, "dcgm", {**helm("dcgm-exporter", {}, "dcgm-exporter"), "createNamespace": True}
    )
    policy = "platform-namespace-network-policy"
    assert findings_of(policy, [release]) != []
    covered = in_namespace(NETWORK_POLICY_TYPE, "np", DEFAULT_DENY, namespace="dcgm-exporter")
    assert findings_of(policy, [release, covered]) == []
    # HAMi's release lands in kube-system, which is no platform namespace
    hami = res(HELM, "hami", {**helm("hami", {}, "kube-system"), "createNamespace": True})
    assert findings_of(policy, [hami]) == []
