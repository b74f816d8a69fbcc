"""Routing: how traffic finds the datacenters and the other VPCs through a
transit gateway — VPC routes to the TGW, and the VPN attachments'
associations, propagations and static routes in the TGW route tables."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from network.components.base import child, resource_name, token
from network.naming import slug
from network.plan import Plan


@dataclass(frozen=True)
class RoutingArgs:
    plan: Plan
    route_table_ids: dict[str, dict[str, pulumi.Output[str]]]  # vpc -> tier -> id
    tgw_ids: dict[str, pulumi.Output[str]]
    tgw_route_table_ids: dict[str, dict[str, pulumi.Output[str]]]  # tgw -> table -> id
    vpn_attachment_ids: dict[str, pulumi.Output[str]]  # connection -> TGW attachment id
    providers: dict[str, pulumi.ProviderResource]  # region -> provider
    depends_on: list[pulumi.Resource]


class Routing(pulumi.ComponentResource):
    def __init__(self, name: str, args: RoutingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(token("Routing"), name, None, opts)
        plan = args.plan
        for route in plan.vpc_routes:
            if route.target_kind != "tgw":
                continue  # peering routes belong to VpcPeering
            vpc = plan.vpcs[route.vpc].spec
            for tier, rt_id in sorted(args.route_table_ids[vpc.name].items()):
                aws.ec2.Route(
                    resource_name("route", vpc.name, tier, "tgw", slug(route.destination)),
                    route_table_id=rt_id,
                    destination_cidr_block=str(route.destination),
                    transit_gateway_id=args.tgw_ids[route.target],
                    opts=child(self, args.providers[vpc.region], depends_on=args.depends_on),
                )
        for tp in plan.transit.values():
            prov = args.providers[tp.spec.region]
            tables = args.tgw_route_table_ids[tp.name]
            for rt in tp.route_tables:
                for kind, refs in (("assoc", rt.associations), ("prop", rt.propagations)):
                    for ref in refs:
                        if not ref.startswith("vpn:"):
                            continue
                        cls = (
                            aws.ec2transitgateway.RouteTableAssociation
                            if kind == "assoc"
                            else aws.ec2transitgateway.RouteTablePropagation
                        )
                        cls(
                            resource_name(f"tgw-{kind}", tp.name, rt.name, ref.replace(":", "-")),
                            transit_gateway_attachment_id=args.vpn_attachment_ids[ref[4:]],
                            transit_gateway_route_table_id=tables[rt.name],
                            opts=child(self, prov),
                        )
            for table, prefix, ref in tp.static_routes:
                aws.ec2transitgateway.Route(
                    resource_name("tgw-route", tp.name, table, ref[4:], slug(prefix)),
                    destination_cidr_block=str(prefix),
                    transit_gateway_attachment_id=args.vpn_attachment_ids[ref[4:]],
                    transit_gateway_route_table_id=tables[table],
                    opts=child(self, prov),
                )
        self.register_outputs({})
