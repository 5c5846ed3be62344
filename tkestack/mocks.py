"""Provider-realistic, deterministic mock outputs for the offline engine.

Every value derives from the resource's URN through SHA-256, so the same spec renders the
same ids, ARNs, endpoints and kubeconfigs on every run and every machine. The shapes follow
what each provider really returns (an EKS endpoint looks like one, a TKE cluster id is
`cls-xxxxxxxx`), so components that compute from outputs see realistic values.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pulumi

AWS_ACCOUNT = "123456789012"

OutputsFor = Callable[[pulumi.runtime.MockResourceArgs, str, str], dict[str, Any]]
"""(args, stable hex digest, region) -> outputs to add to the inputs."""

_BY_TYPE: dict[str, OutputsFor] = {}


def outputs_for(*types: str) -> Callable[[OutputsFor], OutputsFor]:
    """Register the mock outputs of one or more resource types."""

    def register(function: OutputsFor) -> OutputsFor:
        for type_ in types:
            _BY_TYPE[type_] = function
        return function

    return register


def digest(*parts: str) -> str:
    """A stable hex digest of `parts` (64 hex characters)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def fake_certificate(seed: str) -> str:
    """A PEM-shaped certificate whose body is deterministic filler (not a real key)."""
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 6).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----", ""])


def fake_kubeconfig(name: str, endpoint: str, seed: str) -> str:
    """A kubeconfig as the clouds hand it out, with a deterministic CA and token."""
    ca = base64.b64encode(fake_certificate(seed).encode()).decode()
    token = "k8s-aws-v1." + digest("token", seed)[:48]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca}}
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [{"name": name, "user": {"token": token}}],
    }
    return json.dumps(config, sort_keys=True)


def _service(type_: str) -> str:
    """`aws:ec2/vpc:Vpc` -> `ec2`."""
    module = type_.split(":")[1] if type_.count(":") >= 2 else ""
    return module.split("/")[0]


def _short(type_: str) -> str:
    return type_.rsplit(":", 1)[-1].lower()


class PlatformMocks(pulumi.runtime.Mocks):
    """Mocks that answer like the real providers, deterministically.

    `region_of` maps a provider reference (`urn::id`) to its region so ARNs and endpoints
    name the right region.
    """

    def __init__(self) -> None:
        self.provider_regions: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        """Register a resource: a stable id and the outputs its provider would return."""
        seed = digest(args.typ, args.name, args.provider or "")
        region = self._region(args)
        outputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            region_input = args.inputs.get("region")
            provider_id = seed[:36]
            if isinstance(region_input, str):
                self.provider_regions[provider_id] = region_input
            return provider_id, outputs
        function = _BY_TYPE.get(args.typ)
        if function is not None:
            outputs.update(function(args, seed, region))
        resource_id = outputs.pop("__id", None) or self._default_id(args, seed)
        if args.typ.startswith("aws:") and "arn" not in outputs:
            outputs["arn"] = (
                f"arn:aws:{_service(args.typ)}:{region}:{AWS_ACCOUNT}:{_short(args.typ)}/{args.name}"
            )
        outputs.setdefault("id", resource_id)
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        """Invokes: answer the few the components may use, deterministically."""
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": AWS_ACCOUNT,
                "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/tkestack",
                "userId": "AIDA" + digest("user")[:16].upper(),
            }, None
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, None
        return {}, None

    def _region(self, args: pulumi.runtime.MockResourceArgs) -> str:
        provider_id = (args.provider or "").rsplit("::", 1)[-1]
        return self.provider_regions.get(provider_id, "us-east-1")

    @staticmethod
    def _default_id(args: pulumi.runtime.MockResourceArgs, seed: str) -> str:
        if args.typ.startswith("kubernetes:"):
            metadata = args.inputs.get("metadata") or {}
            name = metadata.get("name") or args.name
            namespace = metadata.get("namespace")
            return f"{namespace}/{name}" if namespace else str(name)
        if args.typ.startswith("tencentcloud:"):
            return f"{_short(args.typ)[:6]}-{seed[:8]}"
        if args.typ.startswith("aws:"):
            return f"{_short(args.typ)[:8]}-{seed[:17]}"
        return f"{args.name}-{seed[:12]}"


@outputs_for("random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString")
def _random_password(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    length = int(args.inputs.get("length", 32))
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = hashlib.sha512(seed.encode()).digest()
    value = "".join(alphabet[b % len(alphabet)] for b in (raw * (length // len(raw) + 1)))
    return {"result": value[:length], "bcryptHash": "$2a$10$" + digest("bcrypt", seed)[:53]}


@outputs_for("kubernetes:core/v1:Service")
def _load_balancer_service(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    """LoadBalancer Services get the address the cloud assigns (an ELB-style hostname)."""
    spec = args.inputs.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return {}
    host = f"internal-a{seed[:31]}.{region}.elb.amazonaws.com"
    return {"status": {"loadBalancer": {"ingress": [{"hostname": host}]}}}
