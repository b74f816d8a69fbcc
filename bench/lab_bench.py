"""Lab benchmark: what the local lab costs and what failures cost, per stack.

    sudo .venv/bin/python bench/lab_bench.py [--stacks dev,prod] [--runs 1]

For each stack, from nothing (a private state directory):

- time to green: offline apply + `crossnet lab up` + `crossnet check --quick`
  (every non-destructive check passing), and each part;
- lab memory: RSS of every process the lab started, by kind;
- throughput through one tunnel: one TCP flow, datacenter host -> VPC host;
- failover with AWS's timers (BGP 10/30, DPD 30 s): silent path failure of
  the tunnel the flow crosses (target <= 35 s), and an IKE DELETE from the
  AWS end (target <= 1 s); failback after each.

A script, not a test: it prints figures, and exits 1 only when the lab
cannot be built. It needs root, and no lab of the same stack running.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"time to green": "<= 20 s (dev)", "silent failover": "<= 35 s", "IKE DELETE": "<= 1 s"}
THROUGHPUT_BYTES = 128 * 1024 * 1024
APPLY_BOUND = 300
FALLBACK: Path | None = None  # a state directory whose outputs.json serve when the apply fails


def crossnet(*args: str, timeout: float = 600) -> tuple[int, float, str]:
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "network.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return r.returncode, time.monotonic() - t0, (r.stdout + r.stderr)


def memory(stack: str) -> dict[str, float]:
    from network.lab.runtime import open_lab
    from network.lab.system import alive, rss_kib

    rt = open_lab(stack)
    kinds: dict[str, float] = {}
    for p in rt.state.procs:
        if alive(p):
            kind = p.name.split()[0]
            kinds[kind] = kinds.get(kind, 0.0) + rss_kib(p.pid) / 1024
    kinds["total"] = sum(kinds.values())
    return kinds


def _flow(stack: str) -> Any:
    from network.lab import faults
    from network.lab.runtime import open_lab

    return faults.find_flow(open_lab(stack))


def throughput(stack: str) -> dict[str, Any]:
    """One TCP flow, datacenter host -> VPC host, over the tunnel it crosses."""
    flow = _flow(stack)
    if flow is None:
        return {"flow": "none: no datacenter -> VPC flow with ICMP and TCP admitted"}
    r = subprocess.run(
        flow.send_argv(THROUGHPUT_BYTES, timeout=240), capture_output=True, text=True, timeout=300
    )
    sent = json.loads(r.stdout.strip().splitlines()[-1])
    return {
        "flow": f"{flow.dc.name} -> {flow.vpc.name} over {flow.tunnel}",
        "timers": flow.rt.state.timers,
        "throughput": sent.get("mbps") if sent.get("ok") else f"failed: {sent}",
    }


def silent_failure(stack: str) -> dict[str, Any]:
    """Silent path failure of the flow's tunnel with AWS's timers, then the path back."""
    from network.lab import aws, faults
    from network.lab.system import LabError

    flow = _flow(stack)
    out: dict[str, Any] = {}
    flow.wait("before the silent failure", frozenset(), 60)
    pinger = flow.pinger().start(max_seconds=900)
    try:
        time.sleep(1)
        t_cut = time.time()
        faults.cut_path(flow.rt, flow.tunnel)
        t_moved = flow.wait("failover", frozenset({flow.tunnel}), flow.silent_bound + 30)
        time.sleep(1)
        t_restore = time.time()
        faults.restore_path(flow.rt, flow.tunnel)
        first = flow.wait("failback", frozenset(), 120)
        out["silent: routes back after restore"] = first - t_restore
        # AWS's DPD may still clear the SA the cut starved: failback is done when
        # the routes stay as planned for longer than AWS's DPD timeout.
        dpd = aws.TIMERS[flow.rt.state.timers].dpd_dead_after()
        try:
            t_back = flow.wait_stable("failback", dpd + 5, 300)
            out["silent failback"] = t_back - t_restore
        except LabError as e:
            out["silent failback"] = f"not within 300 s of the restore: {e}"
    finally:
        faults.restore_path(flow.rt, flow.tunnel)
        pinger.stop()
    out["silent failover"] = faults.outage(pinger, t_cut, t_moved + 1)
    out["silent: routes moved"] = t_moved - t_cut
    return out


def ike_delete(stack: str) -> dict[str, Any]:
    """An IKE DELETE from the AWS end of the flow's tunnel; the datacenter restarts it."""
    from network.lab import faults
    from network.lab.system import LabError

    flow = _flow(stack)
    out: dict[str, Any] = {}
    flow.wait_stable("before the IKE DELETE", 5, 60)
    pinger = flow.pinger().start()
    spi = flow.child_spi()
    try:
        time.sleep(1)
        t_del = time.time()
        faults.ike_delete(flow.rt, flow.tunnel)
        deadline = time.time() + 30
        while flow.child_spi() in (spi, None) and time.time() < deadline:
            time.sleep(0.05)
        try:
            t_back = flow.wait("back after the DELETE", frozenset(), 60)
            out["IKE DELETE failback"] = t_back - t_del
        except LabError as e:
            t_back = time.time()
            out["IKE DELETE failback"] = f"not within 60 s: {e}"
        time.sleep(1)
    finally:
        pinger.stop()
    out["IKE DELETE"] = faults.outage(pinger, t_del, t_back)
    return out


def phase(res: dict[str, Any], name: str, func: Any, stack: str) -> bool:
    """Run one measurement; a failure is recorded, never raised. True when it passed."""
    from network.lab.system import LabError

    try:
        res.update(func(stack))
        return True
    except (LabError, OSError, subprocess.SubprocessError, ValueError) as e:
        res[f"{name} error"] = str(e).splitlines()[0][:300]
        return False


def fresh_lab(stack: str, res: dict[str, Any]) -> None:
    """Down and up again: the next measurement starts from a converged lab."""
    crossnet("lab", "down", "--stack", stack)
    code, _s, text = crossnet("lab", "up", "--stack", stack)
    if code != 0:
        raise SystemExit(f"lab up {stack} failed:\n{text[-3000:]}")
    res["note"] = (
        res.get("note", "") + " lab rebuilt before the IKE DELETE (it had not "
        "converged back after the silent failure)."
    ).strip()


def bench(stack: str) -> dict[str, Any]:
    from network.lab.system import namespaces
    from network.lab.topology import ns_prefix

    if any(n.startswith(ns_prefix(stack)) for n in namespaces()):
        raise SystemExit(f"a lab of stack {stack} is running: `crossnet lab down --stack {stack}`")
    res: dict[str, Any] = {}
    try:
        code, apply_s, text = crossnet("up", "--stack", stack, "--seed", "1", timeout=APPLY_BOUND)
    except subprocess.TimeoutExpired:
        code, apply_s, text = 1, float(APPLY_BOUND), f"did not finish in {APPLY_BOUND} s"
    if code != 0:
        # Measure the lab anyway, from outputs an earlier apply wrote.
        if not FALLBACK or not (FALLBACK / stack / "outputs.json").exists():
            raise SystemExit(f"offline apply of {stack} failed:\n{text[-2000:]}")
        target = Path(os.environ["CROSSNET_STATE_DIR"]) / stack
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(FALLBACK / stack / "outputs.json", target / "outputs.json")
        res["apply"] = f"failed ({text.strip().splitlines()[-1][:100]}); outputs from {FALLBACK}"
        apply_s = 0.0
    code, up_s, text = crossnet("lab", "up", "--stack", stack)
    if code != 0:
        raise SystemExit(f"lab up {stack} failed:\n{text[-3000:]}")
    try:
        code, check_s, text = crossnet("check", "--stack", stack, "--quick")
        res["green"] = code == 0
        res.setdefault("apply", apply_s)
        res["lab up"], res["check"] = up_s, check_s
        res["time to green"] = apply_s + up_s + check_s
        res["lab up -> green"] = up_s + check_s
        if code != 0:
            res["check output"] = text[-1500:]
        res["memory"] = memory(stack)
        phase(res, "throughput", throughput, stack)
        phase(res, "silent", silent_failure, stack)
        if not isinstance(res.get("silent failback"), float):
            fresh_lab(stack, res)
        phase(res, "IKE DELETE", ike_delete, stack)
    finally:
        _, down_s, _ = crossnet("lab", "down", "--stack", stack)
        res["lab down"] = down_s
    return res


def show(results: dict[str, list[dict[str, Any]]]) -> None:
    rows = [
        "time to green",
        "apply",
        "lab up",
        "check",
        "lab up -> green",
        "lab down",
        "memory",
        "throughput",
        "silent failover",
        "silent: routes moved",
        "silent: routes back after restore",
        "silent failback",
        "IKE DELETE",
        "IKE DELETE failback",
    ]
    units = {"memory": "MiB", "throughput": "Mb/s"}
    stacks = list(results)
    print(f"\n{'':<34}" + "".join(f"{s:>16}" for s in stacks) + "   target")
    for row in rows:
        line = f"{row:<34}"
        for s in stacks:
            vals = [r.get(row) for r in results[s]]
            if row == "memory":
                vals = [r.get("memory", {}).get("total") for r in results[s]]
            nums = [v for v in vals if isinstance(v, (int, float))]
            if nums:
                cell = f"{statistics.median(nums):.2f} {units.get(row, 's')}"
                if len(nums) > 1:
                    cell = f"{min(nums):.1f}-{max(nums):.1f} {units.get(row, 's')}"
            else:
                cell = "n/a" if not vals or vals[0] is None else "see below"
            line += f"{cell:>16}"
        print(line + f"   {TARGETS.get(row, '')}")
    for s in stacks:
        for i, r in enumerate(results[s]):
            print(
                f"\n{s} run {i + 1}: flow {r.get('flow')}, timers {r.get('timers')}, "
                f"green {r.get('green')}"
            )
            mem = r.get("memory", {})
            print("  memory by kind: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in mem.items()))
            for k, v in r.items():
                if isinstance(v, str) and k not in ("flow", "timers"):
                    print(f"  {k}: {v}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default="dev,prod")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--outputs-from",
        type=Path,
        default=None,
        help="state directory whose outputs.json to use if the offline apply "
        "fails (default: $CROSSNET_STATE_DIR or .crossnet)",
    )
    args = parser.parse_args()
    global FALLBACK
    FALLBACK = args.outputs_from or Path(os.environ.get("CROSSNET_STATE_DIR", ROOT / ".crossnet"))
    if os.geteuid() != 0:
        print("the lab benchmark needs root", file=sys.stderr)
        return 1
    state = tempfile.mkdtemp(prefix="crossnet-bench-")
    os.environ["CROSSNET_STATE_DIR"] = state
    print(f"state directory: {state}")
    results: dict[str, list[dict[str, Any]]] = {}
    for stack in args.stacks.split(","):
        for run in range(args.runs):
            print(f"{stack} run {run + 1}/{args.runs} ...", flush=True)
            results.setdefault(stack, []).append(bench(stack))
            print(json.dumps(results[stack][-1], default=str), flush=True)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1, default=str))
    show(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
