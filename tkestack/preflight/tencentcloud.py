"""Tencent Cloud checks of `tkestack preflight`, through tencentcloud-sdk-python with the
user's secret id/key (environment) or profile. Every call is a read.

Facts about Tencent Cloud used here and where they come from (tencentcloud-sdk-python
3.1.x, `tencentcloud/<service>/<version>/models.py` unless named otherwise):

- `sts` 2018-08-13 `GetCallerIdentity`: `AccountId` is the caller's root account UIN.
- `cam` 2019-01-16 `GetRole` / `ListAttachedRolePolicies`. `CVM_QcsRole` with the preset
  policy `QcloudKMSAccessForCVMRole` is needed for encrypted data disks, which every node
  pool has: tencentcloud-iac-pulumi 0.2.3 `kubernetes/_inputs.py` (node pool `data_disk.encrypt`,
  bridged from terraform-provider-tencentcloud v1.82.42) and the provider's
  `website/docs/r/cbs_storage.html.markdown`. `TKE_QCSRole` carries TKE's service policies,
  `QcloudAccessForTKERoleInOpsManagement` among them (log service, which audit and event
  persistence use): tencentyun/intlcloud-documents
  `yehe_doc/容器/容器服务/权限管理/服务授权相关角色权限说明_intl_en.md`.
- `cvm` 2017-03-12 `DescribeZoneInstanceConfigInfos`: `Status` `SELL` / `SOLD_OUT` per zone,
  instance type and charge type. `DescribeAccountQuota`: `SpotPaidQuota` in vCPUs (the model
  says so); `PostPaidQuota` has no unit in the model, the CVM documentation counts
  pay-as-you-go quota in instances per zone: treated as instances (unverified).
- `tke` 2018-05-25 `DescribeVersions` (`VersionInstance.Version`, the full x.y.z the program
  passes as `cluster_version`) and `DescribeOSImages` (`OSImage.OsName`, `Status` online).
  No TKE API lists the GPU driver names `gpu_args` accepts: reported as unverified.
  `DescribeAddonValues` (`ClusterId`, `AddonName`: "the add-on name, from the Add-on
  Management page of a cluster"; `DefaultValues`: "the parameters the add-on supports, the
  chart's defaults") and `DescribeAddon` (`Addon.Phase`: Installing, Upgrading, Terminating,
  Succeeded, InstallFailed, UpgradFailed; `Reason`) ask TKE about the NetworkPolicy add-on
  name the program installs, which no source we could read confirms (components/catalog/
  tke.py). How TKE answers a name it does not know is not documented: an error code naming a
  missing resource or a bad parameter, or no default values, is read as "unknown" (unverified).
- `tcr` 2019-09-24 `CheckInstanceName`: `IsValidated`, `DetailCode` 1 illegal, 2 reserved,
  3 existed (TCR instance names are global); `DescribeInstances` filtered by `RegistryName`
  tells whether an existing one is the caller's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..components import catalog
from ..components.catalog import tke as tke_catalog
from .facts import ClusterFacts, EnvironmentFacts
from .model import PreflightFinding, PreflightUsageError
from .reach import TIMEOUT_SECONDS, Connector, tcp_connect

ClientFactory = Callable[[str, str], Any]
"""(service, region) -> a tencentcloud-sdk-python client (`sts`, `cam`, `cvm`, `tke`, `tcr`)."""

CLOUD = "tencentcloud"

SERVICE_ROLES: dict[str, tuple[str, str]] = {
    role.name: (role.required, role.purpose) for role in tke_catalog.SERVICE_ROLES
}
"""Service roles the program relies on but does not create: role -> (preset policy it must
carry, what needs it), from components/catalog/tke.py (sources there)."""

TCR_NAME_DETAIL = {1: "illegal", 2: "reserved", 3: "already taken (TCR names are global)"}
AUTH_ERRORS = ("AuthFailure",)


def _model(service: str, version: str) -> Any:
    import importlib

    return importlib.import_module(f"tencentcloud.{service}.{version}.models")


def _request(service: str, version: str, name: str, params: dict[str, Any]) -> Any:
    """A request model of the SDK, filled from a JSON-shaped dict."""
    request = getattr(_model(service, version), f"{name}Request")()
    request.from_json_string(json.dumps(params))
    return request


class TencentChecks:
    """The Tencent Cloud checks of one environment."""

    def __init__(
        self, facts: EnvironmentFacts, clients: ClientFactory, connect: Connector = tcp_connect
    ) -> None:
        self.facts = facts
        self.clients = clients
        self.connect = connect
        self.findings: list[PreflightFinding] = []
        clusters = facts.of_cloud(CLOUD)
        self.home = clusters[0].region if clusters else "ap-guangzhou"

    def add(
        self, check: str, severity: str, key: str, message: str, fix: str = "", **details: object
    ) -> None:
        """Record one finding."""
        # Why the ignore below: `severity` arrives as str from the checks' tables;
        # PreflightFinding's Literal is the set those tables use.
        finding = PreflightFinding(check, severity, CLOUD, key, message, fix, details=details)  # type: ignore[arg-type]
        self.findings.append(finding)

    def call(self, service: str, version: str, region: str, action: str, params: dict) -> Any:
        """One API call; credential failures end the run (exit 2)."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        client = self.clients(service, region)
        try:
            return getattr(client, action)(_request(service, version, action, params))
        except TencentCloudSDKException as error:
            if str(error.get_code() or "").startswith(AUTH_ERRORS):
                raise PreflightUsageError(f"Tencent Cloud credentials: {error}") from error
            raise

    def run(self) -> list[PreflightFinding]:
        """Every Tencent Cloud check, in a fixed order."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        clusters = self.facts.of_cloud(CLOUD)
        if not clusters:
            return []
        steps: list[tuple[str, str, Callable[[], None]]] = [
            ("tencentcloud.identity.uin", "identity.tencent_uin", self.identity),
            ("tencentcloud.principals.service-role", "clusters", self.service_roles),
        ]
        for cluster in clusters:
            steps += [
                ("tencentcloud.versions.cluster", f"{cluster.key}.kubernetes_version",
                 lambda c=cluster: self.cluster_version(c)),
                ("tencentcloud.versions.os-image", f"{cluster.key}.node_pools",
                 lambda c=cluster: self.os_images(c)),
                ("tencentcloud.versions.network-policy-addon", cluster.key,
                 lambda c=cluster: self.network_policy_addon(c)),
                ("tencentcloud.placement.instance-offered", f"{cluster.key}.node_pools",
                 lambda c=cluster: self.placement(c)),
                ("tencentcloud.capacity.cvm-quota", f"{cluster.key}.node_pools",
                 lambda c=cluster: self.capacity(c)),
                ("tencentcloud.reach.api-endpoint", f"{cluster.key}.endpoint.exposure",
                 lambda c=cluster: self.reach(c)),
            ]  # fmt: skip
        steps.append(("tencentcloud.names.tcr", "registry", self.tcr_names))
        for check, key, step in steps:
            try:
                step()
            except TencentCloudSDKException as error:
                if check == "tencentcloud.identity.uin":
                    raise PreflightUsageError(f"Tencent Cloud credentials: {error}") from error
                self.add(
                    check,
                    "warning",
                    key,
                    f"could not check: {error.get_code()}: {error.get_message()}",
                    "grant the preflight principal read access to this call"
                    " (docs/preflight.md lists them)",
                )
        self.gpu_driver(clusters)
        return self.findings

    # -- identity and principals ---------------------------------------------------------------

    def identity(self) -> None:
        """The caller's root account UIN is the spec's."""
        answer = self.call("sts", "v20180813", self.home, "GetCallerIdentity", {})
        expected = self.facts.tencent_uin
        if answer.AccountId != expected:
            self.add(
                "tencentcloud.identity.uin",
                "error",
                "identity.tencent_uin",
                f"the credentials are of account {answer.AccountId} ({answer.Arn}), the spec's"
                f" is {expected}",
                "use credentials of the spec's account (TENCENTCLOUD_SECRET_ID/KEY or"
                " ~/.tencentcloud/credentials) or correct identity.tencent_uin",
            )
            return
        self.add("tencentcloud.identity.uin", "pass", "identity.tencent_uin", f"account {expected}")

    def service_roles(self) -> None:
        """Service roles exist and carry the preset policy the program relies on."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        key = next(cluster.key for cluster in self.facts.of_cloud(CLOUD))
        for role, (policy, purpose) in SERVICE_ROLES.items():
            try:
                self.call("cam", "v20190116", self.home, "GetRole", {"RoleName": role})
            except TencentCloudSDKException as error:
                if "NotExist" not in str(error.get_code()) and "NotFound" not in str(
                    error.get_code()
                ):
                    raise
                self.add(
                    "tencentcloud.principals.service-role",
                    "error",
                    key,
                    f"service role {role} does not exist: {purpose} need it",
                    f"authorize the service role {role} in the CAM console (Roles > service"
                    f" authorization) or open the TKE console once with the root account",
                )
                continue
            attached = self.call(
                "cam",
                "v20190116",
                self.home,
                "ListAttachedRolePolicies",
                {"RoleName": role, "Page": 1, "Rp": 200},
            )
            names = {item.PolicyName for item in attached.List or []}
            if policy not in names:
                self.add(
                    "tencentcloud.principals.service-role",
                    "error",
                    key,
                    f"service role {role} lacks the preset policy {policy}: {purpose} need it",
                    f"attach {policy} to {role} in the CAM console",
                )
            else:
                self.add(
                    "tencentcloud.principals.service-role",
                    "pass",
                    key,
                    f"{role} carries {policy}",
                )

    # -- versions ------------------------------------------------------------------------------

    def cluster_version(self, cluster: ClusterFacts) -> None:
        """The full version the program passes as `cluster_version` is offered."""
        wanted = catalog.kubernetes_full_version(CLOUD, cluster.kubernetes_version)
        answer = self.call("tke", "v20180525", cluster.region, "DescribeVersions", {})
        offered = sorted({item.Version for item in answer.VersionInstanceSet or []})
        key = f"{cluster.key}.kubernetes_version"
        if wanted in offered:
            self.add(
                "tencentcloud.versions.cluster",
                "pass",
                key,
                f"TKE offers {wanted} in {cluster.region}",
            )
            return
        self.add(
            "tencentcloud.versions.cluster",
            "error",
            key,
            f"TKE does not offer {wanted} (components/catalog/kubernetes.yaml full_version of"
            f" {cluster.kubernetes_version}) in {cluster.region}; offered: {', '.join(offered)}",
            "choose an offered kubernetes_version, or update the catalog's full_version",
            offered=offered,
        )

    def os_images(self, cluster: ClusterFacts) -> None:
        """The cluster OS and every pool's node image (a name or an `img-` id) are online."""
        from ..components.clouds.tencentcloud import CLUSTER_OS

        answer = self.call("tke", "v20180525", cluster.region, "DescribeOSImages", {})
        online: set[str] = set()
        for item in answer.OSImageSeriesSet or []:
            if item.Status == "online":
                online.update(value for value in (item.OsName, item.ImageId) if value)
        wanted: dict[str, str] = {CLUSTER_OS: f"{cluster.key}.kubernetes_version"}
        for pool in cluster.pools:
            if pool.node_image is not None:
                wanted.setdefault(pool.node_image, f"{pool.key}.node_image")
        for image, key in wanted.items():
            if image in online:
                self.add("tencentcloud.versions.os-image", "pass", key, f"OS image {image} online")
            else:
                self.add(
                    "tencentcloud.versions.os-image",
                    "error",
                    key,
                    f"TKE offers no online OS image {image} in {cluster.region}",
                    "set node_image to an OsName or ImageId that"
                    f" `tccli tke DescribeOSImages --region {cluster.region}` lists as online",
                    online=sorted(online),
                )

    def gpu_driver(self, clusters: list[ClusterFacts]) -> None:
        """No API lists the GPU driver names TKE accepts: say so for GPU pools."""
        if self.facts.gpu_driver != "image":
            return
        for cluster in clusters:
            for pool in cluster.pools:
                if pool.gpu:
                    self.add(
                        "tencentcloud.versions.gpu-driver",
                        "warning",
                        f"{pool.key}.gpu_driver",
                        "the GPU driver and CUDA packages (unverified): no TKE API lists the"
                        " ones a node pool accepts",
                        "confirm gpu_driver in the TKE console's node pool form for this"
                        " image and instance family, or set gpu.driver: operator",
                    )

    # -- reach ---------------------------------------------------------------------------------

    def network_policy_addon(self, cluster: ClusterFacts) -> None:
        """TKE knows the NetworkPolicy add-on name the `Cluster` component installs
        (`tke_catalog.NETWORK_POLICY_ADDON`, UNVERIFIED): `DescribeAddonValues` with that name
        on a TKE cluster of the region (the spec's own when it exists, else any the account
        has), and on the spec's own cluster `DescribeAddon` tells whether it installed."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        check, key, name = (
            "tencentcloud.versions.network-policy-addon",
            cluster.key,
            (tke_catalog.NETWORK_POLICY_ADDON),
        )
        own = self._cluster_ids(cluster.region, [{"Name": "ClusterName", "Values": [cluster.name]}])
        ids = own or self._cluster_ids(cluster.region, [])
        if not ids:
            self.add(
                check,
                "warning",
                key,
                f"could not check the NetworkPolicy add-on name `{name}` (unverified): no TKE"
                f" cluster in {cluster.region} to ask",
                f"rerun preflight once a TKE cluster exists in {cluster.region}, or confirm the"
                f" name with `tccli tke DescribeAddon --ClusterId <a cluster>` where the console"
                " installed NetworkPolicy",
            )
            return
        try:
            answer = self.call(
                "tke",
                "v20180525",
                cluster.region,
                "DescribeAddonValues",
                {"ClusterId": ids[0], "AddonName": name},
            )
        except TencentCloudSDKException as error:
            code = str(error.get_code() or "")
            if not code.startswith(("ResourceNotFound", "InvalidParameter")):
                raise
            self.add(
                check,
                "error",
                key,
                f"TKE does not know the add-on `{name}` ({code}: {error.get_message()}): the"
                " cluster would get no NetworkPolicy enforcement and `pulumi up` fails on the"
                " add-on",
                "find the NetworkPolicy add-on's name with `tccli tke DescribeAddon` on a"
                " cluster where the console installed it, and set NETWORK_POLICY_ADDON in"
                " components/catalog/tke.py",
                cluster_id=ids[0],
            )
            return
        if not answer.DefaultValues:
            self.add(
                check,
                "warning",
                key,
                f"TKE answered no default values for the add-on `{name}` on {ids[0]}: the"
                " name may not be TKE's (unverified)",
                "confirm the name with `tccli tke DescribeAddon` on a cluster where the console"
                " installed NetworkPolicy",
                cluster_id=ids[0],
            )
            return
        if own:
            installed = self.call(
                "tke",
                "v20180525",
                cluster.region,
                "DescribeAddon",
                {"ClusterId": own[0], "AddonName": name},
            )
            for addon in installed.Addons or []:
                if addon.AddonName == name and str(addon.Phase).endswith("Failed"):
                    self.add(
                        check,
                        "error",
                        key,
                        f"the add-on `{name}` of {cluster.name} ({own[0]}) is {addon.Phase}:"
                        f" {addon.Reason or 'no reason given'}",
                        "look at the add-on in the cluster's Add-on Management page; reinstall"
                        " it (replace the add-on resource) once the cause is fixed",
                        cluster_id=own[0],
                    )
                    return
        self.add(check, "pass", key, f"TKE knows the add-on `{name}` ({ids[0]})")

    def _cluster_ids(self, region: str, filters: list[dict[str, Any]]) -> list[str]:
        """Ids of the TKE clusters `DescribeClusters` finds in `region` with `filters`."""
        params: dict[str, Any] = {"Filters": filters} if filters else {"Limit": 1}
        found = self.call("tke", "v20180525", region, "DescribeClusters", params)
        return [item.ClusterId for item in found.Clusters or [] if item.ClusterId]

    def reach(self, cluster: ClusterFacts) -> None:
        """A TKE cluster that already exists (a later deploy): the runner reaches one of its API
        endpoints (DescribeClusters by `ClusterName`, then DescribeClusterEndpoints: the
        intranet and external addresses, tencentcloud-sdk-python tke v20180525 models). A
        cluster not created yet has nothing to reach."""
        ids = self._cluster_ids(cluster.region, [{"Name": "ClusterName", "Values": [cluster.name]}])
        if not ids:
            return
        answer = self.call(
            "tke", "v20180525", cluster.region, "DescribeClusterEndpoints", {"ClusterId": ids[0]}
        )
        endpoints = [
            value
            for value in (answer.ClusterIntranetEndpoint, answer.ClusterExternalEndpoint)
            if value
        ]
        key = f"{cluster.key}.endpoint.exposure"
        failures: list[str] = []
        for endpoint in endpoints:
            parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
            try:
                self.connect(parts.hostname or "", parts.port or 443, TIMEOUT_SECONDS)
            except OSError as error:
                failures.append(f"{endpoint}: {error}")
                continue
            self.add(
                "tencentcloud.reach.api-endpoint",
                "pass",
                key,
                f"{cluster.name} ({ids[0]}): {endpoint} reachable",
            )
            return
        self.add(
            "tencentcloud.reach.api-endpoint",
            "error",
            key,
            f"TKE cluster {cluster.name} ({ids[0]}) exists and this runner reaches none of its"
            f" API endpoints ({'; '.join(failures) or 'none open'})",
            "run preflight and `pulumi up` from a runner the endpoint admits (inside the VPC or"
            " on its CCN for the intranet endpoint), or widen endpoint.public_access_cidrs",
            endpoints=endpoints,
        )

    # -- placement and capacity ----------------------------------------------------------------

    def placement(self, cluster: ClusterFacts) -> None:
        """Every pool's instance types are on sale in the cluster's zones."""
        for pool in cluster.pools:
            charge = "SPOTPAID" if pool.spot else "POSTPAID_BY_HOUR"
            answer = self.call(
                "cvm",
                "v20170312",
                cluster.region,
                "DescribeZoneInstanceConfigInfos",
                {
                    "Filters": [
                        {"Name": "zone", "Values": list(cluster.zones)},
                        {"Name": "instance-type", "Values": list(pool.instance_types)},
                        {"Name": "instance-charge-type", "Values": [charge]},
                    ]
                },
            )
            selling: dict[str, set[str]] = {}
            for item in answer.InstanceTypeQuotaSet or []:
                if item.Status == "SELL":
                    selling.setdefault(item.InstanceType, set()).add(item.Zone)
            for index, name in enumerate(pool.instance_types):
                key = f"{pool.key}.instance_types[{index}]"
                missing = [zone for zone in cluster.zones if zone not in selling.get(name, set())]
                if not missing:
                    self.add(
                        "tencentcloud.placement.instance-offered",
                        "pass",
                        key,
                        f"{name} ({charge}) on sale in {', '.join(cluster.zones)}",
                    )
                elif len(missing) == len(cluster.zones):
                    self.add(
                        "tencentcloud.placement.instance-offered",
                        "error",
                        key,
                        f"{name} ({charge}) is on sale in none of the cluster's zones"
                        f" ({', '.join(cluster.zones)})",
                        "choose an instance type on sale there (tccli cvm"
                        " DescribeZoneInstanceConfigInfos) or another region",
                        missing=missing,
                    )
                else:
                    self.add(
                        "tencentcloud.placement.instance-offered",
                        "warning",
                        key,
                        f"{name} ({charge}) is not on sale in {', '.join(missing)}: the pool"
                        " spreads nodes evenly over the zones (EQUALITY), scaling there fails",
                        "add an instance type on sale in those zones",
                        missing=missing,
                    )

    def capacity(self, cluster: ClusterFacts) -> None:
        """The account's CVM quota in the cluster's zones covers min_size (max_size
        reported); pay-as-you-go in instances, spot in vCPUs; GPU pools reported apart."""
        answer = self.call(
            "cvm",
            "v20170312",
            cluster.region,
            "DescribeAccountQuota",
            {"Filters": [{"Name": "zone", "Values": list(cluster.zones)}]},
        )
        quota = answer.AccountQuotaOverview.AccountQuota
        remaining = {
            "postpaid": sum(
                item.RemainingQuota or 0
                for item in quota.PostPaidQuotaSet or []
                if item.Zone in cluster.zones
            ),
            "spot": sum(
                item.RemainingQuota or 0
                for item in quota.SpotPaidQuotaSet or []
                if item.Zone in cluster.zones
            ),
        }
        for gpu in (False, True):
            for kind, unit in (("postpaid", "instances"), ("spot", "vCPUs")):
                pools = [p for p in cluster.pools if p.gpu == gpu and p.spot == (kind == "spot")]
                if not pools:
                    continue
                per_node = (lambda p: 1) if kind == "postpaid" else (lambda p: p.vcpu)
                need_min = sum(p.min_size * per_node(p) for p in pools)
                need_max = sum(p.max_size * per_node(p) for p in pools)
                # GPU and CPU pools draw from the same zone quota: the CPU pools' minimum is
                # already spoken for when the GPU pools are measured.
                taken = 0
                if gpu:
                    taken = sum(
                        p.min_size * per_node(p)
                        for p in cluster.pools
                        if not p.gpu and p.spot == (kind == "spot")
                    )
                # A shortfall of the CPU pools is theirs: never below zero for the GPU pools.
                have = max(remaining[kind] - taken, 0)
                key = ", ".join(p.key for p in pools)
                label = (
                    f"{'GPU' if gpu else 'CPU'} pools of {cluster.name}: {kind} quota left in"
                    f" {', '.join(cluster.zones)} is {have} {unit}"
                )
                figures = {"remaining": have, "min": need_min, "max": need_max, "unit": unit}
                if need_min > have:
                    self.add(
                        "tencentcloud.capacity.cvm-quota",
                        "error",
                        key,
                        f"{label}; min_size needs {need_min}",
                        "raise the CVM quota of those zones (console: CVM > quota) or lower"
                        " min_size",
                        **figures,
                    )
                elif need_max > have:
                    self.add(
                        "tencentcloud.capacity.cvm-quota",
                        "warning",
                        key,
                        f"{label}; min_size fits ({need_min}), max_size needs {need_max}",
                        "raise the CVM quota before the autoscaler needs it",
                        **figures,
                    )
                else:
                    self.add(
                        "tencentcloud.capacity.cvm-quota",
                        "pass",
                        key,
                        f"{label}; covers max_size ({need_max})",
                        **figures,
                    )

    # -- names ---------------------------------------------------------------------------------

    def tcr_names(self) -> None:
        """TCR instance names are free, or already the caller's own."""
        if not self.facts.registry_enabled:
            return
        for cluster in self.facts.registry_owners(CLOUD):
            name = self.facts.tcr_instance_names[cluster.region]
            key = f"registry.tcr_instance_names.{cluster.region}"
            answer = self.call(
                "tcr", "v20190924", cluster.region, "CheckInstanceName", {"RegistryName": name}
            )
            if answer.IsValidated:
                self.add("tencentcloud.names.tcr", "pass", key, f"TCR instance name {name} is free")
                continue
            if answer.DetailCode == 3:
                mine = self.call(
                    "tcr",
                    "v20190924",
                    cluster.region,
                    "DescribeInstances",
                    {"Filters": [{"Name": "RegistryName", "Values": [name]}]},
                )
                if any(item.RegistryName == name for item in mine.Registries or []):
                    self.add(
                        "tencentcloud.names.tcr",
                        "info",
                        key,
                        f"TCR instance {name} already exists in this account and region (an"
                        " earlier deploy?): `pulumi up` fails to create it unless the stack"
                        " already holds it",
                        "if the stack does not hold it: pulumi import the instance, or delete it",
                    )
                    continue
            reason = TCR_NAME_DETAIL.get(answer.DetailCode or 0, f"refused ({answer.DetailCode})")
            self.add(
                "tencentcloud.names.tcr",
                "error",
                key,
                f"TCR instance name {name} is {reason}",
                "name the region's instance in registry.tcr_instance_names (default"
                " `<environment>-<region>-<tencent_uin>`)",
                detail_code=answer.DetailCode,
            )


def sdk_clients() -> ClientFactory:
    """A client factory over the SDK's default credential chain: TENCENTCLOUD_SECRET_ID/KEY
    in the environment, then the `[default]` profile of ~/.tencentcloud/credentials, then a
    CVM role or TKE OIDC (the SDK's `DefaultCredentialProvider`; it reads no other profile)."""
    try:
        from tencentcloud.common import credential
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
    except ImportError as error:
        raise PreflightUsageError(
            "the Tencent Cloud checks need tencentcloud-sdk-python:"
            " pip install 'tkestack[tencentcloud]'"
        ) from error
    try:
        cred: Any = credential.DefaultCredentialProvider().get_credential()
    except (TencentCloudSDKException, OSError, KeyError, ValueError) as error:
        raise PreflightUsageError(
            "no Tencent Cloud credentials found (export TENCENTCLOUD_SECRET_ID and"
            f" TENCENTCLOUD_SECRET_KEY, or write ~/.tencentcloud/credentials): {error}"
        ) from error
    if cred is None:
        raise PreflightUsageError(
            "no Tencent Cloud credentials found (export TENCENTCLOUD_SECRET_ID and"
            " TENCENTCLOUD_SECRET_KEY, or write ~/.tencentcloud/credentials)"
        )
    import importlib

    versions = {"sts": "v20180813", "cam": "v20190116", "cvm": "v20170312", "tke": "v20180525",
                "tcr": "v20190924"}  # fmt: skip
    cache: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in cache:
            module = importlib.import_module(
                f"tencentcloud.{service}.{versions[service]}.{service}_client"
            )
            cls = getattr(module, f"{service.capitalize()}Client")
            cache[(service, region)] = cls(cred, region)
        return cache[(service, region)]

    return client
