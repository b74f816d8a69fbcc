"""Offline AWS for crossnet: moto's EC2 backend with a realistic Site-to-Site VPN.

moto 5.2 (``mock_aws``) emulates VPCs, gateways and transit gateways well, but its
Site-to-Site VPN is thin: ``CreateVpnConnection`` ignores ``Options``, the customer
gateway configuration is a fixed template (two identical tunnels, a hard-coded key),
``DescribeVpnConnections`` has no ``Options``/``VgwTelemetry``/``Routes``, and
``CreateVpnConnectionRoute`` / ``EnableVgwRoutePropagation`` are not implemented.

This module fills those gaps in-process by patching moto's model, backend and response
classes. moto 5.2 serializes responses with ``ActionResult`` by reading, on each model
object, the attribute named like the botocore shape member (``Options`` -> ``options``,
``VgwTelemetry`` -> ``vgw_telemetry``, ...), so the extensions only have to provide
attributes with those names.

Nothing is patched at import time. ``install_extensions()`` (or ``AwsEmulator.start()``)
installs the patches; ``uninstall_extensions()`` (or ``AwsEmulator.stop()``) puts every
original class attribute back, or removes the ones moto never had.

The AWS rules come from :mod:`network.aws_rules`; they are not repeated here.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import boto3
from moto import mock_aws
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.exceptions import (
    EC2ClientError,
    InvalidParameterValue,
    InvalidTransitGatewayID,
)
from moto.ec2.models.route_tables import RouteBackend, RouteTable
from moto.ec2.models.transit_gateway_route_tables import TransitGatewayRouteTableBackend
from moto.ec2.models.vpn_connections import VPNConnection, VPNConnectionBackend
from moto.ec2.models.vpn_gateway import VpnGatewayBackend
from moto.ec2.responses.route_tables import RouteTables
from moto.ec2.responses.vpn_connections import VPNConnections
from moto.ec2.utils import add_tag_specification
from moto.moto_api._internal import mock_random
from netaddr import AddrFormatError, IPAddress, IPNetwork

from network.aws_rules import (
    AMAZON_SIDE_ASN_RANGES,
    AWS_DEFAULT_ASN,
    BGP_HOLD_TIME,
    CGW_CONFIG_DPD_INTERVAL,
    CGW_CONFIG_TCP_MSS,
    CUSTOMER_DEFAULT_ASN,
    DPD_ACTIONS,
    DPD_TIMEOUT_DEFAULT,
    DPD_TIMEOUT_MIN,
    GENERATED_PSK_LENGTH,
    IKE_VERSIONS,
    INSIDE_V4_PREFIXLEN,
    INSIDE_V4_SUPERNET,
    INSIDE_V6_PREFIXLEN,
    INSIDE_V6_SUPERNET,
    MAX_CONNECTIONS_PER_REGION,
    MAX_CONNECTIONS_PER_VGW,
    MAX_PREFIXES_FROM_CUSTOMER,
    PHASE1_DH_GROUPS,
    PHASE1_ENCRYPTION,
    PHASE1_INTEGRITY,
    PHASE1_LIFETIME,
    PHASE1_LIFETIME_DEFAULT,
    PHASE2_DH_GROUPS,
    PHASE2_ENCRYPTION,
    PHASE2_INTEGRITY,
    PHASE2_LIFETIME,
    PHASE2_LIFETIME_DEFAULT,
    PSK_RULE,
    REKEY_FUZZ,
    REKEY_FUZZ_DEFAULT,
    REKEY_MARGIN_DEFAULT,
    REKEY_MARGIN_MIN,
    REPLAY_WINDOW,
    REPLAY_WINDOW_DEFAULT,
    STARTUP_ACTIONS,
    TUNNELS_PER_CONNECTION,
    inside_cidr_violation,
    inside_ipv6_cidr_violation,
    is_reserved_inside_cidr,
    psk_ok,
)

__all__ = [
    "AwsEmulator",
    "install_extensions",
    "set_tunnel_status",
    "tunnel_attachment_id",
    "uninstall_extensions",
]

# AWS outside addresses handed out offline. Real ones are Amazon public IPs; the
# emulator uses the RFC 5737 documentation ranges so nothing it prints is routable:
# tunnel 1 from TEST-NET-2, tunnel 2 from TEST-NET-3, so the two tunnels of a
# connection always sit on two different addresses, as on AWS.
OUTSIDE_POOLS = (IPNetwork("198.51.100.0/24"), IPNetwork("203.0.113.0/24"))
FIRST_OUTSIDE_HOST = 10

# Characters AWS allows in a pre-shared key (PSK_RULE); a key may not start with '0'.
_PSK_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"

# The XML names of the algorithms, as AWS's generic configuration spells them.
_XML_IKE_ENCRYPTION = {
    "AES128": "aes-128-cbc",
    "AES256": "aes-256-cbc",
    "AES128-GCM-16": "aes-128-gcm-16",
    "AES256-GCM-16": "aes-256-gcm-16",
}
_XML_IKE_INTEGRITY = {
    "SHA1": "sha1",
    "SHA2-256": "sha2-256",
    "SHA2-384": "sha2-384",
    "SHA2-512": "sha2-512",
}
_XML_ESP_INTEGRITY = {
    "SHA1": "hmac-sha1-96",
    "SHA2-256": "hmac-sha2-256-128",
    "SHA2-384": "hmac-sha2-384-192",
    "SHA2-512": "hmac-sha2-512-256",
}

_ENV_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Removed while the mock runs, so a developer's profile (SSO, assume-role) is never read.
_ENV_REMOVED = ("AWS_PROFILE",)
# moto loads thousands of default AMIs into every EC2 backend it creates (~0.2 s a
# region, and as much again to reset). A network emulator has no use for them; an
# explicit MOTO_EC2_LOAD_DEFAULT_AMIS in the environment is respected.
_ENV_DEFAULTS = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}

_MISSING = object()


# --------------------------------------------------------------------------- state


@dataclass
class _Tunnel:
    """One tunnel of a VPN connection, with every option AWS reports."""

    outside_ip: str
    inside_cidr: str | None
    inside_ipv6_cidr: str | None
    psk: str
    phase1_encryption: list[str]
    phase2_encryption: list[str]
    phase1_integrity: list[str]
    phase2_integrity: list[str]
    phase1_dh: list[int]
    phase2_dh: list[int]
    ike_versions: list[str]
    phase1_lifetime: int
    phase2_lifetime: int
    rekey_margin: int
    rekey_fuzz: int
    replay_window: int
    dpd_timeout: int
    dpd_action: str
    startup_action: str
    lifecycle_control: bool
    # Telemetry: nobody terminates the tunnel offline, so it is DOWN, as AWS shows
    # it until the customer device connects. set_tunnel_status() changes it.
    status: str = "DOWN"
    status_message: str = ""
    learned_prefixes: list[str] = field(default_factory=list)
    last_status_change: datetime = field(default_factory=lambda: datetime.now(UTC))

    def inside_addresses(self) -> tuple[str, str, int]:
        """(AWS inside address, customer inside address, prefix length) of the tunnel.

        AWS takes the first host of the inside block, the customer side the second.
        """
        net = IPNetwork(self.inside_cidr or self.inside_ipv6_cidr or "")
        return str(net[1]), str(net[2]), net.prefixlen


@dataclass
class _VpnExtension:
    """What the emulator knows about a VPN connection beyond moto's model."""

    static_routes_only: bool
    inside_ip_version: str
    enable_acceleration: bool
    tunnel_bandwidth: str
    local_cidr: str
    remote_cidr: str
    customer_ip: str
    customer_asn: int
    aws_asn: int
    tunnels: list[_Tunnel]
    # Static routes (CreateVpnConnectionRoute), in creation order.
    routes: list[str] = field(default_factory=list)


class _OutsideAllocator:
    """Hands out AWS outside addresses in order, never twice per installation."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start again at the first address of each pool."""
        self._next = [FIRST_OUTSIDE_HOST] * len(OUTSIDE_POOLS)
        self._used: set[str] = set()

    def allocate(self, tunnel_index: int, forbidden: set[str]) -> str:
        """Next free address of the tunnel's pool, skipping customer gateway IPs."""
        pool = OUTSIDE_POOLS[tunnel_index]
        while self._next[tunnel_index] < pool.size - 1:  # never the broadcast address
            candidate = str(pool[self._next[tunnel_index]])
            self._next[tunnel_index] += 1
            if candidate not in self._used and candidate not in forbidden:
                self._used.add(candidate)
                return candidate
        raise EC2ClientError(
            "VpnConnectionLimitExceeded",
            f"The emulator has no AWS outside address left in {pool}",
        )


_ALLOCATOR = _OutsideAllocator()
# Patch lists of other modules (network.offline.modify), installed with this one's.
EXTRA_PATCHES: list[Callable[[], list[tuple[type, str, Any]]]] = []
_saved: dict[tuple[type, str], Any] = {}
_installed = False


def _ext(connection: VPNConnection) -> _VpnExtension | None:
    return connection.__dict__.get("_crossnet")


def _original(owner: type, name: str) -> Any:
    return _saved[(owner, name)]


# ---------------------------------------------------------------- option parsing


def _bad(message: str) -> InvalidParameterValue:
    return InvalidParameterValue(message)


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(f"Invalid value {value!r} for {name}: expected true or false")


def _as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"Invalid value {value!r} for {name}: expected an integer") from None


def _value_list(raw: Any) -> list[Any]:
    """The values of a request list such as ``[{"Value": "AES256"}]``."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [item.get("Value") if isinstance(item, dict) else item for item in items]


def _pick(
    tunnel_no: int, spec: dict[str, Any], name: str, allowed: Iterable[Any], *, ints: bool = False
) -> list[Any] | None:
    """Validate an algorithm/group/version list against AWS's allowed values."""
    values = _value_list(spec.get(name))
    if not values:
        return None
    allowed = tuple(allowed)
    result: list[Any] = []
    for raw in values:
        value = _as_int(raw, name) if ints else raw
        if value not in allowed:
            allowed_text = ", ".join(str(a) for a in allowed)
            raise _bad(
                f"Tunnel {tunnel_no}: {name} value {value!r} is not allowed; "
                f"allowed values: {allowed_text}"
            )
        if value not in result:
            result.append(value)
    return result


def _in_range(
    tunnel_no: int, spec: dict[str, Any], name: str, bounds: tuple[int, int]
) -> int | None:
    if spec.get(name) is None:
        return None
    value = _as_int(spec[name], name)
    if not bounds[0] <= value <= bounds[1]:
        raise _bad(f"Tunnel {tunnel_no}: {name} {value} is out of range {bounds[0]}-{bounds[1]}")
    return value


def _check_inside_v4(tunnel_no: int, value: Any) -> str:
    try:
        net = IPNetwork(str(value))
    except (AddrFormatError, ValueError, TypeError):
        net = None
    if net is None or net.version != 4 or "/" not in str(value):
        raise _bad(f"Tunnel {tunnel_no}: TunnelInsideCidr {value!r} is not a valid IPv4 CIDR block")
    why = inside_cidr_violation(net)
    if why:
        raise _bad(f"Tunnel {tunnel_no}: TunnelInsideCidr {value}: {why}")
    return str(net.cidr)


def _check_inside_v6(tunnel_no: int, value: Any) -> str:
    try:
        net = IPNetwork(str(value))
    except (AddrFormatError, ValueError, TypeError):
        net = None
    if net is None or net.version != 6 or "/" not in str(value):
        raise _bad(
            f"Tunnel {tunnel_no}: TunnelInsideIpv6Cidr {value!r} is not a valid IPv6 CIDR block"
        )
    why = inside_ipv6_cidr_violation(net)
    if why:
        raise _bad(f"Tunnel {tunnel_no}: TunnelInsideIpv6Cidr {value}: {why}")
    return str(net.cidr)


def _check_cidr(value: Any, name: str, version: int) -> str:
    try:
        net = IPNetwork(str(value))
    except (AddrFormatError, ValueError, TypeError):
        net = None
    if net is None or net.version != version or "/" not in str(value) or net.ip != net.network:
        raise _bad(
            f"Value ({value}) for parameter {name} is invalid. This is not a valid CIDR block."
        )
    return str(net.cidr)


@dataclass
class _TunnelRequest:
    """One tunnel's requested options, validated; None means "AWS's default"."""

    inside_cidr: str | None = None
    inside_ipv6_cidr: str | None = None
    psk: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


def _parse_tunnel(
    tunnel_no: int, spec: dict[str, Any], *, on_tgw: bool, ip_version: str
) -> _TunnelRequest:
    req = _TunnelRequest()
    if spec.get("TunnelInsideIpv6Cidr") is not None:
        # IPv6 inside a tunnel exists only on transit gateway attachments.
        if not on_tgw:
            raise _bad(
                f"Tunnel {tunnel_no}: TunnelInsideIpv6Cidr is only supported for a VPN "
                "connection on a transit gateway; a virtual private gateway has no IPv6 tunnels"
            )
        if ip_version != "ipv6":
            raise _bad(f"Tunnel {tunnel_no}: TunnelInsideIpv6Cidr needs TunnelInsideIpVersion ipv6")
        req.inside_ipv6_cidr = _check_inside_v6(tunnel_no, spec["TunnelInsideIpv6Cidr"])
    if spec.get("TunnelInsideCidr") is not None:
        if ip_version != "ipv4":
            raise _bad(
                f"Tunnel {tunnel_no}: TunnelInsideCidr applies to IPv4 tunnels, "
                "but TunnelInsideIpVersion is ipv6"
            )
        req.inside_cidr = _check_inside_v4(tunnel_no, spec["TunnelInsideCidr"])
    if spec.get("PreSharedKey") is not None:
        # Never echo the key itself: error messages end up in logs.
        if not psk_ok(str(spec["PreSharedKey"])):
            raise _bad(f"Tunnel {tunnel_no}: invalid PreSharedKey: it must be {PSK_RULE}")
        req.psk = str(spec["PreSharedKey"])

    v = req.values
    v["phase1_encryption"] = _pick(tunnel_no, spec, "Phase1EncryptionAlgorithms", PHASE1_ENCRYPTION)
    v["phase2_encryption"] = _pick(tunnel_no, spec, "Phase2EncryptionAlgorithms", PHASE2_ENCRYPTION)
    v["phase1_integrity"] = _pick(tunnel_no, spec, "Phase1IntegrityAlgorithms", PHASE1_INTEGRITY)
    v["phase2_integrity"] = _pick(tunnel_no, spec, "Phase2IntegrityAlgorithms", PHASE2_INTEGRITY)
    v["phase1_dh"] = _pick(tunnel_no, spec, "Phase1DHGroupNumbers", PHASE1_DH_GROUPS, ints=True)
    v["phase2_dh"] = _pick(tunnel_no, spec, "Phase2DHGroupNumbers", PHASE2_DH_GROUPS, ints=True)
    v["ike_versions"] = _pick(tunnel_no, spec, "IKEVersions", IKE_VERSIONS)

    p1 = _in_range(tunnel_no, spec, "Phase1LifetimeSeconds", PHASE1_LIFETIME)
    p2 = _in_range(tunnel_no, spec, "Phase2LifetimeSeconds", PHASE2_LIFETIME)
    phase1 = PHASE1_LIFETIME_DEFAULT if p1 is None else p1
    phase2 = PHASE2_LIFETIME_DEFAULT if p2 is None else p2
    if phase2 >= phase1:
        raise _bad(
            f"Tunnel {tunnel_no}: Phase2LifetimeSeconds ({phase2}) must be less than "
            f"Phase1LifetimeSeconds ({phase1})"
        )
    v["phase1_lifetime"], v["phase2_lifetime"] = phase1, phase2

    if spec.get("RekeyMarginTimeSeconds") is not None:
        margin = _as_int(spec["RekeyMarginTimeSeconds"], "RekeyMarginTimeSeconds")
        # AWS: between 60 s and half of the phase 2 lifetime.
        if not REKEY_MARGIN_MIN <= margin <= phase2 // 2:
            raise _bad(
                f"Tunnel {tunnel_no}: RekeyMarginTimeSeconds {margin} must be between "
                f"{REKEY_MARGIN_MIN} and half of Phase2LifetimeSeconds ({phase2 // 2})"
            )
        v["rekey_margin"] = margin
    else:
        # The default margin, capped so that a short phase 2 lifetime stays valid.
        v["rekey_margin"] = min(REKEY_MARGIN_DEFAULT, phase2 // 2)

    v["rekey_fuzz"] = _in_range(tunnel_no, spec, "RekeyFuzzPercentage", REKEY_FUZZ)
    v["replay_window"] = _in_range(tunnel_no, spec, "ReplayWindowSize", REPLAY_WINDOW)

    if spec.get("DPDTimeoutSeconds") is not None:
        dpd = _as_int(spec["DPDTimeoutSeconds"], "DPDTimeoutSeconds")
        if dpd < DPD_TIMEOUT_MIN:
            raise _bad(
                f"Tunnel {tunnel_no}: DPDTimeoutSeconds {dpd} is below the minimum of "
                f"{DPD_TIMEOUT_MIN}"
            )
        v["dpd_timeout"] = dpd
    for name, key, allowed in (
        ("DPDTimeoutAction", "dpd_action", DPD_ACTIONS),
        ("StartupAction", "startup_action", STARTUP_ACTIONS),
    ):
        if spec.get(name) is not None:
            if spec[name] not in allowed:
                raise _bad(
                    f"Tunnel {tunnel_no}: {name} {spec[name]!r} is not allowed; "
                    f"allowed values: {', '.join(allowed)}"
                )
            v[key] = spec[name]
    # AWS can only initiate the negotiation itself (startup action "start") with IKEv2.
    ike = v["ike_versions"] or list(IKE_VERSIONS)
    if v.get("startup_action") == "start" and "ikev2" not in ike:
        raise _bad(f"Tunnel {tunnel_no}: StartupAction start requires ikev2 in IKEVersions")
    if spec.get("EnableTunnelLifecycleControl") is not None:
        v["lifecycle_control"] = _as_bool(
            spec["EnableTunnelLifecycleControl"], "EnableTunnelLifecycleControl"
        )
    return req


def _inside_cidrs_in_use(backend: Any, gateway_id: str | None) -> dict[str, str]:
    """Inside CIDRs (v4 and v6) of the live connections on a gateway -> connection id."""
    used: dict[str, str] = {}
    if gateway_id is None:
        return used
    for conn in backend.vpn_connections.values():
        ext = _ext(conn)
        if ext is None or conn.state == "deleted":
            continue
        if gateway_id not in (conn.vpn_gateway_id, conn.transit_gateway_id):
            continue
        for tunnel in ext.tunnels:
            for cidr in (tunnel.inside_cidr, tunnel.inside_ipv6_cidr):
                if cidr:
                    used[cidr] = conn.id
    return used


def _generate_inside_v4(taken: set[str]) -> str:
    """A random /30 of 169.254.0.0/16, never reserved and never taken (AWS's choice)."""
    blocks = INSIDE_V4_SUPERNET.size >> (32 - INSIDE_V4_PREFIXLEN)
    while True:
        index = mock_random.randrange(blocks)
        net = IPNetwork(f"{INSIDE_V4_SUPERNET[index << (32 - INSIDE_V4_PREFIXLEN)]}/30")
        if not is_reserved_inside_cidr(net) and str(net) not in taken:
            return str(net)


def _generate_inside_v6(taken: set[str]) -> str:
    """A random /126 of fd00::/8, never taken."""
    host_bits = 128 - INSIDE_V6_PREFIXLEN
    free_bits = INSIDE_V6_PREFIXLEN - INSIDE_V6_SUPERNET.prefixlen
    while True:
        value = INSIDE_V6_SUPERNET.value | (mock_random.getrandbits(free_bits) << host_bits)
        net = IPNetwork(f"{IPAddress(value, 6)}/{INSIDE_V6_PREFIXLEN}")
        if str(net) not in taken:
            return str(net)


def _generate_psk() -> str:
    """32 characters AWS would accept; the first is never '0' (moto's seeded random)."""
    while True:
        key = "".join(mock_random.choice(_PSK_ALPHABET) for _ in range(GENERATED_PSK_LENGTH))
        if psk_ok(key):
            return key


def _build_extension(
    backend: Any,
    options: dict[str, Any],
    customer_gateway: Any,
    vpn_gateway: Any | None,
    transit_gateway_id: str | None,
) -> _VpnExtension:
    """Validate CreateVpnConnection's Options and fill in AWS's defaults."""
    on_tgw = transit_gateway_id is not None
    static = _as_bool(options.get("StaticRoutesOnly", False), "StaticRoutesOnly")
    ip_version = options.get("TunnelInsideIpVersion") or "ipv4"
    if ip_version not in ("ipv4", "ipv6"):
        raise _bad(f"TunnelInsideIpVersion {ip_version!r} is not allowed; allowed: ipv4, ipv6")
    if ip_version == "ipv6" and not on_tgw:
        raise _bad("TunnelInsideIpVersion ipv6 is only supported on a transit gateway")
    acceleration = _as_bool(options.get("EnableAcceleration", False), "EnableAcceleration")
    if acceleration and not on_tgw:
        raise _bad("EnableAcceleration is only supported for a VPN connection on a transit gateway")
    bandwidth = options.get("TunnelBandwidth") or "standard"
    if bandwidth not in ("standard", "large"):
        raise _bad(f"TunnelBandwidth {bandwidth!r} is not allowed; allowed: standard, large")
    if bandwidth == "large" and not on_tgw:
        raise _bad("TunnelBandwidth large (5 Gbps) is only supported on a transit gateway")
    if ip_version == "ipv4":
        local_cidr = _check_cidr(
            options.get("LocalIpv4NetworkCidr", "0.0.0.0/0"), "LocalIpv4NetworkCidr", 4
        )
        remote_cidr = _check_cidr(
            options.get("RemoteIpv4NetworkCidr", "0.0.0.0/0"), "RemoteIpv4NetworkCidr", 4
        )
    else:
        local_cidr = _check_cidr(
            options.get("LocalIpv6NetworkCidr", "::/0"), "LocalIpv6NetworkCidr", 6
        )
        remote_cidr = _check_cidr(
            options.get("RemoteIpv6NetworkCidr", "::/0"), "RemoteIpv6NetworkCidr", 6
        )

    specs = options.get("TunnelOptions") or []
    if not isinstance(specs, list):
        specs = [specs]
    if len(specs) > TUNNELS_PER_CONNECTION:
        raise _bad(
            f"TunnelOptions lists {len(specs)} tunnels; a VPN connection has exactly "
            f"{TUNNELS_PER_CONNECTION}"
        )
    specs = specs + [{}] * (TUNNELS_PER_CONNECTION - len(specs))
    requests = [
        _parse_tunnel(n, spec or {}, on_tgw=on_tgw, ip_version=ip_version)
        for n, spec in enumerate(specs, start=1)
    ]

    # Inside CIDRs: distinct between the two tunnels, and unique per VGW / TGW.
    gateway_id = transit_gateway_id or (vpn_gateway.id if vpn_gateway is not None else None)
    in_use = _inside_cidrs_in_use(backend, gateway_id)
    for kind in ("inside_cidr", "inside_ipv6_cidr"):
        first, second = (getattr(r, kind) for r in requests)
        if first is not None and first == second:
            name = "TunnelInsideCidr" if kind == "inside_cidr" else "TunnelInsideIpv6Cidr"
            raise _bad(f"Both tunnels have {name} {first}: each tunnel needs its own block")
        for n, req in enumerate(requests, start=1):
            cidr = getattr(req, kind)
            if cidr is not None and cidr in in_use:
                name = "TunnelInsideCidr" if kind == "inside_cidr" else "TunnelInsideIpv6Cidr"
                raise _bad(
                    f"Tunnel {n}: {name} {cidr} is already used by {in_use[cidr]} on "
                    f"{gateway_id}; inside CIDRs must be unique per gateway"
                )

    # Every check passed: draw the defaults (seeded random) and the outside addresses.
    taken = set(in_use) | {c for r in requests for c in (r.inside_cidr, r.inside_ipv6_cidr) if c}
    customer_ips = {cgw.ip_address for cgw in backend.customer_gateways.values() if cgw.ip_address}
    tunnels: list[_Tunnel] = []
    for index, req in enumerate(requests):
        inside_v4 = req.inside_cidr
        inside_v6 = req.inside_ipv6_cidr
        if ip_version == "ipv4" and inside_v4 is None:
            inside_v4 = _generate_inside_v4(taken)
            taken.add(inside_v4)
        if ip_version == "ipv6" and inside_v6 is None:
            inside_v6 = _generate_inside_v6(taken)
            taken.add(inside_v6)
        psk = req.psk if req.psk is not None else _generate_psk()
        v = req.values
        tunnels.append(
            _Tunnel(
                outside_ip=_ALLOCATOR.allocate(index, customer_ips),
                inside_cidr=inside_v4,
                inside_ipv6_cidr=inside_v6,
                psk=psk,
                # AWS's defaults permit every allowed value.
                phase1_encryption=v["phase1_encryption"] or list(PHASE1_ENCRYPTION),
                phase2_encryption=v["phase2_encryption"] or list(PHASE2_ENCRYPTION),
                phase1_integrity=v["phase1_integrity"] or list(PHASE1_INTEGRITY),
                phase2_integrity=v["phase2_integrity"] or list(PHASE2_INTEGRITY),
                phase1_dh=v["phase1_dh"] or list(PHASE1_DH_GROUPS),
                phase2_dh=v["phase2_dh"] or list(PHASE2_DH_GROUPS),
                ike_versions=v["ike_versions"] or list(IKE_VERSIONS),
                phase1_lifetime=v["phase1_lifetime"],
                phase2_lifetime=v["phase2_lifetime"],
                rekey_margin=v["rekey_margin"],
                rekey_fuzz=REKEY_FUZZ_DEFAULT if v["rekey_fuzz"] is None else v["rekey_fuzz"],
                replay_window=(
                    REPLAY_WINDOW_DEFAULT if v["replay_window"] is None else v["replay_window"]
                ),
                dpd_timeout=v.get("dpd_timeout", DPD_TIMEOUT_DEFAULT),
                dpd_action=v.get("dpd_action", DPD_ACTIONS[0]),
                startup_action=v.get("startup_action", STARTUP_ACTIONS[0]),
                lifecycle_control=v.get("lifecycle_control", False),
            )
        )

    if on_tgw:
        aws_asn = backend.transit_gateways[transit_gateway_id].options.get("AmazonSideAsn")
    else:
        aws_asn = vpn_gateway.amazon_side_asn if vpn_gateway is not None else None
    return _VpnExtension(
        static_routes_only=static,
        inside_ip_version=ip_version,
        enable_acceleration=acceleration,
        tunnel_bandwidth=bandwidth,
        local_cidr=local_cidr,
        remote_cidr=remote_cidr,
        customer_ip=customer_gateway.ip_address,
        customer_asn=int(customer_gateway.bgp_asn or CUSTOMER_DEFAULT_ASN),
        aws_asn=int(aws_asn or AWS_DEFAULT_ASN),
        tunnels=tunnels,
    )


# ------------------------------------------------------------ views (serialized)


def _values(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"Value": item} for item in items]


def _options_view(ext: _VpnExtension) -> dict[str, Any]:
    """``VpnConnection.Options`` in the botocore shape."""
    tunnel_options = []
    for t in ext.tunnels:
        option: dict[str, Any] = {"OutsideIpAddress": t.outside_ip}
        if t.inside_cidr:
            option["TunnelInsideCidr"] = t.inside_cidr
        if t.inside_ipv6_cidr:
            option["TunnelInsideIpv6Cidr"] = t.inside_ipv6_cidr
        option.update(
            {
                "PreSharedKey": t.psk,
                "Phase1LifetimeSeconds": t.phase1_lifetime,
                "Phase2LifetimeSeconds": t.phase2_lifetime,
                "RekeyMarginTimeSeconds": t.rekey_margin,
                "RekeyFuzzPercentage": t.rekey_fuzz,
                "ReplayWindowSize": t.replay_window,
                "DpdTimeoutSeconds": t.dpd_timeout,
                "DpdTimeoutAction": t.dpd_action,
                "Phase1EncryptionAlgorithms": _values(t.phase1_encryption),
                "Phase2EncryptionAlgorithms": _values(t.phase2_encryption),
                "Phase1IntegrityAlgorithms": _values(t.phase1_integrity),
                "Phase2IntegrityAlgorithms": _values(t.phase2_integrity),
                "Phase1DHGroupNumbers": _values(t.phase1_dh),
                "Phase2DHGroupNumbers": _values(t.phase2_dh),
                "IkeVersions": _values(t.ike_versions),
                "StartupAction": t.startup_action,
                "EnableTunnelLifecycleControl": t.lifecycle_control,
            }
        )
        tunnel_options.append(option)
    view: dict[str, Any] = {
        "EnableAcceleration": ext.enable_acceleration,
        "StaticRoutesOnly": ext.static_routes_only,
        "TunnelInsideIpVersion": ext.inside_ip_version,
        "OutsideIpAddressType": "PublicIpv4",
        "TunnelBandwidth": ext.tunnel_bandwidth,
        "TunnelOptions": tunnel_options,
    }
    if ext.inside_ip_version == "ipv4":
        view["LocalIpv4NetworkCidr"] = ext.local_cidr
        view["RemoteIpv4NetworkCidr"] = ext.remote_cidr
    else:
        view["LocalIpv6NetworkCidr"] = ext.local_cidr
        view["RemoteIpv6NetworkCidr"] = ext.remote_cidr
    return view


def _vpn_routes(self: VPNConnection) -> list[dict[str, str]]:
    """``VpnConnection.Routes``: the static routes of the connection."""
    ext = _ext(self)
    if ext is None:
        return []
    return [
        {"DestinationCidrBlock": cidr, "Source": "Static", "State": "available"}
        for cidr in ext.routes
    ]


def _vgw_telemetry(self: VPNConnection) -> list[dict[str, Any]] | None:
    """``VpnConnection.VgwTelemetry``: one entry per tunnel."""
    ext = _ext(self)
    if ext is None:
        return None
    return [
        {
            "OutsideIpAddress": t.outside_ip,
            "Status": t.status,
            "StatusMessage": t.status_message,
            "AcceptedRouteCount": len(t.learned_prefixes),
            "LastStatusChange": t.last_status_change,
        }
        for t in ext.tunnels
    ]


def _sub(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _xml_side(
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
        bgp = _sub(side, "bgp")
        _sub(bgp, "asn", asn)
        _sub(bgp, "hold_time", BGP_HOLD_TIME)


def _customer_gateway_configuration(self: VPNConnection) -> str:
    """The connection's XML, with the real per-tunnel values instead of moto's template.

    AWS prints one proposal per phase; like AWS's generic file for a default tunnel
    (aes-128-cbc, sha1, group2), it shows the first permitted value of each list. A
    static-routes-only connection has no ``<bgp>`` elements.
    """
    ext = _ext(self)
    if ext is None:
        return _original(VPNConnection, "customer_gateway_configuration").fget(self)
    root = ET.Element("vpn_connection", id=self.id)
    _sub(root, "customer_gateway_id", self.customer_gateway_id)
    _sub(root, "vpn_gateway_id", self.vpn_gateway_id or "")
    _sub(root, "vpn_connection_type", self.type)
    for t in ext.tunnels:
        aws_inside, customer_inside, prefixlen = t.inside_addresses()
        tunnel = _sub(root, "ipsec_tunnel")
        bgp = not ext.static_routes_only
        _xml_side(
            tunnel,
            "customer_gateway",
            ext.customer_ip,
            customer_inside,
            prefixlen,
            ext.customer_asn if bgp else None,
        )
        _xml_side(
            tunnel, "vpn_gateway", t.outside_ip, aws_inside, prefixlen, ext.aws_asn if bgp else None
        )
        ike = _sub(tunnel, "ike")
        _sub(ike, "authentication_protocol", _XML_IKE_INTEGRITY[t.phase1_integrity[0]])
        _sub(ike, "encryption_protocol", _XML_IKE_ENCRYPTION[t.phase1_encryption[0]])
        _sub(ike, "lifetime", t.phase1_lifetime)
        _sub(ike, "perfect_forward_secrecy", f"group{t.phase1_dh[0]}")
        if "ikev1" in t.ike_versions:
            _sub(ike, "mode", "main")
        _sub(ike, "pre_shared_key", t.psk)
        ipsec = _sub(tunnel, "ipsec")
        _sub(ipsec, "protocol", "esp")
        _sub(ipsec, "authentication_protocol", _XML_ESP_INTEGRITY[t.phase2_integrity[0]])
        _sub(ipsec, "encryption_protocol", _XML_IKE_ENCRYPTION[t.phase2_encryption[0]])
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
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ------------------------------------------------------------- backend patches


def _create_vpn_gateway(
    self: Any,
    gateway_type: str = "ipsec.1",
    amazon_side_asn: Any = None,
    availability_zone: str | None = None,
    tags: dict[str, str] | None = None,
) -> Any:
    """moto keeps AmazonSideAsn but leaves it empty by default; AWS uses 64512 and
    accepts only private ASNs."""
    if amazon_side_asn is None or amazon_side_asn == "":
        asn = AWS_DEFAULT_ASN
    else:
        asn = _as_int(amazon_side_asn, "AmazonSideAsn")
        if not any(low <= asn <= high for low, high in AMAZON_SIDE_ASN_RANGES):
            ranges = " or ".join(f"{low}-{high}" for low, high in AMAZON_SIDE_ASN_RANGES)
            raise _bad(f"AmazonSideAsn {asn} is not a private ASN ({ranges})")
    return _original(VpnGatewayBackend, "create_vpn_gateway")(
        self, gateway_type, asn, availability_zone, tags
    )


def _create_vpn_connection(
    self: Any,
    vpn_conn_type: str,
    customer_gateway_id: str,
    vpn_gateway_id: str | None = None,
    transit_gateway_id: str | None = None,
    tags: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
) -> VPNConnection:
    """CreateVpnConnection with Options honoured (validated first, nothing half-made)."""
    if vpn_gateway_id and transit_gateway_id:
        raise _bad("The request must not contain both parameter vpnGatewayId and transitGatewayId")
    if vpn_conn_type != "ipsec.1":
        raise _bad(f"Invalid VPN connection type {vpn_conn_type!r}: only ipsec.1 is supported")
    customer_gateway = self.get_customer_gateway(customer_gateway_id)
    vpn_gateway = self.get_vpn_gateway(vpn_gateway_id) if vpn_gateway_id else None
    if transit_gateway_id and transit_gateway_id not in self.transit_gateways:
        raise InvalidTransitGatewayID(transit_gateway_id)
    live = [c for c in self.vpn_connections.values() if c.state != "deleted"]
    if vpn_gateway_id and sum(c.vpn_gateway_id == vpn_gateway_id for c in live) >= (
        MAX_CONNECTIONS_PER_VGW
    ):
        raise EC2ClientError(
            "VpnConnectionLimitExceeded",
            f"{vpn_gateway_id} already has {MAX_CONNECTIONS_PER_VGW} VPN connections",
        )
    if len(live) >= MAX_CONNECTIONS_PER_REGION:
        raise EC2ClientError(
            "VpnConnectionLimitExceeded",
            f"The Region already has {MAX_CONNECTIONS_PER_REGION} VPN connections",
        )
    ext = _build_extension(self, options or {}, customer_gateway, vpn_gateway, transit_gateway_id)
    connection = _original(VPNConnectionBackend, "create_vpn_connection")(
        self,
        vpn_conn_type,
        customer_gateway_id,
        vpn_gateway_id=vpn_gateway_id,
        transit_gateway_id=transit_gateway_id,
        tags=tags,
    )
    connection.__dict__["_crossnet"] = ext
    connection.options = _options_view(ext)
    return connection


def _get_live_connection(
    backend: Any, vpn_connection_id: str
) -> tuple[VPNConnection, _VpnExtension]:
    connection = backend.describe_vpn_connections(vpn_connection_ids=[vpn_connection_id])[0]
    ext = _ext(connection)
    if ext is None or connection.state == "deleted":
        raise EC2ClientError(
            "IncorrectState", f"The VPN connection {vpn_connection_id} is not available"
        )
    return connection, ext


def _check_static_route_target(connection: VPNConnection, ext: _VpnExtension) -> None:
    # On a transit gateway, static routes go in the TGW route table, not on the
    # connection: CreateVpnConnectionRoute is for virtual private gateways only.
    if connection.transit_gateway_id:
        raise _bad(
            f"VPN connection {connection.id} is attached to transit gateway "
            f"{connection.transit_gateway_id}: add static routes to the transit gateway "
            "route table instead"
        )
    if not ext.static_routes_only:
        raise _bad(
            f"VPN connection {connection.id} uses BGP (dynamic) routing: static routes need "
            "a connection created with StaticRoutesOnly=true"
        )


def _create_vpn_connection_route(
    self: Any, vpn_connection_id: str, destination_cidr_block: str
) -> None:
    """CreateVpnConnectionRoute: record a static route on a static-routes-only connection."""
    connection, ext = _get_live_connection(self, vpn_connection_id)
    _check_static_route_target(connection, ext)
    cidr = _check_cidr(destination_cidr_block, "destinationCidrBlock", 4)
    if cidr not in ext.routes:  # AWS treats a repeat as a no-op
        ext.routes.append(cidr)


def _delete_vpn_connection_route(
    self: Any, vpn_connection_id: str, destination_cidr_block: str
) -> None:
    """DeleteVpnConnectionRoute: remove a static route recorded on the connection."""
    connection, ext = _get_live_connection(self, vpn_connection_id)
    _check_static_route_target(connection, ext)
    cidr = _check_cidr(destination_cidr_block, "destinationCidrBlock", 4)
    if cidr not in ext.routes:
        raise EC2ClientError(
            "InvalidRoute.NotFound",
            f"No static route {cidr} on VPN connection {vpn_connection_id}",
        )
    ext.routes.remove(cidr)


def _propagating(route_table: RouteTable) -> list[str]:
    return route_table.__dict__.setdefault("_crossnet_propagating", [])


def _enable_vgw_route_propagation(self: Any, route_table_id: str, gateway_id: str) -> None:
    """EnableVgwRoutePropagation: the VGW must be attached to the route table's VPC."""
    route_table = self.get_route_table(route_table_id)
    vpn_gateway = self.get_vpn_gateway(gateway_id)
    attachment = vpn_gateway.attachments.get(route_table.vpc_id)
    if attachment is None or attachment.state != "attached":
        raise EC2ClientError(
            "Gateway.NotAttached",
            f"Virtual private gateway {gateway_id} is not attached to {route_table.vpc_id}, "
            f"the VPC of route table {route_table_id}",
        )
    if gateway_id not in _propagating(route_table):
        _propagating(route_table).append(gateway_id)


def _disable_vgw_route_propagation(self: Any, route_table_id: str, gateway_id: str) -> None:
    """DisableVgwRoutePropagation: stop propagating; a no-op when it was not on."""
    route_table = self.get_route_table(route_table_id)
    self.get_vpn_gateway(gateway_id)
    if gateway_id in _propagating(route_table):
        _propagating(route_table).remove(gateway_id)


def _known_prefixes(ext: _VpnExtension) -> list[str]:
    """Prefixes a VPN connection really offers its VGW, as far as the emulator knows.

    AWS propagates a connection's routes only while the connection is UP: its static
    routes, or the BGP prefixes the customer side advertised on an UP tunnel.
    """
    up = [t for t in ext.tunnels if t.status == "UP"]
    if not up:
        return []
    if ext.static_routes_only:
        return list(ext.routes)
    prefixes: list[str] = []
    for tunnel in up:
        prefixes.extend(p for p in tunnel.learned_prefixes if p not in prefixes)
    return prefixes


def _propagating_vgws(self: RouteTable) -> list[dict[str, str]]:
    """``RouteTable.PropagatingVgws``."""
    return [
        {"GatewayId": gateway_id} for gateway_id in self.__dict__.get("_crossnet_propagating", [])
    ]


def _route_table_routes(self: RouteTable) -> list[Any]:
    """moto's routes plus the ones propagated from VGWs (Origin EnableVgwRoutePropagation)."""
    routes = list(_original(RouteTable, "routes").fget(self))
    explicit = {r.destination_cidr_block for r in routes if r.destination_cidr_block}
    backend = self.ec2_backend
    seen: set[str] = set()
    for gateway_id in self.__dict__.get("_crossnet_propagating", []):
        vpn_gateway = backend.vpn_gateways.get(gateway_id)
        if vpn_gateway is None or vpn_gateway.state == "deleted":
            continue
        attachment = vpn_gateway.attachments.get(self.vpc_id)
        if attachment is None or attachment.state != "attached":
            continue
        for connection in backend.vpn_connections.values():
            ext = _ext(connection)
            if ext is None or connection.state == "deleted":
                continue
            if connection.vpn_gateway_id != gateway_id:
                continue
            for prefix in _known_prefixes(ext):
                # A route created in the table wins over an identical propagated one.
                if prefix in explicit or prefix in seen:
                    continue
                seen.add(prefix)
                routes.append(
                    {
                        "DestinationCidrBlock": prefix,
                        "GatewayId": gateway_id,
                        "Origin": "EnableVgwRoutePropagation",
                        "State": "active",
                    }
                )
    return routes


# ------------------------------------------------------------ response patches


# Serialized names of the request lists in VpnTunnelOptionsSpecification (botocore's
# queryName/locationName) -> the member names the rest of this module uses.
_TUNNEL_LIST_PARAMS = {
    "Phase1EncryptionAlgorithm": "Phase1EncryptionAlgorithms",
    "Phase2EncryptionAlgorithm": "Phase2EncryptionAlgorithms",
    "Phase1IntegrityAlgorithm": "Phase1IntegrityAlgorithms",
    "Phase2IntegrityAlgorithm": "Phase2IntegrityAlgorithms",
    "Phase1DHGroupNumber": "Phase1DHGroupNumbers",
    "Phase2DHGroupNumber": "Phase2DHGroupNumbers",
    "IKEVersion": "IKEVersions",
}


def _request_options(response: Any) -> dict[str, Any]:
    """CreateVpnConnection's ``Options``, with TunnelOptions read by position.

    A tunnel without options serializes to nothing, so a request that only sets tunnel
    2 carries ``Options.TunnelOptions.2.*`` and no index 1. AWS reads that as tunnel 2;
    moto's parser drops the whole list. So TunnelOptions is rebuilt from the query
    string, index by index.
    """
    options = dict(response._get_param("Options") or {})
    prefix = "Options.TunnelOptions."
    flat: dict[int, dict[str, list[str]]] = {}
    for key, values in response.querystring.items():
        if key.startswith(prefix):
            index, _, rest = key[len(prefix) :].partition(".")
            if index.isdigit():
                flat.setdefault(int(index), {})[rest] = values
    if not flat:
        return options
    tunnels: list[dict[str, Any]] = []
    for index in range(1, max(flat) + 1):
        spec: dict[str, Any] = {}
        lists: dict[str, dict[int, str]] = {}
        for rest, values in flat.get(index, {}).items():
            parts = rest.split(".")
            if len(parts) == 1:
                spec[parts[0]] = values[0]
            elif parts[0] in _TUNNEL_LIST_PARAMS and len(parts) == 3 and parts[1].isdigit():
                lists.setdefault(_TUNNEL_LIST_PARAMS[parts[0]], {})[int(parts[1])] = values[0]
            # Anything else (LogOptions, additional key exchanges) has no offline effect.
        for name, items in lists.items():
            spec[name] = [{"Value": items[i]} for i in sorted(items)]
        tunnels.append(spec)
    options["TunnelOptions"] = tunnels
    return options


def _resp_create_vpn_connection(self: Any) -> ActionResult:
    """CreateVpnConnection, passing ``Options`` to the backend (moto drops them)."""
    tgw_id = self._get_param("TransitGatewayId")
    connection = self.ec2_backend.create_vpn_connection(
        self._get_param("Type"),
        self._get_param("CustomerGatewayId"),
        vpn_gateway_id=self._get_param("VpnGatewayId"),
        transit_gateway_id=tgw_id,
        tags=add_tag_specification(self._get_param("TagSpecifications", [])),
        options=_request_options(self),
    )
    if connection.transit_gateway_id:
        # As in moto: a VPN on a TGW gets a TGW attachment of resource type "vpn".
        self.ec2_backend.create_transit_gateway_vpn_attachment(
            vpn_id=connection.id, transit_gateway_id=tgw_id
        )
    return ActionResult({"VpnConnection": connection})


def _resp_create_vpn_connection_route(self: Any) -> EmptyResult:
    self.ec2_backend.create_vpn_connection_route(
        self._get_param("VpnConnectionId"), self._get_param("DestinationCidrBlock")
    )
    return EmptyResult()


def _resp_delete_vpn_connection_route(self: Any) -> EmptyResult:
    self.ec2_backend.delete_vpn_connection_route(
        self._get_param("VpnConnectionId"), self._get_param("DestinationCidrBlock")
    )
    return EmptyResult()


def _resp_enable_vgw_route_propagation(self: Any) -> EmptyResult:
    self.ec2_backend.enable_vgw_route_propagation(
        self._get_param("RouteTableId"), self._get_param("GatewayId")
    )
    return EmptyResult()


def _resp_disable_vgw_route_propagation(self: Any) -> EmptyResult:
    self.ec2_backend.disable_vgw_route_propagation(
        self._get_param("RouteTableId"), self._get_param("GatewayId")
    )
    return EmptyResult()


def _create_transit_gateway_route(
    self: Any,
    transit_gateway_route_table_id: str,
    destination_cidr_block: str,
    transit_gateway_attachment_id: str | None = None,
    blackhole: bool = False,
) -> dict[str, Any]:
    """moto's CreateTransitGatewayRoute, with AWS's two behaviours it lacks: a
    table holds one static route per CIDR (a second one is refused, not
    silently overwritten), and the route's attachment is reported (moto keeps
    it as a mapping, which its serializer drops: the shape is a list)."""
    table = self.transit_gateways_route_tables.get(transit_gateway_route_table_id)
    existing = table.routes.get(destination_cidr_block) if table is not None else None
    if existing is not None and existing.get("state") != "deleted":
        raise EC2ClientError(
            "RouteAlreadyExists",
            f"Route {destination_cidr_block} already exists in Transit Gateway Route Table "
            f"{transit_gateway_route_table_id}",
        )
    route = _original(TransitGatewayRouteTableBackend, "create_transit_gateway_route")(
        self,
        transit_gateway_route_table_id,
        destination_cidr_block,
        transit_gateway_attachment_id,
        blackhole,
    )
    attachment = route.get("transitGatewayAttachments")
    if isinstance(attachment, dict):
        route["transitGatewayAttachments"] = [attachment]
    return route


def _patch_table() -> list[tuple[type, str, Any]]:
    return [
        (
            TransitGatewayRouteTableBackend,
            "create_transit_gateway_route",
            _create_transit_gateway_route,
        ),
        (VpnGatewayBackend, "create_vpn_gateway", _create_vpn_gateway),
        (VPNConnectionBackend, "create_vpn_connection", _create_vpn_connection),
        (VPNConnectionBackend, "create_vpn_connection_route", _create_vpn_connection_route),
        (VPNConnectionBackend, "delete_vpn_connection_route", _delete_vpn_connection_route),
        (RouteBackend, "enable_vgw_route_propagation", _enable_vgw_route_propagation),
        (RouteBackend, "disable_vgw_route_propagation", _disable_vgw_route_propagation),
        (
            VPNConnection,
            "customer_gateway_configuration",
            property(_customer_gateway_configuration),
        ),
        (VPNConnection, "routes", property(_vpn_routes)),
        (VPNConnection, "vgw_telemetry", property(_vgw_telemetry)),
        (VPNConnection, "category", "VPN"),
        (RouteTable, "routes", property(_route_table_routes)),
        (RouteTable, "propagating_vgws", property(_propagating_vgws)),
        (VPNConnections, "create_vpn_connection", _resp_create_vpn_connection),
        (VPNConnections, "create_vpn_connection_route", _resp_create_vpn_connection_route),
        (VPNConnections, "delete_vpn_connection_route", _resp_delete_vpn_connection_route),
        (RouteTables, "enable_vgw_route_propagation", _resp_enable_vgw_route_propagation),
        (RouteTables, "disable_vgw_route_propagation", _resp_disable_vgw_route_propagation),
    ]


# ------------------------------------------------------------------ public API


def install_extensions() -> None:
    """Patch moto's EC2 classes with the Site-to-Site VPN extensions (idempotent).

    Also restarts the outside-address allocator, so a fresh installation hands out
    the same addresses in the same order.
    """
    global _installed
    if _installed:
        return
    for owner, name, replacement in _patch_table() + [p for f in EXTRA_PATCHES for p in f()]:
        _saved[(owner, name)] = owner.__dict__.get(name, _MISSING)
        setattr(owner, name, replacement)
    _ALLOCATOR.reset()
    _installed = True


def uninstall_extensions() -> None:
    """Put moto's classes back exactly as they were (idempotent)."""
    global _installed
    if not _installed:
        return
    for (owner, name), original in reversed(list(_saved.items())):
        if original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _saved.clear()
    _installed = False


def extensions_installed() -> bool:
    """True while the extensions are patched into moto."""
    return _installed


def tunnel_attachment_id(client: Any, vpn_connection_id: str) -> str | None:
    """The transit gateway attachment id of a VPN connection, or None (VGW / no TGW).

    This is how pulumi-aws fills ``transitGatewayAttachmentId``: AWS's VpnConnection
    has no such field, the id comes from DescribeTransitGatewayAttachments filtered on
    resource type ``vpn`` and the connection id.
    """
    response = client.describe_transit_gateway_attachments(
        Filters=[
            {"Name": "resource-id", "Values": [vpn_connection_id]},
            {"Name": "resource-type", "Values": ["vpn"]},
        ]
    )
    for attachment in response.get("TransitGatewayAttachments", []):
        if attachment.get("State") not in ("deleted", "deleting", "failed", "rejected"):
            return attachment["TransitGatewayAttachmentId"]
    return None


def set_tunnel_status(
    client: Any,
    vpn_connection_id: str,
    tunnel: int,
    *,
    up: bool,
    bgp_prefixes: Iterable[str] = (),
) -> None:
    """Report what the customer side did to one tunnel (1 or 2) of a connection.

    Offline, nobody terminates AWS's end of a tunnel, so every tunnel is DOWN until
    something that really ran the customer side (the network lab, a test) says
    otherwise. ``bgp_prefixes`` are the prefixes the customer advertised over BGP; as
    on AWS, more than 100 of them tear the BGP session down. VgwTelemetry and VGW
    route propagation follow from this report.
    """
    from moto.ec2.models import ec2_backends

    region = client.meta.region_name
    connection = None
    for account_id in list(ec2_backends):
        backend = ec2_backends[account_id][region]
        if vpn_connection_id in backend.vpn_connections:
            connection = backend.vpn_connections[vpn_connection_id]
            break
    if connection is None or _ext(connection) is None:
        raise KeyError(f"no emulated VPN connection {vpn_connection_id} in {region}")
    ext = _ext(connection)
    assert ext is not None
    if tunnel not in range(1, TUNNELS_PER_CONNECTION + 1):
        raise ValueError(f"tunnel must be 1 or 2, not {tunnel}")
    prefixes = [str(IPNetwork(p).cidr) for p in bgp_prefixes]
    if prefixes and ext.static_routes_only:
        raise ValueError(f"{vpn_connection_id} is static-routes-only: it learns no BGP prefixes")
    state = ext.tunnels[tunnel - 1]
    if not up:
        state.status, state.status_message, state.learned_prefixes = "DOWN", "", []
    elif len(prefixes) > MAX_PREFIXES_FROM_CUSTOMER:
        # AWS drops the BGP session; telemetry then says DOWN with "IPSEC IS UP", the
        # same as for any BGP failure over a working IPsec tunnel.
        state.status, state.status_message, state.learned_prefixes = "DOWN", "IPSEC IS UP", []
    else:
        state.status = "UP"
        state.learned_prefixes = prefixes
        state.status_message = "" if ext.static_routes_only else f"{len(prefixes)} BGP ROUTES"
    state.last_status_change = datetime.now(UTC)


_SESSION: boto3.session.Session | None = None


def _boto3_session() -> boto3.session.Session:
    # One session for the process: a new one re-reads botocore's EC2 model (~0.3 s).
    # Its credentials are the dummy ones, resolved the first time inside the mock.
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.session.Session()
    return _SESSION


def _restore_env(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    saved.clear()


class AwsEmulator:
    """moto's ``mock_aws`` with crossnet's Site-to-Site VPN extensions installed.

    Use as a context manager, or call ``start()`` / ``stop()``. With a ``seed``, moto's
    random (ids, generated PSKs and inside CIDRs) is seeded, so a run is reproducible.
    """

    def __init__(self, seed: int | None = None) -> None:
        """Prepare an emulator; nothing is mocked or patched until ``start()``."""
        self.seed = seed
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_backend_env: dict[str, str | None] = {}
        self._installed_here = False

    def start(self) -> Self:
        """Start ``mock_aws``, install the extensions, seed, set dummy credentials.

        The dummy credentials exist only between ``start()`` and ``stop()``; the
        previous values (or their absence) come back on ``stop()``.
        """
        if self._mock is not None:
            raise RuntimeError("AwsEmulator already started")
        # Before mock_aws starts: it resets (re-creates) the backends on start and stop.
        self._saved_backend_env = {name: os.environ.get(name) for name in _ENV_DEFAULTS}
        for name, value in _ENV_DEFAULTS.items():
            os.environ.setdefault(name, value)
        self._mock = mock_aws()
        self._mock.start()
        self._installed_here = not _installed
        install_extensions()
        if self.seed is not None:
            mock_random.seed(self.seed)
        self._saved_env = {
            name: os.environ.get(name) for name in (*_ENV_CREDENTIALS, *_ENV_REMOVED)
        }
        os.environ.update(_ENV_CREDENTIALS)
        for name in _ENV_REMOVED:
            os.environ.pop(name, None)
        return self

    def stop(self) -> None:
        """Restore the credentials, uninstall the extensions, stop the mock."""
        if self._mock is None:
            return
        _restore_env(self._saved_env)
        if self._installed_here:
            uninstall_extensions()
            self._installed_here = False
        self._mock.stop()
        self._mock = None
        _restore_env(self._saved_backend_env)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self, service: str, region: str) -> Any:
        """A boto3 client bound to the mock (the emulator must be started)."""
        if self._mock is None:
            raise RuntimeError("AwsEmulator is not started")
        return _boto3_session().client(service, region_name=region)
