"""The components as a Pulumi package, for TypeScript, Go, C#, Java and YAML programs.

`components/__main__.py` hosts the classes of this module (`Cluster`, `PlatformServices`,
`Tenant`, and the building blocks `Registry`, `Observability`, `GpuStack`, `NodePool`:
`HOSTED`) with the Pulumi SDK's component provider host; other languages get them with
`pulumi package add`. The schema is derived from the Python components' own argument types
(`PackageProvider`), and kept in `tests/golden/schema.json`.

Each class is a thin facade over the Python component of the same name: it turns plain,
serializable inputs into that component's arguments and creates it as its only child, so every
resource is built by the one implementation the Python API uses. What cannot cross a language
boundary stays in Python:

- providers are not inputs: the cloud provider comes from the resource options
  (`providers: [...]` in YAML, `{ providers: [...] }` in TypeScript), as for any component;
- a cluster is handed to `PlatformServices`, `Tenant` and the services as a
  `ClusterReference` (its kubeconfig and a description of its node pools) instead of a
  `ClusterInfo` with live provider objects;
- a `NodePool` is handed its cluster by value (`NodePoolCluster`: the cloud's handle of the
  cluster, its network and settings) instead of the live `Cluster`: the facade rebuilds the
  cluster's cloud backend over the existing cluster (`ExistingClusterHost`), which reads it
  and creates only the pool.

A package user's URNs therefore read `tkestack:index:Tenant$tkestack:index:Tenant::<name>`
(the facade, then the component it creates); the Python API's URNs are unchanged.

This module must not use `from __future__ import annotations`: the schema analyzer reads the
annotations as live types.
"""

import dataclasses
import enum
import importlib.metadata
import inspect
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple, NotRequired, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from pulumi.provider import Provider
from pulumi.provider.experimental.analyzer import (
    ComponentDefinition,
    EnumValueDefinition,
    PropertyDefinition,
    PropertyType,
    TypeDefinition,
    is_dict,
    is_input,
    is_list,
    is_output,
    py_type_to_property_type,
    unwrap_input,
    unwrap_output,
)
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.schema import generate_schema
from pulumi.provider.experimental.util import camel_case

from . import catalog, reference
from . import cluster as clusters
from . import gpu_stack as gpus
from . import node_pool as pools
from . import observability as observe
from . import platform_services as platform
from . import registry as registries
from . import tenant as tenancy
from .clouds import ClusterBackend, backend_class
from .clouds.attached import server_of
from .contracts import ClusterInfo
from .contracts import Taint as TaintValue
from .errors import ArgumentsError, raise_problems
from .existing import ExistingNetwork, ExistingRoles
from .gpu_stack import GpuStackArgs
from .node_pool import PoolHost, PoolSpec, pool_profile
from .observability import (
    ObservabilityArgs,
    PushCredential,
    PushTarget,
    ReceiverSettings,
    RetentionSettings,
)
from .registry import RegistryArgs
from .registry_namespace import RegistrySettings
from .validation import KeyPath, Problem

PACKAGE_NAME = "tkestack"
"""Package name: the first part of every type token (`tkestack:index:Cluster`)."""


def type_token(component: type) -> str:
    """`tkestack:index:<Class>`: the token the component provider host gives a class, and the
    one the Python component of the same name registers with."""
    return f"{PACKAGE_NAME}:index:{component.__name__}"


def package_version() -> str:
    """The version of the installed distribution, which is the package's version."""
    return importlib.metadata.version(PACKAGE_NAME)


class ClusterReference(TypedDict):
    """A cluster to install into, described by plain values: one made by the `Cluster`
    component (its outputs), an enterprise's own, or any cluster reachable by kubeconfig."""

    name: str
    """Cluster name: in child resource names, metrics labels, Grafana data sources and cloud
    role names."""
    cloud: Literal["aws", "tencentcloud", "attached"]
    """Where the cluster runs; `aws` and `tencentcloud` enable cloud identity and registries,
    whose cloud provider is taken from the resource options."""
    kubernetes_version: str
    """Control-plane minor version (`1.33`): pins the Pod Security admission version."""
    kubeconfig: pulumi.Input[str]
    """Kubeconfig of the cluster; wrapped as a secret. Everything inside is installed through
    an explicit Kubernetes provider built from it."""
    context: NotRequired[str]
    """Kubeconfig context to use; default: the kubeconfig's current context."""
    region: NotRequired[str]
    """Cloud region (managed clusters)."""
    node_pools: NotRequired[Sequence[PoolSpec]]
    """The cluster's node pools as they are: add-ons are placed by their architecture, labels,
    taints and GPUs."""
    arm_opt_in_taint: NotRequired[bool]
    """Whether ARM pools carry `kubernetes.io/arch=arm64:NoSchedule`. Default false."""
    oidc_issuer: NotRequired[pulumi.Input[str]]
    """Service-account issuer URL, where the cluster has one (EKS, TKE)."""
    cloud_cluster_id: NotRequired[pulumi.Input[str]]
    """The cloud's handle of the cluster: EKS cluster name or TKE cluster id (workload
    identity needs it)."""
    vpc_id: NotRequired[pulumi.Input[str]]
    """The cluster's VPC (managed clusters)."""
    node_subnet_ids: NotRequired[Sequence[pulumi.Input[str]]]
    """Subnets of the cluster's nodes (managed clusters)."""


def _plain(value: Any) -> Any:
    """`value` with enumeration members replaced by their values, recursively: the Python
    components compare and render plain strings."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _provider_of(
    opts: pulumi.ResourceOptions | None, package: str
) -> pulumi.ProviderResource | None:
    """The provider of `package` among the resource options' providers, if one was given."""
    if opts is None:
        return None
    providers = opts.providers
    candidates: list[pulumi.ProviderResource] = []
    if isinstance(providers, Mapping):
        candidates = [provider for key, provider in providers.items() if key == package]
    elif providers:
        candidates = [provider for provider in providers if provider.package == package]
    if opts.provider is not None and getattr(opts.provider, "package", None) == package:
        candidates.append(opts.provider)
    return candidates[0] if candidates else None


def cluster_info(
    parent: pulumi.ComponentResource,
    name: str,
    reference: Mapping[str, Any],
    opts: pulumi.ResourceOptions | None,
) -> ClusterInfo:
    """The `ClusterInfo` of a referenced cluster, with a Kubernetes provider `<name>-k8s` (a
    child of `parent`) over its kubeconfig and the cloud provider from the resource options."""
    reference = python_args(shape_of(ClusterReference), reference)
    cloud = reference["cloud"]
    context = reference.get("context")
    kubeconfig = pulumi.Output.secret(reference["kubeconfig"])
    provider = k8s.Provider(
        f"{name}-k8s",
        kubeconfig=kubeconfig,
        context=context,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    arm_taint = bool(reference.get("arm_opt_in_taint", False))
    issuer = reference.get("oidc_issuer")
    cluster_id = reference.get("cloud_cluster_id")
    vpc_id = reference.get("vpc_id")
    return ClusterInfo(
        name=reference["name"],
        cloud=cloud,
        region=reference.get("region"),
        kubernetes_version=reference["kubernetes_version"],
        endpoint=pulumi.Output.unsecret(kubeconfig.apply(lambda text: server_of(text, context))),
        kubeconfig=kubeconfig,
        k8s_provider=provider,
        oidc_issuer=pulumi.Output.from_input(issuer) if issuer is not None else None,
        node_pools=[
            pool_profile(cloud, pool, arm_taint) for pool in reference.get("node_pools") or ()
        ],
        cloud_provider=_provider_of(opts, cloud) if cloud != "attached" else None,
        cloud_cluster_id=pulumi.Output.from_input(cluster_id) if cluster_id is not None else None,
        vpc_id=pulumi.Output.from_input(vpc_id) if vpc_id is not None else None,
        node_subnet_ids=[
            pulumi.Output.from_input(subnet) for subnet in reference.get("node_subnet_ids") or ()
        ],
    )


def _missing_provider(cloud: str, path: KeyPath = ("cloud",)) -> Problem:
    """The problem of a managed cluster without its cloud's provider in the resource options,
    at `path` (the input that needs the provider)."""
    return Problem(
        path,
        f"pass the {cloud} provider of the cluster's region in the resource options (YAML"
        " `options: providers: [...]`); providers are never inputs",
    )


def _required_provider(
    opts: pulumi.ResourceOptions | None, cloud: str, component: str, name: str, path: KeyPath
) -> pulumi.ProviderResource:
    """The `cloud` provider from the resource options, else an `ArgumentsError` (the one
    error model: the engine lists it under the property path `path`) saying where it goes.
    Called before the facade registers, so nothing does."""
    provider = _provider_of(opts, cloud)
    if provider is None:
        raise ArgumentsError(component, name, [_missing_provider(cloud, path)])
    return provider


def _child(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent)


# -- the schema, derived from the components' own argument types -------------------------------
#
# The package re-declares no argument type: every input type of the schema is read from the
# TypedDict or dataclass the Python component takes (field names camelCased, the docstring
# under each field as its description, `Literal[...]` as an enum). `SHAPES` says only what the
# package leaves out, inlines or adds, and why; the Python code stays the one description.


class Extra(NamedTuple):
    """A package-only input: what a language boundary needs and Python does not."""

    annotation: Any
    """Its type, as a Python annotation."""
    description: str
    """Its schema description."""
    required: bool = False
    """Whether every caller must give it."""


class Shape(NamedTuple):
    """How one Python arguments type appears in the package."""

    python: type
    """The TypedDict or dataclass the Python component takes."""
    name: str
    """The schema type's name (public API: generated SDKs name their classes after it)."""
    omit: Mapping[str, str] = {}
    """Python fields the package does not offer, each with the reason."""
    flatten: Mapping[str, type] = {}
    """Python fields whose own fields the package offers inline (`RegistryArgs.settings`)."""
    extra: Mapping[str, Extra] = {}
    """Package-only fields."""
    reworded: Mapping[str, str] = {}
    """Descriptions that differ on purpose from the Python docstring (or stand in where the
    Python field has none): the package's whole description of the field."""
    summary: str = ""
    """The type's description, when it differs on purpose from the Python type's docstring
    (a part of a Python type offered for another purpose); empty: the docstring."""


class EnumShape(NamedTuple):
    """Name and value descriptions of a `Literal[...]`, which has neither."""

    name: str
    """The schema enum's name."""
    description: str
    """What the enum is."""
    values: Mapping[str, str]
    """Every value of the Literal, in its order, with its description (a test holds the
    values to the Literals the components use)."""


PROVIDER_FROM_OPTIONS = "providers are resource options in every language, not inputs"
LIVE_RESOURCES = "resources cannot be inputs: use the `dependsOn` resource option"
SERVICE_CLUSTER = "the service runs on PlatformServices' `cluster`"
SHARED_HANDLE = "a RegistryHandle holds live provider objects: one registry per program"
CLUSTER_OWN = (
    "the cluster's own setting (its `Cluster`'s input): a pool creates no network, endpoint or"
    " control plane"
)
NO_API_ACCESS = "the kubeconfig's: a pool never reaches the cluster's API"

SHAPES: tuple[Shape, ...] = (
    Shape(ClusterReference, "ClusterReference"),
    Shape(PoolSpec, "NodePoolSpec"),
    Shape(
        TaintValue,
        "Taint",
        reworded={"key": "Taint key.", "value": "Taint value.", "effect": "Taint effect."},
    ),
    Shape(clusters.AttachedArgs, "AttachedCluster"),
    Shape(ExistingNetwork, "ExistingNetwork"),
    Shape(ExistingRoles, "ExistingRoles"),
    Shape(
        RegistryArgs,
        "RegistryOptions",
        omit={"cluster": SERVICE_CLUSTER, "shared": SHARED_HANDLE},
        flatten={"settings": RegistrySettings},
    ),
    Shape(RetentionSettings, "Retention"),
    Shape(PushTarget, "PushTargetOptions"),
    Shape(
        PushCredential,
        "PushCredentialInput",
        reworded={
            "password_hash": "bcrypt hash of the peer's password (the peer's `pushPasswordHash`"
            " output); wrapped as a secret."
        },
    ),
    Shape(ReceiverSettings, "ReceiverOptions"),
    Shape(ObservabilityArgs, "ObservabilityOptions", omit={"cluster": SERVICE_CLUSTER}),
    Shape(
        GpuStackArgs,
        "GpuOptions",
        omit={
            "cluster": SERVICE_CLUSTER,
            "installed_addons": "PlatformServices passes the observability add-ons itself",
            "after": "PlatformServices orders the GPU stack after observability itself",
        },
        extra={
            "enabled": Extra(
                bool,
                "Install the GPU stack. Default: whether the cluster has GPU pools (absent"
                " options cannot say `None` in YAML).",
            )
        },
    ),
    Shape(tenancy.TenantQuota, "TenantQuota"),
    Shape(tenancy.ContainerDefaults, "ContainerDefaults"),
    Shape(tenancy.WorkloadIdentitySettings, "WorkloadIdentitySettings"),
    Shape(
        clusters.ClusterArgs,
        "NodePoolCluster",
        summary="The EKS or TKE cluster a `NodePool` joins, by value: the part of a"
        " `Cluster`'s inputs and outputs a pool needs.",
        omit={
            "cloud_provider": PROVIDER_FROM_OPTIONS,
            **dict.fromkeys(
                (
                    "vpc_cidr",
                    "service_cidr",
                    "max_services",
                    "pod_cidr",
                    "endpoint_exposure",
                    "public_access_cidrs",
                    "protect",
                    "high_availability_nat",
                    "availability_zone_ids",
                    "log_retention_days",
                    "deployer_access",
                ),
                CLUSTER_OWN,
            ),
            "node_pools": "the pool is the NodePool's own inputs",
            "deployer_role_arn": NO_API_ACCESS,
            "aws_profile": NO_API_ACCESS,
            "attached": "an attached cluster's nodes exist: describe them in a ClusterReference",
        },
        extra={
            "name": Extra(
                str,
                "The cluster's name as tkestack knows it: its `Cluster` component's name,"
                " without `name_prefix`. The descriptions of the pool's cloud resources name"
                " the cluster `<name_prefix><name>`.",
                required=True,
            )
        },
        reworded={
            "cloud": "`aws` (EKS) or `tencentcloud` (TKE). `attached` is refused: an attached"
            " cluster's nodes exist already (describe them in a ClusterReference's"
            " `node_pools`).",
            "kubernetes_version": "The cluster's control-plane minor version (`1.33`): the"
            " pool's kubelets run it unless the pool's `kubernetes_version` says otherwise.",
            "region": "The cluster's cloud region (required).",
            "deletion_protection": "Tencent Cloud: the cloud's own deletion protection on the"
            " node pool. Default false.",
            "existing_network": "The cluster's VPC and the subnets of the pool's nodes"
            " (required): a `Cluster`'s `vpc_id` and `node_subnet_ids` outputs, or your own.",
            "existing_roles": "AWS: the node role to use (`node_role_arn`; no other role"
            " applies to a pool). Default: the pool creates its own node role"
            " `<NodePool name>-node-role`.",
            "name_prefix": "The cluster's `name_prefix`: the cloud-side names of what the pool"
            " creates start with it. Letters, digits and `-`. Default: empty.",
            "existing_cluster": "The cluster the pool joins (required), by the cloud's handle:"
            " the EKS cluster name or the TKE cluster id (`cls-...`), e.g. a `Cluster`'s"
            " `cloud_cluster_id` output. Nothing of the cluster is created or changed.",
        },
    ),
)
"""Every nested input type of the package, by the Python type it is read from."""

ENUMS: tuple[EnumShape, ...] = (
    EnumShape(
        "Cloud",
        "Where a cluster runs.",
        {
            "aws": "Amazon EKS.",
            "tencentcloud": "Tencent Kubernetes Engine (TKE).",
            "attached": "An existing cluster reached by its kubeconfig, whose lifecycle is not"
            " ours.",
        },
    ),
    EnumShape(
        "EndpointExposure",
        "Who reaches a managed cluster's API server.",
        {
            "private": "Only from inside the VPC.",
            "public": "Also from the internet (`publicAccessCidrs`).",
            "public-and-private": "From the VPC and from the internet (`publicAccessCidrs`).",
        },
    ),
    EnumShape(
        "Architecture",
        "CPU architecture of a node pool.",
        {"x86_64": "x86-64 (amd64).", "arm64": "64-bit ARM (Graviton, Yitian)."},
    ),
    EnumShape(
        "GpuSharing",
        "How pods share a pool's GPUs.",
        {
            "exclusive": "One pod per GPU.",
            "time-slicing": "NVIDIA device plugin time-slicing (`replicas` virtual GPUs per GPU).",
            "hami": "HAMi: GPU memory and compute shares per pod.",
        },
    ),
    EnumShape(
        "TaintEffect",
        "Effect of a node taint.",
        {
            "NoSchedule": "Pods without a toleration are not scheduled on the node.",
            "PreferNoSchedule": "The scheduler avoids the node for pods without a toleration.",
            "NoExecute": "Pods without a toleration are evicted from the node.",
        },
    ),
    EnumShape(
        "PodSecurityLevel",
        "Pod Security Standard enforced in a tenant's namespaces.",
        {
            "restricted": "The hardened profile (default).",
            "baseline": "The minimally restrictive profile; needs `podSecurityReason`.",
        },
    ),
    EnumShape(
        "GpuDriver",
        "Where GPU nodes get their NVIDIA driver.",
        {
            "image": "From the node image (EKS NVIDIA AMI, TKE driver install).",
            "operator": "From the NVIDIA GPU operator.",
        },
    ),
    EnumShape(
        "TcrEdition",
        "Tencent Container Registry edition.",
        {
            "basic": "Basic edition.",
            "standard": "Standard edition (default).",
            "premium": "Premium edition: required for replication to other regions.",
        },
    ),
)
"""The package's name and value descriptions of each `Literal[...]` the components take."""


def _member_name(value: str) -> str:
    """`time-slicing` -> `TIME_SLICING`, `NoSchedule` -> `NO_SCHEDULE`: the enum member names
    generated SDKs use."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", value).replace("-", "_").upper()


ENUM_TYPES: Mapping[tuple[str, ...], type[enum.StrEnum]] = {
    # Why the ignore: the functional `StrEnum(name, members)` call builds a class at runtime,
    # which a type checker cannot follow (typeshed types it as an instance).
    tuple(shape.values): enum.StrEnum(  # type: ignore[misc]
        shape.name, [(_member_name(value), value) for value in shape.values]
    )
    for shape in ENUMS
}
"""Each enum as a Python `StrEnum`, by its Literal's values: the provider turns a wire value
into a member (refusing others with the property path) before a component sees it."""


_NONE = type(None)
_SDK_NAMES: dict[str, Any] = {"Output": pulumi.Output, "T": typing.TypeVar("T")}
"""Where `pulumi.Input[X]`'s forward reference `Output[T]` resolves."""


def _hints(python: type) -> dict[str, Any]:
    """The evaluated annotations of a TypedDict or dataclass, `Required`/`NotRequired` kept."""
    # `pulumi.Input[T]` holds the forward reference `Output[T]`, which resolves in the SDK.
    return typing.get_type_hints(python, localns=_SDK_NAMES, include_extras=True)


def _unwrapped(annotation: Any) -> tuple[Any, bool, bool]:
    """(`annotation` without `Required`/`NotRequired`/`Optional`/`Input`/`Output`, whether it
    admits None, whether it may be an Output)."""
    admits_none = False
    may_be_output = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (Required, NotRequired):
            admits_none = admits_none or origin is NotRequired
            annotation = typing.get_args(annotation)[0]
        elif is_input(annotation):
            annotation, may_be_output = unwrap_input(annotation), True
        elif is_output(annotation):
            annotation, may_be_output = unwrap_output(annotation), True
        elif origin in (typing.Union, types.UnionType) and _NONE in typing.get_args(annotation):
            admits_none = True
            rest = [arg for arg in typing.get_args(annotation) if arg is not _NONE]
            annotation = rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007 (built at runtime)
        else:
            return annotation, admits_none, may_be_output


BY_VALUE: Mapping[type, type] = {ClusterInfo: ClusterReference, PoolHost: clusters.ClusterArgs}
"""Python arguments that hold live objects, and the plain type the package takes instead: a
cluster's `ClusterInfo` is a `ClusterReference`; a pool's cluster (`PoolHost`) is the part of
a `ClusterArgs` a pool needs (shape `NodePoolCluster`), over which the facade rebuilds the
cloud backend of the existing cluster."""


def shape_of(python: type) -> Shape:
    """The `SHAPES` entry of a Python arguments type (`BY_VALUE`'s plain type for a live one)."""
    python = BY_VALUE.get(python, python)
    for shape in SHAPES:
        if shape.python is python:
            return shape
    raise TypeError(f"{python.__name__} has no package shape: add it to package.SHAPES")


def enum_of(values: tuple[Any, ...]) -> EnumShape:
    """The `ENUMS` entry of a Literal's values."""
    for shape in ENUMS:
        if tuple(shape.values) == values:
            return shape
    raise TypeError(f"Literal{list(values)} has no package enum: add it to package.ENUMS")


def offered_fields(shape: Shape) -> list[tuple[str, Any, bool, str]]:
    """(Python name, annotation, required, description) of every field the package offers
    for `shape`, in source order: the Python fields without those omitted, flattened fields
    inline, then the package-only ones."""
    hints = _hints(shape.python)
    found: list[tuple[str, Any, bool, str]] = []
    for field in reference.argument_fields(shape.python):
        if field.name in shape.omit:
            continue
        if field.name in shape.flatten:
            inner = shape.flatten[field.name]
            inner_hints = _hints(inner)
            found += [
                (inner_field.name, inner_hints[inner_field.name], False, inner_field.doc)
                for inner_field in reference.argument_fields(inner)
            ]
            continue
        annotation = hints[field.name]
        required = field.required and not _unwrapped(annotation)[1]
        found.append((field.name, annotation, required, shape.reworded.get(field.name, field.doc)))
    found += [
        (name, extra.annotation, extra.required, extra.description)
        for name, extra in shape.extra.items()
    ]
    return found


def _offered_names() -> frozenset[str]:
    names = {name for shape in SHAPES for name, *_ in offered_fields(shape)}
    names |= {name for hosted in HOSTED for name, *_ in offered_fields(hosted.inputs)}
    return frozenset(names)


def described(text: str, names: frozenset[str]) -> str:
    """A Python docstring as a schema description: dedented, and every field it names in
    backticks camelCased (`min_size` -> `minSize`) as the other languages spell it; other
    snake_case words (map keys, provider arguments) are left as they are."""

    def field(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"`{camel_case(name)}`" if name in names else match.group(0)

    return re.sub(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`", field, inspect.cleandoc(text))


class _Builder:
    """Turns annotations into the SDK's schema definitions (the analyzer's data model, so
    the SDK serializes the schema and maps inputs exactly as for inferred packages)."""

    def __init__(self) -> None:
        self.types: dict[str, TypeDefinition] = {}
        self.names = _offered_names()

    def property(
        self, annotation: Any, description: str, *, optional: bool, output: bool
    ) -> PropertyDefinition:
        inner, admits_none, may_be_output = _unwrapped(annotation)
        text = described(description, self.names) if description else None
        plain = None if output or may_be_output else True
        definition = PropertyDefinition(
            optional=optional or admits_none, description=text, plain=plain
        )
        origin = typing.get_origin(inner)
        if inner in (str, int, float, bool):
            definition.type = py_type_to_property_type(inner)
        elif origin is Literal:
            definition.ref = self.enum(typing.get_args(inner))
        elif is_list(inner):
            (item,) = typing.get_args(inner)
            definition.type = PropertyType.ARRAY
            definition.items = self.property(item, description, optional=False, output=output)
        elif is_dict(inner):
            _, value = typing.get_args(inner)
            definition.type = PropertyType.OBJECT
            definition.additional_properties = self.property(
                value, description, optional=False, output=output
            )
        elif isinstance(inner, type):
            definition.ref = self.object(shape_of(inner), output=output)
        else:
            raise TypeError(f"the package cannot offer a `{inner}` ({description[:60]}...)")
        return definition

    def enum(self, values: tuple[Any, ...]) -> str:
        shape = enum_of(values)
        if shape.name not in self.types:
            self.types[shape.name] = TypeDefinition(
                name=shape.name,
                type=PropertyType.STRING,
                properties={},
                properties_mapping={},
                module=__name__,
                python_type=ENUM_TYPES[tuple(shape.values)],
                description=shape.description,
                enum=[
                    EnumValueDefinition(_member_name(value), value, text)
                    for value, text in shape.values.items()
                ],
            )
        return f"#/types/{PACKAGE_NAME}:index:{shape.name}"

    def object(self, shape: Shape, *, output: bool) -> str:
        if shape.name not in self.types:
            definition = TypeDefinition(
                name=shape.name,
                type=PropertyType.OBJECT,
                properties={},
                properties_mapping={},
                module=__name__,
                python_type=shape.python,
                description=described(shape.summary or shape.python.__doc__ or "", self.names),
            )
            self.types[shape.name] = definition  # before its fields: recursion ends here
            for name, annotation, required, doc in offered_fields(shape):
                definition.properties[camel_case(name)] = self.property(
                    annotation, doc, optional=not required, output=output
                )
                definition.properties_mapping[camel_case(name)] = name
        return f"#/types/{PACKAGE_NAME}:index:{shape.name}"

    def component(self, hosted: "Hosted") -> ComponentDefinition:
        facade = hosted.facade
        inputs: dict[str, PropertyDefinition] = {}
        for name, annotation, required, doc in offered_fields(hosted.inputs):
            inputs[camel_case(name)] = self.property(
                annotation, doc, optional=not required, output=False
            )
        hints = inspect.get_annotations(facade)  # live: this module postpones none
        outputs = {
            camel_case(field.name): self.property(
                hints[field.name], field.doc, optional=False, output=True
            )
            for field in reference.output_fields(facade)
        }
        return ComponentDefinition(
            name=facade.__name__,
            inputs=inputs,
            outputs=outputs,
            inputs_mapping={camel_case(name): name for name, *_ in offered_fields(hosted.inputs)},
            outputs_mapping={
                camel_case(field.name): field.name for field in reference.output_fields(facade)
            },
            module=__name__,
            description=described(facade.__doc__ or "", self.names),
        )


def definitions() -> tuple[dict[str, ComponentDefinition], dict[str, TypeDefinition]]:
    """The package's components and types, derived from the Python arguments types."""
    builder = _Builder()
    components = {hosted.facade.__name__: builder.component(hosted) for hosted in HOSTED}
    return components, builder.types


# -- from the wire to the Python arguments ------------------------------------------------------


def python_value(annotation: Any, value: Any) -> Any:
    """An input the provider mapped to Python names, as the Python component takes it:
    dataclasses built, enum members as plain strings, flattened fields nested again.
    `ClusterReference` values stay mappings (the facade builds the `ClusterInfo`)."""
    if value is None or isinstance(value, pulumi.Output):
        return value
    inner, _, _ = _unwrapped(annotation)
    if typing.get_origin(inner) is Literal or isinstance(value, enum.Enum):
        return _plain(value)
    if is_list(inner):
        (item,) = typing.get_args(inner)
        return [python_value(item, entry) for entry in value]
    if is_dict(inner):
        _, item = typing.get_args(inner)
        return {key: python_value(item, entry) for key, entry in value.items()}
    if isinstance(inner, type) and isinstance(value, Mapping) and inner is not ClusterInfo:
        return python_args(shape_of(inner), value)
    return value


def python_args(shape: Shape, value: Mapping[str, Any]) -> Any:
    """`value` (Python names) as an instance of `shape.python`: a dict for a TypedDict, the
    dataclass otherwise; package-only fields are left out (the facade reads them)."""
    hints = _hints(shape.python)
    result: dict[str, Any] = {
        name: python_value(hints[name], item)
        for name, item in value.items()
        if name in hints and name not in shape.extra
    }
    for name, inner in shape.flatten.items():
        inner_hints = _hints(inner)
        result[name] = inner(
            **{
                key: python_value(inner_hints[key], value[key])
                for key in inner_hints
                if key in value
            }
        )
    if not dataclasses.is_dataclass(shape.python):
        return result
    for field in dataclasses.fields(shape.python):
        absent = field.name not in result
        no_default = (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        if absent and no_default and _unwrapped(hints[field.name])[1]:
            result[field.name] = None
    return shape.python(**result)


# -- Cluster -----------------------------------------------------------------------------------


class Cluster(pulumi.ComponentResource):
    """A Kubernetes cluster on AWS (EKS), Tencent Cloud (TKE) or attached by kubeconfig, with
    its node pools. Pass the provider of its cloud and region in the resource options."""

    cloud: str
    """`aws`, `tencentcloud` or `attached`."""
    region: str | None
    """Cloud region (or the attached cluster's location label)."""
    kubernetes_version: str
    """Control-plane minor version (`1.33`)."""
    endpoint: pulumi.Output[str]
    """API server URL."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig of the cluster (a Pulumi secret). EKS: `aws eks get-token` exec
    authentication assuming `deployerRoleArn`, no stored token."""
    oidc_issuer: pulumi.Output[str | None] | None
    """Service-account issuer URL, where the cloud has one."""
    cloud_cluster_id: pulumi.Output[str] | None
    """The cloud's handle of the cluster: EKS cluster name, TKE cluster id; absent when
    attached."""
    vpc_id: pulumi.Output[str] | None
    """The cluster's VPC (created, or the existing one); absent when attached."""
    node_subnet_ids: list[pulumi.Output[str]]
    """Subnets of the nodes; empty when attached."""
    node_pools: list[str]
    """Names of the cluster's node pools."""

    def __init__(
        self, name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        cloud = _plain(args["cloud"])
        provider = None
        if cloud != "attached":
            provider = _required_provider(opts, cloud, "Cluster", name, ("cloud",))
        super().__init__(type_token(type(self)), name, None, opts)
        python_args = _python_inputs(type(self), args)
        if provider is not None:
            python_args["cloud_provider"] = provider
        # The inputs the SDK mapped and checked against the schema derived from this
        # TypedDict, converted by `python_args`: its shape, which a dict cannot state.
        built = clusters.Cluster(
            name, typing.cast("clusters.ClusterArgs", python_args), opts=_child(self)
        )
        info = built.info
        self.cloud = cloud
        self.region = info.region
        self.kubernetes_version = info.kubernetes_version
        self.endpoint = info.endpoint
        self.kubeconfig = info.kubeconfig
        self.oidc_issuer = info.oidc_issuer
        self.cloud_cluster_id = info.cloud_cluster_id
        self.vpc_id = info.vpc_id
        self.node_subnet_ids = list(info.node_subnet_ids)
        self.node_pools = [pool.name for pool in info.node_pools]
        self.register_outputs(
            {
                "cloud": self.cloud,
                "region": self.region,
                "kubernetes_version": self.kubernetes_version,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_issuer": self.oidc_issuer,
                "cloud_cluster_id": self.cloud_cluster_id,
                "vpc_id": self.vpc_id,
                "node_subnet_ids": self.node_subnet_ids,
                "node_pools": self.node_pools,
            }
        )


# -- PlatformServices --------------------------------------------------------------------------


class PlatformServices(pulumi.ComponentResource):
    """Registry, observability and GPU stack of one cluster, given by reference."""

    addon_keys: list[str]
    """Every Helm add-on installed in the cluster, sorted."""
    registry_endpoint: pulumi.Output[str] | None
    """Registry host image references start with; absent without a registry."""
    harbor_admin_password: pulumi.Output[str] | None
    """Attached clusters with a registry: Harbor's admin password (a Pulumi secret)."""
    grafana_admin_password: pulumi.Output[str] | None
    """Central cluster: Grafana's admin password (a Pulumi secret)."""
    push_password_hash: pulumi.Output[str] | None
    """Peer clusters: bcrypt hash of the push password (a Pulumi secret), for the central
    cluster's `observability.peers`."""
    receiver_address: pulumi.Output[str] | None
    """Central cluster with receivers: the load balancer's address, which the receivers'
    hostname must resolve to."""
    gpu_sharing: dict[str, str] | None
    """Sharing mode of every GPU pool (`exclusive`, `time-slicing-4`, `hami`), by pool."""

    def __init__(
        self, name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        cloud = _plain(args["cluster"]["cloud"])
        if args.get("registry") is not None and cloud != "attached":
            _required_provider(opts, cloud, "PlatformServices", name, ("registry",))
        super().__init__(type_token(type(self)), name, None, opts)
        python_args = _python_inputs(type(self), args)
        cluster = python_args["cluster"] = cluster_info(self, name, args["cluster"], opts)
        if python_args.get("observability") is not None:
            python_args["observability"] = _secret_peers(python_args["observability"])
        gpu = args.get("gpu") or {}
        if not gpu.get("enabled", bool(cluster.gpu_pools)):
            python_args["gpu"] = None
        elif gpu or cluster.gpu_pools:
            python_args["gpu"] = {**python_args.get("gpu", {}), "cluster": cluster}
        # The inputs the SDK mapped and checked against the schema derived from this
        # TypedDict, converted by `python_args`: its shape, which a dict cannot state.
        built = platform.PlatformServices(
            name, typing.cast("platform.PlatformServicesArgs", python_args), opts=_child(self)
        )
        self.addon_keys = list(built.addon_keys)
        self.registry_endpoint = built.registry.endpoint if built.registry else None
        self.harbor_admin_password = (
            built.registry.harbor_admin_password if built.registry else None
        )
        self.grafana_admin_password = None
        self.push_password_hash = None
        self.receiver_address = None
        if built.observability is not None:
            self.grafana_admin_password = built.observability.grafana_admin_password
            credential = built.observability.push_credential
            if credential is not None:
                self.push_password_hash = credential.password_hash
            self.receiver_address = built.observability.receiver_address
        self.gpu_sharing = dict(built.gpu_stack.sharing) if built.gpu_stack else None
        self.register_outputs(
            {
                "addon_keys": self.addon_keys,
                "registry_endpoint": self.registry_endpoint,
                "harbor_admin_password": self.harbor_admin_password,
                "grafana_admin_password": self.grafana_admin_password,
                "push_password_hash": self.push_password_hash,
                "receiver_address": self.receiver_address,
                "gpu_sharing": self.gpu_sharing,
            }
        )


# -- Tenant ------------------------------------------------------------------------------------


class Tenant(pulumi.ComponentResource):
    """A tenant on one cluster, given by reference: namespaces, quotas, limit ranges, network
    policies and roles."""

    namespaces: list[str]
    """The tenant's namespaces on the cluster."""
    roles: dict[str, str]
    """Access level -> Role name (the same in every namespace)."""
    workload_identity_role: pulumi.Output[str] | None
    """Cloud role of the tenant's `cloud-workload` service accounts, when the cloud has one."""

    def __init__(
        self, name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        cloud = _plain(args["cluster"]["cloud"])
        if args.get("workload_identity") is not None and cloud != "attached":
            _required_provider(opts, cloud, "Tenant", name, ("workload_identity",))
        super().__init__(type_token(type(self)), name, None, opts)
        python_args = _python_inputs(type(self), args)
        python_args["cluster"] = cluster_info(self, name, args["cluster"], opts)
        # The inputs the SDK mapped and checked against the schema derived from this
        # TypedDict, converted by `python_args`: its shape, which a dict cannot state.
        built = tenancy.Tenant(
            name, typing.cast("tenancy.TenantArgs", python_args), opts=_child(self)
        )
        self.namespaces = list(built.namespaces)
        self.roles = dict(built.roles)
        self.workload_identity_role = built.workload_identity_role
        self.register_outputs(
            {
                "namespaces": self.namespaces,
                "roles": self.roles,
                "workload_identity_role": self.workload_identity_role,
            }
        )


# -- Registry, Observability, GpuStack: one service on a cluster given by reference ------------


class Registry(pulumi.ComponentResource):
    """The platform registry of one cluster, given by reference: ECR on AWS, TCR on Tencent
    Cloud, Harbor on attached clusters. A cloud registry takes the cluster's cloud provider
    from the resource options."""

    endpoint: pulumi.Output[str]
    """Registry host image references start with."""
    harbor_admin_password: pulumi.Output[str] | None
    """Attached clusters: Harbor's admin password (a Pulumi secret)."""

    def __init__(
        self, name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        cloud = _plain(args["cluster"]["cloud"])
        if cloud != "attached":
            _required_provider(opts, cloud, "Registry", name, ("cluster", "cloud"))
        super().__init__(type_token(type(self)), name, None, opts)
        python_args = _python_inputs(type(self), args)
        python_args["cluster"] = cluster_info(self, name, args["cluster"], opts)
        # The inputs the SDK mapped and checked against the schema derived from this
        # TypedDict, converted by `python_args`: its shape, which a dict cannot state.
        built = registries.Registry(
            name, typing.cast("RegistryArgs", python_args), opts=_child(self)
        )
        self.endpoint = built.endpoint
        self.harbor_admin_password = built.harbor_admin_password
        self.register_outputs(
            {"endpoint": self.endpoint, "harbor_admin_password": self.harbor_admin_password}
        )


class Observability(pulumi.ComponentResource):
    """Metrics, logs and alerts of one cluster, given by reference: kube-prometheus-stack,
    Loki and Fluent Bit, with Grafana on the central cluster."""

    addon_keys: list[str]
    """Every Helm add-on installed in the cluster, sorted."""
    grafana_admin_password: pulumi.Output[str] | None
    """Central cluster: Grafana's admin password (a Pulumi secret)."""
    push_password_hash: pulumi.Output[str] | None
    """Peer clusters: bcrypt hash of the push password (a Pulumi secret), for the central
    cluster's `observability.peers`."""
    receiver_address: pulumi.Output[str] | None
    """Central cluster with receivers: the load balancer's address, which the receivers'
    hostname must resolve to."""

    def __init__(
        self, name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(type(self)), name, None, opts)
        python_args = _secret_peers(_python_inputs(type(self), args))
        python_args["cluster"] = cluster_info(self, name, args["cluster"], opts)
        # The inputs the SDK mapped and checked against the schema derived from this
        # TypedDict, converted by `python_args`: its shape, which a dict cannot state.
        built = observe.Observability(
            name, typing.cast("ObservabilityArgs", python_args), opts=_child(self)
        )
        self.addon_keys = sorted(built.addon_keys)
        self.grafana_admin_password = built.grafana_admin_password
        credential = built.push_credential
        self.push_password_hash = credential.password_hash if credential is not None else None
        self.receiver_address = built.receiver_address
        self.register_outputs(
            {
                "addon_keys": self.addon_keys,
                "grafana_admin_password": self.grafana_admin_password,
                "push_password_hash": self.push_password_hash,
                "receiver_address": self.receiver_address,
            }
        )


class GpuStack(pulumi.ComponentResource):
    """The GPU stack of one cluster with GPU pools, given by reference: device plugins per
    sharing mode, HAMi or the GPU operator, DCGM exporter."""

    addon_keys: list[str]
    """Every Helm add-on the stack installed, sorted."""
    sharing: dict[str, str]
    """Sharing mode of every GPU pool (`exclusive`, `time-slicing-4`, `hami`), by pool."""

    def __init__(
        self, name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token(type(self)), name, None, opts)
        python_args = _python_inputs(type(self), args)
        python_args["cluster"] = cluster_info(self, name, args["cluster"], opts)
        # The inputs the SDK mapped and checked against the schema derived from this
        # TypedDict, converted by `python_args`: its shape, which a dict cannot state.
        built = gpus.GpuStack(name, typing.cast("GpuStackArgs", python_args), opts=_child(self))
        self.addon_keys = sorted(built.addon_keys)
        self.sharing = dict(built.sharing)
        self.register_outputs({"addon_keys": self.addon_keys, "sharing": self.sharing})


# -- NodePool: a pool added to a cluster given by value -----------------------------------------


@dataclasses.dataclass(frozen=True)
class ExistingClusterHost:
    """A cluster that exists, as the node pools added to it see it (a `node_pool.PoolHost`):
    its settings and its cloud's backend, rebuilt over the existing cluster."""

    cloud: str
    """`aws` or `tencentcloud`."""
    kubernetes_version: str
    """Control-plane minor version (`1.33`)."""
    arm_opt_in_taint: bool
    """Whether ARM pools carry the opt-in taint."""
    install_gpu_driver: bool
    """Whether the cloud installs GPU drivers on GPU nodes."""
    backend: ClusterBackend
    """The cloud backend over the existing cluster (`existing_cluster`): it creates nothing
    of the cluster, only what the pool adds (its node group or node pool, on AWS a node role
    unless one is given)."""


def pool_cluster_problems(cluster: Mapping[str, Any]) -> list[Problem]:
    """Problems of a `NodePoolCluster` (Python names), by property path from `cluster`."""
    cloud = cluster.get("cloud")
    if cloud == "attached":
        return [
            Problem(
                ("cloud",),
                "a NodePool creates cloud resources, and an attached cluster's nodes exist"
                " already: describe them in a ClusterReference's node_pools",
            )
        ]
    problems: list[Problem] = []
    version = cluster.get("kubernetes_version")
    supported = catalog.supported_kubernetes_versions(str(cloud))
    if version not in supported:
        problems.append(
            Problem(
                ("kubernetes_version",),
                f"{version!r} is not supported on {cloud} ({', '.join(supported)})",
            )
        )
    for key in ("region", "existing_cluster", "existing_network"):
        if cluster.get(key) is None:
            problems.append(Problem((key,), f"required: the cluster the pool joins needs {key}"))
    roles: Mapping[str, object] = cluster.get("existing_roles") or {}
    problems += [
        Problem(("existing_roles", key), "only node_role_arn applies to a node pool")
        for key in sorted(roles)
        if key != "node_role_arn"
    ]
    cluster_args = typing.cast("clusters.ClusterArgs", cluster)
    problems += [
        problem
        for problem in clusters.own_infrastructure_problems(cluster_args)
        if problem.path[:1] != ("existing_roles",) or cloud != "aws"
    ]
    return problems


class NodePool(pulumi.ComponentResource):
    """A node pool added to an EKS or TKE cluster given by value: one a `Cluster` made (in
    this program, another one or another language: pass its outputs) or an enterprise's own.
    Nothing of the cluster is created or changed. Pass the provider of the cluster's cloud and
    region in the resource options."""

    pool_name: str
    """Pool name (its nodes' `tkestack.io/node-pool` label)."""
    architecture: str
    """CPU architecture of the pool's nodes (`x86_64` or `arm64`)."""
    instance_types: list[str]
    """Cloud instance types of the pool's nodes."""
    labels: dict[str, str]
    """Every label of the pool's nodes: derived (pool, architecture, accelerator, capacity)
    and given."""
    tolerations: list[dict[str, str]]
    """The toleration of each taint of the pool's nodes (derived and given): what a pod needs
    to run there."""
    kubernetes_version: str
    """Minor version of the pool's kubelets."""
    min_size: int
    """Fewest nodes."""
    max_size: int
    """Most nodes."""

    def __init__(
        self, name: str, args: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        pool_inputs = _python_inputs(type(self), args)
        cluster_args: dict[str, Any] = python_args(shape_of(PoolHost), args["cluster"])
        problems = [problem.under("cluster") for problem in pool_cluster_problems(cluster_args)]
        cloud = str(cluster_args.get("cloud"))
        provider = _provider_of(opts, cloud) if cloud in ("aws", "tencentcloud") else None
        if provider is None and not problems:
            problems.append(_missing_provider(cloud, ("cluster", "cloud")))
        if not problems:
            problems += clusters.cloud_pool_problems(
                typing.cast("PoolSpec", pool_inputs),
                typing.cast("clusters.ClusterArgs", cluster_args),
                (),
            )
        # Every problem of the cluster's description, before anything registers.
        raise_problems("NodePool", name, problems)
        super().__init__(type_token(type(self)), name, None, opts)
        cluster_args["cloud_provider"] = provider
        backend = backend_class(cloud)(
            self,
            name,
            typing.cast("clusters.ClusterArgs", cluster_args),
            args["cluster"]["name"],
        )
        backend.create_control_plane()  # over `existing_cluster`: reads, creates nothing
        install = cluster_args.get("install_gpu_driver")
        host = ExistingClusterHost(
            cloud=cloud,
            kubernetes_version=cluster_args["kubernetes_version"],
            arm_opt_in_taint=bool(cluster_args.get("arm_opt_in_taint", False)),
            install_gpu_driver=install if install is not None else True,
            backend=backend,
        )
        # The converted inputs are the pool's `PoolSpec` (checked by `pool_problems`).
        pool_args = typing.cast("pools.NodePoolArgs", {**pool_inputs, "cluster": host})
        built = pools.NodePool(name, pool_args, opts=_child(self))
        profile = built.profile
        self.pool_name = profile.name
        self.architecture = profile.architecture
        self.instance_types = list(profile.instance_types)
        self.labels = dict(profile.labels)
        self.tolerations = [taint.as_toleration() for taint in profile.taints]
        self.kubernetes_version = built.kubernetes_version
        self.min_size = profile.min_size
        self.max_size = profile.max_size
        self.register_outputs(
            {
                "pool_name": self.pool_name,
                "architecture": self.architecture,
                "instance_types": self.instance_types,
                "labels": self.labels,
                "tolerations": self.tolerations,
                "kubernetes_version": self.kubernetes_version,
                "min_size": self.min_size,
                "max_size": self.max_size,
            }
        )


# -- what the package hosts -------------------------------------------------------------------


class Hosted(NamedTuple):
    """A component of the package and the Python arguments its inputs are read from."""

    facade: type[pulumi.ComponentResource]
    inputs: Shape


ON_REFERENCE = "a live ClusterInfo cannot cross languages: `cluster` is a ClusterReference"

HOSTED: tuple[Hosted, ...] = (
    Hosted(
        Cluster,
        Shape(
            clusters.ClusterArgs,
            "ClusterInputs",
            omit={
                "cloud_provider": PROVIDER_FROM_OPTIONS,
                "deployer_access": "not offered yet: the hub attachment and API ingress of the"
                " deployer's path are composed by the stacks layer (issue 14)",
            },
        ),
    ),
    Hosted(
        PlatformServices,
        Shape(
            platform.PlatformServicesArgs,
            "PlatformServicesInputs",
            reworded={
                "registry": "Registry settings; absent: no registry.",
                "observability": "Observability settings; absent: no observability stack.",
                "gpu": "GPU stack settings. Default: a GPU stack with default settings when the"
                " cluster has GPU pools.",
            },
        ),
    ),
    Hosted(Tenant, Shape(tenancy.TenantArgs, "TenantInputs")),
    Hosted(
        Registry,
        Shape(
            RegistryArgs,
            "RegistryInputs",
            omit={"shared": SHARED_HANDLE},
            flatten={"settings": RegistrySettings},
        ),
    ),
    Hosted(Observability, Shape(ObservabilityArgs, "ObservabilityInputs")),
    Hosted(GpuStack, Shape(GpuStackArgs, "GpuStackInputs", omit={"after": LIVE_RESOURCES})),
    Hosted(
        NodePool,
        Shape(
            pools.NodePoolArgs,
            "NodePoolInputs",
            reworded={
                "cluster": "The cluster the pool joins, by value: a `Cluster`'s outputs, or an"
                " existing EKS or TKE cluster's handle, network and settings."
            },
        ),
    ),
)
"""The components the package offers, in schema order, each with its Python arguments."""

HOSTED_COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = tuple(
    hosted.facade for hosted in HOSTED
)
"""The components the package offers, in schema order."""


def _python_inputs(facade: type, args: Mapping[str, Any]) -> dict[str, Any]:
    """A facade's mapped inputs as the Python component's arguments (`cluster` left to the
    facade)."""
    shape = next(hosted.inputs for hosted in HOSTED if hosted.facade is facade)
    converted: dict[str, Any] = python_args(
        shape, {k: v for k, v in args.items() if k != "cluster"}
    )
    return converted


def _secret_peers(observability: dict[str, Any]) -> dict[str, Any]:
    """Observability arguments whose peers' password hashes are secrets (a plain string from
    YAML config would otherwise land in state in the clear)."""
    peers = observability.get("peers") or ()
    observability["peers"] = [
        dataclasses.replace(peer, password_hash=pulumi.Output.secret(peer.password_hash))
        for peer in peers
    ]
    return observability


SECRET_OUTPUTS: Mapping[str, frozenset[str]] = {
    "Cluster": frozenset({"kubeconfig"}),
    "PlatformServices": frozenset(
        {"harbor_admin_password", "grafana_admin_password", "push_password_hash"}
    ),
    "Tenant": frozenset(),
    "Registry": frozenset({"harbor_admin_password"}),
    "Observability": frozenset({"grafana_admin_password", "push_password_hash"}),
    "GpuStack": frozenset(),
    "NodePool": frozenset(),
}
"""Outputs of each package component that are always Pulumi secrets (the others never are);
the schema cannot say it, docs/components/package.md and the contract tests do."""


class PackageProvider(ComponentProvider):
    """The SDK's component provider, but a component's `pulumi.InputPropertiesError` reaches
    the engine as such. The SDK (pulumi 3.272 provider/experimental/component.py `construct`)
    wraps every exception of a constructor in `ComponentInitError`, and its server only turns
    an `InputPropertiesError` it sees directly into the per-property gRPC error details
    (provider/experimental/server.py `Construct`): unwrapped here, so `pulumi preview` of a
    YAML, TypeScript or Go program lists every bad input with its property path.

    Its schema is not inferred from annotations (the SDK's analyzer would need every argument
    type re-declared): `definitions()` derives it from the Python components' own arguments
    types, in the SDK's data model, so the SDK's `construct` maps and checks inputs as it
    does for inferred packages."""

    def __init__(self, version: str | None = None) -> None:
        components, types_ = definitions()
        self._name = PACKAGE_NAME
        self._components = {facade.__name__: facade for facade in HOSTED_COMPONENTS}
        self._component_defs = components
        self._type_defs = types_
        self._external_enum_types = {}
        self._dependencies = []
        spec = generate_schema(
            PACKAGE_NAME, version or package_version(), None, components, types_, []
        )
        Provider.__init__(self, version or package_version(), json.dumps(spec.to_json()))

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: Any,
        options: pulumi.ResourceOptions | None = None,
    ) -> Any:
        try:
            return super().construct(name, resource_type, inputs, options)
        except Exception as error:
            inner = getattr(error, "inner", None)
            if isinstance(inner, pulumi.InputPropertiesError):
                raise inner from None
            raise


def package_schema(version: str | None = None) -> dict[str, Any]:
    """The package schema exactly as the component provider host serves it (`GetSchema`)."""
    provider = PackageProvider(version)
    text = provider.schema
    if text is None:  # `PackageProvider.__init__` always sets it
        raise TypeError("the package provider has no schema")
    schema: dict[str, Any] = json.loads(text)
    return schema
