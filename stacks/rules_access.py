"""Rules about how an environment is reached and what it needs first (issue 14).

- **Deployer reach**: `deployer.cidrs` are real source addresses (no documentation or
  reserved range), public endpoints admit only internet addresses, and every managed
  cluster's API endpoint is reached by a declared path: the deployer's public CIDRs through a
  public endpoint, or its private CIDRs through a hub (`deployer.hub`) into the VPC.
- **Bootstrap**: the roles the environment names are created by the bootstrap project, with a
  trust the spec states, or declared as existing.
- **Account layout**: one account per environment. Per-account singletons (ECR registry
  scanning, replication, pull-through cache rules, creation templates; the IAM roles and CAM
  service roles the bootstrap creates) have fixed names, so two environments in one account
  would fight over them.

Pure data, like `stacks.rules`: no Pulumi import.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..components import catalog
from ..components.validation import as_object, is_array, is_object
from .problems import KeyPath, Problem
from .spec import BootstrapSpec, DeployerSpec, EndpointSpec, IdentitySpec

DOCUMENTATION_RANGES = tuple(
    ipaddress.IPv4Network(cidr) for cidr in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
"""RFC 5737 TEST-NET-1/2/3: reserved for documentation, never routed on the internet (the
IPv6 documentation prefix of RFC 3849 cannot occur: the spec takes IPv4 only)."""

RESERVED_RANGES = tuple(
    ipaddress.IPv4Network(cidr)
    for cidr in (
        "0.0.0.0/8",  # RFC 1122 "this network": never a source on the wire
        "127.0.0.0/8",  # RFC 1122 loopback
        "169.254.0.0/16",  # RFC 3927 link-local: never leaves its link
        "192.0.0.0/24",  # RFC 6890 IETF protocol assignments
        "198.18.0.0/15",  # RFC 2544 benchmarking
        "224.0.0.0/4",  # RFC 5771 multicast: never a TCP source
        "240.0.0.0/4",  # RFC 1112 reserved (and 255.255.255.255 broadcast)
    )
)
"""Ranges no runner can connect from (IANA IPv4 special-purpose registry, RFC 6890)."""

PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(cidr)
    for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
"""RFC 1918 private space and RFC 6598 shared (carrier-grade NAT) space: reachable only over a
private network, never as the source address of an internet connection."""

MANAGED_CLOUDS = ("aws", "tencentcloud")
"""Clouds whose API endpoint this program creates (attached clusters bring their own)."""


def _items(value: Any) -> Iterator[tuple[int, Any]]:
    return enumerate(value) if is_array(value) else iter(())


def _valid(model: type[BaseModel], value: Any) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _within(cidr: ipaddress.IPv4Network, ranges: tuple[ipaddress.IPv4Network, ...]) -> bool:
    return any(cidr.subnet_of(block) for block in ranges)


def is_private(cidr: ipaddress.IPv4Network) -> bool:
    """Whether `cidr` lies in private (RFC 1918) or shared (RFC 6598) address space."""
    return _within(cidr, PRIVATE_RANGES)


def unusable_source(cidr: ipaddress.IPv4Network) -> str | None:
    """Why no runner can have an address in `cidr` (None: it can)."""
    if _within(cidr, DOCUMENTATION_RANGES):
        return f"{cidr} is a documentation range (RFC 5737): no runner egresses from it"
    if _within(cidr, RESERVED_RANGES):
        return f"{cidr} is a reserved range (RFC 6890): no connection comes from it"
    return None


def public_cidrs(deployer: DeployerSpec) -> list[ipaddress.IPv4Network]:
    """The deployer's internet source addresses (for public endpoints' allowlists)."""
    return [cidr for cidr in deployer.cidrs if not is_private(cidr)]


def private_cidrs(deployer: DeployerSpec) -> list[ipaddress.IPv4Network]:
    """The deployer's private source addresses (opened on 443 behind a hub)."""
    return [cidr for cidr in deployer.cidrs if is_private(cidr)]


def hub_path(deployer: DeployerSpec, cloud: str, region: str | None) -> str | None:
    """The hub that carries the deployer's private CIDRs into a cluster's VPC, or None."""
    hub = deployer.hub
    if hub is None or not private_cidrs(deployer):
        return None
    if cloud == "aws" and region is not None and region in hub.aws_transit_gateways:
        return f"transit gateway {hub.aws_transit_gateways[region]}"
    if cloud == "tencentcloud" and hub.tencent_ccn_id is not None:
        return f"CCN {hub.tencent_ccn_id}"
    return None


def api_paths(deployer: DeployerSpec, cloud: str, region: str | None, exposure: str) -> list[str]:
    """How the deployer reaches a managed cluster's API endpoint (empty: it does not)."""
    paths: list[str] = []
    if exposure != "private" and public_cidrs(deployer):
        paths.append("public endpoint from " + ", ".join(map(str, public_cidrs(deployer))))
    hub = hub_path(deployer, cloud, region)
    if hub is not None:
        paths.append(
            f"private endpoint through {hub} from " + ", ".join(map(str, private_cidrs(deployer)))
        )
    return paths


def deployer_problems(env: Mapping[str, Any]) -> list[Problem]:
    """The deployer's CIDRs, the public allowlists and the path to every API endpoint."""
    problems: list[Problem] = []
    raw_deployer = env.get("deployer")
    declared = is_object(raw_deployer)
    for index, raw in _items(raw_deployer.get("cidrs") if declared else None):
        try:
            cidr = ipaddress.IPv4Network(raw)
        except (TypeError, ValueError):
            continue  # pydantic reports the shape
        reason = unusable_source(cidr)
        if reason is not None:
            problems.append(Problem(("deployer", "cidrs", index), reason))
    deployer = _valid(DeployerSpec, raw_deployer if declared else {})
    problems.extend(_overlaps_with_clusters(deployer, env.get("clusters")))
    for index, raw_cluster in _items(env.get("clusters")):
        if not is_object(raw_cluster) or raw_cluster.get("cloud") not in MANAGED_CLOUDS:
            continue
        at: KeyPath = ("clusters", index, "endpoint")
        endpoint = _valid(EndpointSpec, raw_cluster.get("endpoint", {}))
        if endpoint is None:
            continue
        for cidr_index, cidr in enumerate(endpoint.public_access_cidrs):
            reason = unusable_source(cidr)
            if reason is None and is_private(cidr):
                reason = (
                    f"{cidr} is a private range: a public endpoint only ever sees internet"
                    " source addresses (reach private runners through deployer.hub)"
                )
            if reason is not None:
                problems.append(Problem((*at, "public_access_cidrs", cidr_index), reason))
        if deployer is None:
            continue
        region = raw_cluster.get("region")
        if not isinstance(region, str) or region not in catalog.regions(raw_cluster["cloud"]):
            continue  # stacks.rules reports the region; no path can be judged without one
        paths = api_paths(
            deployer,
            raw_cluster["cloud"],
            region,
            endpoint.exposure,
        )
        if paths:
            continue
        message = (
            f"no declared path reaches this {endpoint.exposure} API endpoint: its VPC is created"
            " by the same run, so no runner is inside it. Declare deployer.cidrs (public ones"
            " for a public endpoint; private ones with a deployer.hub"
            f" {'transit gateway for ' + str(region) if raw_cluster['cloud'] == 'aws' else 'CCN'})"
        )
        problems.append(Problem((*at, "exposure"), message))
    return problems


def _overlaps_with_clusters(deployer: DeployerSpec | None, raw_clusters: Any) -> list[Problem]:
    """A deployer CIDR inside a cluster's VPC cannot be routed to the hub from that VPC (the
    VPC's local route wins) and means the runner would be inside a VPC this run creates."""
    problems: list[Problem] = []
    if deployer is None:
        return problems
    for index, cidr in enumerate(deployer.cidrs):
        for _, raw in _items(raw_clusters):
            network = raw.get("network") if is_object(raw) else None
            vpc = network.get("vpc_cidr") if is_object(network) else None
            try:
                vpc_cidr = ipaddress.IPv4Network(vpc) if vpc is not None else None
            except (TypeError, ValueError):
                continue
            if vpc_cidr is not None and cidr.overlaps(vpc_cidr):
                problems.append(
                    Problem(
                        ("deployer", "cidrs", index),
                        f"{cidr} overlaps cluster {raw.get('name')!r}'s vpc_cidr {vpc_cidr}:"
                        " the runners cannot be inside a VPC this run creates",
                    )
                )
    return problems


def bootstrap_problems(env: Mapping[str, Any], *, required: bool = False) -> list[Problem]:
    """Every role the environment names is created with a stated trust or declared existing.

    `required`: the bootstrap program itself runs (its section must then say who is trusted);
    the environment only checks the section when it is written.
    """
    raw = env.get("bootstrap")
    if not is_object(raw) and not required:
        return []
    bootstrap = _valid(BootstrapSpec, as_object(raw))
    identity = _valid(IdentitySpec, env.get("identity") or {})
    if bootstrap is None or identity is None:
        return []
    clouds = {
        cluster["cloud"]
        for _, cluster in _items(env.get("clusters"))
        if is_object(cluster) and isinstance(cluster.get("cloud"), str)
    }
    problems: list[Problem] = []
    for key, trust in (
        ("deployer_trust", bootstrap.deployer_trust),
        ("people_trust", bootstrap.people_trust),
    ):
        if trust is not None and not (
            trust.aws_principal_arns or trust.github_repository or trust.saml_provider_arn
        ):
            problems.append(
                Problem(
                    ("bootstrap", key),
                    "names nobody: set aws_principal_arns, github_repository or saml_provider_arn",
                )
            )
        if trust is not None and trust.github_oidc_provider_arn and not trust.github_repository:
            problems.append(
                Problem(
                    ("bootstrap", key, "github_oidc_provider_arn"),
                    "applies only with github_repository",
                )
            )
    if "aws" not in clouds:
        return problems
    existing = set(bootstrap.existing_roles)
    if identity.deployer_role not in existing and bootstrap.deployer_trust is None:
        problems.append(
            Problem(
                ("bootstrap", "deployer_trust"),
                f"the bootstrap creates the deployer role {identity.deployer_role!r}: say who may"
                " assume it (an SSO role ARN, a GitHub repository, an account), or list it in"
                " bootstrap.existing_roles",
            )
        )
    people = [identity.break_glass_role, *people_roles(env)]
    missing = [role for role in people if role not in existing]
    if missing and bootstrap.people_trust is None:
        problems.append(
            Problem(
                ("bootstrap", "people_trust"),
                f"the bootstrap creates {', '.join(sorted(missing))}: say which identity"
                " provider people federate from (saml_provider_arn) or which principals may"
                " assume them, or list them in bootstrap.existing_roles",
            )
        )
    return problems


def people_roles(env: Mapping[str, Any]) -> list[str]:
    """IAM role names of the tenants' groups (`identity.aws_role_arn_pattern`), sorted; a
    pattern whose role lives outside the environment's account is not ours to create."""
    identity = _valid(IdentitySpec, env.get("identity") or {})
    if identity is None or identity.aws_account_id is None:
        return []
    groups: set[str] = set()
    for _, tenant in _items(env.get("tenants")):
        raw_groups = tenant.get("groups") if is_object(tenant) else None
        if is_object(raw_groups):
            for members in raw_groups.values():
                if is_array(members):
                    groups.update(g for g in members if isinstance(g, str))
    prefix = f"arn:aws:iam::{identity.aws_account_id}:role/"
    roles: list[str] = []
    for group in sorted(groups):
        try:
            arn = identity.aws_role_arn_pattern.format(account=identity.aws_account_id, group=group)
        except (KeyError, IndexError, ValueError):
            return []  # stacks.rules reports the pattern
        if arn.startswith(prefix) and "/" not in arn.removeprefix(prefix):
            roles.append(arn.removeprefix(prefix))
    return roles


def _accounts(env: Mapping[str, Any]) -> dict[str, str]:
    """`{cloud: account}` of the clouds an environment has clusters on."""
    identity = as_object(env.get("identity"))
    clouds = {
        c["cloud"]
        for _, c in _items(env.get("clusters"))
        if is_object(c) and isinstance(c.get("cloud"), str)
    }
    accounts: dict[str, str] = {}
    for cloud, key in (("aws", "aws_account_id"), ("tencentcloud", "tencent_uin")):
        value = identity.get(key) if is_object(identity) else None
        if cloud in clouds and isinstance(value, str | int):
            accounts[cloud] = str(value)
    return accounts


def account_sharing_problems(env: Mapping[str, Any], siblings: Mapping[str, Any]) -> list[Problem]:
    """One account per environment: `siblings` maps the project's other stack files to their
    `tkestack:environment` values; an environment sharing an AWS account or Tencent Cloud root
    account with another is refused (fixed-name singletons: ECR registry settings and rules,
    IAM and CAM roles of the bootstrap)."""
    own = _accounts(env)
    problems: list[Problem] = []
    for file, other in sorted(siblings.items()):
        if not is_object(other) or other.get("name") == env.get("name"):
            continue
        for cloud, account in _accounts(other).items():
            if own.get(cloud) != account:
                continue
            key = "aws_account_id" if cloud == "aws" else "tencent_uin"
            problems.append(
                Problem(
                    ("identity", key),
                    f"account {account} is also environment {other.get('name')!r}'s ({file}):"
                    " tkestack gives every environment its own account, because the account's"
                    " singletons (ECR registry scanning, replication, pull-through cache rules"
                    " and creation templates; the bootstrap's IAM and CAM roles) have fixed"
                    " names (docs/bootstrap.md)",
                )
            )
    return problems
