"""ACME payments: tkestack's components embedded in an enterprise's own stack.

ACME owns its network (VPC and private subnets, routing, NAT), its IAM roles, its naming
convention and its tagging policy; its platform team takes from tkestack only the components:

- a `Cluster` placed in ACME's VPC and subnets (`existing_network`), with ACME's roles
  (`existing_roles`), named `<prefix><name>` and tagged with ACME's tags;
- one more `NodePool` (Graviton) added to that cluster outside its arguments;
- `PlatformServices` (metrics, logs, alerts, Grafana) and a `Tenant` (the payments team's
  namespaces, quotas, network policies and roles) on it.

Nothing else is created: no network, no role, no provider but the one ACME configures.
tests/components/test_embedding.py renders this program under the mock engine and checks it.
"""

import pulumi
import pulumi_aws as aws

from tkestack.components import (
    Cluster,
    NodePool,
    PlatformServices,
    RetentionSettings,
    Tenant,
    TenantQuota,
    with_node_pools,
)

config = pulumi.Config()
aws_config = pulumi.Config("aws")
region = aws_config.require("region")
tags: dict[str, str] = config.require_object("tags")
roles: dict[str, str] = config.require_object("roles")

# ACME's provider: explicit (default providers are disabled), pinned to ACME's account.
provider = aws.Provider(
    "acme-aws", region=region, allowed_account_ids=[config.require("accountId")]
)

cluster = Cluster(
    "payments",
    {
        "cloud": "aws",
        "kubernetes_version": "1.35",
        "region": region,
        "cloud_provider": provider,
        "existing_network": {
            "vpc_id": config.require("vpcId"),
            "node_subnet_ids": config.require_object("privateSubnetIds"),
        },
        "existing_roles": {
            "cluster_role_arn": roles["cluster"],
            "node_role_arn": roles["nodes"],
            "ebs_csi_role_arn": roles["ebsCsi"],
            "autoscaler_role_arn": roles["autoscaler"],
        },
        "deployer_role_arn": roles["deployer"],
        "name_prefix": config.require("namePrefix"),
        "tags": tags,
        "node_pools": [
            {"name": "general", "instance_types": ["m7i.xlarge"], "min_size": 2, "max_size": 6}
        ],
        "protect": True,
        "deletion_protection": True,
    },
)

# A pool added after the cluster, on the same backend, then made known to what runs inside.
graviton = NodePool(
    "payments-graviton",
    {
        "cluster": cluster,
        "name": "graviton",
        "instance_types": ["m7g.xlarge", "m6g.xlarge"],
        "min_size": 0,
        "max_size": 10,
    },
    opts=pulumi.ResourceOptions(parent=cluster),
)
info = with_node_pools(cluster.info, graviton)

platform = PlatformServices(
    "payments-platform",
    {
        "cluster": info,
        "observability": {
            "retention": RetentionSettings(
                metrics_retention_days=30,
                logs_retention_days=30,
                metrics_volume_gib=200,
                logs_volume_gib=200,
            ),
            "central": True,
        },
    },
)

team = Tenant(
    "payments-team",
    {
        "cluster": info,
        "tenant": "payments",
        "namespaces": ["payments", "payments-batch"],
        "quota": TenantQuota(cpu="32", memory="128Gi", pods=300, load_balancers=1),
        "subjects": {
            "admin": ["tkestack:acme-payments-admins"],
            "developer": ["tkestack:acme-payments-developers"],
        },
    },
)

pulumi.export("clusterName", info.cloud_cluster_id)
pulumi.export("endpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("namespaces", team.namespaces)
pulumi.export("addons", platform.addon_keys)
