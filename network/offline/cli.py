"""`crossnet up`: the offline apply, and its readable summary."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

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
    p.add_argument("--stack", default="dev", help="stack name: stacks/Pulumi.<stack>.yaml")
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
        "--json", action="store_true", help="print the changes as JSON (keys never included)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from network.offline.stack_state import last_applied_plan
    from network.plan import build_plan
    from network.stack_file import offline_secrets, read_stack_config

    fresh = bool(getattr(args, "fresh", False))
    as_json = bool(getattr(args, "json", False))
    if not fresh:
        # Every config problem first, then the state: both before anything is written.
        config, _ = offline_secrets(read_stack_config(args.stack))
        build_plan(config, args.stack, previous=last_applied_plan(args.stack))
        same = up_to_date(args.stack, config)
        if same is not None:
            print(changes_json(same.stack, same.changes) if as_json else unchanged(same))
            return 0
    # Pulumi, moto and boto3 take about 2 s to import: only a run that changes something pays.
    from network.offline.apply import offline_up

    result = offline_up(args.stack, seed=args.seed, fresh=fresh)
    print(changes_json(result.stack, result.changes) if as_json else summary(result))
    return 0


def changes_json(stack: str, changes: Iterable[Change]) -> str:
    """The changes as `pulumi preview --json` lists steps: no values, only input names."""
    items = list(changes)
    return json.dumps(
        {
            "stack": stack,
            "changeSummary": counts(items),
            "steps": [
                {"op": c.action, "type": c.type, "name": c.name, "diffs": list(c.props)}
                | ({"oldId": c.old_id} if c.old_id and c.old_id != c.new_id else {})
                | ({"id": c.new_id} if c.new_id else {})
                for c in items
                if c.action != "same"
            ],
        },
        indent=2,
        sort_keys=True,
    )


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


def summary(r: ApplyResult) -> str:
    """What was built, by component; secrets masked."""
    lines = [f"crossnet up --stack {r.stack}: offline apply against the AWS emulator", ""]
    lines += [*change_lines(r.changes), ""]
    by_component: Counter[str] = Counter()
    for res in r.resources:
        if res.type.startswith("crossnet:"):
            continue
        chain = res.urn.split("::")[-2].split("$")
        comp = next((t for t in chain if t.startswith("crossnet:")), "providers:Providers")
        by_component[comp.split(":")[-1]] += 1
    total = sum(by_component.values())
    lines.append(
        f"resources: {total}  " + ", ".join(f"{k} {v}" for k, v in sorted(by_component.items()))
    )
    lines.append("")
    lines.append("VPCs")
    for name, v in sorted(r.outputs["vpcs"].items()):
        lines.append(f"  {name:<10} {v['cidr']:<16} {v['region']:<12} {v['id']}")
        for key, s in sorted(v["subnets"].items()):
            lines.append(f"      {key:<28} {s['cidr']}")
    lines.append("")
    lines.append("Tunnels per datacenter router (pre-shared keys: ********)")
    for key, router in sorted(r.outputs["routers"].items()):
        lines.append(f"  {key} ({router['platform']}, {router['publicIp']}, AS{router['asn']})")
        for c in router["connections"]:
            gw = c["gateway"]
            lines.append(
                f"    {c['name']} -> {gw['type']} {gw['name']} AS{gw['asn']} "
                f"{c['routing']} {c['redundancy']}"
            )
            for t in c["tunnels"]:
                lines.append(
                    f"      t{t['number']} {t['customerOutsideIp']} -> {t['awsOutsideIp']:<15}"
                    f" inside {t['insideCidr']:<18} {t['customerInsideIp']} <-> "
                    f"{t['awsInsideIp']} {t['preference']}"
                )
            lines.append(
                f"      announce {', '.join(c['announce'])}; accept {', '.join(c['accept'])}"
            )
    lines.append("")
    lines.append("Routes")
    for route in r.plan.vpc_routes:
        lines.append(
            f"  {route.vpc:<10} {route.destination!s:<16} via {route.target_kind} {route.target}"
        )
    for vpc, vgw in sorted(r.plan.vgw_propagating().items()):
        lines.append(f"  {vpc:<10} {'(datacenters)':<16} via VGW {vgw} route propagation")
    if r.plan.warnings:
        lines.append("")
        lines.append(f"Warnings ({len(r.plan.warnings)})")
        lines += [f"  {w.field}: {w.value} ({w.rule})" for w in r.plan.warnings]
    lines.append("")
    lines.append("Checked in the emulator's own state:")
    lines += [f"  ok {c}" for c in r.checks]
    lines.append("")
    lines.append(
        "Guardrails (the rules of the policy/ pack): "
        + (f"{len(r.advisories)} advisory" if r.advisories else "all passed")
    )
    lines += [f"  advisory {a}" for a in r.advisories]
    lines.append("")
    lines.append(
        f"outputs: {r.outputs_file} (mode 0600; {'written' if r.outputs_written else 'unchanged'}"
        f"; secret outputs: {', '.join(r.secret_outputs) or 'none'})"
    )
    lines.append(f"state: {r.state_file} (mode 0600)")
    return "\n".join(lines)
