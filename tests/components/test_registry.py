"""Registry per cloud: ECR, TCR, Harbor; secrets stay secret; prod protects what holds images."""

from __future__ import annotations

import json
import re

import pulumi
import pytest
from platform_clusters import cluster, pool
from registry_support import (
    CERTIFICATE,
    HARBOR_HOST,
    INTERMEDIATE,
    POOL,
    PRIVATE_KEY,
    harbor_exposure,
)

from tkestack import engine
from tkestack.components.registry import Registry
from tkestack.components.registry_namespace import RegistryNamespace, RegistrySettings

PROD = RegistrySettings(keep_last_images=200, untagged_expiry_days=30, protect=True)
TAGS = {"owner": "ml-team", "cost-center": "ml", "managed-by": "tkestack"}


def render(program) -> engine.Rendering:
    return engine.run_program(program)


def one(rendering: engine.Rendering, type_: str) -> engine.RenderedResource:
    (resource,) = rendering.of_type(type_)
    return resource


def test_ecr_registry_with_caches_replication_kms_and_tenant_repositories():
    def program():
        info = cluster()
        registry = Registry(
            "c1-registry",
            {
                "cluster": info,
                "settings": PROD,
                "account_id": "123456789012",
                "replication_regions": ["us-west-2", "us-east-1"],
                "pull_through_caches": ["ecr-public", "k8s", "quay"],
            },
        )
        RegistryNamespace(
            "ml-aws-us-east-1",
            {"cluster": info, "tenant": "ml", "registry": registry.handle, "tags": TAGS},
        )

    rendering = render(program)
    key = one(rendering, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect
    caches = rendering.of_type("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert sorted(c.inputs["upstreamRegistryUrl"] for c in caches) == [
        "public.ecr.aws",
        "quay.io",
        "registry.k8s.io",
    ]
    replication = one(rendering, "aws:ecr/replicationConfiguration:ReplicationConfiguration")
    (rule,) = replication.inputs["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [{"region": "us-west-2", "registryId": "123456789012"}]
    repository = one(rendering, "aws:ecr/repository:Repository")
    assert repository.inputs["name"] == "ml/ml"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    assert repository.inputs["encryptionConfigurations"][0]["kmsKey"].startswith("arn:aws:kms")
    assert repository.protect
    lifecycle = one(rendering, "aws:ecr/lifecyclePolicy:LifecyclePolicy")
    rules = json.loads(lifecycle.inputs["policy"])["rules"]
    assert rules[0]["selection"]["countNumber"] == 30
    assert rules[1]["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 200,
    }
    template = [
        t
        for t in rendering.of_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
        if t.inputs["prefix"] == "ml"
    ]
    assert template[0].inputs["appliedFors"] == ["CREATE_ON_PUSH", "REPLICATION"]
    assert template[0].inputs["resourceTags"] == TAGS  # on the repositories ECR creates
    # Templates cannot scan: one registry-wide rule scans every repository of the region.
    scanning = one(rendering, "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")
    assert scanning.inputs == {
        "scanType": "BASIC",
        "rules": [
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}],
            }
        ],
    }
    for resource in rendering.resources:
        if resource.type.startswith("aws:"):
            assert resource.provider.endswith("::aws-us-east-1-c1"), resource.urn


def test_ecr_creation_templates_name_the_role_ecr_creates_repositories_as():
    # pulumi-aws 7.51.1 ecr.RepositoryCreationTemplate.custom_role_arn: "Required if using
    # repository tags or KMS encryption"; the role's trust and permissions: ECR user guide
    # repository-creation-templates-create-iam.html and repository-creation-templates-custom.html.
    def program():
        info = cluster()
        registry = Registry(
            "c1-registry",
            {
                "cluster": info,
                "settings": PROD,
                "account_id": "123456789012",
                "pull_through_caches": ["k8s"],
                "tags": TAGS,
            },
        )
        RegistryNamespace(
            "ml-aws-us-east-1",
            {"cluster": info, "tenant": "ml", "registry": registry.handle, "tags": TAGS},
        )

    rendering = render(program)
    role = one(rendering, "aws:iam/role:Role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "ecr.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    policy = one(rendering, "aws:iam/rolePolicy:RolePolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert sorted(statements["CreateRepositories"]["Action"]) == [
        "ecr:CreateRepository",
        "ecr:ReplicateImage",
        "ecr:TagResource",
    ]
    key = one(rendering, "aws:kms/key:Key")
    assert statements["EncryptWithTheRegistryKey"]["Resource"] == key.outputs["arn"]
    templates = rendering.of_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    assert sorted(t.inputs["prefix"] for t in templates) == ["ROOT", "ml"]
    for template in templates:
        # Every template that encrypts with KMS or tags names the role, and waits for its policy.
        assert template.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"
        assert template.inputs["customRoleArn"] == role.outputs["arn"], template.name
        assert policy.urn in template.dependencies, template.name


def test_an_ecr_namespace_without_a_creation_role_is_refused():
    from tkestack.components.registry_namespace import RegistryHandle

    def program():
        info = cluster()
        handle = RegistryHandle(
            key="aws/us-east-1",
            cloud="aws",
            settings=RegistrySettings(),
            endpoint=pulumi.Output.from_input("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            provider=info.cloud_provider,
            kms_key_arn=pulumi.Output.from_input("arn:aws:kms:us-east-1:123456789012:key/k"),
        )
        RegistryNamespace("ml-aws", {"cluster": info, "tenant": "ml", "registry": handle})

    with pytest.raises(Exception, match=r"registry\.creation_role_arn"):
        render(program)


def test_second_cluster_of_a_region_reuses_the_registry():
    def program():
        first = cluster("c1")
        registry = Registry(
            "c1-registry",
            {"cluster": first, "settings": RegistrySettings(), "account_id": "123456789012"},
        )
        second = cluster("c2")
        Registry(
            "c2-registry",
            {"cluster": second, "settings": RegistrySettings(), "shared": registry.handle},
        )

    rendering = render(program)
    assert len(rendering.of_type("aws:kms/key:Key")) == 1
    scanning = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
    assert [r.name for r in rendering.of_type(scanning)] == ["c1-registry-scanning"]


def test_no_registry_scanning_configuration_when_scanning_is_off():
    def program():
        Registry(
            "c1-registry",
            {
                "cluster": cluster(),
                "settings": RegistrySettings(scan_on_push=False),
                "account_id": "123456789012",
            },
        )

    scanning = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
    assert render(program).of_type(scanning) == []


def test_docker_hub_cache_without_credentials_is_an_error_naming_the_key():
    def program():
        Registry(
            "c1-registry",
            {
                "cluster": cluster(),
                "settings": RegistrySettings(),
                "account_id": "123456789012",
                "pull_through_caches": ["k8s", "docker-hub"],
            },
        )

    with pytest.raises(ValueError, match=r"pull_through_caches\[1\]: ECR caches docker-hub"):
        render(program)


def test_tcr_instance_namespace_rules_and_vpc_attachment():
    def program():
        info = cluster("t1", "tencentcloud", "ap-guangzhou", pools=[pool("tencentcloud", "g")])
        registry = Registry(
            "t1-registry",
            {
                "cluster": info,
                "settings": PROD,
                "tencent_edition": "premium",
                "replication_regions": ["ap-shanghai"],
                "tcr_instance_name": "acme-t1-gz",
                "vpc_id": "vpc-123",
                "subnet_id": "subnet-456",
            },
        )
        RegistryNamespace(
            "ml-tc",
            {"cluster": info, "tenant": "ml", "registry": registry.handle, "tags": TAGS},
        )

    rendering = render(program)
    instance = one(rendering, "tencentcloud:Tcr/instance:Instance")
    assert instance.inputs["instanceType"] == "premium"
    assert instance.inputs["name"] == "acme-t1-gz"
    assert instance.inputs["replications"] == [{"regionName": "ap-shanghai"}]
    assert instance.inputs["deleteBucket"] is False
    assert instance.protect
    attachment = one(rendering, "tencentcloud:Tcr/vpcAttachment:VpcAttachment")
    assert attachment.inputs["vpcId"] == "vpc-123"
    assert attachment.inputs["instanceId"] == instance.outputs["id"]
    namespace = one(rendering, "tencentcloud:Tcr/namespace:Namespace")
    assert namespace.inputs["name"] == "ml" and namespace.protect
    immutable = one(rendering, "tencentcloud:Tcr/immutableTagRule:ImmutableTagRule")
    assert immutable.inputs["rule"]["tagPattern"] == "**"
    # The Tencent provider has no default tags: the rule carries the environment's own.
    assert immutable.inputs["tags"] == TAGS
    retention = one(rendering, "tencentcloud:Tcr/tagRetentionRule:TagRetentionRule")
    assert retention.inputs["retentionRule"] == {"key": "latestPushedK", "value": 200}


def test_tcr_replication_needs_premium():
    def program():
        info = cluster("t1", "tencentcloud", "ap-guangzhou", pools=[pool("tencentcloud", "g")])
        Registry(
            "t1-registry",
            {
                "cluster": info,
                "settings": RegistrySettings(),
                "replication_regions": ["ap-shanghai"],
                "tcr_instance_name": "acme-t1-gz",
                "vpc_id": "vpc-1",
                "subnet_id": "subnet-1",
            },
        )

    with pytest.raises(ValueError, match="tencent_edition: TCR replicates only on the premium"):
        render(program)


def test_harbor_on_attached_clusters_secret_and_protected():
    def program():
        info = cluster(
            "a1",
            "attached",
            None,
            pools=[pool("attached", "x86"), pool("attached", "arm", "arm")],
        )
        registry = Registry(
            "a1-registry",
            {"cluster": info, "settings": PROD, "harbor_storage_gib": 500, **harbor_exposure()},
        )
        pulumi.export("password", registry.harbor_admin_password)
        pulumi.export("endpoint", registry.endpoint)
        namespace = RegistryNamespace(
            "ml-a1", {"cluster": info, "tenant": "ml", "registry": registry.handle}
        )
        pulumi.export("prefix", namespace.repository_prefix)

    rendering = render(program)
    release = one(rendering, "kubernetes:helm.sh/v3:Release")
    values = release.inputs["values"]
    assert release.inputs["version"] == "1.19.2"
    assert release.protect
    assert values["persistence"]["persistentVolumeClaim"]["registry"]["size"] == "500Gi"
    assert values["persistence"]["resourcePolicy"] == "keep"
    # Harbor images are amd64 only: every component is pinned in a mixed cluster.
    for component in ("core", "registry", "portal", "jobservice", "nginx", "trivy", "exporter"):
        assert values[component]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert values["database"]["internal"]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert "harborAdminPassword" not in values and "secretKey" not in values
    # Every pod of the single on-prem registry has requests (goharbor/harbor-helm v1.19.1
    # values.yaml leaves `resources` commented out for all but trivy).
    for path in (
        "nginx",
        "portal",
        "core",
        "jobservice",
        "registry.registry",
        "registry.controller",
        "exporter",
        "database.internal",
        "redis.internal",
    ):
        node = values
        for part in path.split("."):
            node = node[part]
        assert set(node["resources"]["requests"]) == {"cpu", "memory"}, path
        assert "limits" not in node["resources"], path
    namespace = one(rendering, "kubernetes:core/v1:Namespace")
    assert namespace.protect
    secrets = {
        s.inputs["metadata"]["name"]: s for s in rendering.of_type("kubernetes:core/v1:Secret")
    }
    assert sorted(secrets) == ["harbor-credentials", "harbor-tls"]
    secret = secrets["harbor-credentials"]
    data = secret.inputs["stringData"]
    assert isinstance(data, engine.SecretValue)
    assert sorted(data.value) == ["HARBOR_ADMIN_PASSWORD", "secretKey"]
    assert len(data.value["secretKey"]) == 16
    assert any(dep == secret.urn for dep in release.dependencies)
    assert isinstance(rendering.stack_outputs["password"], engine.SecretValue)
    assert "[secret]" in json.dumps(engine.masked(rendering.stack_outputs))
    # Nodes pull by the company's DNS name, over the company's certificate, through an
    # internal load balancer; tenants' image references start with that name.
    assert values["externalURL"] == f"https://{HARBOR_HOST}"
    assert values["expose"]["type"] == "loadBalancer"
    assert values["expose"]["loadBalancer"]["annotations"] == POOL
    assert values["expose"]["tls"] == {
        "enabled": True,
        "certSource": "secret",
        "secret": {"secretName": "harbor-tls"},
    }
    assert rendering.stack_outputs["endpoint"] == HARBOR_HOST
    assert rendering.stack_outputs["prefix"] == f"{HARBOR_HOST}/ml"
    tls = secrets["harbor-tls"]
    assert tls.inputs["type"] == "kubernetes.io/tls"
    tls_data = tls.inputs["stringData"]
    assert isinstance(tls_data, engine.SecretValue)
    assert tls_data.value == {
        "tls.crt": f"{CERTIFICATE}\n{INTERMEDIATE}\n",
        "tls.key": f"{PRIVATE_KEY}\n",
    }
    assert "BEGIN" not in json.dumps(engine.masked(tls.inputs))
    assert any(dep == tls.urn for dep in release.dependencies)


def test_harbor_tenant_projects_through_the_harbor_api_once_harbor_runs():
    def program():
        info = cluster("a1", "attached", None, pools=[pool("attached", "x86")])
        registry = Registry("a1-registry", {"cluster": info, "settings": PROD, **harbor_exposure()})
        RegistryNamespace("ml-a1", {"cluster": info, "tenant": "ml", "registry": registry.handle})

    rendering = render(program)
    release = one(rendering, "kubernetes:helm.sh/v3:Release")
    provider = one(rendering, "pulumi:providers:harbor")
    assert provider.inputs["url"] == f"https://{HARBOR_HOST}"
    assert provider.inputs["username"] == "admin"
    assert isinstance(provider.inputs["password"], engine.SecretValue)
    # The provider's own default skips certificate verification.
    assert provider.inputs["insecure"] == "false"  # provider config travels as strings
    project = one(rendering, "harbor:index/project:Project")
    assert project.inputs["name"] == "ml"
    assert project.inputs["public"] is False
    assert project.inputs["vulnerabilityScanning"] is True
    assert project.inputs["forceDestroy"] is False
    assert project.protect
    rule = one(rendering, "harbor:index/immutableTagRule:ImmutableTagRule")
    retention = one(rendering, "harbor:index/retentionPolicy:RetentionPolicy")
    assert rule.inputs["repoMatching"] == rule.inputs["tagMatching"] == "**"
    assert retention.inputs["schedule"] == "Daily"
    assert retention.inputs["rules"] == [
        {
            "mostRecentlyPushed": PROD.keep_last_images,
            "repoMatching": "**",
            "tagMatching": "**",
            "untaggedArtifacts": False,
        },
        {
            "nDaysSinceLastPush": PROD.untagged_expiry_days,
            "repoMatching": "**",
            "tagMatching": "**",
            "untaggedArtifacts": True,
        },
    ]
    for resource in (project, rule, retention):
        assert resource.provider == provider.urn
        # Harbor's API answers only once the release is ready (atomic install).
        assert release.urn in resource.dependencies
    assert project.urn in rule.dependencies and project.urn in retention.dependencies


def test_harbor_namespace_without_mutable_tags_has_no_immutable_rule():
    def program():
        info = cluster("a1", "attached", None, pools=[pool("attached", "x86")])
        settings = RegistrySettings(immutable_tags=False)
        registry = Registry(
            "a1-registry", {"cluster": info, "settings": settings, **harbor_exposure()}
        )
        RegistryNamespace("ml-a1", {"cluster": info, "tenant": "ml", "registry": registry.handle})

    rendering = render(program)
    assert not rendering.of_type("harbor:index/immutableTagRule:ImmutableTagRule")
    assert not one(rendering, "harbor:index/project:Project").protect


def test_harbor_without_hostname_certificate_or_pool_is_an_error_naming_each():
    def program():
        info = cluster("a1", "attached", None, pools=[pool("attached", "x86")])
        Registry("a1-registry", {"cluster": info, "settings": RegistrySettings()})

    with pytest.raises(ValueError) as failure:
        render(program)
    message = str(failure.value)
    for key in ("harbor_hostname", "harbor_tls_bundle", "harbor_load_balancer_annotations"):
        assert f"{key}: required" in message


def test_harbor_bundle_without_a_private_key_is_refused():
    def program():
        info = cluster("a1", "attached", None, pools=[pool("attached", "x86")])
        args = {**harbor_exposure(), "harbor_tls_bundle": pulumi.Output.secret(CERTIFICATE)}
        Registry("a1-registry", {"cluster": info, "settings": RegistrySettings(), **args})

    with pytest.raises(Exception, match=r"harbor_tls_bundle: needs exactly one PEM PRIVATE KEY"):
        render(program)


def test_harbor_on_an_arm_only_attached_cluster_fails_with_the_path():
    def program():
        info = cluster("a1", "attached", None, pools=[pool("attached", "arm", "arm")])
        Registry(
            "a1-registry", {"cluster": info, "settings": RegistrySettings(), **harbor_exposure()}
        )

    with pytest.raises(ValueError, match=r"a1-registry: addons\.harbor\.nginx: can run on no"):
        render(program)


# TCR instance names are global DNS names (<name>.tencentcloudcr.com); the provider leaves
# `name` unvalidated (terraform-provider-tencentcloud v1.82.42, resource_tc_tcr_instance.go:
# Required, ForceNew), TCR answers uniqueness with CheckInstanceName (vendor tcr/v20190924
# CheckInstanceNameResponseParams DetailCode 1 illegal, 2 reserved, 3 taken).
@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        (None, "tcr_instance_name: required; TCR names are global DNS names"),
        ("Prod_Registry", "is not a lower-case DNS label"),
        ("-registry", "is not a lower-case DNS label"),
    ],
)
def test_tcr_instance_name_is_required_and_a_dns_label(name: str | None, fragment: str) -> None:
    def program():
        info = cluster("t1", "tencentcloud", "ap-guangzhou", pools=[pool("tencentcloud", "g")])
        args = {"cluster": info, "settings": RegistrySettings()}
        if name is not None:
            args["tcr_instance_name"] = name
        Registry("t1-registry", args)

    with pytest.raises(ValueError, match=re.escape(fragment)):
        render(program)


# -- Harbor's NetworkPolicies (goharbor/harbor-helm v1.19.1 templates) --------------------------


def test_harbor_components_admit_only_their_callers():
    from tkestack.components.registry import harbor_network_policies

    specs = harbor_network_policies()
    assert sorted(specs) == sorted(
        ["deny-ingress", "nginx", "portal", "core", "jobservice", "registry", "trivy", "redis",
         "database"]
    )  # fmt: skip
    assert specs["deny-ingress"]["podSelector"] == {} and specs["deny-ingress"]["ingress"] == []

    def callers(role):
        (rule,) = specs[role]["ingress"]
        return sorted(p["podSelector"]["matchLabels"]["component"] for p in rule["from"])

    def ports(role):
        (rule,) = specs[role]["ingress"]
        return [p["port"] for p in rule["ports"]]

    # nginx sits behind the load balancer: any source, its two ports only
    assert specs["nginx"]["ingress"] == [
        {"ports": [{"port": 8080, "protocol": "TCP"}, {"port": 8443, "protocol": "TCP"}]}
    ]
    assert specs["nginx"]["podSelector"] == {"matchLabels": {"app": "harbor", "component": "nginx"}}
    assert callers("database") == ["core"] and ports("database") == [5432]
    assert callers("redis") == ["core", "jobservice", "registry", "trivy"] and ports("redis") == [
        6379
    ]
    assert callers("registry") == ["core", "jobservice", "trivy"] and ports("registry") == [
        5000,
        8080,
    ]
    assert callers("core") == ["jobservice", "nginx", "trivy"] and ports("core") == [8080]
    assert callers("portal") == ["core", "nginx"] and ports("portal") == [8080]
    assert callers("jobservice") == ["core"] and callers("trivy") == ["core", "jobservice"]
