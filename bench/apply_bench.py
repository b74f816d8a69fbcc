"""Benchmark: plan and offline apply of a large topology.

Prints plan-and-validate time, offline apply wall time and peak RSS, the
resource count, and the ratio of the offline apply to a bare loop declaring
the same resources under plain Pulumi mocks. Targets (2-core machine):
plan <= 0.5 s, apply <= 20 s, peak RSS <= 700 MB.

Run: .venv/bin/python bench/apply_bench.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.topology import large_config  # noqa: E402


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
    import pulumi
    from pulumi.runtime.stack import wait_for_rpcs
    from pulumi.runtime.sync_await import _sync_await
    from network.plan import build_plan
    from network.stack_file import read_stack_config

    class Plain(pulumi.runtime.Mocks):
        count = 0
        def new_resource(self, args):
            Plain.count += args.custom
            return args.name + "-id", dict(args.inputs)
        def call(self, args):
            return {{}}, None

    pulumi.runtime.set_mocks(Plain(), project="crossnet", stack="large", preview=False)
    from network.program import declare
    declare(build_plan(read_stack_config("large"), "large"))
    _sync_await(wait_for_rpcs())
    n = Plain.count
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": dt, "rss_mb": rss, "resources": n}}))
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
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    from network.plan import build_plan

    cfg = large_config()
    with tempfile.TemporaryDirectory() as tmp:
        import yaml

        Path(tmp, "Pulumi.large.yaml").write_text(yaml.safe_dump({"config": cfg}))
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            plan = build_plan(cfg, "large")
            runs.append(time.perf_counter() - t0)
        plan_s = min(runs)
        apply = _child("apply", tmp)
        bare = _child("bare", tmp)
    n_tunnels = sum(len(c.tunnels) for c in plan.connections)
    print(
        f"topology: {len(plan.vpcs)} VPCs in {len(plan.regions())} regions, "
        f"{len(plan.spec.datacenters)} datacenters, {len(plan.connections)} VPN connections "
        f"({n_tunnels} tunnels), {len(plan.peerings)} peerings"
    )
    print(
        f"plan and validate      {plan_s:7.3f} s   (target <= 0.5 s)   "
        f"{'ok' if plan_s <= 0.5 else 'OVER'}"
    )
    print(
        f"offline apply          {apply['seconds']:7.2f} s   (target <= 20 s)    "
        f"{'ok' if apply['seconds'] <= 20 else 'OVER'}"
    )
    print(
        f"offline apply peak RSS {apply['rss_mb']:7.0f} MB  (target <= 700 MB)  "
        f"{'ok' if apply['rss_mb'] <= 700 else 'OVER'}"
    )
    print(f"resources              {apply['resources']:7d}")
    print(
        f"bare mocks loop        {bare['seconds']:7.2f} s   ({bare['resources']} resources, "
        f"peak RSS {bare['rss_mb']:.0f} MB)"
    )
    print(f"ratio apply / bare     {apply['seconds'] / bare['seconds']:7.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
