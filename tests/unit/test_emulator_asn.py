"""Customer-gateway ASNs in the emulator: BgpAsn or BgpAsnExtended, AWS's ranges, and
the ASNs AWS reserves (EC2 API reference, CreateCustomerGateway; Site-to-Site VPN User
Guide, customer gateway options)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pulumi.runtime import MockResourceArgs

from network.aws_rules import RESERVED_CUSTOMER_ASNS, reserved_customer_asn
from network.offline.aws import AwsEmulator
from network.offline.mocks import MotoMocks, OfflineApplyError

CGW_IP = "192.0.2.20"


@pytest.fixture
def emu() -> Iterator[AwsEmulator]:
    with AwsEmulator(seed=11) as started:
        yield started


def _cgw(ec2: Any, **asn: Any) -> dict[str, Any]:
    created = ec2.create_customer_gateway(Type="ipsec.1", PublicIp=CGW_IP, **asn)
    gateway_id = created["CustomerGateway"]["CustomerGatewayId"]
    found: dict[str, Any] = ec2.describe_customer_gateways(CustomerGatewayIds=[gateway_id])[
        "CustomerGateways"
    ][0]
    return found


def _code(ec2: Any, **asn: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        ec2.create_customer_gateway(Type="ipsec.1", PublicIp=CGW_IP, **asn)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_a_4_byte_asn_is_taken_as_bgp_asn_extended_and_reported_back(emu: AwsEmulator) -> None:
    ec2 = emu.client("ec2", "eu-west-1")
    gateway = _cgw(ec2, BgpAsnExtended=4200000001)
    assert gateway["BgpAsnExtended"] == "4200000001"
    assert "BgpAsn" not in gateway
    two_byte = _cgw(ec2, BgpAsn=65010)
    assert two_byte["BgpAsn"] == "65010" and "BgpAsnExtended" not in two_byte


def test_the_connection_xml_carries_the_4_byte_asn(emu: AwsEmulator) -> None:
    ec2 = emu.client("ec2", "eu-west-1")
    cgw = _cgw(ec2, BgpAsnExtended=4200000001)["CustomerGatewayId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=64600)["VpnGateway"]
    vpn = ec2.create_vpn_connection(
        Type="ipsec.1", CustomerGatewayId=cgw, VpnGatewayId=vgw["VpnGatewayId"]
    )["VpnConnection"]["VpnConnectionId"]
    got = ec2.describe_vpn_connections(VpnConnectionIds=[vpn])["VpnConnections"][0]
    root = ET.fromstring(got["CustomerGatewayConfiguration"])
    sides = [
        (t.findtext("customer_gateway/bgp/asn"), t.findtext("vpn_gateway/bgp/asn"))
        for t in root.iter("ipsec_tunnel")
    ]
    assert sides == [("4200000001", "64600")] * 2


@pytest.mark.parametrize(
    ("asn", "code"),
    [
        ({"BgpAsn": 65010, "BgpAsnExtended": 4200000001}, "InvalidParameterCombination"),
        ({}, "MissingParameter"),
        ({"BgpAsn": 0}, "InvalidParameterValue"),
        ({"BgpAsn": 2147483648}, "InvalidParameterValue"),
        ({"BgpAsnExtended": 2147483647}, "InvalidParameterValue"),
        ({"BgpAsnExtended": 4294967296}, "InvalidParameterValue"),
    ],
    ids=["both", "neither", "bgp-asn-0", "bgp-asn-too-big", "extended-too-small", "extended-over"],
)
def test_what_aws_refuses_is_refused_with_its_error_code(
    emu: AwsEmulator, asn: dict[str, int], code: str
) -> None:
    ec2 = emu.client("ec2", "us-east-1")
    assert _code(ec2, **asn)[0] == code
    assert ec2.describe_customer_gateways()["CustomerGateways"] == []


def test_a_bgp_asn_too_big_points_at_bgp_asn_extended(emu: AwsEmulator) -> None:
    message = _code(emu.client("ec2", "us-east-1"), BgpAsn=4200000001)[1]
    assert "1-2147483647" in message and "BgpAsnExtended" in message


@pytest.mark.parametrize(
    ("asn", "region", "refused"),
    [
        (7224, "us-east-1", True),
        (7224, "eu-west-1", True),
        (7224, "ap-southeast-2", True),
        (9059, "eu-west-1", True),
        (9059, "us-east-1", False),
        (10124, "ap-northeast-1", True),
        (10124, "eu-west-1", False),
        (17943, "ap-southeast-1", True),
        (17943, "ap-northeast-1", False),
        (65000, "eu-west-1", False),
    ],
)
def test_reserved_asns_are_refused_in_their_regions_only(
    emu: AwsEmulator, asn: int, region: str, refused: bool
) -> None:
    assert reserved_customer_asn(asn, region) is refused
    ec2 = emu.client("ec2", region)
    if refused:
        code, message = _code(ec2, BgpAsn=asn)
        assert code == "InvalidParameterValue" and f"reserves ASN {asn}" in message
        assert region in message
    else:
        assert _cgw(ec2, BgpAsn=asn)["BgpAsn"] == str(asn)


def test_reserved_asn_table_is_the_guides() -> None:
    assert {r: sorted(a) for r, a in RESERVED_CUSTOMER_ASNS.items()} == {
        "*": [7224],
        "eu-west-1": [9059],
        "ap-northeast-1": [10124],
        "ap-southeast-1": [17943],
    }


def test_the_pulumi_mocks_pass_bgp_asn_extended_through(emu: AwsEmulator) -> None:
    mocks = MotoMocks(emu, "eu-west-1")
    typ = "aws:ec2/customerGateway:CustomerGateway"
    inputs = {"type": "ipsec.1", "ipAddress": CGW_IP, "bgpAsnExtended": "4200000001"}
    gateway_id, _ = mocks.new_resource(MockResourceArgs(typ, "cgw4", inputs, custom=True))
    ec2 = emu.client("ec2", "eu-west-1")
    got = ec2.describe_customer_gateways(CustomerGatewayIds=[gateway_id])["CustomerGateways"][0]
    assert got["BgpAsnExtended"] == "4200000001"
    with pytest.raises(OfflineApplyError, match="InvalidParameterValue"):
        mocks.new_resource(
            MockResourceArgs(
                typ, "cgw-reserved", {"ipAddress": CGW_IP, "bgpAsn": "9059"}, custom=True
            )
        )
