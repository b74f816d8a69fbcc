"""`crossnet up`: the offline apply, and its readable summary."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.text import Text

from network.cli_options import add_json, add_progress, add_stack
from network.console import console, progress, progress_wanted, table, to_text

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
    add_stack(p, default="dev")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed the emulator's IDs and generated keys (reproducible runs)",
    )
    add_json(p)
    add_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    label = f"crossnet up --stack {args.stack}"
    with progress(label, progress_wanted(args.no_progress), quiet=True) as steps:
        steps.step("loading Pulumi and the AWS emulator")
        # Pulumi, moto and boto3 take about 2 s to import: only `crossnet up` pays for them.
        from network.offline.apply import offline_up

        steps.step("planning, applying the program to the AWS emulator, checking its state")
        result = offline_up(args.stack, seed=args.seed)
    if args.json:
        print(json.dumps(summary_json(result), indent=2))
    elif sys.stdout.isatty():
        c = console()
        for part in summary_renderables(result):
            c.print(part)
    else:
        print(summary(result), end="")
    return 0


def summary_json(r: ApplyResult) -> dict[str, Any]:
    """What was built, for scripts: counts, checks, advisories; no output values (keys)."""
    return {
        "stack": r.stack,
        "resources": dict(sorted(_by_component(r).items())),
        "outputsFile": str(r.outputs_file),
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
            f"outputs: {r.outputs_file} (mode 0600; secret outputs: "
            f"{', '.join(r.secret_outputs) or 'none'})"
        )
    )
    return parts


def summary(r: ApplyResult, width: int | None = None) -> str:
    """What was built, by component, as plain text at `width`; secrets masked."""
    return to_text(summary_renderables(r), width)
