"""The parts of pulumi_policy's `policy` module the pack's servicer (`servicer.py`) relies on
beyond its public API: one list, read by the servicer (to fall back to the library's loop when
one is missing) and by `tkestack/sdk_internals.py` (which checks each is present in the
installed library). No import of pulumi_policy here, so the check can name them without
loading the library."""

SERVICER_HELPERS: tuple[str, ...] = (
    "_configure_runtime_settings",
    "_get_enforcement_level",
    "_create_report_violation",
    "_map_enforcement_level",
    "_get_resource_options",
    "_get_provider_resource",
    "_get_policy_config",
)
"""`_PolicyAnalyzerServicer` methods the servicer calls for the library's per-policy handling."""

LIBRARY_INTERNALS: tuple[str, ...] = (
    "ResourceValidationArgs",
    "StackValidationArgs",
    "PolicyResource",
    "_NotApplicableError",
    "deserialize_properties",
    "unknown_checking_proxy",
    "json_format",
    "proto",
)
"""Names of `pulumi_policy.policy` the servicer uses for the library's own types and decoding."""
