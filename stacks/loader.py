"""Load an environment: layer the shared base, the tier overlay and the stack's own config,
validate the result, and report every problem with its key path, file and line.

Layers, lowest first (a later layer wins):

1. `stacks/base.yaml`            shared defaults of every environment
2. `stacks/tiers/<tier>.yaml`    hardening per tier (dev, staging, prod)
3. `Pulumi.<env>.yaml`           the stack config value `tkestack:environment`

Mappings merge key by key; lists and scalars are replaced whole by the later layer. A layer
may carry `defaults.cluster` and `defaults.node_pool`: they are merged under every cluster and
every node pool, so common settings are written once. `defaults` itself is not part of the
environment.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import ValidationError

from ..components.validation import as_object, is_array, is_object
from .problems import KeyPath, PathPart, Problem, format_path
from .rules import environment_problems
from .rules_access import account_sharing_problems
from .spec import EnvironmentSpec
from .suggest import unknown_key_message

STACKS_DIR = Path(__file__).resolve().parent
BASE_FILE = STACKS_DIR / "base.yaml"
TIERS_DIR = STACKS_DIR / "tiers"
PROJECT_NAMESPACE = "tkestack"
ENVIRONMENT_KEY = f"{PROJECT_NAMESPACE}:environment"
DEFAULTS_KEYS = ("cluster", "node_pool")


@dataclass
class Layer:
    """One YAML document that contributes to the environment."""

    file: str
    """How the file is named in messages (relative to the project when possible)."""
    data: dict[str, Any]
    """The environment part of the document."""
    prefix: KeyPath = ()
    """Where the environment sits inside the document (`config`, `tkestack:environment`)."""
    lines: dict[KeyPath, int] = field(default_factory=dict[KeyPath, int])
    """1-based line of every key path of the document, when the text was available."""


@dataclass(frozen=True)
class Located:
    """A problem with the file and line where the offending value is written."""

    problem: Problem
    file: str
    line: int | None
    written_at: str
    """Key path inside that file (differs from the environment path for `defaults`)."""

    def render(self) -> str:
        """One line: `Pulumi.dev.yaml:42: tkestack:environment.clusters[0].region: message`."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f"{ENVIRONMENT_KEY}.{self.problem.dotted}" if self.problem.path else ENVIRONMENT_KEY
        via = f" (set at {self.written_at})" if self.written_at != self.problem.dotted else ""
        label = "" if self.problem.severity == "error" else "warning: "
        return f"{where}: {label}{key}{via}: {self.problem.message}"


class SpecError(Exception):
    """The environment spec is invalid: every problem, located, in one exception."""

    def __init__(self, located: Sequence[Located]) -> None:
        self.located = list(located)
        super().__init__(self.report())

    @property
    def problems(self) -> list[Problem]:
        """The problems without their location."""
        return [item.problem for item in self.located]

    def report(self) -> str:
        """Human-readable report, one problem a line, in document order."""
        errors = [item for item in self.located if item.problem.severity == "error"]
        lines = [item.render() for item in self.located]
        head = f"invalid environment spec: {len(errors)} problem{'s' if len(errors) != 1 else ''}"
        return "\n".join([head, *(f"  {line}" for line in lines)])


@dataclass
class LoadedEnvironment:
    """A valid environment with the warnings found while loading it."""

    spec: EnvironmentSpec
    warnings: list[Located]
    layers: list[Layer]


def _line_index(text: str, prefix: KeyPath = ()) -> dict[KeyPath, int]:
    """Map every key path in a YAML text to its 1-based line; {} when it does not parse."""
    index = _whole_line_index(text)
    strip = len(prefix)
    return {path[strip:]: line for path, line in index.items() if path[:strip] == prefix}


@functools.lru_cache(maxsize=32)
def _whole_line_index(text: str) -> dict[KeyPath, int]:
    """`_line_index` of the whole text, kept for the last texts indexed (read-only: callers
    get a new dict). One environment's files are indexed once per stack and validation
    (prod: five stacks), and the tests index the shipped files hundreds of times."""
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    index: dict[KeyPath, int] = {}

    def walk(node: yaml.Node, path: KeyPath) -> None:
        index.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = (*path, key_node.value)
                index[key] = key_node.start_mark.line + 1
                walk(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                walk(item, (*path, position))

    if root is not None:
        walk(root, ())
    return index


def read_yaml_file(path: Path, display: str) -> tuple[Any, str]:
    """Parse one YAML file; a missing, unreadable or malformed file is a SpecError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError([_whole_file(display, f"cannot read: {error.strerror}")]) from None
    except UnicodeDecodeError as error:
        # YAML stack files are UTF-8 (YAML 1.2 and the Pulumi CLI read them so).
        raise SpecError(
            [
                _whole_file(
                    display,
                    f"is not UTF-8 text (byte {error.object[error.start]:#04x} at offset"
                    f" {error.start}); save it as UTF-8",
                )
            ]
        ) from None
    try:
        return copy.deepcopy(_parsed(text)), text
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        line = mark.line + 1 if mark is not None else None
        raise SpecError(
            [Located(Problem((), f"not valid YAML: {reason}"), display, line, "")]
        ) from None


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> Any:
    """`yaml.safe_load(text)`, kept for the last texts parsed (the same pure-Python parser:
    user input, whose error messages and marks the spec errors quote; an error is raised
    again, never kept). Read-only: `read_yaml_file` hands out a deep copy. The same base,
    tier and sibling files are read for every stack and validation of an environment."""
    return yaml.safe_load(text)


def _whole_file(display: str, message: str) -> Located:
    return Located(Problem((), message), display, None, "")


def _layer_from_file(path: Path, display: str, *, optional: bool) -> Layer | None:
    if optional and not path.exists():
        return None
    data, text = read_yaml_file(path, display)
    if data is None:
        data = dict[str, Any]()
    if not is_object(data):
        raise SpecError([_whole_file(display, "must be a mapping of environment keys")])
    return Layer(display, data, (), _line_index(text))


@functools.cache
def _tier_data(tier: str) -> dict[str, Any]:
    layer = _layer_from_file(TIERS_DIR / f"{tier}.yaml", f"stacks/tiers/{tier}.yaml", optional=True)
    return layer.data if layer is not None else {}


def tier_default(tier: str, *keys: str) -> Any:
    """The value the shipped `stacks/tiers/<tier>.yaml` sets at `keys` (None where it sets
    none). The tier YAML is the one source of tier defaults: a loaded environment already
    carries them (the loader layers the file); this answers for a spec built without the
    loader. Read-only: the parsed file is cached."""
    value: Any = _tier_data(tier)
    for key in keys:
        if not is_object(value):
            return None
        value = value.get(key)
    return value


def merge(lower: Any, upper: Any) -> Any:
    """Deep-merge two YAML values: mappings key by key, anything else replaced by `upper`."""
    if isinstance(lower, Mapping) and isinstance(upper, Mapping):
        # Parsed YAML: string keys, values still to be checked.
        below = cast("Mapping[str, Any]", lower)
        above = cast("Mapping[str, Any]", upper)
        merged = {key: copy.deepcopy(value) for key, value in below.items()}
        for key, value in above.items():
            merged[key] = merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(upper)


def _apply_defaults(env: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    cluster_defaults = as_object(defaults.get("cluster"))
    pool_defaults = as_object(defaults.get("node_pool"))
    clusters = env.get("clusters")
    if not is_array(clusters):
        return env
    applied: list[Any] = []
    for cluster in clusters:
        if not is_object(cluster):
            applied.append(cluster)
            continue
        cluster = merge(cluster_defaults, cluster)
        pools = cluster.get("node_pools")
        if is_array(pools):
            cluster["node_pools"] = [
                merge(pool_defaults, pool) if is_object(pool) else pool for pool in pools
            ]
        applied.append(cluster)
    return {**env, "clusters": applied}


def _defaults_problems(layer: Layer) -> list[Located]:
    defaults = layer.data.get("defaults")
    if defaults is None:
        return []
    if not is_object(defaults):
        problem = Problem(("defaults",), "must be a mapping with `cluster` and/or `node_pool`")
        return [Located(problem, layer.file, layer.lines.get(("defaults",)), "defaults")]
    located: list[Located] = []
    for key in defaults:
        if key not in DEFAULTS_KEYS:
            problem = Problem(
                ("defaults", key), f"unknown defaults section (allowed: {', '.join(DEFAULTS_KEYS)})"
            )
            located.append(
                Located(problem, layer.file, layer.lines.get(("defaults", key)), f"defaults.{key}")
            )
    return located


def _lookup(data: Any, path: Sequence[PathPart]) -> bool:
    """Whether `path` exists in `data`."""
    node = data
    for part in path:
        if isinstance(part, int):
            if not is_array(node) or part >= len(node):
                return False
            node = node[part]
        else:
            if not is_object(node) or part not in node:
                return False
            node = node[part]
    return True


def _locate(problem: Problem, layers: Sequence[Layer]) -> Located:
    """Find the layer and line where the value a problem is about was written."""
    path = problem.path
    # 1. Written explicitly at that path: the highest layer that has it.
    for layer in reversed(layers):
        if path and _lookup(layer.data, path):
            return Located(problem, layer.file, layer.lines.get(path), format_path(path))
    # 2. Filled in from `defaults`.
    candidates: list[KeyPath] = []
    if len(path) > 4 and path[0] == "clusters" and path[2] == "node_pools":
        candidates.append(("defaults", "node_pool", *path[4:]))
    if len(path) > 2 and path[0] == "clusters" and path[2] != "node_pools":
        candidates.append(("defaults", "cluster", *path[2:]))
    for candidate in candidates:
        for layer in reversed(layers):
            if _lookup(layer.data, candidate):
                return Located(
                    problem, layer.file, layer.lines.get(candidate), format_path(candidate)
                )
    # 3. Missing: point at the deepest existing parent in the environment's own file.
    own = layers[-1]
    for cut in range(len(path), -1, -1):
        parent = path[:cut]
        if _lookup(own.data, parent):
            return Located(problem, own.file, own.lines.get(parent), format_path(path))
    return Located(problem, own.file, None, format_path(path))


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        path = tuple(item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = unknown_key_message(path)
        elif item["type"] == "missing":
            message = "required key is missing"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(Problem(path, message))
    return problems


def _path_order(problem: Problem) -> tuple[tuple[int, str], ...]:
    return tuple((part, "") if isinstance(part, int) else (-1, part) for part in problem.path)


def environment_from_layers(
    layers: Sequence[Layer], siblings: dict[str, Any] | None = None
) -> LoadedEnvironment:
    """Merge layers, apply defaults, validate; SpecError lists every problem found."""
    located: list[Located] = []
    for layer in layers:
        located.extend(_defaults_problems(layer))
    merged: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for layer in layers:
        layer_defaults = layer.data.get("defaults")
        if is_object(layer_defaults):
            defaults = merge(defaults, layer_defaults)
        merged = merge(merged, {k: v for k, v in layer.data.items() if k != "defaults"})
    merged = _apply_defaults(merged, defaults)

    problems: list[Problem] = []
    spec: EnvironmentSpec | None = None
    try:
        spec = EnvironmentSpec.model_validate(merged)
    except ValidationError as error:
        problems.extend(_pydantic_problems(error))
    problems.extend(environment_problems(merged))
    problems.extend(account_sharing_problems(merged, siblings or {}))
    unique = sorted(dict.fromkeys(problems), key=_path_order)
    found = [_locate(problem, layers) for problem in unique]
    # Report in the order the user reads the files: layer by layer, line by line.
    order = {layer.file: position for position, layer in enumerate(layers)}
    found.sort(key=lambda item: (order.get(item.file, len(layers)), item.line or 0))
    located.extend(found)
    errors = [item for item in located if item.problem.severity == "error"]
    if errors or spec is None:
        raise SpecError(located)
    return LoadedEnvironment(spec, located, list(layers))


def refuse(loaded: LoadedEnvironment, problems: Sequence[Problem]) -> None:
    """Raise a SpecError locating `problems` (found beyond the spec rules, e.g. by the
    program's plan) in the layers of `loaded`, with its warnings; nothing when none is an
    error."""
    if not any(problem.severity == "error" for problem in problems):
        return
    unique = sorted(dict.fromkeys(problems), key=_path_order)
    found = [_locate(problem, loaded.layers) for problem in unique]
    order = {layer.file: position for position, layer in enumerate(loaded.layers)}
    found.sort(key=lambda item: (order.get(item.file, len(loaded.layers)), item.line or 0))
    raise SpecError([*loaded.warnings, *found])


def stack_layer(environment: Any, display: str, text: str | None = None) -> Layer:
    """The stack's own layer: the `tkestack:environment` config value of `Pulumi.<env>.yaml`."""
    lines = _line_index(text, ("config", ENVIRONMENT_KEY)) if text is not None else {}
    if environment is None:
        raise SpecError(
            [
                _whole_file(
                    display,
                    f"no `{ENVIRONMENT_KEY}` config value: the environment spec goes under"
                    f" `config: {ENVIRONMENT_KEY}:`",
                )
            ]
        )
    if not is_object(environment):
        problem = Problem((), "must be a mapping (the environment spec)")
        raise SpecError([Located(problem, display, lines.get(()), "")])
    return Layer(display, environment, ("config", ENVIRONMENT_KEY), lines)


def load_environment(
    environment: Any,
    display: str,
    text: str | None = None,
    stacks_dir: Path = STACKS_DIR,
    siblings: dict[str, Any] | None = None,
) -> LoadedEnvironment:
    """Layer base, tier and the stack's config value, then validate.

    `environment` is the `tkestack:environment` config value, `display` the file name used in
    messages, and `text` that file's text when available (for line numbers). `siblings`: the
    project's other stack files' environments by file name (`sibling_environments`), for the
    one-account-per-environment rule.
    """
    own = stack_layer(environment, display, text)
    base = _layer_from_file(stacks_dir / "base.yaml", "stacks/base.yaml", optional=True)
    layers = [layer for layer in (base,) if layer is not None]
    tier = own.data.get("tier")
    if isinstance(tier, str) and tier in ("dev", "staging", "prod"):
        overlay = _layer_from_file(
            stacks_dir / "tiers" / f"{tier}.yaml", f"stacks/tiers/{tier}.yaml", optional=True
        )
        if overlay is not None:
            layers.append(overlay)
    layers.append(own)
    return environment_from_layers(layers, siblings or {})


def load_stack_file(path: Path, display: str | None = None) -> tuple[dict[str, Any], str]:
    """Read `Pulumi.<env>.yaml`: its `config` mapping and its text."""
    shown = display or path.name
    data, text = read_yaml_file(path, shown)
    if data is None:
        raise SpecError([_whole_file(shown, "is empty: expected `config:` with the environment")])
    if not is_object(data):
        raise SpecError([_whole_file(shown, "must be a mapping with a `config:` key")])
    config = data.get("config")
    if not is_object(config):
        raise SpecError([_whole_file(shown, "needs a `config:` mapping")])
    return config, text


def sibling_environments(stack_file: Path) -> dict[str, Any]:
    """The `tkestack:environment` values of the other `Pulumi.*.yaml` files beside
    `stack_file`, by file name. Unreadable files are skipped: each reports its own problems
    when it is deployed. A cluster stack's config `Pulumi.<env>.<cluster>.yaml`, generated
    from its environment's file (`tkestack/orchestrate.py`), is that environment, not another."""
    found: dict[str, Any] = {}
    for path in sorted(stack_file.parent.glob("Pulumi.*.yaml")):
        if path.name == stack_file.name:
            continue
        if "." in path.name.removeprefix("Pulumi.").removesuffix(".yaml"):
            continue  # a derived stack's generated config (`<env>.<cluster>`): not an environment
        try:
            config, _ = load_stack_file(path)
        except SpecError:
            continue
        value = config.get(ENVIRONMENT_KEY)
        if is_object(value):
            found[path.name] = value
    return found
