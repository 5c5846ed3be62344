"""Offline driver for Pulumi CrossGuard policy packs (Python, ``pulumi-policy``).

Runs a policy pack the way the Pulumi engine does during ``pulumi preview --policy-pack
<dir>``, without the Pulumi CLI or any plugin binaries. One concern per module:

- `model.py`: what goes in and comes out (:class:`AnalyzerResource`, :class:`Violation`,
  :class:`PolicyInfo`, :class:`LogEntry`, :class:`PolicyPackError`, :class:`Secret`,
  :class:`Unknown`);
- `codec.py`: the wire format (properties as the engine marshals them, the requests it
  sends for a resource);
- `config.py`: the ``--policy-pack-config`` file, reconciled through the pack's one reading
  (`policies/pack_config.py`) and validated against the schemas the pack announced;
- `engine_service.py`: the minimal ``pulumirpc.Engine`` service the pack dials back to;
- `process.py`: launching the pack like ``pulumi-analyzer-policy-python``, collecting its
  output, interrupting, killing and reaping it;
- `runner.py`: :class:`PolicyPackRunner`, the engine's calls in the engine's order.

Example::

    with PolicyPackRunner(Path("policies/pack"), config={"s3-bucket-tags": "advisory"}) as pack:
        name, policies = pack.info()
        violations = pack.analyze([AnalyzerResource(urn=..., type=..., name=..., properties={})])
"""

from __future__ import annotations

from ..components.wire import SECRET_SIG
from .codec import (
    SPECIAL_SIG_KEY,
    analyze_request,
    decode_properties,
    encode_properties,
    stack_entry,
    stack_resource,
)
from .config import load_policy_config
from .model import (
    UNKNOWN,
    AnalysisReport,
    AnalyzerProvider,
    AnalyzerResource,
    CustomTimeouts,
    LogEntry,
    NotApplicable,
    PolicyInfo,
    PolicyPackError,
    Secret,
    Unknown,
    Violation,
)
from .runner import PolicyPackRunner

__all__ = [
    "SECRET_SIG",
    "SPECIAL_SIG_KEY",
    "UNKNOWN",
    "AnalysisReport",
    "AnalyzerProvider",
    "AnalyzerResource",
    "CustomTimeouts",
    "LogEntry",
    "NotApplicable",
    "PolicyInfo",
    "PolicyPackError",
    "PolicyPackRunner",
    "Secret",
    "Unknown",
    "Violation",
    "analyze_request",
    "decode_properties",
    "encode_properties",
    "load_policy_config",
    "stack_entry",
    "stack_resource",
]
