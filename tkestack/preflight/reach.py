"""Reach: the runner can open a connection to each existing (attached) cluster's API
endpoint. The kubeconfig is a secret the stack holds (`attached.kubeconfig_secret`), which
preflight cannot decrypt without the Pulumi CLI: the user hands it over as a file
(`--kubeconfig CLUSTER=PATH`). Only a TCP connection is opened: no credential is sent."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from .facts import AttachedFacts
from .model import PreflightFinding

Connector = Callable[[str, int, float], None]
"""(host, port, timeout) -> None, raising OSError when the endpoint cannot be reached."""

CHECK = "attached.reach.api-endpoint"
TIMEOUT_SECONDS = 5.0


def tcp_connect(host: str, port: int, timeout: float) -> None:
    """Open and close a TCP connection."""
    with socket.create_connection((host, port), timeout=timeout):
        pass


def api_server(kubeconfig: Mapping, context: str | None) -> str:
    """The API server URL of `context` (default: the current context) in a kubeconfig."""
    name = context or kubeconfig.get("current-context")
    contexts = {item["name"]: item["context"] for item in kubeconfig.get("contexts") or []}
    clusters = {item["name"]: item["cluster"] for item in kubeconfig.get("clusters") or []}
    if name not in contexts:
        raise ValueError(f"no context {name!r} in the kubeconfig")
    cluster = contexts[name].get("cluster")
    if cluster not in clusters or not clusters[cluster].get("server"):
        raise ValueError(f"context {name!r} names cluster {cluster!r}, which has no server")
    return str(clusters[cluster]["server"])


def check_reach(
    attached: list[AttachedFacts],
    kubeconfigs: Mapping[str, Path],
    connect: Connector = tcp_connect,
) -> list[PreflightFinding]:
    """One finding per attached cluster."""
    findings = []
    for cluster in attached:
        key = f"{cluster.key}.attached.kubeconfig_secret"
        path = kubeconfigs.get(cluster.name)
        if path is None:
            findings.append(
                PreflightFinding(
                    CHECK,
                    "info",
                    "attached",
                    key,
                    f"{cluster.name}: API endpoint not checked (its kubeconfig is the stack"
                    f" secret {cluster.kubeconfig_secret!r})",
                    f"pass --kubeconfig {cluster.name}=PATH (e.g. pulumi config get"
                    f" {cluster.kubeconfig_secret} > PATH)",
                )
            )
            continue
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            server = api_server(document or {}, cluster.context)
            parts = urlsplit(server)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except (OSError, ValueError, yaml.YAMLError, AttributeError, TypeError) as error:
            findings.append(
                PreflightFinding(
                    CHECK,
                    "error",
                    "attached",
                    key,
                    f"{cluster.name}: cannot read the API server from {path}: {error}",
                    "pass the kubeconfig the stack holds for this cluster",
                )
            )
            continue
        try:
            connect(host, port, TIMEOUT_SECONDS)
        except OSError as error:
            findings.append(
                PreflightFinding(
                    CHECK,
                    "error",
                    "attached",
                    key,
                    f"{cluster.name}: this runner cannot reach {server}: {error}",
                    "run preflight and `pulumi up` from a runner inside the cluster's network"
                    " (VPN, peering, a self-hosted CI runner)",
                    details={"server": server},
                )
            )
            continue
        findings.append(
            PreflightFinding(CHECK, "pass", "attached", key, f"{cluster.name}: {server} reachable")
        )
    return findings
