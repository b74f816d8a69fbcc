"""Benchmark: plan and offline apply of a large topology, and `crossnet up` on dev.

Prints, each as the median of --runs runs (default 3) in fresh processes, measured
side by side in one invocation so that a shared machine's load hits both alike:

- the offline apply of the 2447-resource topology (bench/topology.py) and a bare
  loop declaring the same resources under plain Pulumi mocks, their ratio, and the
  peak RSS of each (runs alternate: apply, bare, apply, bare, ...);
- the same bare loop under the garbage collector's settings the apply runs with
  (`network.offline.heap.heap_frozen`), and the apply's ratio to it: the GC-neutral
  figure, what crossnet itself adds over Pulumi (the plain ratio also counts the
  collector work the apply's settings save);
- `crossnet up --stack dev` from nothing (an empty state directory, a fresh
  process, wall time to exit) against the floor `python -c 'import pulumi'`.

Targets (issue 11, 2-core machine): apply / bare <= 1.5x, apply peak RSS <= 350 MB,
`up` on dev from nothing <= 2 s; plan <= 0.5 s.

Run: .venv/bin/python bench/apply_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.topology import large_config  # noqa: E402

TARGET_RATIO = 1.5
TARGET_RSS_MB = 350
TARGET_UP_S = 2.0


def _child(mode: str, stacks: str) -> dict[str, Any]:
    """Run one measurement in a fresh process, so peak RSS is its own."""
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
t0 = time.perf_counter()
if {mode!r} == "apply":
    from network.offline.apply import offline_up
    r = offline_up("large", seed=1, write=False)
    n = len([x for x in r.resources if not x.type.startswith("crossnet:")])
else:
    import contextlib
    import pulumi
    from pulumi.runtime.stack import wait_for_rpcs
    from pulumi.runtime.sync_await import _sync_await
    from network.offline.heap import heap_frozen
    from network.plan import build_plan
    from network.stack_file import read_stack_config

    class Plain(pulumi.runtime.Mocks):
        count = 0
        def new_resource(self, args):
            Plain.count += args.custom
            return args.name + "-id", dict(args.inputs)
        def call(self, args):
            return {{}}, None

    with heap_frozen() if {mode!r} == "bare-gc" else contextlib.nullcontext():
        pulumi.runtime.set_mocks(Plain(), project="crossnet", stack="large", preview=False)
        from network.program import declare
        declare(build_plan(read_stack_config("large"), "large"))
        _sync_await(wait_for_rpcs())
    n = Plain.count
dt = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
rss = use.ru_maxrss / 1024
cpu = use.ru_utime + use.ru_stime
print(json.dumps({{"seconds": dt, "cpu": cpu, "rss_mb": rss, "resources": n}}))
"""
    env = {**os.environ, "CROSSNET_STACKS_DIR": stacks}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _wall(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of a fresh process, start to exit."""
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, timeout=300, check=True)
    return time.perf_counter() - t0


def _up_from_nothing() -> float:
    """`crossnet up --stack dev` into an empty state directory (nothing applied yet)."""
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "CROSSNET_STATE_DIR": state}
        argv = [sys.executable, "-m", "network.cli", "up", "--stack", "dev", "--no-progress"]
        return _wall(argv, env)


def _spread(xs: list[float]) -> str:
    return f"{min(xs):.2f}-{max(xs):.2f}"


def _ok(good: bool) -> str:
    return "ok" if good else "OVER"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each figure (median)")
    runs = parser.parse_args(argv).runs
    from network.plan import build_plan

    cfg = large_config()
    applies: list[dict[str, Any]] = []
    bares: list[dict[str, Any]] = []
    neutral: list[dict[str, Any]] = []
    ups: list[float] = []
    floors: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        import yaml

        Path(tmp, "Pulumi.large.yaml").write_text(yaml.safe_dump({"config": cfg}))
        plan_runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            plan = build_plan(cfg, "large")
            plan_runs.append(time.perf_counter() - t0)
        for _ in range(runs):  # alternating, so that load changes hit both alike
            applies.append(_child("apply", tmp))
            bares.append(_child("bare", tmp))
            neutral.append(_child("bare-gc", tmp))
            floors.append(_wall([sys.executable, "-c", "import pulumi"]))
            ups.append(_up_from_nothing())
    plan_s = min(plan_runs)
    apply_s = statistics.median(a["seconds"] for a in applies)
    bare_s = statistics.median(b["seconds"] for b in bares)
    apply_rss = statistics.median(a["rss_mb"] for a in applies)
    bare_rss = statistics.median(b["rss_mb"] for b in bares)
    ratios = [a["seconds"] / b["seconds"] for a, b in zip(applies, bares)]
    ratio = statistics.median(ratios)
    neutral_s = statistics.median(b["seconds"] for b in neutral)
    neutral_ratios = [a["seconds"] / b["seconds"] for a, b in zip(applies, neutral)]
    neutral_ratio = statistics.median(neutral_ratios)
    neutral_cpu = statistics.median(b["cpu"] for b in neutral)
    apply_cpu = statistics.median(a["cpu"] for a in applies)
    bare_cpu = statistics.median(b["cpu"] for b in bares)
    up_s, floor_s = statistics.median(ups), statistics.median(floors)
    n_tunnels = sum(len(c.tunnels) for c in plan.connections)
    print(
        f"topology: {len(plan.vpcs)} VPCs in {len(plan.regions())} regions, "
        f"{len(plan.spec.datacenters)} datacenters, {len(plan.connections)} VPN connections "
        f"({n_tunnels} tunnels), {len(plan.peerings)} peerings; "
        f"{applies[0]['resources']} resources (bare loop: {bares[0]['resources']})"
    )
    print(f"median of {runs} runs each, fresh processes, alternating (the machine may be shared)")
    print(f"plan and validate         {plan_s:7.3f} s   (target <= 0.5 s)   {_ok(plan_s <= 0.5)}")
    print(
        f"offline apply             {apply_s:7.2f} s   ({_spread([a['seconds'] for a in applies])})"
        f"   peak RSS {apply_rss:4.0f} MB (target <= {TARGET_RSS_MB} MB) "
        f"{_ok(apply_rss <= TARGET_RSS_MB)}"
    )
    print(
        f"bare Pulumi mock loop     {bare_s:7.2f} s   ({_spread([b['seconds'] for b in bares])})"
        f"   peak RSS {bare_rss:4.0f} MB"
    )
    print(
        f"ratio apply / bare        {ratio:7.2f} x   (target <= {TARGET_RATIO} x)   "
        f"{_ok(ratio <= TARGET_RATIO)}   (median of the per-run ratios: {_spread(ratios)})"
    )
    print(
        f"CPU time apply / bare     {apply_cpu / bare_cpu:7.2f} x   ({apply_cpu:.2f} s / "
        f"{bare_cpu:.2f} s: less sensitive to other processes than wall time)"
    )
    print(
        f"bare loop, the apply's GC {neutral_s:7.2f} s   "
        f"({_spread([b['seconds'] for b in neutral])})   (heap frozen, young-generation "
        "threshold as the apply's)"
    )
    print(
        f"ratio apply / that        {neutral_ratio:7.2f} x   ({_spread(neutral_ratios)}; CPU "
        f"{apply_cpu / neutral_cpu:.2f} x: GC-neutral, what crossnet itself adds)"
    )
    print(
        f"crossnet up, dev, from nothing {up_s:5.2f} s   ({_spread(ups)}; target <= "
        f"{TARGET_UP_S} s) {_ok(up_s <= TARGET_UP_S)}"
    )
    print(
        f"python -c 'import pulumi' {floor_s:7.2f} s   ({_spread(floors)}): up = "
        f"{up_s / floor_s:.1f} x the floor"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
