"""One measurement in a fresh process: `python bench/_worker.py render|floor CLUSTERS [COUNT]`.

Prints one JSON line: seconds (wall, measured around the work only, after imports),
peak memory growth in MiB over the post-import baseline (VmHWM - VmRSS), and the number
of resources registered.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet import write_fleet
from tkestack.stacks import program  # noqa: F401 - imported before the baseline

from tkestack import engine

ROOT = Path(__file__).resolve().parent.parent


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak() -> None:
    # Writing "5" to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def bare_program(count: int) -> None:
    for index in range(count):
        pulumi.CustomResource("bench:index:Bare", f"r{index}", {})


def main() -> None:
    mode, clusters = sys.argv[1], int(sys.argv[2])
    with tempfile.TemporaryDirectory() as directory:
        stack_file = write_fleet(Path(directory) / "Pulumi.fleet.yaml", clusters)
        config = engine.read_stack_config(stack_file, ROOT)
        # Warm the cloud SDK imports the render needs, so neither side pays for imports.
        import pulumi_aws  # noqa: F401
        import pulumi_kubernetes  # noqa: F401
        import tencentcloud_iac_pulumi  # noqa: F401

        _reset_peak()
        baseline = _status("VmRSS")
        start = time.perf_counter()
        if mode == "render":
            rendering = engine.render(config)
        else:
            count = int(sys.argv[3])
            rendering = engine.run_program(lambda: bare_program(count), stack="fleet")
        seconds = time.perf_counter() - start
        peak = _status("VmHWM") - baseline
    print(json.dumps({"mode": mode, "clusters": clusters, "seconds": seconds,
                      "peak_mib": peak, "resources": len(rendering.resources)}))


if __name__ == "__main__":
    main()
