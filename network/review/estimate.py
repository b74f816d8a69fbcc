"""Monthly AWS cost of the network, and how long a bulk transfer takes (pure).

Prices come from a dated table in `data/prices/` (list prices as of its date,
with the source of every figure). Bandwidth follows AWS's rules: a standard
tunnel carries up to 1.25 Gbps; a VGW uses one tunnel at a time, however many
connections it has; a transit gateway with ECMP spreads BGP traffic over both
tunnels of every connection (a TGW without ECMP, or static routing, uses one).
Every figure is a ceiling: IPsec and TCP overheads make real throughput lower,
and one TCP flow stays on one tunnel, so a transfer needs many parallel flows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from network import aws_rules as aws
from network.plan import ConnectionPlan, Plan
from network.review.prices import (
    DEFAULT_PRICES,
    PRICES_DIR,
    SIZE_RE,
    SIZE_RULE,
    Prices,
    bad_input,
    load_prices,
    parse_size,
)
from network.review.tables import Table

__all__ = [
    "DEFAULT_PRICES",
    "PRICES_DIR",
    "SIZE_RULE",
    "Estimate",
    "Prices",
    "estimate",
    "estimate_tables",
    "load_prices",
    "parse_size",
]

GIB = 2**30  # AWS bills data in GB of 2^30 bytes
ECMP_CONNECTION_BPS = aws.TUNNELS_PER_CONNECTION * aws.STANDARD_TUNNEL_BPS
LARGE_CONNECTION_BPS = aws.TUNNELS_PER_CONNECTION * aws.LARGE_TUNNEL_BPS
DX_PORT_BPS = {"10G": 10e9, "100G": 100e9}
DEFAULT_DEADLINE_DAYS = 7.0


# ------------------------------------------------------------------ bandwidth
@dataclass(frozen=True)
class PathCapacity:
    """Usable tunnel bandwidth through one gateway (optionally from one datacenter)."""

    gateway: str
    kind: str  # "vgw" | "tgw"
    datacenter: str | None
    connections: int
    active_tunnels: int
    bps: float
    why: str


def _path(gateway: str, kind: str, dc: str | None, conns: list[ConnectionPlan]) -> PathCapacity:
    ecmp = [c for c in conns if c.redundancy == "ecmp"]
    if kind == "tgw" and ecmp:
        tunnels = aws.TUNNELS_PER_CONNECTION * len(ecmp)
        why = f"ECMP over both tunnels of {len(ecmp)} BGP connection(s)"
    else:
        tunnels = 1
        why = (
            "a VGW uses one tunnel at a time"
            if kind == "vgw"
            else "no ECMP (static routing or ECMP off): one tunnel at a time"
        )
    return PathCapacity(
        gateway, kind, dc, len(conns), tunnels, tunnels * aws.STANDARD_TUNNEL_BPS, why
    )


def capacities(plan: Plan, by_datacenter: bool = False) -> list[PathCapacity]:
    """Tunnel bandwidth per gateway (and per datacenter when asked)."""
    groups: dict[tuple[str, str | None], list[ConnectionPlan]] = {}
    for c in plan.connections:
        key = (c.spec.gateway, c.datacenter.name if by_datacenter else None)
        groups.setdefault(key, []).append(c)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][1] or "", kv[0][0]))
    return [_path(gw, conns[0].gateway_type, dc, conns) for (gw, dc), conns in ordered]


def transfer_seconds(size_bytes: int, bps: float) -> float:
    """Seconds to move `size_bytes` at `bps` (line rate, no overhead)."""
    return math.inf if bps <= 0 else size_bytes * 8 / bps


def human_duration(seconds: float) -> str:
    """'3.2 hours', '18.5 days', '2.1 years'."""
    if math.isinf(seconds):
        return "never (no tunnels)"
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} seconds"


def human_bps(bps: float) -> str:
    return f"{bps / 1e9:g} Gbps"


def human_bytes(n: int) -> str:
    """A decimal size with three significant digits: '1.65 TB', '20 PB'."""
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def size_label(text: str | None, n: int) -> str:
    """A size in the unit the user gave it ('1.5 TiB'), with the decimal size beside a
    binary one ('1.5 TiB (1.65 TB)'); without a text, the decimal size alone."""
    m = SIZE_RE.match(text or "")
    if not m:
        return human_bytes(n)
    number, prefix, binary, _ = m.groups()
    unit = f"{prefix.upper()}{binary}B".replace("KB", "kB")
    shown = f"{float(number):g} {unit}"
    return f"{shown} ({human_bytes(n)})" if binary else shown


# ------------------------------------------------------------------ cost
@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: str
    unit_price: str
    amount: float


def dto_internet(gb: float, p: Prices) -> float:
    """Data transfer out to the internet for `gb` in one month, tiers and free allowance."""
    billable = max(0.0, gb - p.dto_free_gb)
    total, floor = 0.0, 0.0
    for up_to, per in p.dto_tiers:
        top = billable if up_to is None else min(billable, up_to)
        if top > floor:
            total += (top - floor) * per
        if up_to is None or billable <= up_to:
            break
        floor = up_to
    return total


def monthly_costs(plan: Plan, p: Prices) -> list[CostLine]:
    """The fixed monthly charges of the stack's network."""
    h = p.hours_per_month
    lines = []
    n_vpn = len(plan.connections)
    lines.append(
        CostLine(
            "Site-to-Site VPN connections",
            f"{n_vpn} x {h:g} h",
            f"{p.vpn_connection_hour:g}/h",
            n_vpn * h * p.vpn_connection_hour,
        )
    )
    for t in sorted(plan.transit.values(), key=lambda t: t.name):
        vpcs = len(t.spec.attachments)
        vpns = sum(1 for c in plan.connections if c.spec.gateway == t.name)
        lines.append(
            CostLine(
                f"TGW {t.name} attachments ({vpcs} VPC + {vpns} VPN)",
                f"{vpcs + vpns} x {h:g} h",
                f"{p.tgw_attachment_hour:g}/h",
                (vpcs + vpns) * h * p.tgw_attachment_hour,
            )
        )
    if plan.vpn_gateways:
        lines.append(CostLine(f"VGWs ({len(plan.vpn_gateways)})", "-", "no hourly charge", 0.0))
    return lines


def transfer_months(seconds: float | None, p: Prices) -> int:
    """Billing months a transfer spans at line rate (at least one)."""
    if seconds is None or math.isinf(seconds):
        return 1
    return max(1, math.ceil(seconds / (p.hours_per_month * 3600)))


def transfer_costs(
    size_bytes: int,
    direction: str,
    plan: Plan,
    p: Prices,
    paths: list[PathCapacity],
    monthly_out_bytes: int = 0,
    seconds: float | None = None,
) -> list[CostLine]:
    """What moving `size_bytes` over the tunnels costs, split by capacity share.

    Data transfer out is priced on top of the steady monthly traffic out (which
    already uses the free allowance and the cheaper first tiers), month by month
    over the months the transfer takes at line rate: the tiers start again
    every month.
    """
    gb = size_bytes / GIB
    total_bps = sum(x.bps for x in paths) or 1.0
    via_tgw = gb * sum(x.bps for x in paths if x.kind == "tgw") / total_bps
    lines = []
    if via_tgw:
        lines.append(
            CostLine(
                "TGW data processing",
                f"{via_tgw:,.0f} GB",
                f"{p.tgw_processing_gb:g}/GB",
                via_tgw * p.tgw_processing_gb,
            )
        )
    if direction == "from-aws":
        months = transfer_months(seconds, p)
        steady = monthly_out_bytes / GIB
        share = gb / months
        extra = months * (dto_internet(steady + share, p) - dto_internet(steady, p))
        spread = f" over {months} months" if months > 1 else ""
        basis = " on top of --monthly-out" if steady else ""
        lines.append(
            CostLine(
                f"data transfer out (internet tiers{basis})",
                f"{gb:,.0f} GB{spread}",
                "tiered",
                extra,
            )
        )
    else:
        lines.append(CostLine("data transfer in", f"{gb:,.0f} GB", "free", 0.0))
    return lines


# ------------------------------------------------------------------ the estimate
@dataclass(frozen=True)
class Option:
    """A way to meet the deadline: how many, the bandwidth, the time, the monthly cost."""

    name: str
    units: int
    bps: float
    seconds: float
    monthly: float | None
    note: str


@dataclass(frozen=True)
class Estimate:
    stack: str
    prices: Prices
    monthly: list[CostLine]
    paths: list[PathCapacity]
    per_datacenter: list[PathCapacity]
    size_bytes: int | None
    size_text: str | None
    direction: str
    deadline_seconds: float
    transfer: list[CostLine]
    seconds: float | None
    options: list[Option]
    advice: list[str]
    warnings: list[str]

    @property
    def monthly_total(self) -> float:
        return sum(c.amount for c in self.monthly)

    @property
    def bps(self) -> float:
        return sum(x.bps for x in self.paths)


def _options(
    required_bps: float, size: int, plan: Plan, p: Prices
) -> tuple[list[Option], list[str]]:
    h = p.hours_per_month
    options, advice = [], []
    if any(c.gateway_type == "vgw" for c in plan.connections):
        advice.append(
            "A VGW uses one tunnel at a time: move the datacenter connections to a "
            "transit gateway with ECMP (BGP) before adding any."
        )
    n = math.ceil(required_bps / ECMP_CONNECTION_BPS)
    quota = aws.MAX_CONNECTIONS_PER_REGION
    options.append(
        Option(
            "VPN connections with ECMP on a TGW (standard tunnels)",
            n,
            n * ECMP_CONNECTION_BPS,
            transfer_seconds(size, n * ECMP_CONNECTION_BPS),
            n * h * (p.vpn_connection_hour + p.tgw_attachment_hour),
            f"2 x {human_bps(aws.STANDARD_TUNNEL_BPS)} per connection, BGP; "
            + (
                f"over the quota of {quota} per region"
                if n > quota
                else "the routers must also encrypt at this rate"
            ),
        )
    )
    if n > quota:
        options.append(
            Option(
                "VPN connections with ECMP on a TGW, at the regional quota",
                quota,
                quota * ECMP_CONNECTION_BPS,
                transfer_seconds(size, quota * ECMP_CONNECTION_BPS),
                quota * h * (p.vpn_connection_hour + p.tgw_attachment_hour),
                f"the most a region allows ({quota} connections)",
            )
        )
    n_large = math.ceil(required_bps / LARGE_CONNECTION_BPS)
    options.append(
        Option(
            "VPN connections with Large tunnels on a TGW",
            n_large,
            n_large * LARGE_CONNECTION_BPS,
            transfer_seconds(size, n_large * LARGE_CONNECTION_BPS),
            None,
            f"2 x {human_bps(aws.LARGE_TUNNEL_BPS)} per connection, TGW or Cloud WAN only; "
            "price not in the table",
        )
    )
    for port, bps in DX_PORT_BPS.items():
        k = math.ceil(required_bps / bps)
        per = p.dx_port_hour.get(port)
        options.append(
            Option(
                f"Direct Connect {port} dedicated port(s)",
                k,
                k * bps,
                transfer_seconds(size, k * bps),
                k * h * per if per is not None else None,
                "not encrypted by itself: MACsec or IPsec over DX; weeks of lead time; "
                f"DTO over DX {p.dx_dto_gb:g}/GB",
            )
        )
    return options, advice


def traffic_costs(
    in_bytes: int, out_bytes: int, p: Prices, paths: list[PathCapacity]
) -> list[CostLine]:
    """Monthly charges for steady traffic between the datacenters and AWS."""
    total_bps = sum(x.bps for x in paths) or 1.0
    tgw_share = sum(x.bps for x in paths if x.kind == "tgw") / total_bps
    gb_in, gb_out = in_bytes / GIB, out_bytes / GIB
    lines = []
    if tgw_share and (gb_in or gb_out):
        gb = (gb_in + gb_out) * tgw_share
        lines.append(
            CostLine(
                "TGW data processing (monthly traffic)",
                f"{gb:,.0f} GB",
                f"{p.tgw_processing_gb:g}/GB",
                gb * p.tgw_processing_gb,
            )
        )
    if gb_out:
        lines.append(
            CostLine(
                "data transfer out to the datacenters",
                f"{gb_out:,.0f} GB",
                "tiered",
                dto_internet(gb_out, p),
            )
        )
    return lines


def estimate(
    plan: Plan,
    prices: Prices,
    size_bytes: int | None = None,
    direction: str = "to-aws",
    deadline_days: float = DEFAULT_DEADLINE_DAYS,
    monthly_in: int = 0,
    monthly_out: int = 0,
    size_text: str | None = None,
) -> Estimate:
    """Monthly cost (hours, plus steady traffic in and out), and for `size_bytes`
    the transfer time, its cost and the options when it is too slow."""
    if direction not in ("to-aws", "from-aws"):
        raise bad_input("--direction", direction, "to-aws or from-aws")
    if not deadline_days > 0:
        raise bad_input("--deadline-days", deadline_days, "a positive number of days")
    paths = capacities(plan)
    per_dc = capacities(plan, by_datacenter=True)
    deadline = deadline_days * 86400
    transfer: list[CostLine] = []
    seconds = None
    options: list[Option] = []
    advice: list[str] = []
    if size_bytes is not None:
        seconds = transfer_seconds(size_bytes, sum(x.bps for x in paths))
        transfer = transfer_costs(size_bytes, direction, plan, prices, paths, monthly_out, seconds)
        if seconds > deadline:
            options, advice = _options(size_bytes * 8 / deadline, size_bytes, plan, prices)
    warnings = []
    elsewhere = [r for r in plan.regions() if r != prices.region]
    if elsewhere:
        warnings.append(
            f"the stack also runs in {', '.join(elsewhere)}, where prices may "
            f"differ from these {prices.region} prices"
        )
    monthly = monthly_costs(plan, prices) + traffic_costs(monthly_in, monthly_out, prices, paths)
    return Estimate(
        plan.stack,
        prices,
        monthly,
        paths,
        per_dc,
        size_bytes,
        size_text,
        direction,
        deadline,
        transfer,
        seconds,
        options,
        advice,
        warnings,
    )


def _shown(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(PRICES_DIR.parent.parent))
    except ValueError:
        return path


def _money(x: float | None, cur: str) -> str:
    return "not priced" if x is None else f"{x:,.2f} {cur}"


def estimate_tables(e: Estimate) -> list[Table]:
    """An estimate as review tables."""
    p, cur = e.prices, e.prices.currency
    dated = f"list prices for {p.region} as of {p.date} from {_shown(p.path)}" + (
        "" if p.verified else " (not verified against the sources: check before quoting)"
    )
    tables = [
        Table.of(
            "Monthly cost",
            ("item", "quantity", "unit price", f"per month ({cur})"),
            [(c.item, c.quantity, c.unit_price, f"{c.amount:,.2f}") for c in e.monthly]
            + [("total", "", "", f"{e.monthly_total:,.2f}")],
            note="; ".join([dated, *e.warnings]),
        )
    ]
    tables.append(
        Table.of(
            "Tunnel bandwidth",
            ("gateway", "datacenter", "connections", "active tunnels", "bandwidth", "why"),
            [
                (
                    f"{x.gateway} ({x.kind})",
                    x.datacenter or "all",
                    x.connections,
                    x.active_tunnels,
                    human_bps(x.bps),
                    x.why,
                )
                for x in [*e.paths, *e.per_datacenter]
            ],
            note=f"a standard tunnel carries up to {human_bps(aws.STANDARD_TUNNEL_BPS)}; "
            "one TCP flow stays on one tunnel",
        )
    )
    if e.size_bytes is not None and e.seconds is not None:
        size = size_label(e.size_text, e.size_bytes)
        rows: list[tuple[object, ...]] = [
            ("all tunnels in parallel", human_bps(e.bps), human_duration(e.seconds))
        ]
        for x in e.per_datacenter:
            rows.append(
                (
                    f"{x.datacenter} only, via {x.gateway}",
                    human_bps(x.bps),
                    human_duration(transfer_seconds(e.size_bytes, x.bps)),
                )
            )
        verdict = "within" if e.seconds <= e.deadline_seconds else "LONGER THAN"
        tables.append(
            Table.of(
                f"Moving {size} ({e.direction})",
                ("path", "bandwidth", "time at line rate"),
                rows,
                note=f"{verdict} the deadline of {human_duration(e.deadline_seconds)}; real "
                "throughput is lower (IPsec and TCP overheads)",
            )
        )
        tables.append(
            Table.of(
                f"Cost of moving {size}",
                ("item", "quantity", "unit price", f"amount ({cur})"),
                [(c.item, c.quantity, c.unit_price, f"{c.amount:,.2f}") for c in e.transfer]
                + [("total", "", "", f"{sum(c.amount for c in e.transfer):,.2f}")],
                note="one-off, on top of the monthly cost; " + dated,
            )
        )
    if e.options:
        need = e.size_bytes * 8 / e.deadline_seconds if e.size_bytes else 0.0
        tables.append(
            Table.of(
                f"To finish within {human_duration(e.deadline_seconds)} "
                f"(needs {need / 1e9:.1f} Gbps)",
                ("option", "how many", "bandwidth", "time", f"per month ({cur})", "note"),
                [
                    (
                        o.name,
                        o.units,
                        human_bps(o.bps),
                        human_duration(o.seconds),
                        _money(o.monthly, cur),
                        o.note,
                    )
                    for o in e.options
                ],
                note=" ".join(e.advice),
            )
        )
    return tables
