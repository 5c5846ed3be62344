"""The analyzer protocol's wire format: property values as the engine marshals them, and the
requests it sends for a resource.

Property values are encoded like the engine's ``MarshalProperties`` with ``KeepUnknowns``,
``KeepSecrets`` and ``SkipInternalKeys`` (pulumi/pulumi `sdk/go/common/resource/plugin/rpc.go`):
a :class:`~.model.Secret` goes out with the secret signature, an :class:`~.model.Unknown` as
the engine's typed sentinel. Assets and archives are not encoded: a rendering holds none
(no component takes one), so a value of any other type is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from ..components.wire import SECRET_SIG, SIG_KEY, UNKNOWN_KINDS
from .model import AnalyzerResource, Secret, Unknown

SPECIAL_SIG_KEY = SIG_KEY
"""The signature key of secrets (one copy of the wire constants: `components/wire.py`)."""

LEVEL_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
PROTO_TO_LEVEL = {v: k for k, v in LEVEL_TO_PROTO.items()}
PROTO_TO_SEVERITY = {
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
PROTO_TO_POLICY_TYPE = {
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}

# Same limit the policy SDK and the engine use (400 MiB).
_MAX_RPC_MESSAGE_SIZE = 400 * 1024 * 1024
GRPC_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_RPC_MESSAGE_SIZE),
    ("grpc.max_send_message_length", _MAX_RPC_MESSAGE_SIZE),
]
"""Channel and server options of both sides of the protocol."""


def _encode_value(value: Any, path: str) -> struct_pb2.Value:
    if isinstance(value, Secret):
        secret = struct_pb2.Struct()
        secret.fields[SPECIAL_SIG_KEY].string_value = SECRET_SIG
        secret.fields["value"].CopyFrom(_encode_value(value.value, path))
        return struct_pb2.Value(struct_value=secret)
    if isinstance(value, Unknown):
        return struct_pb2.Value(string_value=value.sentinel)
    if value is None:
        return struct_pb2.Value(null_value=struct_pb2.NULL_VALUE)
    if isinstance(value, bool):
        return struct_pb2.Value(bool_value=value)
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise TypeError(f"property {path}: non-finite number {value!r} cannot be sent")
        return struct_pb2.Value(number_value=number)
    if isinstance(value, str):
        return struct_pb2.Value(string_value=value)
    if isinstance(value, Mapping):
        return struct_pb2.Value(struct_value=_encode_struct(value, path))
    if isinstance(value, list | tuple):
        items = [_encode_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return struct_pb2.Value(list_value=struct_pb2.ListValue(values=items))
    raise TypeError(f"property {path}: values of type {type(value).__name__} cannot be sent")


def _encode_struct(props: Mapping[str, Any], path: str) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    for key in sorted(props):
        if not isinstance(key, str):
            raise TypeError(f"property {path}: keys must be strings, got {key!r}")
        if key.startswith("__"):  # resource.IsInternalPropertyKey: skipped by the engine
            continue
        result.fields[key].CopyFrom(_encode_value(props[key], f"{path}.{key}" if path else key))
    return result


def encode_properties(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Encode resource properties the way the engine sends them to analyzers."""
    return _encode_struct(props, "")


def _decode_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and abs(number) < 2**53:
            return int(number)
        return number
    if kind == "string_value":
        unknown_kind = UNKNOWN_KINDS.get(value.string_value)
        return Unknown(unknown_kind) if unknown_kind else value.string_value
    if kind == "list_value":
        return [_decode_value(v) for v in value.list_value.values]
    fields = value.struct_value.fields
    if SPECIAL_SIG_KEY in fields and fields[SPECIAL_SIG_KEY].string_value == SECRET_SIG:
        return Secret(_decode_value(fields["value"]) if "value" in fields else None)
    return {k: _decode_value(v) for k, v in sorted(fields.items())}


def decode_properties(props: struct_pb2.Struct) -> dict[str, Any]:
    """Decode a property struct; secrets become :class:`Secret`, unknowns :class:`Unknown`."""
    return {k: _decode_value(v) for k, v in sorted(props.fields.items())}


def resource_options(resource: AnalyzerResource) -> analyzer_pb2.AnalyzerResourceOptions:
    """The options the engine sends with a resource (``AnalyzerResourceOptions``)."""
    timeouts = resource.custom_timeouts
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=list(resource.ignore_changes),
        deleteBeforeReplace=bool(resource.delete_before_replace),
        deleteBeforeReplaceDefined=resource.delete_before_replace is not None,
        additionalSecretOutputs=list(resource.additional_secret_outputs),
        aliases=list(resource.aliases),
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
            create=timeouts.create, update=timeouts.update, delete=timeouts.delete
        ),
        parent=resource.parent or "",
    )


def provider_resource(resource: AnalyzerResource) -> analyzer_pb2.AnalyzerProviderResource | None:
    """The provider the engine sends with a resource (``AnalyzerProviderResource``), if any."""
    if resource.provider is None:
        return None
    p = resource.provider
    return analyzer_pb2.AnalyzerProviderResource(
        urn=p.urn, type=p.type, name=p.name, properties=encode_properties(p.properties)
    )


def analyze_request(
    resource: AnalyzerResource,
    props: struct_pb2.Struct | None = None,
    provider: analyzer_pb2.AnalyzerProviderResource | None = None,
) -> analyzer_pb2.AnalyzeRequest:
    """The engine's ``Analyze`` request for `resource`. `props` and `provider`: its encoded
    properties and provider, when already encoded (a provider serves many resources)."""
    return analyzer_pb2.AnalyzeRequest(
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        properties=encode_properties(resource.properties) if props is None else props,
        options=resource_options(resource),
        provider=provider_resource(resource) if provider is None else provider,
    )


def stack_entry(
    resource: AnalyzerResource, request: analyzer_pb2.AnalyzeRequest
) -> analyzer_pb2.AnalyzerResource:
    """`resource` as one entry of the engine's ``AnalyzeStack`` request, reusing what its
    ``Analyze`` `request` already encoded (properties, options, provider)."""
    property_deps = {
        key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
        for key, urns in resource.property_dependencies.items()
        if urns  # the engine skips properties without dependencies
    }
    return analyzer_pb2.AnalyzerResource(
        urn=request.urn,
        type=request.type,
        name=request.name,
        properties=request.properties,
        options=request.options,
        provider=request.provider if request.HasField("provider") else None,
        parent=resource.parent or "",
        dependencies=list(resource.dependencies),
        propertyDependencies=property_deps,
    )


def stack_resource(resource: AnalyzerResource) -> analyzer_pb2.AnalyzerResource:
    """`resource` as one entry of the engine's ``AnalyzeStack`` request."""
    return stack_entry(resource, analyze_request(resource))


def plain_struct(values: Mapping[str, Any] | None) -> struct_pb2.Struct:
    """Encode a JSON-like mapping (policy config, schemas) as a protobuf Struct."""
    result = struct_pb2.Struct()
    if values:
        result.update(dict(values))
    return result


def plain_value(value: struct_pb2.Value) -> Any:
    """Decode a protobuf Value as plain JSON-like data (no signature handling)."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "list_value":
        return [plain_value(v) for v in value.list_value.values]
    if kind == "struct_value":
        return {k: plain_value(v) for k, v in value.struct_value.fields.items()}
    return getattr(value, kind)
