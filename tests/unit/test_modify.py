"""ModifyVpnTunnelOptions and ModifyVpnConnection in the offline AWS, through the EC2 API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends

from network.offline.aws import AwsEmulator, modify, set_tunnel_status, tunnel_attachment_id

REGION = "us-east-1"


@pytest.fixture
def ec2() -> Iterator[Any]:
    with AwsEmulator(seed=1) as emu:
        yield emu.client("ec2", REGION)


def _backend() -> Any:
    return ec2_backends[DEFAULT_ACCOUNT_ID][REGION]


def _world(ec2: Any, static: bool = False) -> dict[str, Any]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=64512)["VpnGateway"]["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpcId=vpc, VpnGatewayId=vgw)
    cgw = ec2.create_customer_gateway(Type="ipsec.1", BgpAsn=65010, PublicIp="192.0.2.10")[
        "CustomerGateway"
    ]["CustomerGatewayId"]
    tgw = ec2.create_transit_gateway(Options={"AmazonSideAsn": 64600})["TransitGateway"][
        "TransitGatewayId"
    ]
    vpn = ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=cgw,
        VpnGatewayId=vgw,
        Options={
            "StaticRoutesOnly": static,
            "TunnelOptions": [
                {"TunnelInsideCidr": "169.254.10.0/30"},
                {"TunnelInsideCidr": "169.254.10.4/30"},
            ],
        },
    )["VpnConnection"]
    return {"vpc": vpc, "vgw": vgw, "cgw": cgw, "tgw": tgw, "vpn": vpn["VpnConnectionId"]}


def _tunnels(ec2: Any, vpn: str) -> list[dict[str, Any]]:
    got = ec2.describe_vpn_connections(VpnConnectionIds=[vpn])["VpnConnections"][0]
    by_ip = {t["OutsideIpAddress"]: t for t in got["VgwTelemetry"]}
    return [
        o | {"Status": by_ip[o["OutsideIpAddress"]]["Status"]}
        for o in got["Options"]["TunnelOptions"]
    ]


def test_one_tunnel_per_request_and_that_tunnel_is_down(ec2: Any) -> None:
    w = _world(ec2)
    for n in (1, 2):
        set_tunnel_status(ec2, w["vpn"], n, up=True, bgp_prefixes=["10.128.0.0/16"])
    t1, t2 = _tunnels(ec2, w["vpn"])
    ec2.modify_vpn_tunnel_options(
        VpnConnectionId=w["vpn"],
        VpnTunnelOutsideIpAddress=t1["OutsideIpAddress"],
        TunnelOptions={"DPDTimeoutSeconds": 45, "Phase2LifetimeSeconds": 1800},
    )
    n1, n2 = _tunnels(ec2, w["vpn"])
    assert (n1["DpdTimeoutSeconds"], n1["Phase2LifetimeSeconds"]) == (45, 1800)
    assert n1["Status"] == "DOWN" and n2["Status"] == "UP"  # the other carries on
    assert n2["DpdTimeoutSeconds"] == t2["DpdTimeoutSeconds"]
    assert n1["OutsideIpAddress"] == t1["OutsideIpAddress"]
    assert n1["PreSharedKey"] == t1["PreSharedKey"]  # not named: kept
    # the second tunnel waits until AWS has provisioned the first
    with pytest.raises(ClientError) as e:
        ec2.modify_vpn_tunnel_options(
            VpnConnectionId=w["vpn"],
            VpnTunnelOutsideIpAddress=t2["OutsideIpAddress"],
            TunnelOptions={"DPDTimeoutSeconds": 45},
        )
    assert e.value.response["Error"]["Code"] == "IncorrectState"
    modify.settle(_backend(), w["vpn"])
    ec2.modify_vpn_tunnel_options(
        VpnConnectionId=w["vpn"],
        VpnTunnelOutsideIpAddress=t2["OutsideIpAddress"],
        TunnelOptions={
            "PreSharedKey": "New_key_for_t2",
            "Phase1IntegrityAlgorithms": [{"Value": "SHA2-384"}],
        },
    )
    _, n2 = _tunnels(ec2, w["vpn"])
    assert n2["PreSharedKey"] == "New_key_for_t2" and n2["Status"] == "DOWN"
    assert [x["Value"] for x in n2["Phase1IntegrityAlgorithms"]] == ["SHA2-384"]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"Phase2LifetimeSeconds": 3600, "Phase1LifetimeSeconds": 3000}, "must be less than"),
        ({"PreSharedKey": "0starts_with_zero"}, "invalid PreSharedKey"),
        ({"TunnelInsideCidr": "169.254.10.4/30"}, "already used by tunnel 2"),
        ({"TunnelInsideCidr": "169.254.169.252/30"}, "reserved"),
        ({"DPDTimeoutSeconds": 10}, "below the minimum"),
    ],
)
def test_tunnel_options_aws_refuses_are_refused(
    ec2: Any, options: dict[str, Any], words: str
) -> None:
    w = _world(ec2)
    t1, _ = _tunnels(ec2, w["vpn"])
    with pytest.raises(ClientError) as e:
        ec2.modify_vpn_tunnel_options(
            VpnConnectionId=w["vpn"],
            VpnTunnelOutsideIpAddress=t1["OutsideIpAddress"],
            TunnelOptions=options,
        )
    assert words in e.value.response["Error"]["Message"]
    assert "0starts_with_zero" not in str(e.value)  # a key is never echoed
    assert _tunnels(ec2, w["vpn"])[0] == t1  # nothing changed


def test_a_tunnel_is_named_by_its_outside_address(ec2: Any) -> None:
    w = _world(ec2)
    with pytest.raises(ClientError) as e:
        ec2.modify_vpn_tunnel_options(
            VpnConnectionId=w["vpn"], VpnTunnelOutsideIpAddress="192.0.2.99", TunnelOptions={}
        )
    assert "no tunnel with outside IP address 192.0.2.99" in e.value.response["Error"]["Message"]


def test_vgw_to_tgw_needs_the_static_routes_gone_first(ec2: Any) -> None:
    w = _world(ec2, static=True)
    ec2.create_vpn_connection_route(VpnConnectionId=w["vpn"], DestinationCidrBlock="10.128.0.0/16")
    before = _tunnels(ec2, w["vpn"])
    with pytest.raises(ClientError) as e:
        ec2.modify_vpn_connection(VpnConnectionId=w["vpn"], TransitGatewayId=w["tgw"])
    assert e.value.response["Error"]["Code"] == "IncorrectState"
    assert "10.128.0.0/16" in e.value.response["Error"]["Message"]
    assert tunnel_attachment_id(ec2, w["vpn"]) is None
    ec2.delete_vpn_connection_route(VpnConnectionId=w["vpn"], DestinationCidrBlock="10.128.0.0/16")
    got = ec2.modify_vpn_connection(VpnConnectionId=w["vpn"], TransitGatewayId=w["tgw"])
    assert got["VpnConnection"]["TransitGatewayId"] == w["tgw"]
    assert "VpnGatewayId" not in got["VpnConnection"]
    assert tunnel_attachment_id(ec2, w["vpn"]) is not None  # the TGW's VPN attachment
    after = _tunnels(ec2, w["vpn"])
    # addresses, inside CIDRs and keys stay; both tunnels are down while AWS provisions
    for b, a in zip(before, after, strict=True):
        assert {k: a[k] for k in ("OutsideIpAddress", "TunnelInsideCidr", "PreSharedKey")} == {
            k: b[k] for k in ("OutsideIpAddress", "TunnelInsideCidr", "PreSharedKey")
        }
        assert a["Status"] == "DOWN"
    with pytest.raises(ClientError):  # still being provisioned
        ec2.modify_vpn_connection(VpnConnectionId=w["vpn"], VpnGatewayId=w["vgw"])
    modify.settle(_backend(), w["vpn"])
    back = ec2.modify_vpn_connection(VpnConnectionId=w["vpn"], VpnGatewayId=w["vgw"])
    assert back["VpnConnection"]["VpnGatewayId"] == w["vgw"]
    assert tunnel_attachment_id(ec2, w["vpn"]) is None


def test_modify_connection_refuses_what_aws_refuses(ec2: Any) -> None:
    w = _world(ec2)
    cases = [
        ({"TransitGatewayId": "tgw-0000000000000000f"}, "does not exist"),
        ({"TransitGatewayId": w["tgw"], "VpnGatewayId": w["vgw"]}, "exactly one"),
        ({"CustomerGatewayId": "cgw-0000000000000000f"}, ""),
    ]
    for args, words in cases:
        with pytest.raises(ClientError) as e:
            ec2.modify_vpn_connection(VpnConnectionId=w["vpn"], **args)
        assert words in e.value.response["Error"]["Message"]
    other = ec2.create_customer_gateway(Type="ipsec.1", BgpAsn=65011, PublicIp="192.0.2.11")[
        "CustomerGateway"
    ]["CustomerGatewayId"]
    got = ec2.modify_vpn_connection(VpnConnectionId=w["vpn"], CustomerGatewayId=other)
    assert got["VpnConnection"]["CustomerGatewayId"] == other
    xml = ec2.describe_vpn_connections(VpnConnectionIds=[w["vpn"]])["VpnConnections"][0][
        "CustomerGatewayConfiguration"
    ]
    assert "192.0.2.11" in xml and "192.0.2.10" not in xml
