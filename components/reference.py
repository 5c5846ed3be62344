"""What each component takes and exports, read from the code: the source of the reference
sections of docs/components/*.md and of the outputs contract the tests hold the code to.

Fields are read the way the Pulumi schema analyzer reads them: an annotated name in a class
body, documented by the string right under it. Types are shown as written in the source.
`COMPONENTS` lists every public component with its arguments type, the nested argument types
worth a table of their own, its documentation page, and which of its outputs are secrets.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import textwrap
import typing
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields, is_dataclass
from functools import cache
from typing import Any

import pulumi
from pulumi.provider.experimental.util import camel_case

from .cluster import (
    AttachedArgs,
    Cluster,
    ClusterArgs,
    ExistingNetwork,
    ExistingRoles,
)
from .gpu_stack import GpuStack, GpuStackArgs
from .identity import (
    ClusterIdentity,
    ClusterIdentityArgs,
    WorkloadIdentity,
    WorkloadIdentityArgs,
)
from .node_pool import NodePool, NodePoolArgs, PoolSpec
from .observability import (
    Observability,
    ObservabilityArgs,
    PushCredential,
    PushTarget,
    ReceiverSettings,
    RetentionSettings,
)
from .platform_services import PlatformServices, PlatformServicesArgs
from .registry import Registry, RegistryArgs
from .registry_namespace import (
    RegistryHandle,
    RegistryNamespace,
    RegistryNamespaceArgs,
    RegistrySettings,
)
from .tenant import (
    ContainerDefaults,
    Tenant,
    TenantArgs,
    TenantQuota,
    WorkloadIdentitySettings,
)

PACKAGE = "tkestack"


@dataclass(frozen=True)
class Field:
    """One documented field of an arguments type or one output attribute of a component."""

    name: str
    annotation: str
    """The type as written in the source."""
    required: bool
    """Arguments: the caller must give it. Outputs: always set (the type admits no None)."""
    doc: str
    """The docstring under the field, dedented; empty when there is none."""

    @property
    def default(self) -> str:
        """The default the docstring states (`Default false.`, `default: the cluster's`), or
        an empty string."""
        found = re.search(r"\b[Dd]efault(?: is|:)?\s+(.+?)(?:\.(?:\s|$)|;|$)", self.doc, re.S)
        return " ".join(found.group(1).split()) if found else ""


@dataclass(frozen=True)
class ComponentEntry:
    """A public component as the documentation and the contract tests see it."""

    component: type[pulumi.ComponentResource]
    args: type
    page: str
    """Its page under docs/components/."""
    types: tuple[type, ...] = ()
    """Argument types nested in `args` that get a table of their own."""
    secret_outputs: frozenset[str] = frozenset()
    """Outputs that are always Pulumi secrets (the others never are)."""

    @property
    def type_token(self) -> str:
        """`tkestack:index:<Class>`."""
        return f"{PACKAGE}:index:{self.component.__name__}"


COMPONENTS: tuple[ComponentEntry, ...] = (
    ComponentEntry(
        Cluster,
        ClusterArgs,
        "cluster.md",
        (AttachedArgs, ExistingNetwork, ExistingRoles),
        frozenset({"kubeconfig"}),
    ),
    ComponentEntry(NodePool, NodePoolArgs, "node_pool.md", (PoolSpec,)),
    ComponentEntry(PlatformServices, PlatformServicesArgs, "platform_services.md"),
    ComponentEntry(
        Registry,
        RegistryArgs,
        "registry.md",
        (RegistrySettings, RegistryHandle),
        frozenset({"harbor_admin_password"}),
    ),
    ComponentEntry(
        RegistryNamespace, RegistryNamespaceArgs, "registry.md", (), frozenset({"pull_secret"})
    ),
    ComponentEntry(
        Observability,
        ObservabilityArgs,
        "observability.md",
        (RetentionSettings, PushTarget, PushCredential, ReceiverSettings),
        frozenset({"grafana_admin_password", "push_password"}),
    ),
    ComponentEntry(GpuStack, GpuStackArgs, "gpu_stack.md"),
    ComponentEntry(
        Tenant,
        TenantArgs,
        "tenant.md",
        (TenantQuota, ContainerDefaults, WorkloadIdentitySettings),
    ),
    ComponentEntry(ClusterIdentity, ClusterIdentityArgs, "tenant.md"),
    ComponentEntry(WorkloadIdentity, WorkloadIdentityArgs, "tenant.md"),
)
"""Every public component, in the order of `components/__init__.py`."""


@cache
def _class_body(cls: type) -> list[tuple[str, str, str]]:
    """(name, annotation source, docstring) of every annotated name in `cls`'s own body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = next(node for node in tree.body if isinstance(node, ast.ClassDef)).body
    found: list[tuple[str, str, str]] = []
    for index, node in enumerate(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        following = body[index + 1] if index + 1 < len(body) else None
        doc = ""
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            doc = inspect.cleandoc(following.value.value)
        found.append((node.target.id, ast.unparse(node.annotation), doc))
    return found


def _unwrapped(annotation: str) -> str:
    """`Required[X]` / `NotRequired[X]` -> `X` (requiredness has its own column)."""
    match = re.fullmatch(r"(?:Not)?Required\[(.*)\]", annotation)
    return match.group(1) if match else annotation


def argument_fields(args: type) -> list[Field]:
    """Every field of an arguments TypedDict (with its bases) or dataclass, in source order."""
    if is_dataclass(args):
        required = {
            field.name
            for field in fields(args)
            if field.default is MISSING and field.default_factory is MISSING
        }
        names = {field.name for field in fields(args)}
        return [
            Field(name, annotation, name in required, doc)
            for name, annotation, doc in _class_body(args)
            if name in names
        ]
    if not typing.is_typeddict(args):
        raise TypeError(f"{args.__name__} is neither a TypedDict nor a dataclass")
    result: list[Field] = []
    for base in _typed_dict_lineage(args):
        for name, annotation, doc in _class_body(base):
            result.append(Field(name, _unwrapped(annotation), _required(base, annotation), doc))
    return result


@cache
def _typed_dict_lineage(typed_dict: type) -> tuple[type, ...]:
    """`typed_dict` after the TypedDicts it extends, bases first. At runtime a TypedDict
    keeps no trace of its bases (its `__mro__` is itself, dict, object), so they are read
    from the class statement and looked up in its module. Cached like `_class_body`: on
    Python 3.11 `inspect.getsource` of a class parses its whole module, and the package
    provider's schema asks for every arguments type's fields many times."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(typed_dict)))
    statement = next(node for node in tree.body if isinstance(node, ast.ClassDef))
    module = sys.modules[typed_dict.__module__]
    lineage: list[type] = []
    for base in statement.bases:
        found = getattr(module, base.id, None) if isinstance(base, ast.Name) else None
        if found is not None and typing.is_typeddict(found):
            lineage += [known for known in _typed_dict_lineage(found) if known not in lineage]
    return (*lineage, typed_dict)


def _required(typed_dict: type, annotation: str) -> bool:
    """Whether a TypedDict key is required, from its annotation's source: the modules use
    postponed annotations, under which Python 3.11 cannot see `Required`/`NotRequired` and
    `__required_keys__` would only reflect `total`."""
    if annotation.startswith("Required["):
        return True
    if annotation.startswith("NotRequired["):
        return False
    return bool(getattr(typed_dict, "__total__", True))


def output_fields(component: type[pulumi.ComponentResource]) -> list[Field]:
    """The component's outputs: the attributes annotated in its class body."""
    return [
        Field(name, annotation, "None" not in annotation, doc)
        for name, annotation, doc in _class_body(component)
        if not name.startswith("_")
    ]


def entry(component: type[pulumi.ComponentResource]) -> ComponentEntry:
    """The `COMPONENTS` entry of `component`."""
    return next(found for found in COMPONENTS if found.component is component)


# -- Markdown ----------------------------------------------------------------------------------

BEGIN = "<!-- reference: {} (generated from the code: TKESTACK_UPDATE_DOCS=1 pytest tests/components/test_docs.py) -->"  # noqa: E501
END = "<!-- end of reference: {} -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _type_cell(annotation: str) -> str:
    return f"`{_cell(annotation)}`"


def _argument_table(fields_: list[Field]) -> list[str]:
    lines = [
        "| Input | Type | Required | Default | Description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for field in fields_:
        lines.append(
            f"| `{field.name}` | {_type_cell(field.annotation)} |"
            f" {'yes' if field.required else 'no'} | {_cell(field.default) or '—'} |"
            f" {_cell(field.doc)} |"
        )
    return lines


def reference_section(found: ComponentEntry) -> str:
    """The generated Markdown reference of one component (inputs, nested types, outputs)."""
    component = found.component
    name = component.__name__
    module = component.__module__.rsplit(".", 1)[-1]
    lines = [
        BEGIN.format(name),
        f"## Reference: `{name}`",
        "",
        f"`{module}.{name}(name, args: {found.args.__name__}, opts=None)`, type token"
        f" `{found.type_token}`, importable from `tkestack.components`.",
        "",
        f"### Inputs (`{found.args.__name__}`)",
        "",
        *_argument_table(argument_fields(found.args)),
    ]
    for nested in found.types:
        lines += ["", f"#### `{nested.__name__}`", "", *_argument_table(argument_fields(nested))]
    lines += [
        "",
        "### Outputs",
        "",
        "| Output | Type | Secret | Description |",
        "| --- | --- | --- | --- |",
    ]
    for field in output_fields(component):
        secret = "yes" if field.name in found.secret_outputs else "no"
        lines.append(
            f"| `{field.name}` | {_type_cell(field.annotation)} | {secret} | {_cell(field.doc)} |"
        )
    lines.append(END.format(name))
    return "\n".join(lines) + "\n"


def with_references(page_text: str, entries: list[ComponentEntry]) -> str:
    """`page_text` with the reference section of each entry replaced (or appended at the
    end, in `entries` order, when the page has none yet)."""
    text = page_text
    for found in entries:
        text = with_section(text, found.component.__name__, reference_section(found))
    return text


# -- the package (docs/components/package.md) --------------------------------------------------


def _schema_type(spec: Mapping[str, Any]) -> str:
    """A schema property's type as the page shows it: `string`, `NodePoolSpec[]`,
    `map<string, string>`."""
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit(":", 1)[-1]
    if spec.get("type") == "array":
        return f"{_schema_type(spec['items'])}[]"
    if spec.get("type") == "object" and "additionalProperties" in spec:
        return f"map<string, {_schema_type(spec['additionalProperties'])}>"
    return str(spec.get("type", "any"))


def _schema_table(
    properties: Mapping[str, Any], required: Sequence[str], secret: frozenset[str] | None
) -> list[str]:
    last = "Secret" if secret is not None else "Required"
    lines = [f"| Property | Type | {last} | Description |", "| --- | --- | --- | --- |"]
    for name, spec in properties.items():
        flag = name in secret if secret is not None else name in required
        lines.append(
            f"| `{name}` | `{_schema_type(spec)}` | {'yes' if flag else 'no'} |"
            f" {_cell(str(spec.get('description') or ''))} |"
        )
    return lines


def package_reference(schema: Mapping[str, Any]) -> str:
    """The generated reference of the component package, from its schema (the golden file)
    and `package.SECRET_OUTPUTS` (which the schema cannot express)."""
    from .package import SECRET_OUTPUTS  # local: the package module is heavier to import

    lines = [BEGIN.format("package"), f"## Package `{schema['name']}` {schema['version']}"]
    for token, resource in schema["resources"].items():
        name = token.rsplit(":", 1)[-1]
        secret = frozenset(camel_case(output) for output in SECRET_OUTPUTS[name])
        lines += ["", f"### `{token}`", "", _cell(resource.get("description") or ""), ""]
        lines += ["Inputs:", ""]
        lines += _schema_table(
            resource["inputProperties"], resource.get("requiredInputs", []), None
        )
        lines += ["", "Outputs:", ""]
        lines += _schema_table(resource["properties"], resource.get("required", []), secret)
    lines += ["", "### Types"]
    for token, type_ in schema["types"].items():
        lines += [
            "",
            f"#### `{token.rsplit(':', 1)[-1]}`",
            "",
            _cell(type_.get("description") or ""),
        ]
        if "enum" in type_:
            lines += ["", "| Value | Description |", "| --- | --- |"]
            lines += [
                f"| `{value['value']}` | {_cell(str(value.get('description') or ''))} |"
                for value in type_["enum"]
            ]
        else:
            lines += [""]
            lines += _schema_table(type_.get("properties", {}), type_.get("required", []), None)
    lines.append(END.format("package"))
    return "\n".join(lines) + "\n"


def with_section(page_text: str, key: str, section: str) -> str:
    """`page_text` with the generated section `key` replaced by `section` (or appended)."""
    pattern = re.compile(
        re.escape(BEGIN.format(key)) + r".*?" + re.escape(END.format(key)) + r"\n", re.S
    )
    if pattern.search(page_text):
        return pattern.sub(lambda _: section, page_text)
    return page_text.rstrip("\n") + "\n\n" + section
