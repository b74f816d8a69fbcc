"""Lab benchmark: what the local lab costs and what failures cost, per stack.

    sudo .venv/bin/python bench/lab_bench.py [--stacks dev,prod] [--runs 1]

For each stack, from nothing (a private state directory):

- time to green: exactly the commands a user runs, one after another, each its
  own process, timed as one run from the start of the first to the end of the
  last (and each command's own time): `crossnet up` (offline apply), `crossnet
  render`, `crossnet lab up`, `crossnet check --quick` (every non-destructive
  check passing); and inside
  them: `lab up`'s steps (namespaces, each kind of daemon started), each
  tunnel end's SAs, each BGP session Established, each router's prefixes
  converged (`lab up --timings`), and each check's time (the JUnit XML);
- `--full-check`: the whole `crossnet check` too (failover tests included);
- `--baseline DIR`: the same commands from another checkout (the code before
  a change), run side by side, alternating, in the same invocation: the
  machine is shared, so only figures taken together compare;
- lab memory: PSS of every process the lab started, by kind (RSS and private beside);
- `--scale 1,2,4,6`: the largest bench topology (bench/topology.py: 40 VPCs, a TGW
  with ECMP, N datacenters x 2 routers) at each size in turn, from nothing:
  time to green, lab up, check, memory; then how each grows per tunnel (a
  least-squares fit), and the largest size that worked if one failed.
  `--stacks large` is the full size alone (6 datacenters, 24 tunnels);
- throughput through one tunnel: one TCP flow, datacenter host -> VPC host;
- failover with AWS's timers (BGP 10/30, DPD 30 s): silent path failure of
  the tunnel the flow crosses (target <= 35 s with BGP; a static connection,
  staging, has only DPD: about 40 s, see docs/lab.md), and an IKE DELETE from
  the AWS end (target <= 1 s); failback after each.

A script, not a test: it prints figures, and exits 1 only when the lab
cannot be built. It needs root, and no lab of the same stack running.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.lab_report import show, show_scale  # noqa: E402  (after the path)

THROUGHPUT_BYTES = 128 * 1024 * 1024
APPLY_BOUND = 300
FALLBACK: Path | None = None  # a state directory whose outputs.json serve when the apply fails


def crossnet(*args: str, timeout: float = 600, code: Path = ROOT) -> tuple[int, float, str]:
    """One crossnet command as a user runs it (its own process, Python's start-up
    included), from the checkout `code`."""
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "network.cli", *args],
        cwd=code,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return r.returncode, time.monotonic() - t0, (r.stdout + r.stderr)


def memory(stack: str) -> dict[str, Any]:
    """The lab's memory (network/lab/memory.py: PSS of every process it started, by
    PID from its own records), MiB: `memory` by kind, RSS and private beside it; and
    the lab's size (tunnels, processes, namespaces), which the scale sweep fits on."""
    from network.lab.memory import lab_memory
    from network.lab.runtime import read_state

    r = lab_memory(stack)
    t = r.total
    state = read_state(stack)
    return {
        "memory": r.mib(),
        "memory RSS": round(t.rss / 1024, 1),
        "memory private": round(t.uss / 1024, 1),
        "memory per process": {n: round(k.pss / 1024 / k.count, 2) for n, k in r.kinds.items()},
        "size": {
            "tunnels": sum(1 for p in state.procs if p.name.startswith("charon dc ")),
            "processes": len(state.procs),
            "namespaces": len(state.namespaces),
        }
        if state
        else {},
    }


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
    out: dict[str, Any] = {"routing": flow.connection.routing}
    if flow.connection.routing != "bgp":
        out["routing"] = "static: only DPD notices a dead path (AWS: 10 s idle, then ~24 s)"
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


def breakdown(stack: str) -> dict[str, Any]:
    """Inside `lab up` (its steps and timeline.json) and `check` (the JUnit XML)."""
    from network.state import lab_dir, state_dir

    out: dict[str, Any] = {}
    lab = (
        json.loads((lab_dir(stack) / "lab.json").read_text())
        if (lab_dir(stack) / "lab.json").exists()
        else {}
    )
    out["lab up steps"] = lab.get("timings", {})
    tl = lab_dir(stack) / "timeline.json"
    out["lab up timeline"] = json.loads(tl.read_text()) if tl.exists() else {}
    junit = state_dir(stack) / "check" / "junit.xml"
    if junit.exists():
        import xml.etree.ElementTree as ET

        out["checks"] = {
            f"{c.get('classname', '').rsplit('.', 1)[-1]}::{c.get('name')}": float(c.get("time", 0))
            for c in ET.parse(junit).iter("testcase")
        }
    return out


def green(stack: str, code: Path, full: bool) -> dict[str, Any]:
    """From nothing to every non-destructive check passing, as a user runs it: one run
    of the four commands one after another, each its own process; `time to green` is
    that run's wall clock (from the start of `up` to the end of `check --quick`), the
    phases are each command's own."""
    res: dict[str, Any] = {}
    t_start = time.monotonic()
    try:
        rc, apply_s, text = crossnet(
            "up", "--stack", stack, "--seed", "1", timeout=APPLY_BOUND, code=code
        )
    except subprocess.TimeoutExpired:
        rc, apply_s, text = 1, float(APPLY_BOUND), f"did not finish in {APPLY_BOUND} s"
    if rc != 0:
        # Measure the lab anyway, from outputs an earlier apply wrote.
        if not FALLBACK or not (FALLBACK / stack / "outputs.json").exists():
            raise SystemExit(f"offline apply of {stack} failed:\n{text[-2000:]}")
        target = Path(os.environ["CROSSNET_STATE_DIR"]) / stack
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(FALLBACK / stack / "outputs.json", target / "outputs.json")
        res["apply"] = f"failed ({text.strip().splitlines()[-1][:100]}); outputs from {FALLBACK}"
        t_start += apply_s  # the run starts with the render then
        apply_s = 0.0
    rc, render_s, text = crossnet("render", "--stack", stack, code=code)
    if rc != 0:
        raise SystemExit(f"render {stack} failed:\n{text[-2000:]}")
    rc, up_s, text = crossnet("lab", "up", "--stack", stack, code=code)
    if rc != 0:
        raise SystemExit(f"lab up {stack} failed:\n{text[-3000:]}")
    rc, check_s, text = crossnet("check", "--stack", stack, "--quick", code=code)
    wall = time.monotonic() - t_start
    res["green"] = rc == 0
    res.setdefault("apply", apply_s)
    res["render"], res["lab up"], res["check"] = render_s, up_s, check_s
    res["time to green"] = wall  # one run, end to end
    res["phases' sum"] = apply_s + render_s + up_s + check_s
    res["lab up -> green"] = up_s + check_s
    if rc != 0:
        res["check output"] = text[-1500:]
    res["breakdown"] = breakdown(stack)
    if full:
        rc, full_s, text = crossnet("check", "--stack", stack, code=code)
        res["full check"] = full_s
        res["full check green"] = rc == 0
        res["full check breakdown"] = breakdown(stack).get("checks", {})
        if rc != 0:
            res["full check output"] = text[-1500:]
    return res


def _not_running(stack: str) -> None:
    from network.lab.system import namespaces
    from network.lab.topology import ns_prefix

    if any(n.startswith(ns_prefix(stack)) for n in namespaces()):
        raise SystemExit(f"a lab of stack {stack} is running: `crossnet lab down --stack {stack}`")


def bench_baseline(stack: str, code: Path, full: bool) -> dict[str, Any]:
    """The green figures only, with the code of another checkout."""
    _not_running(stack)
    res: dict[str, Any] = {}
    try:
        res.update(green(stack, code, full))
    finally:
        _, down_s, _ = crossnet("lab", "down", "--stack", stack, code=code)
        res["lab down"] = down_s
    return res


def bench(stack: str, full: bool = False, failures: bool = True) -> dict[str, Any]:
    _not_running(stack)
    res: dict[str, Any] = {}
    try:
        res.update(green(stack, ROOT, full))
        res.update(memory(stack))
        if failures:
            phase(res, "throughput", throughput, stack)
            phase(res, "silent", silent_failure, stack)
            if not isinstance(res.get("silent failback"), float):
                fresh_lab(stack, res)
            phase(res, "IKE DELETE", ike_delete, stack)
    finally:
        _, down_s, _ = crossnet("lab", "down", "--stack", stack)
        res["lab down"] = down_s
    return res


# ================================================================= scale
# The largest bench topology (bench/topology.py, the one apply_bench applies) in the
# lab, at several sizes: stacks the bench writes into a private stacks directory.
SCALE_PREFIX = "scale"
LARGE = "large"  # the full size: 6 datacenters x 2 routers, 24 tunnels
STACKS_DIR: Path | None = None


def generated(stack: str) -> dict[str, Any] | None:
    """The config of a bench-generated stack (`large`, `scale<N>`: N datacenters), or None."""
    from bench.topology import large_config

    if stack == LARGE:
        return large_config()
    digits = stack[len(SCALE_PREFIX) :]
    if stack.startswith(SCALE_PREFIX) and digits.isdigit() and int(digits) > 0:
        return large_config(datacenters=int(digits))
    return None


def use_stack(stack: str) -> None:
    """Point the commands at the stack's file: a generated stack's in the bench's own
    stacks directory (written once), every other stack's in the project's stacks/."""
    global STACKS_DIR
    cfg = generated(stack)
    if cfg is None:
        os.environ.pop("CROSSNET_STACKS_DIR", None)
        return
    import yaml

    if STACKS_DIR is None:
        STACKS_DIR = Path(tempfile.mkdtemp(prefix="crossnet-bench-stacks-"))
    path = STACKS_DIR / f"Pulumi.{stack}.yaml"
    if not path.exists():
        path.write_text(yaml.safe_dump({"config": cfg}))
    os.environ["CROSSNET_STACKS_DIR"] = str(STACKS_DIR)


@contextmanager
def lab_lock(path: Path | None) -> Iterator[None]:
    """`--lock FILE`: the machine's lab lock, held for one stack's run at a time (so a
    long sweep lets others use the lab between its sizes)."""
    if path is None:
        yield
        return
    import fcntl

    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def scale_point(stack: str) -> dict[str, Any]:
    """One size from nothing: time to green, memory and the lab's size (no failover).
    A size that cannot be built is a result too: why, in `failed`."""
    try:
        return bench(stack, failures=False)
    except SystemExit as e:
        text = str(e.code)
        return {"failed": text.strip().splitlines()[0][:200], "output": text[-2000:]}
    except subprocess.TimeoutExpired as e:
        argv = e.cmd[3:] if isinstance(e.cmd, list) else e.cmd
        return {"failed": f"`crossnet {' '.join(argv)}` did not finish within {e.timeout:g} s"}


def sweep(sizes: list[int], lock: Path | None, json_out: Path | None) -> None:
    """`--scale`: each size from nothing in turn, smallest first; stop at the first that
    fails (the next would fail as well, only later)."""
    points: list[tuple[int, dict[str, Any]]] = []
    for n in sorted(set(sizes)):
        stack = f"{SCALE_PREFIX}{n}"
        use_stack(stack)
        os.environ["CROSSNET_STATE_DIR"] = tempfile.mkdtemp(prefix="crossnet-bench-")
        print(f"scale: {n} datacenters ({stack}) ...", flush=True)
        with lab_lock(lock):
            r = scale_point(stack)
        points.append((n, r))
        print(json.dumps(r, default=str)[:1500], flush=True)
        if json_out:
            json_out.write_text(json.dumps({"scale": points}, indent=1, default=str))
        if "failed" in r:
            break
    show_scale(points)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default="dev,staging,prod")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--outputs-from",
        type=Path,
        default=None,
        help="state directory whose outputs.json to use if the offline apply "
        "fails (default: $CROSSNET_STATE_DIR or .crossnet)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another checkout (the code before a change): its time-to-green figures "
        "are taken in the same invocation, alternating run by run",
    )
    parser.add_argument("--full-check", action="store_true", help="also time `crossnet check`")
    parser.add_argument(
        "--green-only",
        action="store_true",
        help="time to green (and --full-check) only: no memory, throughput or failover",
    )
    parser.add_argument(
        "--scale",
        default=None,
        help="datacenter counts, e.g. 1,2,4,6: the bench topology in the lab at each size "
        "(time to green, memory; the growth per tunnel fitted); instead of --stacks",
    )
    parser.add_argument(
        "--lock",
        type=Path,
        default=None,
        help="a lock file (e.g. /tmp/crossnet-lab.lock) held for each stack's run, "
        "released between them",
    )
    args = parser.parse_args()
    global FALLBACK
    FALLBACK = args.outputs_from or Path(os.environ.get("CROSSNET_STATE_DIR", ROOT / ".crossnet"))
    if os.geteuid() != 0:
        print("the lab benchmark needs root", file=sys.stderr)
        return 1
    results: dict[str, list[dict[str, Any]]] = {}
    print(f"load average at start: {os.getloadavg()}")
    if args.scale:
        sweep([int(n) for n in args.scale.split(",")], args.lock, args.json)
        print(f"load average at the end: {os.getloadavg()}")
        return 0
    for run in range(args.runs):
        for stack in args.stacks.split(","):
            todo: list[tuple[str, Any]] = []
            if args.baseline:
                todo.append(
                    (
                        f"{stack} baseline",
                        lambda s=stack: bench_baseline(s, args.baseline, args.full_check),
                    )
                )
            todo.append((stack, lambda s=stack: bench(s, args.full_check, not args.green_only)))
            for label, func in todo:
                # Every run from nothing: its own state directory.
                os.environ["CROSSNET_STATE_DIR"] = tempfile.mkdtemp(prefix="crossnet-bench-")
                print(f"{label} run {run + 1}/{args.runs} ...", flush=True)
                use_stack(stack)
                with lab_lock(args.lock):
                    results.setdefault(label, []).append(func())
                print(json.dumps(results[label][-1], default=str)[:3000], flush=True)
                if args.json:
                    args.json.write_text(json.dumps(results, indent=1, default=str))
    print(f"load average at the end: {os.getloadavg()}")
    show(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
