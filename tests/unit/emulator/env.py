"""The emulator tests' common ground: one region, a VPC with an attached VGW, a
customer gateway and a transit gateway, and the connection helpers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.exceptions import ClientError
from netaddr import IPNetwork

REGION = "eu-west-1"
CGW_IP = "192.0.2.10"
CGW_ASN = 65010
VGW_ASN = 64600
TGW_ASN = 64700
TUNNEL1_POOL = IPNetwork("198.51.100.0/24")
TUNNEL2_POOL = IPNetwork("203.0.113.0/24")
GIVEN_PSK = "Given_psk.12345"


def make_network(ec2: Any) -> dict[str, str]:
    """A VPC with an attached VGW, a customer gateway and a transit gateway."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=VGW_ASN)["VpnGateway"]
    ec2.attach_vpn_gateway(VpcId=vpc, VpnGatewayId=vgw["VpnGatewayId"])
    cgw = ec2.create_customer_gateway(Type="ipsec.1", PublicIp=CGW_IP, BgpAsn=CGW_ASN)
    tgw = ec2.create_transit_gateway(Options={"AmazonSideAsn": TGW_ASN})["TransitGateway"]
    rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    return {
        "vpc": vpc,
        "vgw": vgw["VpnGatewayId"],
        "cgw": cgw["CustomerGateway"]["CustomerGatewayId"],
        "tgw": tgw["TransitGatewayId"],
        "rtb": rtb["RouteTables"][0]["RouteTableId"],
    }


def vpn(ec2: Any, ids: dict[str, str], gateway: str = "vgw", **options: Any) -> dict[str, Any]:
    """Create a VPN connection on the VGW (or TGW) and return DescribeVpnConnections' view."""
    target = {"VpnGatewayId": ids["vgw"]} if gateway == "vgw" else {"TransitGatewayId": ids["tgw"]}
    cgw = ids["cgw"]
    if gateway == "vgw" and on_vgw(ec2, ids):
        # A VGW takes one connection per customer gateway address: the next one comes
        # from another device (a transit gateway takes several from one).
        n = len(on_vgw(ec2, ids))
        cgw = ec2.create_customer_gateway(
            Type="ipsec.1", PublicIp=f"203.0.113.{100 + n}", BgpAsn=CGW_ASN
        )["CustomerGateway"]["CustomerGatewayId"]
    created = ec2.create_vpn_connection(
        Type="ipsec.1", CustomerGatewayId=cgw, Options=options, **target
    )["VpnConnection"]
    found = ec2.describe_vpn_connections(VpnConnectionIds=[created["VpnConnectionId"]])
    return found["VpnConnections"][0]


def on_vgw(ec2: Any, ids: dict[str, str]) -> list[Any]:
    """The live connections on the test's VGW."""
    live = ec2.describe_vpn_connections()["VpnConnections"]
    return [c for c in live if c.get("VpnGatewayId") == ids["vgw"] and c["State"] != "deleted"]


def values(option: dict[str, Any], key: str) -> list[Any]:
    return [item["Value"] for item in option[key]]


def error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def xml_tunnels(conn: dict[str, Any]) -> list[ET.Element]:
    return ET.fromstring(conn["CustomerGatewayConfiguration"]).findall("ipsec_tunnel")
