"""VPC route tables: VGW route propagation (EnableVgwRoutePropagation).

moto raises ``NotImplementedError`` for Enable/DisableVgwRoutePropagation. Here a route
table keeps its propagating VGWs, and ``DescribeRouteTables`` shows the prefixes a VGW
really learned: the static routes of its connections, or the BGP prefixes of an UP
tunnel, only while a tunnel of that connection is UP (as AWS does). A route created in
the table wins over an identical propagated one.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.route_tables import RouteBackend, RouteTable

from network.offline.aws.model import live_extensions
from network.offline.aws.patching import PatchTable, original

_KEY = "_crossnet_propagating"


def _propagating(route_table: RouteTable) -> list[str]:
    found: list[str] = route_table.__dict__.setdefault(_KEY, [])
    return found


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


def _propagating_vgws(self: RouteTable) -> list[dict[str, str]]:
    """``RouteTable.PropagatingVgws``."""
    return [{"GatewayId": gateway_id} for gateway_id in self.__dict__.get(_KEY, [])]


def _attached_vgw(route_table: RouteTable, gateway_id: str) -> bool:
    vpn_gateway = route_table.ec2_backend.vpn_gateways.get(gateway_id)
    if vpn_gateway is None or vpn_gateway.state == "deleted":
        return False
    attachment = vpn_gateway.attachments.get(route_table.vpc_id)
    return attachment is not None and attachment.state == "attached"


def vgw_prefixes(backend: Any, gateway_id: str) -> list[str]:
    """Every prefix a VGW learned from its live, UP connections, in connection order."""
    prefixes: list[str] = []
    for connection, ext in live_extensions(backend):
        if connection.vpn_gateway_id == gateway_id:
            prefixes.extend(p for p in ext.known_prefixes() if p not in prefixes)
    return prefixes


def _route_table_routes(self: RouteTable) -> list[Any]:
    """moto's routes plus the ones propagated from VGWs (Origin EnableVgwRoutePropagation)."""
    routes = list(original(RouteTable, "routes").fget(self))
    explicit = {r.destination_cidr_block for r in routes if r.destination_cidr_block}
    seen: set[str] = set()
    for gateway_id in self.__dict__.get(_KEY, []):
        if not _attached_vgw(self, gateway_id):
            continue
        for prefix in vgw_prefixes(self.ec2_backend, gateway_id):
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


def patches() -> PatchTable:
    """This area's patches (see ``install.area_patch_tables``)."""
    return [
        (RouteBackend, "enable_vgw_route_propagation", _enable_vgw_route_propagation),
        (RouteBackend, "disable_vgw_route_propagation", _disable_vgw_route_propagation),
        (RouteTable, "routes", property(_route_table_routes)),
        (RouteTable, "propagating_vgws", property(_propagating_vgws)),
    ]
