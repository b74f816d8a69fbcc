"""TransitHub: a transit gateway with its VPC attachments and route tables.

Default association and propagation are off: every association and
propagation is declared from the plan, so nothing is implicit and a new
attachment never lands in a route table by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from network.components.base import child, resource_name, tags, token
from network.plan import TransitPlan


@dataclass(frozen=True)
class TransitHubArgs:
    plan: TransitPlan
    stack: str
    vpc_ids: dict[str, pulumi.Output[str]]
    subnet_ids: dict[str, list[pulumi.Output[str]]]  # vpc -> subnets of the attachment tier
    provider: pulumi.ProviderResource


class TransitHub(pulumi.ComponentResource):
    gateway_id: pulumi.Output[str]
    route_table_ids: dict[str, pulumi.Output[str]]
    vpc_attachment_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TransitHubArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(token("TransitHub"), name, None, opts)
        t, prov, stack = args.plan, args.provider, args.stack
        tgw = aws.ec2transitgateway.TransitGateway(
            resource_name("tgw", t.name),
            amazon_side_asn=t.spec.asn,
            vpn_ecmp_support="enable" if t.spec.ecmp else "disable",
            default_route_table_association="disable",
            default_route_table_propagation="disable",
            dns_support="enable",
            description=f"crossnet {stack} hub {t.name}",
            tags=tags(stack, "tgw", t.name),
            opts=child(self, prov),
        )
        self.gateway_id = tgw.id
        self.route_table_ids = {}
        for rt in t.route_tables:
            table = aws.ec2transitgateway.RouteTable(
                resource_name("tgw-rt", t.name, rt.name),
                transit_gateway_id=tgw.id,
                tags=tags(stack, "tgw-rt", t.name, rt.name),
                opts=child(self, prov),
            )
            self.route_table_ids[rt.name] = table.id
        self.vpc_attachment_ids = {}
        for vpc, _tier in t.spec.attachments:
            att = aws.ec2transitgateway.VpcAttachment(
                resource_name("tgw-att", t.name, vpc),
                transit_gateway_id=tgw.id,
                vpc_id=args.vpc_ids[vpc],
                subnet_ids=args.subnet_ids[vpc],
                transit_gateway_default_route_table_association=False,
                transit_gateway_default_route_table_propagation=False,
                tags=tags(stack, "tgw-att", t.name, vpc),
                opts=child(self, prov),
            )
            self.vpc_attachment_ids[vpc] = att.id
        for rt in t.route_tables:
            for ref in rt.associations:
                if ref.startswith("vpc:"):
                    aws.ec2transitgateway.RouteTableAssociation(
                        resource_name("tgw-assoc", t.name, rt.name, ref.replace(":", "-")),
                        transit_gateway_attachment_id=self.vpc_attachment_ids[ref[4:]],
                        transit_gateway_route_table_id=self.route_table_ids[rt.name],
                        opts=child(self, prov),
                    )
            for ref in rt.propagations:
                if ref.startswith("vpc:"):
                    aws.ec2transitgateway.RouteTablePropagation(
                        resource_name("tgw-prop", t.name, rt.name, ref.replace(":", "-")),
                        transit_gateway_attachment_id=self.vpc_attachment_ids[ref[4:]],
                        transit_gateway_route_table_id=self.route_table_ids[rt.name],
                        opts=child(self, prov),
                    )
        self.register_outputs({"transitGatewayId": self.gateway_id})
