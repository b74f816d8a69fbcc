"""AWS's view of the tunnels (``VgwTelemetry``), driven by whoever ran the customer side.

Offline, nobody terminates AWS's end of a tunnel, so every tunnel is DOWN until
something that really ran the customer side (the network lab, a test) reports it. What
AWS then shows follows AWS's rules:

- a tunnel whose IPsec is down is ``DOWN`` with no accepted routes;
- on a BGP connection, IPsec up but no BGP session is ``DOWN`` with the status message
  ``IPSEC IS UP`` (what AWS shows for any BGP failure over a working tunnel);
- more than ``MAX_PREFIXES_FROM_CUSTOMER`` (100) prefixes from the customer side make AWS
  drop the BGP session: the same ``DOWN`` / ``IPSEC IS UP``, no routes;
- otherwise ``UP``, with ``AcceptedRouteCount`` the number of prefixes and the message
  ``N BGP ROUTES`` (empty for a static connection);
- ``LastStatusChange`` moves only when ``Status`` changes.

VGW propagation into VPC route tables and VPN propagation into TGW route tables read the
same state: only an UP tunnel's prefixes are propagated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from netaddr import IPNetwork

from network.aws_rules import MAX_PREFIXES_FROM_CUSTOMER, TUNNELS_PER_CONNECTION
from network.offline.aws.model import VpnExtension, VpnTunnel, extension_of


@dataclass(frozen=True)
class TunnelReport:
    """What the customer side saw on one tunnel.

    ``ipsec_up``: the IKE/IPsec SA is established. ``bgp_established``: the BGP session
    over it is up (ignored on a static connection). ``bgp_prefixes``: the prefixes the
    customer side advertised to AWS over that session.
    """

    ipsec_up: bool
    bgp_established: bool = True
    bgp_prefixes: tuple[str, ...] = field(default=())


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
            return str(attachment["TransitGatewayAttachmentId"])
    return None


def _extension(client: Any, vpn_connection_id: str) -> VpnExtension:
    from moto.ec2.models import ec2_backends

    region = client.meta.region_name
    for account_id in list(ec2_backends):
        backend = ec2_backends[account_id][region]
        connection = backend.vpn_connections.get(vpn_connection_id)
        ext = extension_of(connection) if connection is not None else None
        if ext is not None:
            return ext
    raise KeyError(f"no emulated VPN connection {vpn_connection_id} in {region}")


def _apply(ext: VpnExtension, state: VpnTunnel, report: TunnelReport, prefixes: list[str]) -> None:
    status, message, learned = "DOWN", "", []
    if report.ipsec_up and ext.static_routes_only:
        status = "UP"
    elif report.ipsec_up and report.bgp_established and len(prefixes) <= MAX_PREFIXES_FROM_CUSTOMER:
        status, message, learned = "UP", f"{len(prefixes)} BGP ROUTES", prefixes
    elif report.ipsec_up:
        message = "IPSEC IS UP"
    if status != state.status:
        state.last_status_change = datetime.now(UTC)
    state.status, state.status_message, state.learned_prefixes = status, message, learned


def report_tunnel(client: Any, vpn_connection_id: str, tunnel: int, report: TunnelReport) -> None:
    """Record what the customer side saw on tunnel 1 or 2 of a connection."""
    ext = _extension(client, vpn_connection_id)
    if tunnel not in range(1, TUNNELS_PER_CONNECTION + 1):
        raise ValueError(f"tunnel must be 1 or 2, not {tunnel}")
    prefixes = [str(IPNetwork(p).cidr) for p in report.bgp_prefixes]
    if prefixes and ext.static_routes_only:
        raise ValueError(f"{vpn_connection_id} is static-routes-only: it learns no BGP prefixes")
    _apply(ext, ext.tunnels[tunnel - 1], report, prefixes)


def report_connection(client: Any, vpn_connection_id: str, reports: Sequence[TunnelReport]) -> None:
    """Record both tunnels of a connection at once (``reports[0]`` is tunnel 1)."""
    if len(reports) != TUNNELS_PER_CONNECTION:
        raise ValueError(
            f"a VPN connection has {TUNNELS_PER_CONNECTION} tunnels, not {len(reports)}"
        )
    for number, report in enumerate(reports, start=1):
        report_tunnel(client, vpn_connection_id, number, report)


def set_tunnel_status(
    client: Any,
    vpn_connection_id: str,
    tunnel: int,
    *,
    up: bool,
    bgp_prefixes: Iterable[str] = (),
    bgp_established: bool = True,
) -> None:
    """Report one tunnel (1 or 2): IPsec ``up``, and the BGP prefixes advertised over it.

    A shorthand for :func:`report_tunnel`; see the module docstring for what AWS shows.
    """
    report_tunnel(
        client,
        vpn_connection_id,
        tunnel,
        TunnelReport(
            ipsec_up=up, bgp_established=bgp_established, bgp_prefixes=tuple(bgp_prefixes)
        ),
    )
