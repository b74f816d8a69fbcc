"""`crossnet up`: the offline apply, and its readable summary."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from network.offline.apply import ApplyResult


def register(sub: Any) -> None:
    p = sub.add_parser(
        "up",
        help="offline apply: run the Pulumi program against the in-process AWS emulator",
        description="Run the unchanged Pulumi program in-process under Pulumi's mock runtime, "
        "backed by an in-process AWS emulator (moto with crossnet's VPN extensions). "
        "Writes the stack outputs contract to .crossnet/<stack>/outputs.json (0600).",
    )
    p.add_argument("--stack", default="dev", help="stack name: stacks/Pulumi.<stack>.yaml")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed the emulator's IDs and generated keys (reproducible runs)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Pulumi, moto and boto3 take about 2 s to import: only `crossnet up` pays for them.
    from network.offline.apply import offline_up

    result = offline_up(args.stack, seed=args.seed)
    print(summary(result))
    return 0


def summary(r: ApplyResult) -> str:
    """What was built, by component; secrets masked."""
    lines = [f"crossnet up --stack {r.stack}: offline apply against the AWS emulator", ""]
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
        f"outputs: {r.outputs_file} (mode 0600; secret outputs: "
        f"{', '.join(r.secret_outputs) or 'none'})"
    )
    return "\n".join(lines)
