"""Helpers of the registry tests: what an attached cluster's Harbor needs to be reachable (a
hostname, a PEM-shaped TLS bundle, the load balancer's annotations)."""

from __future__ import annotations

import pulumi

HARBOR_HOST = "registry.dc1.example.com"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nbGVhZg==\n-----END CERTIFICATE-----"
INTERMEDIATE = "-----BEGIN CERTIFICATE-----\naW50ZXJtZWRpYXRl\n-----END CERTIFICATE-----"
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----"
POOL = {"metallb.io/address-pool": "dc-internal"}


def harbor_tls_bundle() -> str:
    """A PEM-shaped bundle (not a real certificate or key): leaf, intermediate, key."""
    return f"{CERTIFICATE}\n{INTERMEDIATE}\n{PRIVATE_KEY}\n"


def harbor_exposure() -> dict[str, object]:
    """What an attached cluster's Harbor needs to be reachable by its nodes."""
    return {
        "harbor_hostname": HARBOR_HOST,
        "harbor_tls_bundle": pulumi.Output.secret(harbor_tls_bundle()),
        "harbor_load_balancer_annotations": POOL,
    }
