"""One tenant's home in the platform registry: the small API tenancy calls.

The platform `Registry` (components/registry.py) owns what is shared by every tenant of a
registry: the KMS key and pull-through caches on AWS, the TCR instance on Tencent Cloud,
Harbor on attached clusters. It hands out a `RegistryHandle` (plain data plus a few
Outputs); `RegistryNamespace` takes that handle and creates one tenant's namespace in it:

- AWS: an ECR repository creation template for the `<tenant>/` prefix (repositories created
  on push or by replication get the same settings) and one ECR repository per requested
  repository, each with scan on push, immutable tags, KMS encryption and a lifecycle policy.
- Tencent Cloud: a TCR namespace with an immutable tag rule and a tag retention rule.
- Attached clusters (Harbor): a private Harbor project named after the tenant, through the
  Harbor API (pulumiverse-harbor), once Harbor's release is ready, with vulnerability scanning
  on push, an immutable tag rule and a daily retention policy.

Registries are regional, not per cluster: create one `RegistryNamespace` per (tenant,
`RegistryHandle.key`), not one per cluster, or two clusters of one region would both try to
create the same ECR repositories.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NotRequired, Required, TypedDict

import pulumi

from .contracts import ClusterInfo
from .errors import raise_problems

TCR_NAMESPACE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
"""TCR namespace names: lower-case letters and digits, separators `.`, `_`, `-` never first,
last or doubled; 2 to 30 characters (tencentcloud_tcr_namespace `name`)."""
TCR_NAMESPACE_LENGTH = (2, 30)
ECR_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
"""One path segment of an ECR repository name (the full name joins segments with `/`)."""


@dataclass(frozen=True)
class RegistrySettings:
    """Registry policy shared by the platform registry and every tenant namespace in it."""

    immutable_tags: bool = True
    """Tags cannot be overwritten once pushed."""
    scan_on_push: bool = True
    """Vulnerability scan of every pushed image."""
    untagged_expiry_days: int = 14
    """Untagged images are deleted after this many days."""
    keep_last_images: int = 50
    """Tagged images kept per repository; older ones are expired."""
    protect: bool = False
    """Protect stateful pieces (repositories with images, TCR instance and namespaces, Harbor)
    from deletion: set in prod."""


@dataclass(frozen=True)
class RegistryHandle:
    """What a platform `Registry` hands to tenant namespaces: the same shape on every cloud."""

    key: str
    """Identity of the registry: `aws/<region>`, `tencentcloud/<region>`, `attached/<cluster>`.
    One `RegistryNamespace` per (tenant, key)."""
    cloud: Literal["aws", "tencentcloud", "attached"]
    """The registry's cloud: ECR (`aws`), TCR (`tencentcloud`), Harbor (`attached`)."""
    settings: RegistrySettings
    """Policy every tenant namespace of the registry follows."""
    endpoint: pulumi.Output[str]
    """Registry host that image references start with (`<acct>.dkr.ecr.<region>.amazonaws.com`,
    `<instance>.tencentcloudcr.com`, Harbor's in-cluster host)."""
    provider: pulumi.ProviderResource | None
    """Provider namespaces are created with: the cloud provider of the registry's region
    (ECR, TCR), Harbor's API provider (Harbor)."""
    kms_key_arn: pulumi.Output[str] | None = None
    """AWS: KMS key encrypting every repository."""
    creation_role_arn: pulumi.Output[str] | None = None
    """AWS: the role ECR assumes to create repositories from a creation template that sets a
    KMS key or resource tags (the template's `custom_role_arn`, required for either)."""
    tcr_instance_id: pulumi.Output[str] | None = None
    """Tencent Cloud: the TCR instance id."""
    ready: Sequence[pulumi.Resource] = ()
    """What must exist before namespaces are created in the registry (Harbor's release: its
    API answers only once Harbor runs)."""


def ecr_lifecycle_policy(settings: RegistrySettings) -> str:
    """ECR lifecycle policy JSON: expire untagged images after N days, keep the last K.

    The `tagStatus: any` rule must carry the highest priority number
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html).
    """
    rules = [
        {
            "rulePriority": 1,
            "description": f"expire untagged images after {settings.untagged_expiry_days} days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": settings.untagged_expiry_days,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"keep the last {settings.keep_last_images} images",
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": settings.keep_last_images,
            },
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules}, sort_keys=True)


class RegistryNamespaceArgs(TypedDict, total=False):
    """Arguments of `RegistryNamespace`."""

    cluster: Required[ClusterInfo]
    """A cluster that uses the registry; its cloud provider creates the cloud resources."""
    tenant: Required[str]
    """Tenant name: the namespace (TCR, Harbor) or repository prefix (ECR)."""
    registry: Required[RegistryHandle]
    """The registry, `PlatformServices.registry.handle` of a cluster of the same region."""
    repositories: NotRequired[Sequence[str]]
    """ECR only: repositories created now as `<tenant>/<repository>` (others are created on
    push by the creation template). Default: one named after the tenant."""
    tags: NotRequired[Mapping[str, str]]
    """Tags of the namespace's cloud resources that take them: the TCR immutable tag rule (the
    Tencent provider has no default tags), and on AWS the repositories ECR creates from the
    tenant's template (`resource_tags`; the AWS provider's default tags cover the rest).
    TCR namespaces and retention rules take no tags. Default: none."""


def validate_namespace_args(args: RegistryNamespaceArgs) -> list[str]:
    """Every problem of `args`, each naming the argument; empty when valid."""
    problems: list[str] = []
    tenant = args["tenant"]
    cloud = args["registry"].cloud
    low, high = TCR_NAMESPACE_LENGTH
    if not TCR_NAMESPACE.match(tenant) or not low <= len(tenant) <= high:
        problems.append(
            f"tenant: {tenant!r} is not a registry namespace name (lower-case letters, digits,"
            f" single '.', '_' or '-' inside, {low} to {high} characters)"
        )
    for index, repository in enumerate(args.get("repositories", ())):
        if not ECR_REPOSITORY.match(repository):
            problems.append(f"repositories[{index}]: {repository!r} is not an ECR repository name")
    if args["registry"].provider is None:
        problems.append(f"registry.provider: a {cloud} registry needs its provider")
    if cloud == "aws" and args["registry"].kms_key_arn is None:
        problems.append("registry.kms_key_arn: an ECR registry needs its KMS key")
    if cloud == "aws" and args["registry"].creation_role_arn is None:
        problems.append(
            "registry.creation_role_arn: an ECR registry needs the role its creation templates"
            " create repositories with (KMS encryption and tags require one)"
        )
    if cloud == "tencentcloud" and args["registry"].tcr_instance_id is None:
        problems.append("registry.tcr_instance_id: a TCR registry needs its instance id")
    return problems


TCR_ACCOUNT_PREFIX = "tcr$"
"""What TCR puts before a service account's name: its login user name (v1.82.42
services/tcr/extension_tcr.go `TCR_NAME_PREFIX`)."""


def docker_config_json(host: str, username: str, password: str) -> str:
    """A `.dockerconfigjson` for one registry host (the kubelet's image pull credentials)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    auths = {host: {"username": username, "password": password, "auth": token}}
    return json.dumps({"auths": auths}, sort_keys=True)


class RegistryNamespace(pulumi.ComponentResource):
    """One tenant's namespace in the platform registry of a cloud region."""

    repository_prefix: pulumi.Output[str]
    """`<registry host>/<tenant>`: where the tenant pushes and pulls images."""
    repository_urls: dict[str, pulumi.Output[str]]
    """ECR: URL of every repository created now, by repository name; empty elsewhere."""
    pull_secret: pulumi.Output[str] | None
    """TCR: a `.dockerconfigjson` (Pulumi secret) of the namespace's pull-only service
    account, for a `kubernetes.io/dockerconfigjson` Secret in the tenant's namespaces (TCR
    namespaces are private: nodes in the attached VPC reach the instance, but pull only with
    credentials). None elsewhere (ECR: the nodes' instance role; Harbor: its own)."""

    def __init__(
        self,
        name: str,
        args: RegistryNamespaceArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Every problem of the arguments, before the component or any child registers.
        raise_problems("RegistryNamespace", name, validate_namespace_args(args))
        super().__init__("tkestack:index:RegistryNamespace", name, None, opts)
        self._name = name
        self._args = args
        handle = args["registry"]
        tenant = args["tenant"]
        self.repository_urls = {}
        self.pull_secret = None
        if handle.cloud == "aws":
            self._create_ecr()
        elif handle.cloud == "tencentcloud":
            self._create_tcr()
        else:
            self._create_harbor_project()
        self.repository_prefix = handle.endpoint.apply(lambda host: f"{host}/{tenant}")
        self.register_outputs(
            {
                "repository_prefix": self.repository_prefix,
                "repository_urls": self.repository_urls,
                "pull_secret": self.pull_secret,
            }
        )

    def _opts(self, *, protect: bool = False) -> pulumi.ResourceOptions:
        handle = self._args["registry"]
        return pulumi.ResourceOptions(
            parent=self,
            provider=handle.provider,
            protect=protect,
            depends_on=list(handle.ready),
        )

    def _create_ecr(self) -> None:
        import pulumi_aws as aws  # local: single-cloud environments never import it

        handle = self._args["registry"]
        settings = handle.settings
        tenant = self._args["tenant"]
        mutability = "IMMUTABLE" if settings.immutable_tags else "MUTABLE"
        policy = ecr_lifecycle_policy(settings)
        # Repositories created later by a push or by replication get the same settings.
        aws.ecr.RepositoryCreationTemplate(
            f"{self._name}-template",
            prefix=tenant,
            applied_fors=["CREATE_ON_PUSH", "REPLICATION"],
            description=f"tkestack tenant {tenant}",
            # KMS encryption and resource tags need a role ECR creates the repository as.
            custom_role_arn=handle.creation_role_arn,
            image_tag_mutability=mutability,
            encryption_configurations=[
                aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=handle.kms_key_arn
                )
            ],
            lifecycle_policy=policy,
            resource_tags=dict(self._args.get("tags", {})) or None,
            opts=self._opts(),
        )
        for repository in self._args.get("repositories", (tenant,)):
            full_name = f"{tenant}/{repository}"
            created = aws.ecr.Repository(
                f"{self._name}-{repository}",
                name=full_name,
                image_tag_mutability=mutability,
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=settings.scan_on_push
                ),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(
                        encryption_type="KMS", kms_key=handle.kms_key_arn
                    )
                ],
                # Never delete a repository that still holds images.
                force_delete=False,
                opts=self._opts(protect=settings.protect),
            )
            aws.ecr.LifecyclePolicy(
                f"{self._name}-{repository}-lifecycle",
                repository=created.name,
                policy=policy,
                opts=self._opts(),
            )
            self.repository_urls[full_name] = created.repository_url

    def _create_tcr(self) -> None:
        import tencentcloud_iac_pulumi as tencentcloud

        handle = self._args["registry"]
        settings = handle.settings
        tenant = self._args["tenant"]
        namespace = tencentcloud.tcr.Namespace(
            f"{self._name}-namespace",
            instance_id=handle.tcr_instance_id,
            name=tenant,
            is_public=False,
            is_auto_scan=settings.scan_on_push,
            opts=self._opts(protect=settings.protect),
        )
        if settings.immutable_tags:
            tencentcloud.tcr.ImmutableTagRule(
                f"{self._name}-immutable-tags",
                registry_id=handle.tcr_instance_id,
                namespace_name=namespace.name,
                rule=tencentcloud.tcr.ImmutableTagRuleRuleArgs(
                    repository_pattern="**",
                    repository_decoration="repoMatches",
                    tag_pattern="**",
                    tag_decoration="matches",
                    disabled=False,
                ),
                tags=dict(self._args.get("tags", {})),
                opts=self._opts(),
            )
        # Pull-only robot account of this namespace: TCR logs it in as `tcr$<name>`
        # (terraform-provider-tencentcloud v1.82.42, services/tcr/extension_tcr.go
        # TCR_NAME_PREFIX; resource_tc_tcr_service_account.go, whose `password` is Computed
        # and Sensitive when none is given; actions as in resource_tc_tcr_service_account.md).
        account_name = f"{tenant}-pull"
        account = tencentcloud.tcr.ServiceAccount(
            f"{self._name}-pull",
            registry_id=handle.tcr_instance_id,
            name=account_name,
            permissions=[
                tencentcloud.tcr.ServiceAccountPermissionArgs(
                    resource=namespace.name, actions=["tcr:PullRepository"]
                )
            ],
            description=f"tkestack: image pulls of tenant {tenant}",
            disable=False,
            tags=dict(self._args.get("tags", {})),
            opts=self._opts(),
        )
        username = f"{TCR_ACCOUNT_PREFIX}{account_name}"
        self.pull_secret = pulumi.Output.secret(
            pulumi.Output.all(handle.endpoint, account.password).apply(
                lambda values: docker_config_json(values[0], username, values[1])
            )
        )
        # TCR retention takes one rule per namespace: keep the last K pushed tags, daily.
        tencentcloud.tcr.TagRetentionRule(
            f"{self._name}-retention",
            registry_id=handle.tcr_instance_id,
            namespace_name=namespace.name,
            cron_setting="daily",
            retention_rule=tencentcloud.tcr.TagRetentionRuleRetentionRuleArgs(
                key="latestPushedK", value=settings.keep_last_images
            ),
            disabled=False,
            opts=self._opts(),
        )

    def _create_harbor_project(self) -> None:
        import pulumiverse_harbor as harbor  # local: only environments with Harbor import it

        settings = self._args["registry"].settings
        tenant = self._args["tenant"]
        project = harbor.Project(
            f"{self._name}-project",
            name=tenant,
            public=False,
            vulnerability_scanning=settings.scan_on_push,
            # Never delete a project that still holds images.
            force_destroy=False,
            opts=self._opts(protect=settings.protect),
        )
        if settings.immutable_tags:
            harbor.ImmutableTagRule(
                f"{self._name}-immutable-tags",
                project_id=project.id,
                repo_matching="**",
                tag_matching="**",
                opts=self._opts(),
            )
        harbor.RetentionPolicy(
            f"{self._name}-retention",
            scope=project.id,
            schedule="Daily",
            rules=harbor_retention_rules(settings),
            opts=self._opts(),
        )


def harbor_retention_rules(settings: RegistrySettings) -> list[dict[str, object]]:
    """Harbor retention rules for `settings`. Harbor rules say what to *retain* (an artifact
    any rule matches is kept, every other one deleted at the daily run): the last
    `keep_last_images` tagged artifacts of each repository, and every artifact, untagged ones
    included, pushed in the last `untagged_expiry_days` days. So untagged artifacts expire
    after that many days as on ECR; tagged ones beyond the last K are kept that long too."""
    return [
        {
            "most_recently_pushed": settings.keep_last_images,
            "repo_matching": "**",
            "tag_matching": "**",
            "untagged_artifacts": False,
        },
        {
            "n_days_since_last_push": settings.untagged_expiry_days,
            "repo_matching": "**",
            "tag_matching": "**",
            "untagged_artifacts": True,
        },
    ]
