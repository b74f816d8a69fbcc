"""Which input changes replace a resource crossnet declares, and where that is written (pure).

pulumi-aws is bridged from the Terraform AWS provider: an argument the
provider marks `ForceNew` makes Pulumi replace the resource (by default it
creates the new one first, then deletes the old). For a VPN connection a
replacement means new AWS outside addresses and new pre-shared keys: every
router on it must be reconfigured. `checked=True` marks the entries read in the
provider's source at the commit in `source`; the others are the same
provider's `ForceNew` arguments as documented, not re-read for this table.

Changes not listed here are updates in place. The notable ones for routers are
in `IN_PLACE`: AWS applies them with ModifyVpnConnection or
ModifyVpnTunnelOptions, tunnel by tunnel, and the connection keeps its outside
addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

_TF = "https://github.com/hashicorp/terraform-provider-aws/blob"


@dataclass(frozen=True)
class ReplaceRule:
    """The inputs of one resource type whose change replaces it."""

    type: str
    props: tuple[str, ...]
    source: str
    checked: bool
    note: str = ""


REPLACE_ON_CHANGE: dict[str, ReplaceRule] = {r.type: r for r in (
    ReplaceRule(
        "aws:ec2/vpnConnection:VpnConnection",
        ("type", "staticRoutesOnly", "enableAcceleration", "tunnelInsideIpVersion",
         "tunnel1InsideCidr", "tunnel2InsideCidr", "tunnel1InsideIpv6Cidr",
         "tunnel2InsideIpv6Cidr"),
        f"{_TF}/050ac11163cab8cdae5936a7f40b0e528ff780df/internal/service/ec2/"
        "vpnsite_connection.go (aws_vpn_connection: ForceNew)", True,
        "customerGatewayId, vpnGatewayId and transitGatewayId are updated in place "
        "(ModifyVpnConnection); tunnel options and keys too (ModifyVpnTunnelOptions). AWS's "
        "API could change an inside CIDR in place, but the provider replaces the connection."),
    ReplaceRule(
        "aws:ec2/customerGateway:CustomerGateway",
        ("bgpAsn", "ipAddress", "type", "deviceName", "certificateArn"),
        f"{_TF}/2c2f2cff19676abb6439cfd4e25f7b33cc721052/internal/service/ec2/"
        "customer_gateway.go (aws_customer_gateway: ForceNew)", True,
        "only tags update in place"),
    ReplaceRule(
        "aws:ec2/vpnGateway:VpnGateway", ("amazonSideAsn", "availabilityZone"),
        f"{_TF}/03412d530417901a6e5360333350b8d3c802cece/internal/service/ec2/"
        "vpnsite_gateway.go (aws_vpn_gateway: ForceNew)", True,
        "vpcId updates in place (detach, attach)"),
    ReplaceRule(
        "aws:ec2transitgateway/transitGateway:TransitGateway",
        ("amazonSideAsn", "multicastSupport"),
        f"{_TF}/0095e263c2e15a80770dd8244c027faf3e1085a6/internal/service/ec2/"
        "transitgateway_.go (aws_ec2_transit_gateway: ForceNew)", True,
        "vpnEcmpSupport updates in place (ModifyTransitGateway); later provider versions may "
        "modify amazonSideAsn in place too: treated as a replacement here, the safe reading"),
    ReplaceRule(
        "aws:ec2/subnet:Subnet", ("availabilityZone", "cidrBlock", "vpcId"),
        f"{_TF}/00cda125a19d31754cb0d073cf551264c57955cb/internal/service/ec2/"
        "vpc_subnet.go (aws_subnet: ForceNew)", True),
    ReplaceRule(
        "aws:ec2/vpnConnectionRoute:VpnConnectionRoute",
        ("destinationCidrBlock", "vpnConnectionId"),
        f"{_TF}/01f431114674c27cf790fafb67ac274bf8f765e1/internal/service/ec2/"
        "vpnsite_connection_route.go (aws_vpn_connection_route: ForceNew)", True),
    ReplaceRule(
        "aws:ec2/vpc:Vpc", ("cidrBlock",),
        "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html (a VPC's "
        "primary CIDR cannot change); aws_vpc cidr_block is ForceNew", False),
    ReplaceRule(
        "aws:ec2/securityGroup:SecurityGroup", ("vpcId", "name", "description"),
        f"{_TF}/main/internal/service/ec2/vpc_security_group.go (ForceNew; rules declared "
        "as their own resources are added and removed one by one)", False),
    ReplaceRule(
        "aws:ec2/routeTable:RouteTable", ("vpcId",),
        f"{_TF}/main/internal/service/ec2/vpc_route_table.go (vpc_id: ForceNew)", False),
    ReplaceRule(
        "aws:ec2/route:Route",
        ("routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock"),
        f"{_TF}/main/internal/service/ec2/vpc_route.go (route_table_id, destination: "
        "ForceNew; the target updates in place)", False),
    ReplaceRule(
        "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation",
        ("vpnGatewayId", "routeTableId"),
        f"{_TF}/main/internal/service/ec2/vpnsite_gateway_route_propagation.go (ForceNew)",
        False),
    ReplaceRule(
        "aws:ec2transitgateway/vpcAttachment:VpcAttachment", ("transitGatewayId", "vpcId"),
        f"{_TF}/main/internal/service/ec2/transitgateway_vpc_attachment.go (ForceNew; "
        "subnetIds update in place)", False),
    ReplaceRule(
        "aws:ec2transitgateway/routeTable:RouteTable", ("transitGatewayId",),
        f"{_TF}/main/internal/service/ec2/transitgateway_route_table.go (ForceNew)", False),
    ReplaceRule(
        "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
        ("transitGatewayAttachmentId", "transitGatewayRouteTableId"),
        f"{_TF}/main/internal/service/ec2/transitgateway_route_table_association.go "
        "(ForceNew)", False),
    ReplaceRule(
        "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation",
        ("transitGatewayAttachmentId", "transitGatewayRouteTableId"),
        f"{_TF}/main/internal/service/ec2/transitgateway_route_table_propagation.go "
        "(ForceNew)", False),
    ReplaceRule(
        "aws:ec2transitgateway/route:Route",
        ("destinationCidrBlock", "transitGatewayRouteTableId", "transitGatewayAttachmentId",
         "blackhole"),
        f"{_TF}/main/internal/service/ec2/transitgateway_route.go (ForceNew)", False),
    ReplaceRule(
        "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
        ("vpcId", "peerVpcId", "peerRegion", "peerOwnerId"),
        f"{_TF}/main/internal/service/ec2/vpc_peering_connection.go (ForceNew)", False),
    ReplaceRule(
        "random:index/randomPassword:RandomPassword",
        ("length", "special", "numeric", "upper", "lower", "keepers"),
        "https://github.com/pulumi/pulumi-random (every input of RandomPassword forces a new "
        "value)", False),
)}

# In-place updates that still touch the datacenter routers, and what AWS does.
IN_PLACE: dict[str, dict[str, str]] = {
    "aws:ec2/vpnConnection:VpnConnection": {
        "customerGatewayId": "ModifyVpnConnection moves the connection to the new customer "
                             "gateway; its tunnels drop while AWS does it",
        "vpnGatewayId": "ModifyVpnConnection moves the connection to another gateway (AWS "
                        "API reference); the tunnels drop while it does, and from a VGW with "
                        "static routes to a TGW the static routes must go first",
        "transitGatewayId": "ModifyVpnConnection moves the connection to another gateway; the "
                            "tunnels drop while it does",
        "tunnelNPresharedKey": "ModifyVpnTunnelOptions changes the key tunnel by tunnel: each "
                               "tunnel is down until the router has the new key",
        "tunnelN<options>": "ModifyVpnTunnelOptions changes the tunnel options tunnel by "
                            "tunnel: each tunnel restarts, and stays down until the router "
                            "proposes what AWS now accepts",
    },
}


def replaces(type_: str, prop: str) -> bool:
    """True when changing input `prop` of a `type_` resource replaces it."""
    rule = REPLACE_ON_CHANGE.get(type_)
    return rule is not None and prop in rule.props


def source_of(type_: str) -> str:
    rule = REPLACE_ON_CHANGE.get(type_)
    return rule.source if rule else "not in the table: updated in place"
