"""AWS preflight checks against moto (its in-process mock of the AWS APIs): IAM roles, zones
and instance type offerings are set up per test. moto does not implement three calls the
checks make: Service Quotas for `ec2` (it serves only `vpc`), EKS `DescribeAddonVersions`
and ECR's pull-through cache rules and creation templates (moto 5.2: moto/servicequotas/
models.py, moto/eks/responses.py, moto/ecr/responses.py). Those clients get a botocore
`Stubber` with recorded responses, which botocore validates against the service model (the
SDK's own shape). moto's offerings and zone mappings have no API to seed them: tests patch
its data tables (moto/ec2/models/instance_types.py, availability_zones_and_regions.py)."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend, Zone
from moto.ec2.models.instance_types import INSTANCE_TYPE_OFFERINGS
from typer.testing import CliRunner

from tkestack import cli
from tkestack.components import catalog
from tkestack.preflight import aws as aws_checks
from tkestack.preflight import command
from tkestack.preflight.aws import EKS_REFUSED_ZONE_IDS, QUOTAS, quota_class
from tkestack.stacks.loader import SpecError

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "123456789012"  # moto's default account, which the `project` copy of dev names
DEV_ACCOUNT = "210987654321"  # the shipped Pulumi.dev.yaml's identity.aws_account_id
STAGING_ACCOUNT = "321098765432"  # the shipped Pulumi.staging.yaml's
DEV_ROLES = (
    "tkestack-deployer",
    "tkestack-break-glass",
    "tkestack-ml-leads",
    "tkestack-ml-engineers",
    "tkestack-analysts",
    "tkestack-web-leads",
    "tkestack-web-engineers",
)
QUOTA_NAMES = {
    "L-1216C47A": "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
    "L-DB2E81BA": "Running On-Demand G and VT instances",
    "L-34B43A08": "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests",
    "L-3819A6DF": "All G and VT Spot Instance Requests",
}


def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, no profile or config file of the user's."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture(scope="module")
def aws_session():
    """One boto3 session for the module's clients, made under the fake credentials: botocore
    reads each service's model (EC2's is megabytes of JSON) once per session, and moto starts
    every test with a new default session otherwise (its `reset_boto3_session`). It holds no
    AWS state: moto's backends are still reset per test (`aws_env`)."""
    with pytest.MonkeyPatch.context() as patch:
        fake_credentials(patch)
        session = boto3.Session()
        session.client("sts", region_name="us-east-1")  # credentials and config read now
    return session


@pytest.fixture
def aws_env(monkeypatch, aws_session):
    """moto for every AWS call (a fresh account per test), fake credentials, no profile of the
    user's; `boto3.client` answers from the module's session."""
    fake_credentials(monkeypatch)
    # moto builds tens of thousands of default AMIs in each region's EC2 backend on its first
    # use (moto 5.2.6, the constraints.txt pin: moto/ec2/models/amis.py asks
    # moto/settings.py `ec2_load_default_amis`, which reads MOTO_EC2_LOAD_DEFAULT_AMIS); no
    # preflight check reads an image. An older moto without the
    # switch only runs slower.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        boto3.DEFAULT_SESSION = aws_session  # moto set None; its stop() restores the original
        yield


@pytest.fixture
def project(tmp_path):
    """The dev stack alone in a project (no other environment shares its account)."""
    # The shipped dev account is its own (one account per environment); moto answers as
    # ACCOUNT, so the copy names that one.
    dev = (ROOT / "Pulumi.dev.yaml").read_text().replace(f'"{DEV_ACCOUNT}"', f'"{ACCOUNT}"')
    (tmp_path / "Pulumi.dev.yaml").write_text(dev)
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return tmp_path / "Pulumi.dev.yaml"


@functools.cache
def _client(session, service, region):
    return session.client(service, region_name=region)


def shared_client(service, region):
    """The module session's client for `service` in `region`, made once and reused by every
    test, for the clients no Stubber is attached to. A client holds no AWS state (moto's
    backends hold it, reset per test by `aws_env`), only its service model, endpoint and the
    session's fake credentials; building one is the costly part (botocore builds the class
    and a method per operation, EC2 has hundreds: botocore/client.py `_create_methods`).
    Stubbed clients stay fresh per test: a Stubber registers on its client's events."""
    return _client(boto3.DEFAULT_SESSION, service, region)


def create_roles(names=DEV_ROLES):
    iam = shared_client("iam", "us-east-1")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    for name in names:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)


def quota_response(code, value):
    return {
        "Quota": {
            "ServiceCode": "ec2",
            "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
            "QuotaArn": f"arn:aws:servicequotas:us-east-1:{ACCOUNT}:ec2/{code}",
            "QuotaCode": code,
            "QuotaName": QUOTA_NAMES[code],
            "Value": float(value),
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
    }


def addon_response(name, versions, cluster_version):
    return {
        "addons": [
            {
                "addonName": name,
                "type": "networking",
                "addonVersions": [
                    {
                        "addonVersion": version,
                        "architecture": ["amd64", "arm64"],
                        "compatibilities": [
                            {
                                "clusterVersion": cluster_version,
                                "platformVersions": ["*"],
                                "defaultVersion": True,
                            }
                        ],
                    }
                    for version in versions
                ],
            }
        ]
    }


class Account:
    """Client factory: moto clients, with recorded (Stubber) answers for the calls moto
    lacks. `quotas` {code: vCPUs}; `addons` {name: offered versions} (default: the catalog
    pins); `cache_rules` prefixes already taken in ECR."""

    def __init__(self, quotas=None, addons=None, cache_rules=(), sts=None):
        self.quotas = {code: 1000 for code in QUOTA_NAMES} | (quotas or {})
        self.addons = addons
        self.cache_rules = cache_rules
        self.sts = sts
        self.clients = {}
        self.stubbers = []

    def _stub(self, client):
        stubber = Stubber(client)
        self.stubbers.append(stubber)
        return stubber

    def __call__(self, service, region):
        if (service, region) in self.clients:
            return self.clients[(service, region)]
        if service in ("service-quotas", "ecr") or (service == "sts" and self.sts is not None):
            client = boto3.client(service, region_name=region)  # a Stubber attaches below
        else:
            client = shared_client(service, region)
        if service == "service-quotas":
            stubber = self._stub(client)
            for code in sorted(self.quotas):
                stubber.add_response(
                    "get_service_quota",
                    quota_response(code, self.quotas[code]),
                    {"ServiceCode": "ec2", "QuotaCode": code},
                )
            client = _Recorded(client, stubber, "get_service_quota", "QuotaCode")
        elif service == "eks":
            stubbed = boto3.client(service, region_name=region)
            client = _EksRecorded(client, stubbed, self._stub(stubbed), self.addons)
        elif service == "ecr":
            stubber = self._stub(client)
            stubber.add_response(
                "describe_pull_through_cache_rules",
                {
                    "pullThroughCacheRules": [
                        {
                            "ecrRepositoryPrefix": prefix,
                            "upstreamRegistryUrl": "registry.k8s.io",
                            "registryId": ACCOUNT,
                        }
                        for prefix in self.cache_rules
                    ]
                },
            )
            stubber.add_response(
                "describe_repository_creation_templates",
                {"registryId": ACCOUNT, "repositoryCreationTemplates": []},
                {"prefixes": ["ROOT"]},
            )
            stubber.activate()
        elif service == "sts" and self.sts is not None:
            client = self.sts(client, self._stub(client))
        self.clients[(service, region)] = client
        return client


class _Recorded:
    """A stubbed client answering calls in any order: one Stubber response per call,
    queued just before the call from the recorded answers."""

    def __init__(self, client, stubber, operation, key):
        self._client, self._stubber = client, stubber
        self._answers = {}
        for response in list(stubber._queue):  # recorded above, keyed by the quota code
            self._answers[response["expected_params"][key]] = response
        stubber._queue.clear()
        stubber.activate()
        self._operation, self._key = operation, key

    def get_service_quota(self, **params):
        self._stubber._queue.append(self._answers[params[self._key]])
        return self._client.get_service_quota(**params)


class _EksRecorded:
    """EKS: clusters from moto, add-on versions recorded."""

    def __init__(self, moto_client, client, stubber, addons):
        self._moto, self._client, self._stubber, self._addons = moto_client, client, stubber, addons
        stubber.activate()

    def describe_cluster(self, name):
        return self._moto.describe_cluster(name=name)

    def describe_addon_versions(self, addonName, kubernetesVersion):
        pinned = catalog.eks_addon_versions(kubernetesVersion)
        offered = (self._addons or {}).get(addonName, [pinned[addonName]])
        self._stubber.add_response(
            "describe_addon_versions",
            addon_response(addonName, offered, kubernetesVersion),
            {"addonName": addonName, "kubernetesVersion": kubernetesVersion},
        )
        return self._client.describe_addon_versions(
            addonName=addonName, kubernetesVersion=kubernetesVersion
        )


def run(stack_file, account, **options):
    text, code = command.run(stack_file, format="json", aws_clients=lambda: account, **options)
    return json.loads(text), code


def findings_of(document, check, severity=None):
    return [
        item
        for item in document["findings"]
        if item["check"] == check and (severity is None or item["severity"] == severity)
    ]


# -- a clean account --------------------------------------------------------------------------


@pytest.mark.slow
def test_clean_account_passes(aws_env, project):
    create_roles()
    document, code = run(project, Account())
    assert code == 0, [f for f in document["findings"] if f["severity"] != "pass"]
    assert document["summary"]["error"] == 0 and document["summary"]["warning"] == 0
    checks = {item["check"] for item in document["findings"]}
    assert checks == {
        "aws.identity.account",
        "aws.identity.assume-deployer",
        "aws.principals.role-exists",
        "aws.placement.instance-offered",
        "aws.placement.eks-zone",
        "aws.versions.addon",
        "aws.capacity.vcpu-quota",
        "aws.names.ecr-singletons",
    }


def test_cli_preflight_dev_against_moto(aws_env, project, monkeypatch):
    """`tkestack preflight dev`: the real command, its clients from the test account."""
    create_roles(DEV_ROLES[:-1])  # web-engineers' role missing
    account = Account()
    monkeypatch.setattr(aws_checks, "boto3_clients", lambda profile=None: account)
    monkeypatch.chdir(project.parent)
    result = CliRunner().invoke(cli.app, ["preflight", "dev", "--format", "markdown"])
    assert result.exit_code == 1, result.output
    assert "tenants[1].groups.developers[0]" in result.output
    assert "Pulumi.dev.yaml:" in result.output  # located in the stack file
    assert "tkestack-web-engineers does not exist" in result.output


def test_no_credentials_exit_2(project, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(project.parent)
    result = CliRunner().invoke(cli.app, ["preflight", "dev"])
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.output


# -- identity ---------------------------------------------------------------------------------


def test_other_account_is_blocking(aws_env, project):
    text = project.read_text().replace('"123456789012"', '"210987654321"')
    project.write_text(text)
    create_roles()
    document, code = run(project, Account())
    assert code == 1
    (finding,) = findings_of(document, "aws.identity.account", "error")
    assert finding["key"] == "identity.aws_account_id"
    assert "123456789012" in finding["message"] and "210987654321" in finding["message"]
    assert finding["location"].startswith("Pulumi.dev.yaml:")


def test_deployer_role_not_assumable(aws_env, project):
    create_roles()

    def refusing(client, stubber):
        stubber.add_response(
            "get_caller_identity",
            {"UserId": "AIDA", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"},
        )
        stubber.add_client_error("assume_role", "AccessDenied", "not authorized", 403)
        stubber.activate()
        return client

    document, code = run(project, Account(sts=refusing))
    assert code == 1
    (finding,) = findings_of(document, "aws.identity.assume-deployer", "error")
    assert finding["key"] == "identity.deployer_role"
    assert "AccessDenied" in finding["message"]


# -- principals -------------------------------------------------------------------------------


def test_missing_break_glass_role(aws_env, project):
    create_roles([name for name in DEV_ROLES if name != "tkestack-break-glass"])
    document, code = run(project, Account())
    assert code == 1
    (finding,) = findings_of(document, "aws.principals.role-exists", "error")
    assert finding["key"] == "identity.break_glass_role"
    assert len(findings_of(document, "aws.principals.role-exists", "pass")) == len(DEV_ROLES) - 1


# -- capacity ---------------------------------------------------------------------------------


def test_quota_classes():
    assert quota_class("m7i.xlarge", spot=False).code == "L-1216C47A"
    assert quota_class("g4dn.xlarge", spot=False).code == "L-DB2E81BA"
    assert quota_class("m7g.xlarge", spot=True).code == "L-34B43A08"
    assert quota_class("g5g.2xlarge", spot=True).code == "L-3819A6DF"
    assert quota_class("p5.48xlarge", spot=False) is None  # not one of the four read
    assert {q.code for q in QUOTAS} == set(QUOTA_NAMES)


def test_quota_below_min_size_is_blocking(aws_env, project):
    create_roles()
    # dev: general pool m7i.xlarge (4 vCPUs) min 1 on-demand: needs 4
    document, code = run(project, Account(quotas={"L-1216C47A": 2}))
    assert code == 1
    (finding,) = findings_of(document, "aws.capacity.vcpu-quota", "error")
    assert finding["key"] == "clusters[0].node_pools[0]"
    assert finding["details"] == {
        "quota": 2, "min_vcpus": 4, "max_vcpus": 16, "region": "us-east-1"
    }  # fmt: skip


def test_gpu_quota_reported_against_max_size(aws_env, project):
    create_roles()
    # dev: gpu-t4 g4dn.xlarge spot, min 0 max 2: 0 needed, 8 at most; a 0 quota warns
    document, code = run(project, Account(quotas={"L-3819A6DF": 0}))
    assert code == 0
    (finding,) = findings_of(document, "aws.capacity.vcpu-quota", "warning")
    assert finding["key"] == "clusters[0].node_pools[2]"
    assert "spot G and VT" in finding["message"] and "8" in finding["message"]


# -- placement --------------------------------------------------------------------------------


def test_instance_type_not_offered_in_zones(aws_env, project, monkeypatch):
    create_roles()
    offerings = INSTANCE_TYPE_OFFERINGS["availability-zone-id"]
    monkeypatch.setitem(
        offerings,
        "us-east-1",
        [item for item in offerings["us-east-1"] if item["InstanceType"] != "g4dn.xlarge"],
    )
    document, code = run(project, Account())
    assert code == 1
    (finding,) = findings_of(document, "aws.placement.instance-offered", "error")
    assert finding["key"] == "clusters[0].node_pools[2].instance_types[0]"
    assert "g4dn.xlarge" in finding["message"]


def test_instance_type_missing_in_one_zone_warns(aws_env, project, monkeypatch):
    create_roles()
    offerings = INSTANCE_TYPE_OFFERINGS["availability-zone-id"]
    monkeypatch.setitem(
        offerings,
        "us-east-1",
        [
            item
            for item in offerings["us-east-1"]
            if not (item["InstanceType"] == "m6g.xlarge" and item["Location"] == "use1-az6")
        ],
    )
    document, code = run(project, Account())
    assert code == 0
    (finding,) = findings_of(document, "aws.placement.instance-offered", "warning")
    assert finding["key"] == "clusters[0].node_pools[1].instance_types[1]"
    assert finding["details"]["missing"] == ["us-east-1a (use1-az6)"]


def test_zone_eks_refuses(aws_env, project, monkeypatch):
    """An account whose us-east-1a is use1-az3 (AZ names map to IDs per account)."""
    create_roles()
    zones = [
        Zone(region_name="us-east-1", name="us-east-1a", zone_id="use1-az3"),
        Zone(region_name="us-east-1", name="us-east-1b", zone_id="use1-az1"),
        Zone(region_name="us-east-1", name="us-east-1c", zone_id="use1-az2"),
    ]
    monkeypatch.setitem(RegionsAndZonesBackend.zones, "us-east-1", zones)
    document, code = run(project, Account())
    assert code == 1
    (finding,) = findings_of(document, "aws.placement.eks-zone", "error")
    assert finding["key"] == "clusters[0].region"
    assert "us-east-1a (use1-az3)" in finding["message"]


def test_refused_zone_ids_pinned():
    # eksctl-io/eksctl pkg/az/az_test.go (unsupportedZoneEntry table),
    # commit 265e6aa4c802bb4dd4888683559cad45c290fbe6
    assert {"use1-az3", "usw1-az2", "cac1-az3", "cnn1-az4"} == EKS_REFUSED_ZONE_IDS


# -- versions ---------------------------------------------------------------------------------


def test_addon_version_not_offered(aws_env, project):
    create_roles()
    document, code = run(
        project, Account(addons={"coredns": ["v1.13.2-eksbuild.11", "v1.14.1-eksbuild.1"]})
    )
    assert code == 1
    (finding,) = findings_of(document, "aws.versions.addon", "error")
    assert finding["key"] == "clusters[0].kubernetes_version"
    assert "coredns v1.14.3-eksbuild.3" in finding["message"]
    assert "v1.14.1-eksbuild.1" in finding["fix"]


# -- names ------------------------------------------------------------------------------------


def test_ecr_pull_through_prefix_taken(aws_env, project):
    create_roles()
    document, code = run(project, Account(cache_rules=("k8s",)))
    assert code == 1
    (finding,) = findings_of(document, "aws.names.ecr-singletons", "error")
    assert finding["key"] == "registry.pull_through_caches"
    assert finding["details"]["taken"] == ["k8s"]


def test_other_environment_in_same_account_is_refused_before_any_call(aws_env, project):
    """Two environments in one AWS account share the registry's per-account singletons (ECR
    pull-through rules, creation template, scanning and replication configuration): preflight
    loads the stack as the program does, so the one-account-per-environment rule
    (stacks/rules_access.py `account_sharing_problems`) refuses it (exit 2, located), in any
    region, before a call is made."""
    # Written into dev's account on purpose (the shipped files each have their own).
    staging = (ROOT / "Pulumi.staging.yaml").read_text().replace(STAGING_ACCOUNT, ACCOUNT)
    (project.parent / "Pulumi.staging.yaml").write_text(staging)
    account = Account()
    with pytest.raises(SpecError) as refused:
        run(project, account)
    report = refused.value.report()
    assert "identity.aws_account_id" in report and "Pulumi.staging.yaml" in report
    assert account.clients == {}  # no client was made: nothing was asked of the account


# -- reach ------------------------------------------------------------------------------------


def create_cluster(name="dev-use1"):
    ec2 = shared_client("ec2", "us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.10.0.0/24")["Subnet"]["SubnetId"]
    shared_client("eks", "us-east-1").create_cluster(
        name=name,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/cluster",
        resourcesVpcConfig={"subnetIds": [subnet]},
    )


def test_existing_cluster_endpoint_reached(aws_env, project):
    create_roles()
    create_cluster()
    reached = []
    document, code = run(
        project, Account(), connect=lambda host, port, timeout: reached.append((host, port))
    )
    assert code == 0
    (finding,) = findings_of(document, "aws.reach.api-endpoint", "pass")
    assert finding["key"] == "clusters[0].endpoint.exposure"
    assert len(reached) == 1 and reached[0][1] == 443


def test_existing_cluster_endpoint_unreachable(aws_env, project):
    create_roles()
    create_cluster()

    def refuse(host, port, timeout):
        raise TimeoutError("timed out")

    document, code = run(project, Account(), connect=refuse)
    assert code == 1
    (finding,) = findings_of(document, "aws.reach.api-endpoint", "error")
    assert "timed out" in finding["message"]


def test_first_deploy_has_nothing_to_reach(aws_env, project):
    create_roles()
    document, _ = run(project, Account(), connect=lambda *_: pytest.fail("nothing to reach"))
    assert findings_of(document, "aws.reach.api-endpoint") == []
