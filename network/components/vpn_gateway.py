"""VpnGateway: a virtual private gateway on one VPC, with route propagation
into every route table of that VPC (BGP-learned and VPN static routes alike)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from network.components.base import child, resource_name, tags, token
from network.model import VpnGatewaySpec


@dataclass(frozen=True)
class VpnGatewayArgs:
    spec: VpnGatewaySpec
    stack: str
    vpc_id: pulumi.Input[str]
    route_table_ids: dict[str, pulumi.Output[str]]
    provider: pulumi.ProviderResource


class VpnGateway(pulumi.ComponentResource):
    gateway_id: pulumi.Output[str]

    def __init__(self, name: str, args: VpnGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(token("VpnGateway"), name, None, opts)
        g = args.spec
        vgw = aws.ec2.VpnGateway(
            resource_name("vgw", g.name),
            vpc_id=args.vpc_id,
            amazon_side_asn=str(g.asn),
            tags=tags(args.stack, "vgw", g.name),
            opts=child(self, args.provider),
        )
        self.gateway_id = vgw.id
        # One propagation resource per route table: declaring propagation here,
        # and nowhere else, keeps it from flipping on every apply (the classic
        # conflict between inline `propagating_vgws` and separate resources).
        for tier, rt_id in sorted(args.route_table_ids.items()):
            aws.ec2.VpnGatewayRoutePropagation(
                resource_name("vgw-prop", g.name, tier),
                vpn_gateway_id=vgw.id,
                route_table_id=rt_id,
                opts=child(self, args.provider),
            )
        self.register_outputs({"gatewayId": self.gateway_id})
