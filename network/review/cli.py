"""The review commands: `crossnet plan`, `diagram`, `estimate`, `guardrails` and `diff`.

Each parser sets `func=run_<command>`; a run returns the exit status. Invalid
input raises `ConfigError` (exit 2) so that `network.cli` prints one clean
screen. `diff` exits 0 when nothing changed and 1 when something did.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import RenderableType

from network.cli_options import add_config, add_out, add_review, add_stack
from network.console import console, to_text
from network.errors import ConfigError, Problem
from network.package_data import data_dir
from network.plan import Plan, build_plan
from network.plan.advice import advice_json, plan_advice
from network.review.baseline import (
    OUTPUTS_CAVEAT,
    PLAN_OUTPUT,
    load_applied,
    load_outputs_raw,
    outputs_plan,
)
from network.review.compare import (
    DiffReport,
    diff_snapshots,
    renewed_connections,
    router_config_diffs,
)
from network.review.diff import diff_renderables, render_diff, render_rules
from network.review.estimate import (
    DEFAULT_DEADLINE_DAYS,
    DEFAULT_PRICES,
    estimate,
    estimate_tables,
    load_prices,
    parse_size,
)
from network.review.guardrails import POLICIES, blocking, check_resources
from network.review.replacements import provider_upstream
from network.review.report import plan_tables
from network.review.resources import proposed_resources
from network.review.snapshot import plan_snapshot
from network.review.tables import Table, render_markdown, renderables
from network.stack_file import read_stack_config, secret_keys
from network.state import outputs_path, state_dir


def load_plan(
    stack: str, config: Path | None = None, previous: Mapping[str, Any] | None = None
) -> Plan:
    """Read a stack file and build its plan for review. Raises ConfigError listing every problem.

    Review commands never declare anything, so a `secure:` value they cannot
    decrypt is recorded by name (need_secrets=False) instead of refusing the
    stack; the plan's warnings say which rules were left to the apply.
    `previous`: the applied plan snapshot, when known (moved subnets are warned about).
    """
    return build_plan(
        read_stack_config(stack, config), stack, need_secrets=False, previous=previous
    )


def _with_warnings(tables: list[Table], plan: Plan) -> list[Table]:
    """The plan's warnings (rules left to the apply, subnets that move, ...) as a last table."""
    if not plan.warnings:
        return tables
    return [
        *tables,
        Table.of(
            "Warnings",
            ("where", "value", "what"),
            [(w.field, w.value, w.rule) for w in plan.warnings],
        ),
    ]


def _with_advice(tables: list[Table], advice: list[Problem]) -> list[Table]:
    """What the plan's choices trade (network.plan.advice), as a last table."""
    if not advice:
        return tables
    return [*tables, Table.of("Advice", ("where", "value", "what it trades"), advice_rows(advice))]


def advice_rows(advice: list[Problem]) -> list[tuple[str, str, str]]:
    return [(a.field, a.value, a.rule) for a in advice]


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out}", file=sys.stderr)


def _show(parts: list[RenderableType], out: Path | None) -> None:
    """Text for a terminal (colour, its width) or plain text for a pipe or a file."""
    if out is None and sys.stdout.isatty():
        c = console()
        for part in parts:
            c.print(part)
    else:
        _write(to_text(parts).rstrip() + "\n", out)


def _emit(
    args: argparse.Namespace,
    tables: list[Table],
    heading: str,
    data: Any,
    extra: dict[str, Any] | None = None,
) -> None:
    """One review command's result: JSON (`--json`), Markdown, or tables for a terminal."""
    if args.json:
        doc = {"stack": args.stack, "data": data, "tables": [t.as_json() for t in tables]}
        doc |= extra or {}
        _write(json.dumps(doc, indent=2, default=str) + "\n", args.out)
    elif args.format == "markdown":
        _write(render_markdown(tables, heading), args.out)
    else:
        _show(renderables(tables, heading), args.out)


def run_plan(args: argparse.Namespace) -> int:
    """`crossnet plan`: the address plan as tables, and the free space."""
    plan = load_plan(args.stack, args.config)
    # Markdown goes into a change request: every free CIDR, not the first few.
    tables = _with_warnings(plan_tables(plan, list_all=args.format == "markdown"), plan)
    advice = plan_advice(plan)
    _emit(
        args,
        _with_advice(tables, advice),
        f"crossnet plan: stack {plan.stack}",
        plan_snapshot(plan),
        {"advice": advice_json(advice)},
    )
    return 0


def run_diagram(args: argparse.Namespace) -> int:
    """`crossnet diagram`: the topology as SVG (Graphviz is imported only here)."""
    from network.review.diagram import render_svg

    plan = load_plan(args.stack, args.config)
    for w in plan.warnings:  # the SVG may go to standard output: warnings go to stderr
        print(f"warning: {w.field}: {w.value} ({w.rule})", file=sys.stderr)
    _write(render_svg(plan), args.out)
    return 0


def run_estimate(args: argparse.Namespace) -> int:
    """`crossnet estimate`: monthly cost, and the time and cost of moving --data."""
    size = parse_size(args.data) if args.data is not None else None
    monthly_in = parse_size(args.monthly_in, "--monthly-in") if args.monthly_in else 0
    monthly_out = parse_size(args.monthly_out, "--monthly-out") if args.monthly_out else 0
    prices = load_prices(args.prices)
    plan = load_plan(args.stack, args.config)
    e = estimate(
        plan,
        prices,
        size,
        args.direction,
        args.deadline_days,
        monthly_in,
        monthly_out,
        size_text=args.data,
    )
    heading = f"crossnet estimate: stack {plan.stack}"
    _emit(args, _with_warnings(estimate_tables(e), plan), heading, dataclasses.asdict(e))
    return 0


def run_guardrails(args: argparse.Namespace) -> int:
    """`crossnet guardrails`: the policy pack's rules over the resources the plan implies."""
    if args.pack_dir:
        print(data_dir("policy"))
        return 0
    config = read_stack_config(args.stack, args.config)
    plan = build_plan(config, args.stack, need_secrets=False)
    # a key read from a `secure:` value is a secret input, whether or not it can be read here
    resources = proposed_resources(plan_snapshot(plan), secret_keys(config))
    prod = tuple(args.prod_stack) if args.prod_stack else ("prod",)
    found = check_resources(resources, plan.stack, prod)
    checked = Table.of(
        "Guardrails",
        ("policy", "severity", "scope", "result"),
        [
            (
                p.name,
                p.severity,
                p.scope,
                f"{sum(1 for v in found if v.policy == p.name)} violation(s)"
                if any(v.policy == p.name for v in found)
                else "ok",
            )
            for p in POLICIES.values()
        ],
    )
    tables = _with_warnings([checked], plan)
    if found:
        tables.append(
            Table.of(
                "Violations",
                ("severity", "policy", "resource", "message"),
                [(v.severity, v.policy, v.resource, v.message) for v in found],
            )
        )
    mandatory = blocking(found)
    heading = (
        f"crossnet guardrails: stack {plan.stack}, {len(resources)} resources, "
        f"{len(mandatory)} mandatory and {len(found) - len(mandatory)} advisory "
        "violation(s)"
    )
    data = {
        "resources": len(resources),
        "mandatory": len(mandatory),
        "violations": [dataclasses.asdict(v) for v in found],
    }
    _emit(args, tables, heading, data)
    return 1 if mandatory else 0


def diff_baseline(
    args: argparse.Namespace,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str, list[str]]:
    """The applied snapshot, the applied outputs, how to name the baseline, and its caveats.

    In this order: `--applied FILE`; the `crossnetPlan` of `--outputs FILE` (a
    real stack: `pulumi stack output --json --show-secrets`); the offline
    apply's applied.json; the `crossnetPlan` of its outputs.json; nothing.
    """
    # A file named on the command line must be there: a typo must not read as
    # "nothing applied yet", which shows every resource as new.
    missing = [
        Problem(flag, str(path), "no such file")
        for flag, path in (("--applied", args.applied), ("--outputs", args.outputs))
        if path is not None and not path.is_file()
    ]
    if missing:
        raise ConfigError("command line", missing)
    outputs_file = args.outputs or outputs_path(args.stack, create=False)
    outputs = load_outputs_raw(outputs_file, strict=args.outputs is not None)
    if args.applied is not None:
        return (load_applied(args.applied), outputs, f"the last apply ({args.applied})", [])
    exported = outputs_plan(outputs, str(outputs_file))
    if args.outputs is not None:
        if exported is None:
            raise ConfigError(
                str(args.outputs),
                [
                    Problem(
                        PLAN_OUTPUT,
                        "missing",
                        "these outputs carry no plan snapshot "
                        "(a program older than the plan export?): "
                        "run `pulumi up` with this crossnet once, or pass --applied FILE",
                    )
                ],
            )
        where = f"{PLAN_OUTPUT} in {args.outputs}"
        return (
            exported,
            outputs,
            f"the stack's exported plan ({where})",
            [OUTPUTS_CAVEAT.format(where=where)],
        )
    applied_file = state_dir(args.stack, create=False) / "applied.json"
    old = load_applied(applied_file)
    if old is not None:
        return old, outputs, f"the last apply ({applied_file})", []
    if exported is not None:
        where = f"{PLAN_OUTPUT} in {outputs_file}"
        return (
            exported,
            outputs,
            f"the stack's exported plan ({where})",
            [OUTPUTS_CAVEAT.format(where=where)],
        )
    return (
        None,
        outputs,
        (
            f"nothing applied ({applied_file} does not exist, and no stack "
            "outputs with a plan: pass --outputs FILE for a real stack)"
        ),
        [],
    )


def run_diff(args: argparse.Namespace) -> int:
    """`crossnet diff`: 0 when nothing changed, 1 when something did (2: invalid input)."""
    if args.rules:
        _write(render_rules(args.format), args.out)
        return 0
    report = diff_report(args)
    if args.json:
        doc = {"stack": args.stack, "changed": report.changed, **dataclasses.asdict(report)}
        _write(json.dumps(doc, indent=2, default=str) + "\n", args.out)
    elif args.format == "markdown":
        _write(render_diff(report, "markdown"), args.out)
    else:
        _show(diff_renderables(report), args.out)
    return 1 if report.changed else 0


def diff_report(args: argparse.Namespace) -> DiffReport:
    """The `crossnet diff` report for parsed diff arguments (baseline, plan, router diffs)."""
    old, outputs, baseline, caveats = diff_baseline(args)
    plan = load_plan(args.stack, args.config, previous=old)
    caveats += [f"warning: {w.field}: {w.value} ({w.rule})" for w in plan.warnings]
    report = diff_snapshots(
        old, plan_snapshot(plan), baseline, outputs, provider_upstream(), caveats
    )
    advice = [f"{a.field}: {a.value}: {a.rule}" for a in plan_advice(plan)]
    report = dataclasses.replace(report, advice=advice)
    if report.changed and not args.no_configs:
        diffs, notes = router_config_diffs(
            outputs, plan, report.routers, renewed_connections(report)
        )
        report = dataclasses.replace(report, router_diffs=diffs, notes=notes)
    return report


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the review sub-commands to the `crossnet` parser."""
    p = subparsers.add_parser(
        "plan",
        help="the address plan as tables, and what is free",
        description="Print the stack's address plan (VPCs, subnets per AZ, datacenter "
        "prefixes, tunnel inside CIDRs per router, ASNs, routes) and the free "
        "space left in each supernet and VPC. Nothing is declared.",
    )
    add_review(p)
    p.set_defaults(func=run_plan)

    p = subparsers.add_parser(
        "diagram",
        help="the topology as SVG (Graphviz)",
        description="Draw datacenters and their routers, every tunnel (inside CIDR, BGP "
        "session or static), the VGWs and TGWs, the VPCs with their CIDRs and "
        "the peerings, laid out by Graphviz 'dot'.",
    )
    add_stack(p)
    add_config(p)
    add_out(p, "write the SVG to FILE (default: standard output)")
    p.set_defaults(func=run_diagram)

    p = subparsers.add_parser(
        "estimate",
        help="monthly AWS cost, and how long moving --data takes",
        description="Monthly AWS cost of the stack's network (VPN connection hours, TGW "
        "attachment hours) from a dated list-price table, and for --data the "
        "transfer time over the provisioned tunnels (1.25 Gbps per standard "
        "tunnel; ECMP only on a transit gateway), its data charges, and what "
        "would meet the deadline when the tunnels are too slow.",
    )
    add_review(p)
    _estimate_args(p)
    p.set_defaults(func=run_estimate)

    p = subparsers.add_parser(
        "guardrails",
        help="the policy pack's rules over the planned resources",
        description="Run crossnet's guardrails (the rules of the CrossGuard pack in policy/) "
        "over the resources the stack's plan implies, without Pulumi. Exit 1 when "
        "a mandatory guardrail is broken, 0 otherwise.",
    )
    add_review(p)
    p.add_argument(
        "--prod-stack",
        action="append",
        default=None,
        metavar="NAME",
        help="a stack name judged as production (repeatable; default: prod)",
    )
    p.add_argument(
        "--pack-dir",
        action="store_true",
        help="print the CrossGuard pack's directory (pulumi preview --policy-pack DIR), and exit",
    )
    p.set_defaults(func=run_guardrails)

    p = subparsers.add_parser(
        "diff",
        help="the proposed config against the last applied state",
        description="Compare the stack file's plan with the plan the last apply recorded: "
        "address-plan changes, resources added/updated/replaced/deleted, every "
        "replacement of a VPN connection or customer gateway with its consequence "
        "and a safe order, and a unified diff of each affected router's config "
        "(keys redacted). Exit 0: no change; 1: changes; 2: invalid input.",
    )
    add_review(p)
    _diff_args(p)
    p.set_defaults(func=run_diff)


def _estimate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default=None,
        metavar="SIZE",
        help="amount to move, with a unit: 500GB, 20TB, 1.5TiB, 20PB",
    )
    p.add_argument(
        "--direction",
        choices=("to-aws", "from-aws"),
        default="to-aws",
        help="to-aws: datacenter to AWS (data in is free); from-aws: data transfer out is charged",
    )
    p.add_argument(
        "--monthly-in",
        default=None,
        metavar="SIZE",
        help="steady traffic from the datacenters to AWS per month (TGW processing)",
    )
    p.add_argument(
        "--monthly-out",
        default=None,
        metavar="SIZE",
        help="steady traffic from AWS to the datacenters per month (data transfer "
        "out, TGW processing)",
    )
    p.add_argument(
        "--deadline-days",
        type=float,
        default=DEFAULT_DEADLINE_DAYS,
        metavar="DAYS",
        help=f"longer than this is too long (default {DEFAULT_DEADLINE_DAYS:g})",
    )
    p.add_argument(
        "--prices",
        type=Path,
        default=DEFAULT_PRICES,
        metavar="FILE",
        help="price table (default: the bundled data/prices/aws-us-east-1.yaml)",
    )


def _diff_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--applied",
        type=Path,
        default=None,
        metavar="FILE",
        help="applied state of the offline apply (default: .crossnet/<stack>/applied.json)",
    )
    p.add_argument(
        "--outputs",
        type=Path,
        default=None,
        metavar="FILE",
        help="applied stack outputs: for a real stack `pulumi stack output --json "
        "--show-secrets > FILE`, whose crossnetPlan is then the baseline "
        "(default: .crossnet/<stack>/outputs.json)",
    )
    p.add_argument("--no-configs", action="store_true", help="skip the router config diffs")
    p.add_argument(
        "--rules",
        action="store_true",
        help="print the replace-on-change table with its sources, and exit",
    )
