"""AWS checks of `tkestack preflight`, through boto3 with the user's ordinary credentials
(profile, SSO, environment). Every call is a read, except `sts:AssumeRole`, which only
proves the deployer role can be assumed (it creates no resource).

Facts about AWS used here and where they come from:

- EKS refuses control-plane subnets in the zone IDs `use1-az3`, `usw1-az2`, `cac1-az3`
  (and `cnn1-az4` in China): eksctl-io/eksctl `pkg/az/az_test.go` (`unsupportedZoneEntry`
  table, commit 265e6aa4c802bb4dd4888683559cad45c290fbe6); EKS's own answer is the
  `validZones` of `UnsupportedAvailabilityZoneException` (botocore `eks` service model).
- vCPU quota codes (Service Quotas, service `ec2`): on-demand standard `L-1216C47A`, on-demand
  G and VT `L-DB2E81BA`, spot standard `L-34B43A08`, spot G and VT `L-3819A6DF`. Unverified
  from a primary source here, so every answer's `QuotaName` is checked against the family it
  is expected to cover; a mismatch is reported instead of trusted.
- Instance type offerings by zone ID: EC2 `DescribeInstanceTypeOfferings` with
  `LocationType=availability-zone-id`; zone names map to IDs per account
  (`DescribeAvailabilityZones`).
- Add-on versions: EKS `DescribeAddonVersions(addonName, kubernetesVersion)`.
- ECR registry singletons: `CreatePullThroughCacheRule` and `CreateRepositoryCreationTemplate`
  fail with `PullThroughCacheRuleAlreadyExistsException` / `TemplateAlreadyExistsException`
  (botocore `ecr` service model) when another stack made them in the same account and region.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..components import catalog
from .facts import ClusterFacts, EnvironmentFacts, PoolFacts
from .model import PreflightFinding, PreflightUsageError
from .reach import TIMEOUT_SECONDS, Connector, tcp_connect

ClientFactory = Callable[[str, str], Any]
"""(service, region) -> a boto3 client."""

CLOUD = "aws"

EKS_REFUSED_ZONE_IDS: frozenset[str] = frozenset({"use1-az3", "usw1-az2", "cac1-az3", "cnn1-az4"})
"""Zone IDs EKS refuses for control-plane subnets (source in the module docstring)."""

ECR_CACHE_TEMPLATE_PREFIX = "ROOT"
"""The creation template prefix the registry component uses for pull-through caches
(components/registry.py `_create_ecr`)."""


@dataclass(frozen=True)
class QuotaClass:
    """One EC2 vCPU quota: which instance families it covers and its Service Quotas code."""

    label: str
    code: str
    name_words: tuple[str, ...]
    """Words the quota's `QuotaName` must contain, or the code is not trusted."""
    gpu: bool
    spot: bool


QUOTAS: tuple[QuotaClass, ...] = (
    QuotaClass("on-demand standard", "L-1216C47A", ("On-Demand", "Standard"), False, False),
    QuotaClass("on-demand G and VT", "L-DB2E81BA", ("On-Demand", "G and VT"), True, False),
    QuotaClass("spot standard", "L-34B43A08", ("Spot", "Standard"), False, True),
    QuotaClass("spot G and VT", "L-3819A6DF", ("Spot", "G and VT"), True, True),
)

STANDARD_FAMILY = re.compile(r"^[acdhimrtz]\d")
GPU_FAMILY = re.compile(r"^(g|vt)\d")


def quota_class(instance_type: str, spot: bool) -> QuotaClass | None:
    """The vCPU quota an instance type draws from; None for families outside the four
    quotas checked here (P, Inf, Trn, X, ...)."""
    family = instance_type.split(".", 1)[0]
    if GPU_FAMILY.match(family):
        gpu = True
    elif STANDARD_FAMILY.match(family):
        gpu = False
    else:
        return None
    return next(q for q in QUOTAS if q.gpu == gpu and q.spot == spot)


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class AwsChecks:
    """The AWS checks of one environment."""

    def __init__(
        self, facts: EnvironmentFacts, clients: ClientFactory, connect: Connector = tcp_connect
    ) -> None:
        self.facts = facts
        self.clients = clients
        self.connect = connect
        self.findings: list[PreflightFinding] = []
        self.home = facts.of_cloud(CLOUD)[0].region if facts.of_cloud(CLOUD) else "us-east-1"

    def add(
        self, check: str, severity: str, key: str, message: str, fix: str = "", **details: object
    ) -> None:
        """Record one finding."""
        # Why the ignore below: add() takes `severity` as str; its callers pass
        # Severity's Literal values (tkestack/preflight/model.py).
        finding = PreflightFinding(check, severity, CLOUD, key, message, fix, details=details)  # type: ignore[arg-type]
        self.findings.append(finding)

    def unreadable(self, check: str, key: str, what: str, error: Exception) -> None:
        """A check the credentials may not run: a warning naming the refused call."""
        self.add(
            check,
            "warning",
            key,
            f"could not check {what}: {_error_code(error) or type(error).__name__}",
            "grant the preflight principal read access to this call (docs/preflight.md lists them)",
        )

    def run(self) -> list[PreflightFinding]:
        """Every AWS check, in a fixed order."""
        if not self.facts.of_cloud(CLOUD):
            return []
        self.identity()
        self.principals()
        for cluster in self.facts.of_cloud(CLOUD):
            zone_ids = self.placement(cluster)
            self.control_plane_zones(cluster, zone_ids)
            self.addon_versions(cluster)
            self.reach(cluster)
        self.capacity()
        self.registry_names()
        return self.findings

    # -- identity ------------------------------------------------------------------------------

    def identity(self) -> None:
        """The caller's account is the spec's; the deployer role can be assumed."""
        from botocore.exceptions import BotoCoreError, ClientError

        sts = self.clients("sts", self.home)
        try:
            caller = sts.get_caller_identity()
        except (BotoCoreError, ClientError) as error:
            raise PreflightUsageError(f"AWS credentials: {error}") from error
        expected = self.facts.aws_account
        if caller["Account"] != expected:
            self.add(
                "aws.identity.account",
                "error",
                "identity.aws_account_id",
                f"the credentials are of account {caller['Account']} ({caller['Arn']}),"
                f" the spec's is {expected}: the AWS provider refuses every other account",
                "use a profile of the spec's account (AWS_PROFILE=...) or correct"
                " identity.aws_account_id",
                caller=caller["Arn"],
            )
            return
        self.add(
            "aws.identity.account",
            "pass",
            "identity.aws_account_id",
            f"account {expected} ({caller['Arn']})",
        )
        deployer = self.facts.aws_principals[0]
        try:
            sts.assume_role(
                RoleArn=deployer.arn, RoleSessionName="tkestack-preflight", DurationSeconds=900
            )
        except ClientError as error:
            self.add(
                "aws.identity.assume-deployer",
                "error",
                deployer.key,
                f"{caller['Arn']} cannot assume {deployer.arn}"
                f" ({_error_code(error)}): the kubeconfig of every EKS cluster assumes it",
                "allow sts:AssumeRole on the deployer role for the principal that runs"
                " `pulumi up` (the role's trust policy and the principal's own policy)",
            )
            return
        self.add(
            "aws.identity.assume-deployer",
            "pass",
            deployer.key,
            f"{caller['Arn']} can assume {deployer.arn}",
        )

    def principals(self) -> None:
        """Every role the program references but does not create exists."""
        from botocore.exceptions import ClientError

        iam = self.clients("iam", self.home)
        for principal in self.facts.aws_principals:
            account = principal.arn.split(":")[4]
            if account != self.facts.aws_account:
                self.add(
                    "aws.principals.role-exists",
                    "info",
                    principal.key,
                    f"{principal.arn} is in account {account}, not checked (unverified)",
                    "check it exists in that account before the first deploy",
                )
                continue
            try:
                iam.get_role(RoleName=principal.name)
            except ClientError as error:
                if _error_code(error) == "NoSuchEntity":
                    self.add(
                        "aws.principals.role-exists",
                        "error",
                        principal.key,
                        f"IAM role {principal.name} does not exist: {principal.purpose};"
                        " EKS refuses an access entry for a missing principal",
                        f"create role {principal.name} in account {account}"
                        f" (or change {principal.key})",
                    )
                else:
                    self.unreadable(
                        "aws.principals.role-exists", principal.key, f"role {principal.name}", error
                    )
                continue
            self.add(
                "aws.principals.role-exists", "pass", principal.key, f"role {principal.name} exists"
            )

    # -- placement -----------------------------------------------------------------------------

    def placement(self, cluster: ClusterFacts) -> dict[str, str]:
        """Every instance type is offered in the zones its pool uses (by zone ID). Returns the
        cluster's {zone name: zone ID}."""
        from botocore.exceptions import ClientError

        ec2 = self.clients("ec2", cluster.region)
        try:
            zones = ec2.describe_availability_zones(ZoneNames=list(cluster.zones))[
                "AvailabilityZones"
            ]
        except ClientError as error:
            self.unreadable(
                "aws.placement.zones", f"{cluster.key}.region", "the region's zones", error
            )
            return {}
        zone_ids = {zone["ZoneName"]: zone["ZoneId"] for zone in zones}
        types = sorted({name for pool in cluster.pools for name in pool.instance_types})
        if not types:
            return zone_ids
        offered: dict[str, set[str]] = {}
        paginator = ec2.get_paginator("describe_instance_type_offerings")
        for page in paginator.paginate(
            LocationType="availability-zone-id",
            Filters=[
                {"Name": "instance-type", "Values": types},
                {"Name": "location", "Values": sorted(zone_ids.values())},
            ],
        ):
            for offering in page["InstanceTypeOfferings"]:
                offered.setdefault(offering["InstanceType"], set()).add(offering["Location"])
        for pool in cluster.pools:
            for ti, name in enumerate(pool.instance_types):
                self._offered(cluster, pool, ti, name, zone_ids, offered.get(name, set()))
        return zone_ids

    def _offered(
        self,
        cluster: ClusterFacts,
        pool: PoolFacts,
        index: int,
        name: str,
        zone_ids: dict[str, str],
        offered: set[str],
    ) -> None:
        key = f"{pool.key}.instance_types[{index}]"
        missing = [
            f"{zone} ({zone_ids[zone]})"
            for zone in cluster.zones
            if zone_ids.get(zone) not in offered
        ]
        if not missing:
            self.add(
                "aws.placement.instance-offered",
                "pass",
                key,
                f"{name} is offered in {', '.join(cluster.zones)}",
            )
        elif len(missing) == len(cluster.zones):
            self.add(
                "aws.placement.instance-offered",
                "error",
                key,
                f"{name} is offered in none of the pool's zones ({', '.join(missing)})",
                "choose an instance type offered in the region's zones"
                " (aws ec2 describe-instance-type-offerings --location-type availability-zone-id)",
                missing=missing,
            )
        else:
            self.add(
                "aws.placement.instance-offered",
                "warning",
                key,
                f"{name} is not offered in {', '.join(missing)}: the pool's nodes of this type"
                " launch only in its other zones",
                "add a second instance type offered there, or accept the narrower spread",
                missing=missing,
            )

    def control_plane_zones(self, cluster: ClusterFacts, zone_ids: dict[str, str]) -> None:
        """The control plane's subnets avoid the zone IDs EKS refuses."""
        refused = sorted(
            f"{name} ({zone})" for name, zone in zone_ids.items() if zone in EKS_REFUSED_ZONE_IDS
        )
        key = f"{cluster.key}.region"
        if refused:
            self.add(
                "aws.placement.eks-zone",
                "error",
                key,
                f"in this account {', '.join(refused)} maps to a zone EKS refuses for control-plane"
                " subnets (UnsupportedAvailabilityZoneException)",
                "tkestack places subnets in the catalog's zones of the region"
                " (components/catalog/regions.yaml) and cannot skip one per account yet:"
                " deploy this cluster to another region",
                refused=refused,
            )
        elif zone_ids:
            self.add(
                "aws.placement.eks-zone",
                "pass",
                key,
                f"zones {', '.join(sorted(zone_ids.values()))} accepted by EKS",
            )

    # -- versions ------------------------------------------------------------------------------

    def addon_versions(self, cluster: ClusterFacts) -> None:
        """The catalog's pinned add-on versions are offered for the cluster's version."""
        from botocore.exceptions import ClientError

        eks = self.clients("eks", cluster.region)
        key = f"{cluster.key}.kubernetes_version"
        for addon, version in catalog.eks_addon_versions(cluster.kubernetes_version).items():
            try:
                answer = eks.describe_addon_versions(
                    addonName=addon, kubernetesVersion=cluster.kubernetes_version
                )
            except ClientError as error:
                self.unreadable("aws.versions.addon", key, f"add-on {addon}", error)
                continue
            offered = {
                item["addonVersion"]
                for entry in answer.get("addons", [])
                for item in entry.get("addonVersions", [])
            }
            if version in offered:
                self.add(
                    "aws.versions.addon",
                    "pass",
                    key,
                    f"{addon} {version} is offered for {cluster.kubernetes_version}",
                )
            else:
                newest = sorted(
                    offered, key=lambda v: catalog.version_parts(v.lstrip("v").split("-")[0]) or ()
                )
                self.add(
                    "aws.versions.addon",
                    "error",
                    key,
                    f"{addon} {version} (pinned in components/catalog/kubernetes.yaml) is not"
                    " offered"
                    f" for Kubernetes {cluster.kubernetes_version} in {cluster.region}",
                    "update the catalog pin to an offered version"
                    f" ({', '.join(newest[-3:]) or 'none offered'})"
                    " or choose another kubernetes_version",
                    offered=sorted(offered),
                )

    # -- reach ---------------------------------------------------------------------------------

    def reach(self, cluster: ClusterFacts) -> None:
        """An EKS cluster that already exists (a later deploy): the runner reaches its API
        endpoint, which a private endpoint allows only from inside the VPC. A cluster not
        created yet has nothing to reach."""
        from urllib.parse import urlsplit

        from botocore.exceptions import ClientError

        key = f"{cluster.key}.endpoint.exposure"
        try:
            answer = self.clients("eks", cluster.region).describe_cluster(name=cluster.name)
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                self.unreadable("aws.reach.api-endpoint", key, f"cluster {cluster.name}", error)
            return
        endpoint = answer["cluster"].get("endpoint")
        if not endpoint:
            return
        parts = urlsplit(endpoint)
        try:
            self.connect(parts.hostname or "", parts.port or 443, TIMEOUT_SECONDS)
        except OSError as error:
            self.add(
                "aws.reach.api-endpoint",
                "error",
                key,
                f"EKS cluster {cluster.name} exists and this runner cannot reach its API"
                f" endpoint {endpoint}: {error}",
                "run preflight and `pulumi up` from inside the cluster's network (a private"
                " endpoint admits only its VPC), or widen endpoint.public_access_cidrs",
                endpoint=endpoint,
            )
            return
        self.add("aws.reach.api-endpoint", "pass", key, f"{cluster.name}: {endpoint} reachable")

    # -- capacity ------------------------------------------------------------------------------

    def capacity(self) -> None:
        """Per region and vCPU quota: the pools' min_size fits (error otherwise), max_size is
        reported against it (warning)."""
        from botocore.exceptions import ClientError

        demand: dict[tuple[str, QuotaClass], dict[str, Any]] = {}
        for cluster in self.facts.of_cloud(CLOUD):
            for pool in cluster.pools:
                quota = quota_class(pool.instance_types[0], pool.spot)
                if quota is None:
                    self.add(
                        "aws.capacity.vcpu-quota",
                        "info",
                        f"{pool.key}.instance_types",
                        f"{pool.instance_types[0]} draws from a vCPU quota preflight does not"
                        " read (unverified)",
                        "check the family's quota in the Service Quotas console",
                    )
                    continue
                entry = demand.setdefault((cluster.region, quota), {"min": 0, "max": 0, "keys": []})
                entry["min"] += pool.min_size * pool.vcpu
                entry["max"] += pool.max_size * pool.vcpu
                entry["keys"].append(pool.key)
        for (region, quota), entry in sorted(
            demand.items(), key=lambda item: (item[0][0], item[0][1].code)
        ):
            key = ", ".join(entry["keys"])
            try:
                answer = self.clients("service-quotas", region).get_service_quota(
                    ServiceCode="ec2", QuotaCode=quota.code
                )
            except ClientError as error:
                self.unreadable(
                    "aws.capacity.vcpu-quota", key, f"quota {quota.code} in {region}", error
                )
                continue
            name = answer["Quota"].get("QuotaName", "")
            if not all(word in name for word in quota.name_words):
                self.add(
                    "aws.capacity.vcpu-quota",
                    "warning",
                    key,
                    f"quota {quota.code} in {region} is named {name!r}, not the {quota.label} vCPU"
                    " quota preflight expected: its value is not used",
                    "check the quota in the Service Quotas console and report the code",
                )
                continue
            value = int(answer["Quota"]["Value"])
            label = f"{quota.label} vCPU quota ({quota.code}) in {region} is {value}"
            figures = {
                "quota": value,
                "min_vcpus": entry["min"],
                "max_vcpus": entry["max"],
                "region": region,
            }
            if entry["min"] > value:
                self.add(
                    "aws.capacity.vcpu-quota",
                    "error",
                    key,
                    f"{label}: the pools' min_size needs {entry['min']} vCPUs",
                    f"request an increase of {quota.code} in {region} to at least {entry['max']}"
                    " (Service Quotas), or lower min_size",
                    **figures,
                )
            elif entry["max"] > value:
                self.add(
                    "aws.capacity.vcpu-quota",
                    "warning",
                    key,
                    f"{label}: min_size fits ({entry['min']} vCPUs), max_size needs {entry['max']}",
                    f"request an increase of {quota.code} in {region} before the"
                    " autoscaler needs it",
                    **figures,
                )
            else:
                self.add(
                    "aws.capacity.vcpu-quota",
                    "pass",
                    key,
                    f"{label}: covers max_size ({entry['max']} vCPUs)",
                    **figures,
                )

    # -- names ---------------------------------------------------------------------------------

    def registry_names(self) -> None:
        """ECR registry singletons the program creates are not already taken in the account
        and region (by another environment)."""
        from botocore.exceptions import ClientError

        if not self.facts.registry_enabled or not self.facts.pull_through_caches:
            return
        for cluster in self.facts.registry_owners(CLOUD):
            ecr = self.clients("ecr", cluster.region)
            key = "registry.pull_through_caches"
            try:
                rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
                templates = ecr.describe_repository_creation_templates(
                    prefixes=[ECR_CACHE_TEMPLATE_PREFIX]
                )["repositoryCreationTemplates"]
            except ClientError as error:
                self.unreadable("aws.names.ecr-singletons", key, f"ECR in {cluster.region}", error)
                continue
            taken = sorted(
                rule["ecrRepositoryPrefix"]
                for rule in rules
                if rule["ecrRepositoryPrefix"] in self.facts.pull_through_caches
            )
            if templates:
                taken.append(f"creation template {ECR_CACHE_TEMPLATE_PREFIX}")
            if taken:
                self.add(
                    "aws.names.ecr-singletons",
                    "error",
                    key,
                    f"ECR in {cluster.region} already has {', '.join(taken)}: one per account and"
                    " region, made by another stack (another environment?); creating them fails",
                    "deploy the registry from one environment per account and region (set"
                    " registry.enabled: false in the others) or import the existing rules",
                    taken=taken,
                )
            else:
                self.add(
                    "aws.names.ecr-singletons",
                    "pass",
                    key,
                    f"ECR pull-through rules and template free in {cluster.region}",
                )


def boto3_clients(profile: str | None = None) -> ClientFactory:
    """A client factory over the user's ordinary credential chain (or `profile`)."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError
    except ImportError as error:
        raise PreflightUsageError(
            "the AWS checks need boto3: pip install 'tkestack[aws]'"
        ) from error
    try:
        session = boto3.Session(profile_name=profile)
    except BotoCoreError as error:
        raise PreflightUsageError(f"AWS credentials: {error}") from error
    if session.get_credentials() is None:
        raise PreflightUsageError(
            "no AWS credentials found (set AWS_PROFILE, run `aws sso login`, or export"
            " AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        )
    cache: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in cache:
            cache[(service, region)] = session.client(service, region_name=region)
        return cache[(service, region)]

    return client
