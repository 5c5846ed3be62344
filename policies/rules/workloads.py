"""Workload rules: Pod Security Standards controls, resources, GPU placement, architecture
pinning and internal load balancers.

Missing securityContext fields count as violations where the Kubernetes default is unsafe:
`allowPrivilegeEscalation` defaults to true, capabilities to the runtime's default set,
seccomp to Unconfined, and `runAsNonRoot` to whatever user the image declares
(https://kubernetes.io/docs/concepts/security/pod-security-standards/).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .base import (
    Rule,
    Stack,
    Subject,
    boolean,
    get,
    items,
    mapping,
    plain,
    schema,
    string_list,
    strings,
)
from .kube import (
    ARCH_LABEL,
    DAEMON_SET,
    HELM_RELEASE,
    SERVICE,
    WORKLOAD_TYPES,
    container_label,
    containers,
    exposed_services_in_values,
    is_internal_service,
    namespace_of,
    pod_spec,
)
from .node_pools import EKS_NODE_GROUP, TKE_NODE_POOL, architectures

GPU_RESOURCES = ("nvidia.com/gpu", "nvidia.com/gpumem", "nvidia.com/gpucores")
GPU_TOLERATION_KEY = "nvidia.com/gpu"
SAFE_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})

EXEMPT = {
    "exemptNamespaces": string_list(
        ["kube-system"], "Namespaces of system workloads the control does not apply to."
    )
}


def _exempt(resource: Subject, config: Mapping[str, Any]) -> bool:
    return namespace_of(resource) in strings(config.get("exemptNamespaces"))


def _security(container: Mapping[str, Any], key: str, pod: Mapping[str, Any]) -> Any:
    """A container securityContext field, falling back to the pod's."""
    value = get(container, f"securityContext.{key}")
    return value if value is not None else get(pod, f"securityContext.{key}")


def _privileged(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _exempt(resource, config):
        return
    for path, container in containers(pod_spec(resource)):
        if boolean(get(container, "securityContext.privileged"), default=False):
            yield f"{container_label(path, container)} runs privileged"


def _host_namespaces(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _exempt(resource, config):
        return
    spec = pod_spec(resource)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if boolean(get(spec, key), default=False):
            yield f"pod shares the node's namespace ({key}: true)"
    for path, container in containers(spec):
        for port in items(get(container, "ports")):
            if get(port, "hostPort"):
                yield f"{container_label(path, container)} binds hostPort {get(port, 'hostPort')}"


def _host_path(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _exempt(resource, config):
        return
    for volume in items(get(pod_spec(resource), "volumes")):
        if get(volume, "hostPath") is not None:
            yield f"volume {get(volume, 'name')!r} mounts a hostPath"


def _non_root(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _exempt(resource, config):
        return
    spec = pod_spec(resource)
    for path, container in containers(spec):
        label = container_label(path, container)
        if _security(container, "runAsUser", spec) == 0:
            yield f"{label} runs as UID 0"
        elif not boolean(_security(container, "runAsNonRoot", spec), default=False):
            yield f"{label} may run as root (runAsNonRoot unset)"


def _no_escalation(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _exempt(resource, config):
        return
    for path, container in containers(pod_spec(resource)):
        value = boolean(get(container, "securityContext.allowPrivilegeEscalation"), True)
        if value:
            yield (
                f"{container_label(path, container)} allows privilege escalation"
                " (allowPrivilegeEscalation true or unset)"
            )


def _capabilities(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _exempt(resource, config):
        return
    for path, container in containers(pod_spec(resource)):
        label = container_label(path, container)
        dropped = {c.upper() for c in strings(get(container, "securityContext.capabilities.drop"))}
        if "ALL" not in dropped:
            yield f"{label} does not drop ALL capabilities"
        added = {c.upper() for c in strings(get(container, "securityContext.capabilities.add"))}
        extra = sorted(added - SAFE_CAPABILITIES)
        if extra:
            yield f"{label} adds capabilities {', '.join(extra)}"


def _seccomp(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if _exempt(resource, config):
        return
    spec = pod_spec(resource)
    pod_profile = get(spec, "securityContext.seccompProfile.type")
    for path, container in containers(spec):
        profile = get(container, "securityContext.seccompProfile.type") or pod_profile
        if profile not in ("RuntimeDefault", "Localhost"):
            yield f"{container_label(path, container)} has seccomp profile {profile or 'unset'}"


def _resources(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    required = strings(config.get("required"))
    for path, container in containers(pod_spec(resource)):
        if path.startswith("ephemeralContainers"):
            continue
        missing = [key for key in required if get(container, f"resources.{key}") is None]
        if missing:
            yield f"{container_label(path, container)} sets no {', '.join(missing)}"


def _gpu_placement(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(resource)
    wants_gpu = False
    for _, container in containers(spec):
        for section in ("limits", "requests"):
            found = mapping(get(container, f"resources.{section}"))
            if any(found.get(name) not in (None, 0, "0") for name in GPU_RESOURCES):
                wants_gpu = True
    tolerates = any(
        get(toleration, "key") == GPU_TOLERATION_KEY
        or (get(toleration, "operator") == "Exists" and get(toleration, "key") is None)
        for toleration in items(get(spec, "tolerations"))
    )
    selector = mapping(get(spec, "nodeSelector"))
    affinity = plain(get(spec, "affinity.nodeAffinity")) or {}
    gpu_label = str(config.get("gpuNodeLabel"))
    selects_gpu = gpu_label in selector or gpu_label in repr(affinity)
    if wants_gpu and not tolerates:
        yield "pod requests GPUs but does not tolerate the nvidia.com/gpu taint of GPU pools"
    if wants_gpu and not selects_gpu:
        yield f"pod requests GPUs but does not select GPU nodes ({gpu_label})"
    if tolerates and not wants_gpu and resource.type != DAEMON_SET:
        yield "pod tolerates the GPU taint without requesting GPUs (it would occupy GPU nodes)"


def _arch_pinning(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    arches: dict[str, set[str]] = {}
    for pool in stack.of_type(EKS_NODE_GROUP, TKE_NODE_POOL):
        arches.setdefault(stack.scope(pool), set()).update(architectures(pool))
    mixed = {scope for scope, found in arches.items() if len(found) > 1}
    if not mixed:
        return
    multi_arch = strings(config.get("multiArchImages"))
    for workload in stack.resources:
        if workload.type not in WORKLOAD_TYPES or stack.scope(workload) not in mixed:
            continue
        spec = pod_spec(workload)
        if ARCH_LABEL in mapping(get(spec, "nodeSelector")):
            continue
        if ARCH_LABEL in repr(plain(get(spec, "affinity.nodeAffinity")) or {}):
            continue
        images = [str(get(c, "image") or "") for _, c in containers(spec)]
        if images and all(any(image.startswith(p) for p in multi_arch) for image in images):
            continue
        yield (
            workload.urn,
            (
                "cluster mixes x86_64 and arm64 nodes, and this workload neither pins"
                f" {ARCH_LABEL} nor uses only images known to be multi-arch"
            ),
        )


def _internal_lb(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if config.get("allowPublic") or namespace_of(resource) in strings(
        config.get("publicNamespaces")
    ):
        return
    if resource.type == SERVICE:
        if get(resource.props, "spec.type") != "LoadBalancer":
            return
        if not is_internal_service(mapping(get(resource.props, "metadata.annotations"))):
            yield (
                "Service of type LoadBalancer is not marked internal, so the cloud may give it"
                " an internet-facing load balancer"
            )
        return
    for where in exposed_services_in_values(plain(get(resource.props, "values")) or {}):
        yield f"Helm values expose a service outside the VPC: {where}"


RULES = [
    Rule(
        name="pod-no-privileged",
        group="workloads",
        description="Containers do not run privileged.",
        severity="critical",
        anchor="Pod Security Standards (baseline): Privileged Containers; CIS EKS 4.2.1",
        remediation="Remove securityContext.privileged.",
        check=_privileged,
        types=WORKLOAD_TYPES,
        config=EXEMPT,
    ),
    Rule(
        name="pod-no-host-namespaces",
        group="workloads",
        description="Pods do not share the node's network, PID or IPC namespaces or ports.",
        severity="high",
        anchor="Pod Security Standards (baseline): Host Namespaces, Host Ports; CIS EKS 4.2.2-4",
        remediation="Remove hostNetwork/hostPID/hostIPC/hostPort.",
        check=_host_namespaces,
        types=WORKLOAD_TYPES,
        config=EXEMPT,
    ),
    Rule(
        name="pod-no-host-path",
        group="workloads",
        description="Pods mount no hostPath volumes.",
        severity="high",
        anchor="Pod Security Standards (baseline): HostPath Volumes",
        remediation="Use a PersistentVolumeClaim, ConfigMap or emptyDir instead.",
        check=_host_path,
        types=WORKLOAD_TYPES,
        config=EXEMPT,
    ),
    Rule(
        name="pod-run-as-non-root",
        group="workloads",
        description="Containers must run as a non-root user.",
        severity="medium",
        anchor="Pod Security Standards (restricted): Running as Non-root; CIS EKS 4.2.6",
        remediation="Set securityContext.runAsNonRoot: true (and a non-zero runAsUser).",
        check=_non_root,
        types=WORKLOAD_TYPES,
        config=EXEMPT,
    ),
    Rule(
        name="pod-no-privilege-escalation",
        group="workloads",
        description="Containers set allowPrivilegeEscalation: false.",
        severity="medium",
        anchor="Pod Security Standards (restricted): Privilege Escalation; CIS EKS 4.2.5",
        remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
        check=_no_escalation,
        types=WORKLOAD_TYPES,
        config=EXEMPT,
    ),
    Rule(
        name="pod-drop-capabilities",
        group="workloads",
        description="Containers drop ALL capabilities and add back at most NET_BIND_SERVICE.",
        severity="medium",
        anchor="Pod Security Standards (restricted): Capabilities; CIS EKS 4.2.8-9",
        remediation="Set securityContext.capabilities.drop: [ALL].",
        check=_capabilities,
        types=WORKLOAD_TYPES,
        config=EXEMPT,
    ),
    Rule(
        name="pod-seccomp-profile",
        group="workloads",
        description="Pods run with the RuntimeDefault (or a Localhost) seccomp profile.",
        severity="low",
        anchor="Pod Security Standards (restricted): Seccomp",
        remediation="Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
        check=_seccomp,
        types=WORKLOAD_TYPES,
        config=EXEMPT,
    ),
    Rule(
        name="container-resources",
        group="workloads",
        description="Containers declare CPU/memory requests and a memory limit.",
        severity="medium",
        anchor="checkov CKV_K8S_10/11/12/13",
        remediation="Set resources.requests.cpu/memory and resources.limits.memory.",
        check=_resources,
        types=WORKLOAD_TYPES,
        config={
            "required": string_list(
                ["requests.cpu", "requests.memory", "limits.memory"],
                "resources.* keys every container must set.",
            )
        },
    ),
    Rule(
        name="gpu-requests-on-gpu-pools",
        group="workloads",
        description="Pods that request GPUs tolerate the GPU taint and select GPU nodes;"
        " pods that do not request GPUs stay off GPU nodes.",
        severity="medium",
        anchor="tkestack (GPU scheduling)",
        remediation="Use the GPU pool's toleration and node selector from its NodePoolProfile.",
        check=_gpu_placement,
        types=WORKLOAD_TYPES,
        config={
            "gpuNodeLabel": schema(
                "string", "tkestack.io/accelerator", "Node label that marks GPU nodes."
            )
        },
    ),
    Rule(
        name="arch-pinning-mixed-clusters",
        group="workloads",
        description="In clusters mixing x86_64 and arm64 pools, workloads pin kubernetes.io/arch"
        " unless their images are multi-arch.",
        severity="medium",
        anchor="tkestack (mixed-architecture scheduling)",
        remediation="Add nodeSelector kubernetes.io/arch, or list the image as multi-arch.",
        check=_arch_pinning,
        stack=True,
        config={
            "multiArchImages": string_list(
                [], "Image prefixes known to be published for both architectures."
            )
        },
    ),
    Rule(
        name="internal-load-balancers",
        group="workloads",
        description="LoadBalancer services are internal unless the environment allows public ones.",
        severity="high",
        anchor="tkestack (internal-only exposure)",
        remediation="Annotate the Service for an internal load balancer.",
        check=_internal_lb,
        types=frozenset({SERVICE, HELM_RELEASE}),
        config={
            "allowPublic": schema("boolean", False, "Allow internet-facing load balancers."),
            "publicNamespaces": string_list([], "Namespaces allowed public load balancers."),
        },
    ),
]
