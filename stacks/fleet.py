"""Composition of one stack of a `topology: per-cluster` environment.

The shared stack `<env>` registers nothing of a cluster: it exports the environment and the
deployer's references (what the bootstrap project made). A cluster stack `<env>.<cluster>`
registers exactly what the single-stack composition registers for that cluster (its
`Cluster`, identity, platform services, tenants and the registry namespaces it holds), with
the same names and inputs, so `pulumi state move` can carry an existing single stack over
without replacing anything (`tkestack/fleet.py`). What the single composition hands from one
cluster to another is read from that cluster's stack through a `pulumi.StackReference`
(`stacks/topology.py` lists those reads) and exported here under `fleet_*` outputs: each a
top-level output of its own, because a stack reference marks a whole top-level output secret
when any part of it is.
"""

from __future__ import annotations

from typing import Any

import pulumi

from ..components.cluster import Cluster
from ..components.observability import PushCredential
from ..components.registry_namespace import RegistryHandle
from .clusters import SecretConfig, cluster_args, cluster_outputs, deployer_outputs
from .platform import ImportedPlatform, build_platform, platform_outputs, registry_settings
from .providers import CloudProviders
from .spec import EnvironmentSpec
from .tenancy import ImportedNamespace, build_tenants
from .topology import (
    StackPart,
    dependencies,
    has_receivers,
    namespace_holders,
    registry_key,
    registry_owners,
)

PUSH_CREDENTIAL = "fleet_push_credential"
"""Output: the cluster's push credential `{cluster, password_hash}` (secret)."""
REGISTRY = "fleet_registry"
"""Output: the registry this cluster created, as others sharing it need it (plain ids)."""
NAMESPACE_PREFIXES = "fleet_namespace_prefixes"
"""Output: `{tenant: {registry key: repository prefix}}` of the namespaces created here."""
NAMESPACE_PULL_SECRETS = "fleet_namespace_pull_secrets"
"""Output: `{tenant: {registry key: pull secret}}` (secret)."""


def compose_part(
    env: EnvironmentSpec, secret_config: SecretConfig, part: StackPart
) -> dict[str, Any]:
    """Register the resources of `part`; returns its stack outputs."""
    shared_outputs: dict[str, Any] = {
        "environment": {"name": env.name, "tier": env.tier},
        "deployer": deployer_outputs(env),
    }
    if part.cluster is None:
        return shared_outputs
    spec = env.cluster(part.cluster)
    references = {
        name: pulumi.StackReference(
            f"{pulumi.get_organization()}/{pulumi.get_project()}/{env.name}.{name}"
        )
        for name in dependencies(env)[spec.name]
    }
    providers = CloudProviders(env)
    cluster = Cluster(spec.name, cluster_args(env, spec, providers, secret_config))
    clusters = {spec.name: cluster.info}
    imported = _imported_platform(env, spec.name, references, providers)
    platform = build_platform(env, clusters, secret_config=secret_config, imported=imported)
    namespaces = _imported_namespaces(env, spec.name, references)
    created: dict[tuple[str, str], Any] = {}
    tenancy = build_tenants(env, clusters, platform, namespaces, created)
    outputs = {
        **shared_outputs,
        "clusters": cluster_outputs(clusters),
        "platform": platform_outputs(platform),
        "identity": tenancy["identity"],
        "tenants": tenancy["tenants"],
    }
    services = platform[spec.name]
    observability = services.observability
    if observability is not None and observability.push_credential is not None:
        credential = observability.push_credential
        outputs[PUSH_CREDENTIAL] = pulumi.Output.secret(
            {"cluster": credential.cluster, "password_hash": credential.password_hash}
        )
    if services.registry is not None and registry_owners(env).get(registry_key(spec)) == spec.name:
        handle = services.registry.handle
        outputs[REGISTRY] = {
            "endpoint": handle.endpoint,
            "kms_key_arn": handle.kms_key_arn,
            "creation_role_arn": handle.creation_role_arn,
            "tcr_instance_id": handle.tcr_instance_id,
        }
    prefixes: dict[str, dict[str, Any]] = {}
    pull_secrets: dict[str, dict[str, Any]] = {}
    for (tenant, key), namespace in sorted(created.items()):
        prefixes.setdefault(tenant, {})[key] = namespace.repository_prefix
        pull_secrets.setdefault(tenant, {})[key] = namespace.pull_secret
    if prefixes:
        outputs[NAMESPACE_PREFIXES] = prefixes
        outputs[NAMESPACE_PULL_SECRETS] = pulumi.Output.secret(pull_secrets)
    return outputs


def _imported_platform(
    env: EnvironmentSpec,
    name: str,
    references: dict[str, pulumi.StackReference],
    providers: CloudProviders,
) -> ImportedPlatform:
    peers: list[PushCredential] = []
    central = env.observability.central_cluster or env.clusters[0].name
    if name == central and has_receivers(env):
        for peer in sorted(references):
            credential = references[peer].get_output(PUSH_CREDENTIAL)
            # Peers without observability push nothing: their output is absent.
            if env.observability.enabled:
                peers.append(
                    PushCredential(
                        cluster=peer,
                        password_hash=pulumi.Output.secret(
                            credential.apply(lambda value: value["password_hash"])
                        ),
                    )
                )
    registries: dict[tuple[str, str], RegistryHandle] = {}
    spec = env.cluster(name)
    owner = registry_owners(env).get(registry_key(spec))
    if owner is not None and owner != name and spec.region is not None:
        registry = references[owner].get_output(REGISTRY)
        cloud = spec.cloud
        if cloud == "aws":
            registries[(cloud, spec.region)] = RegistryHandle(
                key=registry_key(spec),
                cloud="aws",
                settings=registry_settings(env),
                endpoint=registry.apply(lambda value: value["endpoint"]),
                provider=providers.for_region(cloud, spec.region),
                kms_key_arn=registry.apply(lambda value: value["kms_key_arn"]),
                creation_role_arn=registry.apply(lambda value: value["creation_role_arn"]),
            )
        elif cloud == "tencentcloud":
            registries[(cloud, spec.region)] = RegistryHandle(
                key=registry_key(spec),
                cloud="tencentcloud",
                settings=registry_settings(env),
                endpoint=registry.apply(lambda value: value["endpoint"]),
                provider=providers.for_region(cloud, spec.region),
                tcr_instance_id=registry.apply(lambda value: value["tcr_instance_id"]),
            )
    return ImportedPlatform(peers=peers, registries=registries)


def _imported_namespaces(
    env: EnvironmentSpec, name: str, references: dict[str, pulumi.StackReference]
) -> dict[tuple[str, str], ImportedNamespace]:
    imported: dict[tuple[str, str], ImportedNamespace] = {}
    for (tenant, key), holder in namespace_holders(env).items():
        placed_here = any(
            name in spec.clusters and registry_key(env.cluster(name)) == key
            for spec in env.tenants
            if spec.name == tenant
        )
        if holder == name or not placed_here:
            continue
        prefixes = references[holder].get_output(NAMESPACE_PREFIXES)
        pull_secrets = references[holder].get_output(NAMESPACE_PULL_SECRETS)
        imported[(tenant, key)] = ImportedNamespace(
            repository_prefix=prefixes.apply(lambda value, t=tenant, k=key: value[t][k]),
            pull_secret=pull_secrets.apply(lambda value, t=tenant, k=key: value[t][k]),
        )
    return imported
