"""Observability rules: dashboards and metrics stay inside the network; data has retention.

Prometheus, Alertmanager and Loki have no authentication of their own: a Service in front
of them (`app.kubernetes.io/name` selector) is never a NodePort, and a LoadBalancer one is
internal and admits only `loadBalancerSourceRanges`. The one exception is the Loki chart's
gateway (`app.kubernetes.io/component: gateway`), the central receivers: a Loki release
running it must serve TLS with basic auth (`loki-gateway-authenticated`). Every platform
namespace (`monitoring`, `logging`, `harbor`, the GPU add-ons') has a NetworkPolicy.

kube-prometheus-stack keeps Prometheus data for 10 days unless `prometheusSpec.retention` is
set; a CloudWatch log group without `retentionInDays` keeps logs forever (and bills for
them); a CLS topic's `period` is its retention in days.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .base import (
    Rule,
    Stack,
    Subject,
    get,
    mapping,
    number,
    plain,
    schema,
    string_list,
    strings,
)
from .kube import (
    HELM_RELEASE,
    NAMESPACE,
    NETWORK_POLICY,
    SERVICE,
    exposed_services_in_values,
    is_internal_service,
    namespace_of,
    object_name,
)

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CLS_TOPIC = "tencentcloud:Cls/topic:Topic"
STACK_CHART = "kube-prometheus-stack"
UNAUTHENTICATED_APPS = frozenset({"prometheus", "alertmanager", "loki"})
"""`app.kubernetes.io/name` of pods whose HTTP APIs take no credentials."""
DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
DAYS_PER_UNIT = {
    "ms": 1 / 86_400_000,
    "s": 1 / 86_400,
    "m": 1 / 1440,
    "h": 1 / 24,
    "d": 1,
    "w": 7,
    "y": 365,
}


def chart_name(release: Subject) -> str:
    """`kube-prometheus-stack` from `prometheus-community/kube-prometheus-stack` or an OCI
    reference."""
    chart = get(release.props, "chart")
    return str(chart).rstrip("/").rsplit("/", 1)[-1] if isinstance(chart, str) else ""


def _values(release: Subject) -> Mapping[str, Any]:
    values = plain(get(release.props, "values"))
    return values if isinstance(values, Mapping) else {}


def _component_values(release: Subject, component: str) -> Mapping[str, Any] | None:
    """Values of one component (`grafana`, `prometheus`) of a monitoring release."""
    chart = chart_name(release)
    values = _values(release)
    if chart == STACK_CHART:
        found = values.get(component)
        return found if isinstance(found, Mapping) else {}
    if chart == component:
        return values
    return None


def _service_exposure(resource: Subject) -> Iterator[str]:
    """A Service selecting unauthenticated pods: no NodePort, an internal load balancer with
    source ranges."""
    selector = mapping(get(resource.props, "spec.selector"))
    app = selector.get("app.kubernetes.io/name", selector.get("app"))
    if app not in UNAUTHENTICATED_APPS:
        return
    if app == "loki" and selector.get("app.kubernetes.io/component") == "gateway":
        return  # the authenticated receivers: `loki-gateway-authenticated` checks the release
    kind = get(resource.props, "spec.type", "ClusterIP")
    if kind == "NodePort":
        yield f"{app} (no authentication) is reachable on a port of every node (NodePort)"
    elif kind == "LoadBalancer":
        if not is_internal_service(mapping(get(resource.props, "metadata.annotations"))):
            yield f"{app} (no authentication) is behind a load balancer not marked internal"
        if not strings(get(resource.props, "spec.loadBalancerSourceRanges")):
            yield (
                f"{app} (no authentication) is behind a load balancer that admits every source"
                " (spec.loadBalancerSourceRanges is empty)"
            )


def _not_public(component: str, *extra: str) -> Any:
    def check(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
        if resource.type == SERVICE:
            yield from _service_exposure(resource)
            return
        for name in (component, *extra):
            values = _component_values(resource, name)
            if values is None:
                continue
            for where in exposed_services_in_values(values):
                yield f"{name} is reachable from outside the VPC: {where}"

    return check


def parse_days(duration: Any) -> float | None:
    """Days in a Prometheus duration (`30d`, `12h`, `1y`); None when not one."""
    match = DURATION.match(str(duration)) if duration is not None else None
    return int(match.group(1)) * DAYS_PER_UNIT[match.group(2)] if match else None


def _prometheus_retention(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    chart = chart_name(resource)
    values = _values(resource)
    if chart == STACK_CHART:
        retention = get(values, "prometheus.prometheusSpec.retention")
        where = "prometheus.prometheusSpec.retention"
    elif chart == "prometheus":
        retention = get(values, "server.retention")
        where = "server.retention"
    else:
        return
    minimum = number(config.get("minDays")) or 0
    days = parse_days(retention)
    if retention is None:
        yield f"Prometheus retention is not set ({where}; the chart default is 10d)"
    elif days is None:
        yield f"Prometheus retention {retention!r} is not a duration"
    elif days < minimum:
        yield f"Prometheus keeps {retention} of metrics (at least {minimum:g}d here)"


def _log_retention(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    key = "retentionInDays" if resource.type == LOG_GROUP else "period"
    days = number(get(resource.props, key))
    minimum = number(config.get("minDays")) or 0
    maximum = number(config.get("maxDays")) or 0
    if not days:
        yield f"log retention is not set ({key}: logs are kept, and billed, forever)"
    elif days < minimum:
        yield f"logs are kept {days:g} days (at least {minimum:g} here)"
    elif maximum and days > maximum:
        yield f"logs are kept {days:g} days (at most {maximum:g} here)"


def _gateway_authenticated(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if chart_name(resource) != "loki":
        return
    gateway = mapping(_values(resource).get("gateway"))
    if gateway.get("enabled", True) is False:  # the chart's default is enabled
        return
    if get(gateway, "basicAuth.enabled") is not True:
        yield "the Loki gateway runs without basic auth (gateway.basicAuth.enabled)"
    if get(gateway, "nginxConfig.ssl") is not True:
        yield "the Loki gateway serves plain HTTP (gateway.nginxConfig.ssl)"


def _platform_network_policies(
    stack: Stack, config: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    wanted = set(strings(config.get("namespaces")))
    covered = {
        (stack.scope(policy), namespace_of(policy)) for policy in stack.of_type(NETWORK_POLICY)
    }
    reported: set[tuple[str, str]] = set()
    for namespace in stack.of_type(NAMESPACE):
        name = object_name(namespace)
        key = (stack.scope(namespace), name)
        if name in wanted and key not in covered and key not in reported:
            reported.add(key)
            yield (namespace.urn, f"platform namespace {name} has no NetworkPolicy")
    # A namespace Helm creates (`createNamespace`, the GPU add-ons') has no Namespace resource:
    # its release stands for it.
    for release in stack.of_type(HELM_RELEASE):
        name = namespace_of(release)
        key = (stack.scope(release), name)
        if (
            name in wanted
            and get(release.props, "createNamespace") is True
            and key not in covered
            and key not in reported
        ):
            reported.add(key)
            yield (release.urn, f"platform namespace {name} has no NetworkPolicy")


PLATFORM_NAMESPACES = ["monitoring", "logging", "harbor", "nvidia-device-plugin", "dcgm-exporter"]
"""The namespaces of the platform's charts (components/catalog/charts.yaml `namespace` of
kube-prometheus-stack, loki and fluent-bit, harbor, nvidia-device-plugin, dcgm-exporter; HAMi
lives in kube-system and the GPU operator's namespace is not covered yet): a test keeps this
list equal to the catalog's."""


RULES = [
    Rule(
        name="grafana-not-public",
        group="observability",
        description="Grafana is not exposed outside the VPC.",
        severity="high",
        anchor="tkestack (internal-only dashboards)",
        remediation="Keep Grafana's service ClusterIP or behind an internal load balancer.",
        check=_not_public("grafana"),
        types=frozenset({HELM_RELEASE}),
    ),
    Rule(
        name="prometheus-not-public",
        group="observability",
        description="Prometheus, Alertmanager and Loki are not exposed outside the VPC: a load"
        " balancer in front of them is internal and admits only given source ranges.",
        severity="high",
        anchor="tkestack (unauthenticated metrics APIs stay internal)",
        remediation="Keep the services ClusterIP, or behind an internal load balancer with"
        " loadBalancerSourceRanges (docs/components/observability.md).",
        check=_not_public("prometheus", "alertmanager"),
        types=frozenset({HELM_RELEASE, SERVICE}),
    ),
    Rule(
        name="prometheus-retention-set",
        group="observability",
        description="Prometheus retention is set explicitly and long enough for the tier.",
        severity="low",
        anchor="tkestack",
        remediation="Set `observability.metrics_retention_days`.",
        check=_prometheus_retention,
        types=frozenset({HELM_RELEASE}),
        config={"minDays": schema("integer", 1, "Shortest allowed metrics retention (days).")},
    ),
    Rule(
        name="log-retention-set",
        group="observability",
        description="Log groups/topics have a retention within the tier's bounds.",
        severity="low",
        anchor="checkov CKV_AWS_66",
        remediation="Set `observability.logs_retention_days`.",
        check=_log_retention,
        types=frozenset({LOG_GROUP, CLS_TOPIC}),
        config={
            "minDays": schema("integer", 1, "Shortest allowed log retention (days)."),
            "maxDays": schema("integer", 3653, "Longest allowed log retention (days)."),
        },
    ),
    Rule(
        name="loki-gateway-authenticated",
        group="observability",
        description="A Loki gateway (the receivers peers push to) serves TLS with basic auth.",
        severity="high",
        anchor="tkestack (receivers exposed only with TLS and per-cluster credentials)",
        remediation="Keep the receivers the Observability component builds"
        " (gateway.nginxConfig.ssl, gateway.basicAuth), or disable the gateway.",
        check=_gateway_authenticated,
        types=frozenset({HELM_RELEASE}),
    ),
    Rule(
        name="platform-namespace-network-policy",
        group="observability",
        description="Every platform namespace (monitoring, logging, harbor, the GPU add-ons')"
        " has a NetworkPolicy.",
        severity="medium",
        anchor="CIS EKS 4.3.2; Kubernetes CIS 5.3.2",
        remediation="The Observability, GpuStack and Registry components create them; install"
        " these add-ons through them.",
        check=_platform_network_policies,
        stack=True,
        config={
            "namespaces": string_list(
                PLATFORM_NAMESPACES, "Platform namespaces that must have a NetworkPolicy."
            )
        },
    ),
]
