"""Explicit cloud providers, one per cloud and region. No default provider is ever used.

Cloud SDKs are imported only when an environment uses that cloud, which keeps the cold start
of a single-cloud environment short.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pulumi

from .spec import EnvironmentSpec


@dataclass(frozen=True)
class ProviderCredentials:
    """The credential settings of the stack config, handed to every explicit provider.

    Default providers are disabled, so the engine never applies the `aws:*` /
    `tencentcloud:*` stack config to a provider by itself: an explicit provider only sees
    what its arguments carry. Anything left unset here falls back to the provider's own
    environment variables and shared files (`AWS_*`, `TENCENTCLOUD_*`, OIDC in CI).
    """

    aws_profile: str | None = None
    """`aws:profile`: named profile of the shared AWS config (`aws sso login --profile`)."""
    tencent_secret_id: str | None = None
    """`tencentcloud:secretId`: the Tencent Cloud API key id."""
    tencent_secret_key: pulumi.Output[str] | None = None
    """`tencentcloud:secretKey` (set with `--secret`): stays secret in state and output."""

    @classmethod
    def from_stack_config(cls) -> ProviderCredentials:
        """Read the provider settings of the current stack's config (absent keys: None)."""
        aws = pulumi.Config("aws")
        tencentcloud = pulumi.Config("tencentcloud")
        return cls(
            aws_profile=aws.get("profile"),
            tencent_secret_id=tencentcloud.get("secretId"),
            tencent_secret_key=tencentcloud.get_secret("secretKey"),
        )


class CloudProviders:
    """Creates each cloud/region provider once, on first use, named `<cloud>-<region>`.

    Credentials come from the stack config (`aws:profile`, `tencentcloud:secretId` /
    `tencentcloud:secretKey`, passed explicitly: see `ProviderCredentials`) or from the
    environment variables the providers read, never from ambient profiles read in our code.
    """

    def __init__(
        self, env: EnvironmentSpec, credentials: ProviderCredentials | None = None
    ) -> None:
        self._env = env
        # Public: EKS kubeconfigs call the AWS CLI and need the same profile.
        self.credentials = credentials or ProviderCredentials.from_stack_config()
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
                profile=self.credentials.aws_profile,
                allowed_account_ids=[self._env.identity.aws_account()],
                default_tags=aws.ProviderDefaultTagsArgs(tags=dict(self._env.tags)),
            )
        if cloud == "tencentcloud":
            tencentcloud = importlib.import_module("tencentcloud_iac_pulumi")
            return tencentcloud.Provider(
                name,
                region=region,
                secret_id=self.credentials.tencent_secret_id,
                secret_key=self.credentials.tencent_secret_key,
            )
        raise ValueError(f"no cloud provider for {cloud!r}")
