"""URN stability: a URN that a shipped environment had must stay reachable.

`tests/golden/urns/<env>.txt` lists the URNs of each environment. A render whose URNs
differ fails unless every golden URN is still reachable, either as the URN of a resource or
as an alias of one (computed the way the engine computes aliases). New URNs must be added
to the golden file in the same commit, which makes every URN change a reviewed change:

    TKESTACK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/safety/test_urn_stability.py

rewrites the files: the current URNs, plus the old URNs that aliases keep reachable (so the
proof that a rename is safe survives the update). Removing a resource on purpose means
removing its URN from the golden file by hand, in the same commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ENVIRONMENTS, ROOT

from tkestack import engine
from tkestack.urns import reachable_urns

GOLDEN = ROOT / "tests" / "golden" / "urns"
UPDATE = os.environ.get("TKESTACK_UPDATE_GOLDEN") == "1"


def golden_path(env: str) -> Path:
    return GOLDEN / f"{env}.txt"


def read_golden(env: str) -> list[str]:
    path = golden_path(env)
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def check(rendering: engine.Rendering, golden: list[str]) -> tuple[list[str], list[str]]:
    """(golden URNs no longer reachable, current URNs missing from the golden file)."""
    reachable = reachable_urns(rendering.by_urn())
    lost = sorted(urn for urn in golden if urn not in reachable)
    new = sorted(urn for urn in rendering.by_urn() if urn not in set(golden))
    return lost, new


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_urns_are_stable(rendered, env: str) -> None:
    rendering = rendered(env)
    golden = read_golden(env)
    if UPDATE:
        reachable = reachable_urns(rendering.by_urn())
        kept = sorted({*rendering.by_urn(), *(urn for urn in golden if urn in reachable)})
        golden_path(env).parent.mkdir(parents=True, exist_ok=True)
        header = f"# URNs of `tkestack render {env}`; see tests/safety/test_urn_stability.py\n"
        golden_path(env).write_text(header + "\n".join(kept) + "\n")
        golden = kept
    lost, new = check(rendering, golden)
    assert not lost, (
        f"{len(lost)} URN(s) of {env} changed without an alias to the old URN (this would"
        f" replace or delete them on `pulumi up`): {lost[:5]}"
    )
    assert not new, (
        f"{len(new)} new URN(s) in {env}: review them and add them to {golden_path(env)}"
        f" (TKESTACK_UPDATE_GOLDEN=1): {new[:5]}"
    )


def test_a_rename_without_alias_is_caught_and_with_alias_passes() -> None:
    """The check itself: rename a child with and without an alias."""
    import pulumi

    def program(child: str, aliases: list) -> None:
        parent = pulumi.ComponentResource("tkestack:index:Cluster", "c1")
        pulumi.ComponentResource(
            "tkestack:index:NodePool",
            child,
            None,
            pulumi.ResourceOptions(parent=parent, aliases=aliases),
        )

    before = engine.run_program(lambda: program("c1-general", []))
    golden = sorted(before.by_urn())
    renamed = engine.run_program(lambda: program("c1-default", []))
    lost, new = check(renamed, golden)
    assert lost == [urn for urn in golden if urn.endswith("::c1-general")]
    assert new == [urn for urn in renamed.by_urn() if urn.endswith("::c1-default")]

    aliased = engine.run_program(lambda: program("c1-default", [pulumi.Alias(name="c1-general")]))
    lost, new = check(aliased, golden)
    assert lost == []
    assert len(new) == 1  # the new URN still has to be added to the golden file
