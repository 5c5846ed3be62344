"""`components.wire`: the one copy of the wire constants matches the installed SDKs."""

from __future__ import annotations

import pulumi.runtime.rpc as rpc
import pulumi_policy.proxy as proxy

from tkestack.components import wire


def test_signatures_match_the_python_sdk() -> None:
    assert wire.SIG_KEY == rpc._special_sig_key
    assert wire.SECRET_SIG == rpc._special_secret_sig
    assert wire.RESOURCE_SIG == rpc._special_resource_sig
    assert wire.ASSET_SIG == rpc._special_asset_sig
    assert wire.ARCHIVE_SIG == rpc._special_archive_sig
    assert wire.UNKNOWN == rpc.UNKNOWN


def test_unknown_sentinels_match_the_policy_sdk() -> None:
    assert wire.UNKNOWN_BY_KIND == {
        "bool": proxy.UNKNOWN_BOOLEAN_VALUE,
        "number": proxy.UNKNOWN_NUMBER_VALUE,
        "string": proxy.UNKNOWN_STRING_VALUE,
        "array": proxy.UNKNOWN_ARRAY_VALUE,
        "asset": proxy.UNKNOWN_ASSET_VALUE,
        "archive": proxy.UNKNOWN_ARCHIVE_VALUE,
        "object": proxy.UNKNOWN_OBJECT_VALUE,
    }
    assert wire.UNKNOWN_KINDS[proxy.UNKNOWN_NUMBER_VALUE] == "number"
    assert "04da6b54" not in wire.UNKNOWN_SENTINELS  # whole sentinels only, not prefixes
