"""One error model for bad inputs, and the formats Kubernetes and the clouds impose on them.

A problem is a property path and a message. Components collect every problem of their
arguments and raise them at once with `raise_problems`, before any child is created, as a
`pulumi.InputPropertiesError` (each problem an `InputPropertyErrorDetails`), so `pulumi
preview` lists them the Pulumi way for any language. The environment spec
(`stacks/loader.py`) reuses the same checks and adds the file and line.

The format checks below are plain functions and this module imports no Pulumi module (the
spec rules call them too; `tests/test_layers.py` measures it); the exception type lives in
`components/errors.py`. Each check cites where the format comes from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard, TypeVar

PathPart = str | int
KeyPath = tuple[PathPart, ...]


def format_path(path: Sequence[PathPart]) -> str:
    """`("clusters", 1, "node_pools", 0, "max_size")` -> `clusters[1].node_pools[0].max_size`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (`path`, a property path) and what."""

    path: KeyPath
    """Property path inside the input (the component's arguments, the environment value);
    empty for the whole input."""
    message: str
    """What is wrong and, where it helps, what would be right."""
    severity: Literal["error", "warning"] = "error"
    """Errors stop the deployment; warnings are reported and the run goes on."""

    @property
    def dotted(self) -> str:
        """The path as users write it: `clusters[1].node_pools[0].max_size`."""
        return format_path(self.path)

    def under(self, *prefix: PathPart) -> Problem:
        """The same problem, its path nested under `prefix`."""
        return Problem((*prefix, *self.path), self.message, self.severity)


T = TypeVar("T")


# -- parsed YAML and JSON --------------------------------------------------------------------
# A stack file or a config value is JSON-like (`yaml.safe_load`, `json.loads`): objects have
# string keys, and a value is anything until a check reads it. These narrow such a value for
# the type checker the way `isinstance(value, dict)` does for Python, but to the JSON shape,
# so reading a key gives a value still to be checked instead of an unknown type.


def is_object(value: object) -> TypeGuard[dict[str, Any]]:
    """Whether a parsed value is a JSON/YAML object (a `dict`)."""
    return isinstance(value, dict)


def is_array(value: object) -> TypeGuard[list[Any]]:
    """Whether a parsed value is a JSON/YAML array (a `list`)."""
    return isinstance(value, list)


def as_object(value: object) -> dict[str, Any]:
    """A parsed value as an object; `{}` when it is not one (its shape is reported where it
    is checked)."""
    return value if is_object(value) else {}


def checked(value: T | None, key: str) -> T:
    """An optional argument the component's own checks required before anything registered
    (their `ArgumentsError` names it): here it is read as present. A None reaching this is a
    bug in those checks, not an input problem."""
    if value is None:
        raise ValueError(f"{key}: required, and let through by the argument checks")
    return value


def as_problem(item: Problem | str) -> Problem:
    """A `Problem`; a legacy `"path: message"` string is split at its first `": "`."""
    if isinstance(item, Problem):
        return item
    path, separator, message = item.partition(": ")
    if not separator or " " in path:
        return Problem((), item)
    return Problem((path,), message)


# -- Kubernetes formats ---------------------------------------------------------------------
# kubernetes/apimachinery pkg/util/validation/validation.go (v0.33): qualified names
# (label keys, taint keys) are an optional DNS-1123 subdomain prefix (<= 253) and `/`, then
# a name of <= 63 characters `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`; a label value is
# empty or such a name (<= 63); a DNS-1123 label is `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (<= 63).

_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
"""kubernetes/kubernetes staging/src/k8s.io/api/core/v1/types.go (`TaintEffect` constants);
`ValidateTaintsInNodeAnnotations`/`validateNodeTaints` (pkg/apis/core/validation) accept only
these, a key that is a qualified name and a value that is a label value."""

POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
"""Pod Security admission levels (kubernetes/pod-security-admission api/constants.go,
`LevelPrivileged`, `LevelBaseline`, `LevelRestricted`)."""

_QUANTITY = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|m|k|M|G|T|P|E)?$")
"""A non-negative `resource.Quantity` (kubernetes/apimachinery pkg/api/resource/quantity.go,
the serialization grammar in the `Quantity` doc: number, then a binary SI, decimal SI or
decimal exponent suffix). Negative quotas make no sense, so the sign `-` is refused."""


def dns_label_problems(
    value: Any, path: KeyPath, max_length: int = DNS1123_LABEL_MAX
) -> list[Problem]:
    """A DNS-1123 label (namespace, tenant and pool names), at most `max_length` characters."""
    if not isinstance(value, str) or not _DNS1123_LABEL.match(value):
        return [
            Problem(
                path,
                f"{value!r} is not a DNS-1123 label: lower-case letters, digits and '-',"
                " starting and ending with a letter or digit",
            )
        ]
    if len(value) > max_length:
        return [Problem(path, f"{value!r} is {len(value)} characters; at most {max_length}")]
    return []


def _qualified_name_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return f"{key!r} is not a string"
    prefix, slash, name = key.rpartition("/")
    if slash and (
        not prefix or len(prefix) > DNS1123_SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.match(prefix)
    ):
        return f"{key!r}: the prefix before '/' must be a lower-case DNS subdomain"
    if not name or len(name) > QUALIFIED_NAME_MAX or not _QUALIFIED_NAME.match(name):
        return (
            f"{key!r} is not a Kubernetes qualified name: at most {QUALIFIED_NAME_MAX}"
            " letters, digits, '-', '_' or '.', starting and ending with a letter or digit,"
            " after an optional DNS subdomain prefix and '/'"
        )
    return None


def label_problems(labels: Any, path: KeyPath) -> list[Problem]:
    """Node or namespace labels: qualified-name keys, label values (apimachinery rules)."""
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return [Problem(path, "must be a mapping of label keys to values")]
    problems = []
    for key, value in labels.items():
        reason = _qualified_name_problem(key)
        if reason is not None:
            problems.append(Problem((*path, str(key)), f"label key {reason}"))
        problems.extend(label_value_problems(value, (*path, str(key))))
    return problems


def label_value_problems(value: Any, path: KeyPath) -> list[Problem]:
    """A label (or taint) value: empty, or a qualified name part of at most 63 characters."""
    if not isinstance(value, str):
        return [Problem(path, f"label value {value!r} is not a string")]
    if value and (len(value) > LABEL_VALUE_MAX or not _QUALIFIED_NAME.match(value)):
        return [
            Problem(
                path,
                f"label value {value!r} must be empty or at most {LABEL_VALUE_MAX} letters,"
                " digits, '-', '_' or '.', starting and ending with a letter or digit",
            )
        ]
    return []


def taint_problems(key: Any, value: Any, effect: Any, path: KeyPath) -> list[Problem]:
    """One taint: qualified-name key, label value, one of the three effects."""
    problems = []
    reason = _qualified_name_problem(key)
    if reason is not None:
        problems.append(Problem((*path, "key"), f"taint key {reason}"))
    problems.extend(label_value_problems(value, (*path, "value")))
    if effect not in TAINT_EFFECTS:
        problems.append(
            Problem(
                (*path, "effect"), f"{effect!r} is not a taint effect ({', '.join(TAINT_EFFECTS)})"
            )
        )
    return problems


def quantity_problems(value: Any, path: KeyPath) -> list[Problem]:
    """A non-negative Kubernetes quantity (`8`, `500m`, `32Gi`)."""
    if not isinstance(value, str) or not _QUANTITY.match(value):
        return [Problem(path, f"{value!r} is not a Kubernetes quantity (e.g. '8', '500m', '32Gi')")]
    return []


def enum_problems(value: Any, allowed: Sequence[str], path: KeyPath) -> list[Problem]:
    """`value` is one of `allowed`."""
    if value not in allowed:
        return [Problem(path, f"{value!r} is not one of {', '.join(allowed)}")]
    return []
