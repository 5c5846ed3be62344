"""Explicit cloud providers, one per cloud and region. No default provider is ever used.

Cloud SDKs are imported only when an environment uses that cloud, which keeps the cold start
of a single-cloud environment short.
"""

from __future__ import annotations

import importlib

import pulumi

from .spec import EnvironmentSpec


class CloudProviders:
    """Creates each cloud/region provider once, on first use, named `<cloud>-<region>`.

    Credentials come from the provider's own configuration (stack config such as
    `aws:profile`, environment variables the provider reads, OIDC in CI), never from
    ambient profiles read in our code.
    """

    def __init__(self, env: EnvironmentSpec) -> None:
        self._env = env
        self._providers: dict[tuple[str, str], pulumi.ProviderResource] = {}

    def for_region(self, cloud: str, region: str) -> pulumi.ProviderResource:
        """The provider for `cloud` in `region`, created on first use."""
        key = (cloud, region)
        if key not in self._providers:
            self._providers[key] = self._create(cloud, region)
        return self._providers[key]

    def _create(self, cloud: str, region: str) -> pulumi.ProviderResource:
        name = f"{cloud}-{region}"
        if cloud == "aws":
            aws = importlib.import_module("pulumi_aws")
            return aws.Provider(
                name,
                region=region,
                allowed_account_ids=[self._env.identity.aws_account_id],
                default_tags=aws.ProviderDefaultTagsArgs(tags=dict(self._env.tags)),
            )
        if cloud == "tencentcloud":
            tencentcloud = importlib.import_module("tencentcloud_iac_pulumi")
            return tencentcloud.Provider(name, region=region)
        raise ValueError(f"no cloud provider for {cloud!r}")
