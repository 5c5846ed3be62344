"""What forces a replacement (delete + create) per resource type, and what the cloud refuses to
delete: the facts `tkestack review --base` judges a change by.

Every entry is read from the provider's own schema (`ForceNew: true`), at the version the
installed SDK bridges, and names its source. Input keys are the Pulumi SDK's (camelCase; a
Terraform block with `MaxItems: 1` is an object, other blocks are pluralized lists:
`data_disk` -> `dataDisks`). A changed key equal to, under, or above one of these paths counts
as replacing; lists are compared whole, so a ForceNew field *inside* a list of blocks can only
be listed when the whole list is ForceNew.

Sources:
- AWS: hashicorp/terraform-provider-aws (the v6 line pulumi-aws 7.x bridges), files and
  commits named per entry. The commit pulumi-aws 7.51.1 pins (its `upstream` submodule) could
  not be read here (its snapshot is over the fetch limit), so each entry names the stored
  copy it was read from, and an upstream change after that copy would be missed.
- Tencent Cloud: tencentcloudstack/terraform-provider-tencentcloud tag v1.82.42 (bridged by
  tencentcloud-iac-pulumi 0.2.3), files named per entry.
- Harbor: goharbor/terraform-provider-harbor (bridged by pulumiverse-harbor); random:
  hashicorp/terraform-provider-random (bridged by pulumi-random).
- Kubernetes: pulumi/pulumi-kubernetes provider/pkg/provider/diff.go (`forceNew`,
  commit 00302beb), which pulumi-kubernetes 4.x applies to every object, and
  helm_release.go for Helm releases.

tests/tkestack/test_replace_on_change_sources.py checks that every type the shipped stacks
register has an answer here (a table entry, `NO_REPLACE_ON_CHANGE` or `UNREAD`) and that every
path is an input of the installed SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AWS_EKS_CLUSTER = "aws:eks/cluster:Cluster"
AWS_EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TKE_CLUSTER = "tencentcloud:Kubernetes/cluster:Cluster"
TKE_NODE_POOL = "tencentcloud:Kubernetes/nodePool:NodePool"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    # terraform-provider-aws internal/service/eks/cluster.go @00555dc5: name, role_arn,
    # bootstrap_self_managed_addons, access_config.bootstrap_cluster_creator_admin_permissions,
    # kubernetes_network_config.{ip_family,service_ipv4_cidr}, outpost_config.*,
    # remote_network_config are ForceNew. vpc_config.subnet_ids and security_group_ids are
    # NOT (EKS updates them in place through UpdateClusterConfig).
    AWS_EKS_CLUSTER: (
        "name",
        "roleArn",
        "bootstrapSelfManagedAddons",
        "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "kubernetesNetworkConfig.ipFamily",
        "kubernetesNetworkConfig.serviceIpv4Cidr",
        "outpostConfig.controlPlaneInstanceType",
        "outpostConfig.controlPlanePlacement",
        "remoteNetworkConfig",
    ),
    # terraform-provider-aws internal/service/eks/node_group.go @012e0a32: ami_type,
    # capacity_type, cluster_name, disk_size, instance_types, launch_template.{id,name},
    # node_group_name(_prefix), node_role_arn, remote_access, subnet_ids are ForceNew.
    AWS_EKS_NODE_GROUP: (
        "amiType",
        "capacityType",
        "clusterName",
        "diskSize",
        "instanceTypes",
        "launchTemplate.id",
        "launchTemplate.name",
        "nodeGroupName",
        "nodeGroupNamePrefix",
        "nodeRoleArn",
        "remoteAccess",
        "subnetIds",
    ),
    # terraform-provider-aws internal/service/ec2/vpc_.go @00081ce4: cidr_block,
    # ipv4_ipam_pool_id, ipv4_netmask_length are ForceNew.
    "aws:ec2/vpc:Vpc": ("cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    # terraform-provider-aws internal/service/ec2/vpc_subnet.go @00cda125: vpc_id,
    # availability_zone(_id), cidr_block, ipv4/ipv6 IPAM pool and netmask, ipv6_native,
    # outpost_arn are ForceNew.
    "aws:ec2/subnet:Subnet": (
        "vpcId",
        "availabilityZone",
        "availabilityZoneId",
        "cidrBlock",
        "ipv4IpamPoolId",
        "ipv4NetmaskLength",
        "ipv6IpamPoolId",
        "ipv6Native",
        "ipv6NetmaskLength",
        "outpostArn",
    ),
    # terraform-provider-aws internal/service/ec2/vpc_nat_gateway.go @04088eaa:
    # allocation_id, connectivity_type, private_ip, secondary_private_ip_address_count and
    # subnet_id are ForceNew.
    "aws:ec2/natGateway:NatGateway": (
        "allocationId",
        "connectivityType",
        "privateIp",
        "secondaryPrivateIpAddressCount",
        "subnetId",
    ),
    # terraform-provider-aws internal/service/ec2/vpc_route_table_association.go @0be71beb:
    # gateway_id and subnet_id are ForceNew; route_table_id is updated in place
    # (ReplaceRouteTableAssociation).
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("gatewayId", "subnetId"),
    # terraform-provider-aws internal/service/ecr/repository.go @0072eea2: name and
    # encryption_configuration (with its encryption_type and kms_key) are ForceNew.
    "aws:ecr/repository:Repository": ("name", "encryptionConfigurations"),
    # tencentcloud v1.82.42 tencentcloud/services/vpc/resource_tc_vpc.go: cidr_block.
    "tencentcloud:Vpc/instance:Instance": ("cidrBlock",),
    # tencentcloud v1.82.42 tencentcloud/services/vpc/resource_tc_subnet.go: vpc_id,
    # availability_zone, cidr_block, cdc_id.
    "tencentcloud:Subnet/instance:Instance": ("vpcId", "availabilityZone", "cidrBlock", "cdcId"),
    # tencentcloud v1.82.42 tencentcloud/services/tke/resource_tc_kubernetes_cluster.go:
    # the top-level ForceNew fields (master_config/worker_config are blocks of the
    # independent-cluster mode the components never use; listed whole).
    TKE_CLUSTER: (
        "clusterSubnetId",
        "clusterOsType",
        "containerRuntime",
        "clusterDeployType",
        "clusterIpvs",
        "clusterExtraArgs",
        "isDualStack",
        "nodeNameType",
        "networkType",
        "basePodNum",
        "isNonStaticIpMode",
        "dataPlaneV2",
        "vpcId",
        "clusterCidr",
        "ignoreClusterCidrConflict",
        "ignoreServiceCidrConflict",
        "clusterMaxPodNum",
        "clusterMaxServiceNum",
        "serviceCidr",
        "masterConfigs",
        "workerConfigs",
        "labels",
        "unschedulable",
        "mountTarget",
        "globeDesiredPodNum",
        "dockerGraphPath",
        "preStartUserScript",
        "extraArgs",
    ),
    # tencentcloud v1.82.42 tencentcloud/services/tke/resource_tc_kubernetes_node_pool.go:
    # cluster_id, retry_policy, vpc_id, subnet_ids, scaling_mode, auto_update_instance_tags,
    # unschedulable; node_config.{mount_target, docker_graph_path, data_disk, extra_args,
    # is_schedule, desired_pod_num, gpu_args}; auto_scaling_config.{instance_type, password,
    # key_ids, enhanced_monitor_service, cam_role_name, cdc_id}. (auto_scaling_config.
    # data_disk.snapshot_id is ForceNew inside a list that is not: left out, see above.)
    TKE_NODE_POOL: (
        "clusterId",
        "retryPolicy",
        "vpcId",
        "subnetIds",
        "scalingMode",
        "autoUpdateInstanceTags",
        "unschedulable",
        "nodeConfig.mountTarget",
        "nodeConfig.dockerGraphPath",
        "nodeConfig.dataDisks",
        "nodeConfig.extraArgs",
        "nodeConfig.isSchedule",
        "nodeConfig.desiredPodNum",
        "nodeConfig.gpuArgs",
        "autoScalingConfig.instanceType",
        "autoScalingConfig.password",
        "autoScalingConfig.keyIds",
        "autoScalingConfig.enhancedMonitorService",
        "autoScalingConfig.camRoleName",
        "autoScalingConfig.cdcId",
    ),
    # tencentcloud v1.82.42 tencentcloud/services/tcr/resource_tc_tcr_instance.go: name.
    "tencentcloud:Tcr/instance:Instance": ("name",),
    # tencentcloud v1.82.42 tencentcloud/services/tcr/resource_tc_tcr_namespace.go:
    # instance_id, name.
    "tencentcloud:Tcr/namespace:Namespace": ("instanceId", "name"),
    # ---- AWS, re-read for issue 17 (the stored copies of terraform-provider-aws; the exact
    # upstream commit pulumi-aws 7.51.1 bridges could not be read here: pulumi-aws's snapshot
    # is over the fetch limit, so each entry names the stored file's commit, and
    # tests/tkestack/test_replace_on_change.py checks every path against the installed SDK).
    # internal/service/eks/addon.go @00a35305: addon_name, cluster_name.
    "aws:eks/addon:Addon": ("addonName", "clusterName"),
    # internal/service/eks/access_entry.go @01f43111: cluster_name, principal_arn, type.
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn", "type"),
    # internal/service/eks/access_policy_association.go @01f43111: access_scope (MaxItems 1,
    # with namespaces and type), cluster_name, policy_arn, principal_arn; the resource has no
    # Update at all. (access_scope was missing from the carried-over entry.)
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (
        "accessScope",
        "clusterName",
        "policyArn",
        "principalArn",
    ),
    # internal/service/eks/pod_identity_association.go @00a35305 (framework
    # RequiresReplace): cluster_name, namespace, service_account. role_arn updates in place.
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        "clusterName",
        "namespace",
        "serviceAccount",
    ),
    # internal/service/ec2/ec2_launch_template.go @025e4f81: name, name_prefix; every other
    # argument creates a new template version (resourceLaunchTemplateUpdate).
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix"),
    # internal/service/ec2/ec2_eip.go @01606926: address, domain, ipam_pool_id,
    # network_border_group, public_ipv4_pool.
    "aws:ec2/eip:Eip": (
        "address",
        "domain",
        "ipamPoolId",
        "networkBorderGroup",
        "publicIpv4Pool",
    ),
    # internal/service/ec2/vpc_route_table.go @02209241: vpc_id (routes update in place).
    "aws:ec2/routeTable:RouteTable": ("vpcId",),
    # internal/service/ec2/transitgateway_vpc_attachment.go @08923b68: transit_gateway_id,
    # vpc_id (subnet_ids are added and removed in place).
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": ("transitGatewayId", "vpcId"),
    # internal/service/ec2/vpc_security_group_ingress_rule.go @00a32209: security_group_id
    # (RequiresReplace). ModifyPlan also replaces the rule when its source kind changes
    # (cidr_ipv4 -> referenced_security_group_id, ...), a condition on two keys this table
    # cannot state: such a change shows as an update.
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    # internal/service/kms/key.go @00a35305: custom_key_store_id, customer_master_key_spec,
    # key_usage, multi_region, xks_key_id. (xks_key_id was missing.)
    "aws:kms/key:Key": (
        "customKeyStoreId",
        "customerMasterKeySpec",
        "keyUsage",
        "multiRegion",
        "xksKeyId",
    ),
    # internal/service/kms/alias.go @01c08000: name, name_prefix (target_key_id updates).
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    # internal/service/iam/role.go (stored v6-line copy, `@IdentityAttribute("name")`):
    # name, name_prefix, path.
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    # internal/service/iam/role_policy.go @02f97af8: name, name_prefix, role.
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    # internal/service/iam/role_policy_attachment.go @04c79849: policy_arn, role (no Update).
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn", "role"),
    # internal/service/iam/openid_connect_provider.go @01606926: url.
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    # internal/service/logs/group.go @0073593e: log_group_class, name, name_prefix.
    # (log_group_class was missing.)
    "aws:cloudwatch/logGroup:LogGroup": ("logGroupClass", "name", "namePrefix"),
    # internal/service/ecr/lifecycle_policy.go @00a35305: policy, repository; no Update.
    # (policy was missing: a changed lifecycle policy replaces the resource.)
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("policy", "repository"),
    # internal/service/ecr/pull_through_cache_rule.go @0509e60e: ecr_repository_prefix,
    # upstream_registry_url, upstream_repository_prefix.
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": (
        "ecrRepositoryPrefix",
        "upstreamRegistryUrl",
        "upstreamRepositoryPrefix",
    ),
    # internal/service/ecr/repository_creation_template.go @083b5c7a: prefix.
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": ("prefix",),
    # ---- Tencent Cloud v1.82.42, re-read for issue 17 (tencentcloud/services/...).
    # cam/resource_tc_cam_role.go: name.
    "tencentcloud:Cam/role:Role": ("name",),
    # cam/resource_tc_cam_policy.go: name.
    "tencentcloud:Cam/policy:Policy": ("name",),
    # cam/resource_tc_cam_role_policy_attachment.go: role_id, policy_id.
    "tencentcloud:Cam/rolePolicyAttachment:RolePolicyAttachment": ("policyId", "roleId"),
    # ccn/resource_tc_ccn_attachment_v2.go: ccn_id, ccn_uin, instance_id, instance_region,
    # instance_type, route_table_id.
    "tencentcloud:Ccn/attachmentV2:AttachmentV2": (
        "ccnId",
        "ccnUin",
        "instanceId",
        "instanceRegion",
        "instanceType",
        "routeTableId",
    ),
    # cvm/resource_tc_eip.go: type, anycast_zone, internet_service_provider.
    "tencentcloud:Eip/instance:Instance": ("anycastZone", "internetServiceProvider", "type"),
    # kms/resource_tc_kms_key.go: key_usage (the shared TencentKmsBasicInfo fields update).
    "tencentcloud:Kms/key:Key": ("keyUsage",),
    # tke/resource_tc_kubernetes_addon.go: cluster_id, addon_name.
    "tencentcloud:Kubernetes/addon:Addon": ("addonName", "clusterId"),
    # tke/resource_tc_kubernetes_cluster_endpoint.go: cluster_id, extensive_parameters.
    "tencentcloud:Kubernetes/clusterEndpoint:ClusterEndpoint": (
        "clusterId",
        "extensiveParameters",
    ),
    # tke/resource_tc_kubernetes_encryption_protection.go: cluster_id, kms_configuration
    # (MaxItems 1).
    "tencentcloud:Kubernetes/encryptionProtection:EncryptionProtection": (
        "clusterId",
        "kmsConfiguration",
    ),
    # vpc/resource_tc_nat_gateway.go: vpc_id, subnet_id, nat_product_version,
    # stock_public_ip_addresses_bandwidth_out.
    "tencentcloud:Nat/gateway:Gateway": (
        "natProductVersion",
        "stockPublicIpAddressesBandwidthOut",
        "subnetId",
        "vpcId",
    ),
    # vpc/resource_tc_route_table.go: vpc_id.
    "tencentcloud:Route/table:Table": ("vpcId",),
    # vpc/resource_tc_route_table_entry.go: route_table_id, destination_cidr_block,
    # next_type, next_hub, description.
    "tencentcloud:Route/tableEntry:TableEntry": (
        "description",
        "destinationCidrBlock",
        "nextHub",
        "nextType",
        "routeTableId",
    ),
    # tcr/resource_tc_tcr_tag_retention_rule.go: cron_setting.
    "tencentcloud:Tcr/tagRetentionRule:TagRetentionRule": ("cronSetting",),
    # tcr/resource_tc_tcr_vpc_attachment.go: instance_id, vpc_id, subnet_id.
    "tencentcloud:Tcr/vpcAttachment:VpcAttachment": ("instanceId", "subnetId", "vpcId"),
    # ---- goharbor/terraform-provider-harbor (bridged by pulumiverse-harbor 3.10.21; stored
    # copies, the bridged tag not confirmed), provider/...
    # resource_project.go @02419713: name.
    "harbor:index/project:Project": ("name",),
    # resource_retention_policy.go @13bfd378: scope.
    "harbor:index/retentionPolicy:RetentionPolicy": ("scope",),
    # resource_immutable_tag_rule.go @1751c457: project_id.
    "harbor:index/immutableTagRule:ImmutableTagRule": ("projectId",),
    # ---- hashicorp/terraform-provider-random internal/provider/resource_password.go
    # @0117aa60 (passwordSchemaV3, RequiresReplace on every argument; keepers only when a
    # value is not null, override_special unless "" -> null).
    "random:index/randomPassword:RandomPassword": (
        "keepers",
        "length",
        "lower",
        "minLower",
        "minNumeric",
        "minSpecial",
        "minUpper",
        "number",
        "numeric",
        "overrideSpecial",
        "special",
        "upper",
    ),
    # ---- pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go (v4 line, stored
    # copy) Diff: `forceNewFields := []string{".name", ".namespace"}`.
    HELM_RELEASE: ("name", "namespace"),
}

NO_REPLACE_ON_CHANGE: dict[str, str] = {
    "aws:ec2/internetGateway:InternetGateway": (
        "internal/service/ec2/vpc_internet_gateway.go @08923b68: no ForceNew (vpc_id is"
        " detached and attached in place)"
    ),
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": (
        "internal/service/ecr/registry_scanning_configuration.go @004b82ba: no ForceNew"
    ),
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": (
        "internal/service/ecr/replication_configuration.go @00a35305: no ForceNew"
    ),
    "tencentcloud:Kubernetes/authAttachment:AuthAttachment": (
        "v1.82.42 tke/resource_tc_kubernetes_auth_attachment.go: no ForceNew; cluster_id is"
        " an immutableArgs entry (the update is refused, not replaced)"
    ),
    "tencentcloud:Tcr/serviceAccount:ServiceAccount": (
        "v1.82.42 tcr/resource_tc_tcr_service_account.go: no ForceNew; registry_id and name"
        " are immutableArgs (the update is refused, not replaced)"
    ),
    "tencentcloud:Tcr/immutableTagRule:ImmutableTagRule": (
        "v1.82.42 tcr/resource_tc_tcr_immutable_tag_rule.go: no ForceNew"
    ),
}
"""Types whose provider schema was read and has no replace-on-change input: a change is an
update. Kept apart from types nobody has read (`UNREAD`), so a test can require every type the
program registers to be in one of the tables."""

UNREAD: dict[str, str] = {
    "pulumi:providers:aws": "provider configuration: pulumi-terraform-bridge DiffConfig not read",
    "pulumi:providers:tencentcloud": (
        "provider configuration: pulumi-terraform-bridge DiffConfig not read"
    ),
    "pulumi:providers:random": "provider configuration: not read",
    "pulumi:providers:harbor": "provider configuration: not read",
}
"""Types the program registers whose replace-on-change facts nobody has read from source
(UNVERIFIED): a change shows as an update, and docs/review.md lists them."""

_LABEL_SELECTOR = (
    "spec.selector",
    "spec.selector.matchExpressions",
    "spec.selector.matchLabels",
)
KUBERNETES_REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    # pulumi/pulumi-kubernetes provider/pkg/provider/diff.go @00302beb `forceNew`. Upstream
    # spells the apps/v1 kind "Daemonset", so a DaemonSet's selector does NOT force a
    # replacement there; mirrored faithfully (no DaemonSet entry).
    "kubernetes:apps/v1:Deployment": _LABEL_SELECTOR,
    "kubernetes:apps/v1:StatefulSet": (
        "spec.podManagementPolicy",
        "spec.revisionHistoryLimit",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
        *_LABEL_SELECTOR,
    ),
    "kubernetes:core/v1:ConfigMap": ("binaryData", "data"),
    "kubernetes:core/v1:Secret": ("type", "stringData", "data"),
    "kubernetes:core/v1:Service": ("spec.clusterIP",),
    "kubernetes:core/v1:PersistentVolumeClaim": ("spec",),
    "kubernetes:core/v1:ResourceQuota": ("spec.scopes",),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("roleRef",),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("roleRef",),
    "kubernetes:storage.k8s.io/v1:StorageClass": ("parameters", "provisioner"),
    "kubernetes:batch/v1:Job": (
        "spec.completions",
        "spec.parallelism",
        "spec.template",
        *_LABEL_SELECTOR,
    ),
}
KUBERNETES_METADATA_REPLACE_ON_CHANGE = ("metadata.name", "metadata.namespace")
"""diff.go `metadataForceNewProperties`: every object is replaced when its name or namespace
changes."""

KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
PROVIDER_REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    # pulumi/pulumi-kubernetes provider/pkg/provider/testdata/diffconfig: change-kubeconfig
    # (@1c58db38) and computed-kubeconfig (@6eb76d88) replace the provider on a changed or
    # unknown kubeconfig; computed-kubeconfig-with-identifier does not (clusterIdentifier
    # set), see `forces_replacement`.
    KUBERNETES_PROVIDER: ("kubeconfig",),
}
"""Provider resources replaced when these inputs change. A replaced provider replaces every
resource it manages: pulumi/pulumi pkg/resource/deploy/step_generator.go, "If the
resource's provider reference changed, the resource must be replaced"."""

DELETION_PROTECTION: dict[str, str] = {
    # tencentcloud v1.82.42 tencentcloud/services/tke/
    # resource_tc_kubernetes_node_pool_extension.go (delete): with deletion_protection set
    # the provider refuses: "deletion protection was enabled, please set
    # `deletion_protection` to `false` and apply first".
    TKE_NODE_POOL: "deletionProtection",
    # tencentcloud v1.82.42 resource_tc_kubernetes_cluster.go: deletion_protection is sent as
    # ClusterAdvancedSettings.DeletionProtection ("Indicates whether cluster deletion
    # protection is enabled"); TKE's DeleteCluster then refuses the cluster.
    TKE_CLUSTER: "deletionProtection",
}
"""Per type, the input that makes the provider or the cloud refuse a delete (and so the
delete half of a replacement): a change that deletes such a resource half-applies."""


def table_for(type_: str) -> tuple[str, ...]:
    """The replace-on-change paths of `type_` (empty for a type without any)."""
    table = REPLACE_ON_CHANGE.get(type_) or PROVIDER_REPLACE_ON_CHANGE.get(type_, ())
    if type_.startswith("kubernetes:") and not type_.startswith("kubernetes:helm.sh"):
        table = (
            *table,
            *KUBERNETES_METADATA_REPLACE_ON_CHANGE,
            *KUBERNETES_REPLACE_ON_CHANGE.get(type_, ()),
        )
    return table


def forces_replacement(
    type_: str,
    key: str,
    extra: tuple[str, ...] = (),
    inputs: Mapping[str, Any] | None = None,
) -> bool:
    """Whether a change at dotted input path `key` replaces a resource of `type_` (`extra`:
    the resource's own `replaceOnChanges` option; `inputs`: its new inputs)."""
    if type_ == KUBERNETES_PROVIDER and (inputs or {}).get("clusterIdentifier"):
        return False  # a stable cluster identity: the provider is updated, not replaced
    for replace in (*table_for(type_), *extra):
        if (
            replace == "*"
            or key == replace
            or key.startswith(replace + ".")
            or replace.startswith(key + ".")
        ):
            return True
    return False
