"""Drive tests/fixtures/minipack over the real analyzer gRPC protocol (no Pulumi CLI)."""

from __future__ import annotations

import json
import os
import platform
import random
import signal
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.secret import Secret as PolicySecret

from tkestack.analyzer import (
    SECRET_SIG,
    SPECIAL_SIG_KEY,
    UNKNOWN,
    AnalyzerProvider,
    AnalyzerResource,
    LogEntry,
    PolicyPackError,
    PolicyPackRunner,
    Secret,
    Unknown,
    decode_properties,
    encode_properties,
    process,
)

MINIPACK = Path(__file__).resolve().parents[1] / "fixtures" / "minipack"
PACK = "tkestack-minipack"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
RDS = "aws:rds/instance:Instance"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::tkestack::{type_}::{name}"


def bucket(name: str, **props) -> AnalyzerResource:
    return AnalyzerResource(urn=urn(BUCKET, name), type=BUCKET, name=name, properties=props)


def database(name: str, password) -> AnalyzerResource:
    return AnalyzerResource(
        urn=urn(RDS, name), type=RDS, name=name, properties={"password": password}
    )


def bucket_policy(name: str, **kwargs) -> AnalyzerResource:
    return AnalyzerResource(
        urn=urn(BUCKET_POLICY, name),
        type=BUCKET_POLICY,
        name=name,
        properties={"policy": "{}"},
        **kwargs,
    )


def by_policy(violations, policy: str):
    return [v for v in violations if v.policy_name == policy]


def assert_gone(pid: int) -> None:
    """The pack process was reaped (no zombie) and its process group is empty."""
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


@pytest.fixture(scope="module")
def runner():
    with PolicyPackRunner(MINIPACK, stack_tags={"team": "platform"}) as r:
        yield r
    assert r.returncode == 0  # the runner's SIGINT stopped it (see the lifecycle tests)


TAGGED = {"owner": "sre", "env": "dev"}


# ------------------------------------------------------------------------------------ protocol


def test_startup_makes_the_engine_calls_in_order(runner):
    assert runner.calls[:5] == [
        "Handshake",  # UNIMPLEMENTED in pulumi-policy 1.21: tolerated, as by the engine
        "ConfigureStack",
        "GetPluginInfo",
        "GetAnalyzerInfo",
        "Configure",
    ]
    assert runner.plugin_version  # pulumi-policy's VERSION
    assert runner.engine_address.startswith("127.0.0.1:")


def test_info_lists_policies_levels_and_schemas(runner):
    name, policies = runner.info()
    assert name == PACK
    assert runner.pack_version == "0.1.0"  # from PulumiPolicy.yaml, as the engine does
    info = {p.name: p for p in policies}
    assert [p.name for p in policies] == sorted(info)
    assert info["s3-bucket-tags"].enforcement_level == "mandatory"
    assert info["s3-bucket-tags"].severity == "high"
    assert info["s3-bucket-tags"].policy_type == "resource"
    assert info["rds-password-length"].enforcement_level == "advisory"
    assert info["rds-password-length"].display_name == "RDS password length"
    assert info["stack-bucket-count"].policy_type == "stack"
    assert info["bucket-acl-private"].config_schema is None
    assert info["s3-bucket-tags"].config_schema["properties"]["requiredTags"]["type"] == "array"
    # Schema defaults are part of the config sent with Configure.
    assert runner.effective_config["stack-bucket-count"] == {
        "enforcementLevel": "mandatory",
        "maxBuckets": 2,
    }


def test_engine_service_handed_to_the_pack_answers(runner):
    # pulumi-policy 1.21 never dials the engine (pulumi.log falls back to stderr), so call the
    # Engine service the pack was given on its command line directly, as a pack could.
    with grpc.insecure_channel(runner.engine_address) as channel:
        engine = engine_pb2_grpc.EngineStub(channel)
        engine.Log(
            engine_pb2.LogRequest(severity=engine_pb2.WARNING, message="hello", urn="urn:x"),
            timeout=5,
        )
        engine.SetRootResource(engine_pb2.SetRootResourceRequest(urn="urn:root"), timeout=5)
        root = engine.GetRootResource(engine_pb2.GetRootResourceRequest(), timeout=5)
    assert root.urn == "urn:root"
    assert LogEntry("engine", "warning", "hello", "urn:x") in runner.logs


# ------------------------------------------------------------------------------------ policies


def test_mandatory_resource_policy_pass_and_fail(runner):
    violations = runner.analyze([bucket("good", tags=TAGGED), bucket("bare")])
    tags = by_policy(violations, "s3-bucket-tags")
    assert [v.urn for v in tags] == [urn(BUCKET, "bare")]
    (v,) = tags
    assert v.enforcement_level == "mandatory" and v.mandatory
    assert v.policy_pack == PACK and v.policy_pack_version == "0.1.0"
    assert v.severity == "high"
    assert v.description == "S3 buckets must be tagged."
    assert v.message.endswith("bucket has no tags")


def logs_containing(runner, text: str, patience: float = 10.0) -> list[LogEntry]:
    """The pack's log lines containing `text`, waiting up to `patience` seconds for the
    stderr reader thread to collect them (a loaded machine delays it; nothing is timed)."""
    deadline = time.monotonic() + patience
    while True:
        found = [entry for entry in runner.logs if text in entry.message]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_advisory_resource_policy_sees_secret_plaintext(runner):
    violations = runner.analyze(
        [
            database("weak", Secret("hunter2")),
            database("strong", Secret("correct-horse-battery")),
        ]
    )
    pw = by_policy(violations, "rds-password-length")
    assert [v.urn for v in pw] == [urn(RDS, "weak")]
    assert pw[0].enforcement_level == "advisory" and not pw[0].mandatory
    # pulumi-policy unwraps secrets for Analyze: the policy got a plain 7-character str.
    assert "password has 7 characters; at least 12 required" in pw[0].message
    assert "hunter2" not in pw[0].message
    # pulumi.log in the pack goes to its stderr (no engine client in pulumi-policy 1.21). A
    # reader thread collects the pack's stderr, so the line may land after Analyze returns.
    logs = logs_containing(runner, "checked password of weak")
    assert logs and logs[0].source == "stderr" and "(str)" in logs[0].message


def test_unknown_value_gives_advisory_preview_diagnostic(runner):
    (v,) = by_policy(runner.analyze([database("later", UNKNOWN)]), "rds-password-length")
    assert v.enforcement_level == "advisory"
    assert v.urn == urn(RDS, "later")
    assert "string value at .password can't be known during preview" in v.message


def test_stack_policy_sees_all_resources(runner):
    resources = [
        bucket("a", tags=TAGGED),
        bucket("b", tags=TAGGED),
        bucket("c", tags=TAGGED),
        database("db", Secret("correct-horse-battery")),
        bucket_policy("p-deps", dependencies=(urn(BUCKET, "a"),)),
        bucket_policy("p-propdeps", property_dependencies={"bucket": (urn(BUCKET, "b"),)}),
        bucket_policy("p-orphan"),
    ]
    violations = runner.analyze(resources)
    stack = by_policy(violations, "stack-bucket-count")
    assert [v.urn for v in stack] == [None, urn(BUCKET_POLICY, "p-orphan")]
    stack_level = stack[0]
    assert stack_level.enforcement_level == "mandatory"
    assert "stack dev has 3 buckets (max 2)" in stack_level.message  # PULUMI_STACK reached it
    assert "7 resources: a, b, c, db, p-deps, p-orphan, p-propdeps" in stack_level.message
    assert "team=platform" in stack_level.message  # ConfigureStack tags
    assert violations[0] is stack_level  # stack-level violations sort first
    assert runner.calls[-1] == "AnalyzeStack"


def test_results_are_deterministic_across_order(runner):
    resources = [bucket(f"b{i}", acl="public-read") for i in range(6)]
    resources += [database(f"db{i}", Secret("x" * i)) for i in range(6)]
    expected = runner.analyze(resources)
    shuffled = resources[:]
    random.Random(7).shuffle(shuffled)
    assert runner.analyze(shuffled) == expected
    keys = [(v.urn is not None, v.urn or "", v.policy_name, v.message) for v in expected]
    assert keys == sorted(keys)


def test_provider_and_options_are_accepted(runner):
    resource = AnalyzerResource(
        urn=urn(BUCKET, "with-provider"),
        type=BUCKET,
        name="with-provider",
        properties={"tags": TAGGED, "__internal": "dropped"},
        parent=urn("pulumi:pulumi:Stack", "tkestack-dev"),
        provider=AnalyzerProvider(
            urn=urn("pulumi:providers:aws", "default"),
            type="pulumi:providers:aws",
            name="default",
            properties={"region": "ap-guangzhou", "secretKey": Secret("s")},
        ),
        protect=True,
        ignore_changes=("tags",),
        delete_before_replace=True,
        aliases=(urn(BUCKET, "old-name"),),
    )
    assert runner.analyze([resource]) == []


# ------------------------------------------------------------------------------------ config


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    """The minipack under a config file that disables, re-levels (the remediate level
    included) and sets properties: one process for the tests of these settings, which
    each look at their own policies."""
    config_file = tmp_path_factory.mktemp("configured") / "policy-config.json"
    config_file.write_text(
        json.dumps(
            {
                "s3-bucket-tags": "disabled",
                "stack-bucket-count": {"enforcementLevel": "advisory", "maxBuckets": 0},
                "rds-password-length": {"minLength": 4},
                "bucket-acl-private": "remediate",
            }
        )
    )
    with PolicyPackRunner(MINIPACK, config=config_file) as r:
        yield r
    assert r.returncode == 0


def test_config_disables_and_overrides_levels(configured):
    assert configured.effective_config["s3-bucket-tags"]["enforcementLevel"] == "disabled"
    violations = configured.analyze([bucket("bare"), database("db", Secret("hunter2"))])
    assert by_policy(violations, "s3-bucket-tags") == []  # disabled: not run at all
    assert by_policy(violations, "rds-password-length") == []  # minLength 4 from config
    (stack,) = by_policy(violations, "stack-bucket-count")
    assert stack.enforcement_level == "advisory" and "(max 0)" in stack.message


def test_config_all_and_policy_properties():
    config = {"all": "advisory", "s3-bucket-tags": {"requiredTags": ["owner", "cost-center"]}}
    with PolicyPackRunner(MINIPACK, config=config) as r:
        violations = r.analyze([bucket("half-tagged", tags={"owner": "sre"})])
    (v,) = by_policy(violations, "s3-bucket-tags")
    assert v.enforcement_level == "advisory"  # "all" downgraded the mandatory policy
    assert v.message.endswith("bucket is missing required tags: cost-center")


def test_remediate_level_is_reported_as_mandatory_without_remediating(runner, configured):
    """The driver sends no `Remediate` (the tkestack pack has no remediations); pulumi_policy
    reports a policy at the remediate level as mandatory."""
    resource = bucket("public", tags=TAGGED, acl="public-read", kmsKey=Secret("k-123"))
    (advisory,) = by_policy(runner.analyze([resource]), "bucket-acl-private")
    assert advisory.enforcement_level == "advisory"

    assert configured.effective_config["bucket-acl-private"]["enforcementLevel"] == "remediate"
    report = configured.analyze_report([resource])
    assert configured.calls[-2:] == ["Analyze", "AnalyzeStack"]
    assert "Remediate" not in configured.calls
    (mandatory,) = by_policy(report.violations, "bucket-acl-private")
    assert mandatory.enforcement_level == "mandatory"


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"s3-bucket-tags": "blocking"}, "not a valid enforcement level"),
        ({"s3-bucket-tags": {"enforcementLevel": 1}}, "must be a string"),
        ({"s3-bucket-tags": ["mandatory"]}, "must be a string or object"),
    ],
)
def test_malformed_config_is_rejected_before_launch(config, match):
    with pytest.raises(PolicyPackError, match=match):
        PolicyPackRunner(MINIPACK, config=config)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"s3-bucket-tag": "advisory"}, "does not have: s3-bucket-tag"),
        ({"rds-password-length": {"minLength": "long"}}, r"rds-password-length: minLength"),
        ({"stack-bucket-count": {"maxBuckets": -1}}, "stack-bucket-count: maxBuckets"),
    ],
)
def test_config_not_matching_the_pack_fails_and_stops_it(config, match):
    runner = PolicyPackRunner(MINIPACK, config=config)
    with pytest.raises(PolicyPackError, match=match):
        runner.start()
    assert runner.calls[-1] == "GetAnalyzerInfo"  # Configure was never sent
    assert_gone(runner.pid)


def test_bad_config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(PolicyPackError, match="not valid JSON"):
        PolicyPackRunner(MINIPACK, config=path)


# ------------------------------------------------------------------------------------ lifecycle


STEALING_PACK = """\
import signal
import threading

from pulumi_policy import PolicyPack, StackValidationPolicy

analyzed, interrupted = threading.Event(), threading.Event()


def take_signals() -> None:
    analyzed.wait()
    while not interrupted.is_set():  # as glibc does around every thread it starts
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def on_interrupt(signum, frame):
    interrupted.set()
    raise KeyboardInterrupt  # what CPython's default SIGINT handler raises


signal.signal(signal.SIGINT, on_interrupt)
threading.Thread(target=take_signals, daemon=True).start()
PolicyPack("steal", [StackValidationPolicy("seen", "Sees.", lambda args, report: analyzed.set())])
"""
"""A pack with a thread that keeps unblocking SIGINT from its analysis until the main thread
is interrupted: each unblock makes the kernel hand that thread a SIGINT pending for the
process before the main thread (where pulumi_policy waits for `KeyboardInterrupt`) takes it.
Before the runner interrupted the main thread (`process._interrupt_main_thread`), 4 runs of
4 of this test were killed after the grace period (exit -9) on a 2-core machine: what made it
fail under load with the minipack, whose gRPC threads change their signal masks now and
then."""


def test_process_and_threads_are_gone_after_exit(tmp_path):
    threads_before = set(threading.enumerate())
    with PolicyPackRunner(write_pack(tmp_path / "steal", STEALING_PACK)) as r:
        pid = r.pid
        assert Path(f"/proc/{pid}").exists()
        r.analyze([bucket("x", tags=TAGGED)])
    assert_gone(pid)
    assert r.returncode == 0  # SIGINT made PolicyPack stop its server and return
    # The runner's threads end once the pack is gone; wait for each (a loaded machine
    # schedules them late), bounded so that one left running fails the test.
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(timeout=60)
    assert set(threading.enumerate()) - threads_before == set()
    with pytest.raises(RuntimeError, match="not running"):
        r.analyze([])


PLAIN_PACK = """\
from pulumi_policy import PolicyPack, StackValidationPolicy

PolicyPack("plain", [StackValidationPolicy("seen", "Sees.", lambda args, report: None)])
"""
"""A pack that leaves SIGINT's handling to CPython, as packs do."""


def test_a_pack_launched_with_sigint_ignored_still_stops_on_the_interrupt(tmp_path):
    """A runner in a process that ignores SIGINT (a shell's `cmd &` without job control, as a
    CI script may start the suite or `tkestack review`): the pack inherits nothing of that and
    stops on the runner's interrupt (exit 0), not on the SIGKILL after the grace period."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert process.pack_argv("python3", "127.0.0.1:1")[2] == "-c"
        with PolicyPackRunner(write_pack(tmp_path / "plain", PLAIN_PACK)) as r:
            pid = r.pid
            r.analyze([bucket("x", tags=TAGGED)])
    finally:
        signal.signal(signal.SIGINT, before)
    assert process.pack_argv("python3", "127.0.0.1:1")[2:4] == ["-m", "pulumi.policy"]
    assert_gone(pid)
    assert r.returncode == 0


def write_pack(directory: Path, main: str, policy_yaml: str = "runtime: python\n") -> Path:
    directory.mkdir()
    (directory / "PulumiPolicy.yaml").write_text(policy_yaml)
    (directory / "__main__.py").write_text(main)
    return directory


def test_the_interrupt_goes_to_the_main_thread_else_to_the_process_group(monkeypatch):
    sent: list[tuple[str, int, int]] = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: sent.append(("killpg", pid, sig)))

    def tgkill(result: int):
        return lambda tgid, tid, sig: sent.append(("tgkill", tid, sig)) or result

    monkeypatch.setattr(process, "_tgkill", lambda: tgkill(0))
    process._interrupt_main_thread(4321)
    assert sent == [("tgkill", 4321, signal.SIGINT)]  # the pid is its main thread's id
    sent.clear()
    monkeypatch.setattr(process, "_tgkill", lambda: tgkill(-1))  # e.g. ESRCH
    process._interrupt_main_thread(4321)
    assert sent == [("tgkill", 4321, signal.SIGINT), ("killpg", 4321, signal.SIGINT)]
    sent.clear()
    monkeypatch.setattr(process, "_tgkill", lambda: None)  # not Linux, or no glibc 2.30
    process._interrupt_main_thread(4321)
    assert sent == [("killpg", 4321, signal.SIGINT)]


def test_tgkill_is_found_where_the_c_library_exports_it():
    """glibc exports `tgkill` from 2.30 on: the symbol is versioned GLIBC_2.30 (`objdump -T`
    of Debian 12's libc.so.6, glibc 2.36)."""
    if not sys.platform.startswith("linux"):
        assert process._tgkill() is None
        return
    import ctypes

    exported = hasattr(ctypes.CDLL(None), "tgkill")
    assert (process._tgkill() is not None) == exported
    name, version = platform.libc_ver()
    if name == "glibc":
        assert exported == (tuple(int(part) for part in version.split(".")[:2]) >= (2, 30))


def test_pack_crashing_at_startup_reports_stderr(tmp_path):
    pack = write_pack(tmp_path / "crash", "raise SystemExit('cannot import company_rules')\n")
    runner = PolicyPackRunner(pack)
    with pytest.raises(PolicyPackError, match="exited") as info:
        runner.start()
    assert "cannot import company_rules" in info.value.stderr_tail
    assert "cannot import company_rules" in str(info.value)
    assert_gone(runner.pid)


def test_pack_that_never_reports_a_port_times_out(tmp_path):
    # It also ignores SIGINT, so shutting it down needs the SIGKILL escalation.
    main = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)\n"
    pack = write_pack(tmp_path / "hang", main)
    runner = PolicyPackRunner(pack, startup_timeout=1.0, shutdown_timeout=0.5)
    # The pack's own SIG_IGN may come too late on a loaded machine (its interpreter still
    # starting when the 1 s are up): start it with SIGINT ignored already. A child inherits an
    # ignored signal across exec, and CPython keeps SIG_IGN for SIGINT at startup.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.raises(PolicyPackError, match="did not report its gRPC port within 1s"):
            runner.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert_gone(runner.pid)
    assert runner.returncode == -signal.SIGKILL


def test_missing_or_foreign_project_file(tmp_path):
    with pytest.raises(PolicyPackError, match=r"PulumiPolicy\.yaml does not exist"):
        PolicyPackRunner(tmp_path).start()
    pack = write_pack(tmp_path / "node", "", policy_yaml="runtime: nodejs\n")
    with pytest.raises(PolicyPackError, match="only Python packs"):
        PolicyPackRunner(pack).start()


def test_policy_raising_surfaces_as_error_with_traceback(tmp_path):
    pack = write_pack(
        tmp_path / "boom",
        "from pulumi_policy import PolicyPack, ResourceValidationPolicy\n"
        "def check(args, report):\n"
        "    raise ValueError('boom in policy')\n"
        "PolicyPack('boom', [ResourceValidationPolicy('explodes', 'Always fails.', check)])\n",
    )
    runner = PolicyPackRunner(pack)
    with runner, pytest.raises(PolicyPackError, match="Analyze failed") as info:
        runner.analyze([bucket("x")])
    assert "boom in policy" in str(info.value)
    assert_gone(runner.pid)


# ------------------------------------------------------------------------------------ encoding


def test_encoding_matches_engine_marshalling():
    struct = encode_properties(
        {
            "name": "b",
            "count": 3,
            "ratio": 0.5,
            "enabled": False,
            "nothing": None,
            "list": [1, "two", Secret("three")],
            "nested": {"password": Secret({"k": "v"}), "__meta": "x"},
            "pending": Unknown("number"),
            "__defaults": ["name"],
        }
    )
    wire = json_format.MessageToDict(struct)
    assert "__defaults" not in wire and "__meta" not in wire["nested"]
    assert wire["list"][2] == {SPECIAL_SIG_KEY: SECRET_SIG, "value": "three"}
    assert wire["nested"]["password"] == {SPECIAL_SIG_KEY: SECRET_SIG, "value": {"k": "v"}}
    assert wire["pending"] == "3eeb2bf0-c639-47a8-9e75-3b44932eb421"
    # What pulumi-policy makes of it: secrets unwrapped for Analyze, kept for Remediate.
    assert deserialize_properties(wire)["list"][2] == "three"
    kept = deserialize_properties(wire, proxy_secrets=True)["__target"]["list"][2]
    assert isinstance(kept, PolicySecret) and kept.value == "three"
    decoded = decode_properties(struct)
    assert decoded["nested"]["password"] == Secret({"k": "v"})
    assert decoded["pending"] == Unknown("number")
    assert decoded["count"] == 3 and decoded["ratio"] == 0.5 and decoded["nothing"] is None


def test_encoding_rejects_unsupported_values():
    with pytest.raises(TypeError, match=r"nested\.when"):
        encode_properties({"nested": {"when": object()}})
    with pytest.raises(TypeError, match="non-finite"):
        encode_properties({"x": float("nan")})
