"""`crossnet drift` and `crossnet state`: real routers over SSH (docs/devices.md).

- `drift`: each router's running config against `crossnet render`'s, printed as
  the remediation in the device's syntax. Exit 0: no drift; 1: drift; 3: a
  router could not be read (each named, with why).
- `state`: each router's SAs, BGP neighbours and prefix counts, checked
  against the stack outputs. Exit 0: all as planned; 1: a check failed; 3: a
  router could not be read.

netmiko, textfsm and hier_config are imported only when these commands run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

from network.contract import Router, StackOutputs, load_outputs
from network.devices.remote import charons as _charons
from network.devices.remote import options as _options
from network.devices.remote import runner as _runner
from network.errors import ConfigError, Problem
from network.state import outputs_path

UNREADABLE = 3


def register(sub: Any) -> None:
    for name, func, text, more in (
        (
            "drift",
            run_drift,
            "running configs of real routers against the rendering",
            "Fetch each router's running config and print the remediation (lines to add and "
            "remove, in the device's syntax) that brings it back to `crossnet render`'s. Exit 0: "
            "no drift; 1: drift; 3: a router could not be read.",
        ),
        (
            "state",
            run_state,
            "SAs, BGP and prefix counts of real routers, checked",
            "Read each router's IKE/IPsec SAs, BGP neighbours and prefix counts and check them "
            "against the stack outputs. Exit 0: as planned; 1: a check failed; 3: a router could "
            "not be read.",
        ),
    ):
        p = sub.add_parser(name, help=text, description=more)
        p.add_argument("--stack", default="dev")
        p.add_argument("--inventory", type=Path, required=True, metavar="FILE")
        p.add_argument("--outputs", type=Path, default=None, metavar="FILE")
        p.add_argument("--router", action="append", default=None, help="only these routers")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=func)


def _inputs(args: argparse.Namespace) -> tuple[StackOutputs, dict[str, Any], list[Router]]:
    problems: list[Problem] = []
    source = args.outputs or outputs_path(args.stack, create=False)
    outputs = load_outputs(Path(source))
    from network.devices.remote import read_inventory

    inv = read_inventory(args.inventory)
    entries = inv.get("routers") or {}
    keys = args.router or sorted(k for k in entries if k in outputs.routers)
    for k in keys:
        if k not in outputs.routers:
            problems.append(Problem("--router", k, "not a router of the stack outputs"))
        elif k not in entries:
            problems.append(Problem(f"routers.{k}", "missing", "no inventory entry"))
    if not keys:
        problems.append(Problem("routers", "{}", "the inventory names no router of the stack"))
    if problems:
        raise ConfigError(str(args.inventory), problems)
    return outputs, inv, [outputs.routers[k] for k in keys]


def run_drift(args: argparse.Namespace) -> int:
    from network.devices.drift import router_drift
    from network.devices.parsing import CommandError
    from network.devices.session import SessionError

    _, inv, routers = _inputs(args)
    report: list[dict[str, Any]] = []
    unreadable = drifted = 0
    for r in routers:
        try:
            with _runner(r, inv) as run:
                drifts = router_drift(r, run, _options(inv, r.key), _charons(inv, r.key))
        except (SessionError, CommandError, subprocess.TimeoutExpired) as e:
            unreadable += 1
            report.append({"router": r.key, "platform": r.platform, "error": str(e)})
            continue
        for d in drifts:
            drifted += not d.clean
            report.append(d.as_dict())
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_drift_text(report))
    return UNREADABLE if unreadable else (1 if drifted else 0)


def _drift_text(report: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for d in report:
        head = f"{d['router']} ({d['platform']})"
        if "error" in d:
            lines.append(f"{head}: NOT READ: {d['error']}")
        elif d["clean"]:
            lines.append(f"{head}: no drift")
        else:
            lines.append(
                f"{head}: drift, {len(d['add'])} line(s) to add, {len(d['remove'])} to remove;"
                " remediation:"
            )
            lines += [f"    {x}" for x in d["remediation"]]
    return "\n".join(lines)


def run_state(args: argparse.Namespace) -> int:
    from network.devices.facts import check_facts
    from network.devices.remote import UnreadableError, read_router

    _, inv, routers = _inputs(args)
    out: list[dict[str, Any]] = []
    unreadable = failed = 0
    for r in routers:
        try:
            facts = read_router(r, inv)
        except UnreadableError as e:
            unreadable += 1
            out.append({"router": r.key, "platform": r.platform, "error": str(e)})
            continue
        findings = check_facts(r, facts)
        failed += sum(not f.ok for f in findings)
        out.append(
            {
                **facts.as_dict(),
                "findings": [
                    {"area": f.area, "subject": f.subject, "ok": f.ok, "message": f.message}
                    for f in findings
                ],
            }
        )
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for d in out:
            if "error" in d:
                print(f"{d['router']} ({d['platform']}): NOT READ: {d['error']}")
                continue
            print(f"{d['router']} ({d['platform']}):")
            for f in d["findings"]:
                mark = "ok  " if f["ok"] else "FAIL"
                print(f"  {mark} {f['area']:<8} {f['subject']:<24} {f['message']}")
    return UNREADABLE if unreadable else (1 if failed else 0)
