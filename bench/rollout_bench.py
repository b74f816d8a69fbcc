"""Rollout benchmark: per change class, the safe order and the naive one, side by side.

    sudo .venv/bin/python bench/rollout_bench.py [--only psk,tunnel-options] [--mib 50]
    sudo .venv/bin/python bench/rollout_bench.py --stack rprod   # prod's lab only
    sudo .venv/bin/python bench/rollout_bench.py --only prod-dc-prefix --stack rprod

The classes are the scenarios of `tests/rollout_lab/scenarios.py` (SCENARIOS), the same
edits the lab tests prove. Scenarios of one stack share one lab (a private state
directory, `--timers fast`), brought up once, in the registry's order. Per class the
change is made twice, each time while a 20 ms ping and a paced, SHA-256-checked TCP
transfer run between the datacenter host and the VPC host (network.lab.traffic):

- safe:  `crossnet rollout --stack S --lab` (drain, apply, routers, restore, checks);
- naive: the same kind of change applied at once (`network.rollout.execute.execute_naive`:
  the offline apply of the edited file, the lab's AWS side and the routers changed
  together, no drain, no check; a replaced connection deleted first).

Printed per class and order (a rich table): steps, wall time, pings sent and lost,
probe loss (ms: lost pings x 20 ms), bytes lost, whether the transfer arrived intact
and whether it was still running when the change ended (it spans the change); for an
added DC prefix (`new_prefixes`) also the new prefix's own ping (from its host address,
counted from AWS's gateway's first route to it: tests/rollout_lab/newprefix.probing),
its naive order the routers announcing before the apply (`naive_order`). A
script, not a test: it asserts nothing; exit 1 only when a lab cannot be built. Needs
root; run it under `flock /tmp/crossnet-lab.lock`. Wall times on a shared machine are
noisy: compare safe with naive of the same run.

Adding a class (a prod PSK, a DC prefix withdrawn, ...): one `Scenario` in
tests/rollout_lab/scenarios.py's SCENARIOS, with the stack its lab runs (`stack`,
`stack_file`: dev's, or a builder such as `rtgw_stack`; a new stack name gets its own
lab), the edit the safe order rolls out, the edit of the same kind its naive order
applies (made after the safe one, so it must differ from it), what the naive order
deletes first (`naive_destroy`, a replacement), whether the naive order needs the lab as
it was before the safe one (`naive_fresh`: the lab is rebuilt in between, as for vgw-to-
tgw, which cannot move twice), what readies the lab before each order (`safe_before`,
`naive_before`: a DC prefix's addresses put in use) and the transfer's pace (`mbps`: 50
MiB must outlast the safe order). Write the edit as a builder there and use the same
entry in the class's lab test (`BY_NAME["<class>"].safe`), so the bench measures what
the test proves.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml
from netaddr import IPNetwork

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from network import cli  # noqa: E402
from network.lab import control, traffic  # noqa: E402
from network.lab.faults import find_flow  # noqa: E402
from network.lab.readiness import wait_ready  # noqa: E402
from network.lab.runtime import open_lab  # noqa: E402
from network.lab.topology import HOST_OFFSET  # noqa: E402
from network.rollout.execute import execute_naive, read_progress  # noqa: E402
from tests.rollout_lab.newprefix import probing  # noqa: E402
from tests.rollout_lab.scenarios import SCENARIOS, Edit, Scenario  # noqa: E402


def edit_stack(stacks: Path, stack: str, edit: Edit) -> Path:
    path = stacks / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    edit(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def quiet(_: str) -> None:
    pass


def measure(
    stack: str,
    run: Callable[[], int],
    nbytes: int,
    mbps: float,
    via: tuple[str, str] | None,
    prefix: str | None = None,
) -> dict[str, Any]:
    """`run` while the traffic flows; with `prefix` (a DC prefix being added, its
    addresses in use), also the new prefix's own probe (newprefix.probing)."""
    rt = open_lab(stack)
    # a scenario's `via`: along a flow that leaves by the router it changes (prod's ECMP)
    flow = find_flow(rt, datacenter=via[0], router=via[1]) if via else None
    with ExitStack() as probes:
        new: dict[str, Any] = {}
        if prefix:
            src = str(IPNetwork(prefix)[HOST_OFFSET])  # newprefix.space_in_use's host
            new = probes.enter_context(probing(rt, src, prefix, flow))
        t = traffic.start(rt, nbytes, mbps, flow=flow)
        t0 = time.monotonic()
        steps = run()
        wall = time.monotonic() - t0
        spans = t.send.poll() is None
        m = t.finish()
    wait_ready(open_lab(stack), 90)  # converged again before the next row
    return {"steps": steps, "wall": round(wall, 1), "spans": spans, **m, **new}


def build(s: Scenario, stacks: Path) -> None:
    """The scenario's lab from its stack file, applied afresh (no state) and up."""
    (stacks / f"Pulumi.{s.stack}.yaml").write_text(s.stack_file())
    shutil.rmtree(Path(os.environ["CROSSNET_STATE_DIR"]) / s.stack, ignore_errors=True)
    if cli.main(["up", "--stack", s.stack]) != 0:
        raise SystemExit(1)
    control.up(s.stack, timers="fast")


def run_class(s: Scenario, stacks: Path, nbytes: int, mbps: float | None) -> list[dict[str, Any]]:
    """The safe order, then the naive one, of one scenario on its running lab (rebuilt
    in between when the naive order must start from the lab as it was: `naive_fresh`)."""
    edit_stack(stacks, s.stack, s.safe)

    def safe() -> int:
        if cli.main(["rollout", "--stack", s.stack, "--lab"]) != 0:
            return -1  # the rollout failed: the row says so
        p = read_progress(s.stack)
        return len(p.steps) if p else 0

    pace = mbps or s.mbps
    prefixes = s.new_prefixes or (None, None)
    if s.safe_before:
        s.safe_before(s.stack)
    safe_row = measure(s.stack, safe, nbytes, pace, s.via, prefixes[0])
    rows = [{"class": s.name, "order": "safe", **safe_row}]
    if s.naive_fresh:
        control.down(s.stack)
        build(s, stacks)
    if s.naive_before:
        s.naive_before(s.stack)
    path = edit_stack(stacks, s.stack, s.naive)

    def naive() -> int:
        if s.naive_order:
            s.naive_order(s.stack, path)
        else:
            execute_naive(s.stack, path, quiet, destroy=s.naive_destroy)
        return 1

    naive_row = measure(s.stack, naive, nbytes, 16.0, s.via, prefixes[1])
    rows.append({"class": s.name, "order": "naive", **naive_row})
    return rows


def run_stack(stack: str, todo: list[Scenario], tmp: Path, args: argparse.Namespace) -> list[Any]:
    """One lab for the scenarios of one stack, taken down afterwards."""
    stacks = tmp / stack
    stacks.mkdir()
    os.environ["CROSSNET_STACKS_DIR"] = str(stacks)
    rows: list[Any] = []
    try:
        build(todo[0], stacks)
        for s in todo:
            rows += run_class(s, stacks, args.mib * traffic.MIB, args.mbps)
    finally:
        control.down(stack)
    return rows


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(
        title=f"rollout bench: {args.mib} MiB paced TCP transfer, 20 ms ping, --timers fast",
        caption="safe: crossnet rollout --lab; naive: execute_naive (all at once, no drain; "
        "an added DC prefix: the routers announce before the apply). Steps -1: the rollout "
        "failed.",
    )
    for col in ("class", "order", "steps", "wall s", "pings sent", "lost", "loss ms"):
        left = col in ("class", "order")
        t.add_column(col, justify="left" if left else "right", no_wrap=left)
    t.add_column("bytes lost", justify="right")
    t.add_column("intact")
    t.add_column("spans")
    t.add_column("new prefix lost/sent", justify="right")
    for r in rows:
        new = r.get("newPrefix")
        t.add_row(
            r["class"],
            r["order"],
            str(r["steps"]),
            f"{r['wall']:g}",
            str(r["replies"] + r["lost"]),
            str(r["lost"]),
            str(r["lostMs"]),
            str(r["bytesLost"]),
            "yes" if r["transfer"].get("ok") else "NO",
            "yes" if r["spans"] else "no",
            f"{new['lost']}/{new['sent']}" if new else "-",
        )
    Console(width=None if sys.stdout.isatty() else 120).print(t)  # a log keeps whole rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    names = [s.name for s in SCENARIOS]
    ap.add_argument("--only", default=",".join(names), help=f"classes, of: {', '.join(names)}")
    ap.add_argument(
        "--mbps", type=float, default=None, help="the safe order's pace (default: the scenario's)"
    )
    ap.add_argument("--mib", type=int, default=50, help="the transfer's size")
    stacks = sorted({s.stack for s in SCENARIOS})
    ap.add_argument(
        "--stack", default="", help=f"only the scenarios of these labs, of: {', '.join(stacks)}"
    )
    args = ap.parse_args(argv)
    wanted = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        ap.error(f"--only: unknown class(es) {', '.join(unknown)}; known: {', '.join(names)}")
    labs = [x.strip() for x in args.stack.split(",") if x.strip()]
    if sorted(set(labs) - set(stacks)):
        ap.error(f"--stack: unknown {', '.join(sorted(set(labs) - set(stacks)))}")
    todo = [s for s in SCENARIOS if s.name in wanted and (not labs or s.stack in labs)]
    tmp = Path(tempfile.mkdtemp(prefix="crossnet-rollout-bench-"))
    os.environ["CROSSNET_STATE_DIR"] = str(tmp / "state")
    rows: list[dict[str, Any]] = []
    try:
        for stack in dict.fromkeys(s.stack for s in todo):
            rows += run_stack(stack, [s for s in todo if s.stack == stack], tmp, args)
    except SystemExit:
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table(rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
