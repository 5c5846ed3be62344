"""What an environment needs in its accounts before its first `pulumi up` (the bootstrap).

`AccountPrerequisites` creates, per account:

- **AWS**: the deployer role (`pulumi up` acts as it inside EKS: its access entry names it),
  the break-glass role and one role per tenant group (their access entries name them), each
  trusted as its args say, and optionally the S3 bucket of Pulumi's state; the account's
  GitHub OIDC provider when a trust names a GitHub repository and no existing provider.
- **Tencent Cloud**: the CAM service roles TKE and CVM act as (`TKE_QCSRole`, `CVM_QcsRole`)
  with the preset policies the environment relies on.

Whatever the enterprise brings is simply not in the args: nothing is created for it.

Facts and their sources:

- GitHub's OIDC issuer `https://token.actions.githubusercontent.com`, audience
  `sts.amazonaws.com`, and the subject of a job in a GitHub environment
  `repo:<org>/<repo>:environment:<name>`: GitHub docs, "OpenID Connect reference" and
  "About security hardening with OpenID Connect" (github/docs, filtering for a specific
  environment). The provider needs no thumbprint for GitHub: AWS validates it against its own
  trusted CAs (pulumi-aws 7.51 `iam/open_id_connect_provider.py`, `thumbprint_lists`).
- SAML federation: `sts:AssumeRoleWithSAML` from the SAML provider with
  `SAML:aud = https://signin.aws.amazon.com/saml` (AWS IAM user guide,
  `id_roles_create_for-idp_saml`).
- People's roles need `eks:DescribeCluster` to write a kubeconfig (`aws eks
  update-kubeconfig`); their rights inside the cluster come from access entries and RBAC
  (EKS user guide `create-kubeconfig.md`).
- `TKE_QCSRole`: trusted by `ccs.qcloud.com`, preset policies `QcloudAccessForTKERole` and
  `QcloudAccessForTKERoleInOpsManagement` (log service, which audit and event logs use):
  tencentyun/intlcloud-documents, TKE "Service authorization roles"
  (`yehe_doc/容器/容器服务/权限管理/服务授权相关角色权限说明_intl_en.md`) and TKE's Terraform
  guide (`cam.tf`). `CVM_QcsRole` with `QcloudKMSAccessForCVMRole` is needed for encrypted CBS
  disks (terraform-provider-tencentcloud v1.82.42 `website/docs/r/cbs_storage_set`); its
  principal `cvm.qcloud.com` is the CVM service domain of CAM's service list, **unverified**
  as the role's trust here. CAM role documents are version `2.0` with `name/sts:AssumeRole`
  (Tencent's own `cam.tf` above). Preset policies are attached by name
  (`cam.RolePolicyAttachmentByName`, tencentcloud-iac-pulumi 0.2.3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi

from .catalog import tke as tke_catalog

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
"""GitHub Actions' OIDC issuer (GitHub docs, OpenID Connect reference)."""
GITHUB_OIDC_HOST = GITHUB_OIDC_URL.removeprefix("https://")
STS_AUDIENCE = "sts.amazonaws.com"
"""The audience `aws-actions/configure-aws-credentials` requests (GitHub docs)."""
SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"
"""`SAML:aud` of AWS sign-in federation (IAM user guide, SAML 2.0 federation roles)."""
TENCENT_SERVICE_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    role.name: (role.principal, role.policies) for role in tke_catalog.SERVICE_ROLES
}
"""CAM service role -> (service principal, preset policies), from components/catalog/tke.py
`SERVICE_ROLES` (sources there); `cvm.qcloud.com` as `CVM_QcsRole`'s principal is unverified."""


class TrustArgs(TypedDict, total=False):
    """Who may assume a role (at least one of the fields)."""

    aws_principal_arns: Sequence[str]
    """IAM principals trusted with `sts:AssumeRole` (roles, users, `:root` of an account)."""
    github_repository: str | None
    """`org/repo` whose GitHub Actions jobs may assume the role (web identity)."""
    github_environment: str | None
    """GitHub environment the job must run in (`sub` ends in `:environment:<name>`)."""
    github_oidc_provider_arn: str | None
    """Existing GitHub OIDC provider of the account; default: the one this component makes."""
    saml_provider_arn: str | None
    """The enterprise identity provider's IAM SAML provider."""


class AccountPrerequisitesArgs(TypedDict):
    """Arguments of `AccountPrerequisites`."""

    aws_provider: NotRequired[pulumi.ProviderResource | None]
    """Explicit AWS provider (the environment's account). Required for any AWS field."""
    tencent_provider: NotRequired[pulumi.ProviderResource | None]
    """Explicit Tencent Cloud provider. Required when `tencent_service_roles` is true."""
    aws_account_id: NotRequired[str | None]
    """The AWS account (12 digits); scopes the people roles' `eks:DescribeCluster`."""
    deployer_role: NotRequired[str | None]
    """Name of the deployer role to create; None: it exists already (nothing created)."""
    deployer_trust: NotRequired[TrustArgs]
    """Who may assume the deployer role."""
    deployer_policy_arns: NotRequired[Sequence[str]]
    """Managed policies of the deployer role (what `pulumi up` may do in the account)."""
    people_roles: NotRequired[Sequence[str]]
    """Names of the break-glass and tenant-group roles to create (sorted, unique)."""
    people_trust: NotRequired[TrustArgs]
    """Who may assume the people roles (the enterprise identity provider)."""
    tencent_service_roles: NotRequired[bool]
    """Create `TKE_QCSRole` and `CVM_QcsRole` with their preset policies. Default false."""
    state_bucket: NotRequired[str | None]
    """Name of the S3 bucket for Pulumi state to create (versioned, encrypted, private,
    protected). Default none."""
    tags: NotRequired[Mapping[str, str]]
    """Tags of the CAM roles (the AWS provider's default tags cover the AWS resources)."""


def trust_statements(trust: TrustArgs, github_provider_arn: str | None) -> list[dict[str, Any]]:
    """IAM trust policy statements for `trust` (the GitHub provider's ARN already resolved)."""
    statements: list[dict[str, Any]] = []
    principals = sorted(trust.get("aws_principal_arns") or [])
    if principals:
        statements.append(
            {"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}
        )
    repository = trust.get("github_repository")
    if repository:
        environment = trust.get("github_environment")
        audience = f"{GITHUB_OIDC_HOST}:aud"
        subject = f"{GITHUB_OIDC_HOST}:sub"
        condition: dict[str, dict[str, str]] = {"StringEquals": {audience: STS_AUDIENCE}}
        if environment:
            condition["StringEquals"][subject] = f"repo:{repository}:environment:{environment}"
        else:
            condition["StringLike"] = {subject: f"repo:{repository}:*"}
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"Federated": github_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        )
    saml = trust.get("saml_provider_arn")
    if saml:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"Federated": saml},
                "Action": "sts:AssumeRoleWithSAML",
                "Condition": {"StringEquals": {"SAML:aud": SAML_AUDIENCE}},
            }
        )
    return statements


def trust_policy(trust: TrustArgs, github_provider_arn: str | None) -> str:
    """The role's trust policy document (JSON, keys sorted: deterministic)."""
    return json.dumps(
        {"Version": "2012-10-17", "Statement": trust_statements(trust, github_provider_arn)},
        sort_keys=True,
    )


class AccountPrerequisites(pulumi.ComponentResource):
    """Roles, service roles and the state bucket an environment needs first."""

    role_arns: dict[str, pulumi.Output[str]]
    """ARN of every IAM role created, by role name."""
    state_bucket: pulumi.Output[str] | None
    """Name of the state bucket created, if any."""

    def __init__(
        self, name: str, args: AccountPrerequisitesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tkestack:index:AccountPrerequisites", name, None, opts)
        self._name = name
        self._args = args
        self._check()
        self.role_arns = {}
        self.state_bucket = None
        if self._wants_aws():
            self._create_aws()
        if args.get("tencent_service_roles"):
            self._create_tencent_service_roles()
        self.register_outputs({"role_arns": self.role_arns, "state_bucket": self.state_bucket})

    def _wants_aws(self) -> bool:
        args = self._args
        return bool(
            args.get("deployer_role") or args.get("people_roles") or args.get("state_bucket")
        )

    def _check(self) -> None:
        args = self._args
        problems = []
        if self._wants_aws() and args.get("aws_provider") is None:
            problems.append("aws_provider: required to create AWS roles or the state bucket")
        if args.get("tencent_service_roles") and args.get("tencent_provider") is None:
            problems.append("tencent_provider: required to create the CAM service roles")
        for key, roles in (
            ("deployer_trust", [args.get("deployer_role")]),
            ("people_trust", args.get("people_roles") or []),
        ):
            trust = args.get(key) or {}
            # Why the ignore below: a TypedDict read with a variable key is untyped; both keys
            # (deployer_trust, people_trust) are TrustArgs, what trust_statements takes.
            if any(roles) and not trust_statements(trust, "github-provider"):  # type: ignore[arg-type]
                problems.append(f"{key}: names nobody, so nobody could assume the roles")
        if args.get("people_roles") and not args.get("aws_account_id"):
            problems.append("aws_account_id: required with people_roles")
        if problems:
            raise ValueError(f"AccountPrerequisites {self._name}: " + "; ".join(problems))

    def _aws_opts(self, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self, provider=self._args.get("aws_provider"), **options
        )

    def _create_aws(self) -> None:
        import pulumi_aws as aws  # local: a Tencent-only bootstrap never imports it

        args = self._args
        github: pulumi.Output[str] | None = None
        trusts = [args.get("deployer_trust") or {}, args.get("people_trust") or {}]
        if any(
            t.get("github_repository") and not t.get("github_oidc_provider_arn") for t in trusts
        ):
            provider = aws.iam.OpenIdConnectProvider(
                f"{self._name}-github-oidc",
                url=GITHUB_OIDC_URL,
                client_id_lists=[STS_AUDIENCE],
                opts=self._aws_opts(),
            )
            github = provider.arn

        def role(role_name: str, trust: TrustArgs, purpose: str) -> Any:
            existing = trust.get("github_oidc_provider_arn")
            document = pulumi.Output.from_input(existing or github or "").apply(
                lambda arn: trust_policy(trust, arn or None)
            )
            created = aws.iam.Role(
                f"{self._name}-{role_name}",
                name=role_name,
                description=purpose,
                assume_role_policy=document,
                max_session_duration=3600,
                opts=self._aws_opts(),
            )
            self.role_arns[role_name] = created.arn
            return created

        deployer = args.get("deployer_role")
        if deployer:
            created = role(deployer, args.get("deployer_trust") or {}, "tkestack: pulumi up")
            for index, policy in enumerate(args.get("deployer_policy_arns") or []):
                aws.iam.RolePolicyAttachment(
                    f"{self._name}-{deployer}-{index}",
                    role=created.name,
                    policy_arn=policy,
                    opts=self._aws_opts(),
                )
        describe = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "eks:DescribeCluster",
                        "Resource": f"arn:aws:eks:*:{args.get('aws_account_id')}:cluster/*",
                    }
                ],
            },
            sort_keys=True,
        )
        for person in args.get("people_roles") or []:
            created = role(person, args.get("people_trust") or {}, "tkestack: cluster access")
            aws.iam.RolePolicy(
                f"{self._name}-{person}-kubeconfig",
                role=created.name,
                policy=describe,
                opts=self._aws_opts(),
            )
        bucket = args.get("state_bucket")
        if bucket:
            self._create_state_bucket(aws, bucket)

    def _create_state_bucket(self, aws: Any, name: str) -> None:
        # Pulumi state holds every secret's ciphertext and every resource id: versioned (a bad
        # write can be rolled back), encrypted, never public, and protected from deletion.
        bucket = aws.s3.Bucket(
            f"{self._name}-state", bucket=name, opts=self._aws_opts(protect=True)
        )
        aws.s3.BucketVersioning(
            f"{self._name}-state",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=self._aws_opts(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-state",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=self._aws_opts(),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{self._name}-state",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._aws_opts(),
        )
        self.state_bucket = bucket.bucket

    def _create_tencent_service_roles(self) -> None:
        import tencentcloud_iac_pulumi as tencentcloud  # local: AWS-only never imports it

        opts = pulumi.ResourceOptions(parent=self, provider=self._args.get("tencent_provider"))
        for role_name, (service, policies) in TENCENT_SERVICE_ROLES.items():
            document = json.dumps(
                {
                    "version": "2.0",
                    "statement": [
                        {
                            "action": "name/sts:AssumeRole",
                            "effect": "allow",
                            "principal": {"service": service},
                        }
                    ],
                },
                sort_keys=True,
            )
            created = tencentcloud.cam.Role(
                f"{self._name}-{role_name}",
                name=role_name,
                document=document,
                description=f"tkestack: service role of {service}",
                console_login=False,
                tags=dict(self._args.get("tags") or {}),
                opts=opts,
            )
            for policy in policies:
                tencentcloud.cam.RolePolicyAttachmentByName(
                    f"{self._name}-{role_name}-{policy}",
                    role_name=created.name,
                    policy_name=policy,
                    opts=opts,
                )


__all__ = [
    "TENCENT_SERVICE_ROLES",
    "AccountPrerequisites",
    "AccountPrerequisitesArgs",
    "TrustArgs",
    "trust_policy",
    "trust_statements",
]
