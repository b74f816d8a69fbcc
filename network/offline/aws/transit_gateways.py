"""Transit gateway route tables: static routes as AWS keeps them, and VPN propagation.

moto keeps no propagated routes at all. AWS puts in a TGW route table the prefixes
that a propagating VPN attachment learned over BGP, only while one of that connection's
tunnels is UP; a static route of the table wins over an identical propagated one, and a
prefix learned on several attachments (ECMP) is one route naming each attachment.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.transit_gateway_route_tables import TransitGatewayRouteTableBackend

from network.offline.aws.model import live_extensions
from network.offline.aws.patching import PatchTable, original


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
    route: dict[str, Any] = original(
        TransitGatewayRouteTableBackend, "create_transit_gateway_route"
    )(
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


def _vpn_attachment_prefixes(backend: Any, attachment_id: str) -> list[str]:
    attachment = backend.transit_gateway_attachments.get(attachment_id)
    if attachment is None or attachment.resource_type != "vpn" or attachment.state != "available":
        return []
    for connection, ext in live_extensions(backend):
        if connection.id == attachment.resource_id:
            return ext.known_prefixes()
    return []


def propagated_routes(backend: Any, table: Any) -> dict[str, dict[str, Any]]:
    """CIDR -> propagated route of a TGW route table, in moto's internal route shape."""
    routes: dict[str, dict[str, Any]] = {}
    for propagation in table.route_table_propagation:
        attachment_id = propagation.transitGatewayAttachmentId
        for prefix in _vpn_attachment_prefixes(backend, attachment_id):
            if prefix in table.routes:
                continue  # the table's static route wins
            route = routes.setdefault(
                prefix,
                {
                    "destinationCidrBlock": prefix,
                    "prefixListId": None,
                    "state": "active",
                    "type": "propagated",
                    "transitGatewayAttachments": [],
                },
            )
            route["transitGatewayAttachments"].append(
                {
                    "resourceId": propagation.resourceId,
                    "resourceType": propagation.resourceType,
                    "transitGatewayAttachmentId": attachment_id,
                }
            )
    return routes


# SearchTransitGatewayRoutes filter -> route key (those moto supports).
_FILTERS = (
    ("type", "type"),
    ("state", "state"),
    ("route-search.exact-match", "destinationCidrBlock"),
)


def _search_transit_gateway_routes(
    self: Any,
    transit_gateway_route_table_id: str,
    filters: Any,
    max_results: int | None = None,
) -> list[dict[str, Any]]:
    """moto's SearchTransitGatewayRoutes, with the routes VPN attachments propagate."""
    found: list[dict[str, Any]] = original(
        TransitGatewayRouteTableBackend, "search_transit_gateway_routes"
    )(self, transit_gateway_route_table_id, filters, None)
    table = self.transit_gateways_route_tables.get(transit_gateway_route_table_id)
    if table is not None:
        for route in propagated_routes(self, table).values():
            if all(
                route.get(key) in (filters.get(name) or [route.get(key)]) for name, key in _FILTERS
            ):
                found.append(route)
    return found[: int(max_results)] if max_results else found


def patches() -> PatchTable:
    """This area's patches (see ``install.area_patch_tables``)."""
    return [
        (
            TransitGatewayRouteTableBackend,
            "create_transit_gateway_route",
            _create_transit_gateway_route,
        ),
        (
            TransitGatewayRouteTableBackend,
            "search_transit_gateway_routes",
            _search_transit_gateway_routes,
        ),
    ]
