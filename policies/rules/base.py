"""The small shared vocabulary of every rule: metadata, the resource view, safe lookups.

A `Rule` is plain data plus a check function. The same rule runs two ways:

- inside the CrossGuard pack (`policies/__main__.py` turns each rule into a
  `ResourceValidationPolicy` or `StackValidationPolicy`), where properties arrive as
  pulumi_policy's unknown-checking proxies;
- directly (`evaluate` in `policies/rules/__init__.py`), on plain dicts, for tests and for
  parity checks against the pack.

Checks never raise on missing or unknown values: `get()` returns `None` for a missing value
and raises `Unknowable` for a value not known during preview; the runner turns `Unknowable`
into "not applicable" (no violation), because a rule cannot judge what it cannot see.
Missing inputs whose provider default is unsafe are violations: each check compares
against the provider default explicitly (see the `DEFAULT_*` comments in the rule modules).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...components.ownership import CLUSTER_LABEL, Recorded, owners, recorded_labels
from ...components.wire import UNKNOWN_SENTINELS

try:  # the pack process always has pulumi_policy; plain-dict callers may not need it
    from pulumi_policy.proxy import UnknownValueError
except ImportError:  # pragma: no cover - pulumi-policy is a dependency of the project

    class UnknownValueError(Exception):
        """Stand-in when pulumi_policy is absent."""


Severity = Literal["low", "medium", "high", "critical"]
Level = Literal["advisory", "mandatory", "disabled"]
Group = Literal[
    "clusters",
    "node_pools",
    "registry",
    "rbac_tenancy",
    "workloads",
    "observability",
    "environment",
]
GROUPS: tuple[Group, ...] = (
    "clusters",
    "node_pools",
    "registry",
    "rbac_tenancy",
    "workloads",
    "observability",
    "environment",
)


class Unknowable(Exception):
    """A value the rule needs is not known (preview of a value computed by the cloud)."""


@dataclass(frozen=True, slots=True)
class Provider:
    """The provider a resource is created with."""

    urn: str
    type: str
    """`pulumi:providers:aws`."""
    name: str
    """Provider resource name; the engine names default providers `default` / `default_X_Y_Z`."""
    props: Mapping[str, Any] = field(default_factory=dict)
    """The provider's inputs (`region`, `defaultTags`, ...)."""


@dataclass(frozen=True, slots=True)
class Subject:
    """One resource as a rule sees it: type, name, inputs and the options that matter."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    """Resource inputs in the engine's camelCase form (may be a pulumi_policy proxy)."""
    protect: bool = False
    parent: str | None = None
    """URN of the parent resource (None: the stack)."""
    provider: Provider | None = None
    dependencies: tuple[str, ...] = ()
    """URNs this resource depends on (including property dependencies)."""


@dataclass
class Stack:
    """Every resource of the stack, with the indexes stack rules need."""

    resources: list[Subject]
    _by_urn: dict[str, Subject] = field(default_factory=dict, init=False, repr=False)
    _by_type: dict[str, list[Subject]] = field(default_factory=dict, init=False, repr=False)
    _scope: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _owners: dict[str, str | None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        for resource in self.resources:
            self._by_urn[resource.urn] = resource
            self._by_type.setdefault(resource.type, []).append(resource)

    def get(self, urn: str | None) -> Subject | None:
        """The resource with this URN, if it is in the stack."""
        return self._by_urn.get(urn) if urn else None

    def of_type(self, *types: str) -> list[Subject]:
        """Resources of the given types, in stack order."""
        if len(types) == 1:
            return list(self._by_type.get(types[0], ()))
        return [r for r in self.resources if r.type in types]

    def scope(self, resource: Subject) -> str:
        """The cluster a resource belongs to, as a grouping key; `""` for none.

        The cluster's name where the ownership function (`components/ownership.py` `owners`)
        finds one in what the program records: the `tkestack.io/cluster` tags and labels, the
        parents and the providers (a policy sees no stack outputs, so not the exported
        kubeconfigs). Where nothing is recorded (an attached cluster, a program without the
        tags), the same steps over the graph alone give a URN: an object created with a
        Kubernetes provider that a component created belongs to that component's top-most
        ancestor (a cluster's provider is its cluster's child); a component to what all its
        resources agree on; anything else to its nearest such ancestor, else its top-most
        one. No resource name or type token of ours is read (`tests/policies/test_rules.py`
        holds the grouping to `tkestack.ownership.cluster_owners` on every shipped stack)."""
        if not self._scope:
            self._scope.update(self._scopes())
        return self._scope.get(resource.urn, "")

    def _scopes(self) -> dict[str, str]:
        # As `owners` does with the tags: what a resource's provider says (or its tag), then
        # components from their resources, then the rest from their nearest such ancestor.
        owner = self.owners()
        said: dict[str, str] = {}
        for resource in self.resources:
            name = owner.get(resource.urn)
            provider = self.get(resource.provider.urn) if resource.provider else None
            if resource.type == KUBERNETES_PROVIDER:
                provider = resource  # a cluster's provider is its cluster's
            if name is not None:
                said[resource.urn] = name
            elif (
                provider is not None
                and provider.type == KUBERNETES_PROVIDER
                and self._parent(provider) is not None
            ):
                # The Kubernetes provider decides where an object lands: the component that
                # created it (a cluster's provider is its cluster's child) is the cluster.
                said[resource.urn] = self._top(provider)
        below: dict[str, set[str]] = {}
        for urn, key in said.items():
            for ancestor in self._ancestors(self._by_urn[urn]):
                below.setdefault(ancestor.urn, set()).add(key)
        for urn, keys in below.items():
            if urn not in said and len(keys) == 1:
                said[urn] = next(iter(keys))
        found: dict[str, str] = {}
        for resource in self.resources:
            key = said.get(resource.urn)
            if key is None:
                key = next(
                    (said[a.urn] for a in self._ancestors(resource) if a.urn in said),
                    self._recorded_root(resource),
                )
            found[resource.urn] = key
        return found

    def _ancestors(self, resource: Subject) -> Iterator[Subject]:
        """The ancestors of `resource` below the stack, nearest first."""
        current = resource
        for _ in range(64):  # parent chains are short; bound against cycles
            parent = self._parent(current)
            if parent is None:
                return
            yield parent
            current = parent

    def owners(self) -> dict[str, str | None]:
        """{URN: owning cluster name or None} by `components.ownership.owners`, the clusters
        being the names the resources' `tkestack.io/cluster` tags and labels give."""
        if self._owners is None:
            records = [
                Recorded(
                    urn=resource.urn,
                    parent=resource.parent,
                    provider=resource.provider.urn if resource.provider is not None else None,
                    # Custom resources are created with a provider; providers are custom too.
                    custom=resource.provider is not None or resource.type.startswith(PROVIDERS),
                    cluster_label=_cluster_label(resource),
                )
                for resource in self.resources
            ]
            clusters = {record.cluster_label for record in records} - {None}
            self._owners = owners(records, dict.fromkeys(sorted(str(c) for c in clusters)))
        return self._owners

    def _recorded_root(self, resource: Subject) -> str:
        """The top-most component above the resource; `""` for a top-level one
        (environment-wide)."""
        if self._parent(resource) is not None:
            return self._top(resource)
        return ""

    def _parent(self, resource: Subject) -> Subject | None:
        """The parent of `resource` in the stack, unless it is the stack itself."""
        parent = self.get(resource.parent)
        return parent if parent is not None and parent.type != ROOT_STACK else None

    def _top(self, resource: Subject) -> str:
        """URN of the top-most ancestor of `resource` below the stack (itself if none)."""
        current = resource
        for _ in range(64):  # parent chains are short; bound against cycles
            parent = self._parent(current)
            if parent is None:
                break
            current = parent
        return current.urn


PROVIDERS = "pulumi:providers:"
"""The engine's type prefix of provider resources (`pulumi:providers:aws`)."""
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
"""The engine's type of a Kubernetes provider: one cluster's API server."""
ROOT_STACK = "pulumi:pulumi:Stack"
"""The engine's type of a stack's root resource, the parent of every top-level resource."""


def _cluster_label(resource: Subject) -> str | None:
    """The resource's own `tkestack.io/cluster` tag or label, unless not known yet."""
    try:
        return recorded_labels(resource.props).get(CLUSTER_LABEL)
    except (UnknownValueError, Unknowable):
        return None


EKS_CLUSTER = "aws:eks/cluster:Cluster"
TKE_CLUSTER = "tencentcloud:Kubernetes/cluster:Cluster"

ResourceCheck = Callable[[Subject, Mapping[str, Any]], Iterable[str]]
"""(resource, config) -> violation messages."""
StackCheck = Callable[[Stack, Mapping[str, Any]], Iterable[tuple[str | None, str]]]
"""(stack, config) -> (offending URN or None, message)."""


@dataclass(frozen=True)
class Rule:
    """One policy: metadata, config schema and its check."""

    name: str
    """kebab-case policy name, unique in the pack (public API: configs refer to it)."""
    group: Group
    description: str
    """States the rule, as a sentence."""
    severity: Severity
    anchor: str
    """The control it mirrors (CIS EKS item, Pod Security Standards control, scanner id), or
    `tkestack` when it is a house rule with no external equivalent."""
    remediation: str
    """What to change, in the spec when the spec controls it."""
    check: ResourceCheck | StackCheck
    types: frozenset[str] = frozenset()
    """Resource types a resource rule looks at (empty: every type; ignored by stack rules)."""
    stack: bool = False
    """True for a stack rule (sees every resource at once)."""
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON schema of each config property, each with a `default`."""
    level: Level = "advisory"
    """Enforcement level the pack declares; per-environment configs raise it."""

    @property
    def defaults(self) -> dict[str, Any]:
        """Config property defaults from the schema."""
        return {key: schema["default"] for key, schema in self.config.items()}

    def run(self, subject: Subject, config: Mapping[str, Any]) -> list[str]:
        """Violation messages of a resource rule for one resource (unknown -> none)."""
        if self.types and subject.type not in self.types:
            return []
        try:
            # Why the ignore below (both): `check` takes a Subject or a Stack by the rule's kind;
            # the kind chosen above matches it.
            return list(self.check(subject, config))  # type: ignore[arg-type]
        except (Unknowable, UnknownValueError):
            return []

    def run_stack(self, stack: Stack, config: Mapping[str, Any]) -> list[tuple[str | None, str]]:
        """Violations of a stack rule (unknown -> none)."""
        try:
            return list(self.check(stack, config))  # type: ignore[arg-type]
        except (Unknowable, UnknownValueError):
            return []


# ---------------------------------------------------------------- safe value access


def known(value: Any) -> Any:
    """`value`, or `Unknowable` when it is an unknown sentinel."""
    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
        raise Unknowable(value)
    return value


def get(props: Any, path: str, default: Any = None) -> Any:
    """`props["a"]["b"][0]` for path `a.b.0`; `default` when any step is missing.

    Raises `Unknowable` when a step is unknown during preview.
    """
    current = props
    for part in path.split("."):
        current = known(current)
        try:
            # `type(...) is dict` first: a plain value (direct evaluation) skips the ABC check.
            if type(current) is dict or isinstance(current, Mapping):
                if part not in current:
                    return default
                current = current[part]
            elif isinstance(current, Sequence) and not isinstance(current, str) and part.isdigit():
                index = int(part)
                if index >= len(current):
                    return default
                current = current[index]
            else:
                return default
        except UnknownValueError as error:
            raise Unknowable(str(error)) from None
    current = known(current)
    return default if current is None else current


def items(value: Any) -> list[Any]:
    """A list value as a list (`[]` for missing/non-lists); Unknowable if unknown."""
    value = known(value)
    if type(value) is list or (isinstance(value, Sequence) and not isinstance(value, str)):
        try:
            return [known(item) for item in value]
        except UnknownValueError as error:
            raise Unknowable(str(error)) from None
    return []


def mapping(value: Any) -> Mapping[str, Any]:
    """A map value (`{}` for missing/non-maps; JSON-encoded objects decoded)."""
    value = known(value)
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def boolean(value: Any, default: bool | None = None) -> bool | None:
    """A boolean from `True`/`"true"` (launch templates take strings); `default` if missing."""
    value = known(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


def number(value: Any) -> float | None:
    """A number (config values arrive as floats), or None."""
    value = known(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def strings(value: Any) -> list[str]:
    """A list of strings (non-strings dropped)."""
    return [item for item in items(value) if isinstance(item, str)]


def matches(value: str, patterns: Iterable[str]) -> bool:
    """Whether `value` matches one of the shell-style patterns."""
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def plain(value: Any, depth: int = 0) -> Any:
    """A deep plain copy of a (proxied) value; unknown leaves raise `Unknowable`."""
    value = known(value)
    if depth > 64:
        return None
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    try:
        if kind is dict:  # a plain value (direct evaluation): no proxy, no ABC check
            return {str(k): plain(item, depth + 1) for k, item in value.items()}
        if kind is list:
            return [plain(item, depth + 1) for item in value]
        if isinstance(value, Mapping):
            return {str(k): plain(value[k], depth + 1) for k in value}
        if isinstance(value, Sequence) and not isinstance(value, str):
            return [plain(item, depth + 1) for item in value]
    except UnknownValueError as error:
        raise Unknowable(str(error)) from None
    return value


def walk_dicts(value: Any, depth: int = 0) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every mapping inside a plain value, with its dotted path (for Helm values)."""
    if depth > 32:
        return
    if type(value) is dict or isinstance(value, Mapping):
        yield "", value
        for key in sorted(value, key=str):
            for path, found in walk_dicts(value[key], depth + 1):
                yield (f"{key}.{path}" if path else str(key)), found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for path, found in walk_dicts(item, depth + 1):
                yield (f"{index}.{path}" if path else str(index)), found


def schema(kind: str, default: Any, description: str, **extra: Any) -> dict[str, Any]:
    """A config property schema with its default."""
    return {"type": kind, "default": default, "description": description, **extra}


def string_list(default: list[str], description: str) -> dict[str, Any]:
    """A config property holding a list of strings."""
    return schema("array", default, description, items={"type": "string"})
