"""The Helm add-on base: pins from the catalog, arch-aware scheduling, the composer check."""

from __future__ import annotations

import pytest
from platform_clusters import cluster, pool

from tkestack import engine
from tkestack.components import addon as addons
from tkestack.components.addon import AddonSpec, PodGroup, check_addons, scheduled_values
from tkestack.components.contracts import GPU_TAINT_KEY, POOL_LABEL

AMD64_ONLY = AddonSpec(
    key="harbor",
    chart="harbor",
    values={"expose": {"type": "clusterIP"}},
    pod_groups=(PodGroup("core"), PodGroup("registry")),
)
MULTI_ARCH = AddonSpec(
    key="kube-prometheus-stack",
    chart="kube-prometheus-stack",
    values={},
    pod_groups=(PodGroup("grafana"), PodGroup("prometheus-node-exporter", role="node-agent")),
)
GPU_ADDON = AddonSpec(
    key="dcgm-exporter",
    chart="dcgm-exporter",
    values={},
    pod_groups=(PodGroup("", role="gpu"),),
    requires=("kube-prometheus-stack",),
)


def run(program):
    """Run `program` under mocks, returning whatever it returns and the rendering."""
    box = {}
    rendering = engine.run_program(lambda: box.setdefault("result", program()))
    return box.get("result"), rendering


def mixed_cluster():
    return cluster(
        pools=[pool("aws", "general"), pool("aws", "graviton", "arm"), pool("aws", "gpu", "gpu")]
    )


def test_pins_come_from_the_chart_catalog():
    pin = addons.chart_pin("harbor")
    assert (pin.chart, pin.version, pin.namespace) == ("harbor", "1.19.2", "harbor")
    assert pin.architectures == ("amd64",)
    assert addons.chart_pin("kube-prometheus-stack").architectures == ("amd64", "arm64")
    with pytest.raises(KeyError, match="no chart 'nope'"):
        addons.chart_pin("nope")


def test_amd64_only_addon_is_pinned_to_amd64_in_a_mixed_cluster():
    values, _ = run(lambda: scheduled_values(AMD64_ONLY, mixed_cluster()))
    for group in ("core", "registry"):
        assert values[group]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
        # explicit empty list: replaces chart defaults, so never tolerates the GPU taint
        assert values[group]["tolerations"] == []
    assert values["expose"] == {"type": "clusterIP"}


def test_multi_arch_addon_gets_no_arch_selector_and_node_agents_tolerate_everything():
    values, _ = run(lambda: scheduled_values(MULTI_ARCH, mixed_cluster()))
    assert "nodeSelector" not in values["grafana"]
    assert values["grafana"]["tolerations"] == []
    assert values["prometheus-node-exporter"]["tolerations"] == [{"operator": "Exists"}]


def test_amd64_only_addon_needs_no_selector_in_an_amd64_cluster():
    values, _ = run(lambda: scheduled_values(AMD64_ONLY, cluster()))
    assert "nodeSelector" not in values["core"]


def test_gpu_component_selects_gpu_pools_and_tolerates_the_gpu_taint():
    def program():
        info = cluster(
            pools=[
                pool("aws", "general"),
                pool("aws", "gpu-b", "gpu"),
                pool("aws", "gpu-a", "gpu-arm"),
            ]
        )
        return scheduled_values(GPU_ADDON, info)

    values, _ = run(program)
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["gpu-a", "gpu-b"]}]}
    ]
    assert values["tolerations"] == [
        {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
    ]


def test_arm_opt_in_taint_is_tolerated_only_by_arm_capable_addons():
    def program():
        info = cluster(
            pools=[pool("aws", "general"), pool("aws", "graviton", "arm", arm_opt_in_taint=True)]
        )
        return scheduled_values(MULTI_ARCH, info), scheduled_values(AMD64_ONLY, info)

    (multi, amd64_only), _ = run(program)
    assert multi["grafana"]["tolerations"] == [
        {"key": "kubernetes.io/arch", "operator": "Equal", "value": "arm64", "effect": "NoSchedule"}
    ]
    assert amd64_only["core"]["tolerations"] == []


def test_addon_without_arm64_images_on_an_arm_only_cluster_fails_with_its_path():
    def program():
        info = cluster(pools=[pool("aws", "graviton", "arm"), pool("aws", "gpu", "gpu-arm")])
        return check_addons([AMD64_ONLY], info, "platform[c1].registry")

    problems, _ = run(program)
    assert len(problems) == 2
    assert problems[0].startswith("platform[c1].registry.harbor.core: can run on no node pool")
    assert "graviton (arm64)" in problems[0]
    assert "support amd64" in problems[0]


def test_a_workload_addon_never_lands_on_gpu_pools():
    def program():
        info = cluster(pools=[pool("aws", "gpu", "gpu")])
        return check_addons([MULTI_ARCH], info, "p")

    problems, _ = run(program)
    # grafana cannot run on the only (GPU-tainted) pool; node-exporter can
    assert [problem.split(":")[0] for problem in problems] == ["p.kube-prometheus-stack.grafana"]


def test_gpu_addon_on_a_cluster_without_gpu_pools_fails():
    problems, _ = run(lambda: check_addons([MULTI_ARCH, GPU_ADDON], cluster(), "p"))
    assert problems == [
        "p.dcgm-exporter: can run on no node pool of cluster c1: its images support"
        " amd64/arm64 and it needs GPU pools; pools: general (amd64)"
    ]


def test_missing_dependency_conflicts_and_duplicates_are_reported():
    conflicting = AddonSpec(
        key="gpu-operator",
        chart="gpu-operator",
        values={},
        pod_groups=(),
        conflicts=("dcgm-exporter",),
    )

    def program():
        info = cluster(pools=[pool("aws", "general"), pool("aws", "gpu", "gpu")])
        return check_addons([GPU_ADDON, conflicting, conflicting], info, "p")

    problems, _ = run(program)
    assert "p.dcgm-exporter: requires add-on 'kube-prometheus-stack', which is not installed" in (
        problems
    )
    assert "p.gpu-operator: conflicts with add-on 'dcgm-exporter' on the same cluster" in problems
    assert "p.gpu-operator: add-on declared 2 times" in problems


def test_dependency_satisfied_by_another_component():
    def program():
        info = cluster(pools=[pool("aws", "general"), pool("aws", "gpu", "gpu")])
        return check_addons([GPU_ADDON], info, "p", also_installed=["kube-prometheus-stack"])

    problems, _ = run(program)
    assert problems == []


def test_unknown_chart_is_a_problem_not_a_traceback():
    bogus = AddonSpec(key="x", chart="not-in-catalog", values={}, pod_groups=())
    problems, _ = run(lambda: check_addons([bogus], cluster(), "p"))
    assert problems[0].startswith("p.x.chart: no chart 'not-in-catalog' in charts.yaml")


def test_attached_cluster_without_pools_pins_single_arch_addons():
    def program():
        info = cluster(name="a1", cloud="attached", region=None, pools=[])
        return check_addons([AMD64_ONLY], info, "p"), scheduled_values(AMD64_ONLY, info)

    (problems, values), _ = run(program)
    assert problems == []
    assert values["core"]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}


def test_install_addon_registers_a_pinned_release_after_the_cluster():
    def program():
        import pulumi
        import pulumi_random as random

        anchor = random.RandomId("anchor", byte_length=4)  # stands for a node pool
        info = cluster(pools=[pool("aws", "general"), pool("aws", "graviton", "arm")])
        info.depends_on.append(anchor)
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        addons.install_addon("c1-harbor", AMD64_ONLY, info, parent)

    _, rendering = run(program)
    (release,) = rendering.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["chart"] == "harbor"
    assert release.inputs["version"] == "1.19.2"
    assert release.inputs["repositoryOpts"] == {"repo": "https://helm.goharbor.io"}
    assert release.inputs["name"] == "harbor"
    assert release.inputs["namespace"] == "harbor"
    assert release.inputs["values"]["core"]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert release.provider.endswith("::c1-k8s")
    assert any(dep.endswith("::anchor") for dep in release.dependencies)


def test_attached_gpu_node_prerequisites_in_docs_match_the_derived_profile() -> None:
    """docs/addons.md lists what an operator must put on attached GPU nodes: exactly the
    labels and taint `derive_profile` gives a pool (which the GPU add-ons select on)."""
    from pathlib import Path

    from tkestack.components.contracts import derive_profile

    text = (Path(__file__).parents[2] / "docs" / "addons.md").read_text(encoding="utf-8")
    section = text.split("## Attached clusters: what the operator must put on GPU nodes")[1]
    profile = derive_profile(
        cloud="attached",
        name="POOL",
        instance_types=["unknown"],
        architecture="x86_64",
        accelerator_model="t4",
        sharing="hami",
    )
    for key, value in profile.labels.items():
        documented = {"POOL": "<pool>", "nvidia-t4": "nvidia-<model>", "hami": "<sharing>"}
        expected = f"`{key}={documented.get(value, value)}`"
        if key == "gpu":
            expected = "`gpu=on`"
        assert expected in section, expected
    (taint,) = profile.taints
    assert f"`{taint.key}={taint.value}:{taint.effect}`" in section
