"""Changing a live Site-to-Site VPN in the offline AWS: ModifyVpnTunnelOptions and
ModifyVpnConnection, with the rules AWS's API reference gives.

- ModifyVpnTunnelOptions changes one tunnel per request, named by its AWS
  outside address. The tunnel is down while AWS provisions the new settings
  (and stays down until the customer side negotiates with them); the other
  tunnel carries on. A second request while one is being provisioned is
  refused: modify tunnel by tunnel.
- ModifyVpnConnection moves a connection to another customer gateway (on a VGW,
  not onto an address another of its connections uses), or
  between gateways (VGW->VGW, VGW->TGW, TGW->TGW, TGW->VGW). The target must
  exist. A connection with static routes cannot leave a VGW for a TGW until
  those routes are deleted (they go into the TGW route table after the move).
  The outside addresses, inside CIDRs and keys stay; both tunnels are down
  while AWS provisions the new endpoints. The VPC route tables pointing at the
  old gateway are the caller's to update afterwards: propagation from the old
  VGW stops carrying the connection's routes.

A modification stays "being provisioned" until `settle()` (what the AWS
provider's waiter sees as the connection becoming available again). The
patches are one of `install.area_patch_tables()`.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidParameterValue
from moto.ec2.models.vpn_connections import VPNConnection, VPNConnectionBackend
from moto.ec2.responses.vpn_connections import VPNConnections

from network.aws_rules import MAX_CONNECTIONS_PER_VGW
from network.offline.aws.customer_gateways import check_vgw_customer_ip
from network.offline.aws.model import VpnExtension, VpnTunnel, extension_of
from network.offline.aws.patching import PatchTable
from network.offline.aws.responses import tunnel_spec
from network.offline.aws.tunnel_options import parse_tunnel
from network.offline.aws.vpn_connections import inside_cidrs_in_use, live_connection, options_view

__all__ = ["modifying", "settle"]

_PENDING = "_crossnet_modifying"
MODIFYING_MESSAGE = "MODIFYING: AWS is provisioning the new settings"


def modifying(connection: VPNConnection) -> str | None:
    """What is being provisioned on a connection ("tunnel <ip>" or "connection"), if anything."""
    value = connection.__dict__.get(_PENDING)
    return value if isinstance(value, str) else None


def settle(backend: Any, vpn_connection_id: str) -> None:
    """AWS has finished provisioning: the connection takes requests again. The
    modified tunnels stay DOWN until the customer side brings them up."""
    connection = backend.vpn_connections[vpn_connection_id]
    connection.__dict__.pop(_PENDING, None)
    ext = extension_of(connection)
    for t in ext.tunnels if ext else []:
        if t.status_message == MODIFYING_MESSAGE:
            t.status_message = ""


def _refuse_while_modifying(connection: VPNConnection) -> None:
    pending = modifying(connection)
    if pending is not None:
        raise EC2ClientError(
            "IncorrectState",
            f"The VPN connection {connection.id} is being modified ({pending}): wait until "
            "it is available; tunnel options change one tunnel at a time",
        )


def _down(tunnel: VpnTunnel) -> None:
    tunnel.status, tunnel.learned_prefixes = "DOWN", []
    tunnel.status_message = MODIFYING_MESSAGE


def _current_spec(t: VpnTunnel) -> dict[str, Any]:
    """A tunnel's options as a VpnTunnelOptionsSpecification, to lay the request over."""

    def values(items: list[Any]) -> list[dict[str, Any]]:
        return [{"Value": v} for v in items]

    spec: dict[str, Any] = {
        "PreSharedKey": t.psk,
        "Phase1EncryptionAlgorithms": values(t.phase1_encryption),
        "Phase2EncryptionAlgorithms": values(t.phase2_encryption),
        "Phase1IntegrityAlgorithms": values(t.phase1_integrity),
        "Phase2IntegrityAlgorithms": values(t.phase2_integrity),
        "Phase1DHGroupNumbers": values(t.phase1_dh),
        "Phase2DHGroupNumbers": values(t.phase2_dh),
        "IKEVersions": values(t.ike_versions),
        "Phase1LifetimeSeconds": t.phase1_lifetime,
        "Phase2LifetimeSeconds": t.phase2_lifetime,
        "RekeyMarginTimeSeconds": t.rekey_margin,
        "RekeyFuzzPercentage": t.rekey_fuzz,
        "ReplayWindowSize": t.replay_window,
        "DPDTimeoutSeconds": t.dpd_timeout,
        "DPDTimeoutAction": t.dpd_action,
        "StartupAction": t.startup_action,
        "EnableTunnelLifecycleControl": t.lifecycle_control,
    }
    if t.inside_cidr:
        spec["TunnelInsideCidr"] = t.inside_cidr
    if t.inside_ipv6_cidr:
        spec["TunnelInsideIpv6Cidr"] = t.inside_ipv6_cidr
    return spec


def _apply_values(t: VpnTunnel, v: dict[str, Any]) -> None:
    for attr in (
        "phase1_encryption",
        "phase2_encryption",
        "phase1_integrity",
        "phase2_integrity",
        "phase1_dh",
        "phase2_dh",
        "ike_versions",
        "phase1_lifetime",
        "phase2_lifetime",
        "rekey_margin",
        "rekey_fuzz",
        "replay_window",
        "dpd_timeout",
        "dpd_action",
        "startup_action",
        "lifecycle_control",
    ):
        if v.get(attr) is not None:
            setattr(t, attr, v[attr])


def _check_inside_unique(
    backend: Any, connection: VPNConnection, ext: VpnExtension, index: int, cidrs: list[str]
) -> None:
    gateway = connection.transit_gateway_id or connection.vpn_gateway_id
    in_use = {
        c: owner
        for c, owner in inside_cidrs_in_use(backend, gateway).items()
        if owner != connection.id
    }
    other = ext.tunnels[1 - index]
    in_use |= {
        c: f"tunnel {2 - index} of {connection.id}"
        for c in (other.inside_cidr, other.inside_ipv6_cidr)
        if c
    }
    for cidr in cidrs:
        if cidr in in_use:
            raise InvalidParameterValue(
                f"Tunnel inside CIDR {cidr} is already used by {in_use[cidr]} on {gateway}; "
                "inside CIDRs must be unique per gateway"
            )


def modify_vpn_tunnel_options(
    self: Any, vpn_connection_id: str, outside_ip: str, options: dict[str, Any]
) -> VPNConnection:
    """ModifyVpnTunnelOptions: the options of the one tunnel at `outside_ip`."""
    connection, ext = live_connection(self, vpn_connection_id)
    _refuse_while_modifying(connection)
    index = next((i for i, t in enumerate(ext.tunnels) if t.outside_ip == outside_ip), None)
    if index is None:
        raise InvalidParameterValue(
            f"The VPN connection {vpn_connection_id} has no tunnel with outside IP address "
            f"{outside_ip}"
        )
    tunnel = ext.tunnels[index]
    spec = _current_spec(tunnel) | {k: v for k, v in options.items() if v is not None}
    req = parse_tunnel(
        index + 1,
        spec,
        on_tgw=connection.transit_gateway_id is not None,
        ip_version=ext.inside_ip_version,
    )
    _check_inside_unique(
        self, connection, ext, index, [c for c in (req.inside_cidr, req.inside_ipv6_cidr) if c]
    )
    tunnel.inside_cidr = req.inside_cidr or tunnel.inside_cidr
    tunnel.inside_ipv6_cidr = req.inside_ipv6_cidr or tunnel.inside_ipv6_cidr
    tunnel.psk = req.psk or tunnel.psk
    _apply_values(tunnel, req.values)
    _down(tunnel)
    connection.__dict__[_PENDING] = f"tunnel {outside_ip}"
    connection.options = options_view(ext)  # type: ignore[assignment]
    return connection


def _tgw_attachment(backend: Any, vpn_connection_id: str) -> Any:
    for a in backend.transit_gateway_attachments.values():
        live = a.state not in ("deleted", "deleting")
        if a.resource_id == vpn_connection_id and a.resource_type == "vpn" and live:
            return a
    return None


def _check_move(backend: Any, connection: VPNConnection, ext: VpnExtension, target: str) -> None:
    if target.startswith("tgw-"):
        if target not in backend.transit_gateways:
            raise EC2ClientError(
                "InvalidTransitGatewayID.NotFound", f"Transit gateway {target} does not exist"
            )
        if connection.vpn_gateway_id and ext.routes:
            raise EC2ClientError(
                "IncorrectState",
                f"The VPN connection {connection.id} has static routes "
                f"({', '.join(ext.routes)}): delete them (DeleteVpnConnectionRoute) before "
                "moving it to a transit gateway, and add them to its route table after",
            )
    else:
        gateway = backend.get_vpn_gateway(target)
        if gateway.state == "deleted":
            raise EC2ClientError("InvalidVpnGatewayID.NotFound", f"{target} does not exist")
        if ext.inside_ip_version == "ipv6" or ext.enable_acceleration:
            raise InvalidParameterValue(
                f"The VPN connection {connection.id} uses IPv6 tunnels or acceleration, which "
                "a virtual private gateway does not support"
            )
        live = [
            c
            for c in backend.vpn_connections.values()
            if c.state != "deleted" and c.vpn_gateway_id == target
        ]
        if len(live) >= MAX_CONNECTIONS_PER_VGW:
            raise EC2ClientError(
                "VpnConnectionLimitExceeded",
                f"{target} already has {MAX_CONNECTIONS_PER_VGW} VPN connections",
            )
    in_use = inside_cidrs_in_use(backend, target)
    for t in ext.tunnels:
        for cidr in (t.inside_cidr, t.inside_ipv6_cidr):
            if cidr and in_use.get(cidr, connection.id) != connection.id:
                raise InvalidParameterValue(
                    f"Tunnel inside CIDR {cidr} is already used by {in_use[cidr]} on {target}"
                )


def _move(backend: Any, connection: VPNConnection, ext: VpnExtension, target: str) -> None:
    old = _tgw_attachment(backend, connection.id)
    if old is not None:
        old.state = "deleted"
    if target.startswith("tgw-"):
        connection.transit_gateway_id, connection.vpn_gateway_id = target, None
        backend.create_transit_gateway_vpn_attachment(
            vpn_id=connection.id, transit_gateway_id=target
        )
        ext.aws_asn = int(backend.transit_gateways[target].options.get("AmazonSideAsn"))
    else:
        connection.vpn_gateway_id, connection.transit_gateway_id = target, None
        ext.aws_asn = int(backend.get_vpn_gateway(target).amazon_side_asn)


def modify_vpn_connection(
    self: Any,
    vpn_connection_id: str,
    transit_gateway_id: str | None = None,
    customer_gateway_id: str | None = None,
    vpn_gateway_id: str | None = None,
) -> VPNConnection:
    """ModifyVpnConnection: another customer gateway, or another VGW/TGW."""
    given = [x for x in (transit_gateway_id, customer_gateway_id, vpn_gateway_id) if x]
    if len(given) != 1:
        raise InvalidParameterValue(
            "ModifyVpnConnection takes exactly one of TransitGatewayId, CustomerGatewayId and "
            "VpnGatewayId"
        )
    connection, ext = live_connection(self, vpn_connection_id)
    _refuse_while_modifying(connection)
    if customer_gateway_id:
        cgw = self.get_customer_gateway(customer_gateway_id)
        if cgw.state == "deleted":
            raise EC2ClientError(
                "InvalidCustomerGatewayID.NotFound", f"{customer_gateway_id} does not exist"
            )
        check_vgw_customer_ip(self, connection.vpn_gateway_id, cgw, connection.id)
        connection.customer_gateway_id = customer_gateway_id
        ext.customer_ip, ext.customer_asn = cgw.ip_address, int(cgw.bgp_asn)
    else:
        target = str(transit_gateway_id or vpn_gateway_id)
        _check_move(self, connection, ext, target)
        _move(self, connection, ext, target)
    for t in ext.tunnels:
        _down(t)
    connection.__dict__[_PENDING] = "connection"
    return connection


def _tunnel_options_param(response: Any) -> dict[str, Any]:
    """The request's TunnelOptions, list members read from the query string."""
    prefix = "TunnelOptions."
    return tunnel_spec(
        {k[len(prefix) :]: v for k, v in response.querystring.items() if k.startswith(prefix)}
    )


def _resp_modify_vpn_tunnel_options(self: Any) -> ActionResult:
    connection = self.ec2_backend.modify_vpn_tunnel_options(
        self._get_param("VpnConnectionId"),
        self._get_param("VpnTunnelOutsideIpAddress"),
        _tunnel_options_param(self),
    )
    return ActionResult({"VpnConnection": connection})


def _resp_modify_vpn_connection(self: Any) -> ActionResult:
    connection = self.ec2_backend.modify_vpn_connection(
        self._get_param("VpnConnectionId"),
        transit_gateway_id=self._get_param("TransitGatewayId"),
        customer_gateway_id=self._get_param("CustomerGatewayId"),
        vpn_gateway_id=self._get_param("VpnGatewayId"),
    )
    return ActionResult({"VpnConnection": connection})


def patches() -> PatchTable:
    return [
        (VPNConnectionBackend, "modify_vpn_tunnel_options", modify_vpn_tunnel_options),
        (VPNConnectionBackend, "modify_vpn_connection", modify_vpn_connection),
        (VPNConnections, "modify_vpn_tunnel_options", _resp_modify_vpn_tunnel_options),
        (VPNConnections, "modify_vpn_connection", _resp_modify_vpn_connection),
    ]
