"""Everything the platform installs in one cluster: registry, observability, GPU stack.

`PlatformServices` takes any `ClusterInfo` (ours, attached, or an enterprise's own cluster)
and composes the three services. Before registering anything it runs the composer check over
the add-ons of all three together, so a dependency or conflict between services (DCGM exporter
needs kube-prometheus-stack's ServiceMonitor CRD; the GPU operator excludes the device plugin)
is a validation error naming its path, like an add-on that fits on no node pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NotRequired, Required, TypedDict

import pulumi

from .addon import AddonSpec, check_addons
from .contracts import ClusterInfo
from .errors import raise_problems
from .gpu_stack import GpuStack, GpuStackArgs, gpu_addons
from .observability import (
    Observability,
    ObservabilityArgs,
    observability_addons,
    validate_observability_args,
)
from .registry import Registry, RegistryArgs, registry_addons, validate_registry_args


class PlatformServicesArgs(TypedDict, total=False):
    """Arguments of `PlatformServices`. The `cluster` inside each service's args may be
    omitted: it is always replaced by this `cluster`."""

    cluster: Required[ClusterInfo]
    """The cluster the services are installed in."""
    registry: NotRequired[RegistryArgs | None]
    """Registry settings; None: no registry."""
    observability: NotRequired[ObservabilityArgs | None]
    """Observability settings; None: no observability stack."""
    gpu: NotRequired[GpuStackArgs | None]
    """GPU stack settings; None: no GPU stack. Default: a GPU stack with default settings
    when the cluster has GPU pools (None when it has none)."""


def _with_cluster(args: Any, cluster: ClusterInfo) -> Any:
    return {**args, "cluster": cluster}


def platform_plan(
    args: PlatformServicesArgs, at: str
) -> tuple[dict[str, list[AddonSpec]], list[str]]:
    """The add-ons of every service of the cluster, by service, and every problem (the
    services' own argument problems and the composer check over all add-ons together)."""
    cluster = args["cluster"]
    plan: dict[str, list[AddonSpec]] = {}
    problems: list[str] = []
    head = f"{at}." if at else ""
    registry = args.get("registry")
    if registry is not None:
        registry_args = _with_cluster(registry, cluster)
        problems += [
            f"{head}registry.{problem}" for problem in validate_registry_args(registry_args)
        ]
        plan["registry"] = registry_addons(registry_args)
    observability = args.get("observability")
    if observability is not None:
        observability_args = _with_cluster(observability, cluster)
        problems += [
            f"{head}observability.{problem}"
            for problem in validate_observability_args(observability_args)
        ]
        plan["observability"] = observability_addons(observability_args)
    gpu = _gpu_args(args)
    if gpu is not None:
        addons, gpu_problems = gpu_addons(_with_cluster(gpu, cluster))
        problems += [f"{head}gpu.{problem}" for problem in gpu_problems]
        plan["gpu"] = addons
    every_addon = [addon for addons in plan.values() for addon in addons]
    problems += check_addons(every_addon, cluster, f"{head}addons")
    return plan, problems


def _gpu_args(args: PlatformServicesArgs) -> GpuStackArgs | None:
    if "gpu" in args:
        return args["gpu"]
    return GpuStackArgs(cluster=args["cluster"]) if args["cluster"].gpu_pools else None


class PlatformServices(pulumi.ComponentResource):
    """Registry, observability and GPU stack of one cluster."""

    registry: Registry | None
    """The registry serving the cluster (`registry.handle` for tenant namespaces)."""
    observability: Observability | None
    """The cluster's metrics, logs and alerts; None without observability."""
    gpu_stack: GpuStack | None
    """The GPU stack; None on a cluster without one."""
    addon_keys: list[str]
    """Every Helm add-on installed in the cluster, sorted."""

    def __init__(
        self, name: str, args: PlatformServicesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        plan, problems = platform_plan(args, "")
        # Every problem of the services' arguments, before the component or any child registers.
        raise_problems("PlatformServices", name, problems)
        super().__init__("tkestack:index:PlatformServices", name, None, opts)
        cluster = args["cluster"]
        child = pulumi.ResourceOptions(parent=self)
        self.addon_keys = sorted(addon.key for addons in plan.values() for addon in addons)
        self.observability = None
        observability = args.get("observability")
        if observability is not None:
            self.observability = Observability(
                f"{name}-observability", _with_cluster(observability, cluster), opts=child
            )
        self.registry = None
        registry = args.get("registry")
        if registry is not None:
            self.registry = Registry(
                f"{name}-registry", _with_cluster(registry, cluster), opts=child
            )
        self.gpu_stack = None
        gpu = _gpu_args(args)
        if gpu is not None:
            installed: Sequence[str] = self.observability.addon_keys if self.observability else ()
            # Only the metrics release (CRDs for ServiceMonitor): the rest of the observability
            # stack is no reason to hold the GPU add-ons back.
            after = [self.observability.metrics_release] if self.observability is not None else []
            self.gpu_stack = GpuStack(
                f"{name}-gpu",
                {
                    **_with_cluster(gpu, cluster),
                    "installed_addons": [*gpu.get("installed_addons", ()), *installed],
                    "after": [*gpu.get("after", ()), *after],
                },
                opts=child,
            )
        outputs: dict[str, Any] = {"addon_keys": self.addon_keys}
        if self.registry is not None:
            outputs["registry_endpoint"] = self.registry.endpoint
        if self.gpu_stack is not None:
            outputs["gpu_sharing"] = self.gpu_stack.sharing
        self.register_outputs(outputs)
