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


def _secret(value: Any) -> bool:
    """Whether a wrapped output value holds a secret (`{<sig>: <secret sig>, ...}`: the SDK's
    wire form, the same constants as `engine.SIG_KEY` and `engine.SECRET_SIG`)."""
    if isinstance(value, dict):
        if value.get("4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270":
            return True
        return any(_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(_secret(item) for item in value)
    return False


class PlatformMocks(pulumi.runtime.Mocks):
    """Mocks that answer like the real providers, deterministically.

    `region_of` maps a provider reference (`urn::id`) to its region so ARNs and endpoints
    name the right region.
    """

    def __init__(
        self,
        references: dict[str, dict[str, Any]] | None = None,
        id_stack: tuple[str, str] | None = None,
    ) -> None:
        self.provider_regions: dict[str, str] = {}
        self.references = references or {}
        """Stack outputs by stack name, answering `pulumi.StackReference` reads."""
        self.id_stack = id_stack
        """`(stack, as_stack)`: ids are made as if the program ran as `as_stack`. A resource
        moved by `pulumi state move` keeps its id; a cluster stack's render keeps the ids of
        the single-stack render it was split from."""

    def _provider_key(self, provider: str) -> str:
        if self.id_stack is not None:
            stack, as_stack = self.id_stack
            prefix = f"urn:pulumi:{stack}::"
            if provider.startswith(prefix):
                return f"urn:pulumi:{as_stack}::" + provider[len(prefix) :]
        return provider

    def _stack_reference(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        """A stack reference's read: the referenced stack's outputs, as the engine answers it
        (`name`, `outputs`, `secretOutputNames`: pulumi/stack_reference.py)."""
        name = str(args.inputs.get("name", args.name))
        stack = name.rsplit("/", 1)[-1]
        if stack not in self.references:
            raise KeyError(f"stack reference {name}: no render of stack {stack!r} to read")
        outputs = self.references[stack]
        return name, {
            "name": name,
            "outputs": outputs,
            "secretOutputNames": sorted(key for key, value in outputs.items() if _secret(value)),
        }

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        """Register a resource: a stable id and the outputs its provider would return."""
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(args)
        seed = digest(args.typ, args.name, self._provider_key(args.provider or ""))
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

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        """Invokes: answer the few the components may use, deterministically."""
        lookup = _LOOKUPS.get(args.token)
        if lookup is not None:
            return lookup(args, self._region(args)), []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": AWS_ACCOUNT,
                "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/tkestack",
                "userId": "AIDA" + digest("user")[:16].upper(),
            }, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, []
        return {}, []

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


# -- clusters: AWS network, IAM, KMS, EKS (components/clouds/aws.py) --------------------------

_EC2_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
}


def _uuid(seed: str) -> str:
    """A UUID-shaped (version 4) string from a digest."""
    return f"{seed[:8]}-{seed[8:12]}-4{seed[13:16]}-a{seed[17:20]}-{seed[20:32]}"


def _ipv4(first_octet: int, seed: str) -> str:
    """A public IPv4 address in the cloud's range, from a digest."""
    octets = bytes.fromhex(seed[:6])
    return f"{first_octet}.{octets[0]}.{octets[1]}.{max(octets[2], 1)}"


@outputs_for(*_EC2_ID_PREFIX)
def _aws_ec2(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    resource_id = f"{_EC2_ID_PREFIX[args.typ]}-{seed[:17]}"
    outputs: dict[str, Any] = {"__id": resource_id, "ownerId": AWS_ACCOUNT}
    kind = _short(args.typ)
    if kind in ("vpc", "subnet", "internetgateway", "routetable", "launchtemplate"):
        resource_type = {"internetgateway": "internet-gateway", "routetable": "route-table"}
        path = resource_type.get(kind, "launch-template" if kind == "launchtemplate" else kind)
        outputs["arn"] = f"arn:aws:ec2:{region}:{AWS_ACCOUNT}:{path}/{resource_id}"
    if kind == "vpc":
        outputs["defaultSecurityGroupId"] = f"sg-{seed[17:34]}"
        outputs["mainRouteTableId"] = f"rtb-{seed[34:51]}"
    if kind == "eip":
        outputs.update(allocationId=resource_id, publicIp=_ipv4(3, seed))
    if kind == "natgateway":
        outputs["publicIp"] = _ipv4(3, digest("nat", seed))
    if kind == "launchtemplate":
        outputs.update(latestVersion=1, defaultVersion=1)
    return outputs


@outputs_for("aws:kms/key:Key")
def _aws_kms_key(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    key_id = _uuid(seed)
    return {
        "__id": key_id,
        "keyId": key_id,
        "arn": f"arn:aws:kms:{region}:{AWS_ACCOUNT}:key/{key_id}",
    }


@outputs_for("aws:kms/alias:Alias")
def _aws_kms_alias(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    name = str(args.inputs.get("name") or f"alias/{args.name}")
    return {"__id": name, "arn": f"arn:aws:kms:{region}:{AWS_ACCOUNT}:{name}"}


@outputs_for("aws:iam/role:Role")
def _aws_iam_role(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    # Auto-naming appends 7 random characters to the resource name.
    name = str(args.inputs.get("name") or f"{args.name}-{seed[:7]}")
    return {
        "__id": name,
        "name": name,
        "arn": f"arn:aws:iam::{AWS_ACCOUNT}:role/{name}",
        "uniqueId": "AROA" + seed[:17].upper(),
    }


@outputs_for("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _aws_oidc_provider(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    url = str(args.inputs.get("url") or "").removeprefix("https://")
    arn = f"arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/{url}"
    return {"__id": arn, "arn": arn, "thumbprintLists": [digest("thumbprint", seed)[:40]]}


@outputs_for("aws:cloudwatch/logGroup:LogGroup")
def _aws_log_group(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    name = str(args.inputs.get("name") or f"{args.name}-{seed[:7]}")
    arn = f"arn:aws:logs:{region}:{AWS_ACCOUNT}:log-group:{name}"
    return {"__id": name, "name": name, "arn": arn}


@outputs_for("aws:eks/cluster:Cluster")
def _aws_eks_cluster(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    name = str(args.inputs.get("name") or f"{args.name}-{seed[:7]}")
    oidc_id = digest("oidc", seed)[:32].upper()
    vpc_config = dict(args.inputs.get("vpcConfig") or {})
    vpc_config.update(
        clusterSecurityGroupId=f"sg-{seed[:17]}", vpcId=f"vpc-{digest('vpc', seed)[:17]}"
    )
    return {
        "__id": name,
        "name": name,
        "arn": f"arn:aws:eks:{region}:{AWS_ACCOUNT}:cluster/{name}",
        "endpoint": f"https://{seed[:32].upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {
            "data": base64.b64encode(fake_certificate(seed).encode()).decode()
        },
        "identities": [
            {"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}]}
        ],
        "platformVersion": "eks.12",
        "status": "ACTIVE",
        "vpcConfig": vpc_config,
    }


@outputs_for("aws:eks/nodeGroup:NodeGroup")
def _aws_eks_node_group(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    cluster = str(args.inputs.get("clusterName") or "")
    name = str(args.inputs.get("nodeGroupName") or f"{args.name}-{seed[:7]}")
    group_uuid = _uuid(seed)
    return {
        "__id": f"{cluster}:{name}",
        "nodeGroupName": name,
        "arn": f"arn:aws:eks:{region}:{AWS_ACCOUNT}:nodegroup/{cluster}/{name}/{group_uuid}",
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{group_uuid}"}]}],
    }


@outputs_for("aws:eks/addon:Addon")
def _aws_eks_addon(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    cluster = str(args.inputs.get("clusterName") or "")
    addon = str(args.inputs.get("addonName") or args.name)
    return {
        "__id": f"{cluster}:{addon}",
        "arn": f"arn:aws:eks:{region}:{AWS_ACCOUNT}:addon/{cluster}/{addon}/{_uuid(seed)}",
    }


# -- clusters: Tencent Cloud network, KMS, TKE (components/clouds/tencentcloud.py) -------------

_TENCENT_ID_PREFIX = {
    "tencentcloud:Vpc/instance:Instance": "vpc",
    "tencentcloud:Subnet/instance:Instance": "subnet",
    "tencentcloud:Route/table:Table": "rtb",
    "tencentcloud:Nat/gateway:Gateway": "nat",
    "tencentcloud:Eip/instance:Instance": "eip",
    "tencentcloud:Security/group:Group": "sg",
}
_TENCENT_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _tencent_suffix(seed: str) -> str:
    """The 8 lower-case alphanumerics of a Tencent Cloud resource id (`cls-7ph3twqe`)."""
    return "".join(_TENCENT_ALPHABET[byte % 36] for byte in bytes.fromhex(seed[:16]))


@outputs_for(*_TENCENT_ID_PREFIX)
def _tencent_resource(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    outputs: dict[str, Any] = {"__id": f"{_TENCENT_ID_PREFIX[args.typ]}-{_tencent_suffix(seed)}"}
    if args.typ == "tencentcloud:Eip/instance:Instance":
        outputs.update(publicIp=_ipv4(43, seed), status="UNBIND")
    if args.typ == "tencentcloud:Vpc/instance:Instance":
        outputs.update(isDefault=False, defaultRouteTableId=f"rtb-{_tencent_suffix(seed[16:])}")
    return outputs


@outputs_for("tencentcloud:Route/tableEntry:TableEntry")
def _tencent_route(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    entry = int(seed[:6], 16) % 1_000_000
    return {"__id": f"{entry}.{args.inputs.get('routeTableId')}"}


@outputs_for("tencentcloud:Kms/key:Key")
def _tencent_kms_key(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    return {"__id": _uuid(seed), "keyState": "Enabled"}


@outputs_for("tencentcloud:Security/groupRuleSet:GroupRuleSet")
def _tencent_rule_set(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    return {"__id": str(args.inputs.get("securityGroupId"))}


def _tke_cluster_id(seed: str) -> str:
    return f"cls-{_tencent_suffix(seed)}"


@outputs_for("tencentcloud:Kubernetes/authAttachment:AuthAttachment")
def _tencent_auth_attachment(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    """With `useTkeDefault`, TKE's own issuer and JWKS URI for the cluster, as the cluster's
    `authOptions` below (DescribeClusterAuthenticationOptions)."""
    cluster_id = args.inputs.get("clusterId")
    if not args.inputs.get("useTkeDefault") or not isinstance(cluster_id, str):
        return {}
    issuer = f"https://{cluster_id}.ccs.tencent-cloud.com"
    return {"tkeDefaultIssuer": issuer, "tkeDefaultJwksUri": f"{issuer}/openid/v1/jwks"}


@outputs_for("tencentcloud:Kubernetes/cluster:Cluster")
def _tencent_tke_cluster(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    cluster_id = _tke_cluster_id(seed)
    auth = dict(args.inputs.get("authOptions") or {})
    if auth.get("useTkeDefault"):
        # DescribeClusterAuthenticationOptions: https://tencentcloud.com/document/api/457/42699
        auth.update(
            issuer=f"https://{cluster_id}.ccs.tencent-cloud.com",
            jwksUri=f"https://{cluster_id}.ccs.tencent-cloud.com/openid/v1/jwks",
        )
    return {
        "__id": cluster_id,
        "domain": f"{cluster_id}.ccs.tencent-cloud.com",
        "certificationAuthority": fake_certificate(seed),
        "authOptions": auth,
        # Endpoints stay closed until the cluster endpoint resource opens them.
        "clusterExternalEndpoint": "",
        "pgwEndpoint": "",
        "kubeConfig": "",
        "kubeConfigIntranet": "",
        "userName": "admin",
    }


@outputs_for("tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint")
def _tencent_tke_endpoint(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    cluster_id = str(args.inputs.get("clusterId") or _tke_cluster_id(seed))
    octets = bytes.fromhex(seed[:4])
    intranet = f"https://10.{octets[0]}.{octets[1]}.8"
    outputs: dict[str, Any] = {
        "__id": cluster_id,
        "pgwEndpoint": intranet,
        "domain": f"{cluster_id}.ccs.tencent-cloud.com",
        "certificationAuthority": fake_certificate(cluster_id),
        "kubeConfigIntranet": fake_kubeconfig(cluster_id, intranet, f"intranet/{cluster_id}"),
        "kubeConfig": "",
        "clusterExternalEndpoint": "",
        "userName": "admin",
    }
    if args.inputs.get("clusterInternet"):
        external = f"https://{cluster_id}.ccs.tencent-cloud.com"
        outputs.update(
            clusterExternalEndpoint=external,
            kubeConfig=fake_kubeconfig(cluster_id, external, f"internet/{cluster_id}"),
        )
    return outputs


@outputs_for("tencentcloud:Kubernetes/nodePool:NodePool")
def _tencent_tke_node_pool(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    cluster_id = str(args.inputs.get("clusterId") or "")
    return {
        "__id": f"{cluster_id}#np-{_tencent_suffix(seed)}",
        "autoScalingGroupId": f"asg-{_tencent_suffix(seed[16:])}",
        "launchConfigId": f"asc-{_tencent_suffix(seed[32:])}",
        "status": "normal",
        "nodeCount": args.inputs.get("desiredCapacity") or 0,
    }


@outputs_for("tencentcloud:Kubernetes/encryptionProtection:EncryptionProtection")
def _tencent_tke_encryption(args: pulumi.runtime.MockResourceArgs, seed: str, region: str) -> dict:
    return {"__id": str(args.inputs.get("clusterId")), "status": "Opened"}


@outputs_for("tencentcloud:Tcr/serviceAccount:ServiceAccount")
def _tencent_tcr_service_account(
    args: pulumi.runtime.MockResourceArgs, seed: str, region: str
) -> dict:
    """TCR generates the password when none is given (Computed, Sensitive)."""
    registry = args.inputs.get("registryId")
    return {"__id": f"{registry}#{args.inputs.get('name')}", "password": digest("tcr-pw", seed)}


# -- lookups of clusters that exist already (`existing_cluster` in components/cluster.py) -------

LookupFor = Callable[[pulumi.runtime.MockCallArgs, str], dict[str, Any]]
"""(call args, region of its provider) -> the invoke's result."""

_LOOKUPS: dict[str, LookupFor] = {}


def lookup_for(token: str) -> Callable[[LookupFor], LookupFor]:
    """Register the mock answer of one invoke."""

    def register(function: LookupFor) -> LookupFor:
        _LOOKUPS[token] = function
        return function

    return register


@lookup_for("aws:eks/getCluster:getCluster")
def _aws_eks_cluster_lookup(args: pulumi.runtime.MockCallArgs, region: str) -> dict[str, Any]:
    """An existing EKS cluster, as DescribeCluster would show it (derived from its name)."""
    name = str(args.args.get("name"))
    seed = digest("existing-eks", region, name)
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:eks:{region}:{AWS_ACCOUNT}:cluster/{name}",
        "endpoint": f"https://{seed[:32].upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthorities": [
            {"data": base64.b64encode(fake_certificate(seed).encode()).decode()}
        ],
        "identities": [
            {
                "oidcs": [
                    {
                        "issuer": f"https://oidc.eks.{region}.amazonaws.com/id/"
                        + digest("oidc", seed)[:32].upper()
                    }
                ]
            }
        ],
        "status": "ACTIVE",
    }


MISSING_CAM_ROLES: set[str] = set()
"""CAM roles the mock account lacks (empty: an account with every prerequisite of
docs/deploying.md); tests add names to see the TKE preflight refuse."""


@lookup_for("tencentcloud:Cam/getRoles:getRoles")
def _tencent_cam_roles_lookup(args: pulumi.runtime.MockCallArgs, region: str) -> dict[str, Any]:
    """The CAM role of that name (exact match, as the provider filters), unless missing."""
    name = str(args.args.get("name"))
    roles = []
    if name not in MISSING_CAM_ROLES:
        role_id = str(int(digest("cam-role", name)[:12], 16))
        roles.append(
            {
                "name": name,
                "roleId": role_id,
                "consoleLogin": False,
                "createTime": "2026-01-01 00:00:00",
                "updateTime": "2026-01-01 00:00:00",
                "description": f"service role {name}",
                "document": "{}",
            }
        )
    return {"id": digest("cam-roles", name)[:12], "name": name, "roleLists": roles}


@lookup_for("tencentcloud:Cam/getRolePolicyAttachments:getRolePolicyAttachments")
def _tencent_cam_role_policies_lookup(
    args: pulumi.runtime.MockCallArgs, region: str
) -> dict[str, Any]:
    """The preset policies a service role has: QcloudKMSAccessForCVMRole on CVM_QcsRole."""
    role_id = str(args.args.get("roleId"))
    cvm_role = str(int(digest("cam-role", "CVM_QcsRole")[:12], 16))
    attached = []
    if role_id == cvm_role:
        attached.append(
            {
                "roleId": role_id,
                "policyId": "200001",
                "policyName": "QcloudKMSAccessForCVMRole",
                "policyType": "QCS",
                "createMode": 2,
                "createTime": "2026-01-01 00:00:00",
            }
        )
    return {
        "id": digest("cam-policies", role_id)[:12],
        "roleId": role_id,
        "rolePolicyAttachmentLists": attached,
    }


ZONE_ID_WORDS = {"east": "e", "west": "w", "north": "n", "south": "s", "central": "c"}
"""How AZ IDs abbreviate region words (use1, euw1, apne1, cac1...)."""


def zone_id_prefix(region: str) -> str:
    """`us-east-1` -> `use1`, `ap-northeast-1` -> `apne1`: the AZ ID prefix of a region."""
    area, *words, number = region.split("-")
    short = "".join(
        "".join(ZONE_ID_WORDS.get(part, part[0]) for part in _compass_parts(word)) for word in words
    )
    return f"{area}{short}{number}"


def _compass_parts(word: str) -> list[str]:
    for head in ("north", "south"):
        if word.startswith(head) and word != head:
            return [head, word[len(head) :]]
    return [word]


@lookup_for("aws:index/getAvailabilityZones:getAvailabilityZones")
def _aws_availability_zones(args: pulumi.runtime.MockCallArgs, region: str) -> dict[str, Any]:
    """Six zones per region, as DescribeAvailabilityZones lists them (zone IDs are the same in
    every account; the letter a zone ID gets is the account's, here shifted by one so that
    no test can pass by confusing the two), minus `excludeZoneIds`."""
    excluded = set(args.args.get("excludeZoneIds") or ())
    prefix = zone_id_prefix(region)
    zones = [
        (f"{region}{letter}", f"{prefix}-az{(index + 1) % 6 + 1}")
        for index, letter in enumerate("abcdef")
    ]
    kept = [(name, zone_id) for name, zone_id in zones if zone_id not in excluded]
    return {
        "id": region,
        "names": [name for name, _ in kept],
        "zoneIds": [zone_id for _, zone_id in kept],
        "groupNames": [region for _ in kept],
    }


@lookup_for("tencentcloud:Kubernetes/getClusters:getClusters")
def _tencent_tke_clusters_lookup(args: pulumi.runtime.MockCallArgs, region: str) -> dict[str, Any]:
    """An existing TKE cluster by id, with both kubeconfigs (DescribeClusters + its endpoints)."""
    cluster_id = str(args.args.get("clusterId"))
    octets = bytes.fromhex(digest("existing-tke", cluster_id)[:4])
    intranet = f"https://10.{octets[0]}.{octets[1]}.8"
    external = f"https://{cluster_id}.ccs.tencent-cloud.com"
    return {
        "lists": [
            {
                "clusterId": cluster_id,
                "pgwEndpoint": intranet,
                "clusterExternalEndpoint": external,
                "kubeConfigIntranet": fake_kubeconfig(
                    cluster_id, intranet, f"intranet/{cluster_id}"
                ),
                "kubeConfig": fake_kubeconfig(cluster_id, external, f"internet/{cluster_id}"),
            }
        ]
    }


@lookup_for(
    "tencentcloud:Kubernetes/getClusterAuthenticationOptions:getClusterAuthenticationOptions"
)
def _tencent_tke_authentication_lookup(
    args: pulumi.runtime.MockCallArgs, region: str
) -> dict[str, Any]:
    """The TKE-managed service-account issuer of an existing cluster."""
    cluster_id = str(args.args.get("clusterId"))
    issuer = f"https://{cluster_id}.ccs.tencent-cloud.com"
    return {
        "clusterId": cluster_id,
        "serviceAccounts": [{"issuer": issuer, "jwksUri": f"{issuer}/openid/v1/jwks"}],
    }
