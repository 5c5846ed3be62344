"""One measurement in a fresh process; prints one JSON line. Used by `bench/run.py`.

    python bench/_worker.py modules CLUSTERS
        the modules a fleet render imports (to preload before measuring)
    python bench/_worker.py render CLUSTERS [--tenants T] [--preload FILE] [--sdk-wait]
        render the generated fleet
    python bench/_worker.py floor COUNT [--preload FILE]
        the SDK floor: COUNT bare resources under the same mock runtime
    python bench/_worker.py replay FILE [--preload FILE]
        the same resources as a render (types, names, parents, providers, inputs,
        dependencies; from `run.py`'s dump) registered directly, without the program
    python bench/_worker.py coldstart STACK_FILE
        time to the first resource registration, measured from the parent's clock, and
        the cloud SDK packages the render imported

`seconds` is wall time around the work only (after imports), `cpu_seconds` the process's
CPU time over the same span (user + system, every thread); `peak_mib` is the peak
resident memory growth over the post-import baseline (VmHWM - VmRSS, the high-water mark
reset just before the work). `--preload` imports a list of modules first so neither a
render nor its floor pays for lazy imports. `--sdk-wait` renders without the engine's
linear settle, leaving the SDK's own `wait_for_rpcs` loop to wait for every Output (to
measure the share of time that loop takes).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet import write_fleet

from tkestack import engine
from tkestack.stacks import program  # noqa: F401 - imported before the baseline

ROOT = Path(__file__).resolve().parent.parent
CLOUD_SDKS = ("pulumi_aws", "tencentcloud_iac_pulumi", "pulumi_kubernetes", "pulumi_random")


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak() -> None:
    # Writing "5" to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def _preload(path: str | None) -> None:
    if not path:
        return
    for name in sorted(json.loads(Path(path).read_text())):
        # Parents first, each loaded at once: the cloud SDKs register their submodules as
        # lazy modules that load on first attribute access.
        with contextlib.suppress(ImportError):
            getattr(importlib.import_module(name), "_bench_preload_", None)


def _measure(work: Callable[[], engine.Rendering]) -> dict[str, Any]:
    _reset_peak()
    baseline = _status("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    rendering = work()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "peak_mib": _status("VmHWM") - baseline,
        "resources": len(rendering.resources),
    }


def bare_program(count: int) -> None:
    for index in range(count):
        pulumi.CustomResource("bench:index:Bare", f"r{index}", {})


def replay_program(resources: list[dict[str, Any]]) -> None:
    """Register the dumped resources (parents, providers and dependencies first)."""
    created: dict[str, pulumi.Resource] = {}
    for item in resources:
        parent = created.get(item["parent"]) if item["parent"] else None
        depends_on = [created[urn] for urn in item["dependencies"] if urn in created]
        if item["type"].startswith("pulumi:providers:"):
            package = item["type"].removeprefix("pulumi:providers:")
            opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
            resource: pulumi.Resource = pulumi.ProviderResource(
                package, item["name"], item["inputs"], opts
            )
        elif item["custom"]:
            provider = created.get(item["provider"]) if item["provider"] else None
            opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on)
            resource = pulumi.CustomResource(item["type"], item["name"], item["inputs"], opts)
        else:
            opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
            resource = pulumi.ComponentResource(item["type"], item["name"], None, opts)
        created[item["urn"]] = resource


async def _program_only(program_function: Callable[[], Any]) -> None:
    result = program_function()
    if inspect.isawaitable(result):
        await result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["modules", "render", "floor", "replay", "coldstart"])
    parser.add_argument("arg")
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--preload")
    parser.add_argument("--sdk-wait", action="store_true")
    args = parser.parse_args()
    if args.mode == "coldstart":
        # Everything the CLI would import; the clock started in the parent before spawning.
        from tkestack import cli  # noqa: F401

        first: list[float] = []
        config = engine.read_stack_config(Path(args.arg), ROOT)
        rendering = engine.render(
            config, on_register=lambda count: first.append(time.time()) if not first else None
        )
        imported = sorted({name.split(".")[0] for name in sys.modules} & set(CLOUD_SDKS))
        print(
            json.dumps(
                {
                    "first_resource_at": first[0],
                    "imported": imported,
                    "resources": len(rendering.resources),
                }
            )
        )
        return
    _preload(args.preload)
    if args.sdk_wait:
        engine._run_and_settle = _program_only  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as directory:
        if args.mode in ("modules", "render"):
            stack_file = write_fleet(
                Path(directory) / "Pulumi.fleet.yaml", int(args.arg), args.tenants
            )
            config = engine.read_stack_config(stack_file, ROOT)
            if args.mode == "modules":
                before = set(sys.modules)
                engine.render(config)
                # Packages and top-level modules the render executed (the SDKs also register
                # every other submodule as a lazy module that never loads). A package's own
                # `__init__` imports its submodules in the order they need; importing a leaf
                # submodule directly would run them out of that order.
                # The engine loads the SDKs' service packages module by module
                # (tkestack/lazy_sdk.py): the modules of such a package are listed too.
                loaded = [
                    name
                    for name in sorted(set(sys.modules) - before)
                    if type(sys.modules[name]).__name__ != "_LazyModule"
                    and (
                        "." not in name
                        or hasattr(sys.modules[name], "__path__")
                        or type(sys.modules.get(name.rpartition(".")[0])).__name__
                        == "_ServicePackage"
                    )
                ]
                print(json.dumps(loaded))
                return
            result = _measure(lambda: engine.render(config))
        elif args.mode == "floor":
            count = int(args.arg)
            result = _measure(
                lambda: engine.run_program(lambda: bare_program(count), stack="fleet")
            )
        else:
            dump = json.loads(Path(args.arg).read_text())
            result = _measure(
                lambda: engine.run_program(
                    lambda: replay_program(dump["resources"]),
                    project=dump["project"],
                    stack=dump["stack"],
                )
            )
    print(json.dumps({"mode": args.mode, **result}))


if __name__ == "__main__":
    main()
