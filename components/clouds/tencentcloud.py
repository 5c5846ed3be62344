"""TKE on Tencent Cloud: VPC and node subnets over three zones with NAT egress, a managed TKE
cluster (audit and event persistence, log agent, OIDC issuer), KMS encryption of secrets,
deletion protection when asked, the API endpoint through the cluster endpoint resource, and
node pools.

Resource graph of one cluster `<name>` (children of the `Cluster` component, explicit provider
of the region):

    <name>-vpc, <name>-node-routes, <name>-nodes-<zone>, <name>-nat (+ EIP, default route)
    <name>-secrets-key                  KMS key for secrets encryption
    <name>-tke                          the managed cluster
    <name>-secrets-encryption           TKE encryption protection with the KMS key
    <name>-api-public (+ rules)         only for a public endpoint: who may reach the API
    <name>-endpoint                     API endpoint (intranet; internet only when asked)
    <name>-network-policy               the NetworkPolicy add-on (enforces tenant isolation)

Node pools (children of their `NodePool`): `<name>-<pool>-node-pool`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import tencentcloud_iac_pulumi as tencentcloud

from .. import catalog
from ..catalog import tke as tke_catalog
from ..contracts import POOL_LABEL, NodePoolProfile
from . import ClusterAccess, ClusterBackend, PoolRequest, access

CLUSTER_OS = tke_catalog.X86_NODE_IMAGE
"""Default OS of the cluster: TencentOS Server 3.1 (TK4), the image TKE recommends
(https://cloud.tencent.com/document/product/457/68289). Node pools name their own image
(`PoolRequest.node_image`; required on ARM pools, see components/catalog/tke.py)."""

DISK_TYPE = "CLOUD_PREMIUM"
"""Premium cloud disk: sold with every CVM family in the catalog, GPU families included."""

SYSTEM_DISK_GIB = 50
"""System disk size. The launch configuration cannot encrypt a system disk, so everything a
node writes for its pods (images, container layers) goes to the encrypted data disk."""

RUNTIME_MOUNT = "/var/lib/containerd"
"""Where the encrypted data disk is mounted, and the runtime root TKE configures on the node
(`node_config.docker_graph_path`): containerd's images and container layers. The provider
defaults `docker_graph_path` to `/var/lib/docker` (ForceNew), the unencrypted system disk, and
the API documents the field as the runtime's storage root (unset: the built-in default
/var/lib/docker is the storage root): terraform-provider-tencentcloud v1.82.42,
tencentcloud/services/tke/resource_tc_kubernetes_node_pool.go (`node_config.docker_graph_path`)
and vendor/.../tke/v20180525/models.go (`InstanceAdvancedSettings.DockerGraphPath`)."""

SPOT_MAX_PRICE = "1000"
"""Spot bid cap in CNY/hour. Tencent bills spot at the market price; a cap far above any
on-demand price means nodes are only reclaimed for capacity, never outbid (the same behaviour
as AWS spot's default cap at the on-demand price)."""

TKE_SERVICE_ROLE = tke_catalog.TKE_SERVICE_ROLE
"""TKE's service role (components/catalog/tke.py), through which TKE writes audit logs and
events to CLS. The cluster resource turns audit, event persistence and the log agent on after
CreateCluster but before it records the cluster id (terraform-provider-tencentcloud v1.82.42,
tencentcloud/services/tke/resource_tc_kubernetes_cluster.go Create: PostHandleResponse0, then
d.SetId; resource_tc_kubernetes_cluster_extension.go SwitchClusterAudit/SwitchEventPersistence;
the schema notes "Please make sure your TKE CamRole have permission to access CLS service"), so
a failure there leaves a cluster, with deletion protection, that Pulumi never recorded."""

CVM_SERVICE_ROLE = tke_catalog.CVM_SERVICE_ROLE
CVM_KMS_POLICY = tke_catalog.CVM_KMS_POLICY
"""Encrypted CBS data disks need `CVM_QcsRole` with this policy (components/catalog/tke.py)."""

NAT_BANDWIDTH_MBPS = 100
"""Egress bandwidth of the NAT gateway's EIP (pay by traffic)."""


def node_subnets(vpc_cidr: str, zones: Sequence[str]) -> list[tuple[str, str]]:
    """(zone, CIDR) of the node subnets: the VPC's first three quarters, one per zone. Pods
    use the cluster's own pod CIDR (global router), not these addresses."""
    quarters = list(ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=2))
    return [(zone, str(quarters[index])) for index, zone in enumerate(zones[:3])]


def api_url(address: str) -> str:
    """The API server URL of an endpoint address (TKE returns host or host:port)."""
    return address if address.startswith("https://") else f"https://{address}"


def issuer_of(auth_options: Any) -> str | None:
    """The service-account issuer in a TKE cluster's service-account authentication options
    (an entry of `get_cluster_authentication_options`' `service_accounts`; typed or dict)."""
    if auth_options is None:
        return None
    if isinstance(auth_options, Mapping):
        return auth_options.get("issuer")
    return getattr(auth_options, "issuer", None)


def result_field(result: Any, key: str) -> Any:
    """A field of a data source result, whether the SDK hands it over typed or as a dict."""
    return result.get(key) if isinstance(result, Mapping) else getattr(result, key)


def node_os(profile: NodePoolProfile, image: str | None) -> str:
    """Node image of a pool: its own `image`, else TencentOS Server 3.1 on x86. ARM pools
    must name theirs (TKE's ARM image name is unverified; components/catalog/tke.py)."""
    return tke_catalog.node_image(profile.architecture, image)


def tke_taints(profile: NodePoolProfile) -> list[dict[str, str]]:
    """The pool's taints as TKE takes them (Kubernetes effect names)."""
    return [
        {"key": taint.key, "value": taint.value, "effect": taint.effect} for taint in profile.taints
    ]


def charge_settings(profile: NodePoolProfile) -> dict[str, Any]:
    """Billing of a pool's instances: pay-as-you-go, or spot."""
    if profile.spot:
        return {
            "instance_charge_type": "SPOTPAID",
            "spot_instance_type": "one-time",  # the only type TKE supports
            "spot_max_price": SPOT_MAX_PRICE,
        }
    return {"instance_charge_type": "POSTPAID_BY_HOUR"}


def missing_prerequisites(
    tke_roles: Sequence[Any], cvm_roles: Sequence[Any], cvm_policies: Sequence[Any]
) -> list[str]:
    """What the account lacks that the cluster and its encrypted node disks need (empty:
    nothing), from the CAM lookups of the preflight."""
    missing = []
    if not any(result_field(role, "name") == TKE_SERVICE_ROLE for role in tke_roles):
        missing.append(
            f"CAM role {TKE_SERVICE_ROLE} (TKE's service role; audit and events go to CLS"
            " through it)"
        )
    if not any(result_field(role, "name") == CVM_SERVICE_ROLE for role in cvm_roles):
        missing.append(f"CAM role {CVM_SERVICE_ROLE} (with {CVM_KMS_POLICY}: encrypted disks)")
    elif not any(result_field(p, "policy_name") == CVM_KMS_POLICY for p in cvm_policies):
        missing.append(f"policy {CVM_KMS_POLICY} on CAM role {CVM_SERVICE_ROLE} (encrypted disks)")
    return missing


def refuse_missing(cluster: str, missing: Sequence[str]) -> str:
    """Raise when prerequisites are missing (stops `pulumi preview/up` before CreateCluster);
    else the cluster's description, which the cluster takes so that it waits for the check."""
    if missing:
        raise ValueError(
            f"cluster {cluster}: the Tencent Cloud account lacks {'; '.join(missing)}."
            " Create them before the first `pulumi up` (docs/deploying.md, Tencent Cloud)"
        )
    return f"tkestack cluster {cluster}"


class Backend(ClusterBackend):
    """A managed TKE cluster with node pools."""

    cloud = "tencentcloud"

    def create_control_plane(self) -> None:
        """Network, KMS key, cluster and its encryption protection."""
        self.read_managed_basics()
        pod_cidr = self.args.get("pod_cidr")
        existing = self.args.get("existing_cluster")
        if pod_cidr is None and existing is None:
            raise ValueError(f"cluster {self.name}: a TKE cluster needs pod_cidr")
        self.deletion_protection = bool(self.args.get("deletion_protection", False))
        self.exposure = self.args.get("endpoint_exposure", "private")
        self._create_network()
        if existing is not None:
            # An existing TKE cluster is not ours: only the node pools given are created on it.
            self.cluster_id: pulumi.Output[str] = pulumi.Output.from_input(existing)
            return
        self._create_secrets_key()
        self._create_cluster(str(pod_cidr))

    def _create_network(self) -> None:
        if self.adopt_existing_network():
            return
        vpc_cidr = self.args.get("vpc_cidr")
        if vpc_cidr is None:
            raise ValueError(f"cluster {self.name}: a TKE cluster needs vpc_cidr")
        self.vpc = tencentcloud.vpc.Instance(
            f"{self.name}-vpc",
            name=self.cloud_name,
            cidr_block=vpc_cidr,
            is_multicast=False,
            tags=self.tags,
            opts=self.child_options(protect=self.protect),
        )
        routes = tencentcloud.route.Table(
            f"{self.name}-node-routes",
            vpc_id=self.vpc.id,
            name=self.prefixed(f"{self.name}-nodes"),
            tags=self.tags,
            opts=self.child_options(),
        )
        self.subnets = [
            tencentcloud.subnet.Instance(
                f"{self.name}-nodes-{zone}",
                vpc_id=self.vpc.id,
                availability_zone=zone,
                cidr_block=cidr,
                name=self.prefixed(f"{self.name}-nodes-{zone}"),
                route_table_id=routes.id,
                is_multicast=False,
                tags=self.tags,
                opts=self.child_options(),
            )
            for zone, cidr in node_subnets(
                vpc_cidr, catalog.availability_zones("tencentcloud", self.region)
            )
        ]
        # Nodes have no public IPs: image pulls from outside Tencent Cloud leave through NAT.
        eip = tencentcloud.eip.Instance(
            f"{self.name}-nat",
            name=self.prefixed(f"{self.name}-nat"),
            internet_charge_type="TRAFFIC_POSTPAID_BY_HOUR",
            internet_max_bandwidth_out=NAT_BANDWIDTH_MBPS,
            tags=self.tags,
            opts=self.child_options(),
        )
        nat = tencentcloud.nat.Gateway(
            f"{self.name}-nat",
            vpc_id=self.vpc.id,
            name=self.prefixed(f"{self.name}-nat"),
            assigned_eip_sets=[eip.public_ip],
            nat_product_version=2,  # standard NAT: zone-redundant, no bandwidth tiers
            tags=self.tags,
            opts=self.child_options(),
        )
        tencentcloud.route.TableEntry(
            f"{self.name}-default-route",
            route_table_id=routes.id,
            destination_cidr_block="0.0.0.0/0",
            next_type="NAT",
            next_hub=nat.id,
            description="node egress through NAT",
            opts=self.child_options(),
        )
        self.vpc_id = self.vpc.id
        self.node_subnet_ids = [subnet.id for subnet in self.subnets]
        # The deployer's hub (components/clouds/access.py) carries its runners to the VPC.
        self.hub_attachment = access.tencent_hub_attachment(self, tencentcloud)

    def _create_secrets_key(self) -> None:
        self.secrets_key = tencentcloud.kms.Key(
            f"{self.name}-secrets-key",
            alias=f"tkestack-{self.cloud_name}-secrets",
            description=f"Encryption of Kubernetes secrets of TKE cluster {self.cloud_name}",
            key_usage="ENCRYPT_DECRYPT",
            is_enabled=True,
            key_rotation_enabled=True,
            pending_delete_window_in_days=30 if self.protect else 7,
            tags=self.tags,
            opts=self.child_options(protect=self.protect),
        )

    def _create_cluster(self, pod_cidr: str) -> None:
        minor = self.args["kubernetes_version"]
        # Keep CLS log sets and topics when the cluster goes away in protected tiers: audit
        # trails outlive the cluster they describe.
        delete_logs = not self.protect
        self.tke = tencentcloud.kubernetes.Cluster(
            f"{self.name}-tke",
            cluster_name=self.cloud_name,
            # The description waits for the CAM preflight: a missing role stops the run
            # before CreateCluster, not after it (see TKE_SERVICE_ROLE).
            cluster_desc=self._preflight(),
            cluster_version=catalog.kubernetes_full_version("tencentcloud", minor),
            cluster_deploy_type="MANAGED_CLUSTER",
            vpc_id=self.vpc_id,
            network_type="GR",
            cluster_cidr=pod_cidr,
            # Global router: services take `cluster_max_service_num` addresses of the pod CIDR;
            # no separate service CIDR (components/catalog/tke.py, GR_SERVICE_CIDR_REFUSAL).
            cluster_max_service_num=(
                max_services
                if (max_services := self.args.get("max_services")) is not None
                else tke_catalog.DEFAULT_MAX_SERVICES
            ),
            container_runtime="containerd",
            cluster_os=CLUSTER_OS,
            # `cluster_internet`/`cluster_intranet` stay unset: the `<name>-endpoint` resource
            # owns them. Both are Optional+Computed on the cluster, so unset they follow what the
            # endpoint opened; set to false, the cluster's next update would close the endpoint
            # again. terraform-provider-tencentcloud v1.82.42,
            # tencentcloud/services/tke/resource_tc_kubernetes_cluster_endpoint.md ("do not use
            # this resource and tencentcloud_kubernetes_cluster to operate cluster public
            # network/intranet access at the same time") and resource_tc_kubernetes_cluster.go
            # (`cluster_internet`, `cluster_intranet`: Optional, Computed).
            deletion_protection=self.deletion_protection,
            cluster_audit=tencentcloud.kubernetes.ClusterClusterAuditArgs(
                enabled=True, delete_audit_log_and_topic=delete_logs
            ),
            event_persistence=tencentcloud.kubernetes.ClusterEventPersistenceArgs(
                enabled=True, delete_event_log_and_topic=delete_logs
            ),
            log_agent=tencentcloud.kubernetes.ClusterLogAgentArgs(enabled=True),
            # The service-account issuer is set by the auth attachment in `finish`, the one
            # owner of the cluster's authentication options.
            instance_delete_mode="terminate",
            tags=self.tags,
            opts=self.child_options(protect=self.protect),
        )
        self.cluster_id = self.tke.id
        # NetworkPolicy enforcement: without it tenant default-deny policies do nothing. A GR
        # cluster enforces none without the add-on. `tencentcloud_kubernetes_addon`
        # (terraform-provider-tencentcloud v1.82.42 website/docs/r/kubernetes_addon.html.markdown:
        # `addon_name` and `cluster_id` required and ForceNew, `addon_version` optional, TKE
        # installs the latest); the name is UNVERIFIED (components/catalog/tke.py).
        self.network_policy = tencentcloud.kubernetes.Addon(
            f"{self.name}-network-policy",
            cluster_id=self.tke.id,
            addon_name=tke_catalog.NETWORK_POLICY_ADDON,
            opts=self.child_options(),
        )
        tencentcloud.kubernetes.EncryptionProtection(
            f"{self.name}-secrets-encryption",
            cluster_id=self.tke.id,
            kms_configuration=tencentcloud.kubernetes.EncryptionProtectionKmsConfigurationArgs(
                key_id=self.secrets_key.id, kms_region=self.region
            ),
            opts=self.child_options(),
        )

    def _preflight(self) -> pulumi.Output[str]:
        """CAM lookups of the roles the cluster needs (TKE_SERVICE_ROLE, CVM_SERVICE_ROLE with
        CVM_KMS_POLICY); resolves to the cluster's description, or fails the run."""
        options = pulumi.InvokeOutputOptions(
            parent=self.cluster, provider=self.args.get("cloud_provider")
        )
        tke = tencentcloud.cam.get_roles_output(name=TKE_SERVICE_ROLE, opts=options)
        cvm = tencentcloud.cam.get_roles_output(name=CVM_SERVICE_ROLE, opts=options)
        cvm_id = cvm.role_lists.apply(
            lambda roles: next((result_field(r, "role_id") for r in roles or []), "")
        )
        policies = tencentcloud.cam.get_role_policy_attachments_output(
            role_id=cvm_id, opts=options
        ).role_policy_attachment_lists
        name = self.cloud_name
        return pulumi.Output.all(tke.role_lists, cvm.role_lists, policies).apply(
            lambda found: refuse_missing(
                name, missing_prerequisites(found[0] or [], found[1] or [], found[2] or [])
            )
        )

    def create_node_pool(
        self, pool: pulumi.ComponentResource, request: PoolRequest
    ) -> list[pulumi.Resource]:
        """A TKE node pool: instance types, encrypted runtime disk, spot, GPU driver, labels."""
        profile = request.profile
        name = request.resource_name
        types = list(profile.instance_types)
        gpu_args = None
        if profile.is_gpu and request.install_gpu_driver:
            if request.gpu_driver is None:  # `cluster.validate_args` refuses this first
                raise ValueError(f"pool {profile.name}: gpu_driver is required on TKE GPU pools")
            # The driver and CUDA TKE installs are the pool's own choice: which pairs TKE
            # offers depends on the OS image and GPU model (components/catalog/tke.py).
            gpu_args = tencentcloud.kubernetes.NodePoolNodeConfigGpuArgsArgs(
                **tke_catalog.gpu_args(request.gpu_driver), mig_enable=False
            )
        ignore = ["desiredCapacity"] if request.autoscaler_owns_desired_size else []
        node_pool = tencentcloud.kubernetes.NodePool(
            f"{name}-node-pool",
            name=profile.name,
            cluster_id=self.cluster_id,
            vpc_id=self.vpc_id,
            subnet_ids=self.node_subnet_ids,
            multi_zone_subnet_policy="EQUALITY",
            min_size=profile.min_size,
            max_size=profile.max_size,
            desired_capacity=request.desired_size,
            enable_auto_scale=request.autoscaler_owns_desired_size,
            scaling_mode="CLASSIC_SCALING",
            retry_policy="INCREMENTAL_INTERVALS",
            node_os=node_os(profile, request.node_image),
            node_os_type="GENERAL",
            labels=dict(profile.labels),
            taints=[tencentcloud.kubernetes.NodePoolTaintArgs(**t) for t in tke_taints(profile)],
            auto_scaling_config=tencentcloud.kubernetes.NodePoolAutoScalingConfigArgs(
                instance_type=types[0],
                backup_instance_types=types[1:] or None,
                system_disk_type=DISK_TYPE,
                system_disk_size=SYSTEM_DISK_GIB,
                data_disks=[
                    tencentcloud.kubernetes.NodePoolAutoScalingConfigDataDiskArgs(
                        disk_type=DISK_TYPE,
                        disk_size=request.disk_size_gib,
                        encrypt=True,
                        delete_with_instance=True,
                    )
                ],
                public_ip_assigned=False,
                internet_max_bandwidth_out=0,
                enhanced_security_service=True,
                enhanced_monitor_service=True,
                **charge_settings(profile),
            ),
            node_config=tencentcloud.kubernetes.NodePoolNodeConfigArgs(
                data_disks=[
                    tencentcloud.kubernetes.NodePoolNodeConfigDataDiskArgs(
                        disk_type=DISK_TYPE,
                        disk_size=request.disk_size_gib,
                        auto_format_and_mount=True,
                        file_system="ext4",
                        mount_target=RUNTIME_MOUNT,
                    )
                ],
                # The runtime's root on the encrypted data disk: the provider defaults it to
                # /var/lib/docker on the system disk (see RUNTIME_MOUNT).
                docker_graph_path=RUNTIME_MOUNT,
                gpu_args=gpu_args,
            ),
            delete_keep_instance=False,
            deletion_protection=self.deletion_protection,
            tags=self._pool_tags(profile),
            opts=self.child_options(parent=pool, ignore_changes=ignore),
        )
        return [node_pool]

    def _pool_tags(self, profile: NodePoolProfile) -> Mapping[str, str]:
        return {**self.tags, POOL_LABEL: profile.name}

    def finish(self, pools: Sequence[pulumi.Resource]) -> ClusterAccess:
        """The API endpoint (TKE opens it only on a cluster with nodes) and its kubeconfig."""
        if self.args.get("existing_cluster") is not None:
            return self._existing_cluster_access()
        public = self.exposure != "private"
        security_group: pulumi.Output[str] | None = None
        if public:
            group = tencentcloud.security.Group(
                f"{self.name}-api-public",
                name=self.prefixed(f"{self.name}-api-public"),
                description=f"Internet access to the API server of {self.cloud_name}",
                tags=self.tags,
                opts=self.child_options(),
            )
            tencentcloud.security.GroupRuleSet(
                f"{self.name}-api-public",
                security_group_id=group.id,
                ingresses=[
                    tencentcloud.security.GroupRuleSetIngressArgs(
                        action="ACCEPT",
                        cidr_block=cidr,
                        protocol="TCP",
                        port="443",
                        description="Kubernetes API",
                    )
                    for cidr in self.args.get("public_access_cidrs") or []
                ],
                opts=self.child_options(),
            )
            security_group = group.id
        endpoint = tencentcloud.kubernetes.ClusterEndpoint(
            f"{self.name}-endpoint",
            cluster_id=self.tke.id,
            cluster_intranet=True,
            cluster_intranet_subnet_id=self.node_subnet_ids[0],
            cluster_internet=public,
            cluster_internet_security_group=security_group,
            opts=self.child_options(depends_on=list(pools)),
        )
        if public:
            address = endpoint.cluster_external_endpoint
            kubeconfig = endpoint.kube_config
        else:
            address = endpoint.pgw_endpoint
            kubeconfig = endpoint.kube_config_intranet
        # Workload identity: the TKE-managed service-account issuer with public discovery, the
        # CAM OIDC identity provider named after the cluster id (which tenants' CAM roles
        # trust: `oidc-provider/<cluster id>`), and TKE's pod-identity webhook, which hands
        # annotated service accounts their role. The webhook add-on runs on nodes.
        authentication = tencentcloud.kubernetes.AuthAttachment(
            f"{self.name}-service-account-auth",
            cluster_id=self.tke.id,
            use_tke_default=True,
            auto_create_discovery_anonymous_auth=True,
            auto_create_oidc_config=True,
            auto_install_pod_identity_webhook_addon=True,
            opts=self.child_options(depends_on=list(pools)),
        )
        return ClusterAccess(
            endpoint=address.apply(api_url),
            kubeconfig=pulumi.Output.secret(kubeconfig),
            oidc_issuer=authentication.tke_default_issuer,
            cloud_cluster_id=self.tke.id,
            vpc_id=self.vpc_id,
            node_subnet_ids=self.node_subnet_ids,
            # Tenant namespaces and their policies after the add-on that enforces them; the
            # deployer reaches the intranet endpoint only once the VPC is on its CCN.
            ready=[
                endpoint,
                self.network_policy,
                *filter(None, [getattr(self, "hub_attachment", None)]),
            ],
        )

    def _existing_cluster_access(self) -> ClusterAccess:
        """Read an existing TKE cluster (`existing_cluster`): its endpoint and kubeconfig as
        `endpoint_exposure` asks (intranet by default), and its service-account issuer."""
        options = pulumi.InvokeOutputOptions(
            parent=self.cluster, provider=self.args.get("cloud_provider")
        )
        found = tencentcloud.kubernetes.get_clusters_output(
            cluster_id=self.cluster_id, opts=options
        )
        cluster = found.lists.apply(lambda clusters: clusters[0])
        if self.exposure != "private":
            address = cluster.apply(lambda c: result_field(c, "cluster_external_endpoint"))
            kubeconfig = cluster.apply(lambda c: result_field(c, "kube_config"))
        else:
            address = cluster.apply(lambda c: result_field(c, "pgw_endpoint"))
            kubeconfig = cluster.apply(lambda c: result_field(c, "kube_config_intranet"))
        authentication = tencentcloud.kubernetes.get_cluster_authentication_options_output(
            cluster_id=self.cluster_id, opts=options
        )
        return ClusterAccess(
            endpoint=address.apply(api_url),
            kubeconfig=pulumi.Output.secret(kubeconfig),
            oidc_issuer=authentication.service_accounts.apply(
                lambda accounts: issuer_of(accounts[0]) if accounts else None
            ),
            cloud_cluster_id=self.cluster_id,
            vpc_id=self.vpc_id,
            node_subnet_ids=self.node_subnet_ids,
        )
