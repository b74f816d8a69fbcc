"""Which input changes replace a resource crossnet declares, and where that is written (pure).

pulumi-aws is bridged from the Terraform AWS provider (terraform-provider-aws):
an argument the provider marks `ForceNew` (`RequiresReplace` in its
plugin-framework resources) makes Pulumi replace the resource. By default
Pulumi creates the replacement first and deletes the old one after. For a VPN
connection a replacement means new AWS outside addresses for both tunnels:
every router on it must be reconfigured.

Which provider? pulumi-aws does not record the upstream version it bundles.
The table is read for pulumi-aws 7.51.1 (`CHECKED_PULUMI_AWS`), which ships
resources first released in terraform-provider-aws v6.31.0, so it bundles
v6.31.0 or later (`CHECKED_UPSTREAM`). Inputs whose behaviour changed within the
upstream versions pulumi-aws 7 has bundled (7.0.0 bundled v6.3.0) carry an
`InPlaceSince`: older providers replace, newer ones update in place.
`provider_upstream()` says which applies to the pulumi-aws installed here.

`checked=True` marks the entries read in the provider's source at the commit
in `source` (or in its CHANGELOG at the release named); the others are the
same provider's `ForceNew` arguments as documented, pinned to the file they
live in but not re-read for this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import metadata

_TF = "https://github.com/hashicorp/terraform-provider-aws"
_SRC = f"{_TF}/blob"

# The pulumi-aws release this table was read for, and the oldest upstream it can
# bundle: it ships ssoadmin.CustomerManagedPolicyAttachmentsExclusive, new in
# terraform-provider-aws v6.31.0 (CHANGELOG, February 4, 2026), and
# secretsmanager.Tag and dynamodb.GlobalSecondaryIndex, new in v6.28.0.
CHECKED_PULUMI_AWS = "7.51.1"
CHECKED_UPSTREAM = "6.31.0"
PROVIDER_EVIDENCE = (
    f"pulumi-aws {CHECKED_PULUMI_AWS} ships ssoadmin.CustomerManagedPolicyAttachmentsExclusive, "
    "first released in terraform-provider-aws v6.31.0 "
    f"({_SRC}/v6.31.0/CHANGELOG.md), so it bundles v6.31.0 or later; the package records "
    "no upstream version. pulumi-aws 7.0.0 bundled v6.3.0 "
    "(https://github.com/pulumi/pulumi-aws/pull/5654)"
)


@dataclass(frozen=True)
class InPlaceSince:
    """An input that replaces the resource in older providers, and updates it in place since."""

    version: str  # the terraform-provider-aws release that made it an update
    source: str
    how: str  # what AWS does when it is updated in place


@dataclass(frozen=True)
class ReplaceRule:
    """The inputs of one resource type whose change replaces it."""

    type: str
    props: tuple[str, ...]  # replace in every provider pulumi-aws 7 bundles
    source: str
    checked: bool
    note: str = ""
    in_place_since: dict[str, InPlaceSince] = field(default_factory=dict)


_INSIDE_CIDR = InPlaceSince(
    "6.28.0",
    f"{_TF}/pull/45781 (closes #45663), terraform-provider-aws CHANGELOG 6.28.0 (January 7, "
    f"2026): {_SRC}/v6.28.0/CHANGELOG.md",
    "ModifyVpnTunnelOptions changes that tunnel alone: it is down until the router uses the "
    "new inside addresses; the outside address and the key stay",
)
_TGW_ASN = InPlaceSince(
    "4.37.0",
    f"{_TF}/pull/27306, terraform-provider-aws CHANGELOG 4.37.0 (October 27, 2022): "
    f"{_SRC}/v4.37.0/CHANGELOG.md",
    "ModifyTransitGateway, which AWS refuses while the transit gateway has a VPN, Direct "
    "Connect gateway or Connect attachment (API reference, ModifyTransitGatewayOptions "
    "AmazonSideAsn: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/"
    "API_ModifyTransitGatewayOptions.html)",
)

REPLACE_ON_CHANGE: dict[str, ReplaceRule] = {
    r.type: r
    for r in (
        ReplaceRule(
            "aws:ec2/vpnConnection:VpnConnection",
            (
                "type",
                "staticRoutesOnly",
                "enableAcceleration",
                "tunnelInsideIpVersion",
                "tunnelBandwidth",
                "vpnConcentratorId",
                "presharedKeyStorage",
            ),
            f"{_SRC}/050ac11163cab8cdae5936a7f40b0e528ff780df/internal/service/ec2/"
            "vpnsite_connection.go (type, static_routes_only, enable_acceleration, "
            "tunnel_inside_ip_version: ForceNew); tunnel_bandwidth: ForceNew until "
            f"{_TF}/pull/47843 (open in May 2026) lands",
            True,
            "customerGatewayId, vpnGatewayId and transitGatewayId are updated in place "
            "(ModifyVpnConnection: both tunnels down while AWS provisions the new endpoints; the "
            "outside addresses and tunnel options stay); tunnel options and keys too "
            "(ModifyVpnTunnelOptions, the modified tunnel is down). Not pinned here, so treated "
            "as replacing: vpnConcentratorId (added in v6.23.0, "
            f"{_TF}/pull/45175) and presharedKeyStorage (an open PR, {_TF}/pull/42819, would "
            "update it with ModifyVpnTunnelOptions)",
            in_place_since={
                p: _INSIDE_CIDR
                for p in (
                    "tunnel1InsideCidr",
                    "tunnel2InsideCidr",
                    "tunnel1InsideIpv6Cidr",
                    "tunnel2InsideIpv6Cidr",
                )
            },
        ),
        ReplaceRule(
            "aws:ec2/customerGateway:CustomerGateway",
            ("bgpAsn", "bgpAsnExtended", "ipAddress", "type", "deviceName", "certificateArn"),
            f"{_SRC}/574f126b7667c4381975d29fabb4aef35324c74d/internal/service/ec2/"
            "customer_gateway.go (every argument ForceNew: EC2 has no API that modifies a "
            f"customer gateway); bgp_asn_extended added in v5.53.0 ({_TF}/pull/37815), ForceNew "
            "likewise",
            True,
            "only tags update in place",
        ),
        ReplaceRule(
            "aws:ec2/vpnGateway:VpnGateway",
            ("amazonSideAsn", "availabilityZone"),
            f"{_SRC}/a24b7f2d73fd1843ed8ee15788f388196adec642/internal/service/ec2/"
            "vpnsite_gateway.go (amazon_side_asn, availability_zone: ForceNew; EC2 has no API "
            "that changes a VGW's ASN)",
            True,
            "vpcId updates in place (detach, attach). A VPC takes one VGW at a time "
            "(AttachVpnGateway), so the replacement Pulumi creates first cannot attach while "
            "the old VGW is attached",
        ),
        ReplaceRule(
            "aws:ec2transitgateway/transitGateway:TransitGateway",
            ("multicastSupport",),
            f"{_SRC}/5c58e0c2b9ff434d647f71c6b505f655b561ae21/internal/service/ec2/"
            "transitgateway_.go (multicast_support: ForceNew; default_route_table_association "
            "and _propagation replace when changed from disable to enable)",
            True,
            "vpnEcmpSupport updates in place (ModifyTransitGateway); amazonSideAsn too since "
            "v4.37.0, but AWS refuses it while VPN attachments exist",
            in_place_since={"amazonSideAsn": _TGW_ASN},
        ),
        ReplaceRule(
            "aws:ec2/subnet:Subnet",
            (
                "availabilityZone",
                "availabilityZoneId",
                "cidrBlock",
                "vpcId",
                "ipv6Native",
                "outpostArn",
            ),
            f"{_SRC}/3db496c3ef13bcbf12b401ce6f353c55b76701fa/internal/service/ec2/"
            "vpc_subnet.go (ForceNew)",
            True,
        ),
        ReplaceRule(
            "aws:ec2/route:Route",
            (
                "routeTableId",
                "destinationCidrBlock",
                "destinationIpv6CidrBlock",
                "destinationPrefixListId",
            ),
            f"{_SRC}/c49358f89b43a4d9c8e533cd0610cd72cbd11eb3/internal/service/ec2/"
            "vpc_route.go (route table and destination: ForceNew)",
            True,
            "the target (transitGatewayId, vpcPeeringConnectionId, gatewayId) updates in place "
            "(ReplaceRoute)",
        ),
        ReplaceRule(
            "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
            ("vpcId", "peerVpcId", "peerRegion", "peerOwnerId"),
            f"{_SRC}/f1750b8668f2771f28931e8ed4c1fa564b83e4d1/internal/service/ec2/"
            "vpc_peering_connection.go (ForceNew)",
            True,
            "autoAccept and the accepter/requester options update in place "
            "(ModifyVpcPeeringConnectionOptions)",
        ),
        ReplaceRule(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            ("securityGroupId",),
            f"{_SRC}/d2b7f56a7c451244abd1e467109ba703bd9eedd3/internal/service/ec2/"
            "vpc_security_group_ingress_rule.go (security_group_id: RequiresReplace; a change of "
            "source kind, e.g. cidrIpv4 to prefixListId, replaces too)",
            True,
            "ports, protocol, CIDR and description update in place (ModifySecurityGroupRules); "
            "the egress rule resource is the same code",
        ),
        ReplaceRule(
            "aws:ec2/vpnConnectionRoute:VpnConnectionRoute",
            ("destinationCidrBlock", "vpnConnectionId"),
            f"{_SRC}/01f431114674c27cf790fafb67ac274bf8f765e1/internal/service/ec2/"
            "vpnsite_connection_route.go (ForceNew)",
            True,
        ),
        ReplaceRule(
            "aws:ec2/vpc:Vpc",
            ("cidrBlock",),
            f"{_SRC}/0b2fe557fcd2f76a61115fd075cd28fcd2fe050d/internal/service/ec2/vpc_.go "
            "(cidr_block: ForceNew; a VPC's primary CIDR cannot change: "
            "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html)",
            False,
        ),
        ReplaceRule(
            "aws:ec2/securityGroup:SecurityGroup",
            ("vpcId", "name", "namePrefix", "description"),
            f"{_SRC}/cc0fff0ee90634c6bb137ec44732684543b68dbe/internal/service/ec2/"
            "vpc_security_group.go (ForceNew)",
            False,
            "crossnet declares each datacenter flow as its own rule resource; the table of "
            "resources summarises them as the group's `ingress`",
        ),
        ReplaceRule(
            "aws:ec2/routeTable:RouteTable",
            ("vpcId",),
            f"{_SRC}/bbb4af8736c1da565708c36f6eceda54a1062731/internal/service/ec2/"
            "vpc_route_table.go (vpc_id: ForceNew)",
            False,
        ),
        ReplaceRule(
            "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation",
            ("vpnGatewayId", "routeTableId"),
            f"{_SRC}/4c72bcc7dc2f5ace40ce61f2a90e12a62cf4ec9a/internal/service/ec2/"
            "vpnsite_gateway_route_propagation.go (no update: every argument replaces)",
            False,
        ),
        ReplaceRule(
            "aws:ec2transitgateway/vpcAttachment:VpcAttachment",
            ("transitGatewayId", "vpcId"),
            f"{_SRC}/f1750b8668f2771f28931e8ed4c1fa564b83e4d1/internal/service/ec2/"
            "transitgateway_vpc_attachment.go (ForceNew)",
            False,
            "subnetIds update in place",
        ),
        ReplaceRule(
            "aws:ec2transitgateway/routeTable:RouteTable",
            ("transitGatewayId",),
            f"{_SRC}/86475b48ed749daf986b84c0f92591eddcced1ba/internal/service/ec2/"
            "transitgateway_route_table.go (ForceNew)",
            False,
        ),
        ReplaceRule(
            "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
            ("transitGatewayAttachmentId", "transitGatewayRouteTableId"),
            f"{_SRC}/6286e3f168c804f427704546f0e2c6f1a683f8f6/internal/service/ec2/"
            "transitgateway_route_table_association.go (ForceNew)",
            False,
        ),
        ReplaceRule(
            "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation",
            ("transitGatewayAttachmentId", "transitGatewayRouteTableId"),
            f"{_SRC}/86475b48ed749daf986b84c0f92591eddcced1ba/internal/service/ec2/"
            "transitgateway_route_table_propagation.go (ForceNew)",
            False,
        ),
        ReplaceRule(
            "aws:ec2transitgateway/route:Route",
            (
                "destinationCidrBlock",
                "transitGatewayRouteTableId",
                "transitGatewayAttachmentId",
                "blackhole",
            ),
            f"{_SRC}/3cdebe9581b24f1fb9f059af76f6e2e36d520776/internal/service/ec2/"
            "transitgateway_route.go (no update: every argument replaces)",
            False,
        ),
        ReplaceRule(
            "random:index/randomPassword:RandomPassword",
            ("length", "special", "numeric", "upper", "lower", "keepers"),
            "https://github.com/pulumi/pulumi-random (every input of RandomPassword forces a new "
            "value)",
            False,
        ),
    )
}

# In-place updates that still touch the datacenter routers, and what AWS does.
# Tunnel impact: https://docs.aws.amazon.com/vpn/latest/s2svpn/endpoint-replacements.html
IN_PLACE: dict[str, dict[str, str]] = {
    "aws:ec2/vpnConnection:VpnConnection": {
        "customerGatewayId": "ModifyVpnConnection moves the connection to the new customer "
        "gateway: both tunnels are down while AWS provisions the new "
        "endpoints",
        "vpnGatewayId": "ModifyVpnConnection moves the connection to another gateway: both "
        "tunnels are down while AWS provisions the new endpoints (the outside "
        "addresses and tunnel options stay); from a VGW with static routes "
        "to a TGW the static routes must go first",
        "transitGatewayId": "ModifyVpnConnection moves the connection to another gateway: "
        "both tunnels are down while AWS provisions the new endpoints",
        "tunnelNInsideCidr": _INSIDE_CIDR.how,
        "tunnelNPresharedKey": "ModifyVpnTunnelOptions changes the key tunnel by tunnel: each "
        "tunnel is down until the router has the new key",
        "tunnelN<options>": "ModifyVpnTunnelOptions changes the tunnel options tunnel by "
        "tunnel: each tunnel restarts, and stays down until the router "
        "proposes what AWS now accepts",
    },
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def installed_pulumi_aws() -> str | None:
    """The pulumi-aws version installed here (read from its metadata, not imported)."""
    try:
        return metadata.version("pulumi_aws")
    except metadata.PackageNotFoundError:
        return None


def provider_upstream(pulumi_aws: str | None = None) -> str | None:
    """The oldest terraform-provider-aws the given (default: installed) pulumi-aws bundles.

    Known only from `CHECKED_PULUMI_AWS` on; None (unknown, treated as older)
    for earlier releases or when pulumi-aws is not installed.
    """
    version = pulumi_aws if pulumi_aws is not None else installed_pulumi_aws()
    if version is None or _version(version) < _version(CHECKED_PULUMI_AWS):
        return None
    return CHECKED_UPSTREAM


def in_place_since(type_: str, prop: str) -> InPlaceSince | None:
    """When `prop` stopped replacing a `type_` resource, if it ever did within pulumi-aws 7."""
    rule = REPLACE_ON_CHANGE.get(type_)
    return rule.in_place_since.get(prop) if rule else None


def replaces(type_: str, prop: str, upstream: str | None = CHECKED_UPSTREAM) -> bool:
    """True when changing input `prop` of a `type_` resource replaces it.

    `upstream` is the bundled terraform-provider-aws (see `provider_upstream`);
    None means unknown, read as an older provider: the replacing one.
    """
    rule = REPLACE_ON_CHANGE.get(type_)
    if rule is None:
        return False
    if prop in rule.props:
        return True
    since = rule.in_place_since.get(prop)
    return since is not None and (upstream is None or _version(upstream) < _version(since.version))


def source_of(type_: str) -> str:
    rule = REPLACE_ON_CHANGE.get(type_)
    return rule.source if rule else "not in the table: updated in place"
