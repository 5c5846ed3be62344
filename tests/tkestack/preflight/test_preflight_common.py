"""Preflight pieces that need no cloud: reach of attached clusters, the reports, locating
findings in the spec files, cross-environment names, options."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tkestack import cli
from tkestack.preflight import command, report
from tkestack.preflight.facts import AttachedFacts
from tkestack.preflight.model import PreflightFinding, PreflightUsageError, exit_code, sort_findings
from tkestack.preflight.reach import api_server, check_reach
from tkestack.preflight.runner import key_path, load_stack, locate, run_preflight

ROOT = Path(__file__).resolve().parents[3]
ONPREM = AttachedFacts("prod-onprem", "clusters[3]", "onprem-kubeconfig", None)


def kubeconfig(tmp_path, server, context="admin"):
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": "onprem", "cluster": {"server": server}}],
        "contexts": [{"name": context, "context": {"cluster": "onprem", "user": "admin"}}],
        "users": [{"name": "admin", "user": {"token": "not-sent"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return path


# -- reach ------------------------------------------------------------------------------------


def test_reach_passes_for_a_listening_endpoint(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
    accepted.start()
    try:
        path = kubeconfig(tmp_path, f"https://127.0.0.1:{port}")
        (finding,) = check_reach([ONPREM], {"prod-onprem": path})
    finally:
        accepted.join(timeout=5)
        server.close()
    assert finding.severity == "pass", finding
    assert finding.key == "clusters[3].attached.kubeconfig_secret"


def test_reach_fails_for_an_unreachable_endpoint(tmp_path):
    def refuse(host, port, timeout):
        raise ConnectionRefusedError(111, "Connection refused")

    path = kubeconfig(tmp_path, "https://10.64.0.1:6443")
    (finding,) = check_reach([ONPREM], {"prod-onprem": path}, connect=refuse)
    assert finding.severity == "error"
    assert "https://10.64.0.1:6443" in finding.message and "refused" in finding.message


def test_reach_without_kubeconfig_says_how():
    (finding,) = check_reach([ONPREM], {})
    assert finding.severity == "info"
    assert "--kubeconfig prod-onprem=PATH" in finding.fix


def test_reach_unknown_context_is_an_error(tmp_path):
    path = kubeconfig(tmp_path, "https://10.64.0.1:6443")
    other = AttachedFacts("prod-onprem", "clusters[3]", "onprem-kubeconfig", "missing")
    (finding,) = check_reach([other], {"prod-onprem": path})
    assert finding.severity == "error" and "no context 'missing'" in finding.message


def test_api_server_of_current_context():
    document = yaml.safe_load(
        """
        current-context: b
        clusters: [{name: x, cluster: {server: "https://a:1"}}, {name: y, cluster: {server: "https://b:2"}}]
        contexts: [{name: a, context: {cluster: x}}, {name: b, context: {cluster: y}}]
        """
    )
    assert api_server(document, None) == "https://b:2"
    assert api_server(document, "a") == "https://a:1"


# -- model and reports ------------------------------------------------------------------------

FINDINGS = [
    PreflightFinding("b.check", "pass", "aws", "identity.aws_account_id", "fine"),
    PreflightFinding("a.check", "warning", "aws", "clusters[0]", "so-so", "look | here"),
    PreflightFinding("c.check", "error", "aws", "clusters[0].region", "bad", "fix it"),
]


def test_sort_and_exit_code():
    assert [f.severity for f in sort_findings(FINDINGS)] == ["error", "warning", "pass"]
    assert exit_code(FINDINGS) == 1
    assert exit_code(FINDINGS[:2]) == 0


def test_markdown_lists_problems_and_counts_passes():
    text = report.markdown("dev", sort_findings(FINDINGS))
    assert "1 blocking finding" in text
    assert "1 error · 1 warning · 0 info · 1 passed" in text
    assert "`clusters[0].region`" in text and "look \\| here" in text
    assert "fine" not in text  # passes are counted, not listed
    clear = report.markdown("dev", FINDINGS[:1])
    assert "clear" in clear and "| |" not in clear


def test_json_is_deterministic():
    document = json.loads(report.as_json("dev", FINDINGS))
    assert document["exit_code"] == 1
    assert document["summary"] == {"error": 1, "warning": 1, "info": 0, "pass": 1}
    assert report.as_json("dev", FINDINGS) == report.as_json("dev", list(FINDINGS))


def test_key_path():
    assert key_path("clusters[0].node_pools[2].instance_types[1]") == (
        "clusters", 0, "node_pools", 2, "instance_types", 1
    )  # fmt: skip
    assert key_path("clusters[1].node_pools[0], clusters[1].node_pools[1]") == (
        "clusters", 1, "node_pools", 0
    )  # fmt: skip


def test_locate_names_file_and_line():
    loaded = load_stack(ROOT / "Pulumi.dev.yaml", "Pulumi.dev.yaml")
    text = (ROOT / "Pulumi.dev.yaml").read_text().splitlines()
    (found,) = locate(
        [PreflightFinding("x", "error", "aws", "clusters[0].node_pools[2].instance_types[0]", "m")],
        loaded,
    )
    file, line = found.location.split(":")
    assert file == "Pulumi.dev.yaml"
    assert "g4dn.xlarge" in text[int(line) - 1]


# -- runner -----------------------------------------------------------------------------------


def never(*_):
    raise AssertionError("this cloud's SDK must not be used")


def test_only_the_environments_clouds_are_checked(tmp_path):
    """dev is AWS only: the Tencent factory is never asked for (nor its SDK imported)."""
    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    loaded = load_stack(tmp_path / "Pulumi.dev.yaml")
    findings = run_preflight(
        loaded, tmp_path / "Pulumi.dev.yaml", clouds={"attached"}, tencent_clients=never,
        aws_clients=never,
    )  # fmt: skip
    assert findings == []
    with pytest.raises(PreflightUsageError, match="no cluster there"):
        run_preflight(loaded, tmp_path / "Pulumi.dev.yaml", clouds={"tencentcloud"})


def test_tcr_name_shared_with_another_environment(tmp_path):
    for name in ("staging", "prod"):
        shutil.copy(ROOT / f"Pulumi.{name}.yaml", tmp_path / f"Pulumi.{name}.yaml")
    other = tmp_path / "Pulumi.prod.yaml"
    # prod names its Shanghai TCR instance as staging's Guangzhou one defaults to
    # (`<environment>-<region>-<tencent_uin>`): TCR names are global.
    document = yaml.safe_load(other.read_text())
    environment = document["config"]["tkestack:environment"]
    environment.setdefault("registry", {})["tcr_instance_names"] = {
        "ap-shanghai": "staging-ap-guangzhou-100000000002"
    }
    other.write_text(yaml.safe_dump(document, sort_keys=False))
    loaded = load_stack(tmp_path / "Pulumi.staging.yaml")
    findings = run_preflight(
        loaded, tmp_path / "Pulumi.staging.yaml", clouds={"attached"}, aws_clients=never
    )
    assert findings == []  # attached only: the cross-environment Tencent finding is not asked
    findings = run_preflight(
        loaded,
        tmp_path / "Pulumi.staging.yaml",
        clouds={"tencentcloud"},
        tencent_clients=lambda: _silent_tencent(),
    )
    (shared,) = [f for f in findings if f.check == "names.tcr-shared-with-environment"]
    assert shared.severity == "error"
    assert shared.key == "registry.tcr_instance_names.ap-guangzhou"
    assert "staging-ap-guangzhou-100000000002" in shared.message


def _silent_tencent():
    """A Tencent client double whose every call is refused (no credentials to read with):
    the account checks turn into warnings, the offline ones still run."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )

    class Client:
        def __getattr__(self, action):
            def call(request):
                if action == "GetCallerIdentity":

                    class Caller:
                        AccountId = "100000000002"
                        Arn = "qcs::cam::uin/100000000002"

                    return Caller()
                raise TencentCloudSDKException("UnauthorizedOperation", "no", "r")

            return call

    return lambda service, region: Client()


# -- options ----------------------------------------------------------------------------------


def test_kubeconfig_option_parsing(tmp_path):
    path = tmp_path / "k"
    path.write_text("{}")
    assert command.parse_kubeconfigs([f"prod-onprem={path}"]) == {"prod-onprem": path}
    for bad in ("prod-onprem", f"={path}", "prod-onprem=/nonexistent"):
        with pytest.raises(PreflightUsageError):
            command.parse_kubeconfigs([bad])


def test_cli_usage_errors_exit_2(tmp_path, monkeypatch):
    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.app, ["preflight", "dev", "--cloud", "tencentcloud"])
    assert result.exit_code == 2 and "dev has no cluster there" in result.output
    result = CliRunner().invoke(cli.app, ["preflight", "dev", "--kubeconfig", "nope"])
    assert result.exit_code == 2 and "CLUSTER=PATH" in result.output
    result = CliRunner().invoke(cli.app, ["preflight", "nosuch"])
    assert result.exit_code == 2
