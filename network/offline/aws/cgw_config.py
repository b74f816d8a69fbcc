"""The connection's ``CustomerGatewayConfiguration`` XML, from its real tunnels.

moto's is a fixed template (two identical tunnels, a hard-coded key). This one follows
the layout of AWS's generic configuration file, with each tunnel's own outside and
inside addresses, key, algorithms, lifetimes and DPD.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from netaddr import IPNetwork

from network.aws_rules import BGP_HOLD_TIME, CGW_CONFIG_DPD_INTERVAL, CGW_CONFIG_TCP_MSS
from network.offline.aws.model import VpnExtension, VpnTunnel

# The XML names of the algorithms, as AWS's generic configuration spells them.
XML_IKE_ENCRYPTION = {
    "AES128": "aes-128-cbc",
    "AES256": "aes-256-cbc",
    "AES128-GCM-16": "aes-128-gcm-16",
    "AES256-GCM-16": "aes-256-gcm-16",
}
XML_IKE_INTEGRITY = {
    "SHA1": "sha1",
    "SHA2-256": "sha2-256",
    "SHA2-384": "sha2-384",
    "SHA2-512": "sha2-512",
}
XML_ESP_INTEGRITY = {
    "SHA1": "hmac-sha1-96",
    "SHA2-256": "hmac-sha2-256-128",
    "SHA2-384": "hmac-sha2-384-192",
    "SHA2-512": "hmac-sha2-512-256",
}


def _sub(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _side(
    parent: ET.Element, tag: str, outside: str, inside: str, prefixlen: int, asn: int | None
) -> None:
    side = _sub(parent, tag)
    _sub(_sub(side, "tunnel_outside_address"), "ip_address", outside)
    inside_el = _sub(side, "tunnel_inside_address")
    _sub(inside_el, "ip_address", inside)
    if prefixlen <= 32:
        _sub(inside_el, "network_mask", IPNetwork(f"0.0.0.0/{prefixlen}").netmask)
    _sub(inside_el, "network_cidr", prefixlen)
    if asn is not None:
        # asplain, also for a 4-byte customer ASN (BgpAsnExtended).
        bgp = _sub(side, "bgp")
        _sub(bgp, "asn", asn)
        _sub(bgp, "hold_time", BGP_HOLD_TIME)


def _ike(tunnel_el: ET.Element, t: VpnTunnel) -> None:
    ike = _sub(tunnel_el, "ike")
    _sub(ike, "authentication_protocol", XML_IKE_INTEGRITY[t.phase1_integrity[0]])
    _sub(ike, "encryption_protocol", XML_IKE_ENCRYPTION[t.phase1_encryption[0]])
    _sub(ike, "lifetime", t.phase1_lifetime)
    _sub(ike, "perfect_forward_secrecy", f"group{t.phase1_dh[0]}")
    if "ikev1" in t.ike_versions:
        _sub(ike, "mode", "main")
    _sub(ike, "pre_shared_key", t.psk)


def _ipsec(tunnel_el: ET.Element, t: VpnTunnel) -> None:
    ipsec = _sub(tunnel_el, "ipsec")
    _sub(ipsec, "protocol", "esp")
    _sub(ipsec, "authentication_protocol", XML_ESP_INTEGRITY[t.phase2_integrity[0]])
    _sub(ipsec, "encryption_protocol", XML_IKE_ENCRYPTION[t.phase2_encryption[0]])
    _sub(ipsec, "lifetime", t.phase2_lifetime)
    _sub(ipsec, "perfect_forward_secrecy", f"group{t.phase2_dh[0]}")
    _sub(ipsec, "mode", "tunnel")
    _sub(ipsec, "clear_df_bit", "true")
    _sub(ipsec, "fragmentation_before_encryption", "true")
    _sub(ipsec, "tcp_mss_adjustment", CGW_CONFIG_TCP_MSS)
    dpd = _sub(ipsec, "dead_peer_detection")
    _sub(dpd, "interval", CGW_CONFIG_DPD_INTERVAL)
    # "A DPD timeout of 40 seconds means that the VPN endpoint will consider the
    # peer dead 30 seconds after the first failed keep-alive" (EC2 API reference):
    # AWS's sample XML for the 40 s default says interval 10, retries 3.
    retries = (t.dpd_timeout - CGW_CONFIG_DPD_INTERVAL) // CGW_CONFIG_DPD_INTERVAL
    _sub(dpd, "retries", max(1, retries))


def configuration_xml(connection: Any, ext: VpnExtension) -> str:
    """The connection's XML, with the real per-tunnel values instead of moto's template.

    AWS prints one proposal per phase; like AWS's generic file for a default tunnel
    (aes-128-cbc, sha1, group2), it shows the first permitted value of each list. A
    static-routes-only connection has no ``<bgp>`` elements.
    """
    root = ET.Element("vpn_connection", id=connection.id)
    _sub(root, "customer_gateway_id", connection.customer_gateway_id)
    _sub(root, "vpn_gateway_id", connection.vpn_gateway_id or "")
    _sub(root, "vpn_connection_type", connection.type)
    bgp = not ext.static_routes_only
    for t in ext.tunnels:
        aws_inside, customer_inside, prefixlen = t.inside_addresses()
        tunnel = _sub(root, "ipsec_tunnel")
        _side(
            tunnel,
            "customer_gateway",
            ext.customer_ip,
            customer_inside,
            prefixlen,
            ext.customer_asn if bgp else None,
        )
        _side(
            tunnel, "vpn_gateway", t.outside_ip, aws_inside, prefixlen, ext.aws_asn if bgp else None
        )
        _ike(tunnel, t)
        _ipsec(tunnel, t)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
