"""The outputs contract: what each component exports (names, types, secrecy), so that code
and stack references built on them keep working across releases.

The contract is `components/reference.py` (`COMPONENTS`: each component's annotated outputs
and its secret ones) for the Python API, and `components/package.py` (`SECRET_OUTPUTS`, the
golden schema) for the package; docs/components/*.md print the same tables. Every component is
built here under the mock engine and held to it: every documented output exists with its
declared type, the secret ones are Pulumi secrets and no other output is.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable
from types import NoneType, UnionType
from typing import Any

import pulumi
import pytest
from cluster_support import ONPREM_KUBECONFIG
from embedding_support import hosted, run_python_example
from platform_clusters import cluster, pool
from registry_support import HARBOR_HOST, POOL, harbor_exposure, harbor_tls_bundle

from tkestack import engine
from tkestack.components import (
    ClusterIdentity,
    GpuStack,
    Observability,
    PushTarget,
    Registry,
    RegistryNamespace,
    RegistrySettings,
    RetentionSettings,
    WorkloadIdentity,
    package,
    reference,
)

ACCOUNT = "123456789012"


def contains_secret(value: Any) -> bool:
    if isinstance(value, engine.SecretValue):
        return True
    if isinstance(value, dict):
        return any(contains_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_secret(item) for item in value)
    return False


def conforms(value: Any, hint: Any) -> bool:
    """Whether `value` has the declared type `hint` (Outputs by their wrapper only)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        return any(conforms(value, option) for option in typing.get_args(hint))
    if hint is NoneType:
        return value is None
    if origin is pulumi.Output:
        return isinstance(value, pulumi.Output)
    if origin in (list, dict):
        if not isinstance(value, origin):
            return False
        args = typing.get_args(hint)
        items = value.values() if origin is dict else value
        return all(conforms(item, args[-1]) for item in items)
    if hint is Any:
        return True
    return isinstance(value, origin or hint)


class Contract:
    """Collects component instances inside a program, then checks them against the contract."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.secrets_seen: set[str] = set()
        self.checked: set[str] = set()

    def observe(self, instance: pulumi.ComponentResource) -> None:
        """Check the plain shape now; export every Output to check its secrecy after the run."""
        entry = reference.entry(type(instance))
        name = entry.component.__name__
        namespace = vars(sys.modules[entry.component.__module__])
        self.checked.add(name)
        for field in reference.output_fields(entry.component):
            if not hasattr(instance, field.name):
                self.problems.append(f"{name}.{field.name}: missing")
                continue
            value = getattr(instance, field.name)
            if not conforms(value, eval(field.annotation, namespace)):  # the declared type
                self.problems.append(f"{name}.{field.name}: {value!r} is not {field.annotation}")
            if value is not None and field.name in entry.secret_outputs:
                self.secrets_seen.add(f"{name}.{field.name}")
            if isinstance(value, pulumi.Output) or (
                isinstance(value, dict | list) and "Output" in field.annotation
            ):
                pulumi.export(f"{name}.{field.name}", value)

    def verify(self, rendering: engine.Rendering) -> None:
        for key, value in rendering.stack_outputs.items():
            component, dot, output = key.partition(".")
            if not dot:  # the program's own exports
                continue
            entry = next(e for e in reference.COMPONENTS if e.component.__name__ == component)
            expected = output in entry.secret_outputs
            if contains_secret(value) != expected:
                self.problems.append(f"{key}: secret is {contains_secret(value)}, not {expected}")
        assert self.problems == []


def registry_gpu_and_identity_program(contract: Contract) -> Callable[[], None]:
    def program() -> None:
        onprem = cluster(
            "onprem", cloud="attached", region=None, pools=[pool("attached", "general")]
        )
        registry = Registry(
            "onprem-registry",
            {"cluster": onprem, "settings": RegistrySettings(), **harbor_exposure()},
        )
        contract.observe(registry)
        contract.observe(
            RegistryNamespace(
                "team-a-onprem",
                {"cluster": onprem, "tenant": "team-a", "registry": registry.handle},
            )
        )
        # A TCR namespace: the one registry with a pull secret (private TCR namespaces).
        tke = cluster(
            "tke", cloud="tencentcloud", region="ap-guangzhou", pools=[pool("tencentcloud", "g")]
        )
        tcr = Registry(
            "tke-registry",
            {"cluster": tke, "settings": RegistrySettings(), "tcr_instance_name": "acme-tke-gz"},
        )
        contract.observe(
            RegistryNamespace(
                "team-a-tke", {"cluster": tke, "tenant": "team-a", "registry": tcr.handle}
            )
        )
        gpu_cluster = cluster("gpu", pools=[pool("aws", "general"), pool("aws", "gpu", "gpu")])
        contract.observe(GpuStack("gpu-gpu", {"cluster": gpu_cluster, "dcgm_exporter": False}))
        # A peer cluster: the outputs of the push pipeline (push_password is a secret).
        contract.observe(
            Observability(
                "peer-observability",
                {
                    "cluster": cluster("peer"),
                    "retention": RetentionSettings(3, 3, None, None),
                    "push_to": PushTarget(hostname="receivers.example.com"),
                },
            )
        )
        eks = cluster("eks", cloud="aws")
        contract.observe(
            ClusterIdentity(
                "eks-identity",
                {
                    "cluster": eks,
                    "groups": ["payments-admins"],
                    "break_glass_role": "break-glass",
                    "oidc_groups_prefix": "oidc:",
                    "aws_role_arn_pattern": "arn:aws:iam::{account}:role/{group}",
                    "aws_account_id": ACCOUNT,
                },
            )
        )
        contract.observe(
            WorkloadIdentity(
                "team-a-eks-workload-identity",
                {"cluster": eks, "tenant": "team-a", "namespaces": ["team-a"], "account": ACCOUNT},
            )
        )

    return program


def test_every_python_component_exports_its_documented_outputs() -> None:
    contract = Contract()

    def observe_example(module: dict[str, Any]) -> None:
        platform = module["platform"]
        for instance in (module["cluster"], module["graviton"], platform, module["team"]):
            contract.observe(instance)
        contract.observe(platform.observability)

    rendering, _, _ = run_python_example(observe_example)
    contract.verify(rendering)
    contract.verify(engine.run_program(registry_gpu_and_identity_program(contract)))
    assert contract.checked == {entry.component.__name__ for entry in reference.COMPONENTS}
    every_secret = {
        f"{entry.component.__name__}.{name}"
        for entry in reference.COMPONENTS
        for name in entry.secret_outputs
    }
    assert contract.secrets_seen == every_secret


def test_a_stack_reference_reads_the_kubeconfig_as_a_secret_and_the_endpoint_in_clear() -> None:
    rendering, _, _ = run_python_example()
    assert isinstance(rendering.stack_outputs["kubeconfig"], engine.SecretValue)
    assert not contains_secret(rendering.stack_outputs["endpoint"])


@pytest.mark.parametrize(
    ("component", "inputs"),
    [
        (
            "Cluster",
            {
                "cloud": "attached",
                "kubernetesVersion": "1.32",
                "attached": {"kubeconfig": ONPREM_KUBECONFIG},
                "nodePools": [
                    {"name": "general", "instanceTypes": ["x"], "architecture": "x86_64"}
                ],
            },
        ),
        ("PlatformServices", None),
        ("PlatformServices", {"peer": True}),
        ("Tenant", None),
    ],
)
def test_every_package_component_exports_its_schema_outputs(
    component: str, inputs: dict[str, Any] | None
) -> None:
    reference_ = {
        "name": "onprem",
        "cloud": "attached",
        "kubernetesVersion": "1.32",
        "kubeconfig": ONPREM_KUBECONFIG,
        "nodePools": [{"name": "general", "instanceTypes": ["x"], "architecture": "x86_64"}],
    }
    peer = inputs == {"peer": True}
    if component == "PlatformServices":
        inputs = {
            "cluster": reference_,
            "registry": {
                "harborHostname": HARBOR_HOST,
                "harborTlsBundle": harbor_tls_bundle(),
                "harborLoadBalancerAnnotations": POOL,
            },
            "observability": {
                "retention": {"metricsRetentionDays": 3, "logsRetentionDays": 3},
                "central": True,
            },
        }
        if peer:  # the push pipeline's side: its secret output exists only on a peer
            inputs["observability"] = {
                "retention": {"metricsRetentionDays": 3, "logsRetentionDays": 3},
                "pushTo": {"hostname": "receivers.example.com"},
            }
    elif component == "Tenant":
        inputs = {"cluster": reference_, "tenant": "team-a"}
    schema = package.package_schema()
    outputs = schema["resources"][f"tkestack:index:{component}"]["properties"]

    def program() -> None:
        result = hosted().construct(
            "onprem", f"tkestack:index:{component}", inputs or {}, pulumi.ResourceOptions()
        )
        for key, value in result.state.items():
            pulumi.export(key, value)

    rendering = engine.run_program(program)
    state = rendering.stack_outputs
    assert set(state) <= set(outputs)
    secret = {key for key, value in state.items() if contains_secret(value)}
    snake = {key: "".join(f"_{c.lower()}" if c.isupper() else c for c in key) for key in state}
    expected = set(package.SECRET_OUTPUTS[component])
    if component == "PlatformServices":  # each exists on one side of the push pipeline
        expected -= {"grafana_admin_password"} if peer else {"push_password_hash"}
    assert {snake[key] for key in secret} == expected
    required = set(schema["resources"][f"tkestack:index:{component}"].get("required", []))
    assert required <= set(state)
