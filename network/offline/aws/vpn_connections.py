"""Site-to-Site VPN connections: Options honoured, two real tunnels, static routes.

moto 5.2's ``CreateVpnConnection`` ignores ``Options``, its XML is a fixed template,
``DescribeVpnConnections`` has no ``Options``/``VgwTelemetry``/``Routes``, and
``CreateVpnConnectionRoute`` is not implemented. moto serializes responses by reading,
on each model object, the attribute named like the botocore shape member (``Options``
-> ``options``, ``VgwTelemetry`` -> ``vgw_telemetry``), so the views below are
properties with those names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from moto.ec2.exceptions import EC2ClientError, InvalidTransitGatewayID
from moto.ec2.models.vpn_connections import VPNConnection, VPNConnectionBackend
from moto.moto_api._internal import mock_random
from netaddr import IPAddress, IPNetwork

from network.aws_rules import (
    AWS_DEFAULT_ASN,
    CUSTOMER_DEFAULT_ASN,
    DPD_ACTIONS,
    DPD_TIMEOUT_DEFAULT,
    GENERATED_PSK_LENGTH,
    IKE_VERSIONS,
    INSIDE_V4_PREFIXLEN,
    INSIDE_V4_SUPERNET,
    INSIDE_V6_PREFIXLEN,
    INSIDE_V6_SUPERNET,
    MAX_CONNECTIONS_PER_REGION,
    MAX_CONNECTIONS_PER_VGW,
    PHASE1_DH_GROUPS,
    PHASE1_ENCRYPTION,
    PHASE1_INTEGRITY,
    PHASE2_DH_GROUPS,
    PHASE2_ENCRYPTION,
    PHASE2_INTEGRITY,
    REKEY_FUZZ_DEFAULT,
    REPLAY_WINDOW_DEFAULT,
    STARTUP_ACTIONS,
    is_reserved_inside_cidr,
    psk_ok,
)
from network.offline.aws.cgw_config import configuration_xml
from network.offline.aws.customer_gateways import check_vgw_customer_ip, customer_asn
from network.offline.aws.model import (
    ALLOCATOR,
    VpnExtension,
    VpnTunnel,
    attach_extension,
    extension_of,
    live_extensions,
)
from network.offline.aws.patching import PatchTable, original
from network.offline.aws.tunnel_options import (
    ConnectionRequest,
    TunnelRequest,
    bad,
    check_cidr,
    parse_connection_options,
)

# Characters AWS allows in a pre-shared key (PSK_RULE); a key may not start with '0'.
_PSK_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"
_INSIDE_NAMES = {"inside_cidr": "TunnelInsideCidr", "inside_ipv6_cidr": "TunnelInsideIpv6Cidr"}


# ------------------------------------------------------------ defaults AWS draws


def inside_cidrs_in_use(backend: Any, gateway_id: str | None) -> dict[str, str]:
    """Inside CIDRs (v4 and v6) of the live connections on a gateway -> connection id."""
    used: dict[str, str] = {}
    if gateway_id is None:
        return used
    for conn, ext in live_extensions(backend):
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


def _check_inside_unique(
    requests: list[TunnelRequest], in_use: dict[str, str], gateway_id: str | None
) -> None:
    """Inside CIDRs: distinct between the two tunnels, and unique per VGW / TGW."""
    for kind, name in _INSIDE_NAMES.items():
        first, second = (getattr(r, kind) for r in requests)
        if first is not None and first == second:
            raise bad(f"Both tunnels have {name} {first}: each tunnel needs its own block")
        for n, req in enumerate(requests, start=1):
            cidr = getattr(req, kind)
            if cidr is not None and cidr in in_use:
                raise bad(
                    f"Tunnel {n}: {name} {cidr} is already used by {in_use[cidr]} on "
                    f"{gateway_id}; inside CIDRs must be unique per gateway"
                )


def _or_default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _tunnel(
    index: int, req: TunnelRequest, ip_version: str, taken: set[str], customer_ips: set[str]
) -> VpnTunnel:
    """One tunnel with AWS's defaults drawn (seeded random) where the request is silent."""
    inside_v4, inside_v6 = req.inside_cidr, req.inside_ipv6_cidr
    if ip_version == "ipv4" and inside_v4 is None:
        inside_v4 = _generate_inside_v4(taken)
        taken.add(inside_v4)
    if ip_version == "ipv6" and inside_v6 is None:
        inside_v6 = _generate_inside_v6(taken)
        taken.add(inside_v6)
    psk = req.psk if req.psk is not None else _generate_psk()
    v = req.values
    return VpnTunnel(
        outside_ip=ALLOCATOR.allocate(index, customer_ips),
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
        rekey_fuzz=_or_default(v["rekey_fuzz"], REKEY_FUZZ_DEFAULT),
        replay_window=_or_default(v["replay_window"], REPLAY_WINDOW_DEFAULT),
        dpd_timeout=v.get("dpd_timeout", DPD_TIMEOUT_DEFAULT),
        dpd_action=v.get("dpd_action", DPD_ACTIONS[0]),
        startup_action=v.get("startup_action", STARTUP_ACTIONS[0]),
        lifecycle_control=v.get("lifecycle_control", False),
    )


def _aws_asn(backend: Any, vpn_gateway: Any | None, transit_gateway_id: str | None) -> int:
    if transit_gateway_id is not None:
        asn = backend.transit_gateways[transit_gateway_id].options.get("AmazonSideAsn")
    else:
        asn = vpn_gateway.amazon_side_asn if vpn_gateway is not None else None
    return int(asn or AWS_DEFAULT_ASN)


def build_extension(
    backend: Any,
    options: dict[str, Any],
    customer_gateway: Any,
    vpn_gateway: Any | None,
    transit_gateway_id: str | None,
) -> VpnExtension:
    """Validate CreateVpnConnection's Options and fill in AWS's defaults."""
    request: ConnectionRequest = parse_connection_options(
        options, on_tgw=transit_gateway_id is not None
    )
    gateway_id = transit_gateway_id or (vpn_gateway.id if vpn_gateway is not None else None)
    in_use = inside_cidrs_in_use(backend, gateway_id)
    _check_inside_unique(request.tunnels, in_use, gateway_id)
    check_vgw_customer_ip(backend, vpn_gateway.id if vpn_gateway else None, customer_gateway)

    # Every check passed: draw the defaults (seeded random) and the outside addresses.
    taken = set(in_use) | {
        c for r in request.tunnels for c in (r.inside_cidr, r.inside_ipv6_cidr) if c
    }
    customer_ips = {cgw.ip_address for cgw in backend.customer_gateways.values() if cgw.ip_address}
    tunnels = [
        _tunnel(index, req, request.inside_ip_version, taken, customer_ips)
        for index, req in enumerate(request.tunnels)
    ]
    return VpnExtension(
        static_routes_only=request.static_routes_only,
        inside_ip_version=request.inside_ip_version,
        enable_acceleration=request.enable_acceleration,
        tunnel_bandwidth=request.tunnel_bandwidth,
        local_cidr=request.local_cidr,
        remote_cidr=request.remote_cidr,
        customer_ip=customer_gateway.ip_address,
        customer_asn=customer_asn(customer_gateway) or CUSTOMER_DEFAULT_ASN,
        aws_asn=_aws_asn(backend, vpn_gateway, transit_gateway_id),
        tunnels=tunnels,
    )


# ------------------------------------------------------------ views (serialized)


def _values(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"Value": item} for item in items]


def _tunnel_view(t: VpnTunnel) -> dict[str, Any]:
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
    return option


def options_view(ext: VpnExtension) -> dict[str, Any]:
    """``VpnConnection.Options`` in the botocore shape."""
    view: dict[str, Any] = {
        "EnableAcceleration": ext.enable_acceleration,
        "StaticRoutesOnly": ext.static_routes_only,
        "TunnelInsideIpVersion": ext.inside_ip_version,
        "OutsideIpAddressType": "PublicIpv4",
        "TunnelBandwidth": ext.tunnel_bandwidth,
        "TunnelOptions": [_tunnel_view(t) for t in ext.tunnels],
    }
    family = "Ipv4" if ext.inside_ip_version == "ipv4" else "Ipv6"
    view[f"Local{family}NetworkCidr"] = ext.local_cidr
    view[f"Remote{family}NetworkCidr"] = ext.remote_cidr
    return view


def _vpn_routes(self: VPNConnection) -> list[dict[str, str]]:
    """``VpnConnection.Routes``: the static routes of the connection."""
    ext = extension_of(self)
    if ext is None:
        return []
    return [
        {"DestinationCidrBlock": cidr, "Source": "Static", "State": "available"}
        for cidr in ext.routes
    ]


def _vgw_telemetry(self: VPNConnection) -> list[dict[str, Any]] | None:
    """``VpnConnection.VgwTelemetry``: one entry per tunnel."""
    ext = extension_of(self)
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


def _customer_gateway_configuration(self: VPNConnection) -> str:
    ext = extension_of(self)
    if ext is None:
        xml: str = original(VPNConnection, "customer_gateway_configuration").fget(self)
        return xml
    return configuration_xml(self, ext)


# ------------------------------------------------------------- backend operations


def _check_limits(backend: Any, vpn_gateway_id: str | None) -> None:
    live = [c for c in backend.vpn_connections.values() if c.state != "deleted"]
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
        raise bad("The request must not contain both parameter vpnGatewayId and transitGatewayId")
    if vpn_conn_type != "ipsec.1":
        raise bad(f"Invalid VPN connection type {vpn_conn_type!r}: only ipsec.1 is supported")
    customer_gateway = self.get_customer_gateway(customer_gateway_id)
    vpn_gateway = self.get_vpn_gateway(vpn_gateway_id) if vpn_gateway_id else None
    if transit_gateway_id and transit_gateway_id not in self.transit_gateways:
        raise InvalidTransitGatewayID(transit_gateway_id)
    _check_limits(self, vpn_gateway_id)
    ext = build_extension(self, options or {}, customer_gateway, vpn_gateway, transit_gateway_id)
    connection: VPNConnection = original(VPNConnectionBackend, "create_vpn_connection")(
        self,
        vpn_conn_type,
        customer_gateway_id,
        vpn_gateway_id=vpn_gateway_id,
        transit_gateway_id=transit_gateway_id,
        tags=tags,
    )
    attach_extension(connection, ext)
    # moto declares ``options`` as always None; its serializer reads it for Options.
    connection.options = options_view(ext)  # type: ignore[assignment]
    return connection


def live_connection(backend: Any, vpn_connection_id: str) -> tuple[VPNConnection, VpnExtension]:
    """A connection that exists, is not deleted and was made by the emulator."""
    connection: VPNConnection = backend.describe_vpn_connections(
        vpn_connection_ids=[vpn_connection_id]
    )[0]
    ext = extension_of(connection)
    if ext is None or connection.state == "deleted":
        raise EC2ClientError(
            "IncorrectState", f"The VPN connection {vpn_connection_id} is not available"
        )
    return connection, ext


def _check_static_route_target(connection: VPNConnection, ext: VpnExtension) -> None:
    # On a transit gateway, static routes go in the TGW route table, not on the
    # connection: CreateVpnConnectionRoute is for virtual private gateways only.
    if connection.transit_gateway_id:
        raise bad(
            f"VPN connection {connection.id} is attached to transit gateway "
            f"{connection.transit_gateway_id}: add static routes to the transit gateway "
            "route table instead"
        )
    if not ext.static_routes_only:
        raise bad(
            f"VPN connection {connection.id} uses BGP (dynamic) routing: static routes need "
            "a connection created with StaticRoutesOnly=true"
        )


def _create_vpn_connection_route(
    self: Any, vpn_connection_id: str, destination_cidr_block: str
) -> None:
    """CreateVpnConnectionRoute: record a static route on a static-routes-only connection."""
    connection, ext = live_connection(self, vpn_connection_id)
    _check_static_route_target(connection, ext)
    cidr = check_cidr(destination_cidr_block, "destinationCidrBlock", 4)
    if cidr not in ext.routes:  # AWS treats a repeat as a no-op
        ext.routes.append(cidr)


def _delete_vpn_connection_route(
    self: Any, vpn_connection_id: str, destination_cidr_block: str
) -> None:
    """DeleteVpnConnectionRoute: remove a static route recorded on the connection."""
    connection, ext = live_connection(self, vpn_connection_id)
    _check_static_route_target(connection, ext)
    cidr = check_cidr(destination_cidr_block, "destinationCidrBlock", 4)
    if cidr not in ext.routes:
        raise EC2ClientError(
            "InvalidRoute.NotFound",
            f"No static route {cidr} on VPN connection {vpn_connection_id}",
        )
    ext.routes.remove(cidr)


def patches() -> PatchTable:
    """This area's patches (see ``install.area_patch_tables``)."""
    return [
        (VPNConnectionBackend, "create_vpn_connection", _create_vpn_connection),
        (VPNConnectionBackend, "create_vpn_connection_route", _create_vpn_connection_route),
        (VPNConnectionBackend, "delete_vpn_connection_route", _delete_vpn_connection_route),
        (
            VPNConnection,
            "customer_gateway_configuration",
            property(_customer_gateway_configuration),
        ),
        (VPNConnection, "routes", property(_vpn_routes)),
        (VPNConnection, "vgw_telemetry", property(_vgw_telemetry)),
        (VPNConnection, "category", "VPN"),
    ]
