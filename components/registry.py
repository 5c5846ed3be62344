"""The platform image registry of a cluster: ECR on AWS, TCR on Tencent Cloud, Harbor attached.

Registries are regional: the first cluster of a cloud region *owns* the registry (ECR's
registry-wide settings, the TCR instance) and later clusters of that region reuse its
`RegistryHandle` (`shared`), adding only what is per cluster (the TCR VPC attachment).
Tenants get their namespaces through `RegistryNamespace` (components/registry_namespace.py).

Nodes pull without static passwords where the cloud allows it: EKS nodes through their
instance role (AmazonEC2ContainerRegistryPullOnly, and the pull-through cache import the EKS
backend grants), TKE nodes
through the TCR VPC attachment's private domain. Harbor is in-cluster; its admin password and
secret key are random, kept secret, and handed to the chart through a Kubernetes Secret.
ECR's creation templates encrypt with the registry's KMS key and tag, so they name the role ECR
creates repositories as (`<name>-creation-role`, the templates' `custom_role_arn`).
Nodes pull from Harbor through containerd, which resolves names through the node's DNS (not
CoreDNS) and verifies certificates against the node's trust store: so Harbor is exposed on a
LoadBalancer from the cluster's internal address pool, under a hostname the company's DNS
resolves, with a certificate from the company's PKI (a `kubernetes.io/tls` Secret).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NotRequired, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .addon import AddonSpec, PodGroup, check_addons, install_addon, requests
from .catalog import tke as tke_catalog
from .contracts import ClusterInfo
from .errors import raise_problems
from .limits import UPSTREAMS_NEEDING_CREDENTIALS
from .network_policy import create_network_policies, ingress_policy, pod_peer, tcp
from .registry_namespace import RegistryHandle, RegistrySettings, ecr_lifecycle_policy
from .validation import checked

if TYPE_CHECKING:  # imported where used: an EKS-less program never loads pulumi_aws
    import pulumi_aws

PULL_THROUGH_UPSTREAMS: dict[str, str] = {
    "ecr-public": "public.ecr.aws",
    "k8s": "registry.k8s.io",
    "quay": "quay.io",
    "docker-hub": "registry-1.docker.io",
    "ghcr": "ghcr.io",
}
"""ECR pull-through cache prefix -> upstream registry URL
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-creating-rule.html)."""
TEMPLATE_ROLE_ECR_ACTIONS: tuple[str, ...] = (
    "ecr:CreateRepository",
    "ecr:ReplicateImage",
    "ecr:TagResource",
)
TEMPLATE_ROLE_KMS_ACTIONS: tuple[str, ...] = (
    "kms:CreateGrant",
    "kms:DescribeKey",
    "kms:RetireGrant",
)
"""What ECR needs of the role a repository creation template names in `custom_role_arn`, which
ECR requires when the template sets a KMS key or resource tags (pulumi-aws 7.51.1
`ecr.RepositoryCreationTemplate.custom_role_arn`: "Required if using repository tags or KMS
encryption"; the ECR user guide's repository-creation-templates-custom.html policy and
repository-creation-templates-create-iam.html trust in `ecr.amazonaws.com`). Without it the
first pull through a cache and every create-on-push fail."""
KMS_DELETION_WINDOW_DAYS = 30
ECR_SCAN_TYPE = "BASIC"
"""Registry-wide scanning type. BASIC: free, scan on push of OS packages, no dependency on
Amazon Inspector. ENHANCED would hand scanning to Inspector (OS and language packages,
continuous rescans) but turns Inspector on for the account's ECR and bills per image scanned:
an account-level decision of the security team, not of one environment's stack
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html)."""
"""Longest window: a deleted key can be restored for a month before images become unreadable."""
HARBOR_SECRET = "harbor-credentials"
HARBOR_POD_GROUPS: tuple[str, ...] = (
    "nginx",
    "portal",
    "core",
    "jobservice",
    "registry",
    "trivy",
    "exporter",
    "database.internal",
    "redis.internal",
)
"""Every Harbor component with its own nodeSelector/tolerations/affinity (docs/charts.md §7)."""
HARBOR_REQUESTS: dict[str, tuple[str, str]] = {
    "nginx": ("100m", "128Mi"),
    "portal": ("50m", "64Mi"),
    "core": ("250m", "256Mi"),
    "jobservice": ("100m", "256Mi"),
    "registry.registry": ("250m", "256Mi"),
    "registry.controller": ("50m", "64Mi"),
    "exporter": ("50m", "64Mi"),
    "database.internal": ("250m", "256Mi"),
    "redis.internal": ("100m", "128Mi"),
}
"""CPU and memory requests per Harbor component (values path -> cpu, memory). Each path's
`resources` is commented out in values.yaml of goharbor/harbor-helm v1.19.1 and read by its
template (core/core-dpl.yaml, registry/registry-dpl.yaml, database/database-ss.yaml, ...);
trivy alone has default requests (200m, 512Mi), kept. The figures are ours: the single
on-prem registry must not be the first pod evicted under pressure."""
HARBOR_SECRET_KEY_LENGTH = 16
"""Harbor's `secretKey` must be exactly 16 characters."""
HARBOR_TLS_SECRET = "harbor-tls"
"""The `kubernetes.io/tls` Secret Harbor's nginx serves (`expose.tls.certSource: secret`)."""
PEM_BLOCK = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----\r?\n.*?-----END (?P=label)-----", re.DOTALL
)
"""One PEM block (RFC 7468) with its label."""


class RegistryArgs(TypedDict, total=False):
    """Arguments of `Registry`."""

    cluster: Required[ClusterInfo]
    """The cluster the registry serves (its cloud provider creates the cloud resources)."""
    settings: Required[RegistrySettings]
    """Tag immutability, scanning, lifecycle and protection."""
    shared: NotRequired[RegistryHandle]
    """The region's registry when another cluster owns it; absent: this cluster owns it."""
    replication_regions: NotRequired[Sequence[str]]
    """Other regions of the same cloud to replicate images to. Default: none."""
    account_id: NotRequired[str]
    """AWS account id (ECR registry id, replication destination). Required on AWS."""
    pull_through_caches: NotRequired[Sequence[str]]
    """AWS: upstreams to cache (keys of `PULL_THROUGH_UPSTREAMS`). Default: none."""
    pull_through_credentials: NotRequired[Mapping[str, pulumi.Input[str]]]
    """AWS: Secrets Manager ARN per upstream that needs credentials (`docker-hub`, `ghcr`)."""
    tencent_edition: NotRequired[Literal["basic", "standard", "premium"]]
    """TCR edition; `premium` is required for replication. Default `standard`."""
    tcr_instance_name: NotRequired[str]
    """TCR instance name: globally unique across Tencent Cloud, its domain is
    `<name>.tencentcloudcr.com`, so a lower-case DNS label. Required when this registry creates
    the instance (no default: a generic name such as `<cluster>-registry` is likely taken;
    check one with `tccli tcr CheckInstanceName --RegistryName <name>`)."""
    vpc_id: NotRequired[pulumi.Input[str]]
    """Tencent Cloud: the cluster's VPC, attached to the TCR instance (private pulls). Without
    it nodes cannot reach the (private) instance: the composer warns."""
    subnet_id: NotRequired[pulumi.Input[str]]
    """Tencent Cloud: the subnet the TCR private endpoint is placed in."""
    harbor_storage_gib: NotRequired[int]
    """Attached: Harbor registry volume size, GiB. Default 200."""
    harbor_hostname: NotRequired[str]
    """Attached: Harbor's hostname, resolved by the company's DNS to Harbor's load balancer
    (containerd on the nodes does not use CoreDNS). Required when this cluster owns Harbor."""
    harbor_tls_bundle: NotRequired[pulumi.Input[str]]
    """Attached: PEM bundle for `harbor_hostname` from a CA the nodes trust: the certificate,
    its intermediates, then the private key. Secret. Required when this cluster owns Harbor."""
    harbor_load_balancer_annotations: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Attached: annotations of Harbor's LoadBalancer Service that take its address from the
    internal MetalLB pool. Required when this cluster owns Harbor."""
    tags: NotRequired[Mapping[str, str]]
    """Tags on cloud resources (the AWS provider adds its default tags too)."""


def harbor_addon(
    settings: RegistrySettings,
    storage_gib: int,
    hostname: str,
    load_balancer_annotations: Mapping[str, pulumi.Input[str]],
) -> AddonSpec:
    """Harbor as an add-on: persistence kept on uninstall, credentials from a Secret, served
    as `https://<hostname>` on an internal load balancer with the certificate of a Secret."""
    values = {
        # https://github.com/goharbor/harbor-helm/blob/main/values.yaml (`expose`).
        "expose": {
            "type": "loadBalancer",
            "tls": {
                "enabled": True,
                "certSource": "secret",
                "secret": {"secretName": HARBOR_TLS_SECRET},
            },
            "loadBalancer": {
                "name": "harbor",
                "annotations": dict(load_balancer_annotations),
            },
        },
        "externalURL": f"https://{hostname}",
        # Credentials come from a Secret created next to the release, never from values.
        "existingSecretAdminPassword": HARBOR_SECRET,
        "existingSecretAdminPasswordKey": "HARBOR_ADMIN_PASSWORD",
        "existingSecretSecretKey": HARBOR_SECRET,
        "persistence": {
            "enabled": True,
            "resourcePolicy": "keep",
            "persistentVolumeClaim": {"registry": {"size": f"{storage_gib}Gi"}},
        },
        "trivy": {"enabled": settings.scan_on_push},
    }
    for path, (cpu, memory) in HARBOR_REQUESTS.items():
        node: dict[str, Any] = values
        for part in path.split("."):
            node = node.setdefault(part, {})
        node["resources"] = requests(cpu, memory)
    return AddonSpec(
        key="harbor",
        chart="harbor",
        values=values,
        pod_groups=tuple(PodGroup(path) for path in HARBOR_POD_GROUPS),
        create_namespace=False,
        protect=settings.protect,
    )


HARBOR_PORTS: dict[str, tuple[int, ...]] = {
    "nginx": (8080, 8443),
    "portal": (8080,),
    "core": (8080,),
    "jobservice": (8080,),
    "registry": (5000, 8080),
    "trivy": (8080,),
    "redis": (6379,),
    "database": (5432,),
}
"""Container ports per Harbor component (pod label `component`) with `internalTLS.enabled: false`
(values.yaml) in goharbor/harbor-helm v1.19.1, the stored tag nearest the v1.19.2 pin:
templates/_helpers.tpl (`harbor.<component>.containerPort`: core, portal, jobservice, trivy
8080, registry 5000 and registryctl 8080), nginx/deployment.yaml (8080, 8443),
redis/service.yaml (6379), database/database-svc.yaml (5432). Metrics ports are left out:
`metrics.enabled` is false."""

HARBOR_CALLERS: dict[str, tuple[str, ...]] = {
    # nginx proxies to portal and core (nginx/configmap-https.yaml upstreams).
    "portal": ("nginx", "core"),
    "core": ("nginx", "jobservice", "trivy"),
    # core-cm.yaml: REGISTRY_URL, REGISTRY_CONTROLLER_URL, JOBSERVICE_URL, TRIVY_ADAPTER_URL,
    # PORTAL_URL, redis and PostgreSQL; jobservice-cm-env.yaml: CORE_URL, REGISTRY_URL,
    # REGISTRY_CONTROLLER_URL and redis; registry-cm.yaml: redis (auth is htpasswd, no
    # notifications to core); trivy-sts.yaml: redis. Harbor hands the scanner the address to
    # pull the image from at scan time (not in the chart): both core and registry admit it.
    "jobservice": ("core",),
    "registry": ("core", "jobservice", "trivy"),
    "trivy": ("core", "jobservice"),
    "redis": ("core", "jobservice", "registry", "trivy"),
    "database": ("core",),
}
"""Which Harbor components call each one, read from harbor-helm v1.19.1's configmaps."""


def harbor_network_policies() -> dict[str, dict[str, Any]]:
    """Ingress policies of Harbor's namespace, by role: nothing reaches a pod but what calls
    it; nginx, behind the load balancer, from any source on its ports only (whether the
    load balancer keeps the client address differs per cloud and mode). Pods carry
    `app: harbor` and `component: <name>` (`harbor.matchLabels`, templates/*)."""

    def pods(component: str) -> dict[str, str]:
        return {"app": "harbor", "component": component}

    specs: dict[str, dict[str, Any]] = {"deny-ingress": ingress_policy(None)}
    specs["nginx"] = ingress_policy(pods("nginx"), [{"ports": tcp(*HARBOR_PORTS["nginx"])}])
    for component, callers in HARBOR_CALLERS.items():
        specs[component] = ingress_policy(
            pods(component),
            [
                {
                    "from": [pod_peer(pods(caller)) for caller in callers],
                    "ports": tcp(*HARBOR_PORTS[component]),
                }
            ],
        )
    return specs


def registry_addons(args: RegistryArgs) -> list[AddonSpec]:
    """The Helm add-ons of the registry (Harbor on attached clusters, none elsewhere)."""
    if args["cluster"].cloud != "attached":
        return []
    return [
        harbor_addon(
            args["settings"],
            args.get("harbor_storage_gib", 200),
            args.get("harbor_hostname", ""),
            args.get("harbor_load_balancer_annotations", {}),
        )
    ]


def split_tls_bundle(bundle: str, what: str = "harbor_tls_bundle") -> tuple[str, str]:
    """A PEM bundle as (`tls.crt`: the certificates in order, `tls.key`: the private key).

    Raises `ValueError` naming `what` and what is missing (never the bundle's content)."""
    blocks = [(match["label"], match.group(0)) for match in PEM_BLOCK.finditer(bundle)]
    certificates = [block for label, block in blocks if label == "CERTIFICATE"]
    keys = [block for label, block in blocks if label.endswith("PRIVATE KEY")]
    if not certificates:
        raise ValueError(f"{what}: no PEM CERTIFICATE block")
    if len(keys) != 1:
        raise ValueError(f"{what}: needs exactly one PEM PRIVATE KEY block, found {len(keys)}")
    return "\n".join(certificates) + "\n", keys[0] + "\n"


def validate_registry_args(args: RegistryArgs) -> list[str]:
    """Every problem of `args`, each naming its argument."""
    problems: list[str] = []
    cluster = args["cluster"]
    shared = args.get("shared")
    if cluster.cloud != "attached" and cluster.cloud_provider is None:
        problems.append(f"cluster.cloud_provider: a {cluster.cloud} registry needs one")
    if shared is not None and shared.cloud != cluster.cloud:
        problems.append(f"shared: a {shared.cloud} registry cannot serve a {cluster.cloud} cluster")
    if cluster.cloud == "aws" and shared is None:
        if not args.get("account_id"):
            problems.append("account_id: required for an ECR registry")
        credentials = args.get("pull_through_credentials", {})
        for index, upstream in enumerate(args.get("pull_through_caches", ())):
            if upstream not in PULL_THROUGH_UPSTREAMS:
                known = ", ".join(sorted(PULL_THROUGH_UPSTREAMS))
                problems.append(
                    f"pull_through_caches[{index}]: unknown {upstream!r}; known: {known}"
                )
            elif upstream in UPSTREAMS_NEEDING_CREDENTIALS and upstream not in credentials:
                problems.append(
                    f"pull_through_caches[{index}]: ECR caches {upstream} only with a Secrets"
                    " Manager credential (pull_through_credentials)"
                )
    if cluster.cloud == "tencentcloud":
        edition = args.get("tencent_edition", "standard")
        # Replication goes to the other regions only (as `_create_tcr` does): a list holding
        # just the cluster's own region replicates nothing and needs no premium edition.
        others = set(args.get("replication_regions", ())) - {cluster.region}
        if shared is None and others and edition != "premium":
            problems.append(
                f"tencent_edition: TCR replicates only on the premium edition, not {edition}"
            )
        if (args.get("vpc_id") is None) != (args.get("subnet_id") is None):
            problems.append("vpc_id/subnet_id: the TCR VPC attachment needs both")
        if shared is None:
            problems.extend(tcr_name_problems(args.get("tcr_instance_name")))
    if cluster.cloud == "attached" and shared is None:
        if not args.get("harbor_hostname"):
            problems.append(
                "harbor_hostname: required; nodes pull by a name the company's DNS resolves"
            )
        if args.get("harbor_tls_bundle") is None:
            problems.append(
                "harbor_tls_bundle: required; containerd rejects a self-signed certificate"
            )
        if not args.get("harbor_load_balancer_annotations"):
            problems.append(
                "harbor_load_balancer_annotations: required; they keep Harbor's load balancer"
                " on the internal address pool"
            )
    return problems


def tcr_name_problems(name: object) -> list[str]:
    """What is wrong with a TCR instance name this registry would create (empty: nothing)."""
    if name is None:
        return [
            "tcr_instance_name: required; TCR names are global DNS names"
            " (<name>.tencentcloudcr.com), so choose one unique to the company and check it"
            " with `tccli tcr CheckInstanceName --RegistryName <name>`"
        ]
    if not isinstance(name, str) or not tke_catalog.TCR_NAME.match(name):
        return [
            f"tcr_instance_name: {name!r} is not a lower-case DNS label (it becomes"
            " <name>.tencentcloudcr.com)"
        ]
    return []


class Registry(pulumi.ComponentResource):
    """The image registry serving one cluster."""

    handle: RegistryHandle
    """What tenant namespaces need (`RegistryNamespace`) and other clusters reuse (`shared`)."""
    endpoint: pulumi.Output[str]
    """Registry host image references start with."""
    harbor_admin_password: pulumi.Output[str] | None
    """Attached clusters: Harbor's admin password (secret)."""

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = validate_registry_args(args)
        problems += check_addons(registry_addons(args), args["cluster"], "addons")
        # Every problem of the arguments, before the component or any child registers.
        raise_problems("Registry", name, problems)
        super().__init__("tkestack:index:Registry", name, None, opts)
        self._name = name
        self._args = args
        self.harbor_admin_password = None
        cloud = args["cluster"].cloud
        shared = args.get("shared")
        if shared is not None:
            self.handle = shared
        elif cloud == "aws":
            self.handle = self._create_ecr()
        elif cloud == "tencentcloud":
            self.handle = self._create_tcr()
        else:
            self.handle = self._create_harbor()
        if cloud == "tencentcloud" and args.get("vpc_id") is not None:
            self._attach_vpc()
        self.endpoint = self.handle.endpoint
        outputs: dict[str, object] = {"endpoint": self.endpoint}
        if self.harbor_admin_password is not None:
            outputs["harbor_admin_password"] = self.harbor_admin_password
        self.register_outputs(outputs)

    def _cloud_opts(self, *, protect: bool = False) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self, provider=self._args["cluster"].cloud_provider, protect=protect
        )

    def _create_ecr(self) -> RegistryHandle:
        import pulumi_aws as aws

        cluster = self._args["cluster"]
        settings = self._args["settings"]
        account_id = checked(self._args.get("account_id"), "account_id")
        tags = dict(self._args.get("tags", {}))
        key = aws.kms.Key(
            f"{self._name}-kms",
            description=f"tkestack image registry of {cluster.region}",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            tags=tags,
            # Every image of the region is encrypted with it.
            opts=self._cloud_opts(protect=settings.protect),
        )
        aws.kms.Alias(
            f"{self._name}-kms-alias",
            name=f"alias/tkestack/{self._name}",
            target_key_id=key.key_id,
            opts=self._cloud_opts(),
        )
        creation_role, creation_ready = self._create_ecr_creation_role(account_id, key)
        if settings.scan_on_push:
            self._create_ecr_scanning()
        policy = ecr_lifecycle_policy(settings)
        caches = list(self._args.get("pull_through_caches", ()))
        credentials = self._args.get("pull_through_credentials", {})
        for upstream in caches:
            aws.ecr.PullThroughCacheRule(
                f"{self._name}-cache-{upstream}",
                ecr_repository_prefix=upstream,
                upstream_registry_url=PULL_THROUGH_UPSTREAMS[upstream],
                credential_arn=credentials.get(upstream),
                opts=self._cloud_opts(),
            )
        if caches:
            # Cached repositories are created by ECR on first pull: give them the same
            # encryption, immutability and lifecycle as ours.
            aws.ecr.RepositoryCreationTemplate(
                f"{self._name}-cache-template",
                prefix="ROOT",
                applied_fors=["PULL_THROUGH_CACHE"],
                description="tkestack pull-through caches",
                # KMS encryption and resource tags need a role ECR creates the repository as.
                custom_role_arn=creation_role.arn,
                image_tag_mutability="IMMUTABLE" if settings.immutable_tags else "MUTABLE",
                encryption_configurations=[
                    aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(
                        encryption_type="KMS", kms_key=key.arn
                    )
                ],
                lifecycle_policy=policy,
                resource_tags=tags,
                opts=pulumi.ResourceOptions.merge(
                    self._cloud_opts(), pulumi.ResourceOptions(depends_on=creation_ready)
                ),
            )
        regions = sorted(set(self._args.get("replication_regions", ())) - {cluster.region})
        if regions:
            # One replication configuration per registry (account and region).
            aws.ecr.ReplicationConfiguration(
                f"{self._name}-replication",
                replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(
                    rules=[
                        aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                            destinations=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                                    region=region, registry_id=account_id
                                )
                                for region in regions
                            ]
                        )
                    ]
                ),
                opts=self._cloud_opts(),
            )
        return RegistryHandle(
            key=f"aws/{cluster.region}",
            cloud="aws",
            settings=settings,
            endpoint=pulumi.Output.from_input(
                f"{account_id}.dkr.ecr.{cluster.region}.amazonaws.com"
            ),
            provider=cluster.cloud_provider,
            kms_key_arn=key.arn,
            creation_role_arn=creation_role.arn,
            ready=creation_ready,
        )

    def _create_ecr_creation_role(
        self, account_id: str, key: pulumi_aws.kms.Key
    ) -> tuple[pulumi_aws.iam.Role, list[pulumi.Resource]]:
        """The role ECR assumes to create repositories from our creation templates (pull-through
        caches, tenants' create-on-push and replicas): create and tag repositories of this
        account, and use the registry's KMS key for them."""
        import pulumi_aws as aws

        role = aws.iam.Role(
            f"{self._name}-creation-role",
            description="ECR creates repositories from tkestack creation templates",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ecr.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                sort_keys=True,
            ),
            tags=dict(self._args.get("tags", {})),
            opts=self._cloud_opts(),
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-creation-policy",
            role=role.id,
            name="ecr-repository-creation",
            policy=key.arn.apply(
                lambda key_arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "CreateRepositories",
                                "Effect": "Allow",
                                "Action": list(TEMPLATE_ROLE_ECR_ACTIONS),
                                "Resource": f"arn:aws:ecr:*:{account_id}:repository/*",
                            },
                            {
                                "Sid": "EncryptWithTheRegistryKey",
                                "Effect": "Allow",
                                "Action": list(TEMPLATE_ROLE_KMS_ACTIONS),
                                "Resource": key_arn,
                            },
                        ],
                    },
                    sort_keys=True,
                )
            ),
            opts=self._cloud_opts(),
        )
        return role, [policy]

    def _create_ecr_scanning(self) -> None:
        """Scan on push for every repository of the region's registry: `'*'` covers the
        repositories ECR creates itself from creation templates (pull-through caches, tenants'
        create-on-push and replicas), whose templates cannot enable scanning. One per account
        and region (it replaces the registry's scanning settings, and overrides the
        repositories' own `scanOnPush`); no tags (the API has none) and no `protect` (no data:
        removing it reverts the registry to its defaults, which the policy pack catches)."""
        import pulumi_aws as aws

        aws.ecr.RegistryScanningConfiguration(
            f"{self._name}-scanning",
            scan_type=ECR_SCAN_TYPE,
            rules=[
                aws.ecr.RegistryScanningConfigurationRuleArgs(
                    scan_frequency="SCAN_ON_PUSH",
                    repository_filters=[
                        aws.ecr.RegistryScanningConfigurationRuleRepositoryFilterArgs(
                            filter="*", filter_type="WILDCARD"
                        )
                    ],
                )
            ],
            opts=self._cloud_opts(),
        )

    def _create_tcr(self) -> RegistryHandle:
        import tencentcloud_iac_pulumi as tencentcloud

        cluster = self._args["cluster"]
        settings = self._args["settings"]
        instance_name = checked(self._args.get("tcr_instance_name"), "tcr_instance_name")
        regions = sorted(set(self._args.get("replication_regions", ())) - {cluster.region})
        instance = tencentcloud.tcr.Instance(
            f"{self._name}-tcr",
            name=instance_name,
            instance_type=self._args.get("tencent_edition", "standard"),
            open_public_operation=False,
            # Keep the COS bucket with the images if the instance is ever deleted.
            delete_bucket=False,
            replications=[
                tencentcloud.tcr.InstanceReplicationArgs(region_name=region) for region in regions
            ]
            or None,
            tags=dict(self._args.get("tags", {})),
            opts=self._cloud_opts(protect=settings.protect),
        )
        return RegistryHandle(
            key=f"tencentcloud/{cluster.region}",
            cloud="tencentcloud",
            settings=settings,
            endpoint=pulumi.Output.from_input(f"{instance_name}.tencentcloudcr.com"),
            provider=cluster.cloud_provider,
            tcr_instance_id=instance.id,
        )

    def _attach_vpc(self) -> None:
        import tencentcloud_iac_pulumi as tencentcloud

        cluster = self._args["cluster"]
        tencentcloud.tcr.VpcAttachment(
            f"{self._name}-vpc",
            instance_id=self.handle.tcr_instance_id,
            vpc_id=checked(self._args.get("vpc_id"), "vpc_id"),
            subnet_id=checked(self._args.get("subnet_id"), "subnet_id"),
            region_name=cluster.region,
            # Nodes resolve the instance's domain to its private address.
            enable_vpc_domain_dns=True,
            opts=self._cloud_opts(),
        )

    def _create_harbor(self) -> RegistryHandle:
        cluster = self._args["cluster"]
        settings = self._args["settings"]
        (addon,) = registry_addons(self._args)
        k8s_opts = pulumi.ResourceOptions(
            parent=self, provider=cluster.k8s_provider, depends_on=cluster.depends_on
        )
        # Deleting the namespace would delete the PVCs Helm keeps: protect it with the release.
        namespace = k8s.core.v1.Namespace(
            f"{self._name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=addon.release_namespace),
            opts=pulumi.ResourceOptions.merge(
                k8s_opts, pulumi.ResourceOptions(protect=settings.protect)
            ),
        )
        # Explicit provider: stacks disable default providers (`pulumi:disable-default-providers`).
        random_opts = pulumi.ResourceOptions(
            parent=self,
            provider=random.Provider(
                f"{self._name}-random", opts=pulumi.ResourceOptions(parent=self)
            ),
        )
        admin = random.RandomPassword(
            f"{self._name}-admin-password", length=24, special=False, opts=random_opts
        )
        secret_key = random.RandomPassword(
            f"{self._name}-secret-key",
            length=HARBOR_SECRET_KEY_LENGTH,
            special=False,
            opts=random_opts,
        )
        credentials = k8s.core.v1.Secret(
            f"{self._name}-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=HARBOR_SECRET, namespace=namespace.metadata.name
            ),
            type="Opaque",
            string_data={
                "HARBOR_ADMIN_PASSWORD": pulumi.Output.secret(admin.result),
                "secretKey": pulumi.Output.secret(secret_key.result),
            },
            opts=k8s_opts,
        )
        # Split inside the secret: the bundle's content never leaves it.
        bundle = checked(self._args.get("harbor_tls_bundle"), "harbor_tls_bundle")
        tls_parts = pulumi.Output.secret(bundle).apply(split_tls_bundle)
        tls = k8s.core.v1.Secret(
            f"{self._name}-tls",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=HARBOR_TLS_SECRET, namespace=namespace.metadata.name
            ),
            type="kubernetes.io/tls",
            string_data={
                "tls.crt": pulumi.Output.secret(tls_parts[0]),
                "tls.key": pulumi.Output.secret(tls_parts[1]),
            },
            opts=k8s_opts,
        )
        create_network_policies(
            self._name,
            {addon.release_namespace: harbor_network_policies()},
            k8s_opts,
            namespaces={addon.release_namespace: namespace.metadata.name},
        )
        release = install_addon(
            f"{self._name}-harbor", addon, cluster, self, depends_on=[credentials, tls]
        )
        self.harbor_admin_password = pulumi.Output.secret(admin.result)
        return RegistryHandle(
            key=f"attached/{cluster.name}",
            cloud="attached",
            settings=settings,
            endpoint=pulumi.Output.from_input(
                checked(self._args.get("harbor_hostname"), "harbor_hostname")
            ),
            provider=self._harbor_provider(self.harbor_admin_password),
            ready=(release,),
        )

    def _harbor_provider(self, admin_password: pulumi.Output[str]) -> pulumi.ProviderResource:
        """The Harbor API provider tenant projects are created with: Harbor's own hostname,
        its admin account, and TLS verified (the provider's default skips verification). The
        machine running `pulumi up` must resolve `harbor_hostname` and trust the company CA,
        as the nodes do."""
        import pulumiverse_harbor as harbor  # local: only environments with Harbor import it

        return harbor.Provider(
            f"{self._name}-harbor-api",
            url=f"https://{checked(self._args.get('harbor_hostname'), 'harbor_hostname')}",
            username="admin",
            password=admin_password,
            insecure=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
