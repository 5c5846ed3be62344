"""The same spec renders byte-identical results, across runs and Python hash seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ENVIRONMENTS, ROOT

RENDER_ALL = """
import sys
from pathlib import Path
from tkestack import engine
out = Path(sys.argv[1])
for env in sys.argv[2:]:
    rendering = engine.render(engine.read_stack_config(Path(f"Pulumi.{env}.yaml"), Path(".")))
    (out / f"{env}.json").write_text(engine.render_json(rendering))
    (out / f"{env}.yaml").write_text(engine.render_manifests(rendering))
"""


def render_all(directory: Path, seed: str) -> dict[str, bytes]:
    directory.mkdir()
    subprocess.run(
        [sys.executable, "-c", RENDER_ALL, str(directory), *ENVIRONMENTS],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": seed},
        check=True,
        capture_output=True,
    )
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_every_environment_renders_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    first = render_all(tmp_path / "seed-1", "1")
    second = render_all(tmp_path / "seed-2", "4242")
    assert len(first) == 2 * len(ENVIRONMENTS)
    assert all(first.values())
    for name, content in first.items():
        assert second[name] == content, f"{name} differs between hash seeds"


def test_in_process_renders_match_a_fresh_process(rendered, tmp_path: Path) -> None:
    """Rendering again in the same process (state left by earlier renders) changes nothing."""
    from tkestack import engine

    fresh = render_all(tmp_path / "fresh", "7")
    for env in ENVIRONMENTS:
        assert engine.render_json(rendered(env)).encode() == fresh[f"{env}.json"]
