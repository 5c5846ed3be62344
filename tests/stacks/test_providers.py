"""Explicit providers carry the stack's credential config (default providers are disabled,
so nothing else would apply `aws:profile` or `tencentcloud:secretKey` to them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import minimal_environment

from tkestack import engine
from tkestack.components.clouds import aws as eks
from tkestack.stacks.loader import SpecError, load_environment

Render = Callable[..., engine.Rendering]

TKE_CLUSTER: dict[str, Any] = {
    "name": "tke1",
    "cloud": "tencentcloud",
    "region": "ap-guangzhou",
    "kubernetes_version": "1.32",
    "network": {"vpc_cidr": "10.1.0.0/16"},
    "node_pools": [{"name": "general", "instance_types": ["S5.LARGE8"]}],
}


def provider(rendering: engine.Rendering, type_: str) -> engine.RenderedResource:
    (found,) = rendering.of_type(type_)
    return found


def rendered_inputs(rendering: engine.Rendering, urn: str) -> dict[str, Any]:
    """The inputs of `urn` as `tkestack render -f json` prints them (secrets masked)."""
    document = json.loads(engine.render_json(rendering))
    (resource,) = [item for item in document["resources"] if item["urn"] == urn]
    return resource["inputs"]


def test_the_aws_provider_uses_the_configured_profile(render_spec: Render) -> None:
    rendering = render_spec(minimal_environment(), **{"aws:profile": "platform-admin"})
    aws = provider(rendering, "pulumi:providers:aws")
    assert rendered_inputs(rendering, aws.urn)["profile"] == "platform-admin"


def test_without_a_profile_the_aws_provider_leaves_it_to_the_environment(
    render_spec: Render,
) -> None:
    rendering = render_spec(minimal_environment())
    aws = provider(rendering, "pulumi:providers:aws")
    assert "profile" not in rendered_inputs(rendering, aws.urn)


def test_the_tencent_provider_gets_the_configured_keys_and_the_key_stays_secret(
    render_spec: Render,
) -> None:
    config = {
        "tencentcloud:secretId": "AKIDexample",
        "tencentcloud:secretKey": {"secure": "v1:encrypted"},
    }
    # One region only: nothing to replicate (replication needs the premium TCR edition).
    environment = minimal_environment(clusters=[TKE_CLUSTER], registry={"replicate": False})
    rendering = render_spec(environment, **config)
    tencent = provider(rendering, "pulumi:providers:tencentcloud")
    inputs = rendered_inputs(rendering, tencent.urn)
    assert inputs["region"] == "ap-guangzhou"
    assert inputs["secretId"] == "AKIDexample"
    assert inputs["secretKey"] == engine.SECRET_MARK
    secret_value = engine.offline_secret("secretKey")
    assert secret_value not in engine.render_json(rendering)
    assert engine.revealed(tencent.inputs)["secretKey"] == secret_value


def eks_kubeconfig_exec(rendering: engine.Rendering) -> dict[str, Any]:
    """The exec block of the EKS cluster's kubeconfig (as the Kubernetes provider gets it)."""
    (k8s,) = [
        resource
        for resource in rendering.of_type("pulumi:providers:kubernetes")
        if resource.name == "c1-k8s"
    ]
    config = json.loads(engine.revealed(k8s.inputs["kubeconfig"]))
    (user,) = config["users"]
    return user["user"]["exec"]


def test_the_eks_kubeconfig_gets_its_token_with_the_configured_profile(
    render_spec: Render,
) -> None:
    rendering = render_spec(minimal_environment(), **{"aws:profile": "platform-admin"})
    exec_config = eks_kubeconfig_exec(rendering)
    # `--profile`, never `AWS_PROFILE` in `env`: the AWS CLI prefers AWS_ACCESS_KEY_ID & co. over
    # AWS_PROFILE, only an explicit --profile outranks them (boto/botocore PR #486; pulumi-eks
    # nodejs/eks/cluster/cluster.ts generateKubeconfig, commit 1069dbb, passes --profile too).
    assert "env" not in exec_config
    assert exec_config["args"][:4] == ["--region", "us-east-1", "eks", "get-token"]
    assert exec_config["args"][-2:] == ["--profile", "platform-admin"]


def test_without_a_profile_the_eks_kubeconfig_names_none(render_spec: Render) -> None:
    exec_config = eks_kubeconfig_exec(render_spec(minimal_environment()))
    assert "env" not in exec_config
    assert "--profile" not in exec_config["args"]


def test_build_kubeconfig_passes_the_profile_to_the_exec_plugin() -> None:
    role = "arn:aws:iam::123456789012:role/deployer"
    with_profile = json.loads(
        eks.build_kubeconfig("c", "https://x", "Q0E=", "eu-central-1", role, "ops")
    )
    without = json.loads(eks.build_kubeconfig("c", "https://x", "Q0E=", "eu-central-1", role))
    assert with_profile["users"][0]["user"]["exec"]["args"][-2:] == ["--profile", "ops"]
    assert "env" not in with_profile["users"][0]["user"]["exec"]
    assert "--profile" not in without["users"][0]["user"]["exec"]["args"]


def account_problems(environment: dict[str, Any]) -> dict[str, str]:
    """{dotted path: message} of the errors `environment` has, or {} when it is valid."""
    try:
        load_environment(environment, "Pulumi.test.yaml")
    except SpecError as error:
        return {
            item.problem.dotted: item.problem.message
            for item in error.located
            if item.problem.severity == "error"
        }
    return {}


def test_an_aws_cluster_needs_the_aws_account() -> None:
    environment = minimal_environment(identity={"tencent_uin": "100000000001"})
    problems = account_problems(environment)
    assert list(problems) == ["identity.aws_account_id"]
    assert "AWS account" in problems["identity.aws_account_id"]


def test_a_tencent_cluster_needs_the_uin_and_not_the_aws_account() -> None:
    environment = minimal_environment(clusters=[TKE_CLUSTER], identity={})
    assert list(account_problems(environment)) == ["identity.tencent_uin"]
    environment["identity"] = {"tencent_uin": "100000000001"}
    assert account_problems(environment) == {}
