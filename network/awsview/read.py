"""Read AWS's view over a boto3 EC2 client: read-only calls only.

``DescribeVpnConnections`` (``VgwTelemetry``), ``DescribeTransitGatewayAttachments``
(a VPN connection's TGW attachment: AWS's VpnConnection has no such field),
``DescribeRouteTables`` and ``SearchTransitGatewayRoutes``. The client is the user's
(``boto3.Session(profile_name=...)``) or the offline emulator's: the same code path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from network.awsview.facts import (
    AwsView,
    TableRoute,
    TunnelTelemetry,
    expected_routes,
    regions,
    table_regions,
    vpn_ids,
)
from network.contract import StackOutputs

# AWS's TGW route search returns at most 1000 routes per call (MaxResults).
TGW_SEARCH_MAX = 1000
_GONE = ("deleted", "deleting", "failed", "rejected")


def _code(e: Exception) -> str:
    response = getattr(e, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def read_telemetry(ec2: Any, vpn_ids: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """VPN id -> its ``VgwTelemetry`` entries; and the ids AWS does not know."""
    ids = sorted(set(vpn_ids))
    found: dict[str, Any] = {}
    missing: list[str] = []
    for vpn_id in ids:  # one by one: an unknown id fails the whole request
        try:
            answer = ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])
        except Exception as e:  # botocore's ClientError, without importing botocore here
            if _code(e).startswith("InvalidVpnConnectionID"):
                missing.append(vpn_id)
                continue
            raise
        for conn in answer.get("VpnConnections", []):
            if conn.get("State") in ("deleted", "deleting"):
                missing.append(vpn_id)
                continue
            found[vpn_id] = tuple(
                TunnelTelemetry(
                    vpn_connection_id=vpn_id,
                    outside_ip=str(t.get("OutsideIpAddress", "")),
                    status=str(t.get("Status", "")),
                    status_message=str(t.get("StatusMessage", "")),
                    accepted_route_count=int(t.get("AcceptedRouteCount", 0) or 0),
                    last_status_change=t.get("LastStatusChange"),
                )
                for t in conn.get("VgwTelemetry") or []
            )
    return found, missing


def read_attachments(ec2: Any, vpn_ids: Iterable[str]) -> dict[str, str]:
    """VPN id -> its live TGW attachment id (VGW connections have none)."""
    ids = sorted(set(vpn_ids))
    if not ids:
        return {}
    answer = ec2.describe_transit_gateway_attachments(
        Filters=[
            {"Name": "resource-type", "Values": ["vpn"]},
            {"Name": "resource-id", "Values": ids},
        ]
    )
    return {
        str(a["ResourceId"]): str(a["TransitGatewayAttachmentId"])
        for a in answer.get("TransitGatewayAttachments", [])
        if a.get("State") not in _GONE and a.get("ResourceId") in ids
    }


def _vpc_route(table_id: str, r: dict[str, Any]) -> TableRoute | None:
    dest = r.get("DestinationCidrBlock")
    if not dest:
        return None
    target = next(
        (
            str(r[k])
            for k in ("GatewayId", "TransitGatewayId", "VpcPeeringConnectionId", "NatGatewayId")
            if r.get(k)
        ),
        "",
    )
    return TableRoute(
        table_id,
        str(dest),
        (target,) if target else (),
        str(r.get("Origin", "")),
        str(r.get("State", "")),
    )


def read_vpc_routes(ec2: Any, table_ids: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """Route table id -> its routes; and the ids AWS does not know."""
    out: dict[str, tuple[TableRoute, ...]] = {}
    missing: list[str] = []
    for table_id in sorted(set(table_ids)):
        try:
            answer = ec2.describe_route_tables(RouteTableIds=[table_id])
        except Exception as e:
            if _code(e).startswith("InvalidRouteTableID"):
                missing.append(table_id)
                continue
            raise
        routes = [
            route
            for t in answer.get("RouteTables", [])
            for r in t.get("Routes", [])
            if (route := _vpc_route(table_id, r)) is not None
        ]
        out[table_id] = tuple(routes)
    return out, missing


def read_tgw_routes(
    ec2: Any, table_ids: Iterable[str]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """TGW route table id -> its static and propagated routes; unknown ids; the ids
    whose routes AWS cut at ``TGW_SEARCH_MAX`` (``AdditionalRoutesAvailable``)."""
    out: dict[str, tuple[TableRoute, ...]] = {}
    missing: list[str] = []
    truncated: list[str] = []
    for table_id in sorted(set(table_ids)):
        try:
            answer = ec2.search_transit_gateway_routes(
                TransitGatewayRouteTableId=table_id,
                Filters=[{"Name": "type", "Values": ["static", "propagated"]}],
                MaxResults=TGW_SEARCH_MAX,
            )
        except Exception as e:
            if _code(e).startswith("InvalidRouteTableID"):
                missing.append(table_id)
                continue
            raise
        if answer.get("AdditionalRoutesAvailable"):
            truncated.append(table_id)
        out[table_id] = tuple(
            TableRoute(
                table_id,
                str(r.get("DestinationCidrBlock", "")),
                tuple(
                    str(a["TransitGatewayAttachmentId"])
                    for a in r.get("TransitGatewayAttachments") or []
                    if a.get("TransitGatewayAttachmentId")
                ),
                str(r.get("Type", "")),
                str(r.get("State", "")),
            )
            for r in answer.get("Routes", [])
        )
    return out, missing, truncated


def read_view(
    ec2: Any,
    vpn_ids: Iterable[str],
    vpc_tables: Iterable[str] = (),
    tgw_tables: Iterable[str] = (),
) -> AwsView:
    """AWS's view of these connections and route tables, in one region."""
    vpn_ids = list(vpn_ids)
    telemetry, gone = read_telemetry(ec2, vpn_ids)
    vpc, gone_vpc = read_vpc_routes(ec2, vpc_tables)
    tgw, gone_tgw, truncated = read_tgw_routes(ec2, tgw_tables)
    return AwsView(
        telemetry=telemetry,
        attachments=read_attachments(ec2, [v for v in vpn_ids if v in telemetry]),
        routes={**vpc, **tgw},
        missing=tuple(gone + gone_vpc + gone_tgw),
        truncated=tuple(truncated),
    )


def merge(views: Iterable[AwsView]) -> AwsView:
    """Several regions' views as one."""
    telemetry: dict[str, tuple[TunnelTelemetry, ...]] = {}
    attachments: dict[str, str] = {}
    routes: dict[str, tuple[TableRoute, ...]] = {}
    missing: list[str] = []
    truncated: list[str] = []
    for v in views:
        telemetry.update(v.telemetry)
        attachments.update(v.attachments)
        routes.update(v.routes)
        missing += v.missing
        truncated += v.truncated
    return AwsView(telemetry, attachments, routes, tuple(missing), tuple(truncated))


def read_stack(out: StackOutputs, client: Callable[[str], Any]) -> AwsView:
    """AWS's view of every connection and route table of a stack, region by region.

    ``client(region)`` gives the EC2 client of a region (the user's session's, or the
    emulator's).
    """
    ids, conn_regions, tables = vpn_ids(out), regions(out), table_regions(out)
    expected = expected_routes(out)
    kinds = {e.table_id: e.kind for e in expected}
    views = []
    for region in sorted(set(conn_regions.values()) | {tables[t] for t in kinds if t in tables}):
        views.append(
            read_view(
                client(region),
                [ids[c] for c, r in conn_regions.items() if r == region and ids[c]],
                [t for t, k in kinds.items() if k == "vpc" and tables.get(t) == region],
                [t for t, k in kinds.items() if k == "tgw" and tables.get(t) == region],
            )
        )
    return merge(views)
