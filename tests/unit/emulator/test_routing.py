"""The offline AWS emulator's routing by AWS's rules: a static connection's routes, VGW
route propagation, transit gateway attachments and routes, a VGW's ASN.

Pre-shared keys are compared, never printed: assertions on them go through booleans
so a failure cannot show a key.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from network.aws_rules import (
    AWS_DEFAULT_ASN,
)
from network.offline.aws import (
    set_tunnel_status,
    tunnel_attachment_id,
)
from tests.unit.emulator.env import error, vpn

# ------------------------------------------------------- 4. static routes


def test_static_routes_are_recorded_and_checked(ec2: Any, net: dict[str, str]) -> None:
    static = vpn(ec2, net, StaticRoutesOnly=True)["VpnConnectionId"]
    ec2.create_vpn_connection_route(VpnConnectionId=static, DestinationCidrBlock="10.50.0.0/16")
    ec2.create_vpn_connection_route(VpnConnectionId=static, DestinationCidrBlock="10.60.0.0/16")
    routes = ec2.describe_vpn_connections(VpnConnectionIds=[static])["VpnConnections"][0]["Routes"]
    assert routes == [
        {"DestinationCidrBlock": "10.50.0.0/16", "Source": "Static", "State": "available"},
        {"DestinationCidrBlock": "10.60.0.0/16", "Source": "Static", "State": "available"},
    ]
    ec2.delete_vpn_connection_route(VpnConnectionId=static, DestinationCidrBlock="10.50.0.0/16")
    routes = ec2.describe_vpn_connections(VpnConnectionIds=[static])["VpnConnections"][0]["Routes"]
    assert [r["DestinationCidrBlock"] for r in routes] == ["10.60.0.0/16"]

    with pytest.raises(ClientError) as excinfo:
        ec2.create_vpn_connection_route(VpnConnectionId=static, DestinationCidrBlock="10.1.2/33")
    assert error(excinfo) == (
        "InvalidParameterValue",
        "Value (10.1.2/33) for parameter destinationCidrBlock is invalid. "
        "This is not a valid CIDR block.",
    )
    bgp = vpn(ec2, net)["VpnConnectionId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.create_vpn_connection_route(VpnConnectionId=bgp, DestinationCidrBlock="10.70.0.0/16")
    code, text = error(excinfo)
    assert code == "InvalidParameterValue"
    assert text == (
        f"VPN connection {bgp} uses BGP (dynamic) routing: static routes need a connection "
        "created with StaticRoutesOnly=true"
    )
    on_tgw = vpn(ec2, net, gateway="tgw", StaticRoutesOnly=True)["VpnConnectionId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.create_vpn_connection_route(VpnConnectionId=on_tgw, DestinationCidrBlock="10.8.0.0/16")
    assert "add static routes to the transit gateway route table instead" in error(excinfo)[1]
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_vpn_connection_route(VpnConnectionId=static, DestinationCidrBlock="10.9.0.0/16")
    assert error(excinfo)[0] == "InvalidRoute.NotFound"


# ---------------------------------------------------- 5. VGW propagation


def test_vgw_route_propagation_needs_an_attached_vgw(ec2: Any, net: dict[str, str]) -> None:
    loose = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.enable_vgw_route_propagation(RouteTableId=net["rtb"], GatewayId=loose)
    assert error(excinfo) == (
        "Gateway.NotAttached",
        f"Virtual private gateway {loose} is not attached to {net['vpc']}, "
        f"the VPC of route table {net['rtb']}",
    )


def test_vgw_propagation_shows_only_what_the_vpn_really_offers(
    ec2: Any, net: dict[str, str]
) -> None:
    static = vpn(ec2, net, StaticRoutesOnly=True)["VpnConnectionId"]
    bgp = vpn(ec2, net)["VpnConnectionId"]
    ec2.create_vpn_connection_route(VpnConnectionId=static, DestinationCidrBlock="10.50.0.0/16")
    ec2.create_route(
        RouteTableId=net["rtb"], DestinationCidrBlock="10.99.0.0/16", GatewayId=net["vgw"]
    )
    ec2.enable_vgw_route_propagation(RouteTableId=net["rtb"], GatewayId=net["vgw"])

    def table() -> dict[str, Any]:
        return ec2.describe_route_tables(RouteTableIds=[net["rtb"]])["RouteTables"][0]

    def propagated() -> list[str]:
        return [
            r["DestinationCidrBlock"]
            for r in table()["Routes"]
            if r.get("Origin") == "EnableVgwRoutePropagation"
        ]

    assert table()["PropagatingVgws"] == [{"GatewayId": net["vgw"]}]
    # AWS propagates a connection's routes only while it is UP; offline it is DOWN.
    assert propagated() == []

    set_tunnel_status(ec2, static, 1, up=True)
    set_tunnel_status(ec2, bgp, 2, up=True, bgp_prefixes=["10.60.0.0/16", "10.99.0.0/16"])
    # The explicit 10.99.0.0/16 route wins over the identical propagated one.
    assert propagated() == ["10.50.0.0/16", "10.60.0.0/16"]
    assert all(
        r["GatewayId"] == net["vgw"] and r["State"] == "active"
        for r in table()["Routes"]
        if r.get("Origin") == "EnableVgwRoutePropagation"
    )
    telemetry = ec2.describe_vpn_connections(VpnConnectionIds=[bgp])["VpnConnections"][0][
        "VgwTelemetry"
    ]
    assert [(t["Status"], t["AcceptedRouteCount"]) for t in telemetry] == [("DOWN", 0), ("UP", 2)]
    assert telemetry[1]["StatusMessage"] == "2 BGP ROUTES"

    # More than 100 prefixes: AWS drops the BGP session.
    too_many = [f"10.{i // 256}.{i % 256}.0/24" for i in range(101)]
    set_tunnel_status(ec2, bgp, 2, up=True, bgp_prefixes=too_many)
    assert propagated() == ["10.50.0.0/16"]
    telemetry = ec2.describe_vpn_connections(VpnConnectionIds=[bgp])["VpnConnections"][0][
        "VgwTelemetry"
    ]
    assert (telemetry[1]["Status"], telemetry[1]["StatusMessage"]) == ("DOWN", "IPSEC IS UP")

    ec2.disable_vgw_route_propagation(RouteTableId=net["rtb"], GatewayId=net["vgw"])
    assert table()["PropagatingVgws"] == []
    assert propagated() == []


# ------------------------------------------------ 6. TGW attachment id


def test_tgw_attachment_id_is_discoverable(ec2: Any, net: dict[str, str]) -> None:
    on_tgw = vpn(ec2, net, gateway="tgw")["VpnConnectionId"]
    on_vgw = vpn(ec2, net)["VpnConnectionId"]
    attachment = tunnel_attachment_id(ec2, on_tgw)
    listed = ec2.describe_transit_gateway_attachments()["TransitGatewayAttachments"]
    assert [
        (a["TransitGatewayAttachmentId"], a["ResourceType"], a["TransitGatewayId"])
        for a in listed
        if a["ResourceId"] == on_tgw
    ] == [(attachment, "vpn", net["tgw"])]
    assert attachment is not None and attachment.startswith("tgw-attach-")
    assert tunnel_attachment_id(ec2, on_vgw) is None
    ec2.delete_vpn_connection(VpnConnectionId=on_tgw)
    assert tunnel_attachment_id(ec2, on_tgw) is None


def test_tgw_static_routes_name_their_attachment_and_one_per_cidr(
    ec2: Any, net: dict[str, str]
) -> None:
    """moto drops a TGW static route's attachment from its answer and lets a
    second route for the same CIDR overwrite the first; AWS does neither."""
    conn = vpn(ec2, net, gateway="tgw", StaticRoutesOnly=True)["VpnConnectionId"]
    attachment = tunnel_attachment_id(ec2, conn)
    table = ec2.create_transit_gateway_route_table(TransitGatewayId=net["tgw"])[
        "TransitGatewayRouteTable"
    ]["TransitGatewayRouteTableId"]
    ec2.create_transit_gateway_route(
        DestinationCidrBlock="10.128.0.0/16",
        TransitGatewayRouteTableId=table,
        TransitGatewayAttachmentId=attachment,
    )
    routes = ec2.search_transit_gateway_routes(
        TransitGatewayRouteTableId=table, Filters=[{"Name": "type", "Values": ["static"]}]
    )["Routes"]
    assert [
        (
            r["DestinationCidrBlock"],
            r["State"],
            [a["TransitGatewayAttachmentId"] for a in r["TransitGatewayAttachments"]],
        )
        for r in routes
    ] == [("10.128.0.0/16", "active", [attachment])]
    with pytest.raises(ClientError) as e:
        ec2.create_transit_gateway_route(
            DestinationCidrBlock="10.128.0.0/16",
            TransitGatewayRouteTableId=table,
            TransitGatewayAttachmentId=attachment,
        )
    assert error(e)[0] == "RouteAlreadyExists"
    ec2.delete_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock="10.128.0.0/16"
    )
    ec2.create_transit_gateway_route(  # once deleted, it may be created again
        DestinationCidrBlock="10.128.0.0/16",
        TransitGatewayRouteTableId=table,
        TransitGatewayAttachmentId=attachment,
    )


def test_vgw_keeps_its_amazon_side_asn_and_defaults_to_64512(ec2: Any) -> None:
    kept = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=4200000001)["VpnGateway"]
    default = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    described = {
        g["VpnGatewayId"]: g["AmazonSideAsn"] for g in ec2.describe_vpn_gateways()["VpnGateways"]
    }
    assert described[kept["VpnGatewayId"]] == 4200000001
    assert described[default["VpnGatewayId"]] == AWS_DEFAULT_ASN
