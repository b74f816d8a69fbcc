"""How each resource type is updated in place and deleted in the emulator: the EC2
calls behind `Lifecycle`'s decisions (network/offline/lifecycle.py), one entry per
pulumi-aws type. An update that AWS makes in place keeps the resource's ID; a type
missing here is refused by the lifecycle as "not emulated"."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from network.offline.aws import modify
from network.offline.lifecycle import RANDOM_PASSWORD, VPN, LifecycleError, pinned_ids
from network.offline.stack_state import StateResource

if TYPE_CHECKING:
    from network.offline.lifecycle import Lifecycle

# ---------------------------------------------------------------- per-type updates

# (pulumi-aws input suffix after "tunnelN", EC2 TunnelOptions member): the one map the
# mocks (create) and the lifecycle (ModifyVpnTunnelOptions) both translate with.
TUNNEL_OPTION_MAP = (
    ("InsideCidr", "TunnelInsideCidr"),
    ("InsideIpv6Cidr", "TunnelInsideIpv6Cidr"),
    ("PresharedKey", "PreSharedKey"),
    ("Phase1EncryptionAlgorithms", "Phase1EncryptionAlgorithms"),
    ("Phase1IntegrityAlgorithms", "Phase1IntegrityAlgorithms"),
    ("Phase1DhGroupNumbers", "Phase1DHGroupNumbers"),
    ("Phase1LifetimeSeconds", "Phase1LifetimeSeconds"),
    ("Phase2EncryptionAlgorithms", "Phase2EncryptionAlgorithms"),
    ("Phase2IntegrityAlgorithms", "Phase2IntegrityAlgorithms"),
    ("Phase2DhGroupNumbers", "Phase2DHGroupNumbers"),
    ("Phase2LifetimeSeconds", "Phase2LifetimeSeconds"),
    ("RekeyMarginTimeSeconds", "RekeyMarginTimeSeconds"),
    ("RekeyFuzzPercentage", "RekeyFuzzPercentage"),
    ("ReplayWindowSize", "ReplayWindowSize"),
    ("DpdTimeoutSeconds", "DPDTimeoutSeconds"),
    ("DpdTimeoutAction", "DPDTimeoutAction"),
    ("StartupAction", "StartupAction"),
    ("IkeVersions", "IKEVersions"),
)
_TUNNEL_PROPS = dict(TUNNEL_OPTION_MAP)
_LISTS = ("Algorithms", "Numbers", "IkeVersions")


def _tunnel_request(inputs: dict[str, Any], n: int, props: list[str]) -> dict[str, Any]:
    """ModifyVpnTunnelOptions' TunnelOptions for the changed inputs of tunnel `n`."""
    spec: dict[str, Any] = {}
    for p in props:
        src = p.removeprefix(f"tunnel{n}")
        dst = _TUNNEL_PROPS.get(src)
        if dst is None:
            raise LifecycleError(f"tunnel option {p}: updating it in place is not emulated")
        value = inputs.get(p)
        if src.endswith(_LISTS):
            value = [{"Value": v} for v in value or []]
        spec[dst] = value
    return spec


def _vpn_update(
    lc: Lifecycle, old: StateResource, inputs: dict[str, Any], changed: tuple[str, ...]
) -> dict[str, Any]:
    ec2 = lc.mocks.ec2(old.region)
    b = lc.mocks.backend(old.region)
    moves = [p for p in ("customerGatewayId", "vpnGatewayId", "transitGatewayId") if p in changed]
    for p in moves:
        if not inputs.get(p):
            continue  # the other gateway input, cleared by the move
        # What the provider does: ModifyVpnConnection, then wait until it is available.
        ec2.modify_vpn_connection(VpnConnectionId=old.id, **{p[0].upper() + p[1:]: inputs[p]})
        modify.settle(b, old.id)
    for n in (1, 2):
        props = [p for p in changed if p.startswith(f"tunnel{n}")]
        if not props:
            continue
        # One tunnel per request; the provider waits for each before the next.
        ec2.modify_vpn_tunnel_options(
            VpnConnectionId=old.id,
            VpnTunnelOutsideIpAddress=old.outputs[f"tunnel{n}Address"],
            TunnelOptions=_tunnel_request(inputs, n, props),
        )
        modify.settle(b, old.id)
    other = [p for p in changed if p not in moves and not p.startswith(("tunnel1", "tunnel2"))]
    if other:
        raise LifecycleError(
            f"{VPN} '{old.name}': updating {', '.join(other)} in place is not emulated"
        )
    return lc.mocks.vpn_state(old.region, old.id, inputs)


def _vgw_update(
    lc: Lifecycle, old: StateResource, inputs: dict[str, Any], changed: tuple[str, ...]
) -> dict[str, Any]:
    if changed != ("vpcId",):
        raise LifecycleError(
            f"VpnGateway '{old.name}': updating {', '.join(changed)} is not emulated"
        )
    ec2 = lc.mocks.ec2(old.region)
    if old.inputs.get("vpcId"):
        ec2.detach_vpn_gateway(VpcId=old.inputs["vpcId"], VpnGatewayId=old.id)
    if inputs.get("vpcId"):
        ec2.attach_vpn_gateway(VpcId=inputs["vpcId"], VpnGatewayId=old.id)
    return dict(old.outputs)


def _route_update(
    lc: Lifecycle, old: StateResource, inputs: dict[str, Any], changed: tuple[str, ...]
) -> dict[str, Any]:
    lc.mocks.backend(old.region).replace_route(
        inputs["routeTableId"],
        inputs["destinationCidrBlock"],
        gateway_id=inputs.get("gatewayId"),
        transit_gateway_id=inputs.get("transitGatewayId"),
        vpc_peering_connection_id=inputs.get("vpcPeeringConnectionId"),
    )
    return dict(old.outputs)


def _tgw_update(
    lc: Lifecycle, old: StateResource, inputs: dict[str, Any], changed: tuple[str, ...]
) -> dict[str, Any]:
    names = {
        "vpnEcmpSupport": "VpnEcmpSupport",
        "dnsSupport": "DnsSupport",
        "amazonSideAsn": "AmazonSideAsn",
    }
    unknown = [p for p in changed if p not in names and p != "description"]
    if unknown:
        raise LifecycleError(
            f"TransitGateway '{old.name}': updating {', '.join(unknown)} is not emulated"
        )
    if "amazonSideAsn" in changed:
        vpns = [
            c.id
            for c in lc.mocks.backend(old.region).vpn_connections.values()
            if c.state != "deleted" and c.transit_gateway_id == old.id
        ]
        if vpns:  # ModifyTransitGatewayOptions: not while a VPN is attached
            raise LifecycleError(
                f"TransitGateway '{old.name}': AWS said IncorrectState: the Amazon side ASN "
                f"cannot change while VPN attachments exist ({', '.join(vpns)})"
            )
    lc.mocks.backend(old.region).modify_transit_gateway(
        old.id,
        description=inputs.get("description"),
        options={names[p]: inputs.get(p) for p in changed if p in names},
    )
    return dict(old.outputs)


def _tgw_att_update(
    lc: Lifecycle, old: StateResource, inputs: dict[str, Any], changed: tuple[str, ...]
) -> dict[str, Any]:
    if changed != ("subnetIds",):
        raise LifecycleError(
            f"VpcAttachment '{old.name}': updating {', '.join(changed)} is not emulated"
        )
    before, after = set(old.inputs.get("subnetIds") or []), set(inputs.get("subnetIds") or [])
    lc.mocks.backend(old.region).modify_transit_gateway_vpc_attachment(
        old.id, add_subnet_ids=sorted(after - before), remove_subnet_ids=sorted(before - after)
    )
    return dict(old.outputs)


def _sg_rule_update(
    lc: Lifecycle, old: StateResource, inputs: dict[str, Any], changed: tuple[str, ...]
) -> dict[str, Any]:
    # ModifySecurityGroupRules keeps the rule's ID: revoke, and authorize it again under it.
    DELETES[old.type](lc, old)
    with pinned_ids({"sgr": old.id}):
        lc.mocks.handlers[old.type](inputs, old.region, old.name)
    return dict(old.outputs)


def _pcx_options_update(
    lc: Lifecycle, old: StateResource, inputs: dict[str, Any], changed: tuple[str, ...]
) -> dict[str, Any]:
    lc.mocks.handlers[old.type](inputs, old.region, old.name)
    return dict(old.outputs)


UPDATES: dict[
    str, Callable[[Lifecycle, StateResource, dict[str, Any], tuple[str, ...]], dict[str, Any]]
] = {
    VPN: _vpn_update,
    "aws:ec2/vpnGateway:VpnGateway": _vgw_update,
    "aws:ec2/route:Route": _route_update,
    "aws:ec2transitgateway/transitGateway:TransitGateway": _tgw_update,
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": _tgw_att_update,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _sg_rule_update,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _sg_rule_update,
    "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions": _pcx_options_update,
}


# ---------------------------------------------------------------- per-type deletes


def _revoke(lc: Lifecycle, r: StateResource) -> None:
    rule = lc.mocks._rule(r.inputs)
    args = {
        k: rule[k]
        for k in (
            "group_name_or_id",
            "ip_protocol",
            "from_port",
            "to_port",
            "ip_ranges",
            "source_groups",
            "prefix_list_ids",
        )
    }
    b = lc.mocks.backend(r.region)
    if r.type.endswith("IngressRule"):
        b.revoke_security_group_ingress(**args)
    else:
        b.revoke_security_group_egress(**args)


def _vgw_delete(lc: Lifecycle, r: StateResource) -> None:
    ec2 = lc.mocks.ec2(r.region)
    if r.inputs.get("vpcId"):
        ec2.detach_vpn_gateway(VpcId=r.inputs["vpcId"], VpnGatewayId=r.id)
    ec2.delete_vpn_gateway(VpnGatewayId=r.id)


def _vpn_delete(lc: Lifecycle, r: StateResource) -> None:
    b = lc.mocks.backend(r.region)
    b.delete_vpn_connection(r.id)
    for a in b.transit_gateway_attachments.values():
        if a.resource_id == r.id and a.resource_type == "vpn":
            a.state = "deleted"  # AWS deletes a VPN's TGW attachment with it


def _backend(
    call: Callable[[Any, StateResource], Any],
) -> Callable[[Lifecycle, StateResource], None]:
    def delete(lc: Lifecycle, r: StateResource) -> None:
        call(lc.mocks.backend(r.region), r)

    return delete


def _disable_propagation(b: Any, attachment: str, table: str) -> None:
    """DisableTransitGatewayRouteTablePropagation for one table. moto keeps one
    propagation record per attachment, so its own call fails for an attachment
    that propagates to several tables (prod's VPNs): the table's list is the truth."""
    b.disable_route_table_propagation(
        transit_gateway_attachment_id=attachment, transit_gateway_route_table_id=table
    )
    still = any(
        p.transitGatewayAttachmentId == attachment
        for t in b.transit_gateways_route_tables.values()
        for p in t.route_table_propagation
    )
    if not still and attachment in b.transit_gateway_propagations:
        b.disable_attachment_propagation(transit_gateway_attachment_id=attachment)
        b.transit_gateway_propagations.pop(attachment)


def _nothing(lc: Lifecycle, r: StateResource) -> None:
    """Deleting this resource changes nothing in AWS (a password; an accepter, options)."""


DELETES: dict[str, Callable[[Lifecycle, StateResource], None]] = {
    "aws:ec2/vpc:Vpc": _backend(lambda b, r: b.delete_vpc(r.id)),
    "aws:ec2/subnet:Subnet": _backend(lambda b, r: b.delete_subnet(r.id)),
    "aws:ec2/routeTable:RouteTable": _backend(lambda b, r: b.delete_route_table(r.id)),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _backend(
        lambda b, r: b.disassociate_route_table(r.id)
    ),
    "aws:ec2/securityGroup:SecurityGroup": _backend(
        lambda b, r: b.delete_security_group(group_id=r.id)
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _revoke,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _revoke,
    "aws:ec2/vpnGateway:VpnGateway": _vgw_delete,
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": _backend(
        lambda b, r: b.disable_vgw_route_propagation(
            r.inputs["routeTableId"], r.inputs["vpnGatewayId"]
        )
    ),
    "aws:ec2/customerGateway:CustomerGateway": _backend(
        lambda b, r: b.delete_customer_gateway(r.id)
    ),
    VPN: _vpn_delete,
    "aws:ec2/vpnConnectionRoute:VpnConnectionRoute": _backend(
        lambda b, r: b.delete_vpn_connection_route(
            r.inputs["vpnConnectionId"], r.inputs["destinationCidrBlock"]
        )
    ),
    "aws:ec2/route:Route": _backend(
        lambda b, r: b.delete_route(r.inputs["routeTableId"], r.inputs["destinationCidrBlock"])
    ),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": _backend(
        lambda b, r: b.delete_vpc_peering_connection(r.id)
    ),
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": _nothing,
    "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions": _nothing,
    "aws:ec2transitgateway/transitGateway:TransitGateway": _backend(
        lambda b, r: b.delete_transit_gateway(r.id)
    ),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": _backend(
        lambda b, r: b.delete_transit_gateway_vpc_attachment(r.id)
    ),
    "aws:ec2transitgateway/routeTable:RouteTable": _backend(
        lambda b, r: b.delete_transit_gateway_route_table(r.id)
    ),
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": _backend(
        lambda b, r: b.disassociate_transit_gateway_route_table(
            r.inputs["transitGatewayAttachmentId"], r.inputs["transitGatewayRouteTableId"]
        )
    ),
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": _backend(
        lambda b, r: _disable_propagation(
            b, r.inputs["transitGatewayAttachmentId"], r.inputs["transitGatewayRouteTableId"]
        )
    ),
    "aws:ec2transitgateway/route:Route": _backend(
        lambda b, r: b.delete_transit_gateway_route(
            r.inputs["transitGatewayRouteTableId"], r.inputs["destinationCidrBlock"]
        )
    ),
    RANDOM_PASSWORD: _nothing,
}
