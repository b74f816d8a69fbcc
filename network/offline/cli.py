"""`crossnet up`: the offline apply, and its readable summary."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.text import Text

from network.cli_options import add_json, add_progress, add_stack
from network.console import console, progress, progress_wanted, table, to_text
from network.offline.stack_state import ACTIONS, Change, UpToDate, counts, up_to_date

if TYPE_CHECKING:
    from network.offline.apply import ApplyResult


def register(sub: Any) -> None:
    p = sub.add_parser(
        "up",
        help="offline apply: run the Pulumi program against the in-process AWS emulator",
        description="Run the unchanged Pulumi program in-process under Pulumi's mock runtime, "
        "backed by an in-process AWS emulator (moto with crossnet's VPN extensions). "
        "Applies against the stack's previous state (.crossnet/<stack>/state.json, 0600), "
        "as `pulumi up` does: unchanged resources keep their IDs, addresses and keys. "
        "Writes the stack outputs contract to .crossnet/<stack>/outputs.json (0600).",
    )
    add_stack(p, default="dev")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed the emulator's IDs and generated keys (reproducible runs)",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="ignore the stack's previous state: build everything anew (new IDs and keys)",
    )
    p.add_argument(
        "--destroy-target",
        action="append",
        default=[],
        metavar="NAME",
        help="first delete this resource (by name, e.g. dc1-edge1-hub-vpn) and everything "
        "that refers to it, then apply: `pulumi destroy --target URN --target-dependents` "
        "followed by `pulumi up` (repeatable)",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="URN",
        help="change only this resource (its URN, as the state file records it; repeatable): "
        "`pulumi up --target URN`; every other resource keeps its state, IDs and outputs",
    )
    p.add_argument(
        "--target-dependents",
        action="store_true",
        help="with --target: the resources that refer to a targeted one change too",
    )
    add_json(p)
    add_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from network.offline.stack_state import last_applied_plan
    from network.plan import build_plan
    from network.stack_file import offline_secrets, read_stack_config

    fresh = bool(getattr(args, "fresh", False))
    destroy = tuple(getattr(args, "destroy_target", None) or ())
    targets = tuple(getattr(args, "target", None) or ())
    dependents = bool(getattr(args, "target_dependents", False))
    if dependents and not targets:
        print("error: --target-dependents: only with --target URN", file=sys.stderr)
        return 2
    if not fresh:
        # Every config problem first, then the state: both before anything is written.
        config, _ = offline_secrets(read_stack_config(args.stack))
        build_plan(config, args.stack, previous=last_applied_plan(args.stack))
        same = None if destroy or targets else up_to_date(args.stack, config)
        if same is not None:
            if args.json:
                print(json.dumps(changes_json(same.stack, same.changes), indent=2, sort_keys=True))
            else:
                print(unchanged(same))
            return 0
    label = f"crossnet up --stack {args.stack}"
    with progress(label, progress_wanted(args.no_progress), quiet=True) as steps:
        steps.step("loading Pulumi and the AWS emulator")
        # Pulumi, moto and boto3 take about 2 s to import: only a run that changes something
        # pays for them.
        from network.offline.apply import offline_up

        steps.step("planning, applying the program to the AWS emulator, checking its state")
        result = offline_up(
            args.stack,
            seed=args.seed,
            fresh=fresh,
            destroy=destroy,
            targets=targets,
            target_dependents=dependents,
        )
    if args.json:
        print(json.dumps(summary_json(result), indent=2, sort_keys=True))
    elif sys.stdout.isatty():
        c = console()
        for part in summary_renderables(result):
            c.print(part)
    else:
        print(summary(result), end="")
    return 0


def changes_json(stack: str, changes: Iterable[Change]) -> dict[str, Any]:
    """The changes as `pulumi preview --json` lists steps: no values, only input names."""
    items = list(changes)
    return {
        "stack": stack,
        "changeSummary": counts(items),
        "steps": [
            {"op": c.action, "type": c.type, "name": c.name, "diffs": list(c.props)}
            | ({"oldId": c.old_id} if c.old_id and c.old_id != c.new_id else {})
            | ({"id": c.new_id} if c.new_id else {})
            for c in items
            if c.action != "same"
        ],
    }


_SIGN = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def change_lines(changes: Iterable[Change]) -> list[str]:
    """`pulumi up`'s resource lines and its summary: counts per action, then each change."""
    items = list(changes)
    n = counts(items)
    lines = ["Resources:"]
    lines += [f"  {_SIGN.get(a, ' '):>2} {n[a]} to {a}" for a in ACTIONS if a != "same" and n[a]]
    lines.append(f"     {n['same']} unchanged")
    changed = [c for c in items if c.action != "same"]
    if not changed:
        lines.append("  (no changes)")
    for c in sorted(changed, key=lambda c: (ACTIONS.index(c.action), c.type, c.name)):
        short = c.type.split(":")[-1]
        ids = c.old_id if c.action == "delete" else c.new_id
        if c.action == "replace":
            ids = f"{c.old_id} -> {c.new_id}"
        # Input names only: a changed key shows as `tunnel1PresharedKey`, never its value.
        diff = f" [{', '.join(c.props)}]" if c.props else ""
        lines.append(f"  {_SIGN[c.action]:>2} {c.action:<8} {short} {c.name} ({ids}){diff}")
    return lines


def unchanged(u: UpToDate) -> str:
    lines = [
        f"crossnet up --stack {u.stack}: no changes (same config, program and packages as the "
        "last apply; the program was not re-run)",
        "",
        *change_lines(u.changes),
        "",
        f"state: {u.state_file} (mode 0600); outputs: {u.outputs_file} (unchanged)",
    ]
    return "\n".join(lines)


def summary_json(r: ApplyResult) -> dict[str, Any]:
    """What was built, for scripts: counts, checks, advisories; no output values (keys)."""
    return changes_json(r.stack, r.changes) | {
        "resources": dict(sorted(_by_component(r).items())),
        "outputsFile": str(r.outputs_file),
        "outputsWritten": r.outputs_written,
        "stateFile": str(r.state_file),
        "secretOutputs": list(r.secret_outputs),
        "checks": list(r.checks),
        "advisories": list(r.advisories),
        "warnings": [{"field": w.field, "value": w.value, "rule": w.rule} for w in r.plan.warnings],
    }


def _by_component(r: ApplyResult) -> Counter[str]:
    by_component: Counter[str] = Counter()
    for res in r.resources:
        if res.type.startswith("crossnet:"):
            continue
        chain = res.urn.split("::")[-2].split("$")
        comp = next((t for t in chain if t.startswith("crossnet:")), "providers:Providers")
        by_component[comp.split(":")[-1]] += 1
    return by_component


def _tables(r: ApplyResult) -> list[RenderableType]:
    vpcs = sorted(r.outputs["vpcs"].items())
    routers = sorted(r.outputs["routers"].items())
    tunnels = [
        (
            key,
            c["name"],
            f"{c['gateway']['type']} {c['gateway']['name']} AS{c['gateway']['asn']}",
            f"t{t['number']}",
            f"{t['customerOutsideIp']} -> {t['awsOutsideIp']}",
            t["insideCidr"],
            f"{t['customerInsideIp']} <-> {t['awsInsideIp']}",
            f"{c['routing']} {c['redundancy']} {t['preference']}",
        )
        for key, router in routers
        for c in router["connections"]
        for t in c["tunnels"]
    ]
    routes = [
        (route.vpc, str(route.destination), f"{route.target_kind} {route.target}")
        for route in r.plan.vpc_routes
    ] + [
        (vpc, "(datacenters)", f"VGW {vgw} route propagation")
        for vpc, vgw in sorted(r.plan.vgw_propagating().items())
    ]
    return [
        table(
            "VPCs",
            ("vpc", "cidr", "region", "id"),
            [(n, v["cidr"], v["region"], v["id"]) for n, v in vpcs],
        ),
        table(
            "Subnets",
            ("vpc", "subnet", "cidr"),
            [(n, key, s["cidr"]) for n, v in vpcs for key, s in sorted(v["subnets"].items())],
        ),
        table(
            "Routers (pre-shared keys: ********)",
            ("router", "platform", "public address", "asn"),
            [(k, x["platform"], x["publicIp"], f"AS{x['asn']}") for k, x in routers],
        ),
        table(
            "Tunnels per datacenter router",
            (
                "router",
                "connection",
                "gateway",
                "tunnel",
                "outside",
                "inside cidr",
                "inside",
                "routing",
            ),
            tunnels,
        ),
        table(
            "Prefixes per connection",
            ("connection", "announce", "accept"),
            [
                (c["name"], ", ".join(c["announce"]), ", ".join(c["accept"]))
                for _, router in routers
                for c in router["connections"]
            ],
        ),
        table("Routes", ("vpc", "destination", "via"), routes),
    ]


def summary_renderables(r: ApplyResult) -> list[RenderableType]:
    """What was built, by component, as tables for a terminal; secrets masked."""
    counts = _by_component(r)
    parts: list[RenderableType] = [
        Text(f"crossnet up --stack {r.stack}: offline apply against the AWS emulator"),
        Text(""),
        *(Text(line) for line in change_lines(r.changes)),
        Text(""),
        Text(
            f"resources: {sum(counts.values())}  "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        ),
        Text(""),
    ]
    for t in _tables(r):
        parts += [t, Text("")]
    if r.plan.warnings:
        parts.append(Text(f"Warnings ({len(r.plan.warnings)})", style="bold"))
        parts += [Text(f"  {w.field}: {w.value} ({w.rule})") for w in r.plan.warnings]
        parts.append(Text(""))
    parts.append(Text("Checked in the emulator's own state:", style="bold"))
    parts += [Text(f"  ok {c}") for c in r.checks]
    parts.append(Text(""))
    parts.append(
        Text(
            "Guardrails (the rules of the policy/ pack): "
            + (f"{len(r.advisories)} advisory" if r.advisories else "all passed")
        )
    )
    parts += [Text(f"  advisory {a}") for a in r.advisories]
    parts.append(Text(""))
    parts.append(
        Text(
            f"outputs: {r.outputs_file} (mode 0600; "
            f"{'written' if r.outputs_written else 'unchanged'}; secret outputs: "
            f"{', '.join(r.secret_outputs) or 'none'})"
        )
    )
    parts.append(Text(f"state: {r.state_file} (mode 0600)"))
    return parts


def summary(r: ApplyResult, width: int | None = None) -> str:
    """What was built, by component, as plain text at `width`; secrets masked."""
    return to_text(summary_renderables(r), width)
