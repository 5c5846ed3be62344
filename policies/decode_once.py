"""Decode each resource's properties once per analyzer call instead of once per policy.

`pulumi_policy`'s analyzer (`_PolicyAnalyzerServicer.Analyze`) converts the request's
properties (`json_format.MessageToDict`), deserializes them and wraps them in its
unknown-checking proxy inside its loop over policies, and `AnalyzeStack` does the same for
every resource once per stack policy. With 48 resource policies that is 48 decodings of the
same message per resource (and of its provider's properties), which is over 90% of the
pack's time on a fleet; the rules themselves are a few percent.

`install()` makes those three steps return the result already computed for the same object
within one `Analyze` or `AnalyzeStack` call; outside such a call (and in `Remediate`, whose
policies may transform the properties they are given) nothing changes. Every policy of one
call then sees the same read-only view: the rules never write to the properties they check
(`tests/policies/test_decode_once.py` checks both that and that the analyzer's answers are
unchanged). When the installed `pulumi_policy` lacks what this relies on, `install()`
changes nothing and returns False: the pack stays correct, only slower.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pulumi_policy import policy as policy_module

_scope = threading.local()
_INSTALLED_MARK = "_tkestack_decode_once"


def _memo() -> dict[tuple[int, str, bool], tuple[object, Any]] | None:
    return getattr(_scope, "memo", None)


@contextmanager
def _call_scope() -> Iterator[None]:
    """One analyzer call: results are shared within it and dropped at its end (the memo holds
    every argument, so no object id is reused while it is alive)."""
    outer = _memo()
    _scope.memo = {} if outer is None else outer
    try:
        yield
    finally:
        _scope.memo = outer


def _shared(step: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function(value, *flags)`, computed once per (value object, flags) within a scope."""

    @functools.wraps(function)
    def shared(value: Any, *flags: Any, **options: Any) -> Any:
        memo = _memo()
        if memo is None or options:  # keyword arguments: a call this was not written for
            return function(value, *flags, **options)
        key = (id(value), step, bool(flags and flags[0]))
        found = memo.get(key)
        if found is not None and found[0] is value:
            return found[1]
        result = function(value, *flags)
        memo[key] = (value, result)
        return result

    return shared


class _JsonFormat:
    """`google.protobuf.json_format` as `pulumi_policy.policy` uses it, `MessageToDict`
    shared within a scope."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.MessageToDict = _shared("MessageToDict", module.MessageToDict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _scoped(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def scoped(self: Any, request: Any, context: Any) -> Any:
        with _call_scope():
            return method(self, request, context)

    return scoped


def install() -> bool:
    """Share decodings within each `Analyze`/`AnalyzeStack` call of this process's pack.

    Returns True when installed (or already), False when `pulumi_policy` does not have the
    shape this relies on (then nothing is changed).
    """
    servicer = getattr(policy_module, "_PolicyAnalyzerServicer", None)
    needed = ("deserialize_properties", "unknown_checking_proxy", "json_format")
    if servicer is None or not all(hasattr(policy_module, name) for name in needed):
        return False
    if not all(callable(getattr(servicer, name, None)) for name in ("Analyze", "AnalyzeStack")):
        return False
    if getattr(servicer, _INSTALLED_MARK, False):
        return True
    # Why the ignore below (these 3): patching pulumi_policy's module attributes (not exported in
    # its types); tkestack/sdk_internals.py lists and tests them.
    policy_module.deserialize_properties = _shared(  # type: ignore[attr-defined]
        "deserialize", policy_module.deserialize_properties
    )
    policy_module.unknown_checking_proxy = _shared(  # type: ignore[attr-defined]
        "proxy", policy_module.unknown_checking_proxy
    )
    policy_module.json_format = _JsonFormat(policy_module.json_format)  # type: ignore[attr-defined]
    servicer.Analyze = _scoped(servicer.Analyze)
    servicer.AnalyzeStack = _scoped(servicer.AnalyzeStack)
    setattr(servicer, _INSTALLED_MARK, True)
    return True
