"""The policy pack's process: launched like the ``pulumi-analyzer-policy-python`` shim, its
output collected, and shut down (``SIGINT`` to its main thread, then ``SIGKILL`` to its
process group) and reaped.

The pack runs as ``<python> -u -m pulumi.policy <engine-address> .`` (`pack_argv`) with the
pack directory as working directory, in its own process group, with ``PULUMI_CONFIG``/
``PULUMI_PROJECT``/``PULUMI_STACK``/``PULUMI_DRY_RUN``/``PULUMI_ORGANIZATION`` set as the
engine's ``constructEnv`` does. Its first stdout line is the analyzer's port.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .model import LogEntry, PolicyPackError

_STDERR_TAIL_LINES = 60


class PackLog:
    """Everything the pack said, in arrival order: ``Engine.Log`` calls and its stdout/stderr
    lines; the stderr tail goes into every :class:`PolicyPackError`."""

    def __init__(self) -> None:
        self._entries: list[LogEntry] = []
        self._lock = threading.Lock()
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        self._stderr_lines = 0

    def add(self, entry: LogEntry) -> None:
        """Record one entry (thread-safe: the engine service and the pipe readers call it)."""
        with self._lock:
            self._entries.append(entry)
            if entry.source == "stderr":
                self._stderr_tail.append(entry.message)
                self._stderr_lines += 1

    @property
    def entries(self) -> list[LogEntry]:
        """A copy of the entries so far."""
        with self._lock:
            return list(self._entries)

    def error(self, message: str) -> PolicyPackError:
        """A :class:`PolicyPackError` carrying the pack's stderr tail."""
        with self._lock:
            tail = "\n".join(self._stderr_tail)
        return PolicyPackError(message, tail)

    def settle_stderr(self, wait: float = 0.3) -> None:
        """Give the stderr reader a moment to pick up a traceback the pack just printed."""
        deadline = time.monotonic() + wait
        seen = self._stderr_lines
        while time.monotonic() < deadline:
            time.sleep(0.02)
            if self._stderr_lines != seen:
                seen = self._stderr_lines
                deadline = max(deadline, time.monotonic() + 0.05)


def load_project_file(pack_dir: Path) -> dict[str, Any]:
    """``PulumiPolicy.yaml`` of the pack; only Python packs can run here."""
    path = pack_dir / "PulumiPolicy.yaml"
    if not path.is_file():
        raise PolicyPackError(
            f"failed to load Pulumi policy project located at {str(pack_dir)!r}: "
            f"{path} does not exist"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyPackError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyPackError(f"{path} must be a YAML mapping")
    runtime = data.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise PolicyPackError(
            f"{path}: runtime {runtime_name!r} is not supported; only Python packs can run"
        )
    return data


def python_executable(pack_dir: Path, project_file: Mapping[str, Any]) -> str:
    """The ``virtualenv`` declared in ``PulumiPolicy.yaml`` if it exists, else this one."""
    runtime = project_file.get("runtime")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    if isinstance(venv, str) and venv:
        candidate = (pack_dir / venv).resolve() / "bin" / "python"
        if candidate.is_file():
            return str(candidate)
    return sys.executable


@dataclass(frozen=True)
class StackEnvironment:
    """What the engine's ``constructEnv`` tells the pack about the stack."""

    project: str
    stack: str
    organization: str
    dry_run: bool
    config: Mapping[str, str]

    def environ(self) -> dict[str, str]:
        """This process's environment with the stack's variables set."""
        env = dict(os.environ)
        for key in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_ORGANIZATION"):
            env.pop(key, None)
        if self.config:
            env["PULUMI_CONFIG"] = json.dumps(dict(self.config), sort_keys=True)
        if self.organization:
            env["PULUMI_ORGANIZATION"] = self.organization
        env["PULUMI_PROJECT"] = self.project
        env["PULUMI_STACK"] = self.stack
        env["PULUMI_DRY_RUN"] = "true" if self.dry_run else "false"
        env["PYTHONUNBUFFERED"] = "1"
        return env


def _wait_exited(pid: int, timeout: float) -> bool:
    """Wait until child ``pid`` has exited, without reaping it; ``False`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:  # already reaped
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _interrupt_main_thread(pid: int) -> None:
    """SIGINT to the pack's main thread, falling back to its process group.

    The engine interrupts the pack's process group (`cmdutil.InterruptChildren`, pulumi/pulumi
    sdk/go/common/util/cmdutil/child_unix.go: ``syscall.Kill(-pid, syscall.SIGINT)``): a
    process-wide signal, which the kernel hands to whichever of the pack's threads takes it
    first. pulumi_policy 1.21 (`policy.py`, `PolicyPack.__init__`) stops its server when
    ``time.sleep`` in the main thread raises ``KeyboardInterrupt``, but CPython runs Python
    handlers in the main thread only and its ``time.sleep`` resumes unless the main thread
    itself is interrupted (Doc/library/signal.rst, "Signals and threads"). A gRPC thread of
    the pack that changes its signal mask at that moment (glibc does around every thread it
    starts) takes the signal instead, the main thread sleeps on, and the pack is killed after
    the grace period (exit -9) instead of stopping: seen on a loaded machine. Sent to the main
    thread (Linux ``tgkill``; its thread id is the pid), the interrupt wakes that sleep. Where
    ``tgkill`` is unavailable, the process group is interrupted as the engine does. Other
    processes of the pack's group, if any, are killed once the pack has exited.
    """
    tgkill = _tgkill()
    if tgkill is not None and tgkill(pid, pid, signal.SIGINT) == 0:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGINT)


@functools.cache
def _tgkill() -> Callable[[int, int, int], int] | None:
    """The C library's ``tgkill`` (glibc's from 2.30 on: its symbol is versioned GLIBC_2.30,
    ``objdump -T`` of Debian 12's glibc 2.36), or ``None`` off Linux or without it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).tgkill
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
    function.restype = ctypes.c_int
    return function


_INTERRUPTIBLE_PACK = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('pulumi.policy', run_name='__main__', alter_sys=True)"
)
"""`-m pulumi.policy` with SIGINT raising `KeyboardInterrupt`, for a pack whose parent ignores
SIGINT (see `pack_argv`)."""


def pack_argv(python: str, engine_address: str) -> list[str]:
    """The pack's command line: the ``pulumi-analyzer-policy-python`` shim's
    ``<python> -u -m pulumi.policy <engine-address> .`` (program ".", run in the pack's
    directory).

    Unless this process ignores SIGINT (a job started with ``&`` by a shell without job
    control, ``nohup``): an ignored signal stays ignored across ``exec``, CPython then installs
    no ``KeyboardInterrupt`` handler, and the pack, which stops only on that exception
    (pulumi_policy 1.21 `policy.py`, `PolicyPack.__init__`), would sleep on until killed.
    Under ``pulumi preview`` it starts with SIGINT at its default: the CLI asks for SIGINT
    (`signal.Notify(c.sigint, os.Interrupt, syscall.SIGTERM)`, pulumi/pulumi
    pkg/backend/cancellation_scope.go), which un-ignores it ("If the program was started with
    SIGHUP or SIGINT ignored, and Notify is called for either signal, a signal handler will be
    installed for that signal and it will no longer be ignored", golang/go
    src/os/signal/doc.go), and a caught signal is reset to its default by ``exec``. So here the
    pack's module runs from a ``-c`` line that sets the handler first, as CPython does at
    start-up for a SIGINT left at its default (`runpy.run_module` with ``alter_sys``: the
    same ``__main__`` and ``sys.argv[1:]``)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return [python, "-u", "-c", _INTERRUPTIBLE_PACK, engine_address, "."]
    return [python, "-u", "-m", "pulumi.policy", engine_address, "."]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Last-resort cleanup (garbage collection / interpreter exit) for a forgotten pack."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


class PackProcess:
    """One launched policy pack: its process, pipe readers and reported port."""

    def __init__(self, pack_dir: Path, log: PackLog) -> None:
        self.pack_dir = pack_dir
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.deadline = 0.0
        """When the start-up time (``startup_timeout``) runs out, on the monotonic clock."""
        self._port_queue: queue.Queue[int | str | None] = queue.Queue()
        self._readers: list[threading.Thread] = []
        self._finalizer: weakref.finalize | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the pack (``None`` before launch)."""
        return self.proc.pid if self.proc is not None else None

    def launch(
        self,
        python: str,
        engine_address: str,
        environment: StackEnvironment,
        timeout: float,
        extra_environment: Mapping[str, str] | None = None,
    ) -> None:
        """Start the pack and wait (at most `timeout` seconds) for the port it reports;
        `extra_environment` is set on top of the stack's."""
        argv = pack_argv(python, engine_address)
        try:
            proc = subprocess.Popen(
                argv,
                cwd=self.pack_dir,
                env={**environment.environ(), **(extra_environment or {})},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # own process group, like cmdutil.RegisterProcessGroup
            )
        except OSError as exc:
            raise PolicyPackError(f"could not start policy pack with {python!r}: {exc}") from exc
        self.proc = proc
        self._finalizer = weakref.finalize(self, _kill_group, proc)
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [
            threading.Thread(
                target=self._read_stdout,
                args=(proc.stdout,),
                name=f"tkestack-pack-stdout-{proc.pid}",
                daemon=True,
            ),
            threading.Thread(
                target=self._read_stderr,
                args=(proc.stderr,),
                name=f"tkestack-pack-stderr-{proc.pid}",
                daemon=True,
            ),
        ]
        for reader in self._readers:
            reader.start()

        deadline = time.monotonic() + timeout
        try:
            first = self._port_queue.get(timeout=timeout)
        except queue.Empty:
            raise self.log.error(
                f"policy pack {self.pack_dir} did not report its gRPC port within {timeout:g}s"
            ) from None
        if first is None:
            code = self.wait_exit(max(0.5, deadline - time.monotonic()))
            raise self.log.error(
                f"policy pack {self.pack_dir} exited (code {code}) before reporting its gRPC port"
            )
        if isinstance(first, str):
            raise self.log.error(
                f"policy pack {self.pack_dir} wrote an invalid port to stdout: {first!r}"
            )
        self.port = first
        self.deadline = deadline

    def exited(self) -> int | None:
        """The pack's exit code if it has exited, else None."""
        return self.proc.poll() if self.proc is not None else None

    def wait_exit(self, timeout: float) -> int | None:
        """Wait for the pack to exit (and its output to be read); None on timeout."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        for reader in self._readers:
            reader.join(timeout=2)
        return code

    def stop(self, grace: float) -> None:
        """Interrupt the pack (`_interrupt_main_thread`), kill its process group after `grace`
        seconds, reap it and close its pipes.

        The leader is waited for without being reaped (``WNOWAIT``) so its zombie keeps the
        process-group id reserved while leftover children of the pack are killed.
        """
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:  # not reaped yet (it may have crashed during startup)
            _interrupt_main_thread(proc.pid)
            if not _wait_exited(proc.pid, grace):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                _wait_exited(proc.pid, 10.0)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # leftovers in the group, if any
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        if self._finalizer is not None:
            self._finalizer.detach()
        for reader in self._readers:
            reader.join(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def _read_stdout(self, stream: Any) -> None:
        first = True
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if first:
                first = False
                text = line.strip()
                if text.isdigit() and 0 < int(text) <= 65535:
                    self._port_queue.put(int(text))
                else:
                    self._port_queue.put(line)
                continue
            if line.strip():
                self.log.add(LogEntry("stdout", "info", line))
        if first:
            self._port_queue.put(None)

    def _read_stderr(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line.strip():
                self.log.add(LogEntry("stderr", "info", line))
