"""The Pulumi wire format's signatures and unknown sentinels: one copy for the engine, the
analyzer and the policy rules (part of the core: no Pulumi import).

Source: pulumi/pulumi `sdk/go/common/resource/properties.go` (signature key and
signatures) and `sdk/go/common/resource/plugin/rpc.go` (`Unknown*Value`); the same values
are in the installed SDKs: `pulumi/runtime/rpc.py` (pulumi 3.272.0: `_special_sig_key`,
`_special_secret_sig`, `_special_resource_sig`, `_special_asset_sig`,
`_special_archive_sig`, `UNKNOWN`) and `pulumi_policy/proxy.py` (pulumi-policy 1.21.0:
`UNKNOWN_*_VALUE`). `tests/components/test_wire.py` compares them with the installed SDKs.
"""

from __future__ import annotations

from typing import Literal

SIG_KEY = "4dabf18193072939515e22adb298388d"
"""Key marking a special object (secret, resource reference, asset, archive)."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"

UnknownKind = Literal["bool", "number", "string", "array", "asset", "archive", "object"]
"""The type an unknown value would have; each has its own sentinel."""

UNKNOWN_BY_KIND: dict[UnknownKind, str] = {
    "bool": "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "number": "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "string": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "array": "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "asset": "030794c1-ac77-496b-92df-f27374a8bd58",
    "archive": "e48ece36-62e2-4504-bad9-02848725956a",
    "object": "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
}
UNKNOWN_KINDS: dict[str, UnknownKind] = {value: kind for kind, value in UNKNOWN_BY_KIND.items()}
"""Sentinel -> kind."""
UNKNOWN_SENTINELS = frozenset(UNKNOWN_BY_KIND.values())
UNKNOWN = UNKNOWN_BY_KIND["string"]
"""The generic unknown (the string sentinel), as the Python SDK's `rpc.UNKNOWN`."""
