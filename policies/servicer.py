"""The pack's analyzer calls, each doing its work once per call.

`pulumi_policy`'s analyzer (`_PolicyAnalyzerServicer`, pulumi-policy 1.21.0
`pulumi_policy/policy.py`) runs every resource policy on every resource and, per policy,
converts the request's properties (`json_format.MessageToDict`), deserializes them, wraps
them in its unknown-checking proxy, and builds the resource's options and its provider (whose
properties it decodes again); `AnalyzeStack` rebuilds every resource of the stack once per
stack policy. On a fleet of thousands of resources that is almost all of the pack's time.

`install(types)` replaces `Analyze` and `AnalyzeStack` with methods that answer the same:

- `Analyze` runs only the policies that look at the resource's type (`types`: policy name ->
  the resource types it declares, from the rules' own `Rule.types`; a policy not named there
  sees every type), and builds the properties view, the options and the provider once for
  all of them;
- `AnalyzeStack` converts each resource once, and hands the one list to every stack policy.

Everything else per policy is the library's own handling, in the library's order: its
enforcement level (disabled policies skipped), the remediate-to-mandatory downgrade, the
"does not implement validate" answer, `report_violation`, and the answers for a value unknown
during preview and for a policy that declares itself not applicable. The policies of one
call share one read-only view of the properties: the rules never write to what they check
(`tests/policies/test_servicer.py` checks that, and that every answer is the library's).

When the installed `pulumi_policy` lacks what this relies on (listed in
`tkestack/sdk_internals.py`), `install()` changes nothing and returns False: the pack stays
correct, only slower. `TKESTACK_PACK_LIBRARY_LOOP=1` in the pack's environment keeps the
library's own loop (`policies/__main__.py`), to measure one against the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from inspect import isawaitable
from typing import Any, cast

from pulumi_policy import policy as _library

from .library_surface import LIBRARY_INTERNALS, SERVICER_HELPERS

# Why Any: this module reaches pulumi_policy's internals (its proto module, decoding helpers,
# private exceptions), which the package does not export; each is listed in
# tkestack/sdk_internals.py and checked present by `supported()`.
library: Any = _library

LIBRARY_LOOP_ENV = "TKESTACK_PACK_LIBRARY_LOOP"
"""Set to `1` in the pack's environment to keep pulumi_policy's own analyzer loop."""

_INSTALLED_MARK = "_tkestack_once_per_call"
_PRIVATE = "_PolicyAnalyzerServicer__"  # the servicer's name-mangled private attributes
_NEEDED = (
    "ResourceValidationPolicy",
    "StackValidationPolicy",
    "EnforcementLevel",
    "UnknownValueError",
    *LIBRARY_INTERNALS,
)
_SERVICER_METHODS = ("Analyze", "AnalyzeStack", *SERVICER_HELPERS)


def _private(servicer: Any, name: str) -> Any:
    return getattr(servicer, _PRIVATE + name)


def _run(policy: Any, args: Any, report_violation: Any) -> None:
    result = policy.validate(args, report_violation)
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        task = asyncio.Task(cast(Any, result), loop=loop)
        loop.run_until_complete(task)
        loop.close()


def _run_answering(servicer: Any, response: Any, policy: Any, args: Any, report: Any) -> None:
    """Run one policy; an unknown value or a not-applicable policy answered as the library
    answers them."""
    try:
        _run(policy, args, report)
    except library.UnknownValueError as e:
        name, version = (
            _private(servicer, "policy_pack_name"),
            _private(servicer, "policy_pack_version"),
        )
        response.diagnostics.append(
            library.proto.AnalyzeDiagnostic(
                policyName=policy.name,
                policyPackName=name,
                policyPackVersion=version,
                message=(
                    f"can't run policy '{policy.name}' from policy pack "
                    f"'{name}@v{version}' during preview: {e.message}"
                ),
                urn="",
                description=policy.description,
                enforcementLevel=servicer._map_enforcement_level(library.EnforcementLevel.ADVISORY),
            )
        )
    except library._NotApplicableError as e:
        response.not_applicable.append(
            library.proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or "")
        )


def _reporter(servicer: Any, response: Any, policy: Any, enforcement_level: Any) -> Any:
    """The library's `report_violation` for `policy`; a remediate level is reported as
    mandatory (remediation ran before, or cannot run for a stack policy)."""
    if enforcement_level == library.EnforcementLevel.REMEDIATE:
        enforcement_level = library.EnforcementLevel.MANDATORY
    return servicer._create_report_violation(
        response, policy.name, policy.description, enforcement_level, policy.severity
    )


def _properties(message: Any) -> Any:
    return library.unknown_checking_proxy(
        library.deserialize_properties(library.json_format.MessageToDict(message))
    )


def _make_analyze(types: Mapping[str, frozenset[str]]) -> Any:
    by_type: dict[str, list[Any]] = {}  # resource type -> the resource policies that see it

    def applicable(servicer: Any, resource_type: str) -> list[Any]:
        found = by_type.get(resource_type)
        if found is None:
            found = [
                policy
                for policy in _private(servicer, "policies")
                if isinstance(policy, library.ResourceValidationPolicy)
                and (policy.name not in types or resource_type in types[policy.name])
            ]
            by_type[resource_type] = found
        return found

    def analyze(self: Any, request: Any, _context: Any) -> Any:
        self._configure_runtime_settings()
        response = library.proto.AnalyzeResponse()
        shared: tuple[Any, Any, Any] | None = None  # props, options, provider: built once
        for policy in applicable(self, request.type):
            enforcement_level = self._get_enforcement_level(policy)
            if enforcement_level == library.EnforcementLevel.DISABLED:
                continue
            if not policy.has_validation():
                response.not_applicable.append(
                    library.proto.PolicyNotApplicable(
                        policy_name=policy.name, reason="Policy does not implement validate"
                    )
                )
                continue
            report = _reporter(self, response, policy, enforcement_level)
            if shared is None:
                shared = (
                    _properties(request.properties),
                    self._get_resource_options(request),
                    self._get_provider_resource(request),
                )
            props, opts, provider = shared
            args = library.ResourceValidationArgs(
                request.type,
                props,
                request.urn,
                request.name,
                opts,
                provider,
                self._get_policy_config(policy.name),
                _private(self, "stack_tags"),
            )
            _run_answering(self, response, policy, args, report)
        return response

    return analyze


def _stack_resources(servicer: Any, request: Any) -> list[Any]:
    """Every resource of the request as a `PolicyResource`, parents and dependencies linked
    (the library's construction, once)."""
    built: list[tuple[Any, str, list[str], dict[str, list[str]]]] = []
    for r in request.resources:
        resource = library.PolicyResource(
            r.type,
            _properties(r.properties),
            r.urn,
            r.name,
            servicer._get_resource_options(r),
            servicer._get_provider_resource(r),
            None,
            [],
            {},
        )
        property_dependencies = {k: list(v.urns) for k, v in r.propertyDependencies.items()}
        built.append((resource, r.parent, list(r.dependencies), property_dependencies))
    by_urn = {resource.urn: resource for resource, *_ in built}
    for resource, parent, dependencies, property_dependencies in built:
        if parent is not None and parent in by_urn:
            resource.parent = by_urn[parent]
        resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
        for key, urns in property_dependencies.items():
            resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
    return [resource for resource, *_ in built]


def _analyze_stack(self: Any, request: Any, _context: Any) -> Any:
    self._configure_runtime_settings()
    response = library.proto.AnalyzeResponse()
    resources: list[Any] | None = None
    for policy in _private(self, "policies"):
        enforcement_level = self._get_enforcement_level(policy)
        if enforcement_level == library.EnforcementLevel.DISABLED or not isinstance(
            policy, library.StackValidationPolicy
        ):
            continue
        report = _reporter(self, response, policy, enforcement_level)
        if resources is None:
            resources = _stack_resources(self, request)
        args = library.StackValidationArgs(
            resources, self._get_policy_config(policy.name), _private(self, "stack_tags")
        )
        _run_answering(self, response, policy, args, report)
    return response


def supported() -> bool:
    """Whether the installed pulumi_policy has every internal this relies on."""
    servicer = getattr(library, "_PolicyAnalyzerServicer", None)
    if servicer is None or not all(hasattr(library, name) for name in _NEEDED):
        return False
    return all(callable(getattr(servicer, name, None)) for name in _SERVICER_METHODS)


def install(types: Mapping[str, Iterable[str]]) -> bool:
    """Make each `Analyze`/`AnalyzeStack` call of this process's pack do its work once.

    `types`: policy name -> the resource types the policy looks at (policies not named see
    every type). Returns True when installed (or already), False when `pulumi_policy` does not
    have the shape this relies on (then nothing is changed).
    """
    if not supported():
        return False
    servicer = library._PolicyAnalyzerServicer
    if getattr(servicer, _INSTALLED_MARK, False):
        return True
    frozen = {name: frozenset(found) for name, found in types.items()}
    library_analyze, library_analyze_stack = servicer.Analyze, servicer.AnalyzeStack
    analyze = _make_analyze(frozen)
    analyze.__wrapped__ = library_analyze
    # Why the ignore below: a function takes the attribute at run time (as functools.wraps sets
    # it); the checker's type of a def has no such attribute.
    _analyze_stack.__wrapped__ = library_analyze_stack  # type: ignore[attr-defined]
    servicer.Analyze = analyze
    servicer.AnalyzeStack = _analyze_stack
    setattr(servicer, _INSTALLED_MARK, True)
    return True
