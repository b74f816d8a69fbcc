"""The offline AWS emulator's VPN connections, by AWS's rules: tunnel options honoured
or AWS's defaults, outside and inside addresses, the customer gateway XML, generated
keys, and what AWS rejects.

Pre-shared keys are compared, never printed: assertions on them go through booleans
so a failure cannot show a key.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from netaddr import IPAddress, IPNetwork

from network.aws_rules import (
    BGP_HOLD_TIME,
    DPD_TIMEOUT_DEFAULT,
    GENERATED_PSK_LENGTH,
    IKE_VERSIONS,
    INSIDE_V4_SUPERNET,
    PHASE1_DH_GROUPS,
    PHASE1_ENCRYPTION,
    PHASE1_INTEGRITY,
    PHASE1_LIFETIME_DEFAULT,
    PHASE2_DH_GROUPS,
    PHASE2_ENCRYPTION,
    PHASE2_INTEGRITY,
    PHASE2_LIFETIME_DEFAULT,
    REKEY_FUZZ_DEFAULT,
    REKEY_MARGIN_DEFAULT,
    REPLAY_WINDOW_DEFAULT,
    RESERVED_INSIDE_V4,
    is_reserved_inside_cidr,
    psk_ok,
)
from network.offline.aws import (
    AwsEmulator,
)
from tests.unit.emulator.env import (
    CGW_ASN,
    CGW_IP,
    GIVEN_PSK,
    REGION,
    TGW_ASN,
    TUNNEL1_POOL,
    TUNNEL2_POOL,
    VGW_ASN,
    error,
    make_network,
    values,
    vpn,
    xml_tunnels,
)

# --------------------------------------------------- 1. Options are honoured


def test_given_tunnel_options_are_honoured_and_absent_ones_get_aws_defaults(
    ec2: Any, net: dict[str, str]
) -> None:
    given = {
        "TunnelInsideCidr": "169.254.10.0/30",
        "PreSharedKey": GIVEN_PSK,
        "Phase1EncryptionAlgorithms": [{"Value": "AES256"}, {"Value": "AES256-GCM-16"}],
        "Phase2EncryptionAlgorithms": [{"Value": "AES256"}],
        "Phase1IntegrityAlgorithms": [{"Value": "SHA2-256"}],
        "Phase2IntegrityAlgorithms": [{"Value": "SHA2-512"}],
        "Phase1DHGroupNumbers": [{"Value": 14}, {"Value": 21}],
        "Phase2DHGroupNumbers": [{"Value": 5}],
        "IKEVersions": [{"Value": "ikev2"}],
        "Phase1LifetimeSeconds": 7200,
        "Phase2LifetimeSeconds": 1800,
        "RekeyMarginTimeSeconds": 600,
        "RekeyFuzzPercentage": 50,
        "ReplayWindowSize": 2048,
        "DPDTimeoutSeconds": 60,
        "DPDTimeoutAction": "restart",
        "StartupAction": "start",
    }
    conn = vpn(ec2, net, StaticRoutesOnly=True, TunnelOptions=[given])
    options = conn["Options"]
    assert options["StaticRoutesOnly"] is True
    assert options["TunnelInsideIpVersion"] == "ipv4"
    first, second = options["TunnelOptions"]

    assert first["TunnelInsideCidr"] == "169.254.10.0/30"
    psk_kept = first["PreSharedKey"] == GIVEN_PSK
    assert psk_kept, "the given pre-shared key was not kept"
    assert values(first, "Phase1EncryptionAlgorithms") == ["AES256", "AES256-GCM-16"]
    assert values(first, "Phase2EncryptionAlgorithms") == ["AES256"]
    assert values(first, "Phase1IntegrityAlgorithms") == ["SHA2-256"]
    assert values(first, "Phase2IntegrityAlgorithms") == ["SHA2-512"]
    assert values(first, "Phase1DHGroupNumbers") == [14, 21]
    assert values(first, "Phase2DHGroupNumbers") == [5]
    assert values(first, "IkeVersions") == ["ikev2"]
    assert (first["Phase1LifetimeSeconds"], first["Phase2LifetimeSeconds"]) == (7200, 1800)
    assert (first["RekeyMarginTimeSeconds"], first["RekeyFuzzPercentage"]) == (600, 50)
    assert first["ReplayWindowSize"] == 2048
    assert (first["DpdTimeoutSeconds"], first["DpdTimeoutAction"]) == (60, "restart")
    assert first["StartupAction"] == "start"

    # Tunnel 2 was not specified: AWS's defaults, every allowed algorithm permitted.
    assert values(second, "Phase1EncryptionAlgorithms") == list(PHASE1_ENCRYPTION)
    assert values(second, "Phase2EncryptionAlgorithms") == list(PHASE2_ENCRYPTION)
    assert values(second, "Phase1IntegrityAlgorithms") == list(PHASE1_INTEGRITY)
    assert values(second, "Phase2IntegrityAlgorithms") == list(PHASE2_INTEGRITY)
    assert values(second, "Phase1DHGroupNumbers") == list(PHASE1_DH_GROUPS)
    assert values(second, "Phase2DHGroupNumbers") == list(PHASE2_DH_GROUPS)
    assert values(second, "IkeVersions") == list(IKE_VERSIONS)
    assert second["Phase1LifetimeSeconds"] == PHASE1_LIFETIME_DEFAULT == 28800
    assert second["Phase2LifetimeSeconds"] == PHASE2_LIFETIME_DEFAULT == 3600
    assert second["RekeyMarginTimeSeconds"] == REKEY_MARGIN_DEFAULT
    assert second["RekeyFuzzPercentage"] == REKEY_FUZZ_DEFAULT == 100
    assert second["ReplayWindowSize"] == REPLAY_WINDOW_DEFAULT == 1024
    assert (second["DpdTimeoutSeconds"], second["DpdTimeoutAction"]) == (
        DPD_TIMEOUT_DEFAULT,
        "clear",
    )
    assert second["StartupAction"] == "add"

    # The XML shows the first permitted proposal per phase and the tunnel's DPD.
    ike = xml_tunnels(conn)[0].find("ike")
    ipsec = xml_tunnels(conn)[0].find("ipsec")
    assert ike is not None and ipsec is not None
    assert ike.findtext("encryption_protocol") == "aes-256-cbc"
    assert ike.findtext("authentication_protocol") == "sha2-256"
    assert ike.findtext("perfect_forward_secrecy") == "group14"
    assert ike.findtext("lifetime") == "7200"
    assert ipsec.findtext("authentication_protocol") == "hmac-sha2-512-256"
    assert ipsec.findtext("perfect_forward_secrecy") == "group5"
    assert ipsec.findtext("lifetime") == "1800"
    # 60 s timeout: first missed keep-alive at 10 s, declared dead 50 s later
    assert ipsec.findtext("dead_peer_detection/retries") == "5"


def test_options_given_for_tunnel_2_alone_land_on_tunnel_2(ec2: Any, net: dict[str, str]) -> None:
    # Tunnel 1 without options serializes to nothing: only TunnelOptions.2.* is sent.
    conn = vpn(ec2, net, TunnelOptions=[{}, {"TunnelInsideCidr": "169.254.40.0/30"}])
    first, second = conn["Options"]["TunnelOptions"]
    assert second["TunnelInsideCidr"] == "169.254.40.0/30"
    assert first["TunnelInsideCidr"] != "169.254.40.0/30"


def test_default_connection_is_bgp_with_a_default_xml_like_aws(
    ec2: Any, net: dict[str, str]
) -> None:
    conn = vpn(ec2, net)
    assert conn["Options"]["StaticRoutesOnly"] is False
    tunnel = xml_tunnels(conn)[0]
    # AWS's generic file for a default tunnel: IKEv1 main mode, aes-128-cbc, sha1, group2.
    assert tunnel.findtext("ike/mode") == "main"
    assert tunnel.findtext("ike/encryption_protocol") == "aes-128-cbc"
    assert tunnel.findtext("ike/authentication_protocol") == "sha1"
    assert tunnel.findtext("ike/perfect_forward_secrecy") == "group2"
    assert tunnel.findtext("ipsec/dead_peer_detection/retries") == "3"


# ------------------------------------------------ 2. outside addresses


def test_outside_addresses_are_distinct_in_order_and_never_reused(
    ec2: Any, net: dict[str, str]
) -> None:
    # A customer gateway that happens to sit on the next AWS address is skipped.
    ec2.create_customer_gateway(Type="ipsec.1", PublicIp="198.51.100.10", BgpAsn=65020)
    first = vpn(ec2, net)
    ec2.delete_vpn_connection(VpnConnectionId=first["VpnConnectionId"])
    second = vpn(ec2, net)
    third = vpn(ec2, net, gateway="tgw")

    pairs = [
        [t["OutsideIpAddress"] for t in c["Options"]["TunnelOptions"]]
        for c in (first, second, third)
    ]
    assert pairs == [
        ["198.51.100.11", "203.0.113.10"],
        ["198.51.100.12", "203.0.113.11"],  # first's addresses are not handed out again
        ["198.51.100.13", "203.0.113.12"],
    ]
    everything = [ip for pair in pairs for ip in pair]
    assert len(set(everything)) == len(everything)
    assert all(IPAddress(t1) in TUNNEL1_POOL and IPAddress(t2) in TUNNEL2_POOL for t1, t2 in pairs)
    assert CGW_IP not in everything and "198.51.100.10" not in everything


# ---------------------------------- 3. inside addresses, XML, telemetry


def test_xml_reflects_each_tunnel_with_inside_dot1_dot2_asns_and_hold_time(
    ec2: Any, net: dict[str, str]
) -> None:
    for gateway, aws_asn in (("vgw", VGW_ASN), ("tgw", TGW_ASN)):
        conn = vpn(ec2, net, gateway=gateway, TunnelOptions=[{"PreSharedKey": GIVEN_PSK}])
        root = ET.fromstring(conn["CustomerGatewayConfiguration"])
        assert root.get("id") == conn["VpnConnectionId"]
        tunnels = root.findall("ipsec_tunnel")
        assert len(tunnels) == 2
        for option, tunnel in zip(conn["Options"]["TunnelOptions"], tunnels, strict=True):
            block = IPNetwork(option["TunnelInsideCidr"])
            aws_side, customer_side = tunnel.find("vpn_gateway"), tunnel.find("customer_gateway")
            assert aws_side is not None and customer_side is not None
            assert (
                aws_side.findtext("tunnel_outside_address/ip_address") == option["OutsideIpAddress"]
            )
            assert customer_side.findtext("tunnel_outside_address/ip_address") == CGW_IP
            # AWS takes the first host of the /30, the customer the second.
            assert aws_side.findtext("tunnel_inside_address/ip_address") == str(block[1])
            assert customer_side.findtext("tunnel_inside_address/ip_address") == str(block[2])
            for side in (aws_side, customer_side):
                assert side.findtext("tunnel_inside_address/network_cidr") == "30"
                assert side.findtext("tunnel_inside_address/network_mask") == "255.255.255.252"
                assert side.findtext("bgp/hold_time") == str(BGP_HOLD_TIME)
            assert aws_side.findtext("bgp/asn") == str(aws_asn)
            assert customer_side.findtext("bgp/asn") == str(CGW_ASN)
            same_key = tunnel.findtext("ike/pre_shared_key") == option["PreSharedKey"]
            assert same_key, "the XML key differs from the tunnel's PreSharedKey"
        # Tunnel 1 was given a key, tunnel 2 got a generated one: they differ.
        keys_differ = tunnels[0].findtext("ike/pre_shared_key") != tunnels[1].findtext(
            "ike/pre_shared_key"
        )
        assert keys_differ


def test_telemetry_has_two_down_tunnels_on_their_outside_addresses(
    ec2: Any, net: dict[str, str]
) -> None:
    conn = vpn(ec2, net)
    telemetry = conn["VgwTelemetry"]
    outside = [t["OutsideIpAddress"] for t in conn["Options"]["TunnelOptions"]]
    assert [t["OutsideIpAddress"] for t in telemetry] == outside
    # Nobody terminates the tunnels offline: DOWN, as AWS shows it before the device connects.
    assert [(t["Status"], t["StatusMessage"], t["AcceptedRouteCount"]) for t in telemetry] == [
        ("DOWN", "", 0),
        ("DOWN", "", 0),
    ]
    assert all("LastStatusChange" in t for t in telemetry)


def test_static_connection_xml_has_no_bgp(ec2: Any, net: dict[str, str]) -> None:
    conn = vpn(ec2, net, StaticRoutesOnly=True)
    assert all(t.find("vpn_gateway/bgp") is None for t in xml_tunnels(conn))
    assert all(t.find("customer_gateway/bgp") is None for t in xml_tunnels(conn))


# ------------------------------------ generated defaults and reproducibility


def test_generated_psks_and_inside_cidrs_obey_the_rules(ec2: Any, net: dict[str, str]) -> None:
    # Ten connections, the VGW quota: 20 generated /30s, all unique on the VGW.
    conns = [vpn(ec2, net) for _ in range(10)]
    tunnels = [t for c in conns for t in c["Options"]["TunnelOptions"]]
    blocks = [IPNetwork(t["TunnelInsideCidr"]) for t in tunnels]
    assert len({str(b) for b in blocks}) == 20
    for block in blocks:
        assert block.prefixlen == 30 and block in INSIDE_V4_SUPERNET
        assert block.ip == block.network and not is_reserved_inside_cidr(block)
    keys = [t["PreSharedKey"] for t in tunnels]
    rules_kept = all(len(k) == GENERATED_PSK_LENGTH and psk_ok(k) for k in keys)
    assert rules_kept, "a generated pre-shared key breaks AWS's rules"
    no_zero = not any(k.startswith("0") for k in keys)
    assert no_zero, "a generated pre-shared key starts with 0"
    assert len(set(keys)) == len(keys)

    with pytest.raises(ClientError) as excinfo:
        vpn(ec2, net)
    assert error(excinfo) == (
        "VpnConnectionLimitExceeded",
        f"{net['vgw']} already has 10 VPN connections",
    )


def test_same_seed_reproduces_ids_keys_and_addresses(
    fresh_run: Callable[[int], list[tuple[str, str, str, str]]],
) -> None:
    first, again, other = fresh_run(1234), fresh_run(1234), fresh_run(99)
    same = first == again
    assert same, "two runs with the same seed differ"
    keys_differ = [f[3] for f in first] != [o[3] for o in other]
    assert keys_differ, "another seed gave the same generated keys"
    # Outside addresses depend on the order of creation only.
    assert [f[1] for f in first] == [o[1] for o in other]


# ---------------------------------------------------------- rejections


def _psk_case(value: str) -> tuple[dict[str, Any], str]:
    return {"PreSharedKey": value}, "Tunnel 1: invalid PreSharedKey: it must be 8-64 characters"


REJECTED_TUNNEL_OPTIONS = [
    ({"TunnelInsideCidr": "169.254.10.0/29"}, "169.254.10.0/29: a tunnel inside CIDR is a /30"),
    (
        {"TunnelInsideCidr": "10.0.0.0/30"},
        "10.0.0.0/30: a tunnel inside CIDR lies in 169.254.0.0/16",
    ),
    (
        {"TunnelInsideCidr": "169.254.10.1/30"},
        "is a network address (the block is 169.254.10.0/30)",
    ),
    ({"TunnelInsideCidr": "169.254.10"}, "is not a valid IPv4 CIDR block"),
    *[
        ({"TunnelInsideCidr": str(block)}, f"TunnelInsideCidr {block}: reserved by AWS")
        for block in RESERVED_INSIDE_V4
    ],
    _psk_case("short1"),
    _psk_case("0startswithzero"),
    _psk_case("has-a-dash"),
    _psk_case("x" * 65),
    (
        {"Phase1EncryptionAlgorithms": [{"Value": "3DES"}]},
        "Phase1EncryptionAlgorithms value '3DES' is not allowed",
    ),
    (
        {"Phase2IntegrityAlgorithms": [{"Value": "MD5"}]},
        "Phase2IntegrityAlgorithms value 'MD5' is not allowed",
    ),
    # Group 5 is a phase 2 group only.
    ({"Phase1DHGroupNumbers": [{"Value": 5}]}, "Phase1DHGroupNumbers value 5 is not allowed"),
    ({"IKEVersions": [{"Value": "ikev3"}]}, "IKEVersions value 'ikev3' is not allowed"),
    ({"Phase1LifetimeSeconds": 899}, "Phase1LifetimeSeconds 899 is out of range 900-28800"),
    ({"Phase1LifetimeSeconds": 28801}, "Phase1LifetimeSeconds 28801 is out of range 900-28800"),
    ({"Phase2LifetimeSeconds": 3601}, "Phase2LifetimeSeconds 3601 is out of range 900-3600"),
    (
        {"Phase1LifetimeSeconds": 1800, "Phase2LifetimeSeconds": 1800},
        "Phase2LifetimeSeconds (1800) must be less than Phase1LifetimeSeconds (1800)",
    ),
    (
        {"RekeyMarginTimeSeconds": 1801},
        "RekeyMarginTimeSeconds 1801 must be between 60 and half of Phase2LifetimeSeconds (1800)",
    ),
    (
        {"RekeyMarginTimeSeconds": 59},
        "RekeyMarginTimeSeconds 59 must be between 60 and half of Phase2LifetimeSeconds (1800)",
    ),
    ({"RekeyFuzzPercentage": 101}, "RekeyFuzzPercentage 101 is out of range 0-100"),
    ({"ReplayWindowSize": 32}, "ReplayWindowSize 32 is out of range 64-2048"),
    ({"DPDTimeoutSeconds": 29}, "DPDTimeoutSeconds 29 is below the minimum of 30"),
    ({"DPDTimeoutAction": "reboot"}, "DPDTimeoutAction 'reboot' is not allowed"),
    (
        {"StartupAction": "start", "IKEVersions": [{"Value": "ikev1"}]},
        "StartupAction start requires ikev2 in IKEVersions",
    ),
]


class TestRejections:
    """Invalid options fail like AWS: InvalidParameterValue, nothing created."""

    @pytest.fixture(scope="class")
    def shared(self) -> Iterator[tuple[Any, dict[str, str]]]:
        with AwsEmulator(seed=3) as started:
            client = started.client("ec2", REGION)
            yield client, make_network(client)

    def _rejected(self, shared: tuple[Any, dict[str, str]], **kwargs: Any) -> tuple[str, str]:
        client, ids = shared
        before = len(client.describe_vpn_connections()["VpnConnections"])
        gateway = kwargs.pop("gateway", "vgw")
        with pytest.raises(ClientError) as excinfo:
            vpn(client, ids, gateway=gateway, **kwargs)
        assert len(client.describe_vpn_connections()["VpnConnections"]) == before
        return error(excinfo)

    @pytest.mark.parametrize(("tunnel", "message"), REJECTED_TUNNEL_OPTIONS)
    def test_invalid_tunnel_option(
        self, shared: tuple[Any, dict[str, str]], tunnel: dict[str, Any], message: str
    ) -> None:
        code, text = self._rejected(shared, TunnelOptions=[tunnel])
        assert code == "InvalidParameterValue"
        assert message in text
        if "PreSharedKey" in tunnel:
            leaked = tunnel["PreSharedKey"] in text
            assert not leaked, "the error message repeats the rejected key"

    def test_second_tunnel_is_checked_too(self, shared: tuple[Any, dict[str, str]]) -> None:
        _, text = self._rejected(shared, TunnelOptions=[{}, {"DPDTimeoutSeconds": 10}])
        assert text.startswith("Tunnel 2: DPDTimeoutSeconds 10")

    def test_same_inside_cidr_on_both_tunnels(self, shared: tuple[Any, dict[str, str]]) -> None:
        same = {"TunnelInsideCidr": "169.254.20.0/30"}
        code, text = self._rejected(shared, TunnelOptions=[same, same])
        assert code == "InvalidParameterValue"
        assert "Both tunnels have TunnelInsideCidr 169.254.20.0/30" in text

    def test_inside_cidr_is_unique_per_gateway(self, shared: tuple[Any, dict[str, str]]) -> None:
        client, ids = shared
        taken = {"TunnelInsideCidr": "169.254.30.0/30"}
        existing = vpn(client, ids, TunnelOptions=[taken])
        code, text = self._rejected(shared, TunnelOptions=[{}, taken])
        assert code == "InvalidParameterValue"
        assert (
            f"Tunnel 2: TunnelInsideCidr 169.254.30.0/30 is already used by "
            f"{existing['VpnConnectionId']} on {ids['vgw']}"
        ) in text
        # Another gateway may use it, and so may the VGW once the connection is gone.
        on_tgw = vpn(client, ids, gateway="tgw", TunnelOptions=[taken])
        assert on_tgw["Options"]["TunnelOptions"][0]["TunnelInsideCidr"] == "169.254.30.0/30"
        client.delete_vpn_connection(VpnConnectionId=existing["VpnConnectionId"])
        again = vpn(client, ids, TunnelOptions=[taken])
        assert again["Options"]["TunnelOptions"][0]["TunnelInsideCidr"] == "169.254.30.0/30"

    def test_ipv6_inside_cidr_on_a_vgw(self, shared: tuple[Any, dict[str, str]]) -> None:
        code, text = self._rejected(
            shared, TunnelOptions=[{"TunnelInsideIpv6Cidr": "fd00:1::/126"}]
        )
        assert code == "InvalidParameterValue"
        assert "TunnelInsideIpv6Cidr is only supported for a VPN connection on a transit" in text
        _, text = self._rejected(shared, TunnelInsideIpVersion="ipv6")
        assert text == "TunnelInsideIpVersion ipv6 is only supported on a transit gateway"

    def test_more_than_two_tunnels(self, shared: tuple[Any, dict[str, str]]) -> None:
        _, text = self._rejected(shared, TunnelOptions=[{}, {}, {"DPDTimeoutSeconds": 30}])
        assert text == "TunnelOptions lists 3 tunnels; a VPN connection has exactly 2"

    def test_vgw_amazon_side_asn_must_be_private(self, shared: tuple[Any, dict[str, str]]) -> None:
        client, _ = shared
        with pytest.raises(ClientError) as excinfo:
            client.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=7224)
        code, text = error(excinfo)
        assert code == "InvalidParameterValue"
        assert text.startswith("AmazonSideAsn 7224 is not a private ASN")


def test_ipv6_inside_cidrs_on_a_transit_gateway(ec2: Any, net: dict[str, str]) -> None:
    conn = vpn(
        ec2,
        net,
        gateway="tgw",
        TunnelInsideIpVersion="ipv6",
        TunnelOptions=[{"TunnelInsideIpv6Cidr": "fd00:1::/126"}],
    )
    first, second = conn["Options"]["TunnelOptions"]
    assert conn["Options"]["TunnelInsideIpVersion"] == "ipv6"
    assert first["TunnelInsideIpv6Cidr"] == "fd00:1::/126"
    generated = IPNetwork(second["TunnelInsideIpv6Cidr"])
    assert generated.prefixlen == 126 and generated in IPNetwork("fd00::/8")
    aws_inside = xml_tunnels(conn)[0].findtext("vpn_gateway/tunnel_inside_address/ip_address")
    assert aws_inside == "fd00:1::1"
