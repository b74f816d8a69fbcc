"""AWS Site-to-Site VPN rules, as data.

Pure module: no pulumi import. The plan validates against these, the offline
emulator enforces them, and the renderer's cross-check uses them. Sources:
AWS Site-to-Site VPN User Guide, "Tunnel options for your Site-to-Site VPN
connection" and "Site-to-Site VPN quotas".
"""

from __future__ import annotations

import re

from netaddr import IPNetwork

# VPC and subnet sizes: an IPv4 VPC CIDR block, and a subnet's, is /16 to /28.
VPC_PREFIXLEN = (16, 28)
SUBNET_PREFIXLEN = (16, 28)

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
# The margin is at most half of the phase 2 lifetime, so at most half of its maximum.
REKEY_MARGIN_MAX = PHASE2_LIFETIME[1] // 2
# The EC2 API reference gives 270 (FACTS.md said 540: the API reference wins).
REKEY_MARGIN_DEFAULT = 270
REKEY_FUZZ_DEFAULT = 100
REKEY_FUZZ = (0, 100)
REPLAY_WINDOW = (64, 2048)
REPLAY_WINDOW_DEFAULT = 1024
DPD_TIMEOUT_MIN = 30
# AWS states no maximum; crossnet's sanity bound (an hour), the same everywhere.
DPD_TIMEOUT_MAX = 3600
# AWS's default DPD timeout is 40 s (API reference), the minimum 30 s.
DPD_TIMEOUT_DEFAULT = 40
DPD_ACTIONS = ("clear", "none", "restart")
STARTUP_ACTIONS = ("add", "start")

# BGP on the AWS side of every tunnel.
AWS_DEFAULT_ASN = 64512
CUSTOMER_DEFAULT_ASN = 65000
# Customer gateway ASNs: 1-4294967295. CreateCustomerGateway takes 1-2147483647
# as `BgpAsn` (a signed 32-bit integer) and 2147483648-4294967295 as
# `BgpAsnExtended`; pulumi-aws has `bgp_asn` and `bgp_asn_extended`, which
# conflict. So 4-byte private ASNs (4200000000-4294967294, RFC 6996) are valid.
# Source: EC2 API reference, CreateCustomerGateway (BgpAsn, BgpAsnExtended).
CUSTOMER_ASN_RANGE = (1, 4294967295)
BGP_ASN_RANGE = (1, 2147483647)
BGP_ASN_EXTENDED_RANGE = (2147483648, 4294967295)
ASN_RANGE = BGP_ASN_RANGE  # the 2-byte-compatible field's range (kept for readers)
# ASNs AWS keeps for itself on the customer side. "*" holds those reserved in
# every region. Source: AWS Site-to-Site VPN User Guide, "Customer gateway
# options for your Site-to-Site VPN connection"
# (https://docs.aws.amazon.com/vpn/latest/s2svpn/cgw-options.html): 7224 in all
# Regions, 9059 in eu-west-1, 10124 in ap-northeast-1, 17943 in ap-southeast-1.
# (The older API reference named only 7224 in us-east-1 and 9059 in eu-west-1;
# the guide is the superset and the current text.)
RESERVED_CUSTOMER_ASNS: dict[str, tuple[int, ...]] = {
    "*": (7224,),
    "eu-west-1": (9059,),
    "ap-northeast-1": (10124,),
    "ap-southeast-1": (17943,),
}
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


# ---------------------------------------------------------------- ASNs
def customer_asn_violation(asn: int) -> str | None:
    """What is wrong with a customer gateway ASN in any region, or None."""
    lo, hi = CUSTOMER_ASN_RANGE
    if not lo <= asn <= hi:
        return (
            f"a customer ASN is {lo}-{hi} ({BGP_ASN_RANGE[0]}-{BGP_ASN_RANGE[1]} as bgpAsn, "
            f"{BGP_ASN_EXTENDED_RANGE[0]}-{BGP_ASN_EXTENDED_RANGE[1]} as bgpAsnExtended)"
        )
    return None


def reserved_customer_asn(asn: int, region: str) -> bool:
    """True when AWS reserves `asn` for itself in `region` (a customer gateway may not use it)."""
    return asn in RESERVED_CUSTOMER_ASNS["*"] or asn in RESERVED_CUSTOMER_ASNS.get(region, ())


def reserved_customer_asn_rule(asn: int, region: str) -> str:
    """The words for a reserved customer ASN, naming where AWS reserves it."""
    where = "in every region" if asn in RESERVED_CUSTOMER_ASNS["*"] else f"in {region}"
    return f"AWS reserves ASN {asn} {where} for itself: a customer gateway cannot use it"


def customer_asn_field(asn: int) -> str:
    """The CreateCustomerGateway field that carries `asn`: `bgpAsn` or `bgpAsnExtended`."""
    return "bgpAsn" if asn <= BGP_ASN_RANGE[1] else "bgpAsnExtended"


def amazon_side_asn_violation(asn: int) -> str | None:
    """What is wrong with a VGW's or TGW's Amazon-side ASN, or None."""
    if any(lo <= asn <= hi for lo, hi in AMAZON_SIDE_ASN_RANGES):
        return None
    ranges = " or ".join(f"{lo}-{hi}" for lo, hi in AMAZON_SIDE_ASN_RANGES)
    return f"an Amazon-side ASN is {ranges}"


# ---------------------------------------------------------------- tunnel options
# The rules that join two options; each single option's range is data above.
def phase2_lifetime_violation(phase1_lifetime: int, phase2_lifetime: int) -> str | None:
    """Phase 2's lifetime must be below phase 1's."""
    if phase2_lifetime >= phase1_lifetime:
        return f"phase 2 lifetime must be below phase 1 ({phase1_lifetime})"
    return None


def rekey_margin_violation(margin: int, phase2_lifetime: int) -> str | None:
    """The rekey margin is 60 s up to half of phase 2's lifetime."""
    if margin < REKEY_MARGIN_MIN:
        return f"rekey margin is at least {REKEY_MARGIN_MIN} seconds"
    if margin > phase2_lifetime // 2:
        return f"rekey margin is at most half of phase 2 lifetime ({phase2_lifetime // 2})"
    return None


def startup_action_violation(startup_action: str, ike_versions: tuple[str, ...]) -> str | None:
    """AWS initiates the negotiation itself (startup action `start`) only with IKEv2."""
    if startup_action == "start" and "ikev2" not in ike_versions:
        return "startup action 'start' needs ikev2"
    return None
