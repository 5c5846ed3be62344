"""Kubernetes object helpers: type tokens, pod specs, images, namespaces, Helm values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .base import Subject, get, items, mapping, walk_dicts

POD = "kubernetes:core/v1:Pod"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"

TEMPLATE_WORKLOADS = {
    "kubernetes:apps/v1:Deployment": "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
    DAEMON_SET: "spec.template.spec",
    "kubernetes:apps/v1:ReplicaSet": "spec.template.spec",
    "kubernetes:batch/v1:Job": "spec.template.spec",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template.spec",
    POD: "spec",
}
"""Where each workload type keeps its pod spec."""
WORKLOAD_TYPES = frozenset(TEMPLATE_WORKLOADS)

NAMESPACED_TYPES = frozenset(
    {
        *TEMPLATE_WORKLOADS,
        SERVICE,
        RESOURCE_QUOTA,
        LIMIT_RANGE,
        NETWORK_POLICY,
        ROLE,
        ROLE_BINDING,
        HELM_RELEASE,
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:core/v1:Secret",
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:networking.k8s.io/v1:Ingress",
        "kubernetes:policy/v1:PodDisruptionBudget",
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    }
)
"""Kinds that live in a namespace (the rule leaves CRDs alone: their scope is not known)."""

PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
ARCH_LABEL = "kubernetes.io/arch"


def namespace_of(resource: Subject) -> str:
    """The namespace an object lands in (`default` when unset, as the API server does)."""
    if resource.type == HELM_RELEASE:
        value = get(resource.props, "namespace")
    else:
        value = get(resource.props, "metadata.namespace")
    return value if isinstance(value, str) and value else "default"


def object_name(resource: Subject) -> str:
    """metadata.name, or the Pulumi name (the provider auto-names from it)."""
    value = get(resource.props, "metadata.name")
    return value if isinstance(value, str) else resource.name


def pod_spec(resource: Subject) -> Mapping[str, Any]:
    """The pod spec of a workload (`{}` when absent)."""
    path = TEMPLATE_WORKLOADS.get(resource.type)
    return mapping(get(resource.props, path)) if path else {}


def pod_template_labels(resource: Subject) -> Mapping[str, Any]:
    """The labels of a workload's pods."""
    path = TEMPLATE_WORKLOADS.get(resource.type, "")
    if path == "spec":
        return mapping(get(resource.props, "metadata.labels"))
    return mapping(get(resource.props, path.removesuffix(".spec") + ".metadata.labels"))


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(`containers[0]`-style path, container) for every container and init container."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(items(get(spec, key))):
            yield f"{key}[{index}]", mapping(container)


def container_label(path: str, container: Mapping[str, Any]) -> str:
    """`container 'web'` or the path when unnamed."""
    name = get(container, "name")
    return f"container {name!r}" if isinstance(name, str) else path


def images_of_workload(resource: Subject) -> list[tuple[str, str]]:
    """(where, image) for each container of a workload."""
    found = []
    for path, container in containers(pod_spec(resource)):
        image = get(container, "image")
        if isinstance(image, str):
            found.append((container_label(path, container), image))
    return found


def images_of_helm_values(values: Any) -> list[tuple[str, str, bool]]:
    """(values path, image reference, explicit registry) found in Helm values.

    Recognises the common chart conventions: `image: "repo:tag"` and
    `image: {registry, repository, tag, digest}`. A chart's own defaults are invisible here,
    so an image without a registry is reported with `explicit=False`.
    """
    found: list[tuple[str, str, bool]] = []
    for path, node in walk_dicts(values):
        image = node.get("image")
        where = f"values.{path}.image" if path else "values.image"
        if isinstance(image, str) and image:
            found.append((where, image, "/" in image))
        elif isinstance(image, Mapping):
            repository = image.get("repository") or image.get("name")
            if not isinstance(repository, str) or not repository:
                continue
            registry = image.get("registry")
            reference = (
                f"{registry}/{repository}" if isinstance(registry, str) and registry else repository
            )
            tag = image.get("tag")
            digest = image.get("digest") or image.get("sha")
            if isinstance(digest, str) and digest:
                reference += digest if digest.startswith("@") else "@" + digest
            elif isinstance(tag, str | int | float) and str(tag):
                reference += f":{tag}"
            else:
                reference += ":<chart default>"
            found.append((where, reference, bool(registry) or _has_host(repository)))
    return found


def _has_host(reference: str) -> bool:
    first = reference.split("/", 1)[0]
    return "/" in reference and ("." in first or ":" in first or first == "localhost")


def image_registry(reference: str) -> str:
    """The registry host of an image reference (`docker.io` when none is named)."""
    if _has_host(reference):
        return reference.split("/", 1)[0]
    return "docker.io"


def image_repository(reference: str) -> str:
    """`registry/path` of a reference without tag or digest, registry made explicit."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name if _has_host(name) else f"docker.io/{name}"


def image_tag(reference: str) -> str | None:
    """The tag (None when pinned by digest or untagged)."""
    if "@" in reference:
        return None
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def is_internal_service(annotations: Mapping[str, Any]) -> bool:
    """Whether Service/Ingress annotations ask the cloud for an internal load balancer."""
    lowered = {str(k).lower(): str(v).lower() for k, v in annotations.items()}
    return (
        lowered.get("service.beta.kubernetes.io/aws-load-balancer-scheme") == "internal"
        or lowered.get("service.beta.kubernetes.io/aws-load-balancer-internal") == "true"
        or lowered.get("alb.ingress.kubernetes.io/scheme") == "internal"
        or bool(lowered.get("service.kubernetes.io/qcloud-loadbalancer-internal-subnetid"))
        or bool(lowered.get("service.kubernetes.io/tke-existed-lbid"))
        or lowered.get("service.beta.kubernetes.io/azure-load-balancer-internal") == "true"
        or lowered.get("networking.gke.io/load-balancer-type") == "internal"
        or "internal" in lowered.get("metallb.universe.tf/address-pool", "")
        or "internal" in lowered.get("metallb.io/address-pool", "")
    )


def exposed_services_in_values(values: Any) -> list[str]:
    """Paths of LoadBalancer/NodePort services and ingresses in Helm values that are not
    internal (`grafana.service`, `prometheus.ingress`, Harbor's `expose`)."""
    exposed = []
    for path, node in walk_dicts(values):
        kind = node.get("type")
        annotations = {
            # Harbor keeps them under expose.loadBalancer.annotations
            **mapping(mapping(node.get("loadBalancer")).get("annotations")),
            **mapping(node.get("annotations")),
        }
        lowered = kind.lower() if isinstance(kind, str) else ""
        if lowered == "nodeport" or (
            lowered == "loadbalancer" and not is_internal_service(annotations)
        ):
            exposed.append(f"{path or 'values'} (type {kind})")
        if (
            path.split(".")[-1] == "ingress"
            and node.get("enabled") is True
            and not is_internal_service(annotations)
            and not _internal_class(node)
        ):
            exposed.append(f"{path} (ingress)")
    return exposed


def _internal_class(ingress: Mapping[str, Any]) -> bool:
    name = ingress.get("ingressClassName") or ingress.get("className") or ""
    return isinstance(name, str) and "internal" in name
