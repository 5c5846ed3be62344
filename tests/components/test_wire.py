"""`components.wire`: the one copy of the wire constants matches the installed SDKs."""

from __future__ import annotations

import pulumi.runtime.rpc as rpc
import pulumi_policy.proxy as proxy

from tkestack.components import wire


def test_signatures_match_the_python_sdk() -> None:
    assert rpc._special_sig_key == wire.SIG_KEY
    assert rpc._special_secret_sig == wire.SECRET_SIG
    assert rpc._special_resource_sig == wire.RESOURCE_SIG
    assert rpc._special_asset_sig == wire.ASSET_SIG
    assert rpc._special_archive_sig == wire.ARCHIVE_SIG
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
