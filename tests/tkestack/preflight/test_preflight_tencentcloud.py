"""Tencent Cloud preflight checks against recorded API responses, built with the SDK's own
model classes (`models.<Action>Response()._deserialize(...)`, tencentcloud-sdk-python 3.1.x)
and served by a client double: no network, no credentials. The staging environment's TKE
cluster (stg-gz, ap-guangzhou: zones 3, 4, 6; pools general S5/SA5 min 2, arm SR1, gpu-t4
GN7) is checked alone (`--cloud tencentcloud`)."""

from __future__ import annotations

import copy
import importlib
import json
import shutil
from pathlib import Path

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tkestack.components import catalog
from tkestack.components.catalog import tke as tke_catalog
from tkestack.components.clouds.tencentcloud import CLUSTER_OS
from tkestack.preflight import command
from tkestack.preflight.model import PreflightUsageError

ARM_IMAGE = "img-xxxxxxxx"
"""The ARM pool's `node_image` in Pulumi.staging.yaml (an image id: TKE's ARM image name is
unverified, so the spec names one)."""

ROOT = Path(__file__).resolve().parents[3]
UIN = "100000000002"  # staging's identity.tencent_uin
ZONES = ["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"]
VERSIONS = {"sts": "v20180813", "cam": "v20190116", "cvm": "v20170312", "tke": "v20180525",
            "tcr": "v20190924"}  # fmt: skip
TYPES = {  # instance type -> (vCPUs, pool charge type) of staging's stg-gz pools
    "S5.LARGE16": 4, "SA5.LARGE16": 4, "SR1.LARGE16": 4, "GN7.2XLARGE32": 8
}  # fmt: skip


def zone_offers(types=TYPES, zones=ZONES, status="SELL"):
    return [
        {"Zone": zone, "InstanceType": name, "InstanceChargeType": "POSTPAID_BY_HOUR",
         "Cpu": cpu, "Memory": 16, "Status": status, "InstanceFamily": name.split(".")[0]}
        for name, cpu in types.items()
        for zone in zones
    ]  # fmt: skip


def clean_answers():
    """Recorded answers of an account where everything the staging cluster needs is there."""
    return {
        "GetCallerIdentity": {
            "Arn": f"qcs::cam::uin/{UIN}:uin/{UIN}",
            "AccountId": UIN,
            "Type": "RootAccount",
            "RequestId": "r1",
        },
        "GetRole": {"RoleInfo": {"RoleName": "x", "RoleId": "1"}, "RequestId": "r2"},
        "ListAttachedRolePolicies": {
            "List": [
                {"PolicyId": 1, "PolicyName": "QcloudKMSAccessForCVMRole"},
                {"PolicyId": 2, "PolicyName": "QcloudAccessForTKERoleInOpsManagement"},
                {"PolicyId": 3, "PolicyName": "QcloudAccessForTKERole"},
            ],
            "TotalNum": 3,
            "RequestId": "r3",
        },
        "DescribeVersions": {
            "TotalCount": 3,
            "VersionInstanceSet": [
                {"Name": "1.30.0", "Version": "1.30.0"},
                {"Name": "1.32.2", "Version": "1.32.2"},
                {"Name": "1.34.1", "Version": "1.34.1"},
            ],
            "RequestId": "r4",
        },
        "DescribeClusters": {"TotalCount": 0, "Clusters": [], "RequestId": "r-clusters"},
        "DescribeOSImages": {
            "OSImageSeriesSet": [
                {
                    "SeriesName": "tlinux3.1x86_64",
                    "OsName": CLUSTER_OS,
                    "Status": "online",
                    "Arch": "x86_64",
                    "ImageId": "img-1",
                },
                {
                    "SeriesName": "arm64-series",
                    "OsName": "arm64-os",
                    "Status": "online",
                    "Arch": "arm64",
                    "ImageId": ARM_IMAGE,
                },
            ],
            "TotalCount": 2,
            "RequestId": "r5",
        },
        "DescribeZoneInstanceConfigInfos": {
            "InstanceTypeQuotaSet": zone_offers(),
            "RequestId": "r6",
        },
        "DescribeAccountQuota": {
            "AppId": 1,
            "AccountQuotaOverview": {
                "Region": "ap-guangzhou",
                "AccountQuota": {
                    "PostPaidQuotaSet": [
                        {"Zone": zone, "TotalQuota": 30, "UsedQuota": 0, "RemainingQuota": 30}
                        for zone in ZONES
                    ],
                    "SpotPaidQuotaSet": [
                        {"Zone": zone, "TotalQuota": 100, "UsedQuota": 0, "RemainingQuota": 100}
                        for zone in ZONES
                    ],
                },
            },
            "RequestId": "r7",
        },
        "CheckInstanceName": {"IsValidated": True, "DetailCode": 0, "RequestId": "r8"},
        "DescribeInstances": {"TotalCount": 0, "Registries": [], "RequestId": "r9"},
    }


class Account:
    """Client double: each action answers with its recorded response (or a function of the
    request giving it), deserialized into the SDK's response model; `errors` {action: code}
    raise the SDK's exception instead."""

    def __init__(self, answers=None, errors=None):
        self.answers = answers or clean_answers()
        self.errors = errors or {}
        self.requests = []

    def __call__(self, service, region):
        models = importlib.import_module(f"tencentcloud.{service}.{VERSIONS[service]}.models")
        account = self

        class Client:
            def __getattr__(self, action):
                def call(request):
                    account.requests.append(
                        (service, region, action, json.loads(request.to_json_string()))
                    )
                    if action in account.errors:
                        raise TencentCloudSDKException(
                            account.errors[action], "recorded error", "r0"
                        )
                    response = getattr(models, f"{action}Response")()
                    answer = account.answers[action]
                    if callable(answer):
                        answer = answer(json.loads(request.to_json_string()))
                    response._deserialize(copy.deepcopy(answer))
                    return response

                return call

        return Client()


@pytest.fixture
def project(tmp_path):
    shutil.copy(ROOT / "Pulumi.staging.yaml", tmp_path / "Pulumi.staging.yaml")
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return tmp_path / "Pulumi.staging.yaml"


def run(project, account, connect=None):
    text, code = command.run(
        project,
        clouds={"tencentcloud"},
        format="json",
        tencent_clients=lambda: account,
        **({"connect": connect} if connect else {}),
    )
    return json.loads(text), code


def existing_cluster_answers():
    """staging's TKE cluster exists already: DescribeClusters finds it by name and
    DescribeClusterEndpoints gives its intranet and external addresses."""
    answers = clean_answers()
    answers["DescribeClusters"] = {
        "TotalCount": 1,
        "Clusters": [{"ClusterId": "cls-abcd1234", "ClusterName": "stg-gz"}],
        "RequestId": "r-clusters",
    }
    answers["DescribeClusterEndpoints"] = {
        "ClusterIntranetEndpoint": "10.30.0.10",
        "ClusterExternalEndpoint": "https://cls-abcd1234.ccs.tencent-cloud.com",
        "RequestId": "r-endpoints",
    }
    answers["DescribeAddonValues"] = {
        "Values": "{}",
        "DefaultValues": '{"image": "networkpolicy"}',
        "RequestId": "r-addon-values",
    }
    answers["DescribeAddon"] = {
        "Addons": [
            {"AddonName": tke_catalog.NETWORK_POLICY_ADDON, "AddonVersion": "1.0.0",
             "Phase": "Succeeded", "Reason": "", "CreateTime": "2026-01-01T00:00:00Z"}
        ],
        "RequestId": "r-addon",
    }  # fmt: skip
    return answers


def test_existing_cluster_reachable_through_one_endpoint(project):
    tried = []

    def connect(host, port, timeout):
        tried.append((host, port))
        if host == "10.30.0.10":
            raise OSError("timed out")

    account = Account(existing_cluster_answers())
    document, code = run(project, account, connect)
    assert code == 0
    (finding,) = findings_of(document, "tencentcloud.reach.api-endpoint")
    assert finding["severity"] == "pass" and "cls-abcd1234" in finding["message"]
    assert tried == [("10.30.0.10", 443), ("cls-abcd1234.ccs.tencent-cloud.com", 443)]
    lookup = next(r for r in account.requests if r[2] == "DescribeClusters")[3]
    assert lookup["Filters"] == [{"Name": "ClusterName", "Values": ["stg-gz"]}]


def test_existing_cluster_unreachable_is_blocking(project):
    def refuse(host, port, timeout):
        raise OSError("connection refused")

    document, code = run(project, Account(existing_cluster_answers()), refuse)
    assert code == 1
    (finding,) = findings_of(document, "tencentcloud.reach.api-endpoint", "error")
    assert finding["key"] == "clusters[1].endpoint.exposure"
    assert "10.30.0.10" in finding["message"]


def test_cluster_not_created_yet_has_nothing_to_reach(project):
    def never(host, port, timeout):
        raise AssertionError("no endpoint to connect to")

    document, code = run(project, Account(), never)
    assert code == 0
    assert findings_of(document, "tencentcloud.reach.api-endpoint") == []


def findings_of(document, check, severity=None):
    return [
        item
        for item in document["findings"]
        if item["check"] == check and (severity is None or item["severity"] == severity)
    ]


def test_clean_account_passes(project):
    account = Account()
    document, code = run(project, account)
    blocking = [f for f in document["findings"] if f["severity"] == "error"]
    assert code == 0, blocking
    # two warnings: the GPU driver name no API lists, and the NetworkPolicy add-on name no
    # cluster of the region can be asked about (none exists yet)
    gpu, addon = sorted(
        (f for f in document["findings"] if f["severity"] == "warning"),
        key=lambda f: f["check"],
    )
    assert gpu["check"] == "tencentcloud.versions.gpu-driver"
    assert gpu["key"] == "clusters[1].node_pools[2].gpu_driver"
    assert "unverified" in gpu["message"]
    assert addon["check"] == "tencentcloud.versions.network-policy-addon"
    assert addon["key"] == "clusters[1]" and "no TKE cluster in ap-guangzhou" in addon["message"]
    # the zone filter carries the catalog's zones and each pool's charge type
    offers = [r for r in account.requests if r[2] == "DescribeZoneInstanceConfigInfos"]
    assert offers[0][3]["Filters"][0] == {"Name": "zone", "Values": ZONES}
    assert {tuple(r[3]["Filters"][2]["Values"]) for r in offers} == {("POSTPAID_BY_HOUR",)}
    assert (
        "tcr",
        "ap-guangzhou",
        "CheckInstanceName",
        {"RegistryName": "staging-ap-guangzhou-100000000002"},
    ) in account.requests


def test_other_uin_is_blocking(project):
    answers = clean_answers()
    answers["GetCallerIdentity"]["AccountId"] = "200000000002"
    document, code = run(project, Account(answers))
    assert code == 1
    (finding,) = findings_of(document, "tencentcloud.identity.uin", "error")
    assert finding["key"] == "identity.tencent_uin"
    assert finding["location"].startswith("Pulumi.staging.yaml:")


def test_refused_credentials_exit_2(project):
    with pytest.raises(PreflightUsageError, match=r"AuthFailure\.SecretIdNotFound"):
        run(project, Account(errors={"GetCallerIdentity": "AuthFailure.SecretIdNotFound"}))


def test_missing_service_role(project):
    document, code = run(project, Account(errors={"GetRole": "InvalidParameter.RoleNotExist"}))
    assert code == 1
    roles = findings_of(document, "tencentcloud.principals.service-role", "error")
    assert {f["message"].split()[2] for f in roles} == {"CVM_QcsRole", "TKE_QCSRole"}
    assert all(f["key"] == "clusters[1]" for f in roles)


def test_service_role_without_kms_policy(project):
    answers = clean_answers()
    answers["ListAttachedRolePolicies"]["List"] = [
        {"PolicyId": 3, "PolicyName": "QcloudAccessForTKERole"}
    ]
    document, code = run(project, Account(answers))
    assert code == 1
    messages = [
        f["message"] for f in findings_of(document, "tencentcloud.principals.service-role", "error")
    ]
    assert any("QcloudKMSAccessForCVMRole" in m for m in messages)


def test_cluster_version_not_offered(project):
    answers = clean_answers()
    answers["DescribeVersions"]["VersionInstanceSet"] = [{"Name": "1.34.1", "Version": "1.34.1"}]
    document, code = run(project, Account(answers))
    assert code == 1
    (finding,) = findings_of(document, "tencentcloud.versions.cluster", "error")
    assert finding["key"] == "clusters[1].kubernetes_version"
    assert catalog.kubernetes_full_version("tencentcloud", "1.32") in finding["message"]


def test_arm_image_offline(project):
    answers = clean_answers()
    answers["DescribeOSImages"]["OSImageSeriesSet"][1]["Status"] = "offline"
    document, code = run(project, Account(answers))
    assert code == 1
    (finding,) = findings_of(document, "tencentcloud.versions.os-image", "error")
    assert finding["key"] == "clusters[1].node_pools[1].node_image"
    assert ARM_IMAGE in finding["message"]


def test_instance_type_sold_out(project):
    answers = clean_answers()
    types = {k: v for k, v in TYPES.items() if k != "GN7.2XLARGE32"}
    answers["DescribeZoneInstanceConfigInfos"]["InstanceTypeQuotaSet"] = zone_offers(
        types
    ) + zone_offers({"GN7.2XLARGE32": 8}, status="SOLD_OUT")
    document, code = run(project, Account(answers))
    assert code == 1
    (finding,) = findings_of(document, "tencentcloud.placement.instance-offered", "error")
    assert finding["key"] == "clusters[1].node_pools[2].instance_types[0]"


def test_instance_type_missing_in_one_zone_warns(project):
    answers = clean_answers()
    answers["DescribeZoneInstanceConfigInfos"]["InstanceTypeQuotaSet"] = [
        item for item in zone_offers()
        if not (item["InstanceType"] == "SR1.LARGE16" and item["Zone"] == "ap-guangzhou-6")
    ]  # fmt: skip
    document, code = run(project, Account(answers))
    assert code == 0
    (finding,) = findings_of(document, "tencentcloud.placement.instance-offered", "warning")
    assert finding["details"]["missing"] == ["ap-guangzhou-6"]


def test_quota_below_min_size(project):
    answers = clean_answers()
    quota = answers["DescribeAccountQuota"]["AccountQuotaOverview"]["AccountQuota"]
    for item in quota["PostPaidQuotaSet"]:
        item["RemainingQuota"] = 0
    quota["PostPaidQuotaSet"][0]["RemainingQuota"] = 1  # general needs 2 nodes
    document, code = run(project, Account(answers))
    assert code == 1
    errors = findings_of(document, "tencentcloud.capacity.cvm-quota", "error")
    assert [f["key"] for f in errors] == ["clusters[1].node_pools[0], clusters[1].node_pools[1]"]
    assert errors[0]["details"] == {"remaining": 1, "min": 2, "max": 10, "unit": "instances"}
    # the GPU pools are reported apart, after the CPU pools' minimum (nothing left for them)
    (gpu,) = [
        f for f in findings_of(document, "tencentcloud.capacity.cvm-quota") if "GPU" in f["message"]
    ]
    assert gpu["severity"] == "warning" and gpu["details"]["remaining"] == 0


def test_tcr_name_taken_by_another_account(project):
    answers = clean_answers()
    answers["CheckInstanceName"] = {"IsValidated": False, "DetailCode": 3, "RequestId": "r"}
    document, code = run(project, Account(answers))
    assert code == 1
    (finding,) = findings_of(document, "tencentcloud.names.tcr", "error")
    assert finding["key"] == "registry.tcr_instance_names.ap-guangzhou"
    assert (
        "staging-ap-guangzhou-100000000002" in finding["message"] and "taken" in finding["message"]
    )


def test_tcr_name_already_ours(project):
    answers = clean_answers()
    answers["CheckInstanceName"] = {"IsValidated": False, "DetailCode": 3, "RequestId": "r"}
    answers["DescribeInstances"] = {
        "TotalCount": 1, "RequestId": "r",
        "Registries": [{"RegistryId": "tcr-1", "RegistryName": "staging-ap-guangzhou-100000000002", "RegionName": "ap-guangzhou"}],
    }  # fmt: skip
    document, code = run(project, Account(answers))
    assert code == 0
    (finding,) = findings_of(document, "tencentcloud.names.tcr", "info")
    assert "already exists in this account" in finding["message"]


def test_unreadable_call_is_a_warning_not_a_crash(project):
    document, code = run(project, Account(errors={"DescribeAccountQuota": "UnauthorizedOperation"}))
    assert code == 0
    (finding,) = findings_of(document, "tencentcloud.capacity.cvm-quota", "warning")
    assert "UnauthorizedOperation" in finding["message"]


# -- the NetworkPolicy add-on name (components/catalog/tke.py, UNVERIFIED) ---------------------


def test_network_policy_addon_known_and_installed_passes(project):
    account = Account(existing_cluster_answers())
    document, code = run(project, account, lambda host, port, timeout: None)
    assert code == 0
    (finding,) = findings_of(document, "tencentcloud.versions.network-policy-addon")
    assert finding["severity"] == "pass" and "cls-abcd1234" in finding["message"]
    asked = [r[3] for r in account.requests if r[2] in ("DescribeAddonValues", "DescribeAddon")]
    assert (
        asked == [{"ClusterId": "cls-abcd1234", "AddonName": tke_catalog.NETWORK_POLICY_ADDON}] * 2
    )


def test_network_policy_addon_unknown_to_tke_is_blocking(project):
    account = Account(
        existing_cluster_answers(), errors={"DescribeAddonValues": "ResourceNotFound"}
    )
    document, code = run(project, account, lambda host, port, timeout: None)
    assert code == 1
    (finding,) = findings_of(document, "tencentcloud.versions.network-policy-addon", "error")
    assert f"`{tke_catalog.NETWORK_POLICY_ADDON}`" in finding["message"]
    assert "NETWORK_POLICY_ADDON" in finding["fix"] and finding["key"] == "clusters[1]"


def test_network_policy_addon_asked_on_another_cluster_of_the_region(project):
    """The spec's cluster does not exist yet: any cluster of the account in the region answers
    for the name (DescribeClusters without a name filter); nothing is asked about an install."""
    answers = existing_cluster_answers()
    other = answers["DescribeClusters"]
    other["Clusters"][0].update(ClusterId="cls-other", ClusterName="someone-else")
    answers["DescribeClusters"] = lambda request: (
        {"TotalCount": 0, "Clusters": [], "RequestId": "r"} if request.get("Filters") else other
    )
    account = Account(answers)
    document, code = run(project, account, lambda host, port, timeout: None)
    assert code == 0
    (finding,) = findings_of(document, "tencentcloud.versions.network-policy-addon", "pass")
    assert "cls-other" in finding["message"]
    assert not [r for r in account.requests if r[2] == "DescribeAddon"]
    lookups = [r[3] for r in account.requests if r[2] == "DescribeClusters"]
    assert any(r["Limit"] == 1 and not r["Filters"] for r in lookups)


def test_network_policy_addon_without_default_values_warns(project):
    answers = existing_cluster_answers()
    answers["DescribeAddonValues"]["DefaultValues"] = ""
    document, code = run(project, Account(answers), lambda host, port, timeout: None)
    assert code == 0
    (finding,) = findings_of(document, "tencentcloud.versions.network-policy-addon", "warning")
    assert "no default values" in finding["message"]


def test_network_policy_addon_failed_install_is_blocking(project):
    answers = existing_cluster_answers()
    answers["DescribeAddon"]["Addons"][0].update(Phase="InstallFailed", Reason="image pull")
    document, code = run(project, Account(answers), lambda host, port, timeout: None)
    assert code == 1
    (finding,) = findings_of(document, "tencentcloud.versions.network-policy-addon", "error")
    assert "InstallFailed: image pull" in finding["message"]


def test_network_policy_addon_unreadable_is_a_warning(project):
    account = Account(
        existing_cluster_answers(), errors={"DescribeAddonValues": "UnauthorizedOperation"}
    )
    document, code = run(project, account, lambda host, port, timeout: None)
    assert code == 0
    (finding,) = findings_of(document, "tencentcloud.versions.network-policy-addon", "warning")
    assert "UnauthorizedOperation" in finding["message"]


def test_service_roles_have_one_source():
    """The CAM service roles preflight checks are the ones the bootstrap creates and the
    cluster looks up: components/catalog/tke.py `SERVICE_ROLES`."""
    from tkestack.components.clouds import tencentcloud as tke_cloud
    from tkestack.components.prerequisites import TENCENT_SERVICE_ROLES
    from tkestack.preflight.tencentcloud import SERVICE_ROLES

    assert set(SERVICE_ROLES) == set(TENCENT_SERVICE_ROLES) == {"TKE_QCSRole", "CVM_QcsRole"}
    for name, (required, _purpose) in SERVICE_ROLES.items():
        assert required in TENCENT_SERVICE_ROLES[name][1]
    assert SERVICE_ROLES[tke_cloud.CVM_SERVICE_ROLE][0] == tke_cloud.CVM_KMS_POLICY
    assert tke_cloud.TKE_SERVICE_ROLE in SERVICE_ROLES
