"""A process that imports the offline engine freezes its heap at exit, after every atexit
handler registered later has run (tkestack/engine.py `_no_collection_at_exit`; issue 21,
target 4: the shutdown's repeated cycle scans were ~0.45 s of a cold `render prod`)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

PROGRAM = """
import atexit, gc
from tkestack import engine
seen = []
atexit.register(lambda: seen.append(gc.get_freeze_count()))  # runs first (LIFO)
atexit._run_exitfuncs()
print(seen[0], gc.get_freeze_count() > 0)
"""


def test_the_heap_is_frozen_at_exit_after_the_later_handlers() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["0", "True"]
