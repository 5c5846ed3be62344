"""One passing and one failing set of resources for every policy of the pack.

Resource inputs use the providers' camelCase input names, as the engine sends them. Each
case is the smallest set of resources that makes the policy pass (or fail): a resource
policy gets one resource, a stack policy the few resources it correlates.
"""

from __future__ import annotations

import json
from typing import Any

from tkestack.analyzer import AnalyzerProvider, AnalyzerResource
from tkestack.policies.rules import evaluate
from tkestack.policies.rules.base import Provider, Subject

STACK = "test"
AWS = Provider(
    urn=f"urn:pulumi:{STACK}::tkestack::pulumi:providers:aws::aws-us-east-1",
    type="pulumi:providers:aws",
    name="aws-us-east-1",
    props={
        "region": "us-east-1",
        "defaultTags": json.dumps(
            {"tags": {"owner": "team", "cost-center": "cc", "managed-by": "tkestack"}}
        ),
    },
)
TENCENT = Provider(
    urn=f"urn:pulumi:{STACK}::tkestack::pulumi:providers:tencentcloud::tc-ap-guangzhou",
    type="pulumi:providers:tencentcloud",
    name="tc-ap-guangzhou",
    props={"region": "ap-guangzhou"},
)
K8S = Provider(
    urn=f"urn:pulumi:{STACK}::tkestack::pulumi:providers:kubernetes::c1-k8s",
    type="pulumi:providers:kubernetes",
    name="c1-k8s",
)
TAGS = {"owner": "team", "cost-center": "cc", "managed-by": "tkestack"}


def urn(type_: str, name: str) -> str:
    """The URN of a top-level resource of the test stack."""
    return f"urn:pulumi:{STACK}::tkestack::{type_}::{name}"


def to_wire(subject: Subject) -> AnalyzerResource:
    """A case resource as the engine describes it to analyzers."""
    provider = subject.provider
    return AnalyzerResource(
        urn=subject.urn,
        type=subject.type,
        name=subject.name,
        properties=dict(subject.props),
        parent=subject.parent,
        provider=AnalyzerProvider(provider.urn, provider.type, provider.name, dict(provider.props))
        if provider
        else None,
        protect=subject.protect,
        dependencies=subject.dependencies,
    )


def res(type_: str, name: str, props: dict[str, Any], **kwargs: Any) -> Subject:
    """A resource with the right provider for its package."""
    if "provider" not in kwargs:
        package = type_.split(":", 1)[0]
        kwargs["provider"] = {"aws": AWS, "tencentcloud": TENCENT, "kubernetes": K8S}.get(package)
    return Subject(type=type_, name=name, urn=urn(type_, name), props=props, **kwargs)


EKS = "aws:eks/cluster:Cluster"
TKE = "tencentcloud:Kubernetes/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TKE_POOL = "tencentcloud:Kubernetes/nodePool:NodePool"
ECR = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
TCR_NAMESPACE = "tencentcloud:Tcr/namespace:Namespace"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
HELM = "kubernetes:helm.sh/v3:Release"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
KMS = "aws:kms/key:Key"
CLUSTER_COMPONENT = "tkestack:index:Cluster"


def harbor_provider(name: str = "onprem-harbor-api", **props: Any) -> Subject:
    """The Harbor API provider of an attached cluster's Harbor (inputs as strings, as sent)."""
    return Subject(
        type="pulumi:providers:harbor",
        name=name,
        urn=urn("pulumi:providers:harbor", name),
        props={"url": "https://registry.dc1.example.com", "username": "admin", **props},
    )


def eks(**overrides: Any) -> dict[str, Any]:
    """EKS inputs that satisfy every cluster policy."""
    props: dict[str, Any] = {
        "name": "c1",
        "version": "1.33",
        "roleArn": "arn:aws:iam::123456789012:role/c1",
        "vpcConfig": {
            "subnetIds": ["subnet-1", "subnet-2"],
            "endpointPrivateAccess": True,
            "endpointPublicAccess": False,
        },
        "accessConfig": {
            "authenticationMode": "API",
            "bootstrapClusterCreatorAdminPermissions": False,
        },
        "encryptionConfig": {
            "resources": ["secrets"],
            "provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/k"},
        },
        "enabledClusterLogTypes": ["api", "audit", "authenticator"],
        "deletionProtection": True,
        "tags": TAGS,
    }
    props.update(overrides)
    return props


def node_group(instance: str = "m7i.xlarge", **overrides: Any) -> dict[str, Any]:
    """Node group inputs that satisfy every node pool policy."""
    props: dict[str, Any] = {
        "clusterName": "c1",
        "amiType": "AL2023_x86_64_STANDARD",
        "instanceTypes": [instance],
        "capacityType": "ON_DEMAND",
        "launchTemplate": {"id": "lt-1", "version": "1"},
        "scalingConfig": {"minSize": 0, "desiredSize": 1, "maxSize": 3},
        "subnetIds": ["subnet-1"],
        "taints": [],
        "version": "1.33",
    }
    props.update(overrides)
    return props


GPU_TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]


def gpu_group(**overrides: Any) -> dict[str, Any]:
    """A correct g4dn (T4) GPU node group."""
    return node_group(
        "g4dn.xlarge", **{"amiType": "AL2023_x86_64_NVIDIA", "taints": GPU_TAINT, **overrides}
    )


def launch_template(**overrides: Any) -> dict[str, Any]:
    """Launch template inputs that satisfy every node policy."""
    props: dict[str, Any] = {
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [
            {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 100}}
        ],
        "tags": TAGS,
    }
    props.update(overrides)
    return props


SECURE_CONTAINER = {
    "name": "app",
    "image": "registry.k8s.io/pause:3.10",
    "securityContext": {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "128Mi"},
    },
}


def deployment(
    container: dict[str, Any] | None = None, namespace: str = "team", **pod: Any
) -> dict[str, Any]:
    """A Deployment whose pod spec is `pod` plus one container."""
    spec = {"containers": [container or SECURE_CONTAINER], **pod}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "a"}}, "spec": spec},
        },
    }


def with_security(**context: Any) -> dict[str, Any]:
    """The secure container with some securityContext fields changed."""
    return {
        **SECURE_CONTAINER,
        "securityContext": {**SECURE_CONTAINER["securityContext"], **context},
    }


def role(rules: list[dict[str, Any]], kind: str = ROLE, name: str = "r") -> Subject:
    """A Role or ClusterRole."""
    metadata: dict[str, Any] = {"name": name}
    if kind == ROLE:
        metadata["namespace"] = "team"
    return res(kind, name, {"metadata": metadata, "rules": rules})


def rule(verbs: list[str], resources: list[str], groups: list[str] | None = None) -> dict:
    """A PolicyRule."""
    return {
        "apiGroups": groups if groups is not None else [""],
        "resources": resources,
        "verbs": verbs,
    }


def tenant_namespace(name: str = "team", **labels: str) -> Subject:
    """A tenant namespace under the cluster component `c1`."""
    return res(
        NAMESPACE,
        f"ns-{name}",
        {"metadata": {"name": name, "labels": {"tkestack.io/tenant": name, **labels}}},
    )


def in_namespace(type_: str, name: str, spec: dict[str, Any], namespace: str = "team") -> Subject:
    """A namespaced object."""
    return res(type_, name, {"metadata": {"name": name, "namespace": namespace}, "spec": spec})


DEFAULT_DENY = {"podSelector": {}, "policyTypes": ["Ingress"]}
NETWORK_POLICY_TYPE = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def helm(chart: str, values: dict[str, Any], namespace: str = "monitoring") -> dict[str, Any]:
    """Helm release inputs."""
    return {"chart": chart, "version": "1.0.0", "namespace": namespace, "values": values}


def kube_prometheus(**values: Any) -> dict[str, Any]:
    """kube-prometheus-stack values: retention 30d, internal services, plus `values`."""
    base: dict[str, Any] = {
        "prometheus": {"prometheusSpec": {"retention": "30d"}},
        "grafana": {"service": {"type": "ClusterIP"}},
    }
    base.update(values)
    return helm("kube-prometheus-stack", base)


def lifecycle(untagged_days: int = 7, keep: int | None = 50) -> str:
    """An ECR lifecycle policy document."""
    rules = [
        {
            "rulePriority": 1,
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": untagged_days,
            },
            "action": {"type": "expire"},
        }
    ]
    if keep is not None:
        rules.append(
            {
                "rulePriority": 2,
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep,
                },
                "action": {"type": "expire"},
            }
        )
    return json.dumps({"rules": rules})


ECR_OK = {
    "name": "team/app",
    "imageTagMutability": "IMMUTABLE",
    "imageScanningConfiguration": {"scanOnPush": True},
    "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "arn:k"}],
    "tags": TAGS,
}


def repository(**overrides: Any) -> Subject:
    """An ECR repository."""
    return res(ECR, "repo", {**ECR_OK, **overrides})


def with_lifecycle(repository_: Subject, policy: str | None = None) -> list[Subject]:
    """The repository and a lifecycle policy depending on it."""
    return [
        repository_,
        res(
            ECR_LIFECYCLE,
            "repo-lifecycle",
            {"repository": "team/app", "policy": policy or lifecycle()},
            dependencies=(repository_.urn,),
        ),
    ]


CLUSTER_PARENT = urn(CLUSTER_COMPONENT, "c1")


def pool(props: dict[str, Any], name: str = "pool") -> Subject:
    """A node group under the cluster component `c1`."""
    return res(NODE_GROUP, name, props, parent=CLUSTER_PARENT)


def cluster_component() -> Subject:
    """The `tkestack:index:Cluster` component `c1`."""
    return Subject(type=CLUSTER_COMPONENT, name="c1", urn=CLUSTER_PARENT, props={})


K8S_IN_CLUSTER = Subject(
    type="pulumi:providers:kubernetes",
    name="c1-k8s",
    urn=K8S.urn,
    props={},
    parent=CLUSTER_PARENT,
)

TKE_OK = {
    "clusterName": "c2",
    "clusterVersion": "1.32.2",
    "vpcId": "vpc-1",
    "clusterInternet": False,
    "deletionProtection": True,
    "clusterAudit": {"enabled": True},
    "tags": TAGS,
}


def tke(**overrides: Any) -> Subject:
    """A TKE cluster."""
    return res(TKE, "tke", {**TKE_OK, **overrides})


def tke_pool(**overrides: Any) -> dict[str, Any]:
    """TKE node pool inputs that satisfy every node pool policy."""
    props: dict[str, Any] = {
        "clusterId": "cls-1",
        "maxSize": 3,
        "minSize": 0,
        "desiredCapacity": 1,
        "autoScalingConfig": {
            "instanceType": "S5.LARGE8",
            "dataDisks": [{"diskSize": 100, "encrypt": True}],
            "publicIpAssigned": False,
        },
        "taints": [],
        "tags": TAGS,
    }
    props.update(overrides)
    return props


OK = "pass"
BAD = "fail"

CASES: dict[str, dict[str, list[Subject]]] = {
    # ------------------------------------------------------------ clusters
    "cluster-endpoint-private": {
        OK: [res(EKS, "eks", eks())],
        # endpointPublicAccess unset: the EKS default is public
        BAD: [res(EKS, "eks", eks(vpcConfig={"subnetIds": ["s"], "endpointPrivateAccess": True}))],
    },
    "cluster-endpoint-public-cidrs": {
        OK: [
            res(
                EKS,
                "eks",
                eks(
                    vpcConfig={
                        "subnetIds": ["s"],
                        "endpointPublicAccess": True,
                        "publicAccessCidrs": ["203.0.113.0/24"],
                    }
                ),
            )
        ],
        BAD: [res(EKS, "eks", eks(vpcConfig={"subnetIds": ["s"], "endpointPublicAccess": True}))],
    },
    "cluster-secrets-encryption": {
        OK: [res(EKS, "eks", eks())],
        BAD: [res(EKS, "eks", {k: v for k, v in eks().items() if k != "encryptionConfig"})],
    },
    "cluster-control-plane-logging": {
        OK: [res(EKS, "eks", eks()), tke()],
        BAD: [res(EKS, "eks", eks(enabledClusterLogTypes=["api"]))],
    },
    "cluster-kubernetes-version-supported": {
        OK: [res(EKS, "eks", eks()), tke()],
        BAD: [res(EKS, "eks", eks(version="1.25"))],
    },
    "node-version-skew": {
        OK: [
            res(EKS, "eks", eks()),
            res(NODE_GROUP, "ng", node_group(version="1.32"), dependencies=(urn(EKS, "eks"),)),
        ],
        BAD: [
            res(EKS, "eks", eks(version="1.34")),
            res(NODE_GROUP, "ng", node_group(version="1.32"), dependencies=(urn(EKS, "eks"),)),
        ],
    },
    "cluster-access-entries": {
        OK: [res(EKS, "eks", eks())],
        BAD: [
            res(EKS, "eks", eks(accessConfig={"bootstrapClusterCreatorAdminPermissions": False}))
        ],
    },
    "cluster-no-creator-admin": {
        OK: [res(EKS, "eks", eks())],
        BAD: [res(EKS, "eks", eks(accessConfig={"authenticationMode": "API"}))],
    },
    "cluster-deletion-protection": {
        OK: [res(EKS, "eks", eks()), tke()],
        BAD: [tke(deletionProtection=False)],
    },
    "stateful-resources-protected": {
        OK: [
            res(EKS, "eks", eks(), protect=True),
            res(HELM, "harbor", helm("harbor", {}, "registry"), protect=True),
            # A chart without data of its own needs no protection.
            res(HELM, "ingress", helm("ingress-nginx", {}, "ingress")),
        ],
        BAD: [
            res(KMS, "key", {"enableKeyRotation": True, "tags": TAGS}),
            res(HELM, "loki", helm("loki", {})),
        ],
    },
    "kms-key-rotation": {
        OK: [
            res(KMS, "key", {"enableKeyRotation": True, "deletionWindowInDays": 30, "tags": TAGS})
        ],
        BAD: [res(KMS, "key", {"tags": TAGS})],
    },
    # ------------------------------------------------------------ node pools
    "node-pool-no-public-ip": {
        OK: [res(LAUNCH_TEMPLATE, "lt", launch_template()), res(TKE_POOL, "tp", tke_pool())],
        BAD: [
            res(
                LAUNCH_TEMPLATE,
                "lt",
                launch_template(networkInterfaces=[{"associatePublicIpAddress": "true"}]),
            )
        ],
    },
    "subnet-no-auto-public-ip": {
        OK: [
            res(
                "aws:ec2/subnet:Subnet",
                "s",
                {"vpcId": "v", "cidrBlock": "10.0.0.0/24", "tags": TAGS},
            )
        ],
        BAD: [
            res(
                "aws:ec2/subnet:Subnet",
                "s",
                {
                    "vpcId": "v",
                    "cidrBlock": "10.0.0.0/24",
                    "mapPublicIpOnLaunch": True,
                    "tags": TAGS,
                },
            )
        ],
    },
    "node-imdsv2-required": {
        OK: [res(LAUNCH_TEMPLATE, "lt", launch_template()), res(NODE_GROUP, "ng", node_group())],
        # httpTokens unset: the EC2 default allows IMDSv1
        BAD: [res(LAUNCH_TEMPLATE, "lt", launch_template(metadataOptions={}))],
    },
    "node-imds-hop-limit": {
        OK: [res(LAUNCH_TEMPLATE, "lt", launch_template())],
        BAD: [
            res(
                LAUNCH_TEMPLATE,
                "lt",
                launch_template(
                    metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 3}
                ),
            )
        ],
    },
    "node-disk-encrypted": {
        OK: [res(LAUNCH_TEMPLATE, "lt", launch_template()), res(TKE_POOL, "tp", tke_pool())],
        BAD: [res(NODE_GROUP, "ng", node_group(launchTemplate=None))],
    },
    "node-ami-matches-hardware": {
        OK: [
            res(NODE_GROUP, "ng", gpu_group()),
            res(NODE_GROUP, "arm", node_group("m7g.xlarge", amiType="AL2023_ARM_64_STANDARD")),
        ],
        # Graviton instances with the x86 image
        BAD: [res(NODE_GROUP, "arm", node_group("m7g.xlarge"))],
    },
    "gpu-pool-tainted": {
        OK: [res(NODE_GROUP, "ng", gpu_group())],
        BAD: [res(NODE_GROUP, "ng", gpu_group(taints=[]))],
    },
    "node-pool-scaling-bounds": {
        OK: [res(NODE_GROUP, "ng", node_group())],
        BAD: [
            res(
                NODE_GROUP,
                "ng",
                node_group(scalingConfig={"minSize": 5, "desiredSize": 1, "maxSize": 3}),
            )
        ],
    },
    "gpu-pool-scaling-bounds": {
        OK: [res(NODE_GROUP, "ng", gpu_group())],
        BAD: [
            res(
                NODE_GROUP,
                "ng",
                gpu_group(scalingConfig={"minSize": 2, "desiredSize": 2, "maxSize": 40}),
            )
        ],
    },
    "spot-only-where-allowed": {
        OK: [res(NODE_GROUP, "ng", node_group(capacityType="SPOT"))],
        BAD: [],  # filled below: needs a config that forbids spot
    },
    "instance-type-allowed": {
        OK: [res(NODE_GROUP, "ng", node_group())],
        BAD: [res(NODE_GROUP, "ng", node_group("z9.hyper"))],
    },
    "gpu-budget": {
        OK: [res(NODE_GROUP, "ng", gpu_group())],
        BAD: [
            res(NODE_GROUP, "ng", gpu_group()),
            res(
                NODE_GROUP,
                "ng2",
                node_group(
                    "g5.12xlarge",
                    amiType="AL2023_x86_64_NVIDIA",
                    taints=GPU_TAINT,
                    scalingConfig={"minSize": 0, "desiredSize": 0, "maxSize": 4},
                ),
            ),
        ],
    },
    "node-no-ssh": {
        OK: [res(NODE_GROUP, "ng", node_group())],
        BAD: [res(NODE_GROUP, "ng", node_group(remoteAccess={"ec2SshKey": "ops"}))],
    },
    # ------------------------------------------------------------ registry
    "registry-immutable-tags": {
        OK: [repository()],
        BAD: [repository(imageTagMutability="MUTABLE")],
    },
    "registry-scan-on-push": {
        OK: [repository()],
        BAD: [repository(imageScanningConfiguration={})],
    },
    "registry-encryption-kms": {
        OK: [repository()],
        BAD: [],  # filled below: KMS is required by config only
    },
    "registry-not-public": {
        OK: [res(TCR_NAMESPACE, "ns", {"instanceId": "tcr-1", "name": "team", "isPublic": False})],
        BAD: [
            res(
                ECR_POLICY,
                "rp",
                {
                    "repository": "team/app",
                    "policy": json.dumps(
                        {
                            "Statement": [
                                {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
                            ]
                        }
                    ),
                },
            )
        ],
    },
    "registry-api-tls-verified": {
        OK: [harbor_provider(insecure="false")],
        BAD: [harbor_provider(), harbor_provider("dc2-harbor-api", insecure="true")],
    },
    "registry-lifecycle-policy": {
        OK: with_lifecycle(repository()),
        BAD: [repository()],
    },
    "registry-untagged-expiry": {
        OK: with_lifecycle(repository())[1:],
        BAD: with_lifecycle(repository(), lifecycle(untagged_days=400, keep=None))[1:],
    },
    "images-from-approved-registries": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [
            res(
                DEPLOYMENT,
                "app",
                deployment({**SECURE_CONTAINER, "image": "evil.example.com/miner:1.0"}),
            )
        ],
    },
    "no-latest-tag": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [
            res(
                HELM,
                "rel",
                helm(
                    "app",
                    {"image": {"repository": "quay.io/x/app", "tag": "latest"}},
                    namespace="team",
                ),
            )
        ],
    },
    # ------------------------------------------------------------ rbac and tenancy
    "rbac-no-cluster-admin": {
        OK: [
            res(
                CLUSTER_ROLE_BINDING,
                "bg",
                {
                    "metadata": {"name": "break-glass"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "cluster-admin",
                    },
                    "subjects": [{"kind": "Group", "name": "oidc:tkestack-break-glass"}],
                },
            )
        ],
        BAD: [
            res(
                CLUSTER_ROLE_BINDING,
                "bad",
                {
                    "metadata": {"name": "devs-admin"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "cluster-admin",
                    },
                    "subjects": [{"kind": "Group", "name": "developers"}],
                },
            )
        ],
    },
    "rbac-no-wildcards": {
        OK: [role([rule(["get", "list"], ["pods"])])],
        BAD: [role([rule(["*"], ["pods"])])],
    },
    "rbac-no-escalation-verbs": {
        OK: [role([rule(["create"], ["rolebindings"], ["rbac.authorization.k8s.io"])])],
        BAD: [role([rule(["impersonate"], ["users"])], kind=CLUSTER_ROLE)],
    },
    "rbac-no-broad-secret-read": {
        OK: [role([rule(["get", "list"], ["secrets"])])],
        BAD: [role([rule(["list"], ["secrets"])], kind=CLUSTER_ROLE)],
    },
    "eks-access-namespace-scoped": {
        OK: [
            res(
                "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                "a",
                {
                    "clusterName": "c1",
                    "principalArn": "arn:aws:iam::1:role/devs",
                    "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                    "accessScope": {"type": "namespace", "namespaces": ["team"]},
                },
            )
        ],
        BAD: [
            res(
                "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                "a",
                {
                    "clusterName": "c1",
                    "principalArn": "arn:aws:iam::1:role/devs",
                    "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                    "accessScope": {"type": "cluster"},
                },
            )
        ],
    },
    "tenant-namespace-pod-security": {
        OK: [tenant_namespace(**{"pod-security.kubernetes.io/enforce": "restricted"})],
        BAD: [tenant_namespace(**{"pod-security.kubernetes.io/enforce": "privileged"})],
    },
    "tenant-namespace-quota": {
        OK: [
            tenant_namespace(),
            in_namespace("kubernetes:core/v1:ResourceQuota", "q", {"hard": {"pods": "10"}}),
        ],
        BAD: [tenant_namespace()],
    },
    "tenant-namespace-limit-range": {
        OK: [
            tenant_namespace(),
            in_namespace(
                "kubernetes:core/v1:LimitRange", "lr", {"limits": [{"type": "Container"}]}
            ),
        ],
        BAD: [tenant_namespace()],
    },
    "tenant-namespace-default-deny": {
        OK: [
            tenant_namespace(),
            in_namespace("kubernetes:networking.k8s.io/v1:NetworkPolicy", "deny", DEFAULT_DENY),
        ],
        # a policy that selects pods is not a default deny
        BAD: [
            tenant_namespace(),
            in_namespace(
                "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                "deny",
                {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Ingress"]},
            ),
        ],
    },
    "no-default-namespace": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [res(HELM, "rel", {"chart": "app", "values": {}})],  # namespace unset
    },
    # ------------------------------------------------------------ workloads
    "pod-no-privileged": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [res(DEPLOYMENT, "app", deployment(with_security(privileged=True)))],
    },
    "pod-no-host-namespaces": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [res(DEPLOYMENT, "app", deployment(hostNetwork=True))],
    },
    "pod-no-host-path": {
        OK: [res(DEPLOYMENT, "app", deployment(volumes=[{"name": "tmp", "emptyDir": {}}]))],
        BAD: [
            res(DEPLOYMENT, "app", deployment(volumes=[{"name": "h", "hostPath": {"path": "/"}}]))
        ],
    },
    "pod-run-as-non-root": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [
            res(
                DEPLOYMENT,
                "app",
                deployment(
                    {
                        **SECURE_CONTAINER,
                        "securityContext": {
                            k: v
                            for k, v in SECURE_CONTAINER["securityContext"].items()
                            if k != "runAsNonRoot"
                        },
                    }
                ),
            )
        ],
    },
    "pod-no-privilege-escalation": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [res(DEPLOYMENT, "app", deployment(with_security(allowPrivilegeEscalation=True)))],
    },
    "pod-drop-capabilities": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [
            res(
                DEPLOYMENT,
                "app",
                deployment(with_security(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]})),
            )
        ],
    },
    "pod-seccomp-profile": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [
            res(DEPLOYMENT, "app", deployment(with_security(seccompProfile={"type": "Unconfined"})))
        ],
    },
    "container-resources": {
        OK: [res(DEPLOYMENT, "app", deployment())],
        BAD: [res(DEPLOYMENT, "app", deployment({**SECURE_CONTAINER, "resources": {}}))],
    },
    "gpu-requests-on-gpu-pools": {
        OK: [
            res(
                DEPLOYMENT,
                "app",
                deployment(
                    {**SECURE_CONTAINER, "resources": {"limits": {"nvidia.com/gpu": 1}}},
                    tolerations=[
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                    ],
                    nodeSelector={"tkestack.io/accelerator": "nvidia-t4"},
                ),
            )
        ],
        BAD: [
            res(
                DEPLOYMENT,
                "app",
                deployment({**SECURE_CONTAINER, "resources": {"limits": {"nvidia.com/gpu": 1}}}),
            )
        ],
    },
    "arch-pinning-mixed-clusters": {
        OK: [
            cluster_component(),
            K8S_IN_CLUSTER,
            pool(node_group(), "x86"),
            pool(node_group("m7g.xlarge", amiType="AL2023_ARM_64_STANDARD"), "arm"),
            res(DEPLOYMENT, "app", deployment(nodeSelector={"kubernetes.io/arch": "amd64"})),
        ],
        BAD: [
            cluster_component(),
            K8S_IN_CLUSTER,
            pool(node_group(), "x86"),
            pool(node_group("m7g.xlarge", amiType="AL2023_ARM_64_STANDARD"), "arm"),
            res(DEPLOYMENT, "app", deployment()),
        ],
    },
    "internal-load-balancers": {
        OK: [
            res(
                SERVICE,
                "svc",
                {
                    "metadata": {
                        "name": "s",
                        "namespace": "team",
                        "annotations": {
                            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"
                        },
                    },
                    "spec": {"type": "LoadBalancer"},
                },
            )
        ],
        BAD: [
            res(
                SERVICE,
                "svc",
                {"metadata": {"name": "s", "namespace": "team"}, "spec": {"type": "LoadBalancer"}},
            )
        ],
    },
    # ------------------------------------------------------------ observability
    "grafana-not-public": {
        OK: [res(HELM, "mon", kube_prometheus())],
        BAD: [res(HELM, "mon", kube_prometheus(grafana={"ingress": {"enabled": True}}))],
    },
    "prometheus-not-public": {
        OK: [res(HELM, "mon", kube_prometheus())],
        BAD: [
            res(
                HELM,
                "mon",
                kube_prometheus(
                    prometheus={
                        "service": {"type": "LoadBalancer"},
                        "prometheusSpec": {"retention": "30d"},
                    }
                ),
            )
        ],
    },
    "loki-gateway-authenticated": {
        OK: [
            res(
                HELM,
                "loki",
                helm(
                    "loki",
                    {"gateway": {"basicAuth": {"enabled": True}, "nginxConfig": {"ssl": True}}},
                    "logging",
                ),
            )
        ],
        # the chart's gateway defaults to enabled, without auth or TLS
        BAD: [res(HELM, "loki", helm("loki", {}, "logging"))],
    },
    "platform-namespace-network-policy": {
        OK: [
            res(NAMESPACE, "ns-monitoring", {"metadata": {"name": "monitoring"}}),
            in_namespace(NETWORK_POLICY_TYPE, "np", DEFAULT_DENY, namespace="monitoring"),
        ],
        # a policy in another namespace does not cover it
        BAD: [
            res(NAMESPACE, "ns-monitoring", {"metadata": {"name": "monitoring"}}),
            in_namespace(NETWORK_POLICY_TYPE, "np", DEFAULT_DENY, namespace="logging"),
        ],
    },
    "prometheus-retention-set": {
        OK: [res(HELM, "mon", kube_prometheus())],
        BAD: [res(HELM, "mon", kube_prometheus(prometheus={"prometheusSpec": {}}))],
    },
    "log-retention-set": {
        OK: [res("aws:cloudwatch/logGroup:LogGroup", "lg", {"retentionInDays": 30, "tags": TAGS})],
        BAD: [res("aws:cloudwatch/logGroup:LogGroup", "lg", {"tags": TAGS})],
    },
    # ------------------------------------------------------------ environment
    "explicit-provider": {
        OK: [res(KMS, "key", {"enableKeyRotation": True, "tags": TAGS})],
        BAD: [
            res(
                KMS,
                "key",
                {"enableKeyRotation": True, "tags": TAGS},
                provider=Provider(
                    urn=f"urn:pulumi:{STACK}::tkestack::pulumi:providers:aws::default_7_51_1",
                    type="pulumi:providers:aws",
                    name="default_7_51_1",
                ),
            )
        ],
    },
    "region-allowed": {
        OK: [res(KMS, "key", {"tags": TAGS})],
        BAD: [],  # filled below: needs an allow-list
    },
    "required-tags": {
        OK: [res(TKE_POOL, "tp", tke_pool())],
        BAD: [res(TKE_POOL, "tp", tke_pool(tags={"owner": "team"}))],
    },
}

CONFIG: dict[str, dict[str, Any]] = {
    "spot-only-where-allowed": {"allowSpot": False},
    "registry-encryption-kms": {"requireKms": True},
    "region-allowed": {"allowedRegions": ["eu-central-1"]},
}
"""Config under which the failing case of a policy fails (defaults allow it)."""
CASES["spot-only-where-allowed"][BAD] = CASES["spot-only-where-allowed"][OK]
CASES["registry-encryption-kms"][BAD] = [
    repository(encryptionConfigurations=[{"encryptionType": "AES256"}])
]
CASES["region-allowed"][BAD] = CASES["region-allowed"][OK]
CASES["registry-encryption-kms"][OK] = [repository()]
CASES["region-allowed"][OK] = [
    res(
        KMS,
        "key",
        {"tags": TAGS},
        provider=Provider(
            urn=f"urn:pulumi:{STACK}::tkestack::pulumi:providers:aws::aws-eu-central-1",
            type="pulumi:providers:aws",
            name="aws-eu-central-1",
            props={"region": "eu-central-1"},
        ),
    )
]
CASES["spot-only-where-allowed"][OK] = [res(NODE_GROUP, "ng", node_group())]


def findings_of(policy: str, resources: list[Subject]) -> list[str]:
    """The messages of `policy`'s findings over `resources`, evaluated directly under the
    policy's CONFIG (if any)."""
    config = {policy: CONFIG[policy]} if policy in CONFIG else {}
    return [f.message for f in evaluate(resources, config) if f.policy == policy]
