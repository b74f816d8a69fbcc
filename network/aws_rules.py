"""AWS Site-to-Site VPN rules, as data.

Pure module: no pulumi import. The plan validates against these, the offline
emulator enforces them, and the renderer's cross-check uses them. Sources:
AWS Site-to-Site VPN User Guide, "Tunnel options for your Site-to-Site VPN
connection" and "Site-to-Site VPN quotas".
"""

from __future__ import annotations

import re

from netaddr import IPNetwork

# Tunnel inside CIDRs: a /30 inside 169.254.0.0/16. AWS reserves these /30s
# for its own link-local services (169.254.169.252/30 holds the instance
# metadata neighbourhood), so CreateVpnConnection rejects them.
INSIDE_V4_SUPERNET = IPNetwork("169.254.0.0/16")
INSIDE_V4_PREFIXLEN = 30
RESERVED_INSIDE_V4 = tuple(
    IPNetwork(c)
    for c in (
        "169.254.0.0/30",
        "169.254.1.0/30",
        "169.254.2.0/30",
        "169.254.3.0/30",
        "169.254.4.0/30",
        "169.254.5.0/30",
        "169.254.169.252/30",
    )
)
# IPv6 inside CIDRs exist only on transit gateway attachments.
INSIDE_V6_SUPERNET = IPNetwork("fd00::/8")
INSIDE_V6_PREFIXLEN = 126

# Pre-shared keys: 8-64 of letters, digits, '.' and '_', not starting with '0'.
PSK_RE = re.compile(r"^[A-Za-z1-9._][A-Za-z0-9._]{7,63}$")
PSK_RULE = "8-64 characters from letters, digits, '.' and '_', not starting with '0'"

IKE_VERSIONS = ("ikev1", "ikev2")
PHASE1_ENCRYPTION = ("AES128", "AES256", "AES128-GCM-16", "AES256-GCM-16")
PHASE2_ENCRYPTION = PHASE1_ENCRYPTION
PHASE1_INTEGRITY = ("SHA1", "SHA2-256", "SHA2-384", "SHA2-512")
PHASE2_INTEGRITY = PHASE1_INTEGRITY
PHASE1_DH_GROUPS = (2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24)
PHASE2_DH_GROUPS = (2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24)
PHASE1_LIFETIME = (900, 28800)
PHASE2_LIFETIME = (900, 3600)
PHASE1_LIFETIME_DEFAULT = 28800
PHASE2_LIFETIME_DEFAULT = 3600
REKEY_MARGIN_MIN = 60
# The EC2 API reference gives 270 (FACTS.md said 540: the API reference wins).
REKEY_MARGIN_DEFAULT = 270
REKEY_FUZZ_DEFAULT = 100
REKEY_FUZZ = (0, 100)
REPLAY_WINDOW = (64, 2048)
REPLAY_WINDOW_DEFAULT = 1024
DPD_TIMEOUT_MIN = 30
# AWS's default DPD timeout is 40 s (API reference), the minimum 30 s.
DPD_TIMEOUT_DEFAULT = 40
DPD_ACTIONS = ("clear", "none", "restart")
STARTUP_ACTIONS = ("add", "start")

# BGP on the AWS side of every tunnel.
AWS_DEFAULT_ASN = 64512
CUSTOMER_DEFAULT_ASN = 65000
ASN_RANGE = (1, 2147483647)
# Amazon-side ASNs a VGW or TGW accepts: the 16-bit and 32-bit private ranges.
AMAZON_SIDE_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))
BGP_HOLD_TIME = 30
BGP_KEEPALIVE = 10
MAX_PREFIXES_FROM_CUSTOMER = 100
MAX_PREFIXES_TO_CUSTOMER = 1000

# Quotas.
MAX_RULES_PER_SECURITY_GROUP = 60  # inbound, AWS's default (adjustable) quota
MAX_CONNECTIONS_PER_VGW = 10
MAX_CONNECTIONS_PER_REGION = 50
TUNNELS_PER_CONNECTION = 2

# Tunnel bandwidth, bits per second.
STANDARD_TUNNEL_BPS = 1.25e9
LARGE_TUNNEL_BPS = 5e9

# Tunnel interface sizing. AWS's device best-practice page gives an MTU of
# 1399: the outer IP header, UDP encapsulation (NAT-T), ESP header, IV,
# padding and ICV must fit in a 1500-byte path. The TCP MSS clamp is the MTU
# less 40 bytes of IPv4 and TCP headers, so full-size segments are never
# fragmented (AWS's samples pair MSS 1379 with their larger 1419+ MTUs).
TUNNEL_MTU = 1399
TCP_MSS = 1359


# A pre-shared key AWS generates itself, when none is given, is 32 characters long.
GENERATED_PSK_LENGTH = 32
# What AWS's generic customer gateway configuration (the connection's XML) prints
# per tunnel: DPD probes every 10 s (retries = DPD timeout / interval) and the
# TCP MSS clamp of AWS's current samples.
CGW_CONFIG_DPD_INTERVAL = 10
CGW_CONFIG_TCP_MSS = 1379


def inside_cidr_violation(cidr: IPNetwork) -> str | None:
    """What is wrong with a tunnel's IPv4 inside CIDR under AWS's rule, or None.

    The one statement of the rule (a /30 network inside 169.254.0.0/16, none of
    AWS's reserved /30s) that the plan, the renderer and the emulator all call.
    Uniqueness per gateway is a property of a set of tunnels, checked where the
    set is known (the plan, the emulator).
    """
    shape = inside_cidr_shape_violation(cidr)
    if shape:
        return shape
    if is_reserved_inside_cidr(cidr):
        return "reserved by AWS (169.254.0-5.0/30, 169.254.169.252/30)"
    return None


def inside_cidr_shape_violation(cidr: IPNetwork) -> str | None:
    """The shape part of the inside-CIDR rule alone (a /30 network in 169.254.0.0/16).

    Naming numbers every /30 of the supernet, reserved ones included, so it
    needs the shape and not the reservation.
    """
    if cidr.version != 4:
        return "a tunnel inside CIDR is an IPv4 /30 in 169.254.0.0/16"
    if cidr.prefixlen != INSIDE_V4_PREFIXLEN:
        return "a tunnel inside CIDR is a /30"
    if cidr not in INSIDE_V4_SUPERNET:
        return "a tunnel inside CIDR lies in 169.254.0.0/16"
    if cidr.ip != cidr.network:
        return f"a tunnel inside CIDR is a network address (the block is {cidr.cidr})"
    return None


def inside_ipv6_cidr_violation(cidr: IPNetwork) -> str | None:
    """What is wrong with a tunnel's IPv6 inside CIDR (a /126 network in fd00::/8), or None."""
    if (
        cidr.version != 6
        or cidr.prefixlen != INSIDE_V6_PREFIXLEN
        or cidr not in INSIDE_V6_SUPERNET
        or cidr.ip != cidr.network
    ):
        return (
            f"a tunnel inside IPv6 CIDR is a /{INSIDE_V6_PREFIXLEN} network in {INSIDE_V6_SUPERNET}"
        )
    return None


def is_reserved_inside_cidr(cidr: IPNetwork) -> bool:
    """True when a /30 overlaps one of AWS's reserved inside ranges."""
    return any(cidr in r or r in cidr for r in RESERVED_INSIDE_V4)


def psk_ok(value: str) -> bool:
    """True when a pre-shared key obeys AWS's character and length rules."""
    return bool(PSK_RE.match(value))
