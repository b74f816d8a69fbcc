"""AWS's own view of the tunnels in the emulator, as the lab drives it (issue 10 §4).

VgwTelemetry follows what the customer side reported; VPC and TGW route tables hold the
datacenter prefixes only while a tunnel of the connection is UP, from that connection's
gateway or attachment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from network.offline.aws import (
    AwsEmulator,
    TunnelReport,
    report_connection,
    report_tunnel,
    tunnel_attachment_id,
)

REGION = "eu-west-1"
DC = ("10.60.0.0/16", "10.61.0.0/16", "10.62.0.0/24")


@pytest.fixture
def ec2() -> Iterator[Any]:
    with AwsEmulator(seed=5) as emu:
        yield emu.client("ec2", REGION)


def _cgw(ec2: Any, ip: str = "192.0.2.30") -> str:
    gateway = ec2.create_customer_gateway(Type="ipsec.1", PublicIp=ip, BgpAsn=65030)
    return str(gateway["CustomerGateway"]["CustomerGatewayId"])


def _telemetry(ec2: Any, vpn: str) -> list[tuple[str, int, str]]:
    got = ec2.describe_vpn_connections(VpnConnectionIds=[vpn])["VpnConnections"][0]
    return [(t["Status"], t["AcceptedRouteCount"], t["StatusMessage"]) for t in got["VgwTelemetry"]]


@pytest.fixture
def vgw_net(ec2: Any) -> dict[str, str]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpcId=vpc, VpnGatewayId=vgw)
    vpn = ec2.create_vpn_connection(Type="ipsec.1", CustomerGatewayId=_cgw(ec2), VpnGatewayId=vgw)
    rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    table = rtb["RouteTables"][0]["RouteTableId"]
    ec2.enable_vgw_route_propagation(RouteTableId=table, GatewayId=vgw)
    return {"vgw": vgw, "vpn": vpn["VpnConnection"]["VpnConnectionId"], "rtb": table}


def _vpc_propagated(ec2: Any, table: str) -> list[tuple[str, str]]:
    routes = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
    return [
        (r["DestinationCidrBlock"], r["GatewayId"])
        for r in routes
        if r.get("Origin") == "EnableVgwRoutePropagation"
    ]


def test_lab_tunnel_down_is_down_with_no_routes_and_up_is_up_with_its_count(
    ec2: Any, vgw_net: dict[str, str]
) -> None:
    vpn = vgw_net["vpn"]
    assert _telemetry(ec2, vpn) == [("DOWN", 0, ""), ("DOWN", 0, "")]
    report_connection(
        ec2, vpn, [TunnelReport(ipsec_up=True, bgp_prefixes=DC), TunnelReport(ipsec_up=False)]
    )
    assert _telemetry(ec2, vpn) == [("UP", 3, "3 BGP ROUTES"), ("DOWN", 0, "")]
    # The lab takes tunnel 1 down and brings tunnel 2 up with one prefix fewer.
    report_connection(
        ec2,
        vpn,
        [TunnelReport(ipsec_up=False), TunnelReport(ipsec_up=True, bgp_prefixes=DC[:2])],
    )
    assert _telemetry(ec2, vpn) == [("DOWN", 0, ""), ("UP", 2, "2 BGP ROUTES")]


def test_ipsec_up_without_bgp_or_with_over_100_prefixes_is_down_ipsec_is_up(
    ec2: Any, vgw_net: dict[str, str]
) -> None:
    vpn = vgw_net["vpn"]
    report_tunnel(ec2, vpn, 1, TunnelReport(ipsec_up=True, bgp_established=False))
    too_many = tuple(f"10.{i // 256}.{i % 256}.0/24" for i in range(101))
    report_tunnel(ec2, vpn, 2, TunnelReport(ipsec_up=True, bgp_prefixes=too_many))
    assert _telemetry(ec2, vpn) == [("DOWN", 0, "IPSEC IS UP")] * 2
    # Exactly 100 is AWS's limit, still accepted.
    report_tunnel(ec2, vpn, 2, TunnelReport(ipsec_up=True, bgp_prefixes=too_many[:100]))
    assert _telemetry(ec2, vpn)[1] == ("UP", 100, "100 BGP ROUTES")
    assert _vpc_propagated(ec2, vgw_net["rtb"]) == [(p, vgw_net["vgw"]) for p in too_many[:100]]


def test_last_status_change_moves_only_when_the_status_does(
    ec2: Any, vgw_net: dict[str, str]
) -> None:
    vpn = vgw_net["vpn"]

    def changed() -> Any:
        got = ec2.describe_vpn_connections(VpnConnectionIds=[vpn])["VpnConnections"][0]
        return got["VgwTelemetry"][0]["LastStatusChange"]

    down_since = changed()
    report_tunnel(ec2, vpn, 1, TunnelReport(ipsec_up=False))
    assert changed() == down_since
    report_tunnel(ec2, vpn, 1, TunnelReport(ipsec_up=True, bgp_prefixes=DC))
    up_since = changed()
    assert up_since >= down_since
    report_tunnel(ec2, vpn, 1, TunnelReport(ipsec_up=True, bgp_prefixes=DC[:1]))
    assert changed() == up_since


def test_vpc_route_table_holds_dc_prefixes_only_from_an_up_tunnel(
    ec2: Any, vgw_net: dict[str, str]
) -> None:
    vpn, table, vgw = vgw_net["vpn"], vgw_net["rtb"], vgw_net["vgw"]
    # IPsec up but BGP down: AWS has learned nothing, so nothing propagates.
    report_tunnel(ec2, vpn, 1, TunnelReport(ipsec_up=True, bgp_established=False))
    assert _vpc_propagated(ec2, table) == []
    report_tunnel(ec2, vpn, 2, TunnelReport(ipsec_up=True, bgp_prefixes=DC))
    assert _vpc_propagated(ec2, table) == [(p, vgw) for p in DC]
    report_tunnel(ec2, vpn, 2, TunnelReport(ipsec_up=False))
    assert _vpc_propagated(ec2, table) == []


@pytest.fixture
def tgw_net(ec2: Any) -> dict[str, str]:
    tgw = ec2.create_transit_gateway(Options={"AmazonSideAsn": 64700})["TransitGateway"]
    tgw_id = tgw["TransitGatewayId"]
    table = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw_id)[
        "TransitGatewayRouteTable"
    ]["TransitGatewayRouteTableId"]
    ids = {"tgw": tgw_id, "table": table}
    for n, ip in enumerate(("192.0.2.31", "192.0.2.32"), start=1):
        vpn = ec2.create_vpn_connection(
            Type="ipsec.1", CustomerGatewayId=_cgw(ec2, ip), TransitGatewayId=tgw_id
        )["VpnConnection"]["VpnConnectionId"]
        attachment = tunnel_attachment_id(ec2, vpn)
        assert attachment is not None
        ec2.enable_transit_gateway_route_table_propagation(
            TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=attachment
        )
        ids |= {f"vpn{n}": vpn, f"att{n}": attachment}
    return ids


def _tgw_routes(ec2: Any, table: str, kind: str = "propagated") -> list[tuple[str, list[str]]]:
    routes = ec2.search_transit_gateway_routes(
        TransitGatewayRouteTableId=table, Filters=[{"Name": "type", "Values": [kind]}]
    )["Routes"]
    return sorted(
        (
            r["DestinationCidrBlock"],
            [a["TransitGatewayAttachmentId"] for a in r["TransitGatewayAttachments"]],
        )
        for r in routes
    )


def test_tgw_route_table_propagates_only_from_an_up_tunnels_attachment(
    ec2: Any, tgw_net: dict[str, str]
) -> None:
    table, att1, att2 = tgw_net["table"], tgw_net["att1"], tgw_net["att2"]
    assert _tgw_routes(ec2, table) == []
    report_tunnel(ec2, tgw_net["vpn1"], 1, TunnelReport(ipsec_up=True, bgp_prefixes=DC[:2]))
    report_tunnel(ec2, tgw_net["vpn2"], 2, TunnelReport(ipsec_up=True, bgp_prefixes=DC[1:]))
    # ECMP: the prefix learned on both attachments is one route naming both.
    assert _tgw_routes(ec2, table) == [
        (DC[0], [att1]),
        (DC[1], [att1, att2]),
        (DC[2], [att2]),
    ]
    report_tunnel(ec2, tgw_net["vpn1"], 1, TunnelReport(ipsec_up=False))
    assert _tgw_routes(ec2, table) == [(DC[1], [att2]), (DC[2], [att2])]


def test_tgw_static_route_wins_and_filters_still_apply(ec2: Any, tgw_net: dict[str, str]) -> None:
    table, att1, att2 = tgw_net["table"], tgw_net["att1"], tgw_net["att2"]
    report_tunnel(ec2, tgw_net["vpn1"], 1, TunnelReport(ipsec_up=True, bgp_prefixes=DC))
    ec2.create_transit_gateway_route(
        DestinationCidrBlock=DC[0],
        TransitGatewayRouteTableId=table,
        TransitGatewayAttachmentId=att2,
    )
    assert _tgw_routes(ec2, table, "static") == [(DC[0], [att2])]
    assert _tgw_routes(ec2, table) == [(DC[1], [att1]), (DC[2], [att1])]
    exact = ec2.search_transit_gateway_routes(
        TransitGatewayRouteTableId=table,
        Filters=[{"Name": "route-search.exact-match", "Values": [DC[2]]}],
    )["Routes"]
    assert [(r["DestinationCidrBlock"], r["Type"], r["State"]) for r in exact] == [
        (DC[2], "propagated", "active")
    ]
    ec2.disable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=att1
    )
    assert _tgw_routes(ec2, table) == []


def test_report_rejects_what_cannot_happen(ec2: Any, vgw_net: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="tunnel must be 1 or 2"):
        report_tunnel(ec2, vgw_net["vpn"], 3, TunnelReport(ipsec_up=True))
    with pytest.raises(ValueError, match="2 tunnels"):
        report_connection(ec2, vgw_net["vpn"], [TunnelReport(ipsec_up=True)])
    with pytest.raises(KeyError, match="vpn-00000000"):
        report_tunnel(ec2, "vpn-00000000", 1, TunnelReport(ipsec_up=True))
