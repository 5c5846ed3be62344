"""RBAC and tenancy rules: least privilege, and a bounded, isolated home per tenant.

Tenant namespaces are the ones labelled with the tenant label (config `tenantLabel`); each
needs Pod Security labels, a ResourceQuota, a LimitRange and a default-deny NetworkPolicy in
the same cluster.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ...components.catalog import tke as tke_catalog
from .base import (
    EKS_CLUSTER,
    TKE_CLUSTER,
    Rule,
    Stack,
    Subject,
    get,
    items,
    mapping,
    matches,
    schema,
    string_list,
    strings,
)
from .kube import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    LIMIT_RANGE,
    NAMESPACE,
    NAMESPACED_TYPES,
    NETWORK_POLICY,
    PSS_ENFORCE,
    RESOURCE_QUOTA,
    ROLE,
    ROLE_BINDING,
    namespace_of,
    object_name,
)

EKS_ADDON = "aws:eks/addon:Addon"
TKE_ADDON = "tencentcloud:Kubernetes/addon:Addon"
TKE_ADDON_ATTACHMENT = "tencentcloud:Kubernetes/addonAttachment:AddonAttachment"
ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
ESCALATION_VERBS = ("bind", "escalate", "impersonate")
READ_VERBS = frozenset({"get", "list", "watch", "*"})
ROLE_TYPES = frozenset({ROLE, CLUSTER_ROLE})
BINDING_TYPES = frozenset({ROLE_BINDING, CLUSTER_ROLE_BINDING})

BREAK_GLASS = {
    "breakGlassSubjects": string_list(
        [
            "tkestack-break-glass",
            "*:tkestack-break-glass",
            "arn:aws:iam::*:role/tkestack-break-glass",
        ],
        "Subjects (RBAC subject names, IAM principal ARNs; shell patterns) that may hold"
        " cluster-admin.",
    ),
    "deployerSubjects": string_list(
        ["arn:aws:iam::*:role/tkestack-deployer"],
        "IAM role ARNs (shell patterns) of the role Pulumi acts as inside EKS clusters"
        " (`identity.deployer_role`): the one other admin, through an explicit access entry"
        " with AmazonEKSClusterAdminPolicy (never an RBAC binding or system:masters).",
    ),
}
ALLOWED_ROLES = {
    "allowedRoles": string_list(
        [], "Role/ClusterRole names exempt from this rule (reviewed exceptions)."
    )
}


def _allowed(resource: Subject, config: Mapping[str, Any]) -> bool:
    return matches(object_name(resource), strings(config.get("allowedRoles")))


def _cluster_admin(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    allowed = strings(config.get("breakGlassSubjects"))
    if resource.type in BINDING_TYPES:
        if get(resource.props, "roleRef.name") != "cluster-admin":
            return
        for subject in items(get(resource.props, "subjects")):
            name = str(get(subject, "name", ""))
            if not matches(name, allowed):
                yield f"{get(subject, 'kind', 'subject')} {name!r} is bound to cluster-admin"
    elif resource.type == ACCESS_POLICY_ASSOCIATION:
        policy = str(get(resource.props, "policyArn", ""))
        principal = str(get(resource.props, "principalArn", ""))
        admins = [*allowed, *strings(config.get("deployerSubjects"))]
        if policy.endswith("/" + CLUSTER_ADMIN_POLICY) and not matches(principal, admins):
            yield f"{principal} gets {CLUSTER_ADMIN_POLICY}"
    else:
        groups = strings(get(resource.props, "kubernetesGroups"))
        principal = str(get(resource.props, "principalArn", ""))
        if "system:masters" in groups and not matches(principal, allowed):
            yield f"{principal} is mapped into system:masters"


def _rules(resource: Subject) -> list[tuple[int, set[str], set[str], set[str]]]:
    found = []
    for index, rule in enumerate(items(get(resource.props, "rules"))):
        found.append(
            (
                index,
                set(strings(get(rule, "verbs"))),
                set(strings(get(rule, "resources"))),
                set(strings(get(rule, "apiGroups"))),
            )
        )
    return found


def _wildcards(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _allowed(resource, config):
        return
    for index, verbs, resources, groups in _rules(resource):
        fields = [
            name
            for name, values in (("verbs", verbs), ("resources", resources), ("apiGroups", groups))
            if "*" in values
        ]
        if fields:
            yield f"rules[{index}] uses '*' in {', '.join(fields)}"


def _escalation(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _allowed(resource, config):
        return
    for index, verbs, _, _ in _rules(resource):
        found = [verb for verb in ESCALATION_VERBS if verb in verbs]
        if found:
            yield f"rules[{index}] grants {', '.join(found)} (privilege escalation)"


def _secret_reads(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _allowed(resource, config):
        return
    if resource.type == CLUSTER_ROLE:
        broad = READ_VERBS
    elif config.get("forbidNamespaceList"):
        broad = frozenset({"list", "watch", "*"})
    else:
        return  # a namespace's admins reading its secrets is the tenancy design (tenant.md)
    for index, verbs, resources, groups in _rules(resource):
        core_group = not groups or bool({"", "*"} & groups)
        if not ({"secrets", "*"} & resources) or not core_group:
            continue
        granted = sorted(verbs & broad)
        if granted:
            scope = "in every namespace" if resource.type == CLUSTER_ROLE else "in its namespace"
            yield f"rules[{index}] can {'/'.join(granted)} all secrets {scope}"


def _access_scope(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    policy = str(get(resource.props, "policyArn", "")).rsplit("/", 1)[-1]
    principal = str(get(resource.props, "principalArn", ""))
    admins = [*strings(config.get("breakGlassSubjects")), *strings(config.get("deployerSubjects"))]
    if matches(principal, admins):
        return
    if policy in strings(config.get("clusterScopedPolicies")):
        return
    if get(resource.props, "accessScope.type") == "cluster":
        yield f"{principal} gets {policy} on the whole cluster; scope it to namespaces"


def _tenant_namespaces(stack: Stack, config: Mapping[str, Any]) -> list[tuple[Subject, str]]:
    label = str(config.get("tenantLabel"))
    found = []
    for namespace in stack.of_type(NAMESPACE):
        if label in mapping(get(namespace.props, "metadata.labels")):
            found.append((namespace, object_name(namespace)))
    return found


def _pss_labels(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    labels = mapping(get(resource.props, "metadata.labels"))
    if str(config.get("tenantLabel")) not in labels:
        return
    level = labels.get(PSS_ENFORCE)
    allowed = strings(config.get("allowedLevels"))
    if level not in allowed:
        yield (
            f"tenant namespace enforces Pod Security level {level or 'none'}"
            f" ({PSS_ENFORCE}; allowed: {', '.join(allowed)})"
        )


def _in_namespace(stack: Stack, type_: str) -> dict[tuple[str, str], list[Subject]]:
    found: dict[tuple[str, str], list[Subject]] = {}
    for resource in stack.of_type(type_):
        found.setdefault((stack.scope(resource), namespace_of(resource)), []).append(resource)
    return found


def _quota(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    quotas = _in_namespace(stack, RESOURCE_QUOTA)
    for namespace, name in _tenant_namespaces(stack, config):
        if (stack.scope(namespace), name) not in quotas:
            yield namespace.urn, f"tenant namespace {name} has no ResourceQuota"


def _limit_range(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    ranges = _in_namespace(stack, LIMIT_RANGE)
    for namespace, name in _tenant_namespaces(stack, config):
        if (stack.scope(namespace), name) not in ranges:
            yield namespace.urn, f"tenant namespace {name} has no LimitRange"


def _is_default_deny(policy: Subject, direction: str) -> bool:
    selector = mapping(get(policy.props, "spec.podSelector"))
    if any(selector.get(key) for key in ("matchLabels", "matchExpressions")):
        return False
    types = strings(get(policy.props, "spec.policyTypes"))
    rules = items(get(policy.props, f"spec.{direction.lower()}"))
    return direction in types and not rules


def _vpc_cni_enforces(addon: Subject) -> bool:
    """Whether an EKS `vpc-cni` add-on runs its network policy agent: `configurationValues`
    (a JSON object) with `enableNetworkPolicy: "true"` (a string, as the EKS user guide writes
    it). Anything else, unreadable JSON included, enforces nothing."""
    raw = get(addon.props, "configurationValues")
    if not isinstance(raw, str):
        return False
    try:
        values = json.loads(raw)
    except ValueError:
        return False
    return isinstance(values, dict) and values.get("enableNetworkPolicy") == "true"


def _unenforced_clusters(stack: Stack, config: Mapping[str, Any]) -> dict[str, str]:
    """{cluster scope: why its NetworkPolicies are not enforced} for the EKS and TKE clusters
    the stack creates. Clusters it only reads or attaches are not judged: their owner decides."""
    found: dict[str, str] = {}
    cni: dict[str, list[Subject]] = {}
    for addon in stack.of_type(EKS_ADDON):
        if get(addon.props, "addonName") == "vpc-cni":
            cni.setdefault(stack.scope(addon), []).append(addon)
    for cluster in stack.of_type(EKS_CLUSTER):
        scope = stack.scope(cluster)
        addons = cni.get(scope, [])
        if not addons:
            found[scope] = "its EKS cluster has no vpc-cni add-on"
        elif not any(_vpc_cni_enforces(addon) for addon in addons):
            found[scope] = (
                'its EKS vpc-cni add-on lacks configurationValues {"enableNetworkPolicy": "true"}'
            )
    wanted = strings(config.get("tkeNetworkPolicyAddons"))
    enforcing: set[str] = set()
    for addon in stack.of_type(TKE_ADDON, TKE_ADDON_ATTACHMENT):
        name = (
            get(addon.props, "addonName") if addon.type == TKE_ADDON else get(addon.props, "name")
        )
        if str(name) in wanted:
            enforcing.add(stack.scope(addon))
    for cluster in stack.of_type(TKE_CLUSTER):
        scope = stack.scope(cluster)
        if scope not in enforcing:
            found[scope] = f"its TKE cluster has no NetworkPolicy add-on ({', '.join(wanted)})"
    return found


def _default_deny(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    policies = _in_namespace(stack, NETWORK_POLICY)
    directions = ["Ingress", "Egress"] if config.get("requireEgress") else ["Ingress"]
    unenforced = _unenforced_clusters(stack, config)
    for namespace, name in _tenant_namespaces(stack, config):
        found = policies.get((stack.scope(namespace), name), [])
        for direction in directions:
            if not any(_is_default_deny(policy, direction) for policy in found):
                yield (
                    namespace.urn,
                    (f"tenant namespace {name} has no default-deny {direction} NetworkPolicy"),
                )
        why = unenforced.get(stack.scope(namespace))
        if why is not None:
            # A NetworkPolicy nothing enforces isolates nothing.
            yield namespace.urn, f"tenant namespace {name}: NetworkPolicies are not enforced, {why}"


def _no_default_namespace(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if namespace_of(resource) == "default":
        yield "object lands in the default namespace (namespace unset or 'default')"


TENANT_LABEL_CONFIG = {
    "tenantLabel": schema("string", "tkestack.io/tenant", "Label of tenant namespaces.")
}
"""Config of the tenant-namespace policies: which label marks a tenant's namespaces."""

RULES = [
    Rule(
        name="rbac-no-cluster-admin",
        group="rbac_tenancy",
        description="Only the break-glass role (and, on EKS, the deployer role's access entry)"
        " holds cluster-admin.",
        severity="critical",
        anchor="CIS EKS 4.1.1; Kubernetes CIS 5.1.1",
        remediation="Grant tenant roles instead; only the break-glass and deployer roles are"
        " cluster-admin.",
        check=_cluster_admin,
        types=frozenset({*BINDING_TYPES, ACCESS_POLICY_ASSOCIATION, ACCESS_ENTRY}),
        config=BREAK_GLASS,
    ),
    Rule(
        name="rbac-no-wildcards",
        group="rbac_tenancy",
        description="Roles name their verbs, resources and API groups: no '*'.",
        severity="high",
        anchor="CIS EKS 4.1.3; Kubernetes CIS 5.1.3",
        remediation="List the verbs and resources the role needs.",
        check=_wildcards,
        types=ROLE_TYPES,
        config=ALLOWED_ROLES,
    ),
    Rule(
        name="rbac-no-escalation-verbs",
        group="rbac_tenancy",
        description="Roles do not grant bind, escalate or impersonate.",
        severity="high",
        anchor="CIS EKS 4.1.8; Kubernetes CIS 5.1.8",
        remediation="Remove bind/escalate/impersonate from the role.",
        check=_escalation,
        types=ROLE_TYPES,
        config=ALLOWED_ROLES,
    ),
    Rule(
        name="rbac-no-broad-secret-read",
        group="rbac_tenancy",
        description="No role reads secrets cluster-wide (get/list/watch in a ClusterRole);"
        " optionally no namespace-wide list/watch either.",
        severity="high",
        anchor="CIS EKS 4.1.2; Kubernetes CIS 5.1.2",
        remediation="Grant get on named secrets (resourceNames) instead.",
        check=_secret_reads,
        types=ROLE_TYPES,
        config={
            **ALLOWED_ROLES,
            "forbidNamespaceList": schema(
                "boolean",
                False,
                "Also reject Roles that list/watch every secret of their namespace (tenant"
                " admins may, by the tenancy design).",
            ),
        },
    ),
    Rule(
        name="eks-access-namespace-scoped",
        group="rbac_tenancy",
        description="EKS access policies are namespace-scoped except view, break-glass and the"
        " deployer role.",
        severity="medium",
        anchor="EKS Best Practices: access entries and policies",
        remediation="Use accessScope type namespace with the tenant's namespaces.",
        check=_access_scope,
        types=frozenset({ACCESS_POLICY_ASSOCIATION}),
        config={
            **BREAK_GLASS,
            "clusterScopedPolicies": string_list(
                ["AmazonEKSViewPolicy"], "Access policies allowed at cluster scope."
            ),
        },
    ),
    Rule(
        name="tenant-namespace-pod-security",
        group="rbac_tenancy",
        description="Tenant namespaces enforce a Pod Security Standards level.",
        severity="high",
        anchor="Pod Security Standards; CIS EKS 4.2",
        remediation="Keep the tenant's `pod_security` level (restricted, or baseline with a"
        " reason).",
        check=_pss_labels,
        types=frozenset({NAMESPACE}),
        config={
            **TENANT_LABEL_CONFIG,
            "allowedLevels": string_list(["restricted", "baseline"], "Allowed enforce levels."),
        },
    ),
    Rule(
        name="tenant-namespace-quota",
        group="rbac_tenancy",
        description="Every tenant namespace has a ResourceQuota.",
        severity="medium",
        anchor="Kubernetes multi-tenancy guide: resource quotas",
        remediation="Keep the tenant's `quota` (the Tenant component creates it).",
        check=_quota,
        stack=True,
        config=TENANT_LABEL_CONFIG,
    ),
    Rule(
        name="tenant-namespace-limit-range",
        group="rbac_tenancy",
        description="Every tenant namespace has a LimitRange (default requests and limits).",
        severity="low",
        anchor="Kubernetes multi-tenancy: limit ranges",
        remediation="The Tenant component creates a LimitRange per namespace.",
        check=_limit_range,
        stack=True,
        config=TENANT_LABEL_CONFIG,
    ),
    Rule(
        name="tenant-namespace-default-deny",
        group="rbac_tenancy",
        description="Every tenant namespace has a default-deny NetworkPolicy, and its cluster"
        " enforces NetworkPolicies (EKS: vpc-cni with enableNetworkPolicy; TKE: the"
        " NetworkPolicy add-on).",
        severity="high",
        anchor="CIS EKS 4.3.2; Kubernetes CIS 5.3.2",
        remediation="The Tenant component creates a default-deny policy per namespace; the"
        " Cluster component turns enforcement on (EKS vpc-cni configuration values, TKE"
        " NetworkPolicy add-on).",
        check=_default_deny,
        stack=True,
        config={
            **TENANT_LABEL_CONFIG,
            "requireEgress": schema("boolean", False, "Also require default-deny egress."),
            "tkeNetworkPolicyAddons": string_list(
                [tke_catalog.NETWORK_POLICY_ADDON],
                "TKE add-on names (tencentcloud_kubernetes_addon addon_name, or addon"
                " attachment name) that enforce NetworkPolicies. Unverified default: see"
                " docs/upgrade-log.md.",
            ),
        },
    ),
    Rule(
        name="no-default-namespace",
        group="rbac_tenancy",
        description="Nothing is deployed into the default namespace.",
        severity="low",
        anchor="CIS EKS 4.6.3; Kubernetes CIS 5.7.4",
        remediation="Set metadata.namespace (Helm: namespace) explicitly.",
        check=_no_default_namespace,
        types=NAMESPACED_TYPES,
    ),
]
