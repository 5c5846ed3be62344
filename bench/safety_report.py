"""`make safety`: the change-safety numbers of issue 8, measured now.

Prints cases tried by the bad-input fuzzers, Kubernetes objects validated, checkov findings
fixed/waived, URNs checked, secrets scanned, stateful resources protected and whether the
renders are byte-identical across hash seeds; exits 1 when any check fails.

    .venv/bin/python bench/safety_report.py [--fuzz-examples 5000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the URN golden files and their check live there

from tkestack import engine, fleet, safety  # noqa: E402
from tkestack.policies.rules.clusters import is_stateful  # noqa: E402
from tkestack.urns import reachable_urns  # noqa: E402

ENVIRONMENTS = ("dev", "staging", "prod")
FUZZ_TESTS = ["tests/safety/test_bad_input.py", "tests/stacks/test_spec_fuzz.py"]


def fuzz(examples: int) -> tuple[int, bool]:
    """Run the hypothesis fuzzers with `examples` cases each; (cases tried, all passed)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *FUZZ_TESTS,
            "-q",
            "-p",
            "no:cacheprovider",
            "--hypothesis-show-statistics",
            "-W",
            "ignore::DeprecationWarning",
        ],
        cwd=ROOT,
        # Whole-program cases render an environment each: a twentieth of the loader's count.
        env={
            **os.environ,
            "TKESTACK_FUZZ_EXAMPLES": str(examples),
            "TKESTACK_PROGRAM_FUZZ_EXAMPLES": str(max(examples // 20, 10)),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    tried = sum(
        int(passing) + int(failing)
        for passing, failing in re.findall(r"(\d+) passing, (\d+) failing", result.stdout)
    )
    return tried, result.returncode == 0


def byte_identical() -> bool:
    outputs = []
    for seed in ("1", "2"):
        with tempfile.TemporaryDirectory() as directory:
            target = Path(directory) / "prod.json"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tkestack.cli",
                    "render",
                    "prod",
                    "-f",
                    "json",
                    "-o",
                    str(target),
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONHASHSEED": seed},
                check=True,
                capture_output=True,
            )
            outputs.append(target.read_bytes())
    return outputs[0] == outputs[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz-examples", type=int, default=5000)
    args = parser.parse_args()
    checkov = Path(os.environ.get("TKESTACK_CHECKOV", ROOT / ".venv-checkov/bin/checkov"))
    rows: list[tuple[str, str, bool]] = []

    renders = {  # every derived stack of a per-cluster environment (prod), as one view
        env: fleet.render_environment(
            engine.read_stack_config(ROOT / f"Pulumi.{env}.yaml", ROOT)
        ).whole
        for env in ENVIRONMENTS
    }
    scanned = leaked = validated = skipped = 0
    errors: list[str] = []
    for rendering in renders.values():
        secrets = safety.known_secrets(rendering)
        for text in (engine.render_json(rendering), engine.render_manifests(rendering)):
            scanned += len(secrets)
            leaked += len(safety.leaks(text, secrets))
        outcome = safety.validate_manifests(rendering)
        validated += outcome.validated
        skipped += outcome.custom_skipped
        errors.extend(outcome.errors)
    rows.append(
        (
            "secrets: known secret values searched in json+manifests",
            f"{scanned} ({leaked} leaks)",
            leaked == 0,
        )
    )
    rows.append(
        (
            "kubernetes-validate: objects valid for their cluster version",
            f"{validated} ({skipped} custom resources skipped, {len(errors)} invalid)",
            not errors and validated > 0,
        )
    )

    if checkov.exists():
        with tempfile.TemporaryDirectory() as directory:
            for env, rendering in renders.items():
                (Path(directory) / f"{env}.yaml").write_text(engine.render_manifests(rendering))
                (Path(directory) / f"{env}.json").write_text(engine.render_json(rendering))
            passed_checks = 0
            findings: list[safety.CheckovFinding] = []
            for framework in ("kubernetes", "secrets"):
                passed, failed = safety.run_checkov(checkov, Path(directory), framework)
                passed_checks += passed
                findings.extend(failed)
        waivers = safety.apply_waivers(findings, ROOT / "policies" / "checkov-waivers.yaml")
        rows.append(
            (
                "checkov: checks passed / failed (waived, unwaived, stale waivers)",
                f"{passed_checks} / {len(findings)} ({len(waivers.waived)},"
                f" {len(waivers.unwaived)}, {len(waivers.stale)})",
                not waivers.unwaived and not waivers.stale,
            )
        )
    else:
        rows.append(("checkov", f"not installed at {checkov}", False))

    golden_total = lost = 0
    for env, rendering in renders.items():
        golden_file = ROOT / "tests/golden/urns" / f"{env}.txt"
        golden = [u for u in golden_file.read_text().splitlines() if u and not u.startswith("#")]
        reachable = reachable_urns(rendering.by_urn())
        golden_total += len(golden)
        lost += sum(1 for urn in golden if urn not in reachable)
    rows.append(
        (
            "URNs: golden URNs still reachable (aliases included)",
            f"{golden_total - lost} of {golden_total}",
            lost == 0,
        )
    )

    prod = renders["prod"]
    stateful = [r for r in prod.resources if is_stateful(r.type, r.inputs)]
    protected = sum(1 for r in stateful if r.protect)
    rows.append(
        (
            "protection: stateful resources protected in prod",
            f"{protected} of {len(stateful)}",
            protected == len(stateful) > 0,
        )
    )

    tried, fuzz_ok = fuzz(args.fuzz_examples)
    rows.append(
        (
            "bad input: generated cases, each a clean located error or a render",
            f"{tried} cases",
            fuzz_ok and tried >= args.fuzz_examples,
        )
    )
    rows.append(
        (
            "determinism: prod JSON across hash seeds",
            "byte-identical" if (same := byte_identical()) else "DIFFERENT",
            same,
        )
    )

    width = max(len(name) for name, _, _ in rows)
    for name, value, ok in rows:
        print(f"{'ok  ' if ok else 'FAIL'}  {name:<{width}}  {value}")
    return 0 if all(ok for _, _, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
