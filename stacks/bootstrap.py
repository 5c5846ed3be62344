"""The bootstrap program: per account, what an environment needs before its first `pulumi up`.

Its own Pulumi project (`bootstrap/Pulumi.yaml`, one stack per environment, same names) runs
this `main`, which reads the environment's own stack file (`Pulumi.<env>.yaml` at the project
root) with the same loader and rules as the environment, then creates the roles its access
entries name (unless `bootstrap.existing_roles` lists them), the Tencent CAM service roles and
the state bucket. `tkestack render --bootstrap <env>` runs it offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from ..components.prerequisites import AccountPrerequisites, AccountPrerequisitesArgs, TrustArgs
from .loader import ENVIRONMENT_KEY, SpecError, load_environment, load_stack_file
from .problems import format_path
from .providers import CloudProviders
from .rules_access import bootstrap_problems, people_roles
from .spec import EnvironmentSpec, TrustSpec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Where the environments' `Pulumi.<env>.yaml` files live (the main project)."""


def _trust(trust: TrustSpec | None, env: EnvironmentSpec) -> TrustArgs:
    if trust is None:
        return {}
    return {
        "aws_principal_arns": list(trust.aws_principal_arns),
        "github_repository": trust.github_repository,
        # The GitHub environment named after this one: only its jobs (with their protection
        # rules) may deploy it.
        "github_environment": env.name,
        "github_oidc_provider_arn": trust.github_oidc_provider_arn,
        "saml_provider_arn": trust.saml_provider_arn,
    }


def prerequisites_args(env: EnvironmentSpec, providers: CloudProviders) -> AccountPrerequisitesArgs:
    """The environment's spec as `AccountPrerequisites` arguments."""
    bootstrap = env.bootstrap
    existing = set(bootstrap.existing_roles)
    clouds = {cluster.cloud for cluster in env.clusters}
    args: AccountPrerequisitesArgs = {"tags": dict(env.tags)}
    if "aws" in clouds:
        region = next(c.region for c in env.clusters if c.cloud == "aws" and c.region)
        identity = env.identity
        people = sorted({identity.break_glass_role, *people_roles(env.model_dump(mode="json"))})
        args.update(
            aws_provider=providers.for_region("aws", region),
            aws_account_id=identity.aws_account(),
            deployer_role=None if identity.deployer_role in existing else identity.deployer_role,
            deployer_trust=_trust(bootstrap.deployer_trust, env),
            deployer_policy_arns=list(bootstrap.deployer_policy_arns),
            people_roles=[role for role in people if role not in existing],
            people_trust=_trust(bootstrap.people_trust, env),
            state_bucket=bootstrap.state_bucket,
        )
    if "tencentcloud" in clouds and bootstrap.tencent_service_roles == "create":
        region = next(c.region for c in env.clusters if c.cloud == "tencentcloud" and c.region)
        args.update(tencent_provider=providers.for_region("tencentcloud", region))
        args["tencent_service_roles"] = True
    return args


def _environment_value(stack: str) -> tuple[Any, str, str | None]:
    """The environment spec value: from this stack's config (`tkestack:environment`, as the
    offline render passes it) or from the environment's own stack file."""
    value = pulumi.Config("tkestack").get_object("environment")
    path = PROJECT_ROOT / f"Pulumi.{stack}.yaml"
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    if value is None and path.is_file():
        config, text = load_stack_file(path, path.name)
        value = config.get(ENVIRONMENT_KEY)
    return value, path.name, text


def main() -> None:
    """Load the environment, check its bootstrap section, create its prerequisites."""
    stack = pulumi.get_stack()
    value, display, text = _environment_value(stack)
    try:
        loaded = load_environment(value, display, text)
    except SpecError as error:
        raise pulumi.RunError(error.report()) from None
    problems = bootstrap_problems(loaded.spec.model_dump(mode="json"), required=True)
    if problems:
        raise pulumi.RunError(
            "invalid bootstrap section:\n"
            + "\n".join(f"  {display}: {format_path(p.path)}: {p.message}" for p in problems)
        )
    env = loaded.spec
    prerequisites = AccountPrerequisites(
        f"{env.name}-prerequisites", prerequisites_args(env, CloudProviders(env))
    )
    pulumi.export("roles", prerequisites.role_arns)
    pulumi.export("state_bucket", prerequisites.state_bucket)


__all__ = ["main", "prerequisites_args"]
