"""Response handlers: the query-API side of the emulator's operations.

Most handlers only read a few request parameters, call the backend operation of the
same name and answer with an empty result; they are built from :data:`SIMPLE_HANDLERS`.
The two that do more (CreateVpnConnection reads ``Options`` by position,
CreateCustomerGateway reads ``BgpAsnExtended``) are written out.

Another module adding operations builds its own rows with :class:`Handler` and passes
them to :func:`handler_patches` in its own ``patches()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.responses.customer_gateways import CustomerGateways
from moto.ec2.responses.route_tables import RouteTables
from moto.ec2.responses.vpn_connections import VPNConnections
from moto.ec2.utils import add_tag_specification

from network.offline.aws.patching import Patch, PatchTable


@dataclass(frozen=True)
class Handler:
    """A response method that passes request parameters to a backend method of its name.

    ``params`` are the request parameter names, in the order of the backend's
    positional arguments; the answer is an empty result.
    """

    owner: type
    action: str
    params: tuple[str, ...]


def _simple(action: str, params: tuple[str, ...]) -> Callable[[Any], EmptyResult]:
    def handler(self: Any) -> EmptyResult:
        getattr(self.ec2_backend, action)(*(self._get_param(p) for p in params))
        return EmptyResult()

    handler.__name__ = action
    handler.__doc__ = f"{action}({', '.join(params)}) on the backend; empty answer."
    return handler


def handler_patches(rows: Iterable[Handler]) -> list[Patch]:
    """The patches that install table-driven handlers."""
    return [(row.owner, row.action, _simple(row.action, row.params)) for row in rows]


SIMPLE_HANDLERS = (
    Handler(
        VPNConnections, "create_vpn_connection_route", ("VpnConnectionId", "DestinationCidrBlock")
    ),
    Handler(
        VPNConnections, "delete_vpn_connection_route", ("VpnConnectionId", "DestinationCidrBlock")
    ),
    Handler(RouteTables, "enable_vgw_route_propagation", ("RouteTableId", "GatewayId")),
    Handler(RouteTables, "disable_vgw_route_propagation", ("RouteTableId", "GatewayId")),
)


# Serialized names of the request lists in VpnTunnelOptionsSpecification (botocore's
# queryName/locationName) -> the member names the rest of this package uses.
_TUNNEL_LIST_PARAMS = {
    "Phase1EncryptionAlgorithm": "Phase1EncryptionAlgorithms",
    "Phase2EncryptionAlgorithm": "Phase2EncryptionAlgorithms",
    "Phase1IntegrityAlgorithm": "Phase1IntegrityAlgorithms",
    "Phase2IntegrityAlgorithm": "Phase2IntegrityAlgorithms",
    "Phase1DHGroupNumber": "Phase1DHGroupNumbers",
    "Phase2DHGroupNumber": "Phase2DHGroupNumbers",
    "IKEVersion": "IKEVersions",
}
_TUNNEL_PREFIX = "Options.TunnelOptions."


def _flat_tunnel_params(querystring: dict[str, list[str]]) -> dict[int, dict[str, list[str]]]:
    flat: dict[int, dict[str, list[str]]] = {}
    for key, values in querystring.items():
        if key.startswith(_TUNNEL_PREFIX):
            index, _, rest = key[len(_TUNNEL_PREFIX) :].partition(".")
            if index.isdigit():
                flat.setdefault(int(index), {})[rest] = values
    return flat


def tunnel_spec(params: dict[str, list[str]]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    lists: dict[str, dict[int, str]] = {}
    for rest, values in params.items():
        parts = rest.split(".")
        if len(parts) == 1:
            spec[parts[0]] = values[0]
        elif parts[0] in _TUNNEL_LIST_PARAMS and len(parts) == 3 and parts[1].isdigit():
            lists.setdefault(_TUNNEL_LIST_PARAMS[parts[0]], {})[int(parts[1])] = values[0]
        # Anything else (LogOptions, additional key exchanges) has no offline effect.
    for name, items in lists.items():
        spec[name] = [{"Value": items[i]} for i in sorted(items)]
    return spec


def request_options(response: Any) -> dict[str, Any]:
    """CreateVpnConnection's ``Options``, with TunnelOptions read by position.

    A tunnel without options serializes to nothing, so a request that only sets tunnel
    2 carries ``Options.TunnelOptions.2.*`` and no index 1. AWS reads that as tunnel 2;
    moto's parser drops the whole list. So TunnelOptions is rebuilt from the query
    string, index by index.
    """
    options = dict(response._get_param("Options") or {})
    flat = _flat_tunnel_params(response.querystring)
    if flat:
        options["TunnelOptions"] = [
            tunnel_spec(flat.get(index, {})) for index in range(1, max(flat) + 1)
        ]
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
        options=request_options(self),
    )
    if connection.transit_gateway_id:
        # As in moto: a VPN on a TGW gets a TGW attachment of resource type "vpn".
        self.ec2_backend.create_transit_gateway_vpn_attachment(
            vpn_id=connection.id, transit_gateway_id=tgw_id
        )
    return ActionResult({"VpnConnection": connection})


def _resp_create_customer_gateway(self: Any) -> ActionResult:
    """CreateCustomerGateway, passing ``BgpAsnExtended`` too (moto reads only BgpAsn)."""
    customer_gateway = self.ec2_backend.create_customer_gateway(
        self._get_param("Type"),
        ip_address=self._get_param("IpAddress") or self._get_param("PublicIp"),
        bgp_asn=self._get_param("BgpAsn"),
        tags=self._parse_tag_specification().get("customer-gateway", {}),
        bgp_asn_extended=self._get_param("BgpAsnExtended"),
    )
    return ActionResult({"CustomerGateway": customer_gateway})


def patches() -> PatchTable:
    """This area's patches (see ``install.area_patch_tables``)."""
    return [
        (VPNConnections, "create_vpn_connection", _resp_create_vpn_connection),
        (CustomerGateways, "create_customer_gateway", _resp_create_customer_gateway),
        *handler_patches(SIMPLE_HANDLERS),
    ]
