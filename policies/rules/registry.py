"""Registry rules: immutable tags, scanning, encryption, exposure, retention, image sources.

Provider defaults that matter here: ECR `imageTagMutability` defaults to MUTABLE,
`imageScanningConfiguration.scanOnPush` to false and encryption to AES256 with an AWS-owned
key; a repository without a lifecycle policy keeps every image forever. TCR namespaces
default to `isAutoScan: false`. Harbor projects default to private with vulnerability
scanning on; the Harbor provider (pulumiverse-harbor) defaults to `insecure: true`, not
verifying Harbor's certificate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from .base import (
    Rule,
    Stack,
    Subject,
    boolean,
    get,
    items,
    matches,
    number,
    plain,
    schema,
    string_list,
    strings,
)
from .kube import (
    HELM_RELEASE,
    WORKLOAD_TYPES,
    image_registry,
    image_repository,
    image_tag,
    images_of_helm_values,
    images_of_workload,
)

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ECR_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
"""Settings of repositories ECR creates itself (pull-through caches, create-on-push)."""
ECR_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
ECR_PULL_THROUGH = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
ECR_PUBLIC_REPOSITORY = "aws:ecrpublic/repository:Repository"
TCR_INSTANCE = "tencentcloud:Tcr/instance:Instance"
TCR_NAMESPACE = "tencentcloud:Tcr/namespace:Namespace"
TCR_IMMUTABLE = "tencentcloud:Tcr/immutableTagRule:ImmutableTagRule"
TCR_RETENTION = "tencentcloud:Tcr/tagRetentionRule:TagRetentionRule"
HARBOR_PROJECT = "harbor:index/project:Project"
HARBOR_IMMUTABLE = "harbor:index/immutableTagRule:ImmutableTagRule"
HARBOR_RETENTION = "harbor:index/retentionPolicy:RetentionPolicy"
HARBOR_PROVIDER = "pulumi:providers:harbor"

IMMUTABLE = frozenset({"IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"})


def _document(value: Any) -> Any:
    """A JSON policy document given as a string or as an object."""
    value = plain(value)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _referenced(stack: Stack, types: tuple[str, ...], *, enabled_only: bool = False) -> set[str]:
    """URNs that resources of `types` depend on (with `enabled_only`: those not `disabled`,
    which for a Harbor retention policy means none of its rules is)."""
    return {
        dep
        for resource in stack.of_type(*types)
        if not (enabled_only and _disabled(resource))
        for dep in resource.dependencies
    }


def _disabled(resource: Subject) -> bool:
    if boolean(get(resource.props, "disabled"), default=False):
        return True
    rules = items(get(resource.props, "rules"))
    return bool(rules) and all(boolean(get(rule, "disabled"), default=False) for rule in rules)


def _names(stack: Stack, type_: str, key: str) -> set[str]:
    return {str(get(r.props, key)) for r in stack.of_type(type_) if get(r.props, key)}


def _immutable_tags(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for repository in stack.of_type(ECR_REPOSITORY, ECR_TEMPLATE):
        mutability = get(repository.props, "imageTagMutability", "MUTABLE")
        if mutability not in IMMUTABLE:
            yield (
                repository.urn,
                (
                    f"image tags can be overwritten (imageTagMutability {mutability};"
                    " unset defaults to MUTABLE)"
                ),
            )
    ruled = _referenced(stack, (TCR_IMMUTABLE,)) | _names(stack, TCR_IMMUTABLE, "namespaceName")
    for namespace in stack.of_type(TCR_NAMESPACE):
        if namespace.urn not in ruled and get(namespace.props, "name") not in ruled:
            yield namespace.urn, "TCR namespace has no immutable tag rule"
    ruled = _referenced(stack, (HARBOR_IMMUTABLE,), enabled_only=True)
    for project in stack.of_type(HARBOR_PROJECT):
        if project.urn not in ruled:
            yield project.urn, "Harbor project has no immutable tag rule"


def _aws_region(resource: Subject) -> str | None:
    """The region an AWS resource lives in: its own `region` input, else its provider's; None
    when unknown (then any region may be meant)."""
    region = get(resource.props, "region")
    if not isinstance(region, str) and resource.provider is not None:
        region = get(resource.provider.props, "region")
    return region if isinstance(region, str) else None


def _scan_on_push(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    # A registry scanning configuration is per account and region: it covers the templates and
    # repositories of its own region only (an unknown region covers every region, as it may).
    covered: set[str | None] = set()
    for scanning in stack.of_type(ECR_SCANNING):
        for rule in items(get(scanning.props, "rules")):
            filters = [get(f, "filter") for f in items(get(rule, "repositoryFilters"))]
            if get(rule, "scanFrequency") in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN") and "*" in filters:
                covered.add(_aws_region(scanning))

    def registry_wide(resource: Subject) -> bool:
        region = _aws_region(resource)
        return None in covered or region in covered or (region is None and bool(covered))

    for template in stack.of_type(ECR_TEMPLATE):
        if not registry_wide(template):
            yield (
                template.urn,
                (
                    "repositories ECR creates from this template (pull-through caches) are not"
                    " scanned: templates cannot enable scanning, and no registry scanning"
                    " configuration of its region covers '*'"
                ),
            )
    for repository in stack.of_type(ECR_REPOSITORY):
        if registry_wide(repository):
            continue
        if not boolean(get(repository.props, "imageScanningConfiguration.scanOnPush"), False):
            yield (
                repository.urn,
                (
                    "pushed images are not scanned (imageScanningConfiguration.scanOnPush is"
                    " false or unset, and no registry-wide scanning rule of its region covers"
                    " '*')"
                ),
            )
    for namespace in stack.of_type(TCR_NAMESPACE):
        if not boolean(get(namespace.props, "isAutoScan"), default=False):
            yield namespace.urn, "TCR namespace does not scan pushed images (isAutoScan)"
    for project in stack.of_type(HARBOR_PROJECT):
        if not boolean(get(project.props, "vulnerabilityScanning"), default=True):
            yield project.urn, "Harbor project does not scan pushed images (vulnerabilityScanning)"


def _encryption(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    configs = items(get(resource.props, "encryptionConfigurations"))
    kind = get(configs[0], "encryptionType", "AES256") if configs else "AES256"
    if config.get("requireKms") and kind != "KMS":
        yield f"repository is encrypted with {kind}, not a customer-managed KMS key"


def _statement_public(statement: Any) -> bool:
    if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal")
    wildcard = principal == "*" or (
        isinstance(principal, Mapping)
        and any(v == "*" or (isinstance(v, list) and "*" in v) for v in principal.values())
    )
    return wildcard and not statement.get("Condition")


def _not_public(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    props = resource.props
    if resource.type == ECR_PUBLIC_REPOSITORY:
        yield "public ECR repository: anyone on the internet can pull"
    elif resource.type in (ECR_REPOSITORY_POLICY, ECR_TEMPLATE):
        document = _document(
            get(props, "policy" if resource.type != ECR_TEMPLATE else "repositoryPolicy")
        )
        statements = document.get("Statement") if isinstance(document, Mapping) else None
        if isinstance(statements, Mapping):
            statements = [statements]
        if any(_statement_public(s) for s in statements or []):
            yield "repository policy allows any principal ('*') without a condition"
    elif resource.type == TCR_NAMESPACE:
        if boolean(get(props, "isPublic"), default=False):
            yield "TCR namespace is public (isPublic)"
    elif resource.type == HARBOR_PROJECT:
        if boolean(get(props, "public"), default=False):
            yield "Harbor project is public: anyone who reaches Harbor can pull"
    elif resource.type == TCR_INSTANCE and boolean(get(props, "openPublicOperation"), False):
        cidrs = [get(p, "cidrBlock") for p in items(get(props, "securityPolicies"))]
        if not cidrs or "0.0.0.0/0" in cidrs:
            yield "TCR instance is reachable from the whole internet"


def _lifecycle(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    covered = _referenced(stack, (ECR_LIFECYCLE,))
    for repository in stack.of_type(ECR_REPOSITORY):
        if repository.urn not in covered:
            yield repository.urn, "repository has no lifecycle policy: images are kept forever"
    for template in stack.of_type(ECR_TEMPLATE):
        if not get(template.props, "lifecyclePolicy"):
            yield template.urn, "repositories created from this template keep images forever"
    retained = _referenced(stack, (TCR_RETENTION,)) | _names(stack, TCR_RETENTION, "namespaceName")
    for namespace in stack.of_type(TCR_NAMESPACE):
        if namespace.urn not in retained and get(namespace.props, "name") not in retained:
            yield namespace.urn, "TCR namespace has no tag retention rule"
    retained = _referenced(stack, (HARBOR_RETENTION,), enabled_only=True)
    for project in stack.of_type(HARBOR_PROJECT):
        if project.urn not in retained:
            yield project.urn, "Harbor project has no retention policy: images are kept forever"


def _api_tls_verified(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    # Provider inputs travel as strings ("false"); unset means the provider's default, true.
    if boolean(get(resource.props, "insecure"), default=True):
        yield (
            "the Harbor provider does not verify Harbor's certificate (insecure is true or"
            " unset, and defaults to true): its admin password goes to whoever answers"
        )
    url = get(resource.props, "url")
    if isinstance(url, str) and not url.lower().startswith("https://"):
        yield f"the Harbor provider talks to {url} without TLS: its password travels in clear"


def _untagged_expiry(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    key = "lifecyclePolicy" if resource.type == ECR_TEMPLATE else "policy"
    if resource.type == ECR_TEMPLATE and not get(resource.props, key):
        return  # registry-lifecycle-policy reports the missing policy
    document = _document(get(resource.props, key))
    rules = document.get("rules") if isinstance(document, Mapping) else None
    maximum = number(config.get("maxUntaggedDays")) or 0
    untagged_days = None
    keeps_count = False
    for rule in rules if isinstance(rules, list) else []:
        selection = rule.get("selection", {}) if isinstance(rule, Mapping) else {}
        if rule.get("action", {}).get("type") != "expire":
            continue
        if selection.get("tagStatus") == "untagged" and selection.get("countType") == (
            "sinceImagePushed"
        ):
            untagged_days = number(selection.get("countNumber"))
        if selection.get("countType") == "imageCountMoreThan":
            keeps_count = True
    if untagged_days is None:
        yield "lifecycle policy does not expire untagged images"
    elif untagged_days > maximum:
        yield f"untagged images are kept {untagged_days:g} days (at most {maximum:g})"
    if config.get("requireImageCount") and not keeps_count:
        yield "lifecycle policy keeps unlimited tagged images (no imageCountMoreThan rule)"


def _images(resource: Subject) -> list[tuple[str, str, bool]]:
    if resource.type == HELM_RELEASE:
        return images_of_helm_values(plain(get(resource.props, "values")) or {})
    return [(where, image, True) for where, image in images_of_workload(resource)]


def _approved(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    patterns = strings(config.get("approvedRegistries"))
    if resource.type == ECR_PULL_THROUGH:
        upstream = get(resource.props, "upstreamRegistryUrl")
        if isinstance(upstream, str) and not matches(upstream, patterns):
            yield f"pull-through cache from unapproved upstream {upstream}"
        return
    for where, image, explicit in _images(resource):
        if not explicit:
            continue  # the chart's default registry: not visible here
        repository = image_repository(image.replace(":<chart default>", ""))
        if not (matches(image_registry(repository), patterns) or matches(repository, patterns)):
            yield f"{where}: image {image} is not from an approved registry"


def _no_latest(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    for where, image, _ in _images(resource):
        if image.endswith(":<chart default>"):
            continue
        tag = image_tag(image)
        if tag == "latest":
            yield f"{where}: image {image} uses the mutable :latest tag"
        elif tag is None and "@" not in image:
            yield f"{where}: image {image} has no tag (pulls :latest)"


RULES = [
    Rule(
        name="registry-immutable-tags",
        group="registry",
        description="Registry tags are immutable once pushed.",
        severity="high",
        anchor="checkov CKV_AWS_51",
        remediation="Keep `registry.immutable_tags: true`.",
        check=_immutable_tags,
        stack=True,
    ),
    Rule(
        name="registry-scan-on-push",
        group="registry",
        description="Every pushed image is scanned for vulnerabilities (ECR: by the repository,"
        " or by a registry scanning configuration of its region covering '*').",
        severity="medium",
        anchor="checkov CKV_AWS_163",
        remediation="Keep `registry.scan_on_push: true`.",
        check=_scan_on_push,
        stack=True,
    ),
    Rule(
        name="registry-encryption-kms",
        group="registry",
        description="Repositories are encrypted at rest, with a customer KMS key where required.",
        severity="medium",
        anchor="checkov CKV_AWS_136",
        remediation="Set encryptionConfigurations to KMS with the environment's key.",
        check=_encryption,
        types=frozenset({ECR_REPOSITORY, ECR_TEMPLATE}),
        config={"requireKms": schema("boolean", False, "Require a customer-managed KMS key.")},
    ),
    Rule(
        name="registry-not-public",
        group="registry",
        description="Registries and repositories are not readable by the whole internet.",
        severity="critical",
        anchor="checkov CKV_AWS_32",
        remediation="Remove public principals / public namespaces; pull through VPC endpoints.",
        check=_not_public,
        types=frozenset(
            {
                ECR_PUBLIC_REPOSITORY,
                ECR_REPOSITORY_POLICY,
                TCR_NAMESPACE,
                TCR_INSTANCE,
                HARBOR_PROJECT,
            }
        ),
    ),
    Rule(
        name="registry-api-tls-verified",
        group="registry",
        description="Providers that manage a registry through its API verify its certificate.",
        severity="high",
        anchor="tkestack (pulumiverse-harbor `insecure` defaults to true)",
        remediation="Set `insecure=False` on the Harbor provider; trust the company CA where"
        " `pulumi up` runs.",
        check=_api_tls_verified,
        types=frozenset({HARBOR_PROVIDER}),
    ),
    Rule(
        name="registry-lifecycle-policy",
        group="registry",
        description="Every repository has a lifecycle (retention) policy.",
        severity="low",
        anchor="tkestack (ECR lifecycle policies / TCR tag retention)",
        remediation="Keep `registry.untagged_expiry_days` and `keep_last_images` set.",
        check=_lifecycle,
        stack=True,
    ),
    Rule(
        name="registry-untagged-expiry",
        group="registry",
        description="Lifecycle policies expire untagged images within N days and cap tagged"
        " images.",
        severity="low",
        anchor="tkestack",
        remediation="Lower `registry.untagged_expiry_days`.",
        check=_untagged_expiry,
        types=frozenset({ECR_LIFECYCLE, ECR_TEMPLATE}),
        config={
            "maxUntaggedDays": schema("integer", 30, "Most days untagged images are kept."),
            "requireImageCount": schema(
                "boolean", True, "Require a keep-last-N rule for tagged images."
            ),
        },
    ),
    Rule(
        name="images-from-approved-registries",
        group="registry",
        description="Workloads pull images only from approved registries.",
        severity="high",
        anchor="tkestack; Kyverno restrict-image-registries",
        remediation="Pull through the platform registry (or add the registry to the policy"
        " config after review).",
        check=_approved,
        types=frozenset({*WORKLOAD_TYPES, HELM_RELEASE, ECR_PULL_THROUGH}),
        config={
            "approvedRegistries": string_list(
                [
                    "*.dkr.ecr.*.amazonaws.com",
                    "*.tencentcloudcr.com",
                    "ccr.ccs.tencentyun.com",
                    "public.ecr.aws",
                    "registry.k8s.io",
                    "quay.io",
                    "nvcr.io",
                    "ghcr.io",
                    "docker.io/grafana/*",
                    "docker.io/goharbor/*",
                    "docker.io/projecthami/*",
                ],
                "Shell patterns of approved registry hosts or repositories.",
            )
        },
    ),
    Rule(
        name="no-latest-tag",
        group="registry",
        description="Images are pinned by tag or digest, never :latest or untagged.",
        severity="medium",
        anchor="checkov CKV_K8S_14",
        remediation="Pin a version tag (or a digest).",
        check=_no_latest,
        types=frozenset({*WORKLOAD_TYPES, HELM_RELEASE}),
    ),
]
