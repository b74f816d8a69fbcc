"""Where AWS's view and the datacenter's disagree (pure).

AWS's rules for what it reports (EC2 API reference, ``VgwTelemetry``; Site-to-Site VPN
User Guide, *quotas*): a tunnel is ``UP`` when IPsec is up and, on a BGP connection,
the BGP session too; AWS accepts at most 100 prefixes from the customer side and drops
the session beyond. So a datacenter router that says Established while AWS says DOWN,
or AWS accepting fewer routes than the router announces, is a fault somewhere between
(filters, limits, a half-open session) that neither side's own check sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from network.aws_rules import MAX_PREFIXES_FROM_CUSTOMER
from network.awsview.facts import AwsView, DcTunnel, RouteExpectation, TunnelTelemetry
from network.contract import Connection


def _aws_says(t: TunnelTelemetry) -> str:
    msg = f", {t.status_message!r}" if t.status_message else ""
    return f"AWS says {t.status}{msg}, {t.accepted_route_count} accepted routes"


def _dc_up(dc: DcTunnel, routing: str) -> bool | None:
    if dc.ipsec_up is None:
        return None
    if routing != "bgp":
        return dc.ipsec_up
    return bool(dc.ipsec_up and dc.bgp_established)


def _dc_says(dc: DcTunnel, routing: str) -> str:
    ipsec = "IPsec up" if dc.ipsec_up else "IPsec down"
    if routing != "bgp":
        return f"the DC router says {ipsec}"
    bgp = "BGP Established" if dc.bgp_established else "BGP not Established"
    return f"the DC router says {ipsec}, {bgp}"


def _route_counts(dc: DcTunnel, t: TunnelTelemetry, planned: int) -> list[str]:
    announced = planned if dc.announced is None else dc.announced
    who = "the plan announces" if dc.announced is None else "the DC router announces"
    if t.accepted_route_count < announced:
        why = (
            f" (AWS takes at most {MAX_PREFIXES_FROM_CUSTOMER})"
            if announced > MAX_PREFIXES_FROM_CUSTOMER
            else ""
        )
        return [f"AWS accepted {t.accepted_route_count} routes, {who} {announced}{why}"]
    if t.accepted_route_count > announced:
        return [f"AWS accepted {t.accepted_route_count} routes, more than {who} ({announced})"]
    return []


def tunnel_problems(dc: DcTunnel, aws: TunnelTelemetry | None, conn: Connection) -> list[str]:
    """What AWS's telemetry of one tunnel says that the datacenter's view does not.

    With the DC side not read (``ipsec_up`` None), AWS is compared with the plan: every
    tunnel up (active/standby keeps both up, the standby less preferred), every
    announced prefix accepted.
    """
    where = f"{conn.name}/{dc.number}"
    if aws is None:
        return [f"{where}: AWS reports no telemetry for this tunnel"]
    up = _dc_up(dc, conn.routing)
    aws_up = aws.status == "UP"
    if up is None:
        if not aws_up:
            return [f"{where}: {_aws_says(aws)}; the plan has it up (DC side not read)"]
    elif up != aws_up:
        return [f"{where}: {_dc_says(dc, conn.routing)}, but {_aws_says(aws)}"]
    if aws_up and conn.routing == "bgp":
        return [f"{where}: {p}" for p in _route_counts(dc, aws, len(conn.announce))]
    return []


def route_problems(
    expected: Iterable[RouteExpectation], view: AwsView, vpn_ids: Mapping[str, str]
) -> list[str]:
    """Each expected DC prefix absent, inactive, or carried by the wrong target."""
    problems: list[str] = []
    for e in expected:
        if e.table_id not in view.routes:
            problems.append(f"{e.table} ({e.table_id}): AWS does not know the table")
            continue
        target = e.target
        if e.kind == "tgw":
            vpn_id = vpn_ids.get(e.connection, "")
            target = view.attachments.get(vpn_id, "")
            if not target:
                problems.append(f"{e.table}: {e.connection} ({vpn_id}) has no TGW attachment")
                continue
        routes = [r for r in view.routes[e.table_id] if r.destination == e.destination]
        if not routes:
            cut = " among the first routes AWS returned" if e.table_id in view.truncated else ""
            problems.append(f"{e.table} ({e.table_id}): no route to {e.destination}{cut}")
            continue
        good = [r for r in routes if target in r.targets]
        if not good:
            got = ", ".join(f"{'/'.join(r.targets) or '-'} ({r.origin})" for r in routes)
            via = f"{e.connection}'s attachment {target}" if e.kind == "tgw" else target
            problems.append(f"{e.table} ({e.table_id}): {e.destination} via {got}, not {via}")
        elif all(r.state not in ("active", "") for r in good):
            problems.append(
                f"{e.table} ({e.table_id}): {e.destination} via {target} is {good[0].state}"
            )
    return problems
