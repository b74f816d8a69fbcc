"""`crossnet lab up|down|status` and `crossnet check`."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from network.cli_options import add_progress
from network.console import progress, progress_wanted
from network.lab import control, memory
from network.lab.aws import TIMERS
from network.lab.inventory import inventory_path
from network.lab.system import LabError
from network.state import lab_dir


def register(sub: Any) -> None:
    lab = sub.add_parser(
        "lab",
        help="the local lab: both sides of the stack in network namespaces",
        description="Both sides of a stack on this machine, as root: one network namespace "
        "per router, tunnel end, gateway and host, real strongSwan (userspace "
        "IPsec) and real FRR, the datacenter routers running the rendered Linux "
        "configs unchanged. See docs/lab.md.",
    )
    verbs = lab.add_subparsers(dest="verb", required=True, metavar="VERB")
    p = verbs.add_parser("up", help="build the lab and wait until it has converged")
    p.add_argument("--stack", default="dev")
    p.add_argument(
        "--outputs",
        type=Path,
        default=None,
        help="stack outputs file (default: the offline apply's outputs.json)",
    )
    p.add_argument(
        "--timers",
        choices=sorted(TIMERS),
        default="aws",
        help="AWS side timers: aws (BGP 10/30, DPD 30 s, the default) or fast "
        "(BGP 1/3, for behaviour tests)",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=control.DEFAULT_WAIT,
        help="seconds to wait for tunnels, BGP and routes (default %(default)s)",
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="leave a lab that failed to converge running, for inspection",
    )
    p.add_argument(
        "--timings",
        action="store_true",
        help="print when each step finished: namespaces, each kind of daemon started, "
        "each tunnel end's SAs, each BGP session, each router's prefixes",
    )
    add_progress(p)
    p.set_defaults(func=run_up)
    p = verbs.add_parser(
        "apply",
        help="bring the running lab to the applied outputs and stack file in place "
        "(the AWS side as AWS changes it, the routers through vici and frr-reload.py)",
    )
    p.add_argument("--stack", default="dev")
    p.set_defaults(func=run_apply)
    p = verbs.add_parser("down", help="stop the lab's processes and remove its namespaces")
    p.add_argument("--stack", default="dev")
    p.set_defaults(func=run_down)
    p = verbs.add_parser("status", help="tunnels, BGP sessions and processes of the lab")
    p.add_argument("--stack", default="dev")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(func=run_status)
    p = verbs.add_parser(
        "ssh",
        help="run sshd in the lab's router and host namespaces; write an ssh:// inventory",
        description="For the nightly's path on the lab: sshd per namespace (own key, config, "
        "pid file), a per-lab key pair and known_hosts; prints the inventory to pass to "
        "`crossnet check --inventory`. --stop stops them (by PID).",
    )
    p.add_argument("--stack", default="dev")
    p.add_argument("--stop", action="store_true", help="stop the lab's sshd processes")
    p.set_defaults(func=run_ssh)

    chk = sub.add_parser(
        "check",
        help="run the reachability suite and print the datacenter x VPC matrix",
        description="Runs tests/reachability (pytest + testinfra) against the running lab, or "
        "against real hosts with --inventory; writes JUnit XML and a summary.",
    )
    chk.add_argument("--stack", default="dev")
    chk.add_argument(
        "--inventory",
        type=Path,
        default=None,
        help="inventory of real hosts (default: the running lab's own)",
    )
    chk.add_argument(
        "--outputs",
        type=Path,
        default=None,
        help="stack outputs (`pulumi stack output --json --show-secrets`) for "
        "--inventory runs (default: the offline apply's outputs.json)",
    )
    chk.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="where junit.xml and summary.txt go (default: <state>/<stack>/check)",
    )
    chk.add_argument(
        "--quick", action="store_true", help="skip the failover tests (the lab's destructive tests)"
    )
    chk.add_argument(
        "--aws-profile",
        default=None,
        help="AWS profile for reading AWS's own view of the tunnels with --inventory "
        "(read-only; default: AWS_PROFILE, then boto3's chain; see docs/awsview.md)",
    )
    add_progress(chk)
    chk.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    chk.set_defaults(func=run_check)


def _say(text: str) -> None:
    # Progress must never be what fails a bring-up (a closed pipe, say).
    with contextlib.suppress(OSError):
        print(f"  {text}", flush=True)


def run_up(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    live = progress_wanted(args.no_progress)
    try:
        # On a terminal a live status shows the step under way; otherwise (CI, a pipe,
        # --no-progress) one line per step, as before.
        with progress(f"crossnet lab up --stack {args.stack}", live, quiet=True) as steps:
            rt = control.up(
                args.stack,
                timers=args.timers,
                outputs=args.outputs,
                wait=args.wait,
                keep=args.keep,
                say=steps.step if live else _say,
            )
    except control.AlreadyUpError as e:
        print(e.render())
        return 0
    t = rt.state.timings
    print(
        f"lab {args.stack} is up in {time.monotonic() - t0:.1f} s: "
        f"{len(rt.lab.ends) // 2} tunnels, {len(rt.state.procs)} processes, "
        f"{len(rt.lab.namespaces())} namespaces (tunnels after {t.get('tunnels_ready', 0):.1f} "
        f"s of waiting, BGP {t.get('bgp_ready', 0):.1f} s, routes {t.get('routes_ready', 0):.1f} "
        f"s), timers {args.timers}"
    )
    for note in rt.lab.notes:
        print(f"  note: {note}")
    print(f"  inventory: {inventory_path(args.stack)}")
    print(f"  logs:      {lab_dir(args.stack) / 'logs'}")
    if getattr(args, "timings", False):
        print(timings_table(args.stack, t))
        print(f"  memory: {memory.summary(memory.lab_memory(args.stack))}")
    return 0


_STEPS = {
    "network": "namespaces and links",
    "configs": "config files written",
    "charons": "charons started (one per tunnel end)",
    "tuns": "their TUNs moved",
    "frr": "FRR started (zebra, bgpd, staticd)",
    "connections": "connections loaded",
    "hosts": "hosts and listeners",
}


def timings_table(stack: str, timings: dict[str, float]) -> str:
    """`lab up --timings`: seconds since `lab up` began, each step and each item."""
    from network.lab import timeline

    lines = ["", "timings (seconds after the bring-up began):"]
    # The steps run side by side (IPsec and FRR): in the order they finished.
    for key, value in sorted(timings.items(), key=lambda kv: kv[1]):
        if key in _STEPS or (not key.endswith("_ready") and key != "up"):
            lines.append(f"  {value:6.2f}  {_STEPS.get(key, key)}")
    items = timeline.load(stack)
    for name, value in sorted(items.items(), key=lambda kv: kv[1] or 1e9):
        shown = f"{value:6.2f}" if isinstance(value, (int, float)) else "   n/a"
        lines.append(f"  {shown}  {name}")
    lines.append(
        f"  {timings.get('up', 0):6.2f}  lab up done (converged, state and inventory written)"
    )
    return "\n".join(lines)


def run_apply(args: argparse.Namespace) -> int:
    """The running lab changed in place to what `crossnet up` last applied: no drain,
    no order (`crossnet rollout --lab` is the safe way)."""
    from network.lab.live import apply_aws
    from network.lab.runtime import Running, read_state
    from network.rollout.execute import apply_routers, lab_of
    from network.state import outputs_path

    st = read_state(args.stack)
    if st is None:
        raise LabError(
            f"the lab of stack {args.stack!r} is not up: run `crossnet lab up --stack {args.stack}`"
        )
    new = lab_of(args.stack, None, kept=st.lan_slots)
    if sorted(new.namespaces()) != sorted(st.namespaces):
        raise LabError(
            "the applied outputs need other lab namespaces (a connection, VPC, router or host "
            f"added or removed): `crossnet lab down --stack {args.stack}` and `lab up`"
        )
    rt = apply_aws(Running(new, st), new, outputs_path(args.stack), _say)
    changed = apply_routers(rt, frozenset(), _say)
    _say(f"lab of stack {args.stack} matches the applied outputs ({len(changed)} router files)")
    return 0


def run_down(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    for line in control.down(args.stack):
        print(f"  {line}")
    print(f"lab {args.stack}: down ({time.monotonic() - t0:.1f} s)")
    return 0


def run_status(args: argparse.Namespace) -> int:
    s = control.status(args.stack)
    if args.json:
        print(json.dumps(s, indent=1))
        return 0
    running = sum(p["running"] for p in s["processes"])
    pss = s["memory"]["total"]["pss"] / 1024
    print(
        f"lab {s['stack']}: {'ready' if s['ready'] else 'NOT READY'}, up {s['uptime']:.0f} s, "
        f"timers {s['timers']}, {running}/{len(s['processes'])} processes running "
        f"({pss:.0f} MiB PSS), {len(s['namespaces'])} namespaces"
    )
    print(f"memory: {s['memory_summary']}")
    print("\ntunnels")
    print(f"  {'tunnel':<22} {'pref':<9} {'datacenter end':<34} {'AWS end':<34}")
    for t in s["tunnels"]:
        cells = [
            f"{t[side]['interface']} {t[side]['ike']}/{t[side]['child']}" for side in ("dc", "aws")
        ]
        print(f"  {t['tunnel']:<22} {t['preference']:<9} {cells[0]:<34} {cells[1]:<34}")
    print("\nBGP")
    for b in s["bgp"]:
        print(
            f"  {b['speaker']:<22} {b['neighbor']:<17} {b['state']:<12} "
            f"received {b['pfxRcd']:<3} sent {b['pfxSnt']}"
        )
    print("\nhosts")
    for h in s["hosts"]:
        tier = f" ({h['tier']} tier)" if h["tier"] else ""
        print(f"  {h['kind']:<10} {h['name']:<10} {h['address']:<15}{tier:<16} {h['ns']}")
    for note in s["notes"]:
        print(f"note: {note}")
    print(f"logs: {s['logs']}")
    return 0 if s["ready"] and running == len(s["processes"]) else 1


def run_ssh(args: argparse.Namespace) -> int:
    from network.lab.runtime import open_lab
    from network.lab.ssh import start_sshd, stop_sshd

    rt = open_lab(args.stack)
    if args.stop:
        for note in stop_sshd(rt):
            print(note)
        print(f"sshd of the lab of {args.stack!r} stopped")
        return 0
    path = start_sshd(rt)
    print(f"sshd in {len(rt.lab.routers) + len(rt.lab.hosts)} namespaces; inventory: {path}")
    print(f"crossnet check --stack {args.stack} --inventory {path} --outputs {rt.state.outputs}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from network.lab.check import check

    if args.aws_profile:
        # boto3 reads it; the suite runs in this process (network/lab/awscheck.py)
        os.environ["AWS_PROFILE"] = args.aws_profile

    return check(
        args.stack,
        inventory=args.inventory,
        outputs=args.outputs,
        report_dir=args.report_dir,
        quick=args.quick,
        extra=args.pytest_args,
        no_progress=args.no_progress,
    )
