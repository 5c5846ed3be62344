"""The bootstrap program (stacks/bootstrap.py, components/prerequisites.py): what each
environment needs in its accounts first, rendered offline like the environment itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, minimal_environment, stack_config

from tkestack import engine

SHIPPED = ("dev", "staging", "prod")


@cache
def bootstrap(env: str) -> engine.Rendering:
    return engine.render_bootstrap(stack_config(ROOT / f"Pulumi.{env}.yaml"))


def created_roles(rendering: engine.Rendering) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in rendering.of_type("aws:iam/role:Role")}


def existing_roles(env: str) -> set[str]:
    config = engine.read_stack_config(ROOT / f"Pulumi.{env}.yaml", ROOT)
    spec = config.values["tkestack:environment"]
    return set(spec.get("bootstrap", {}).get("existing_roles", []))


@pytest.mark.parametrize("env", SHIPPED)
def test_every_access_entry_names_a_role_the_bootstrap_creates_or_the_spec_declares(
    env: str, rendered: Callable[[str], engine.Rendering]
) -> None:
    # EKS refuses an access entry whose principal does not exist
    # (awsdocs EKS user guide `creating-access-entries.md`): each must be created first.
    entries = rendered(env).of_type("aws:eks/accessEntry:AccessEntry")
    assert entries, "the shipped environments have EKS clusters"
    known = set(created_roles(bootstrap(env))) | existing_roles(env)
    missing = sorted(
        {
            entry.inputs["principalArn"]
            for entry in entries
            if entry.inputs["principalArn"].split(":role/", 1)[1] not in known
        }
    )
    assert missing == []


@pytest.mark.parametrize("env", SHIPPED)
def test_the_deployer_role_trusts_only_the_github_environment_of_its_stack(env: str) -> None:
    # GitHub docs, "OpenID Connect reference" / "About security hardening with OpenID
    # Connect": sub `repo:<org>/<repo>:environment:<name>`, aud `sts.amazonaws.com`.
    rendering = bootstrap(env)
    (provider,) = rendering.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    policy = json.loads(created_roles(rendering)["tkestack-deployer"]["assumeRolePolicy"])
    (statement,) = policy["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(
        ":oidc-provider/token.actions.githubusercontent.com"
    )
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": (
                f"repo:your-org/platform-infra:environment:{env}"
            ),
        }
    }


def test_people_roles_trust_the_enterprise_saml_provider_and_can_only_describe_clusters() -> None:
    # IAM user guide, SAML 2.0 federation: sts:AssumeRoleWithSAML with SAML:aud.
    rendering = bootstrap("prod")
    roles = created_roles(rendering)
    assert {"tkestack-break-glass", "tkestack-ml-leads", "tkestack-web-engineers"} <= set(roles)
    policy = json.loads(roles["tkestack-break-glass"]["assumeRolePolicy"])
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::432109876543:saml-provider/corporate-idp"},
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
        }
    ]
    for inline in rendering.of_type("aws:iam/rolePolicy:RolePolicy"):
        (statement,) = json.loads(inline.inputs["policy"])["Statement"]
        assert statement["Action"] == "eks:DescribeCluster"
        assert statement["Resource"] == "arn:aws:eks:*:432109876543:cluster/*"


def test_tencent_service_roles_carry_their_preset_policies() -> None:
    # tencentyun/intlcloud-documents TKE service authorization roles and TKE's cam.tf:
    # TKE_QCSRole trusted by ccs.qcloud.com; CVM_QcsRole + QcloudKMSAccessForCVMRole for
    # encrypted CBS disks (terraform-provider-tencentcloud v1.82.42 cbs_storage_set docs).
    rendering = bootstrap("staging")
    roles = {r.inputs["name"]: r for r in rendering.of_type("tencentcloud:Cam/role:Role")}
    assert set(roles) == {"TKE_QCSRole", "CVM_QcsRole"}
    document = json.loads(roles["TKE_QCSRole"].inputs["document"])
    assert document["statement"][0]["principal"] == {"service": "ccs.qcloud.com"}
    attached = {
        (r.inputs["roleName"], r.inputs["policyName"])
        for r in rendering.of_type(
            "tencentcloud:Cam/rolePolicyAttachmentByName:RolePolicyAttachmentByName"
        )
    }
    assert attached == {
        ("TKE_QCSRole", "QcloudAccessForTKERole"),
        ("TKE_QCSRole", "QcloudAccessForTKERoleInOpsManagement"),
        ("CVM_QcsRole", "QcloudKMSAccessForCVMRole"),
    }


def bootstrap_spec(write_stack: Callable[..., Path], **bootstrap: Any) -> engine.Rendering:
    environment = minimal_environment(bootstrap=bootstrap)
    return engine.render_bootstrap(stack_config(write_stack(environment)))


SAML = {"saml_provider_arn": "arn:aws:iam::123456789012:saml-provider/idp"}
SSO = {"aws_principal_arns": ["arn:aws:iam::123456789012:role/AWSReservedSSO_Platform_0a1b"]}


def test_roles_the_enterprise_brings_are_not_created(write_stack: Callable[..., Path]) -> None:
    rendering = bootstrap_spec(
        write_stack, existing_roles=["tkestack-deployer", "tkestack-break-glass"]
    )
    assert created_roles(rendering) == {}
    assert rendering.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []


def test_an_sso_role_may_be_the_deployer(write_stack: Callable[..., Path]) -> None:
    rendering = bootstrap_spec(write_stack, deployer_trust=SSO, people_trust=SAML)
    policy = json.loads(created_roles(rendering)["tkestack-deployer"]["assumeRolePolicy"])
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": SSO["aws_principal_arns"]},
            "Action": "sts:AssumeRole",
        }
    ]


def test_the_bootstrap_refuses_to_create_roles_nobody_may_assume(
    write_stack: Callable[..., Path],
) -> None:
    with pytest.raises(engine.RenderError, match=r"bootstrap\.deployer_trust"):
        bootstrap_spec(write_stack, people_trust=SAML)


def test_the_state_bucket_is_versioned_encrypted_private_and_protected(
    write_stack: Callable[..., Path],
) -> None:
    rendering = bootstrap_spec(
        write_stack, deployer_trust=SSO, people_trust=SAML, state_bucket="acme-pulumi-state"
    )
    (bucket,) = rendering.of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "acme-pulumi-state"
    assert bucket.protect
    (versioning,) = rendering.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (block,) = rendering.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[key]
        for key in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    (sse,) = rendering.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"


def test_the_cli_renders_the_bootstrap_of_a_shipped_environment() -> None:
    from typer.testing import CliRunner

    from tkestack.cli import app

    result = CliRunner().invoke(app, ["render", "--bootstrap", "prod", "-f", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    types = {resource["type"] for resource in document["resources"]}
    assert {"aws:iam/role:Role", "tencentcloud:Cam/role:Role"} <= types
    assert all(
        r["urn"].startswith("urn:pulumi:prod::tkestack-bootstrap::") for r in document["resources"]
    )
