"""Cluster rules: endpoint exposure, secrets encryption, logging, versions, access, protection.

Provider defaults that matter here (why a missing input is a violation):
- EKS `vpcConfig.endpointPublicAccess` defaults to true and `publicAccessCidrs` to
  0.0.0.0/0; `endpointPrivateAccess` to false (https://docs.aws.amazon.com/eks/latest/
  userguide/cluster-endpoint.html).
- EKS `accessConfig.authenticationMode` defaults to CONFIG_MAP and
  `bootstrapClusterCreatorAdminPermissions` to true (https://docs.aws.amazon.com/eks/latest/
  APIReference/API_CreateAccessConfigRequest.html).
- EKS `enabledClusterLogTypes`, `encryptionConfig` and `deletionProtection` default to
  none/off; so do TKE `clusterAudit` and `deletionProtection`.
- KMS `enableKeyRotation` defaults to false (TencentCloud `keyRotationEnabled` too).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...components import catalog
from .base import (
    EKS_CLUSTER,
    TKE_CLUSTER,
    Rule,
    Stack,
    Subject,
    boolean,
    get,
    items,
    mapping,
    number,
    schema,
    string_list,
    strings,
)
from .kube import HELM_RELEASE

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TKE_ENDPOINT = "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint"
TKE_ENCRYPTION = "tencentcloud:Kubernetes/encryptionProtection:EncryptionProtection"
TKE_LOG_CONFIG = "tencentcloud:Kubernetes/logConfig:LogConfig"
AWS_KMS_KEY = "aws:kms/key:Key"
TENCENT_KMS_KEY = "tencentcloud:Kms/key:Key"

OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})

STATEFUL_TYPES = (
    EKS_CLUSTER,
    TKE_CLUSTER,
    "aws:ecr/repository:Repository",
    "tencentcloud:Tcr/instance:Instance",
    "tencentcloud:Tcr/namespace:Namespace",
    "harbor:index/project:Project",
    AWS_KMS_KEY,
    TENCENT_KMS_KEY,
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:ebs/volume:Volume",
    "aws:efs/fileSystem:FileSystem",
    "tencentcloud:Cbs/storage:Storage",
    "tencentcloud:Cos/bucket:Bucket",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:core/v1:PersistentVolume",
)
"""Resources whose deletion or replacement loses data or identity (state, images, keys)."""

STATEFUL_CHARTS = frozenset({"kube-prometheus-stack", "loki", "harbor"})
"""Helm charts whose releases own data (metrics, logs, images on their volumes): deleting or
replacing such a release deletes its PersistentVolumeClaims, so the release counts as
stateful like the types above."""


def is_stateful(type_: str, props: Mapping[str, Any]) -> bool:
    """Whether a resource of `type_` with inputs `props` holds data or identity."""
    if type_ == HELM_RELEASE:
        return props.get("chart") in STATEFUL_CHARTS
    return type_ in STATEFUL_TYPES


def minor(version: Any) -> str | None:
    """`1.32` from `1.32`, `1.32.2` or `v1.32.2`; None when not a version."""
    parts = catalog.version_parts(version)
    return None if parts is None else f"{parts[0]}.{parts[1]}"


def minor_number(version: str) -> int:
    """32 from `1.32`."""
    return int(version.split(".")[1])


# ---------------------------------------------------------------- endpoint


def _endpoint_private(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    props = resource.props
    if resource.type == EKS_CLUSTER:
        if boolean(get(props, "vpcConfig.endpointPublicAccess"), default=True):
            yield (
                "EKS API endpoint is public (vpcConfig.endpointPublicAccess is true or unset;"
                " the EKS default is public)"
            )
        if not boolean(get(props, "vpcConfig.endpointPrivateAccess"), default=False):
            yield "EKS API endpoint has no private access (vpcConfig.endpointPrivateAccess)"
    elif boolean(get(props, "clusterInternet"), default=False):
        yield "TKE API endpoint is reachable from the internet (clusterInternet: true)"


TKE_SECURITY_GROUP = "tencentcloud:Security/group:Group"
TKE_RULE_SET = "tencentcloud:Security/groupRuleSet:GroupRuleSet"
API_PORT = 443


def _port_covers(port: Any, wanted: int) -> bool:
    """Whether a Tencent Cloud rule's `port` (`all`, `80`, `80,443`, `1-1000`; unset: all
    ports) admits `wanted`. Source: terraform-provider-tencentcloud v1.82.42
    tencentcloud/services/vpc/resource_tc_security_group_rule_set.go (`port`, `protocol`)."""
    if port is None or str(port).strip().lower() in ("", "all"):
        return True
    for part in str(port).split(","):
        low, _, high = part.strip().partition("-")
        try:
            if int(low) <= wanted <= int(high or low):
                return True
        except ValueError:
            return True  # a form we cannot read: judge it open rather than guess closed
    return False


def _open_ingress(rule_set: Subject) -> str | None:
    """The first ingress of a rule set (ordered: the first match wins) that decides TCP 443
    from anywhere, when it accepts: the CIDR it opens; None when 443 from anywhere is
    dropped first or never accepted."""
    for rule in items(get(rule_set.props, "ingresses")):
        rule = mapping(rule)
        cidr = rule.get("cidrBlock") or rule.get("ipv6CidrBlock")
        if cidr not in OPEN_CIDRS:
            continue
        protocol = str(rule.get("protocol") or "ALL").upper()
        if protocol not in ("TCP", "ALL") or not _port_covers(rule.get("port"), API_PORT):
            continue
        return str(cidr) if str(rule.get("action", "")).upper() == "ACCEPT" else None
    return None


def _endpoint_groups(endpoint: Subject, stack: Stack) -> list[Subject]:
    """The security groups guarding a TKE public endpoint: those it depends on. Analyzers see
    inputs, where a group's id is an output (unknown at preview): the dependency is what ties
    them, as it ties a rule set to its group."""
    return [g for g in stack.of_type(TKE_SECURITY_GROUP) if g.urn in endpoint.dependencies]


def _group_rule_sets(group: Subject, stack: Stack) -> list[Subject]:
    return [r for r in stack.of_type(TKE_RULE_SET) if group.urn in r.dependencies]


def _endpoint_exposure(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The effect, whatever the cloud's way to write it: a public API endpoint reachable
    from anywhere (EKS publicAccessCidrs; TKE managed policies, or the security group the
    endpoint uses accepting TCP 443 from 0.0.0.0/0)."""
    for resource in stack.of_type(*sorted(ENDPOINT_TYPES)):
        for message in _endpoint_cidrs(resource, config):
            yield resource.urn, message
        if resource.type == TKE_ENDPOINT and boolean(
            get(resource.props, "clusterInternet"), default=False
        ):
            for group in _endpoint_groups(resource, stack):
                for rule_set in _group_rule_sets(group, stack):
                    cidr = _open_ingress(rule_set)
                    if cidr is not None:
                        yield (
                            resource.urn,
                            f"public TKE endpoint is open to {cidr}: its security group"
                            f" {group.name} accepts TCP {API_PORT} from {cidr}"
                            f" ({rule_set.name})",
                        )


def _endpoint_cidrs(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    props = resource.props
    if resource.type == EKS_CLUSTER:
        if not boolean(get(props, "vpcConfig.endpointPublicAccess"), default=True):
            return
        cidrs = strings(get(props, "vpcConfig.publicAccessCidrs")) or ["0.0.0.0/0"]
        open_ = sorted(set(cidrs) & OPEN_CIDRS)
        if open_:
            yield (
                f"public EKS endpoint is open to {', '.join(open_)} (vpcConfig.publicAccessCidrs"
                " unset defaults to 0.0.0.0/0)"
            )
        return
    if not boolean(get(props, "clusterInternet"), default=False):
        return
    policies = strings(get(props, "managedClusterInternetSecurityPolicies"))
    if get(props, "clusterInternetSecurityGroup") is None and not policies:
        yield "public TKE endpoint has no security group or source CIDR allow-list"
    open_ = sorted(set(policies) & OPEN_CIDRS)
    if open_:
        yield f"public TKE endpoint is open to {', '.join(open_)}"


ENDPOINT_TYPES = frozenset({EKS_CLUSTER, TKE_CLUSTER, TKE_ENDPOINT})

# ---------------------------------------------------------------- secrets encryption


def _secrets_encryption(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for cluster in stack.of_type(EKS_CLUSTER):
        resources = strings(get(cluster.props, "encryptionConfig.resources"))
        key = get(cluster.props, "encryptionConfig.provider.keyArn")
        if "secrets" not in resources or not key:
            yield (
                cluster.urn,
                (
                    "Kubernetes secrets are not envelope-encrypted with a KMS key"
                    " (encryptionConfig.resources must include 'secrets' with provider.keyArn)"
                ),
            )
    protected = {dep for enc in stack.of_type(TKE_ENCRYPTION) for dep in enc.dependencies}
    for cluster in stack.of_type(TKE_CLUSTER):
        if cluster.urn not in protected:
            yield (
                cluster.urn,
                ("TKE cluster has no EncryptionProtection (KMS encryption of secrets in etcd)"),
            )


# ---------------------------------------------------------------- logging


def _control_plane_logging(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    required = set(strings(config.get("requiredLogTypes")))
    for cluster in stack.of_type(EKS_CLUSTER):
        enabled = set(strings(get(cluster.props, "enabledClusterLogTypes")))
        missing = sorted(required - enabled)
        if missing:
            yield (
                cluster.urn,
                (
                    f"control-plane log types not enabled: {', '.join(missing)}"
                    " (enabledClusterLogTypes)"
                ),
            )
    logged = {dep for log in stack.of_type(TKE_LOG_CONFIG) for dep in log.dependencies}
    for cluster in stack.of_type(TKE_CLUSTER):
        audit = boolean(get(cluster.props, "clusterAudit.enabled"), default=False)
        if not audit and cluster.urn not in logged:
            yield cluster.urn, "TKE audit logging is off (clusterAudit.enabled, or a LogConfig)"


# ---------------------------------------------------------------- versions


def _version_supported(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    cloud = "aws" if resource.type == EKS_CLUSTER else "tencentcloud"
    key = "version" if cloud == "aws" else "clusterVersion"
    version = get(resource.props, key)
    if version is None:
        yield (
            f"Kubernetes version is not pinned ({key} unset: the cloud picks its default,"
            " and a later default silently upgrades new clusters)"
        )
        return
    supported = catalog.supported_kubernetes_versions(cloud)
    allowed = strings(config.get("allowedVersions")) or supported
    found = minor(version)
    if found is None or found not in supported or found not in allowed:
        yield (
            f"Kubernetes {version} is not a supported {cloud} version"
            f" (allowed: {', '.join(v for v in supported if v in allowed)})"
        )


def _version_skew(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    max_skew = int(number(config.get("maxMinorSkew")) or 0)
    for group in stack.of_type(EKS_NODE_GROUP):
        node_version = minor(get(group.props, "version"))
        if node_version is None:
            continue  # follows the control plane
        for dep in group.dependencies:
            cluster = stack.get(dep)
            if cluster is None or cluster.type != EKS_CLUSTER:
                continue
            plane = minor(get(cluster.props, "version"))
            if plane is None:
                continue
            skew = minor_number(plane) - minor_number(node_version)
            if skew < 0:
                yield (
                    group.urn,
                    (
                        f"node group runs Kubernetes {node_version}, newer than its control plane"
                        f" {plane}"
                    ),
                )
            elif skew > max_skew:
                yield (
                    group.urn,
                    (
                        f"node group runs Kubernetes {node_version}, {skew} minor versions behind"
                        f" its control plane {plane} (at most {max_skew})"
                    ),
                )
            break


# ---------------------------------------------------------------- access


def _authentication_mode(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    mode = get(resource.props, "accessConfig.authenticationMode", "CONFIG_MAP")
    allowed = strings(config.get("allowedModes"))
    if mode not in allowed:
        yield (
            f"authentication mode {mode} (unset defaults to CONFIG_MAP); use access entries:"
            f" {' or '.join(allowed)}"
        )


def _no_creator_admin(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if boolean(get(resource.props, "accessConfig.bootstrapClusterCreatorAdminPermissions"), True):
        yield (
            "the identity that creates the cluster gets permanent cluster-admin"
            " (accessConfig.bootstrapClusterCreatorAdminPermissions is true or unset)"
        )


# ---------------------------------------------------------------- protection


def _deletion_protection(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if not boolean(get(resource.props, "deletionProtection"), default=False):
        yield "cluster can be deleted by one API call (deletionProtection is false or unset)"


def _stateful_protected(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    if not is_stateful(resource.type, resource.props):
        return  # a Helm release of a chart without data
    if not resource.protect:
        yield (
            f"stateful resource ({resource.type.rsplit(':', 1)[-1]}) is not protected:"
            " a mistaken change could delete or replace it"
        )


def _key_rotation(resource: Subject, config: Mapping[str, Any]) -> Iterator[str]:
    field = "enableKeyRotation" if resource.type == AWS_KMS_KEY else "keyRotationEnabled"
    if not boolean(get(resource.props, field), default=False):
        yield f"KMS key rotation is off ({field} is false or unset)"
    window = number(get(resource.props, "deletionWindowInDays"))
    minimum = number(config.get("minDeletionWindowDays")) or 0
    if resource.type == AWS_KMS_KEY and window is not None and window < minimum:
        yield f"KMS key deletion window is {window:g} days (at least {minimum:g})"


RULES = [
    Rule(
        name="cluster-endpoint-private",
        group="clusters",
        description="The Kubernetes API endpoint is private: no public access, private access on.",
        severity="high",
        anchor="CIS EKS 5.4.2; checkov CKV_AWS_39",
        remediation="Set `endpoint.exposure: private` on the cluster in the environment spec.",
        check=_endpoint_private,
        types=ENDPOINT_TYPES,
    ),
    Rule(
        name="cluster-endpoint-public-cidrs",
        group="clusters",
        description="A public API endpoint is limited to listed CIDRs, never 0.0.0.0/0.",
        severity="high",
        anchor="CIS EKS 5.4.1; checkov CKV_AWS_38",
        remediation="List the office/VPN ranges in `endpoint.public_access_cidrs`.",
        check=_endpoint_exposure,
        stack=True,
    ),
    Rule(
        name="cluster-secrets-encryption",
        group="clusters",
        description="Kubernetes secrets are envelope-encrypted with a customer KMS key.",
        severity="high",
        anchor="CIS EKS 5.3.1; checkov CKV_AWS_58",
        remediation="The cluster component must create a KMS key and set encryptionConfig"
        " (EKS) or an EncryptionProtection (TKE).",
        check=_secrets_encryption,
        stack=True,
    ),
    Rule(
        name="cluster-control-plane-logging",
        group="clusters",
        description="Control-plane audit and API logs are shipped to the cloud's log service.",
        severity="medium",
        anchor="CIS EKS 2.1.1; checkov CKV_AWS_37",
        remediation="Enable the log types in the cluster component (enabledClusterLogTypes /"
        " clusterAudit).",
        check=_control_plane_logging,
        stack=True,
        config={
            "requiredLogTypes": string_list(
                ["api", "audit", "authenticator"], "EKS log types that must be enabled."
            )
        },
    ),
    Rule(
        name="cluster-kubernetes-version-supported",
        group="clusters",
        description="Clusters pin a Kubernetes version the cloud still supports.",
        severity="medium",
        anchor="tkestack (EKS/TKE version lifecycle; catalog kubernetes.yaml)",
        remediation="Set `kubernetes_version` to a supported minor (docs/catalog.md).",
        check=_version_supported,
        types=frozenset({EKS_CLUSTER, TKE_CLUSTER}),
        config={
            "allowedVersions": string_list(
                [], "Minor versions allowed here; empty: every version the catalog supports."
            )
        },
    ),
    Rule(
        name="node-version-skew",
        group="clusters",
        description="Node pools run at most N minors behind the control plane, never ahead.",
        severity="medium",
        anchor="Kubernetes version skew policy",
        remediation="Upgrade the pool (`node_pools[].kubernetes_version`) before the next"
        " control-plane upgrade.",
        check=_version_skew,
        stack=True,
        config={"maxMinorSkew": schema("integer", 1, "Minor versions a pool may lag.")},
    ),
    Rule(
        name="cluster-access-entries",
        group="clusters",
        description="Cluster access is granted through EKS access entries (API mode), not the"
        " aws-auth ConfigMap.",
        severity="medium",
        anchor="EKS Best Practices: cluster access management; CIS EKS 4.1",
        remediation="Set accessConfig.authenticationMode to API in the cluster component.",
        check=_authentication_mode,
        types=frozenset({EKS_CLUSTER}),
        config={"allowedModes": string_list(["API"], "Allowed authentication modes.")},
    ),
    Rule(
        name="cluster-no-creator-admin",
        group="clusters",
        description="The cluster creator gets no implicit, permanent cluster-admin.",
        severity="high",
        anchor="CIS EKS 4.1.1",
        remediation="Set accessConfig.bootstrapClusterCreatorAdminPermissions to false and"
        " grant admins through access entries.",
        check=_no_creator_admin,
        types=frozenset({EKS_CLUSTER}),
    ),
    Rule(
        name="cluster-deletion-protection",
        group="clusters",
        description="Clusters have the cloud's deletion protection on.",
        severity="high",
        anchor="tkestack (EKS/TKE deletionProtection)",
        remediation="Set deletionProtection on the cluster (on by tier in the cluster component).",
        check=_deletion_protection,
        types=frozenset({EKS_CLUSTER, TKE_CLUSTER}),
    ),
    Rule(
        name="stateful-resources-protected",
        group="clusters",
        description="Stateful resources (clusters, registries, storage, keys, and Helm releases"
        " of charts that keep data: " + ", ".join(sorted(STATEFUL_CHARTS)) + ") are protected"
        " against deletion and replacement.",
        severity="critical",
        anchor="tkestack (Pulumi `protect` resource option)",
        remediation="Create stateful resources with `protect=True` in prod.",
        check=_stateful_protected,
        types=frozenset(STATEFUL_TYPES) | {HELM_RELEASE},
    ),
    Rule(
        name="kms-key-rotation",
        group="clusters",
        description="KMS keys rotate automatically and keep a safe deletion window.",
        severity="medium",
        anchor="checkov CKV_AWS_7",
        remediation="Set enableKeyRotation (AWS) / keyRotationEnabled (Tencent Cloud) on the key.",
        check=_key_rotation,
        types=frozenset({AWS_KMS_KEY, TENCENT_KMS_KEY}),
        config={
            "minDeletionWindowDays": schema(
                "integer", 7, "Shortest allowed KMS deletion window (days)."
            )
        },
    ),
]
